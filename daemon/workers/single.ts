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
 *   socket's own callback. When idle the thread waits as `threads.strategy.wait` says: `block`
 *   sleeps at once with `Atomics.waitAsync` on its doorbell (the rings' publishes and main's
 *   requests ring it) or until the next due time, the event loop running meanwhile; `spin` never
 *   sleeps: it turns its event loop every few microseconds (`setImmediate`), so the thread and its
 *   CPU are awake when a frame comes (a woken thread runs its first microseconds 10-20x slower
 *   on these VMs; BENCHMARKS.md, "Comparison"); `hybrid` (the default) polls like `spin` for
 *   `spin_us` after its last work, then sleeps like `block`. Keep-warm (`threads.keep_warm_us`,
 *   default 1 ms): once idle that long, and then as often while idle, the thread runs a canned
 *   quote through its stages' own code on scratch state (`warm()` of each stage: nothing is sent,
 *   journaled or published), so that code is still in the CPU's caches when the next real quote
 *   comes; a sleeping thread wakes for it. It stops once stopping starts;
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
import { logger } from "../log.ts";

const log = logger("single");

/** Longest single wait, so heartbeats and stop requests are seen when idle. */
const MAX_WAIT_MS = 100;
/** Wake this long before a due time (the sleep's own lateness). */
const EARLY_NS = 10_000;
/** Continuous work on the event-driven driver yields to the event loop at least this often. */
const YIELD_EVERY_NS = 1_000_000;
/**
 * A polling thread (wait `spin`, or `hybrid` within spin_us of its last work) turns its event
 * loop about this often. Each turn allocates an Immediate (~80 bytes); an empty `setImmediate`
 * loop turns ~1.5 M times a second here and collects ~15 times a second. With 5 µs between
 * turns the trading thread collected 13 times in a 6-second compare.bench run instead of 30; a
 * frame waits at most that long for its turn.
 */
const POLL_GAP_NS = 5_000;
/**
 * The startup warm-up of the frame and order code runs at most this many times (~2.5 µs each
 * here: ~0.25 s), whatever `strategy.warmup_events` asks (up to 10 M for the strategy), so it
 * stays well inside the supervisor's ready timeout; the JIT has long compiled the code by then.
 */
const WARMUP_FRAME_ORDER_MAX = 100_000;

export async function runSingle(init: WorkerInit, ready: () => void): Promise<void> {
  const cfg = init.config;
  // Both doorbells are this one in this layout (the supervisor passes the same buffer).
  const doorbell = new Doorbell(init.strategyDoorbell);
  const ctx = feedContext(init);
  // Keep-warm (threads.keep_warm_us): only the event-driven driver idles between real events.
  // The strategy's part is its warm-up instance (none with strategy.warmup_events 0).
  const eventDriven = cfg.feed.kind === "polygon" || cfg.broker.kind === "alpaca";
  const keepWarmNs = eventDriven ? cfg.threads.keep_warm_us * 1000 : 0;
  const strategy = await StrategyStage.create(init, keepWarmNs > 0);
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
    ctx.onPublished = () => {
      stages();
      // A driver asleep (waitAsync) wakes: `hybrid` polls again after this work, and a due time
      // this work created (an ack, a timer) is waited for, not the one computed before the sleep.
      doorbell.ring();
    };
    runPolygonFeed(ctx, () => {}).then(stopFeed, (e: unknown) => {
      workerFailure = e ?? new Error("the polygon feed failed");
      doorbell.ring();
    });
  }
  // Warm-up before ready (the strategy's ran in StrategyStage.create): the frame and order code
  // runs warmup_events times (at most WARMUP_FRAME_ORDER_MAX) on scratch state, as keep-warm
  // runs it, so the JIT has compiled it before the first real quote (not only the strategy's part).
  if (eventDriven && cfg.strategy.warmup_events > 0) {
    const started = performance.now();
    const n = Math.min(cfg.strategy.warmup_events, WARMUP_FRAME_ORDER_MAX);
    try {
      for (let k = 0; k < n; k++) {
        ctx.warm?.();
        execution.warm?.();
      }
      log.info(`warm-up ran the frame and order code ${n} times in ${(performance.now() - started).toFixed(0)} ms`);
    } catch (e) {
      log.warn(`warm-up of the frame and order code failed (trading goes on, colder): ${(e as Error)?.message ?? String(e)}`);
    }
  }
  ready();
  // Alpaca connects and reconciles while the loop runs (its turn takes no order before that),
  // so stop requests and the feed are served meanwhile; a failure fails the thread.
  alpaca?.connect().catch((e: unknown) => {
    workerFailure = e ?? new Error("the broker connection failed");
    doorbell.ring(); // seen now, not at the end of the current sleep
  });
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

  // Keep-warm: each stage runs its own hot code on scratch input (nothing live is touched). It
  // ends once stopping starts; a failure turns it off for the run (logged): keeping warm must
  // never stop trading.
  const warm = (): boolean => {
    if (!strategyRunning || ctx.stopRequested()) return false;
    try {
      const t0 = nowNs();
      ctx.warm?.();
      strategy.warm();
      execution.warm?.();
      strategy.countKeepWarm(nowNs() - t0);
      return true;
    } catch (e) {
      log.warn(`keep-warm failed and is off for this run: ${(e as Error)?.message ?? String(e)}`);
      return false;
    }
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
      const w = cfg.threads.strategy;
      await driveOnEventLoop({
        turn,
        finished: () => execution.finished() && !strategyRunning,
        failure: () => workerFailure,
        hasWork,
        doorbell,
        waitMs,
        // The strategy's last drain (a frame's, on its callback, included): `hybrid` polls the
        // event loop spin_us after it.
        lastWorkNs: () => strategy.engine.runtime.tickConsumedNs,
        warm,
        warmEveryNs: keepWarmNs,
        pollNs: w.wait === "spin" ? Infinity : w.wait === "hybrid" ? w.spin_us * 1000 : 0,
      });
    }
  } finally {
    execution.close();
  }
}

export interface EventLoopDriver {
  /** One turn of every stage; whether it did anything. */
  turn(): boolean;
  finished(): boolean;
  /** A failure of a stage's own async work (the feed, the broker's start), or null. */
  failure(): unknown;
  hasWork(): boolean;
  doorbell: Doorbell;
  waitMs(nowNs: number): number;
  /** When a frame's callback last did work (turns are counted by the driver). */
  lastWorkNs(): number;
  /**
   * Keep-warm: runs the stages' hot code on scratch input; called once the thread has been idle
   * `warmEveryNs` (and then every `warmEveryNs` while it stays idle), never while work waits.
   * Returns whether to go on (false: nothing left to warm; the driver stops waking for it).
   */
  warm(): boolean;
  /** 0: never. */
  warmEveryNs: number;
  /** How long after the last work to poll the event loop before sleeping (spin: Infinity). */
  pollNs: number;
}

/**
 * The event-driven driver: turns until idle, then either polls the event loop (`setImmediate`:
 * sockets and timers run, the thread and its vCPU stay awake; `spin`, and `hybrid` for spin_us
 * after the last work) or sleeps on the doorbell (`Atomics.waitAsync`) until rung or due.
 * Written with callbacks, not `await` in a loop, so a poll allocates one Immediate and no
 * promise (an `await` per poll allocated a promise and its reactions ~200,000 times a second).
 */
export function driveOnEventLoop(d: EventLoopDriver): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let busySince = nowNs();
    let lastWork = nowNs();
    // Keep-warm: due warmEveryNs after the later of the last warm and the last work, so it runs
    // only in idle time; never while work waits; off for good once `warm()` says so.
    let warmOn = d.warmEveryNs > 0;
    let lastWarm = nowNs();
    const nextWarm = (): number => Math.max(lastWarm, lastWork, d.lastWorkNs()) + d.warmEveryNs;
    /** Warms if due and nothing waits; returns the clock after it (`now` when it did not warm). */
    const maybeWarm = (now: number): number => {
      if (!warmOn || now < nextWarm() || d.hasWork()) return now;
      warmOn = d.warm();
      lastWarm = nowNs();
      return lastWarm;
    };
    const step = (): void => {
      try {
        for (;;) {
          const failure = d.failure();
          if (failure !== null) throw failure;
          const worked = d.turn();
          if (d.finished()) return resolve();
          const now = nowNs();
          if (worked) {
            lastWork = now;
            if (now - busySince >= YIELD_EVERY_NS) {
              // Let sockets and timers run (answers, trade updates, frames) before going on.
              busySince = now;
              setImmediate(step);
              return;
            }
            continue;
          }
          if (now - Math.max(lastWork, d.lastWorkNs()) < d.pollNs) {
            // Poll: first a short busy-wait that allocates nothing (the rings and the doorbell
            // are still seen), then one turn of the event loop for the sockets.
            const until = now + POLL_GAP_NS;
            while (nowNs() < until && !d.hasWork()) Atomics.pause();
            maybeWarm(nowNs());
            busySince = now;
            setImmediate(step);
            return;
          }
          const t = maybeWarm(now);
          const sleepSeq = d.doorbell.prepareSleep();
          if (d.hasWork()) {
            // Work the turn did not take (it waits for the event loop: a request that comes
            // only after the broker's reconciliation, an ack due in microseconds): let the loop
            // run, then turn again. `continue` here never gave the loop a turn (a hang).
            d.doorbell.cancelSleep();
            busySince = now;
            setImmediate(step);
            return;
          }
          // Keep-warm: wake for the next warm at the latest.
          const waitMs = warmOn ? Math.min(d.waitMs(t), Math.max(0, (nextWarm() - t) / 1e6)) : d.waitMs(t);
          d.doorbell.sleepAsync(sleepSeq, waitMs).then(woke, reject);
          return;
        }
      } catch (e) {
        reject(e);
      }
    };
    const woke = (): void => {
      busySince = nowNs();
      step();
    };
    step();
  });
}

if (!Bun.isMainThread) serveWorker(runSingle);
