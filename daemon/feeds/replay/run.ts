/**
 * The `replay` feed: plays a file written with `feed.record` through the same frame path as the
 * live Polygon feed (scanner, checks, records, quote book), at the recorded pace
 * (`feed.replay.speed: 1`), a multiple of it, or as fast as possible (`0`). Each frame's receive
 * time is the time it is replayed. Status events in the recording are ignored.
 */
import { resolve } from "node:path";
import type { FeedContext } from "../context.ts";
import { readRecording } from "./format.ts";
import { PolygonPublisher } from "../../gateways/polygon/publisher.ts";
import { W_FEED_DONE } from "../../shm/control.ts";
import { nowNs } from "../../shm/clock.ts";
import { logger } from "../../log.ts";

const MAX_SLEEP_MS = 100;
const log = logger("feed");

export function runReplayFeed(ctx: FeedContext, ready: () => void): void {
  const cfg = ctx.config.feed;
  const file = resolve(ctx.configDir, cfg.replay.file);
  const { frames, truncated } = readRecording(file);
  if (truncated) log.warn(`${file}: the last record is cut short (a crash while recording?); playing the rest`);
  const m = ctx.metrics;
  m.set(m.gaugeIndex("feed_connected"), 1);
  m.set(m.gaugeIndex("feed_state"), 3);
  const publisher = new PolygonPublisher(ctx, {
    allSymbols: cfg.polygon.all_symbols,
    maxFrameChars: cfg.polygon.max_frame_bytes,
    badInputLogPerMin: cfg.polygon.bad_input_log_per_min,
    onStatus: () => {},
    log: (msg) => log.warn(msg),
  });
  const sleepWord = new Int32Array(new SharedArrayBuffer(4));
  const gHeartbeat = m.gaugeIndex("heartbeat_ns");
  const speed = cfg.replay.speed;
  ready();
  do {
    const first = frames[0]?.recvUnixNs ?? 0;
    const start = nowNs();
    for (let k = 0; k < frames.length; k++) {
      if (ctx.stopRequested()) break;
      const fr = frames[k]!;
      if (speed > 0) {
        const due = start + (fr.recvUnixNs - first) / speed;
        for (let now = nowNs(); now < due && !ctx.stopRequested(); now = nowNs()) {
          m.set(gHeartbeat, now);
          Atomics.wait(sleepWord, 0, 0, Math.min(MAX_SLEEP_MS, (due - now) / 1e6));
        }
      }
      publisher.onFrame(fr.frame, nowNs());
    }
  } while (cfg.replay.loop && frames.length > 0 && !ctx.stopRequested());
  ctx.control.set(W_FEED_DONE, 1);
  ctx.doorbell.ring();
  // Stay until told to stop (the strategy may still be draining).
  while (!ctx.stopRequested()) {
    m.set(gHeartbeat, nowNs());
    Atomics.wait(sleepWord, 0, 0, MAX_SLEEP_MS);
  }
}
