/**
 * The recent orders the duplicate-order check compares against: a small fixed ring of
 * (symbol, side, price, send time). Strategy worker only; nothing here allocates after the
 * constructor.
 *
 * Only the last `capacity` sends are kept: a strategy that sends more than that within
 * `duplicate_window_ms` can repeat an order older than the last `capacity` unnoticed. The scan
 * covers at most the whole ring (32 entries by default), a bounded cost per order.
 */
export class DuplicateGuard {
  readonly #symbol: Int32Array;
  readonly #side: Int8Array;
  readonly #price: Float64Array;
  readonly #time: Float64Array;
  #head = 0;

  constructor(readonly capacity = 32) {
    this.#symbol = new Int32Array(capacity).fill(-1);
    this.#side = new Int8Array(capacity);
    this.#price = new Float64Array(capacity);
    this.#time = new Float64Array(capacity).fill(Number.NEGATIVE_INFINITY);
  }

  /**
   * When the most recent kept order with this symbol, side and price was sent, if at or after
   * `notBeforeNs`; -Infinity if none. Scans from the newest back and stops at the first entry older
   * than `notBeforeNs` (sends are recorded in time order), so a quiet strategy pays for one entry.
   */
  lastSent(symbolId: number, buy: boolean, price: number, notBeforeNs = Number.NEGATIVE_INFINITY): number {
    const side = buy ? 1 : -1;
    const times = this.#time;
    const prices = this.#price;
    const n = this.capacity;
    let k = this.#head;
    for (let seen = 0; seen < n; seen++) {
      k = k === 0 ? n - 1 : k - 1;
      const t = times[k]!;
      if (t < notBeforeNs) break;
      if (prices[k] === price && this.#symbol[k] === symbolId && this.#side[k] === side) return t;
    }
    return Number.NEGATIVE_INFINITY;
  }

  record(symbolId: number, buy: boolean, price: number, nowNs: number): void {
    const k = this.#head;
    this.#symbol[k] = symbolId;
    this.#side[k] = buy ? 1 : -1;
    this.#price[k] = price;
    this.#time[k] = nowNs;
    this.#head = k + 1 === this.capacity ? 0 : k + 1;
  }
}
