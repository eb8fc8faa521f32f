/**
 * The `replay` feed: plays a file written with `feed.record` through the same frame path as the
 * live Polygon feed (scanner, checks, records, quote book), at the recorded pace
 * (`feed.replay.speed: 1`), a multiple of it, or as fast as possible (`0`). Each frame's receive
 * time is the time it is replayed. Status events in the recording are ignored.
 *
 * `ReplaySource` is the non-blocking part (one `turn` plays the next frame when it is due);
 * `runReplayFeed` is the feed worker's loop around it (layout `split`); the single trading thread
 * calls `turn` itself (layout `single`).
 */
import type { GaugeIndex } from "../../metrics/block.ts";
import { resolve } from "node:path";
import type { FeedContext } from "../context.ts";
import { markFeedDone, runPacedSource, type PacedSource } from "../source.ts";
import { readRecording } from "./format.ts";
import { PolygonPublisher } from "../../gateways/polygon/publisher.ts";
import type { RecordedFrame } from "./format.ts";
import { nowNs } from "../../shm/clock.ts";
import { logger } from "../../log.ts";

const MAX_SLEEP_MS = 100;
const log = logger("feed");

export class ReplaySource implements PacedSource {
  readonly #ctx: FeedContext;
  readonly #frames: readonly RecordedFrame[];
  readonly #publisher: PolygonPublisher;
  readonly #speed: number;
  readonly #loop: boolean;
  readonly #gHeartbeat: GaugeIndex;
  #k = 0;
  #start = 0;

  /** Reads the recording (throws when it cannot be read). */
  constructor(ctx: FeedContext) {
    this.#ctx = ctx;
    const cfg = ctx.config.feed;
    const file = resolve(ctx.configDir, cfg.replay.file);
    const { frames, truncated } = readRecording(file);
    if (truncated) log.warn(`${file}: the last record is cut short (a crash while recording?); playing the rest`);
    this.#frames = frames;
    const m = ctx.metrics;
    m.set(m.gaugeIndex("feed_connected"), 1);
    m.set(m.gaugeIndex("feed_state"), 3);
    this.#gHeartbeat = m.gaugeIndex("heartbeat_ns");
    this.#publisher = new PolygonPublisher(ctx, {
      allSymbols: cfg.polygon.all_symbols,
      maxFrameChars: cfg.polygon.max_frame_bytes,
      badInputLogPerMin: cfg.polygon.bad_input_log_per_min,
      onStatus: () => {},
      log: (msg) => log.warn(msg),
    });
    this.#speed = cfg.replay.speed;
    this.#loop = cfg.replay.loop;
  }

  /** Starts the clock the pacing counts from. */
  begin(): void {
    this.#start = nowNs();
  }

  /** Every frame played (never with `replay.loop`, unless the file has none). */
  exhausted(): boolean {
    return this.#k >= this.#frames.length;
  }

  /** When the next frame is due (CLOCK_MONOTONIC ns; at once with speed 0). */
  nextDueNs(): number {
    if (this.exhausted()) return Number.POSITIVE_INFINITY;
    if (this.#speed <= 0) return 0;
    return this.#start + (this.#frames[this.#k]!.recvUnixNs - this.#frames[0]!.recvUnixNs) / this.#speed;
  }

  /** Plays the next frame if it is due at `now`. Returns whether it did. */
  turn(now: number): boolean {
    this.#ctx.metrics.set(this.#gHeartbeat, now);
    if (this.exhausted() || this.nextDueNs() > now) return false;
    this.#publisher.onFrame(this.#frames[this.#k++]!.frame, nowNs());
    if (this.exhausted() && this.#loop) {
      this.#k = 0;
      this.#start = nowNs();
    }
    return true;
  }

  /** The recording is played out: tell the strategy. */
  done(): void {
    markFeedDone(this.#ctx);
  }
}

export function runReplayFeed(ctx: FeedContext, ready: () => void): void {
  const source = new ReplaySource(ctx);
  runPacedSource(ctx, source, ready, 0, MAX_SLEEP_MS);
  // Stay until told to stop (the strategy may still be draining).
  const sleepWord = new Int32Array(new SharedArrayBuffer(4));
  while (!ctx.stopRequested()) {
    source.turn(nowNs()); // heartbeat
    Atomics.wait(sleepWord, 0, 0, MAX_SLEEP_MS);
  }
}
