/**
 * `threshold`: buy when the ask is at or below a level, sell when the bid is at or above a
 * level. Deterministic, for tests and benchmarks.
 *
 * One working order per symbol at a time; buys only while the position is below `max_position`,
 * sells only while it is above `-max_position` (0 = long only: sell what it holds). Orders are
 * immediate-or-cancel limit orders at the touching price: a fill is never worse than the level,
 * and an order the market ran away from is canceled instead of resting (so it cannot block the
 * next signal).
 *
 * params: `buy_at_or_below` and `sell_at_or_above` (prices, or per symbol as a map), `qty`,
 * `max_position`, `allow_short`.
 */
import { z } from "zod";
import type { OrderSpec, QuoteView, Strategy, StrategyContext, StrategyFactory } from "../api.ts";

const Level = z.union([z.number().positive(), z.record(z.string(), z.number().positive())]);
export const ThresholdParams = z.strictObject({
  buy_at_or_below: Level.default(99.9),
  sell_at_or_above: Level.default(100.1),
  qty: z.number().positive().default(100),
  max_position: z.number().positive().default(100),
  allow_short: z.boolean().default(false),
});
export type ThresholdParams = z.infer<typeof ThresholdParams>;

function levels(level: number | Record<string, number>, symbols: readonly string[], name: string): Float64Array<ArrayBuffer> {
  const out = new Float64Array(symbols.length);
  for (let i = 0; i < symbols.length; i++) {
    const v = typeof level === "number" ? level : level[symbols[i]!];
    out[i] = v ?? (name === "buy" ? 0 : Number.POSITIVE_INFINITY);
  }
  return out;
}

export const createThreshold: StrategyFactory = (raw) => {
  const p = ThresholdParams.parse(raw);
  let buyAt: Float64Array = new Float64Array(0);
  let sellAt: Float64Array = new Float64Array(0);
  const order: OrderSpec = { symbolId: 0, side: "buy", qty: p.qty, type: "limit", limitPx: 0, tif: "ioc" };
  const floor = p.allow_short ? -p.max_position : 0;
  const strategy: Strategy = {
    onStart(ctx: StrategyContext) {
      buyAt = levels(p.buy_at_or_below, ctx.symbols, "buy");
      sellAt = levels(p.sell_at_or_above, ctx.symbols, "sell");
    },
    onQuote(q: QuoteView, ctx: StrategyContext) {
      const s = q.symbolId;
      if (ctx.openOrders(s) > 0) return;
      const pos = ctx.position(s);
      if (q.askPx <= buyAt[s]! && pos < p.max_position) {
        order.symbolId = s;
        order.side = "buy";
        order.qty = Math.min(p.qty, p.max_position - pos);
        order.limitPx = q.askPx;
        ctx.submit(order);
      } else if (q.bidPx >= sellAt[s]! && pos > floor) {
        order.symbolId = s;
        order.side = "sell";
        order.qty = Math.min(p.qty, pos - floor);
        order.limitPx = q.bidPx;
        ctx.submit(order);
      }
    },
  };
  return strategy;
};
