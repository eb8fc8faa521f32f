/**
 * The execution worker (thread layout `split`): runs the execution stage on a thread of its
 * own: the simulated broker (`gateways/sim/stage.ts`) or Alpaca (`gateways/alpaca/run.ts`).
 *
 * Loop: one stage turn; when it took no order, wait (the configured strategy for a synchronous
 * stage, the event loop for an event-driven one) on this thread's doorbell until the next order,
 * an operator request, or the stage's next due time. Stopping: after STOP_EXECUTION it drains
 * the order ring, lets what is pending come due, and exits.
 */
import { serveWorker, type WorkerInit } from "./protocol.ts";
import { Doorbell, Waiter } from "../shm/doorbell.ts";
import { SimExecution } from "../gateways/sim/stage.ts";
import { AlpacaExecution } from "../gateways/alpaca/run.ts";
import type { ExecutionStage } from "../gateways/execution.ts";
import { nowNs } from "../shm/clock.ts";

const MAX_WAIT_MS = 250;

export async function runExecution(init: WorkerInit, ready: () => void): Promise<void> {
  const cfg = init.config;
  const doorbell = new Doorbell(init.executionDoorbell);
  let stage: ExecutionStage;
  if (cfg.broker.kind === "alpaca") {
    const alpaca = AlpacaExecution.open(init);
    ready();
    await alpaca.connect();
    stage = alpaca;
  } else {
    stage = new SimExecution(init);
    ready();
  }
  const waiter = new Waiter(doorbell, cfg.threads.execution.wait, cfg.threads.execution.spin_us);
  try {
    for (;;) {
      const worked = stage.turn();
      if (stage.finished()) break;
      if (worked) {
        // Let the requests just started go out before taking more.
        if (stage.eventDriven) await Promise.resolve();
        continue;
      }
      const due = stage.nextDueNs();
      const waitMs = due === Number.POSITIVE_INFINITY ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, Math.max(0, (due - nowNs()) / 1e6));
      if (!stage.eventDriven) waiter.waitFor(stage.hasWork, waitMs);
      else {
        const seq = doorbell.prepareSleep();
        if (stage.hasWork()) doorbell.cancelSleep();
        else await doorbell.sleepAsync(seq, waitMs);
      }
    }
  } finally {
    stage.close();
  }
}

if (!Bun.isMainThread) serveWorker(runExecution);
