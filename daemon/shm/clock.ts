/**
 * The process-wide clock: nanoseconds of CLOCK_MONOTONIC, the same in every thread.
 *
 * Bun's own clocks (`performance.now()`, `Bun.nanoseconds()`, `process.hrtime`) count from the
 * start of the calling *thread*, so a worker's reading is ~hundreds of ms below main's and a
 * timestamp written by one thread means nothing to another. Cross-thread latency (tick received
 * in the feed worker → order written in the strategy worker) needs one clock, so every thread
 * reads CLOCK_MONOTONIC through bun:ffi (`clock_gettime` is served by the vDSO, no syscall).
 * Measured here: 33 ns a call, against 39 ns for `Bun.nanoseconds()`: no reason to calibrate
 * offsets. `test/shm/clock.test.ts` proves the clock is shared (causality across workers).
 *
 * Values are f64 nanoseconds since boot: exact to the nanosecond for 104 days of uptime, then
 * to 2–4 ns, which is below what any latency here means.
 *
 * Allocates nothing per call.
 */
import { monotonicNsReader } from "../../ffi/libc.ts";

/** Nanoseconds on the process-wide monotonic clock. Hot path: no allocation. */
export const nowNs: () => number = monotonicNsReader();

/** Milliseconds on the same clock (for timeouts and the like). */
export function nowMs(): number {
  return nowNs() / 1e6;
}
