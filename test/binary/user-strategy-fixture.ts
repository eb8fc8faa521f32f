// A user strategy as a user would write it: its own file, only type imports, loaded at run time.
// Buys one share at the ask every `every` quotes of symbol 0, and sells it back on the next signal.
import type { OrderSpec, QuoteView, Strategy, StrategyContext } from "../../daemon/strategy/api.ts";

export default function create(params: Readonly<Record<string, unknown>>): Strategy {
  const every = Number(params.every ?? 100);
  const order: OrderSpec = { symbolId: 0, side: "buy", qty: 1, type: "limit", limitPx: 0, tif: "ioc" };
  let n = 0;
  return {
    onQuote(q: QuoteView, ctx: StrategyContext) {
      if (q.symbolId !== 0 || ++n % every !== 0 || ctx.openOrders(0) > 0) return;
      const long = ctx.position(0) > 0;
      order.side = long ? "sell" : "buy";
      order.limitPx = long ? q.bidPx : q.askPx;
      ctx.submit(order);
    },
  };
}
