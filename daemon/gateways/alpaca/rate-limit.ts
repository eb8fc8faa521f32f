/**
 * The client-side request budget for Alpaca's REST API: at most `perMinute` requests in any
 * sliding minute (under Alpaca's 200 a minute per key), and after a 429, nothing until the
 * server's `X-RateLimit-Reset` time. Every request (orders, cancels, reads, keep-warm) spends
 * from the same budget, because the server counts them all.
 *
 * `remaining()` is what the risk engine sees (an order that would have to wait for budget is
 * better refused than queued). Times are Unix milliseconds; a clock is injectable for tests.
 */
export class RateBudget {
  readonly #times: Float64Array;
  #head = 0;
  #count = 0;
  #blockedUntilMs = 0;

  constructor(
    readonly perMinute: number,
    readonly now: () => number = Date.now,
  ) {
    this.#times = new Float64Array(perMinute);
  }

  #expire(now: number): void {
    const t = this.#times;
    while (this.#count > 0) {
      const oldest = t[(this.#head - this.#count + t.length) % t.length]!;
      if (now - oldest < 60_000) break;
      this.#count--;
    }
  }

  /** Requests that may still be sent now. */
  remaining(): number {
    const now = this.now();
    if (now < this.#blockedUntilMs) return 0;
    this.#expire(now);
    return this.perMinute - this.#count;
  }

  /** Milliseconds until one request may be sent (0 = now). */
  waitMs(): number {
    const now = this.now();
    if (now < this.#blockedUntilMs) return this.#blockedUntilMs - now;
    this.#expire(now);
    if (this.#count < this.perMinute) return 0;
    const oldest = this.#times[(this.#head - this.#count + this.#times.length) % this.#times.length]!;
    return Math.max(0, oldest + 60_000 - now);
  }

  /** Spends one request; false (nothing spent) when the budget is empty. */
  trySpend(): boolean {
    if (this.remaining() <= 0) return false;
    this.#times[this.#head] = this.now();
    this.#head = (this.#head + 1) % this.#times.length;
    this.#count++;
    return true;
  }

  /** A 429: nothing until the reset time (`X-RateLimit-Reset`, Unix seconds), or a minute. */
  blockUntil(resetUnixSeconds: number | null): void {
    const now = this.now();
    const until = resetUnixSeconds !== null && Number.isFinite(resetUnixSeconds) ? resetUnixSeconds * 1000 : now + 60_000;
    this.#blockedUntilMs = Math.max(this.#blockedUntilMs, Math.min(until, now + 120_000));
  }

  /** The server's own count (`X-RateLimit-Remaining`): never believe we have more than it says. */
  observeServerRemaining(remaining: number): void {
    if (!Number.isFinite(remaining)) return;
    const now = this.now();
    this.#expire(now);
    while (this.perMinute - this.#count > remaining && this.#count < this.perMinute) {
      this.#times[this.#head] = now;
      this.#head = (this.#head + 1) % this.#times.length;
      this.#count++;
    }
  }
}
