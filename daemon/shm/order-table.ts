/**
 * Orders and positions as the execution worker knows them, in shared memory.
 *
 * Written only by the execution worker (plain stores, then a seq-cst `Atomics.store` of the
 * entry's status, which publishes the fields written before it); read by the main thread for
 * `/status` and `/orders`, and by tests. A reader that races a writer may see one entry from
 * two moments (display only; nothing decides on it).
 *
 * Orders: `capacity` entries (a power of two), entry = orderId & (capacity-1), 8 f64 words:
 *
 * | f64 word | field |
 * |---|---|
 * | 0 | i32 lo: orderId (0 = empty) · i32 hi: symbolId |
 * | 1 | i32 lo: flags (side \| type<<4 \| tif<<8) · i32 hi: status (OrderStatus) \| reject reason<<8 |
 * | 2 | quantity |
 * | 3 | limit price (0 = market) |
 * | 4 | filled quantity |
 * | 5 | average fill price |
 * | 6 | tick receive time (process clock ns) |
 * | 7 | time the order went out (process clock ns) |
 *
 * Positions: one entry per symbol id, 8 f64 words: quantity (signed), average price, realized
 * P&L, bought quantity, sold quantity, fill count, last fill price, last fill time.
 */
import { prefaultBuffer } from "./prefault.ts";

export const enum OrderStatus {
  EMPTY = 0,
  PENDING_NEW = 1,
  NEW = 2,
  PARTIALLY_FILLED = 3,
  FILLED = 4,
  CANCELED = 5,
  REJECTED = 6,
  EXPIRED = 7,
}
export const ORDER_STATUS_NAMES = [
  "empty",
  "pending_new",
  "new",
  "partially_filled",
  "filled",
  "canceled",
  "rejected",
  "expired",
] as const;

export function isTerminal(status: OrderStatus): boolean {
  return status >= OrderStatus.FILLED;
}

const O_WORDS = 8;
const P_WORDS = 8;
export const P_QTY = 0;
export const P_AVG = 1;
export const P_REALIZED = 2;
export const P_BOUGHT = 3;
export const P_SOLD = 4;
export const P_FILLS = 5;
export const P_LAST_PX = 6;
export const P_LAST_NS = 7;

export interface OrderRow {
  orderId: number;
  symbolId: number;
  flags: number;
  status: OrderStatus;
  rejectReason: number;
  qty: number;
  limitPx: number;
  filledQty: number;
  avgFillPx: number;
  tickRecvNs: number;
  sentNs: number;
}

export interface PositionRow {
  symbolId: number;
  qty: number;
  avgPx: number;
  realizedPnl: number;
  boughtQty: number;
  soldQty: number;
  fills: number;
  lastFillPx: number;
}

export class OrderTable {
  readonly of64: Float64Array;
  readonly oi32: Int32Array;
  readonly pf64: Float64Array;
  readonly mask: number;

  static create(capacity: number, symbols: number): OrderTable {
    const orders = new SharedArrayBuffer(capacity * O_WORDS * 8);
    prefaultBuffer(orders); // indexed by order id: a new page every 64 orders otherwise
    return new OrderTable(orders, new SharedArrayBuffer(Math.max(1, symbols) * P_WORDS * 8), capacity);
  }

  constructor(
    readonly ordersSab: SharedArrayBuffer,
    readonly positionsSab: SharedArrayBuffer,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity <= 0 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`order table capacity must be a power of two, was ${capacity}`);
    this.of64 = new Float64Array(ordersSab);
    this.oi32 = new Int32Array(ordersSab);
    this.pf64 = new Float64Array(positionsSab);
    this.mask = capacity - 1;
  }

  // ---- writer side (execution worker) -------------------------------------------------

  /** Entry index for an order id, or -1 if the slot holds a live order with another id. */
  entryFor(orderId: number): number {
    const e = orderId & this.mask;
    const id = this.oi32[e * 16]!;
    if (id === orderId) return e;
    if (id !== 0 && !isTerminal(this.statusAt(e))) return -1;
    return e;
  }

  /** Returns the entry, or -1 when the table is full of live orders at that slot. */
  insert(orderId: number, symbolId: number, flags: number, qty: number, limitPx: number, tickRecvNs: number, sentNs: number): number {
    const e = this.entryFor(orderId);
    if (e < 0) return -1;
    const f = e * O_WORDS;
    const i = e * 16;
    this.oi32[i] = orderId;
    this.oi32[i + 1] = symbolId;
    this.oi32[i + 2] = flags;
    this.of64[f + 2] = qty;
    this.of64[f + 3] = limitPx;
    this.of64[f + 4] = 0;
    this.of64[f + 5] = 0;
    this.of64[f + 6] = tickRecvNs;
    this.of64[f + 7] = sentNs;
    Atomics.store(this.oi32, i + 3, OrderStatus.PENDING_NEW); // publishes the fields above
    return e;
  }

  setStatus(e: number, status: OrderStatus, reason = 0): void {
    Atomics.store(this.oi32, e * 16 + 3, status | (reason << 8));
  }

  statusAt(e: number): OrderStatus {
    return (Atomics.load(this.oi32, e * 16 + 3) & 0xff) as OrderStatus;
  }

  /** Applies a fill to the order entry and to the symbol's position. */
  applyFill(e: number, symbolId: number, signedQty: number, px: number, nowNs: number): void {
    const f = e * O_WORDS;
    const absQty = Math.abs(signedQty);
    const prevFilled = this.of64[f + 4]!;
    const filled = prevFilled + absQty;
    this.of64[f + 5] = (this.of64[f + 5]! * prevFilled + px * absQty) / filled;
    this.of64[f + 4] = filled;
    this.setStatus(e, filled >= this.of64[f + 2]! ? OrderStatus.FILLED : OrderStatus.PARTIALLY_FILLED);
    this.applyPositionFill(symbolId, signedQty, px, nowNs);
  }

  /** A fill's effect on the symbol's position only (a fill of an order not in this table). */
  applyPositionFill(symbolId: number, signedQty: number, px: number, nowNs: number): void {
    const absQty = Math.abs(signedQty);
    const p = symbolId * P_WORDS;
    const pos = this.pf64[p + P_QTY]!;
    const avg = this.pf64[p + P_AVG]!;
    const next = pos + signedQty;
    if (pos === 0 || Math.sign(pos) === Math.sign(signedQty)) {
      // Opening or adding: the average moves.
      this.pf64[p + P_AVG] = (avg * Math.abs(pos) + px * absQty) / Math.abs(next);
    } else {
      // Reducing, closing or flipping: realize P&L on the closed part.
      const closed = Math.min(absQty, Math.abs(pos));
      this.pf64[p + P_REALIZED] = this.pf64[p + P_REALIZED]! + closed * (px - avg) * Math.sign(pos);
      if (next === 0) this.pf64[p + P_AVG] = 0;
      else if (Math.sign(next) !== Math.sign(pos)) this.pf64[p + P_AVG] = px;
    }
    this.pf64[p + P_QTY] = next;
    if (signedQty > 0) this.pf64[p + P_BOUGHT] = this.pf64[p + P_BOUGHT]! + absQty;
    else this.pf64[p + P_SOLD] = this.pf64[p + P_SOLD]! + absQty;
    this.pf64[p + P_FILLS] = this.pf64[p + P_FILLS]! + 1;
    this.pf64[p + P_LAST_PX] = px;
    this.pf64[p + P_LAST_NS] = nowNs;
  }

  /** Sets a symbol's position outright (the broker's, after reconciliation at startup). */
  setPosition(symbolId: number, qty: number, avgPx: number): void {
    const p = symbolId * P_WORDS;
    this.pf64[p + P_QTY] = qty;
    this.pf64[p + P_AVG] = qty === 0 ? 0 : avgPx;
  }

  qtyAt(e: number): number {
    return this.of64[e * O_WORDS + 2]!;
  }
  filledAt(e: number): number {
    return this.of64[e * O_WORDS + 4]!;
  }
  limitAt(e: number): number {
    return this.of64[e * O_WORDS + 3]!;
  }
  flagsAt(e: number): number {
    return this.oi32[e * 16 + 2]!;
  }
  symbolAt(e: number): number {
    return this.oi32[e * 16 + 1]!;
  }
  orderIdAt(e: number): number {
    return this.oi32[e * 16]!;
  }
  tickRecvAt(e: number): number {
    return this.of64[e * O_WORDS + 6]!;
  }
  position(symbolId: number): number {
    return this.pf64[symbolId * P_WORDS + P_QTY]!;
  }

  // ---- reader side (main thread; allocates) -------------------------------------------

  orders(): OrderRow[] {
    const rows: OrderRow[] = [];
    for (let e = 0; e < this.capacity; e++) {
      const i = e * 16;
      const orderId = this.oi32[i]!;
      if (orderId === 0) continue;
      const f = e * O_WORDS;
      const st = Atomics.load(this.oi32, i + 3);
      rows.push({
        orderId,
        symbolId: this.oi32[i + 1]!,
        flags: this.oi32[i + 2]!,
        status: (st & 0xff) as OrderStatus,
        rejectReason: st >> 8,
        qty: this.of64[f + 2]!,
        limitPx: this.of64[f + 3]!,
        filledQty: this.of64[f + 4]!,
        avgFillPx: this.of64[f + 5]!,
        tickRecvNs: this.of64[f + 6]!,
        sentNs: this.of64[f + 7]!,
      });
    }
    return rows.sort((a, b) => a.orderId - b.orderId);
  }

  positions(symbols: number): PositionRow[] {
    const rows: PositionRow[] = [];
    for (let s = 0; s < symbols; s++) {
      const p = s * P_WORDS;
      rows.push({
        symbolId: s,
        qty: this.pf64[p + P_QTY]!,
        avgPx: this.pf64[p + P_AVG]!,
        realizedPnl: this.pf64[p + P_REALIZED]!,
        boughtQty: this.pf64[p + P_BOUGHT]!,
        soldQty: this.pf64[p + P_SOLD]!,
        fills: this.pf64[p + P_FILLS]!,
        lastFillPx: this.pf64[p + P_LAST_PX]!,
      });
    }
    return rows;
  }
}
