/**
 * The simulated broker: what the dry run trades against.
 *
 * - Acknowledges an order `latency_us` after it arrives, or rejects it as a broker would:
 *   unknown symbol, quantity not positive, a limit or stop price not positive, no quote yet for
 *   the symbol (when `reject_if_no_quote`), too many live orders for the order table.
 * - Fills marketable orders against the last quote in the shared quote book: a buy at the ask,
 *   a sell at the bid, `fill_ratio` of the remaining quantity per quote (1 = all at once). An
 *   order that is not marketable rests (day, gtc) and is checked again whenever its symbol's
 *   quote changes; ioc cancels what did not fill at once, fok fills all at once or cancels.
 *   Stop orders trigger when the quote reaches the stop price, then act as market (stop) or
 *   limit (stop_limit) orders.
 * - Cancels after the same latency. Positions and average prices are kept in the shared order
 *   table (`daemon/shm/order-table.ts`).
 *
 * Everything is preallocated: the pending queue (FIFO, since the latency is constant) and the
 * list of resting orders are typed arrays. Exec events go out through `emit` (the execution
 * worker writes them into the exec-event ring).
 */
import { prefault } from "../../shm/prefault.ts";
import { OrderTable, OrderStatus } from "../../shm/order-table.ts";
import type { QuoteBook } from "../../shm/quote-book.ts";
import { RecordKind, Reject, Side, OrderType, TimeInForce, flagsSide, flagsType, flagsTif, packOrderFlags } from "../../shm/records.ts";

export interface SimBrokerOptions {
  latencyNs: number;
  fillRatio: number;
  rejectIfNoQuote: boolean;
  symbols: number;
}

/** Receives each exec event; `b` = side | reason<<8. */
export type EmitExec = (kind: RecordKind, symbolId: number, orderId: number, b: number, lastQty: number, lastPx: number, cumQty: number, leaves: number, tickRecvNs: number) => void;

const PENDING_NEW = 1;
const PENDING_CANCEL = 2;

export class SimBroker {
  readonly #table: OrderTable;
  readonly #book: QuoteBook;
  readonly #opt: SimBrokerOptions;
  readonly #emit: EmitExec;
  // Pending actions: FIFO ring.
  readonly #pDue: Float64Array;
  readonly #pKind: Int8Array;
  readonly #pOrder: Int32Array;
  #pHead = 0;
  #pCount = 0;
  // Resting (acknowledged, working) orders: table entries.
  readonly #resting: Int32Array;
  #restingCount = 0;
  readonly #seenSeq: Int32Array;
  readonly #stopTriggered: Uint8Array;
  readonly #stopPx: Float64Array;
  readonly #cancelPending: Uint8Array;
  #pendingNew = 0;

  constructor(table: OrderTable, book: QuoteBook, options: SimBrokerOptions, emit: EmitExec) {
    this.#table = table;
    this.#book = book;
    this.#opt = options;
    this.#emit = emit;
    const cap = table.capacity;
    // Committed now: indexed by order id or by a ring position that walks all of them.
    this.#pDue = prefault(new Float64Array(2 * cap));
    this.#pKind = prefault(new Int8Array(2 * cap));
    this.#pOrder = prefault(new Int32Array(2 * cap));
    this.#cancelPending = prefault(new Uint8Array(cap));
    this.#resting = prefault(new Int32Array(cap));
    this.#seenSeq = prefault(new Int32Array(cap));
    this.#stopTriggered = prefault(new Uint8Array(cap));
    this.#stopPx = prefault(new Float64Array(cap));
  }

  openOrders(): number {
    return this.#restingCount + this.#pendingNew;
  }

  /** Time the next pending action is due (process clock ns), or +Infinity. */
  nextDueNs(): number {
    return this.#pCount > 0 ? this.#pDue[this.#pHead]! : Number.POSITIVE_INFINITY;
  }

  #reject(symbolId: number, orderId: number, flags: number, reason: Reject, tickRecvNs: number): void {
    this.#emit(RecordKind.REJECT, symbolId, orderId, flagsSide(flags) | (reason << 8), 0, 0, 0, 0, tickRecvNs);
  }

  #push(kind: number, orderId: number, due: number): void {
    const cap = this.#pDue.length;
    const k = (this.#pHead + this.#pCount) % cap;
    this.#pDue[k] = due;
    this.#pKind[k] = kind;
    this.#pOrder[k] = orderId;
    this.#pCount++;
  }

  /** An order arrives. Returns the table entry, or -1 if it was rejected at once. */
  newOrder(orderId: number, symbolId: number, flags: number, qty: number, limitPx: number, stopPx: number, tickRecvNs: number, nowNs: number): number {
    const type = flagsType(flags);
    let reason = Reject.NONE;
    if (!(symbolId >= 0 && symbolId < this.#opt.symbols)) reason = Reject.UNKNOWN_SYMBOL;
    else if (!(qty > 0) || !Number.isFinite(qty)) reason = Reject.INVALID_QUANTITY;
    else if ((type === OrderType.LIMIT || type === OrderType.STOP_LIMIT) && !(limitPx > 0)) reason = Reject.INVALID_PRICE;
    else if ((type === OrderType.STOP || type === OrderType.STOP_LIMIT) && !(stopPx > 0)) reason = Reject.INVALID_PRICE;
    else if (this.#opt.rejectIfNoQuote && this.#book.seq(symbolId) === 0) reason = Reject.NO_QUOTE;
    else if (this.#pendingNew + this.#restingCount >= this.#table.capacity) reason = Reject.TOO_MANY_OPEN_ORDERS;
    if (reason !== Reject.NONE) {
      this.#reject(symbolId, orderId, flags, reason, tickRecvNs);
      return -1;
    }
    const e = this.#table.insert(orderId, symbolId, flags, qty, type === OrderType.STOP ? 0 : limitPx, tickRecvNs, nowNs);
    if (e < 0) {
      this.#reject(symbolId, orderId, flags, Reject.ORDER_TABLE_FULL, tickRecvNs);
      return -1;
    }
    this.#stopTriggered[e] = type === OrderType.STOP || type === OrderType.STOP_LIMIT ? 0 : 1;
    if (type === OrderType.STOP || type === OrderType.STOP_LIMIT) this.#stopPx[e] = stopPx;
    this.#cancelPending[e] = 0;
    this.#push(PENDING_NEW, orderId, nowNs + this.#opt.latencyNs);
    this.#pendingNew++;
    return e;
  }

  cancel(orderId: number, nowNs: number): void {
    const e = this.#table.entryFor(orderId);
    if (e < 0 || this.#table.orderIdAt(e) !== orderId || this.#cancelPending[e] === 1) return;
    const st = this.#table.statusAt(e);
    if (st !== OrderStatus.NEW && st !== OrderStatus.PARTIALLY_FILLED && st !== OrderStatus.PENDING_NEW) return;
    this.#cancelPending[e] = 1;
    this.#push(PENDING_CANCEL, orderId, nowNs + this.#opt.latencyNs);
  }

  cancelAll(nowNs: number): void {
    const cap = this.#pDue.length;
    const queued = this.#pCount;
    for (let k = 0; k < queued; k++) {
      const q = (this.#pHead + k) % cap;
      if (this.#pKind[q] === PENDING_NEW) this.cancel(this.#pOrder[q]!, nowNs);
    }
    for (let k = 0; k < this.#restingCount; k++) this.cancel(this.#table.orderIdAt(this.#resting[k]!), nowNs);
  }

  /**
   * Closes every position with a market order (after cancelling every open order): the
   * operator's flatten. Order ids from `firstOrderId` up (the worker's own id space).
   * Returns the next free id.
   */
  flatten(nowNs: number, firstOrderId: number): number {
    this.cancelAll(nowNs);
    let id = firstOrderId;
    for (let s = 0; s < this.#opt.symbols; s++) {
      const pos = this.#table.position(s);
      if (pos === 0) continue;
      const flags = packOrderFlags(pos > 0 ? Side.SELL : Side.BUY, OrderType.MARKET, TimeInForce.DAY);
      this.newOrder(id++, s, flags, Math.abs(pos), 0, 0, nowNs, nowNs);
    }
    return id;
  }

  /** Runs what is due and re-checks resting orders whose quote moved. */
  poll(nowNs: number): void {
    while (this.#pCount > 0 && this.#pDue[this.#pHead]! <= nowNs) {
      const kind = this.#pKind[this.#pHead]!;
      const orderId = this.#pOrder[this.#pHead]!;
      this.#pHead = (this.#pHead + 1) % this.#pDue.length;
      this.#pCount--;
      if (kind === PENDING_NEW) this.#pendingNew--;
      const e = this.#table.entryFor(orderId);
      if (e < 0 || this.#table.orderIdAt(e) !== orderId) continue;
      if (kind === PENDING_NEW) {
        if (this.#table.statusAt(e) === OrderStatus.PENDING_NEW) this.#accept(e, nowNs);
      }
      else {
        this.#cancelPending[e] = 0;
        this.#cancelEntry(e);
      }
    }
    if (this.#restingCount > 0) this.#checkResting(nowNs);
  }

  #accept(e: number, nowNs: number): void {
    const t = this.#table;
    t.setStatus(e, OrderStatus.NEW);
    const sym = t.symbolAt(e);
    const flags = t.flagsAt(e);
    this.#emit(RecordKind.ACK, sym, t.orderIdAt(e), flagsSide(flags), 0, 0, 0, t.qtyAt(e), t.tickRecvAt(e));
    this.#seenSeq[e] = this.#book.seq(sym);
    this.#tryFill(e, nowNs, true);
    if (t.statusAt(e) === OrderStatus.NEW || t.statusAt(e) === OrderStatus.PARTIALLY_FILLED) {
      const tif = flagsTif(flags);
      if (tif === TimeInForce.IOC || tif === TimeInForce.FOK) this.#cancelEntry(e);
      else this.#resting[this.#restingCount++] = e;
    }
  }

  #checkResting(nowNs: number): void {
    for (let k = 0; k < this.#restingCount; k++) {
      const e = this.#resting[k]!;
      const sym = this.#table.symbolAt(e);
      const seq = this.#book.seq(sym);
      if (seq === this.#seenSeq[e]) continue;
      this.#seenSeq[e] = seq;
      this.#tryFill(e, nowNs, false);
      const st = this.#table.statusAt(e);
      if (st !== OrderStatus.NEW && st !== OrderStatus.PARTIALLY_FILLED) {
        this.#resting[k] = this.#resting[--this.#restingCount]!;
        k--;
      }
    }
  }

  #tryFill(e: number, nowNs: number, first: boolean): void {
    const t = this.#table;
    const sym = t.symbolAt(e);
    if (!this.#book.read(sym)) return;
    const flags = t.flagsAt(e);
    const side = flagsSide(flags);
    const type = flagsType(flags);
    const buy = side === Side.BUY;
    const touch = buy ? this.#book.askPx : this.#book.bidPx;
    const avail = buy ? this.#book.askSize : this.#book.bidSize;
    if (!(touch > 0)) return;
    if (this.#stopTriggered[e] === 0) {
      const stop = this.#stopPx[e]!;
      if (buy ? touch < stop : touch > stop) return;
      this.#stopTriggered[e] = 1;
    }
    const limit = t.limitAt(e);
    const marketable = type === OrderType.MARKET || type === OrderType.STOP || (buy ? limit >= touch : limit <= touch);
    if (!marketable) return;
    const qty = t.qtyAt(e);
    const leaves = qty - t.filledAt(e);
    const tif = flagsTif(flags);
    if (tif === TimeInForce.FOK && avail > 0 && avail < leaves) return;
    // fok is all or nothing: fill_ratio does not split it.
    let fill = this.#opt.fillRatio >= 1 || tif === TimeInForce.FOK ? leaves : Math.max(1, Math.floor(leaves * this.#opt.fillRatio));
    if (fill > leaves) fill = leaves;
    t.applyFill(e, sym, buy ? fill : -fill, touch, nowNs);
    const cum = t.filledAt(e);
    this.#emit(RecordKind.FILL, sym, t.orderIdAt(e), side, fill, touch, cum, qty - cum, t.tickRecvAt(e));
  }

  #cancelEntry(e: number): void {
    const t = this.#table;
    const st = t.statusAt(e);
    if (st !== OrderStatus.NEW && st !== OrderStatus.PARTIALLY_FILLED && st !== OrderStatus.PENDING_NEW) return;
    t.setStatus(e, OrderStatus.CANCELED);
    for (let k = 0; k < this.#restingCount; k++) {
      if (this.#resting[k] === e) {
        this.#resting[k] = this.#resting[--this.#restingCount]!;
        break;
      }
    }
    const cum = t.filledAt(e);
    this.#emit(RecordKind.CANCELED, t.symbolAt(e), t.orderIdAt(e), flagsSide(t.flagsAt(e)), 0, 0, cum, 0, t.tickRecvAt(e));
  }
}
