/**
 * A feed that makes its own data on its own clock (`synthetic`, `replay`), as the feed worker
 * (layout split) and the single trading thread (layout single, `workers/single.ts`) drive it:
 * non-blocking turns, and when the next one is due.
 */
import type { FeedContext } from "./context.ts";
import { W_FEED_DONE } from "../shm/control.ts";
import { nowNs } from "../shm/clock.ts";

export interface PacedSource {
  /** Starts the clock the pacing counts from. */
  begin(): void;
  /** Nothing more to produce (a bounded feed at its end). */
  exhausted(): boolean;
  /** When the next event is due (CLOCK_MONOTONIC ns). */
  nextDueNs(): number;
  /** Produces and publishes what is due at `now`; returns whether it did. */
  turn(now: number): boolean;
  /** The feed is done (exhausted or stopping): tells the strategy (FEED_DONE). */
  done(): void;
}

/** FEED_DONE, and the strategy's doorbell so it sees it. */
export function markFeedDone(ctx: FeedContext): void {
  ctx.control.set(W_FEED_DONE, 1);
  ctx.doorbell.ring();
}

/**
 * The feed worker's loop: turns while something is due; otherwise sleeps (`Atomics.wait`, at
 * most `maxSleepMs`, so stop requests are seen) until `spinBelowNs / 2` before the next due time,
 * and spins when that is closer than `spinBelowNs`. Returns after `done()`, once stopped or
 * exhausted.
 */
export function runPacedSource(ctx: FeedContext, source: PacedSource, ready: () => void, spinBelowNs: number, maxSleepMs: number): void {
  const sleepWord = new Int32Array(new SharedArrayBuffer(4));
  ready();
  source.begin();
  while (!ctx.stopRequested() && !source.exhausted()) {
    const now = nowNs();
    if (source.turn(now)) continue;
    const wait = source.nextDueNs() - now;
    if (wait > spinBelowNs) Atomics.wait(sleepWord, 0, 0, Math.min(maxSleepMs, (wait - spinBelowNs / 2) / 1e6));
  }
  source.done();
}
