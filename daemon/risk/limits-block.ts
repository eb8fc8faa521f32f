/**
 * The risk limits in force, in shared memory behind a seqlock, so the operator can change them
 * at run time and a check never sees half of a change.
 *
 * Roles: one writer, the main thread (`Pipeline.setRiskLimits`, after validating against the
 * `RiskConfig` schema); readers, the strategy worker (`RiskEngine`, which copies the block into
 * its own `RiskLimits` when the sequence has moved, once per order at most) and main (`GET
 * /risk`). A reader never blocks the writer.
 *
 * Layout: 16 Float64 words; word 0, seen as Int32 word 0, is the sequence:
 *
 * | f64 word | field (config key) | unit |
 * |---|---|---|
 * | 0 | seq (Int32 in the low half): odd while the writer is inside, 0 never written | — |
 * | 1 | max_order_qty | shares |
 * | 2 | max_order_notional | USD |
 * | 3 | max_position_qty | shares |
 * | 4 | max_gross_exposure | USD |
 * | 5 | max_open_orders | orders |
 * | 6 | max_orders_per_sec | orders |
 * | 7 | max_orders_per_min | orders |
 * | 8 | collar_bps | basis points |
 * | 9 | max_quote_age_ms | ms |
 * | 10 | daily_loss_limit | USD |
 * | 11 | duplicate_window_ms | ms |
 * | 12 | refuse_when_feed_stale | 1 / 0 |
 * | 13 | day_starts_at | minutes after midnight, New York |
 * | 14–15 | spare | — |
 *
 * Writer: `Atomics.store(seq, odd)`, plain stores of every field, `Atomics.store(seq, even)`.
 * Reader: load seq; if odd retry; copy every field; load seq again; retry if it moved. The
 * seq-cst Atomics on both sides order the plain stores and loads between them (as in
 * `shm/quote-book.ts`). `read` and `seq` allocate nothing; `write` allocates nothing;
 * `toConfig` allocates (main only).
 */
import type { RiskConfig } from "../config/schema.ts";
import type { RiskLimits } from "./checks.ts";
import { hhmmOf, minutesOfDay } from "./trading-day.ts";

const WORDS = 16;
const W_SEQ = 0;
const W_MAX_ORDER_QTY = 1;
const W_MAX_ORDER_NOTIONAL = 2;
const W_MAX_POSITION_QTY = 3;
const W_MAX_GROSS_EXPOSURE = 4;
const W_MAX_OPEN_ORDERS = 5;
const W_MAX_ORDERS_PER_SEC = 6;
const W_MAX_ORDERS_PER_MIN = 7;
const W_COLLAR_BPS = 8;
const W_MAX_QUOTE_AGE_MS = 9;
const W_DAILY_LOSS_LIMIT = 10;
const W_DUPLICATE_WINDOW_MS = 11;
const W_REFUSE_WHEN_FEED_STALE = 12;
const W_DAY_START_MIN = 13;

/** A `RiskLimits` with every field 0 (the target of a first `read`). */
export function emptyRiskLimits(): RiskLimits {
  return {
    maxOrderQty: 0,
    maxOrderNotional: 0,
    maxPositionQty: 0,
    maxGrossExposure: 0,
    maxOpenOrders: 0,
    maxOrdersPerSec: 0,
    maxOrdersPerMin: 0,
    collarBps: 0,
    maxQuoteAgeMs: 0,
    dailyLossLimit: 0,
    duplicateWindowMs: 0,
    refuseWhenFeedStale: false,
    dayStartMin: 0,
  };
}

/** The config's `risk` as the checks read it. */
export function riskLimitsOf(risk: RiskConfig): RiskLimits {
  return {
    maxOrderQty: risk.max_order_qty,
    maxOrderNotional: risk.max_order_notional,
    maxPositionQty: risk.max_position_qty,
    maxGrossExposure: risk.max_gross_exposure,
    maxOpenOrders: risk.max_open_orders,
    maxOrdersPerSec: risk.max_orders_per_sec,
    maxOrdersPerMin: risk.max_orders_per_min,
    collarBps: risk.collar_bps,
    maxQuoteAgeMs: risk.max_quote_age_ms,
    dailyLossLimit: risk.daily_loss_limit,
    duplicateWindowMs: risk.duplicate_window_ms,
    refuseWhenFeedStale: risk.refuse_when_feed_stale,
    dayStartMin: minutesOfDay(risk.day_starts_at),
  };
}

export class RiskLimitsBlock {
  readonly f64: Float64Array;
  readonly i32: Int32Array;

  static create(risk: RiskConfig): RiskLimitsBlock {
    const block = new RiskLimitsBlock(new SharedArrayBuffer(WORDS * 8));
    block.write(risk);
    return block;
  }

  constructor(readonly sab: SharedArrayBuffer) {
    this.f64 = new Float64Array(sab);
    this.i32 = new Int32Array(sab);
  }

  /** Writer (main only): every field, as one change. */
  write(risk: RiskConfig): void {
    const f = this.f64;
    const seq = this.i32[W_SEQ]!;
    Atomics.store(this.i32, W_SEQ, seq + 1); // enter: odd, readers retry
    f[W_MAX_ORDER_QTY] = risk.max_order_qty;
    f[W_MAX_ORDER_NOTIONAL] = risk.max_order_notional;
    f[W_MAX_POSITION_QTY] = risk.max_position_qty;
    f[W_MAX_GROSS_EXPOSURE] = risk.max_gross_exposure;
    f[W_MAX_OPEN_ORDERS] = risk.max_open_orders;
    f[W_MAX_ORDERS_PER_SEC] = risk.max_orders_per_sec;
    f[W_MAX_ORDERS_PER_MIN] = risk.max_orders_per_min;
    f[W_COLLAR_BPS] = risk.collar_bps;
    f[W_MAX_QUOTE_AGE_MS] = risk.max_quote_age_ms;
    f[W_DAILY_LOSS_LIMIT] = risk.daily_loss_limit;
    f[W_DUPLICATE_WINDOW_MS] = risk.duplicate_window_ms;
    f[W_REFUSE_WHEN_FEED_STALE] = risk.refuse_when_feed_stale ? 1 : 0;
    f[W_DAY_START_MIN] = minutesOfDay(risk.day_starts_at);
    Atomics.store(this.i32, W_SEQ, seq + 2); // publish: even again, the whole change at once
  }

  /** The sequence now (moves by 2 on every write). A reader whose copy has this seq is current. */
  seq(): number {
    return Atomics.load(this.i32, W_SEQ);
  }

  /** Copies one consistent set of limits into `into`. Returns the sequence it was copied at. */
  read(into: RiskLimits): number {
    const f = this.f64;
    for (;;) {
      const before = Atomics.load(this.i32, W_SEQ);
      if ((before & 1) === 1) continue;
      into.maxOrderQty = f[W_MAX_ORDER_QTY]!;
      into.maxOrderNotional = f[W_MAX_ORDER_NOTIONAL]!;
      into.maxPositionQty = f[W_MAX_POSITION_QTY]!;
      into.maxGrossExposure = f[W_MAX_GROSS_EXPOSURE]!;
      into.maxOpenOrders = f[W_MAX_OPEN_ORDERS]!;
      into.maxOrdersPerSec = f[W_MAX_ORDERS_PER_SEC]!;
      into.maxOrdersPerMin = f[W_MAX_ORDERS_PER_MIN]!;
      into.collarBps = f[W_COLLAR_BPS]!;
      into.maxQuoteAgeMs = f[W_MAX_QUOTE_AGE_MS]!;
      into.dailyLossLimit = f[W_DAILY_LOSS_LIMIT]!;
      into.duplicateWindowMs = f[W_DUPLICATE_WINDOW_MS]!;
      into.refuseWhenFeedStale = f[W_REFUSE_WHEN_FEED_STALE] === 1;
      into.dayStartMin = f[W_DAY_START_MIN]!;
      if (Atomics.load(this.i32, W_SEQ) === before) return before;
    }
  }

  /** The limits in force as config keys (allocates; main thread). */
  toConfig(): RiskConfig {
    const l = emptyRiskLimits();
    this.read(l);
    return Object.freeze({
      max_order_qty: l.maxOrderQty,
      max_order_notional: l.maxOrderNotional,
      max_position_qty: l.maxPositionQty,
      max_gross_exposure: l.maxGrossExposure,
      max_open_orders: l.maxOpenOrders,
      max_orders_per_sec: l.maxOrdersPerSec,
      max_orders_per_min: l.maxOrdersPerMin,
      collar_bps: l.collarBps,
      max_quote_age_ms: l.maxQuoteAgeMs,
      daily_loss_limit: l.dailyLossLimit,
      duplicate_window_ms: l.duplicateWindowMs,
      refuse_when_feed_stale: l.refuseWhenFeedStale,
      day_starts_at: hhmmOf(l.dayStartMin),
    });
  }
}
