/**
 * Lifecycle messages between main and the workers (rare: start, ready, stopped, errors).
 * Never used per tick: hot-path traffic moves only through the rings.
 *
 * main → worker: one `WorkerInit` message. The worker sets up, posts `ready`, runs its loop
 * until its stop word in the control block is set, posts `stopped` (for each stage it runs), and
 * returns. A worker
 * cannot take messages while it runs (its loop owns the thread), which is why stopping is a
 * control-block word and not a message.
 */
import type { Config } from "../config/schema.ts";
import type { TuneAction } from "../tuning/action.ts";
import type { ThreadAssignment } from "../tuning/threads.ts";
import { applyThreadTuning } from "../tuning/apply-thread.ts";
import { configureLog } from "../log.ts";
import { gettid, schedGetcpu } from "../../ffi/libc.ts";

export type WorkerRole = "feed" | "strategy" | "execution";

export interface WorkerInit {
  type: "init";
  /** The thread's name in the tuning plan (layout `single`: "strategy", its stages all three). */
  role: WorkerRole;
  /** The stages this thread runs: its role (layout `split`), or all three (layout `single`). */
  stages: WorkerRole[];
  config: Config;
  /** Directory the config file was in (relative paths in it are resolved against it). */
  configDir: string;
  symbols: string[];
  control: SharedArrayBuffer;
  mdRing: SharedArrayBuffer;
  orderRing: SharedArrayBuffer;
  execRing: SharedArrayBuffer;
  strategyDoorbell: SharedArrayBuffer;
  executionDoorbell: SharedArrayBuffer;
  quoteBook: SharedArrayBuffer;
  ordersTable: SharedArrayBuffer;
  positionsTable: SharedArrayBuffer;
  orderCapacity: number;
  /** The risk limits in force (`risk/limits-block.ts`): main writes, the strategy worker reads. */
  riskLimits: SharedArrayBuffer;
  /** Each stage's metric block; a stage writes only its own, from the thread that runs it. */
  metrics: Record<WorkerRole, SharedArrayBuffer>;
  /** This thread's part of the tuning plan (null: --no-tune). Applied by the worker on itself. */
  tuning: { assignment: ThreadAssignment; numaNode: number | null } | null;
}

export type WorkerMessage =
  | { type: "ready"; role: WorkerRole; tid: number; cpu: number; tuning: TuneAction[] }
  /** A stage has stopped (a thread running several stages reports each as it stops). */
  | { type: "stopped"; role: WorkerRole }
  | { type: "fatal"; role: WorkerRole; message: string; stack: string }
  | { type: "strategy-error"; message: string; stack: string; callback: string }
  /** Risk set TRADING to HALTED (`reason`: a RISK_REASON_NAMES entry, e.g. daily_loss). */
  | { type: "risk-halt"; reason: string; pnl: number; limit: number };

/** Runs a worker body on the init message, reporting ready / stopped / fatal to main. */
export function serveWorker(run: (init: WorkerInit, ready: () => void) => void | Promise<void>): void {
  const scope = globalThis as unknown as Worker;
  scope.onmessage = async (ev: MessageEvent<WorkerInit>) => {
    const init = ev.data;
    if (init?.type !== "init") return;
    // Each worker is its own JS realm: the log's level and format must be set here too.
    configureLog(init.config.log.level, init.config.log.format);
    try {
      // Pinning and scheduling policy are per thread: the worker applies them to itself, first.
      const tuning = init.tuning ? applyThreadTuning(init.role, init.tuning.assignment, init.tuning.numaNode) : [];
      await run(init, () => {
        postMessage({ type: "ready", role: init.role, tid: gettid(), cpu: schedGetcpu(), tuning } satisfies WorkerMessage);
      });
      for (const role of init.stages) postMessage({ type: "stopped", role } satisfies WorkerMessage);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      postMessage({ type: "fatal", role: init.role, message: e.message, stack: e.stack ?? "" } satisfies WorkerMessage);
    }
  };
}
