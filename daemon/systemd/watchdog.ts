/**
 * systemd integration for `Type=notify` units: readiness, status, the watchdog, stopping.
 *
 * Only when `$NOTIFY_SOCKET` is set (started by systemd); otherwise nothing happens. Once the
 * pipeline runs: `READY=1` with `STATUS=trading <state>, <n> events`. Then every watchdog
 * interval (half of `WatchdogSec`, from `$WATCHDOG_USEC`; every 5 s for the status alone when
 * there is no watchdog) a fresh STATUS, with `WATCHDOG=1` only if every worker shows a sign of
 * life (`ProgressCheck`). On stop: `STOPPING=1`.
 *
 * Why not pet the watchdog from a timer alone: the timer runs on the main thread, which stays
 * healthy when a worker thread is wedged (a strategy in an endless loop, a feed stuck in a
 * syscall). Withholding `WATCHDOG=1` for WatchdogSec makes systemd kill and restart the daemon
 * (SIGABRT, then `Restart=on-failure`); a wedged main thread stops the timer and gets the same.
 *
 * A notify failure (no listener, queue full) is logged, not fatal: a missed ping is retried on
 * the next interval. A bad `$NOTIFY_SOCKET` or `$WATCHDOG_USEC` throws from the start.
 */
import type { Pipeline } from "../supervisor.ts";
import type { Logger } from "../log.ts";
import type { MetricsBlock, BlockLayout, GaugeIndex } from "../metrics/block.ts";
import { W_FEED_DONE } from "../shm/control.ts";
import { nowNs } from "../shm/clock.ts";
import { SdNotify, watchdogIntervalMs } from "../../ffi/sdnotify.ts";

/** Status refresh when systemd set no watchdog. */
const STATUS_INTERVAL_MS = 5000;
/**
 * A worker is wedged when neither its heartbeat nor any of its counters moved for 3x its
 * heartbeat period, and never less than 3 s (VM stalls of tens of ms and GC pauses must not
 * look like a wedge).
 */
const PERIODS_BEFORE_WEDGED = 3;
const HEARTBEAT_PERIOD_FLOOR_MS = 1000;

/** One worker as the check sees it: its metrics block and how old its signs of life may get. */
export interface WatchedWorker {
  /** As the log and the STATUS= line name it: "strategy worker", "trading worker (feed stage)". */
  name: string;
  block: MetricsBlock<BlockLayout>;
  limitMs: number;
  /** True once the worker has legitimately finished (a feed that reached `max_events`). */
  finished?: () => boolean;
}

/**
 * Decides whether every worker made progress, from what the workers already write into their
 * metric blocks (read-only here; the workers are the only writers):
 *
 * - `heartbeat_ns`, on the process-wide monotonic clock: execution refreshes it every second,
 *   the strategy on its timer, the feed every 1024 loop turns;
 * - any counter changing between two checks (events, batches, loop turns): a worker whose
 *   heartbeat lags because it is idle or slow still shows it ran.
 *
 * A worker's last sign of life is the newest of its heartbeat, the last check that saw a counter
 * change, and the start of the check; older than its limit means wedged. Before a worker's
 * first heartbeat the start counts, so a starting daemon is not wedged.
 *
 * `check` allocates nothing when every worker is healthy (a reason string otherwise).
 */
export class ProgressCheck {
  readonly #workers: readonly WatchedWorker[];
  readonly #heartbeats: readonly GaugeIndex[];
  readonly #counters: readonly Float64Array[];
  readonly #lastChangeNs: Float64Array;

  constructor(workers: readonly WatchedWorker[], startNs: number) {
    this.#workers = workers;
    this.#heartbeats = workers.map((w) => w.block.gaugeIndex("heartbeat_ns"));
    this.#counters = workers.map((w) => w.block.f64.slice(0, w.block.layout.counters.length));
    this.#lastChangeNs = new Float64Array(workers.length).fill(startNs);
  }

  /** Null when every worker shows a sign of life within its limit; otherwise which do not, and why. */
  check(now: number): string | null {
    let reason: string | null = null;
    for (let k = 0; k < this.#workers.length; k++) {
      const w = this.#workers[k]!;
      if (w.finished?.()) continue;
      const seen = this.#counters[k]!;
      const f64 = w.block.f64;
      let changed = false;
      for (let i = 0; i < seen.length; i++) {
        if (f64[i] !== seen[i]) {
          seen[i] = f64[i]!;
          changed = true;
        }
      }
      if (changed) this.#lastChangeNs[k] = now;
      const lastSign = Math.max(w.block.gauge(this.#heartbeats[k]!), this.#lastChangeNs[k]!);
      const ageMs = (now - lastSign) / 1e6;
      if (ageMs > w.limitMs) {
        const why = `${w.name}: no heartbeat and no counter change for ${(ageMs / 1000).toFixed(1)} s (limit ${(w.limitMs / 1000).toFixed(1)} s)`;
        reason = reason === null ? why : `${reason}; ${why}`;
      }
    }
    return reason;
  }
}

/**
 * The three stages of a pipeline with their limits (the strategy's heartbeat is its timer),
 * named by the worker that runs them: "strategy worker" (layout split) or "trading worker
 * (strategy stage)" (layout single, where a wedged stage wedges all three).
 */
export function watchedWorkers(pipeline: Pipeline): WatchedWorker[] {
  const limit = (periodMs: number) => PERIODS_BEFORE_WEDGED * Math.max(HEARTBEAT_PERIOD_FLOOR_MS, periodMs);
  const name = (stage: string) => (pipeline.layout === "single" ? `trading worker (${stage} stage)` : `${stage} worker`);
  return [
    { name: name("feed"), block: pipeline.feedMetrics, limitMs: limit(1000), finished: () => pipeline.control.get(W_FEED_DONE) !== 0 },
    { name: name("strategy"), block: pipeline.strategyMetrics, limitMs: limit(pipeline.config.strategy.timer_interval_ms) },
    { name: name("execution"), block: pipeline.executionMetrics, limitMs: limit(1000) },
  ];
}

export interface SystemdIntegration {
  /** Sends `STOPPING=1` and closes the socket; call before stopping the pipeline. */
  stop(): void;
}

/**
 * Call once `pipeline.start()` has resolved. Returns a no-op when not run by systemd.
 *
 * @example
 * await pipeline.start();
 * const systemd = startSystemdIntegration(pipeline, log);
 * // ... until a signal
 * systemd.stop();
 * await pipeline.stop();
 */
export function startSystemdIntegration(pipeline: Pipeline, log: Logger, env: Record<string, string | undefined> = process.env): SystemdIntegration {
  const notify = SdNotify.fromEnv(env);
  if (notify === null) return { stop() {} };
  const intervalMs = watchdogIntervalMs(env);
  const progress = new ProgressCheck(watchedWorkers(pipeline), nowNs());
  const feed = pipeline.feedMetrics;
  const quotes = feed.counterIndex("md_quotes");
  const trades = feed.counterIndex("md_trades");
  const status = () => `STATUS=trading ${pipeline.tradingStateName()}, ${feed.counter(quotes) + feed.counter(trades)} events`;

  try {
    notify.send(`READY=1\n${status()}`);
  } catch (e) {
    notify.close();
    throw e;
  }
  log.info("systemd notified: ready", { notify_socket: notify.address, watchdog_interval_ms: intervalMs ?? "none" });

  let withheld: string | null = null;
  let sendFailed = false;
  const tick = () => {
    let message: string;
    if (intervalMs === null) message = status();
    else {
      const reason = pipeline.isReady() ? progress.check(nowNs()) : "the pipeline is not ready";
      if (reason === null) {
        if (withheld !== null) log.info("every worker makes progress again: watchdog pings resumed");
        message = `WATCHDOG=1\n${status()}`;
      } else {
        if (withheld === null) log.error(`watchdog ping withheld (systemd restarts tradingd after WatchdogSec): ${reason}`);
        message = `STATUS=watchdog withheld: ${reason}`;
      }
      withheld = reason;
    }
    try {
      notify.send(message);
      sendFailed = false;
    } catch (e) {
      if (!sendFailed) log.warn(`sd_notify failed (retried every interval): ${(e as Error).message}`);
      sendFailed = true;
    }
  };
  const timer = setInterval(tick, intervalMs ?? STATUS_INTERVAL_MS);
  timer.unref();

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      try {
        notify.send("STOPPING=1\nSTATUS=stopping: draining the rings");
      } catch (e) {
        log.warn(`sd_notify STOPPING=1 failed: ${(e as Error).message}`);
      }
      notify.close();
    },
  };
}
