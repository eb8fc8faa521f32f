/**
 * The single trading thread (thread layout `single`): the feed, strategy and execution stages
 * on ONE thread, so a tick goes from the socket to the order request without a thread hop.
 *
 * Why: at the rates of a real session every thread on the order path is idle between ticks, and
 * each hop from one thread to the next pays a wake-up (~10 µs on an idle vCPU here, far more
 * when the CPU is busy). On a host with few cores the split layout's three hot threads also
 * compete for CPUs with the fakes, the OS and each other. BENCHMARKS.md ("Comparison") has the
 * figures that made this the layout for small hosts.
 *
 * The stages keep their rings (same code as the split layout, one thread as producer and
 * consumer of each), and run in order in each turn: feed → strategy → execution. A ring that
 * fills cannot be waited on (the wait would wait for this thread): the market-data ring then runs
 * the strategy, the exec-event ring runs the strategy's exec-event drain, and the order ring
 * refuses the order (`order_ring_full`), so a stage never calls back into one that called it.
 *
 * Two drivers:
 * - event-driven, when a stage needs the event loop (`polygon` feed or `alpaca` broker): a
 *   polygon frame runs the strategy and execution stages right after it is published, on the
 *   socket's own callback; between turns the thread waits with `Atomics.waitAsync` on its
 *   doorbell (the rings' publishes and main's requests ring it) or for the next due time, and
 *   the event loop runs meanwhile;
 * - synchronous otherwise (`synthetic` or `replay` with `sim`): a loop that waits with the
 *   strategy's configured wait (`threads.strategy.wait`) until the next due time (the feed's
 *   next event, the strategy's timer, the broker's next ack or fill).
 *
 * Stopping follows the split layout's order and messages: STOP_FEED stops the feed stage
 * (`stopped` feed), STOP_STRATEGY stops the strategy once the market-data ring is drained
 * (`stopped` strategy), STOP_EXECUTION ends the thread once execution is finished.
 */
import { serveWorker, type WorkerInit, type WorkerMessage } from "./protocol.ts";
import { Doorbell, Waiter } from "../shm/doorbell.ts";
import { feedContext } from "../feeds/context.ts";
import { SyntheticSource } from "../feeds/synthetic/run.ts";
import { ReplaySource } from "../feeds/replay/run.ts";
import type { PacedSource } from "../feeds/source.ts";
import { runPolygonFeed } from "../gateways/polygon/run.ts";
import { StrategyStage } from "../strategy/stage.ts";
import { SimExecution } from "../gateways/sim/stage.ts";
import { AlpacaExecution } from "../gateways/alpaca/run.ts";
import type { ExecutionStage } from "../gateways/execution.ts";
import { nowNs } from "../shm/clock.ts";

/** Longest single wait, so heartbeats and stop requests are seen when idle. */
const MAX_WAIT_MS = 100;
/** Wake this long before a due time (the sleep's own lateness). */
const EARLY_NS = 10_000;
/** Continuous work on the event-driven driver yields to the event loop at least this often. */
const YIELD_EVERY_NS = 1_000_000;

export async function runSingle(init: WorkerInit, ready: () => void): Promise<void> {
  const cfg = init.config;
  // Both doorbells are this one in this layout (the supervisor passes the same buffer).
  const doorbell = new Doorbell(init.strategyDoorbell);
  const ctx = feedContext(init);
  const strategy = await StrategyStage.create(init);
  const alpaca = cfg.broker.kind === "alpaca" ? AlpacaExecution.open(init) : null;
  const execution: ExecutionStage = alpaca ?? new SimExecution(init);
  const source: PacedSource | null = cfg.feed.kind === "synthetic" ? new SyntheticSource(ctx) : cfg.feed.kind === "replay" ? new ReplaySource(ctx) : null;

  // Same-thread rings: a full ring runs its consumer instead of waiting for it (module doc).
  // The market-data and order rings ring no doorbell: their consumer runs right after each
  // publish, on this thread (a ring would cost the first frame after an idle spell a wake-up
  // call before its decision). The exec-event ring keeps it: alpaca's events come from socket
  // callbacks and must wake the loop that hands them to the strategy.
  ctx.ring.attachDoorbell(null);
  strategy.orders.attachDoorbell(null);
  ctx.ring.consumerOnThisThread(() => strategy.turn());
  strategy.orders.consumerOnThisThread(null);
  execution.execRing.consumerOnThisThread(() => strategy.engine.drainExecEvents());

  let feedRunning = true;
  let strategyRunning = true;
  const stopped = (role: "feed" | "strategy") => postMessage({ type: "stopped", role } satisfies WorkerMessage);
  const stopFeed = () => {
    feedRunning = false;
    source?.done();
    stopped("feed");
  };
  /** Strategy then execution; returns whether either did anything. */
  const stages = (): boolean => {
    let worked = false;
    if (strategyRunning) {
      worked = strategy.turn();
      if (strategy.finished()) {
        strategyRunning = false;
        strategy.stop();
        // No strategy to hand exec events to any more: a full ring now drops them (as split does).
        execution.execRing.consumerOnThisThread(null);
        stopped("strategy");
      }
    }
    return execution.turn() || worked;
  };
  const dueNs = (): number => {
    let due = execution.nextDueNs();
    if (strategyRunning && strategy.nextDueNs() < due) due = strategy.nextDueNs();
    if (feedRunning && source !== null && source.nextDueNs() < due) due = source.nextDueNs();
    return due;
  };
  const feedDue = () => feedRunning && source !== null && (ctx.stopRequested() || source.nextDueNs() <= nowNs());
  const hasWork = () => feedDue() || (strategyRunning && strategy.hasWork()) || execution.hasWork();
  const waitMs = (now: number) => Math.min(MAX_WAIT_MS, Math.max(0, (dueNs() - now - EARLY_NS) / 1e6));

  let workerFailure: unknown = null;
  if (source === null) {
    // polygon: frames arrive on this thread's event loop; each runs the stages on its own turn.
    ctx.onPublished = () => void stages();
    runPolygonFeed(ctx, () => {}).then(stopFeed, (e: unknown) => (workerFailure = e ?? new Error("the polygon feed failed")));
  }
  ready();
  // Alpaca connects and reconciles while the loop runs (its turn takes no order before that),
  // so stop requests and the feed are served meanwhile; a failure fails the thread.
  alpaca?.connect().catch((e: unknown) => (workerFailure = e ?? new Error("the broker connection failed")));
  source?.begin();

  const turn = (): boolean => {
    const now = nowNs();
    let worked = false;
    if (feedRunning && source !== null) {
      if (ctx.stopRequested() || source.exhausted()) stopFeed();
      else worked = source.turn(now);
    }
    return stages() || worked;
  };

  try {
    if (source !== null && !execution.eventDriven) {
      const waiter = new Waiter(doorbell, cfg.threads.strategy.wait, cfg.threads.strategy.spin_us);
      for (;;) {
        const worked = turn();
        if (execution.finished() && !strategyRunning) break;
        if (!worked) waiter.waitFor(hasWork, waitMs(nowNs()));
      }
    } else {
      let busySince = nowNs();
      for (;;) {
        if (workerFailure !== null) throw workerFailure; // the polygon feed or the broker's start
        const worked = turn();
        if (execution.finished() && !strategyRunning) break;
        const now = nowNs();
        if (worked) {
          if (now - busySince >= YIELD_EVERY_NS) {
            // Let sockets and timers run (answers, trade updates, frames) before going on.
            await new Promise<void>((r) => setImmediate(r));
            busySince = nowNs();
          }
          continue;
        }
        const seq = doorbell.prepareSleep();
        if (hasWork()) doorbell.cancelSleep();
        else await doorbell.sleepAsync(seq, waitMs(now));
        busySince = nowNs();
      }
    }
  } finally {
    execution.close();
  }
}

if (!Bun.isMainThread) serveWorker(runSingle);
