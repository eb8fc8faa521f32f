/**
 * The synthetic market: a seeded, reproducible NBBO random walk per symbol, with trades
 * between quotes. The same seed and symbols give the same events, in any thread.
 *
 * Per event: pick a symbol (uniformly), then either a trade (probability `tradeRatio`: at the
 * bid, the ask or in between, an odd-lot or round-lot size) or a new quote (the mid moves by a
 * normal step of `volatilityBps`, the spread is `spreadBps` of the mid but at least one cent,
 * prices on the cent grid, bid < ask always, sizes in round lots). The generator writes straight
 * into caller-provided record words and allocates nothing per event.
 */
import { RecordKind, I_KIND, I_SYMBOL, I_A, I_B, F_TRECV, F_P0, F_P1, F_P2, F_P3 } from "../../shm/records.ts";

export interface SyntheticParams {
  seed: number;
  symbols: number;
  tradeRatio: number;
  startPrice: number;
  volatilityBps: number;
  spreadBps: number;
}

export class SyntheticMarket {
  #state: number;
  #spare = 0;
  #hasSpare = false;
  readonly mid: Float64Array;
  readonly bid: Float64Array;
  readonly ask: Float64Array;
  readonly seqs: Int32Array;
  /** Fields of the event last written (for the quote book; no allocation). */
  lastKind = 0;
  lastSymbol = 0;
  p0 = 0;
  p1 = 0;
  p2 = 0;
  p3 = 0;

  constructor(readonly params: SyntheticParams) {
    this.#state = params.seed >>> 0 || 0x9e3779b9;
    const n = params.symbols;
    this.mid = new Float64Array(n);
    this.bid = new Float64Array(n);
    this.ask = new Float64Array(n);
    this.seqs = new Int32Array(n);
    for (let s = 0; s < n; s++) {
      // Spread the symbols' starting prices a little so they are told apart in tests.
      this.mid[s] = params.startPrice * (1 + 0.05 * s);
      this.#quote(s, this.mid[s]!);
    }
  }

  /** mulberry32: uniform in [0, 1). */
  uniform(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Marsaglia polar method, spare kept: no allocation). */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = this.uniform() * 2 - 1;
      v = this.uniform() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spare = v * m;
    this.#hasSpare = true;
    return u * m;
  }

  #quote(s: number, mid: number): void {
    const spread = Math.max(0.01, Math.round((mid * this.params.spreadBps) / 1e4 / 0.01) * 0.01);
    let bid = Math.floor((mid - spread / 2) * 100 + 1e-9) / 100;
    if (bid < 0.01) bid = 0.01;
    this.bid[s] = bid;
    this.ask[s] = Math.round((bid + spread) * 100) / 100;
  }

  /**
   * Advances the market by one event and writes it as a record at slot words `i32[ib..]` /
   * `f64[fb..]` (`ib = slot*16`, `fb = slot*8`). Returns the record kind.
   */
  next(i32: Int32Array, f64: Float64Array, ib: number, fb: number, recvNs: number): number {
    const p = this.params;
    const s = Math.floor(this.uniform() * p.symbols);
    const seq = (this.seqs[s] = (this.seqs[s]! + 1) & 0x7fffffff);
    let kind: number;
    if (this.uniform() < p.tradeRatio) {
      kind = RecordKind.TRADE;
      const r = this.uniform();
      const px = r < 0.45 ? this.bid[s]! : r > 0.55 ? this.ask[s]! : Math.round(((this.bid[s]! + this.ask[s]!) / 2) * 100) / 100;
      const size = this.uniform() < 0.4 ? 1 + Math.floor(this.uniform() * 99) : 100 * (1 + Math.floor(this.uniform() * 5));
      this.p0 = px;
      this.p1 = size;
      this.p2 = 0;
      this.p3 = 0;
    } else {
      kind = RecordKind.QUOTE;
      let mid = this.mid[s]! * (1 + (this.normal() * p.volatilityBps) / 1e4);
      if (mid < 0.05) mid = 0.05;
      this.mid[s] = mid;
      this.#quote(s, mid);
      this.p0 = this.bid[s]!;
      this.p1 = this.ask[s]!;
      this.p2 = 100 * (1 + Math.floor(this.uniform() * 10));
      this.p3 = 100 * (1 + Math.floor(this.uniform() * 10));
    }
    this.lastKind = kind;
    this.lastSymbol = s;
    i32[ib + I_KIND] = kind;
    i32[ib + I_SYMBOL] = s;
    i32[ib + I_A] = seq;
    i32[ib + I_B] = 0;
    f64[fb + F_TRECV] = recvNs;
    f64[fb + F_P0] = this.p0;
    f64[fb + F_P1] = this.p1;
    f64[fb + F_P2] = this.p2;
    f64[fb + F_P3] = this.p3;
    return kind;
  }
}
