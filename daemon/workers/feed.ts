/**
 * The feed worker: produces market data into the market-data ring, one publish per batch (per
 * WebSocket frame for a real feed), and keeps the shared quote book current. Which feed is
 * `feed.kind`: `synthetic` (a synchronous paced loop), `polygon` (event-driven, on this worker's
 * event loop), `replay` (a recorded file through the polygon frame path).
 */
import { serveWorker, type WorkerInit } from "./protocol.ts";
import { feedContext } from "../feeds/context.ts";
import { runSyntheticFeed } from "../feeds/synthetic/run.ts";
import { runPolygonFeed } from "../gateways/polygon/run.ts";
import { runReplayFeed } from "../feeds/replay/run.ts";

export async function runFeed(init: WorkerInit, ready: () => void): Promise<void> {
  const ctx = feedContext(init);
  switch (init.config.feed.kind) {
    case "synthetic":
      return runSyntheticFeed(ctx, ready);
    case "polygon":
      return runPolygonFeed(ctx, ready);
    case "replay":
      return runReplayFeed(ctx, ready);
  }
}

if (!Bun.isMainThread) serveWorker(runFeed);
