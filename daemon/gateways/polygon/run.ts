/**
 * The `polygon` feed in the feed worker: the connection client, the frame publisher, optional
 * recording, and a housekeeping timer (stop requests, staleness, heartbeat). Event-driven: this
 * function returns when main asks the feed to stop.
 *
 * Stale: subscribed, and no data event for `feed.stale_after_ms` (since the subscription or the
 * last event). The control block's FEED_STALE word, which the risk checks read, is set while the
 * feed is stale *or* not subscribed (disconnected, backing off, failed).
 */
import { resolve } from "node:path";
import type { FeedContext } from "../../feeds/context.ts";
import { PolygonClient, POLYGON_STATES, type PolygonState } from "./client.ts";
import { FrameWarmer, PolygonPublisher, type PublisherOptions } from "./publisher.ts";
import { FrameRecorder } from "../../feeds/replay/format.ts";
import { W_FEED_STALE } from "../../shm/control.ts";
import { nowNs } from "../../shm/clock.ts";
import { logger } from "../../log.ts";

const log = logger("feed");
function logLine(level: "info" | "warn" | "error", message: string): void {
  log[level](message);
}

export function subscriptionParams(channels: readonly string[], symbols: readonly string[], allSymbols: boolean): string {
  return channels.flatMap((ch) => (allSymbols ? [`${ch}.*`] : symbols.map((s) => `${ch}.${s}`))).join(",");
}

export async function runPolygonFeed(ctx: FeedContext, ready: () => void): Promise<void> {
  const feed = ctx.config.feed;
  const pc = feed.polygon;
  const m = ctx.metrics;
  const g = {
    state: m.gaugeIndex("feed_state"),
    connected: m.gaugeIndex("feed_connected"),
    stale: m.gaugeIndex("feed_stale"),
    lastEvent: m.gaugeIndex("last_event_ns"),
    heartbeat: m.gaugeIndex("heartbeat_ns"),
  };
  const reconnects = m.counterIndex("reconnects");
  const statusCounters = {
    auth_failed: m.counterIndex("status_auth_failed"),
    auth_timeout: m.counterIndex("status_auth_timeout"),
    max_connections: m.counterIndex("status_max_connections"),
    slow_consumer: m.counterIndex("status_slow_consumer"),
    force_disconnect: m.counterIndex("status_force_disconnect"),
    subscribed: m.counterIndex("status_subscribed"),
    other: m.counterIndex("status_other"),
  };
  const recorder = feed.record ? new FrameRecorder(resolve(ctx.configDir, feed.record), pc.url) : null;
  let subscribedAtNs = 0;
  ctx.control.set(W_FEED_STALE, 1); // not subscribed yet

  let client: PolygonClient;
  const publisherOptions: PublisherOptions = {
    allSymbols: pc.all_symbols,
    maxFrameChars: pc.max_frame_bytes,
    badInputLogPerMin: pc.bad_input_log_per_min,
    onStatus: (status, message) => client.handleStatus(status, message),
    log: (msg) => logLine("warn", msg),
  };
  const publisher = new PolygonPublisher(ctx, publisherOptions);
  // Built on the first call (only layout single's driver calls it).
  let warmer: FrameWarmer | null = null;
  ctx.warm = () => (warmer ??= new FrameWarmer(ctx, publisherOptions)).warm();
  client = new PolygonClient(
    {
      url: pc.url,
      apiKey: pc.api_key,
      params: subscriptionParams(pc.channels, ctx.symbols, pc.all_symbols),
      backoff: { initialMs: pc.reconnect.initial_ms, maxMs: pc.reconnect.max_ms, multiplier: pc.reconnect.multiplier, jitter: pc.reconnect.jitter },
      maxConnectionsBackoffMs: pc.max_connections_backoff_ms,
      authTimeoutMs: pc.auth_timeout_ms,
    },
    {
      onFrame: (frame, recvNs) => {
        if (recorder) recorder.write(frame, (performance.timeOrigin + performance.now()) * 1e6);
        publisher.onFrame(frame, recvNs);
      },
      onState: (state: PolygonState) => {
        m.set(g.state, POLYGON_STATES.indexOf(state));
        const subscribed = state === "subscribed";
        m.set(g.connected, subscribed ? 1 : 0);
        if (subscribed) {
          // Fresh until stale_after_ms pass without data (the timer below).
          subscribedAtNs = nowNs();
          ctx.control.set(W_FEED_STALE, 0);
        } else {
          m.set(g.stale, 0);
          ctx.control.set(W_FEED_STALE, 1);
        }
      },
      onStatus: (kind) => m.add(statusCounters[kind], 1),
      onReconnect: () => {
        m.add(reconnects, 1);
        publisher.markReconnect();
      },
      now: nowNs,
      log: (level, message) => logLine(level, message.replace(pc.api_key, "***")),
    },
  );

  client.start();
  ready();
  const staleNs = feed.stale_after_ms * 1e6;
  const tickMs = Math.max(5, Math.min(100, feed.stale_after_ms / 4));
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const now = nowNs();
      m.set(g.heartbeat, now);
      if (ctx.stopRequested()) {
        clearInterval(timer);
        client.stop();
        recorder?.close();
        done();
        return;
      }
      if (client.state !== "subscribed") return;
      const last = Math.max(m.gauge(g.lastEvent), subscribedAtNs);
      const stale = now - last > staleNs;
      // The risk word first, then the gauge: whoever sees the gauge sees the refusal too.
      const refuse = stale ? 1 : 0;
      if (ctx.control.get(W_FEED_STALE) !== refuse) ctx.control.set(W_FEED_STALE, refuse);
      if (stale !== (m.gauge(g.stale) === 1)) {
        m.set(g.stale, stale ? 1 : 0);
        if (stale) logLine("warn", `polygon feed stale: no market data for ${feed.stale_after_ms} ms while subscribed`);
      }
    }, tickMs);
  });
}
