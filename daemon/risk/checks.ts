/**
 * Pre-trade risk checks: each a pure function of the order and the state that returns a
 * reason code, or `RiskReason.OK` (0). Codes rather than strings so the check path allocates
 * nothing; `RISK_REASON_NAMES` names them for logs and `/metrics`.
 *
 * The trading-state gate comes first (after NautilusTrader's risk engine), then the limits.
 * Issue 6 adds the collar, stale quote, gross exposure, loss limit and duplicate guard.
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
] as const;

export interface RiskLimits {
  maxOrderQty: number;
  maxOrderNotional: number;
  maxPositionQty: number;
  maxOpenOrders: number;
  maxOrdersPerSec: number;
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

/** A sliding one-second window of order send times, in a fixed ring: no allocation. */
export class OrderRateWindow {
  readonly #times: Float64Array;
  #head = 0;
  #count = 0;
  constructor(capacity: number) {
    this.#times = new Float64Array(Math.max(1, capacity));
  }
  /** Orders sent within `windowNs` before `nowNs`. */
  countSince(nowNs: number, windowNs = 1e9): number {
    const t = this.#times;
    while (this.#count > 0) {
      const oldest = t[(this.#head - this.#count + t.length) % t.length]!;
      if (nowNs - oldest < windowNs) break;
      this.#count--;
    }
    return this.#count;
  }
  record(nowNs: number): void {
    const t = this.#times;
    t[this.#head] = nowNs;
    this.#head = (this.#head + 1) % t.length;
    if (this.#count < t.length) this.#count++;
  }
}
