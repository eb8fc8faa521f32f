/**
 * `ema-cross`: fast/slow exponential moving averages of the mid price; buy when the fast one
 * crosses above the slow one, sell when it crosses below. Works a position of `qty` shares
 * (long when fast > slow, flat or short otherwise), with marketable limit orders.
 *
 * params: `fast_period`, `slow_period` (in quotes), `qty`, `allow_short`, `warmup` (quotes
 * to see before trading, default `slow_period`).
 */
import { z } from "zod";
import type { OrderSpec, QuoteView, Strategy, StrategyContext, StrategyFactory } from "../api.ts";

export const EmaCrossParams = z
  .strictObject({
    fast_period: z.number().int().positive().default(12),
    slow_period: z.number().int().positive().default(48),
    qty: z.number().positive().default(100),
    allow_short: z.boolean().default(false),
    warmup: z.number().int().nonnegative().optional(),
  })
  .refine((p) => p.fast_period < p.slow_period, { error: "fast_period must be below slow_period", path: ["fast_period"] });
export type EmaCrossParams = z.infer<typeof EmaCrossParams>;

export const createEmaCross: StrategyFactory = (raw) => {
  const p = EmaCrossParams.parse(raw);
  const aFast = 2 / (p.fast_period + 1);
  const aSlow = 2 / (p.slow_period + 1);
  const warmup = p.warmup ?? p.slow_period;
  let fast = new Float64Array(0);
  let slow = new Float64Array(0);
  let seen = new Int32Array(0);
  const order: OrderSpec = { symbolId: 0, side: "buy", qty: p.qty, type: "limit", limitPx: 0, tif: "day" };
  const strategy: Strategy = {
    onStart(ctx: StrategyContext) {
      const n = ctx.symbols.length;
      fast = new Float64Array(n);
      slow = new Float64Array(n);
      seen = new Int32Array(n);
    },
    onQuote(q: QuoteView, ctx: StrategyContext) {
      const s = q.symbolId;
      const mid = (q.bidPx + q.askPx) / 2;
      const n = ++seen[s]!;
      if (n === 1) {
        fast[s] = mid;
        slow[s] = mid;
        return;
      }
      fast[s] = fast[s]! + aFast * (mid - fast[s]!);
      slow[s] = slow[s]! + aSlow * (mid - slow[s]!);
      if (n < warmup || ctx.openOrders(s) > 0) return;
      const target = fast[s]! > slow[s]! ? p.qty : p.allow_short ? -p.qty : 0;
      const pos = ctx.position(s);
      if (target === pos) return;
      order.symbolId = s;
      if (target > pos) {
        order.side = "buy";
        order.qty = target - pos;
        order.limitPx = q.askPx;
      } else {
        order.side = "sell";
        order.qty = pos - target;
        order.limitPx = q.bidPx;
      }
      ctx.submit(order);
    },
  };
  return strategy;
};
