/**
 * The strategy worker (thread layout `split`): runs the strategy stage (`strategy/stage.ts`: the
 * strategy and the pre-trade risk checks between the market-data and exec-event rings and the
 * order ring) on a thread of its own.
 *
 * Loop: one stage turn; when it found nothing, wait with the configured strategy (`spin`,
 * `hybrid`, `block`) on this thread's doorbell, which both of its input rings ring, until the
 * next timer at the latest. Stops once main asked it to and the market-data ring is drained.
 */
import { serveWorker, type WorkerInit } from "./protocol.ts";
import { Doorbell, Waiter } from "../shm/doorbell.ts";
import { StrategyStage } from "../strategy/stage.ts";
import { nowNs } from "../shm/clock.ts";

/** Longest single wait, so the heartbeat is written at least once a second when idle. */
const MAX_WAIT_MS = 500;

export async function runStrategy(init: WorkerInit, ready: () => void): Promise<void> {
  const cfg = init.config;
  const stage = await StrategyStage.create(init);
  const waiter = new Waiter(new Doorbell(init.strategyDoorbell), cfg.threads.strategy.wait, cfg.threads.strategy.spin_us);
  ready();
  for (;;) {
    const worked = stage.turn();
    if (stage.finished()) break;
    if (!worked) waiter.waitFor(stage.hasWork, Math.min(MAX_WAIT_MS, Math.max(0, (stage.nextDueNs() - nowNs()) / 1e6)));
  }
  stage.stop();
}

if (!Bun.isMainThread) serveWorker(runStrategy);
