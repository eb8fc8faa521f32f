// A strategy that means exactly `count` orders: a buy of `qty` AAPL at `limit`, at most one per
// `every` quotes, until `count` were accepted by the risk checks (a refusal, e.g. broker not
// ready yet, is retried on the next quote). Nothing else.
import type { OrderSpec, Strategy, StrategyContext } from "../../../daemon/strategy/api.ts";

export default function create(params: Readonly<Record<string, unknown>>): Strategy {
  const count = Number(params.count ?? 1);
  const order: OrderSpec = { symbolId: 0, side: "buy", qty: Number(params.qty ?? 1), type: "limit", limitPx: Number(params.limit ?? 1000), tif: (params.tif as OrderSpec["tif"]) ?? "day" };
  const every = Number(params.every ?? 1);
  let sent = 0;
  let quotes = 0;
  return {
    onQuote(q, ctx: StrategyContext) {
      if (q.symbolId !== 0 || sent >= count || ++quotes < every) return;
      if (ctx.submit(order) > 0) {
        sent++;
        quotes = 0;
      }
    },
  };
}
