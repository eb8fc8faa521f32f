/**
 * Alpaca's rate limit: "200 requests every minute per API key" (AL-DOCS), as a sliding window
 * per key. Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
 * `X-RateLimit-Reset` (UNIX seconds when the oldest request in the window leaves it). A request
 * over the limit is refused (429) and not counted.
 */

export interface RateLimitVerdict {
  allowed: boolean;
  headers: Record<string, string>;
}

export class SlidingWindowRateLimit {
  limitPerWindow: number;
  readonly windowMs: number;
  #now: () => number;
  /** Per key: arrival times (ms) inside the window, oldest first. */
  #arrivals = new Map<string, number[]>();

  constructor(limitPerWindow: number, windowMs = 60_000, now: () => number = Date.now) {
    this.limitPerWindow = limitPerWindow;
    this.windowMs = windowMs;
    this.#now = now;
  }

  /** Counts one request for `key` if the window has room. */
  take(key: string): RateLimitVerdict {
    const now = this.#now();
    let arrivals = this.#arrivals.get(key);
    if (arrivals === undefined) {
      arrivals = [];
      this.#arrivals.set(key, arrivals);
    }
    let expired = 0;
    while (expired < arrivals.length && arrivals[expired]! <= now - this.windowMs) expired++;
    if (expired > 0) arrivals.splice(0, expired);
    const allowed = arrivals.length < this.limitPerWindow;
    if (allowed) arrivals.push(now);
    const oldest = arrivals[0] ?? now;
    return {
      allowed,
      headers: {
        "X-RateLimit-Limit": String(this.limitPerWindow),
        "X-RateLimit-Remaining": String(Math.max(0, this.limitPerWindow - arrivals.length)),
        "X-RateLimit-Reset": String(Math.ceil((oldest + this.windowMs) / 1000)),
      },
    };
  }

  reset(): void {
    this.#arrivals.clear();
  }
}
