/**
 * Pre-trade risk checks: each a pure function of the order and the state that returns a
 * reason code, or `RiskReason.OK` (0). Codes rather than strings so the check path allocates
 * nothing; `RISK_REASON_NAMES` names them for logs and `/metrics`.
 *
 * The trading-state gate comes first (after NautilusTrader's risk engine), then the limits;
 * `RiskEngine.check` (`engine.ts`) runs them in the order of the table there and keeps the state
 * they are given (positions, P&L, gross exposure, rate windows, recent orders).
 */
import { TradingState } from "../shm/control.ts";

export const enum RiskReason {
  OK = 0,
  HALTED = 1,
  PAUSED = 2,
  REDUCING_ONLY = 3,
  MAX_ORDER_QTY = 4,
  MAX_ORDER_NOTIONAL = 5,
  MAX_POSITION = 6,
  MAX_OPEN_ORDERS = 7,
  ORDER_RATE = 8,
  INVALID_ORDER = 9,
  STALE_DATA = 10,
  BROKER_BUDGET = 11,
  BROKER_NOT_READY = 12,
  MAX_GROSS_EXPOSURE = 13,
  ORDER_RATE_PER_MIN = 14,
  PRICE_COLLAR = 15,
  STALE_QUOTE = 16,
  DAILY_LOSS = 17,
  DUPLICATE_ORDER = 18,
  /** Thread layout `single`: the order ring was full and its consumer (this thread) freed nothing. */
  ORDER_RING_FULL = 19,
}
export const RISK_REASON_NAMES = [
  "ok",
  "halted",
  "paused",
  "reducing_only",
  "max_order_qty",
  "max_order_notional",
  "max_position",
  "max_open_orders",
  "order_rate",
  "invalid_order",
  "stale_data",
  "broker_budget",
  "broker_not_ready",
  "max_gross_exposure",
  "order_rate_per_min",
  "price_collar",
  "stale_quote",
  "daily_loss",
  "duplicate_order",
  "order_ring_full",
] as const;

/** The limits as the checks read them: `risk` of the config, in the units of its keys. */
export interface RiskLimits {
  maxOrderQty: number;
  maxOrderNotional: number;
  maxPositionQty: number;
  /** USD. */
  maxGrossExposure: number;
  maxOpenOrders: number;
  maxOrdersPerSec: number;
  maxOrdersPerMin: number;
  /** Basis points; 0 = off. */
  collarBps: number;
  /** 0 = off. */
  maxQuoteAgeMs: number;
  /** USD, positive; 0 = off. */
  dailyLossLimit: number;
  /** 0 = off. */
  duplicateWindowMs: number;
  refuseWhenFeedStale: boolean;
  /** The risk day's start, minutes after midnight in New York (`day_starts_at`; trading-day.ts). */
  dayStartMin: number;
}

/** State gate: HALTED and PAUSED refuse; REDUCING lets only an order that shrinks the position. */
export function checkTradingState(state: TradingState, position: number, signedQty: number): RiskReason {
  if (state === TradingState.ACTIVE) return RiskReason.OK;
  if (state === TradingState.HALTED) return RiskReason.HALTED;
  if (state === TradingState.PAUSED) return RiskReason.PAUSED;
  const after = position + signedQty;
  return Math.abs(after) < Math.abs(position) && Math.sign(after) !== -Math.sign(position) ? RiskReason.OK : RiskReason.REDUCING_ONLY;
}

/** The feed is stale or disconnected (control word FEED_STALE): no new orders on old prices. */
export function checkFeedFresh(feedStale: boolean): RiskReason {
  return feedStale ? RiskReason.STALE_DATA : RiskReason.OK;
}

/**
 * The broker side: reconciled and ready (control word BROKER_READY), and requests left in its
 * rate budget (BROKER_BUDGET): an order that would wait for budget is refused, not queued.
 */
export function checkBroker(ready: boolean, budget: number): RiskReason {
  return !ready ? RiskReason.BROKER_NOT_READY : budget <= 0 ? RiskReason.BROKER_BUDGET : RiskReason.OK;
}

export function checkOrderShape(qty: number, price: number): RiskReason {
  return qty > 0 && Number.isFinite(qty) && price >= 0 && Number.isFinite(price) ? RiskReason.OK : RiskReason.INVALID_ORDER;
}

export function checkOrderQty(qty: number, limits: RiskLimits): RiskReason {
  return qty <= limits.maxOrderQty ? RiskReason.OK : RiskReason.MAX_ORDER_QTY;
}

/** `price` is the limit price, or the touching side of the last quote for a market order. */
export function checkOrderNotional(qty: number, price: number, limits: RiskLimits): RiskReason {
  return qty * price <= limits.maxOrderNotional ? RiskReason.OK : RiskReason.MAX_ORDER_NOTIONAL;
}

/** Worst case: the position plus every open order on the same side, plus this one. */
export function checkPosition(position: number, openSameSide: number, signedQty: number, limits: RiskLimits): RiskReason {
  return Math.abs(position + openSameSide + signedQty) <= limits.maxPositionQty ? RiskReason.OK : RiskReason.MAX_POSITION;
}

export function checkOpenOrders(openOrders: number, limits: RiskLimits): RiskReason {
  return openOrders < limits.maxOpenOrders ? RiskReason.OK : RiskReason.MAX_OPEN_ORDERS;
}

/** `sentInWindow`: orders sent in the last second (see `OrderRateWindow`). */
export function checkOrderRate(sentInWindow: number, limits: RiskLimits): RiskReason {
  return sentInWindow < limits.maxOrdersPerSec ? RiskReason.OK : RiskReason.ORDER_RATE;
}

/** `sentInWindow`: orders sent in the last minute. */
export function checkOrderRatePerMin(sentInWindow: number, limits: RiskLimits): RiskReason {
  return sentInWindow < limits.maxOrdersPerMin ? RiskReason.OK : RiskReason.ORDER_RATE_PER_MIN;
}

/**
 * Loss of the day: `pnl` (realized + unrealized, USD) at or below -daily_loss_limit refuses (and
 * the engine halts trading). A loss one cent short of the limit passes.
 */
export function checkDailyLoss(pnl: number, limits: RiskLimits): RiskReason {
  return limits.dailyLossLimit > 0 && pnl <= -limits.dailyLossLimit ? RiskReason.DAILY_LOSS : RiskReason.OK;
}

/**
 * Fat finger: a limit price at most `collar_bps` from `refPx`, the touching side of the last
 * quote (ask for a buy, bid for a sell), either way. Market orders (`limitPx` 0) and symbols
 * without a quote pass here (the stale-quote check refuses the latter).
 */
export function checkPriceCollar(limitPx: number, refPx: number, limits: RiskLimits): RiskReason {
  if (limits.collarBps <= 0 || limitPx <= 0 || refPx <= 0) return RiskReason.OK;
  return Math.abs(limitPx - refPx) * 10_000 <= limits.collarBps * refPx ? RiskReason.OK : RiskReason.PRICE_COLLAR;
}

/** The symbol's last quote must exist and be at most `max_quote_age_ms` old (`ageNs`). */
export function checkQuoteAge(hasQuote: boolean, ageNs: number, limits: RiskLimits): RiskReason {
  if (!limits.refuseWhenFeedStale || limits.maxQuoteAgeMs <= 0) return RiskReason.OK;
  return hasQuote && ageNs <= limits.maxQuoteAgeMs * 1e6 ? RiskReason.OK : RiskReason.STALE_QUOTE;
}

/**
 * Gross exposure (`gross`: Σ |position| × last price, USD) plus what this order could add at
 * `price`: the growth of the symbol's worst-case position (position + open orders on the order's
 * side + the order) over its position now. An order that does not grow it always passes.
 */
export function checkGrossExposure(gross: number, position: number, openSameSide: number, signedQty: number, price: number, limits: RiskLimits): RiskReason {
  const growth = Math.abs(position + openSameSide + signedQty) - Math.abs(position + openSameSide);
  if (growth <= 0) return RiskReason.OK;
  const added = (Math.abs(position + openSameSide + signedQty) - Math.abs(position)) * price;
  return gross + added <= limits.maxGrossExposure ? RiskReason.OK : RiskReason.MAX_GROSS_EXPOSURE;
}

/** `lastSameNs`: when the last order with this symbol, side and price went (see `DuplicateGuard`). */
export function checkDuplicate(lastSameNs: number, nowNs: number, limits: RiskLimits): RiskReason {
  return limits.duplicateWindowMs > 0 && nowNs - lastSameNs < limits.duplicateWindowMs * 1e6 ? RiskReason.DUPLICATE_ORDER : RiskReason.OK;
}

/**
 * A sliding window of order send times (one second unless told), in a fixed ring. `countSince`
 * and `record` allocate nothing; `ensureCapacity` allocates, and is called only when the limits
 * change.
 */
export class OrderRateWindow {
  #times: Float64Array;
  /** Next slot to write. */
  #head = 0;
  /** Oldest send kept (valid when #count > 0). */
  #tail = 0;
  #count = 0;
  constructor(capacity: number) {
    this.#times = new Float64Array(Math.max(1, capacity));
  }
  /** Orders sent within `windowNs` before `nowNs` (forgets the older ones). */
  countSince(nowNs: number, windowNs = 1e9): number {
    const t = this.#times;
    let count = this.#count;
    let tail = this.#tail;
    while (count > 0 && nowNs - t[tail]! >= windowNs) {
      tail = tail + 1 === t.length ? 0 : tail + 1;
      count--;
    }
    this.#tail = tail;
    this.#count = count;
    return count;
  }
  get capacity(): number {
    return this.#times.length;
  }
  /** Grows the ring to at least `capacity`, keeping the sends it holds (allocates). */
  ensureCapacity(capacity: number): void {
    const old = this.#times;
    if (capacity <= old.length) return;
    const t = new Float64Array(capacity);
    for (let k = 0; k < this.#count; k++) t[k] = old[(this.#tail + k) % old.length]!;
    this.#times = t;
    this.#tail = 0;
    this.#head = this.#count;
  }
  record(nowNs: number): void {
    const t = this.#times;
    const n = t.length;
    t[this.#head] = nowNs;
    this.#head = this.#head + 1 === n ? 0 : this.#head + 1;
    if (this.#count < n) this.#count++;
    else this.#tail = this.#tail + 1 === n ? 0 : this.#tail + 1; // full: the oldest is overwritten
  }
}
