/**
 * A user strategy module, as a user would write one (only `import type` from tradingd), for
 * test/strategy/strategies.test.ts: loadStrategy("module", ...) must import it and call its
 * default-exported factory with the params.
 */
import type { QuoteView, Strategy, StrategyContext } from "../../daemon/strategy/api.ts";

export default function create(params: Readonly<Record<string, unknown>>): Strategy & { params: Readonly<Record<string, unknown>> } {
  if (params.fail === true) throw new Error("fixture refused its params");
  const qty = typeof params.qty === "number" ? params.qty : 1;
  return {
    params,
    onQuote(q: QuoteView, ctx: StrategyContext) {
      if (ctx.position(q.symbolId) === 0 && ctx.openOrders(q.symbolId) === 0) {
        ctx.submit({ symbolId: q.symbolId, side: "buy", qty, type: "limit", limitPx: q.askPx });
      }
    },
  };
}
