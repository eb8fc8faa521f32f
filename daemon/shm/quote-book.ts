/**
 * The last quote of every symbol, in shared memory, behind a seqlock.
 *
 * Written only by the feed worker (one writer); read by any thread: the strategy's risk checks
 * (price collar, stale quote), the simulated broker (fills against the last quote), and the main
 * thread (`/status`). A reader never blocks the writer.
 *
 * Layout: one entry of 8 Float64 words per symbol id; word 0 of each entry, seen as Int32 word
 * `2*8*id`, is the entry's sequence:
 *
 * | f64 word | field |
 * |---|---|
 * | 0 | seq (Int32 in the low half): odd while the writer is inside the entry |
 * | 1 | bid price |
 * | 2 | ask price |
 * | 3 | bid size |
 * | 4 | ask size |
 * | 5 | receive time (process clock, ns) |
 * | 6 | last trade price |
 * | 7 | last trade time (process clock, ns) |
 *
 * Writer: `Atomics.store(seq, odd)`, plain stores of the fields, `Atomics.store(seq, even)`.
 * Reader: load seq; if odd retry; copy fields; load seq again; retry if it moved. The seq-cst
 * Atomics on both sides order the plain stores and loads between them.
 */

const ENTRY_F64 = 8;
const ENTRY_I32 = 16;

export class QuoteBook {
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  /** Scratch filled by `read()` (reader side; one per thread, reused: no allocation). */
  bidPx = 0;
  askPx = 0;
  bidSize = 0;
  askSize = 0;
  recvNs = 0;
  lastTradePx = 0;
  lastTradeNs = 0;

  static create(symbols: number): QuoteBook {
    return new QuoteBook(new SharedArrayBuffer(symbols * ENTRY_F64 * 8), symbols);
  }
  constructor(
    readonly sab: SharedArrayBuffer,
    readonly symbols: number,
  ) {
    this.f64 = new Float64Array(sab);
    this.i32 = new Int32Array(sab);
  }

  /** Writer (feed worker only). */
  writeQuote(id: number, bidPx: number, askPx: number, bidSize: number, askSize: number, recvNs: number): void {
    const s = id * ENTRY_I32;
    const f = id * ENTRY_F64;
    const seq = this.i32[s]!;
    Atomics.store(this.i32, s, seq + 1); // enter: odd
    this.f64[f + 1] = bidPx;
    this.f64[f + 2] = askPx;
    this.f64[f + 3] = bidSize;
    this.f64[f + 4] = askSize;
    this.f64[f + 5] = recvNs;
    Atomics.store(this.i32, s, seq + 2); // publish: even again
  }

  /** Writer (feed worker only). */
  writeTrade(id: number, px: number, recvNs: number): void {
    const s = id * ENTRY_I32;
    const f = id * ENTRY_F64;
    const seq = this.i32[s]!;
    Atomics.store(this.i32, s, seq + 1);
    this.f64[f + 6] = px;
    this.f64[f + 7] = recvNs;
    Atomics.store(this.i32, s, seq + 2);
  }

  /** The entry's sequence (changes on every write; 0 = never written). */
  seq(id: number): number {
    return Atomics.load(this.i32, id * ENTRY_I32);
  }

  /** Copies one consistent entry into this object's fields. Returns false if never written. */
  read(id: number): boolean {
    const s = id * ENTRY_I32;
    const f = id * ENTRY_F64;
    for (;;) {
      const before = Atomics.load(this.i32, s);
      if (before === 0) return false;
      if ((before & 1) === 1) continue;
      this.bidPx = this.f64[f + 1]!;
      this.askPx = this.f64[f + 2]!;
      this.bidSize = this.f64[f + 3]!;
      this.askSize = this.f64[f + 4]!;
      this.recvNs = this.f64[f + 5]!;
      this.lastTradePx = this.f64[f + 6]!;
      this.lastTradeNs = this.f64[f + 7]!;
      if (Atomics.load(this.i32, s) === before) return true;
    }
  }
}
