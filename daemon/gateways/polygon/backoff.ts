/**
 * Exponential backoff with jitter for reconnects: wait `initial·multiplier^attempt`, capped at
 * `max`, then spread by ±`jitter`·wait (so a fleet of clients does not reconnect in step).
 * `random` is injectable for tests.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  jitter: number;
}

export class Backoff {
  #attempt = 0;
  constructor(
    readonly options: BackoffOptions,
    readonly random: () => number = Math.random,
  ) {}

  /** The wait before the next attempt; each call counts one attempt. */
  next(): number {
    const o = this.options;
    const base = Math.min(o.maxMs, o.initialMs * o.multiplier ** this.#attempt);
    this.#attempt++;
    const spread = base * o.jitter;
    return Math.max(0, Math.round(base - spread + 2 * spread * this.random()));
  }

  /** After a connection that worked: start again from the initial wait. */
  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
