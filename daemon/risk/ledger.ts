/**
 * Positions, P&L of the day and gross exposure, kept incrementally from fills and quotes so no
 * check loops over symbols. Strategy worker only; nothing here allocates after the constructor.
 *
 * Cash-flow accounting, per symbol s with position q[s] and mark m[s] (the last quote's mid, or
 * the last fill price before any quote):
 *
 *   pnl   = cash + value,   cash  = Σ fills (sell qty × px − buy qty × px),   value = Σ q[s] × m[s]
 *   gross = Σ |q[s]| × m[s]
 *
 * `value` and `gross` move by q × Δm on a quote and by Δq × m on a fill, so each event costs O(1).
 * A position that arrives without a fill (the broker's, at startup) counts from its first mark:
 * when a symbol's mark becomes known, whatever position it holds is booked at that mark with no
 * P&L, so yesterday's losses are not today's.
 */
export class RiskLedger {
  /** Signed position per symbol id (the strategy's view; `StrategyRuntime.position` reads it). */
  readonly positions: Float64Array;
  /** Mark per symbol (0: no price seen yet). */
  readonly marks: Float64Array;
  #cash = 0;
  #value = 0;
  #gross = 0;

  constructor(symbols: number) {
    this.positions = new Float64Array(symbols);
    this.marks = new Float64Array(symbols);
  }

  /** Realized + unrealized P&L since start (or the last `resetDay`), USD. */
  pnl(): number {
    return this.#cash + this.#value;
  }
  /** Σ |position| × mark, USD. */
  grossExposure(): number {
    return this.#gross;
  }

  /** A new mark for `s`. Returns whether the P&L may have changed (the symbol holds a position). */
  mark(s: number, price: number): boolean {
    if (!(price > 0)) return false;
    const q = this.positions[s]!;
    const old = this.marks[s]!;
    this.marks[s] = price;
    if (q === 0) return false;
    if (old === 0) {
      // First price for a position that came without a fill: booked here, no P&L.
      this.#cash -= q * price;
      this.#value += q * price;
      this.#gross += Math.abs(q) * price;
      return false;
    }
    this.#value += q * (price - old);
    this.#gross += Math.abs(q) * (price - old);
    return true;
  }

  /** A fill of `signedQty` (buy > 0) at `price`. */
  fill(s: number, signedQty: number, price: number): void {
    if (this.marks[s] === 0) this.mark(s, price);
    const m = this.marks[s]!;
    const q = this.positions[s]!;
    const next = q + signedQty;
    this.positions[s] = next;
    this.#cash -= signedQty * price;
    this.#value += signedQty * m;
    this.#gross += (Math.abs(next) - Math.abs(q)) * m;
  }

  /** The position as the broker reports it (reconciliation): booked at the mark, no P&L. */
  setPosition(s: number, qty: number): void {
    const m = this.marks[s]!;
    const dq = qty - this.positions[s]!;
    if (m > 0) {
      this.#cash -= dq * m;
      this.#value += dq * m;
      this.#gross += (Math.abs(qty) - Math.abs(this.positions[s]!)) * m;
    }
    this.positions[s] = qty;
  }

  /** P&L made before this ledger existed (the broker's day so far, at startup), added to the day's. */
  addDayPnl(usd: number): void {
    this.#cash += usd;
  }

  /** A new day: P&L counts from here, positions kept at their marks. */
  resetDay(): void {
    this.#cash = -this.#value;
  }
}
