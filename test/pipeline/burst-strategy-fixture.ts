// A strategy that tries `burst` orders in ONE callback (the first AAPL quote): buy 1 AAPL at
// `limit` each, and records how many the runtime refused (`ctx.submit` < 0). Nothing else.
import type { OrderSpec, Strategy, StrategyContext } from "../../daemon/strategy/api.ts";

export default function create(params: Readonly<Record<string, unknown>>): Strategy {
  const burst = Number(params.burst ?? 100);
  const order: OrderSpec = { symbolId: 0, side: "buy", qty: 1, type: "limit", limitPx: Number(params.limit ?? 1), tif: "day" };
  let done = false;
  return {
    onQuote(q, ctx: StrategyContext) {
      if (q.symbolId !== 0 || done) return;
      done = true;
      for (let k = 0; k < burst; k++) ctx.submit(order);
    },
  };
}
