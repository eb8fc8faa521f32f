/**
 * Paced publishing: `rate` events a second in frames of `batch` events, frame k due at
 * `start + k * batch / rate` on the process-wide clock (`daemon/shm/clock.ts`). Never early;
 * when late (timer granularity, a busy loop) the frames due are sent back to back to catch up,
 * so the count and the average rate hold and bursts show up as they would from a real feed.
 */
import { nowNs } from "../../shm/clock.ts";
import { PolygonMarket, type PolygonMarketEvent, type PolygonMarketOptions } from "./market.ts";

export interface StreamOptions extends Partial<PolygonMarketOptions> {
  /** Events per second. */
  rate: number;
  /** Events per frame (default 1); the last frame of a `count` may be shorter. */
  batch?: number;
  /** Stop after this many events. */
  count?: number;
  /** Stop after this long (frames due at or after the end are not sent). */
  durationMs?: number;
  /** An existing generator (its sequence numbers continue); otherwise one is made from `symbols` etc. */
  market?: PolygonMarket;
  /**
   * Called right after each frame was handed to the sockets, with the sequence number of its
   * first event (= `q` of that event for T/Q), `nowNs()` of that moment, the events in it and
   * how many connections it went to.
   */
  onFrameWritten?: (seqOfFirstEvent: number, atNs: number, events: number, connections: number) => void;
  signal?: AbortSignal;
  /**
   * Busy-wait the last millisecond before each frame instead of sleeping (exact pacing at high
   * frame rates; burns this thread's CPU). Default false.
   */
  spin?: boolean;
}

export interface StreamResult {
  events: number;
  frames: number;
  /** Frames that went to at least one connection. */
  framesDelivered: number;
  /** From the first frame due to the last frame written. */
  elapsedNs: number;
}

/** Sends one frame of events to whoever wants it; returns how many connections got it. */
export type FrameSink = (events: PolygonMarketEvent[]) => number;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function runStream(options: StreamOptions, sink: FrameSink, stopped: () => boolean): Promise<StreamResult> {
  const batch = options.batch ?? 1;
  if (!(options.rate > 0) || !(batch >= 1)) throw new Error("stream needs rate > 0 and batch >= 1");
  const market =
    options.market ??
    new PolygonMarket({
      symbols: options.symbols ?? ["AAPL", "MSFT", "AMZN", "NVDA", "TSLA"],
      seed: options.seed,
      kinds: options.kinds,
      weights: options.weights,
      clockMs: options.clockMs,
      firstSeq: options.firstSeq,
      trfRatio: options.trfRatio,
    });
  const count = options.count ?? Infinity;
  const periodNs = (batch / options.rate) * 1e9;
  const endNs = options.durationMs === undefined ? Infinity : options.durationMs * 1e6;
  const start = nowNs();
  const result: StreamResult = { events: 0, frames: 0, framesDelivered: 0, elapsedNs: 0 };
  for (let k = 0; result.events < count; k++) {
    const offset = k * periodNs;
    if (offset >= endNs || stopped() || options.signal?.aborted) break;
    const due = start + offset;
    let late = true;
    for (let left = due - nowNs(); left > 0; left = due - nowNs()) {
      late = false;
      if (options.spin && left < 1e6) {
        while (nowNs() < due);
        break;
      }
      // Timers: ~1 ms granularity; below that, turn the event loop until due.
      if (left >= 1e6) await Bun.sleep(left / 1e6 - (options.spin ? 1 : 0));
      else await yieldToLoop();
      if (stopped() || options.signal?.aborted) break;
    }
    if (late && (k & 63) === 63) {
      // Catching up: still let the sockets' reads and closes run now and then.
      await yieldToLoop();
    }
    if (stopped() || options.signal?.aborted) break;
    const n = Math.min(batch, count - result.events);
    const firstSeq = market.seq;
    const connections = sink(market.batch(n));
    const now = nowNs();
    options.onFrameWritten?.(firstSeq, now, n, connections);
    result.events += n;
    result.frames++;
    if (connections > 0) result.framesDelivered++;
    result.elapsedNs = now - start;
  }
  return result;
}
