/**
 * One order inside the fake: its wire object (`json`, kept current, the thing REST answers and
 * the stream carries) and the exact decimals the matching works with. Written by the brokerage
 * only; tests read `json`.
 */
import { divide, formatDecimal, multiply, truncate, type Decimal } from "./decimal.ts";
import type { NewOrder } from "./order-request.ts";
import { CLOSED_STATUSES, streamOrder, type AlpacaOrder, type OrderStatus } from "./protocol.ts";

const fmt = (value: Decimal | null): string | null => (value === null ? null : formatDecimal(value));

export class OrderState {
  readonly json: AlpacaOrder;
  readonly request: NewOrder;
  /** Epoch ns of `submitted_at` (for `after`/`until` and the sort). */
  readonly submittedNs: bigint;
  /** Price per share the buying-power check and reservation use (limit, stop, or the ask at submission). */
  readonly referencePrice: Decimal;
  filledQty: Decimal = 0n;
  /** Σ qty × price of the executions (for `filled_avg_price`). */
  filledValue: Decimal = 0n;
  /** Stop and stop-limit: the stop was touched; trailing stop: likewise. */
  triggered = false;
  /** Trailing stop: best price seen since acceptance. */
  highWaterMark: Decimal | null = null;
  cancelRequestedAt: string | null = null;

  constructor(request: NewOrder, ids: { id: string; clientOrderId: string; assetId: string }, at: { ns: bigint; text: string }, referencePrice: Decimal, replaces: string | null) {
    this.request = request;
    this.submittedNs = at.ns;
    this.referencePrice = referencePrice;
    this.json = {
      id: ids.id,
      client_order_id: ids.clientOrderId,
      created_at: at.text,
      updated_at: at.text,
      submitted_at: at.text,
      filled_at: null,
      expired_at: null,
      canceled_at: null,
      failed_at: null,
      replaced_at: null,
      replaced_by: null,
      replaces,
      asset_id: ids.assetId,
      symbol: request.symbol,
      asset_class: "us_equity",
      notional: fmt(request.notional),
      qty: fmt(request.qty),
      filled_qty: "0",
      filled_avg_price: null,
      order_class: "",
      order_type: request.type,
      type: request.type,
      side: request.side,
      time_in_force: request.timeInForce,
      limit_price: fmt(request.limitPrice),
      stop_price: fmt(request.stopPrice),
      status: "accepted",
      extended_hours: request.extendedHours,
      legs: null,
      trail_percent: fmt(request.trailPercent),
      trail_price: fmt(request.trailPrice),
      hwm: null,
      subtag: null,
      source: null,
    };
  }

  get id(): string {
    return this.json.id;
  }

  get status(): OrderStatus {
    return this.json.status;
  }

  /** Not filled, canceled, expired, replaced, rejected or done for the day. */
  get open(): boolean {
    return !CLOSED_STATUSES.has(this.json.status);
  }

  /** Shares still to fill; for a notional order, null. */
  get remainingQty(): Decimal | null {
    return this.request.qty === null ? null : this.request.qty - this.filledQty;
  }

  /** Dollars still to fill of a notional order (0 for qty orders). */
  get remainingNotional(): Decimal {
    return this.request.notional === null ? 0n : this.request.notional - this.filledValue;
  }

  /** Dollars this order holds of the buying power while open. */
  get reservedCost(): Decimal {
    if (!this.open) return 0n;
    const remaining = this.remainingQty;
    return remaining === null ? this.remainingNotional : multiply(remaining, this.referencePrice);
  }

  setStatus(status: OrderStatus, at: string): void {
    this.json.status = status;
    this.json.updated_at = at;
  }

  /** Books one execution; returns whether the order is now filled. */
  recordExecution(qty: Decimal, price: Decimal, at: string): boolean {
    this.filledQty += qty;
    this.filledValue += multiply(qty, price);
    this.json.filled_qty = formatDecimal(this.filledQty);
    this.json.filled_avg_price = formatDecimal(divide(this.filledValue, this.filledQty));
    // A notional order is done when what is left buys less than a billionth of a share.
    const filled = this.request.qty !== null ? this.filledQty >= this.request.qty : truncate(divide(this.remainingNotional, price), 9) <= 0n;
    this.setStatus(filled ? "filled" : "partially_filled", at);
    if (filled) this.json.filled_at = at;
    return filled;
  }

  /** The order as the trade_updates stream writes it. */
  streamJson(): Record<string, unknown> {
    return streamOrder(this.json, this.cancelRequestedAt);
  }
}
