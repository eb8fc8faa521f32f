/**
 * The supervisor (main thread): builds the shared memory, starts the workers, watches them,
 * and stops them in order.
 *
 * Thread layout (`threads.layout`, resolved by `resolveLayout`): `split` runs the feed, strategy
 * and execution stages on three workers; `single` runs all three on one worker
 * (`workers/single.ts`), which then owns both doorbells (one buffer). The rest of this file
 * speaks of stages: a stage is ready, stopped or failed with the worker that runs it.
 *
 * Start: execution, then strategy, then feed (consumers before producers), each reporting
 * `ready`. Stop (SIGINT/SIGTERM, or a worker failure): the feed first, then the strategy once it
 * has drained the market-data ring, then the execution stage once it has drained the order
 * ring; each step bounded, the whole within `stopDeadlineMs`, after which the workers are
 * terminated. A worker that dies is reported with its error and the daemon exits non-zero
 * (systemd restarts it); it never keeps running half-dead. A user strategy that throws halts
 * trading but keeps the daemon up.
 */
import { dirname } from "node:path";
import { RiskConfig, type Config } from "./config/schema.ts";
import { RiskLimitsBlock } from "./risk/limits-block.ts";
import { SpscRing } from "./shm/ring.ts";
import { Doorbell } from "./shm/doorbell.ts";
import { ControlBlock, TradingState, W_BROKER_READY, W_CANCEL_ALL_ACK, W_CANCEL_ALL_SEQ, W_FLATTEN_ACK, W_FLATTEN_SEQ, W_STOP_EXECUTION, W_STOP_FEED, W_STOP_STRATEGY, W_TRADING, W_RISK_HALT, TRADING_STATE_NAMES } from "./shm/control.ts";
import { QuoteBook } from "./shm/quote-book.ts";
import { OrderTable } from "./shm/order-table.ts";
import { MetricsBlock } from "./metrics/block.ts";
import { FeedMetrics, StrategyMetrics, ExecutionMetrics } from "./metrics/layouts.ts";
import type { WorkerInit, WorkerMessage, WorkerRole } from "./workers/protocol.ts";
import { logger } from "./log.ts";
import { gettid, schedGetaffinity, schedGetcpu } from "../ffi/libc.ts";
import type { ThreadPlan } from "./tuning/threads.ts";
import { resolveLayout, type ThreadLayout } from "./tuning/layout.ts";
import type { TuneAction } from "./tuning/action.ts";

const log = logger("supervisor");
/** Indexes of the feed_state gauge (the polygon client's states). */
export const FEED_STATE_NAMES = ["idle", "connecting", "authenticating", "subscribed", "backoff", "failed", "stopped"] as const;
const ORDER_CAPACITY = 1 << 16;

export interface ThreadInfo {
  name: WorkerRole | "main";
  tid: number;
  cpu: number;
  ready: boolean;
}

export interface PipelineOptions {
  /** Directory relative paths in the config are resolved against. */
  configDir?: string;
  readyTimeoutMs?: number;
  stopDeadlineMs?: number;
  /** The tuner's thread plan: each worker pins itself and sets its policy before it is ready. */
  threadPlan?: ThreadPlan | null;
  numaNode?: number | null;
}

/** Risk halted trading by itself (the daily loss limit), as the strategy worker reported it. */
export interface RiskHalt {
  /** A RISK_REASON_NAMES entry: daily_loss. */
  reason: string;
  /** P&L of the day when it halted, USD. */
  pnl: number;
  /** The limit it crossed, USD. */
  limit: number;
  atMs: number;
}

export interface StrategyFailure {
  message: string;
  stack: string;
  callback: string;
  atMs: number;
}

const WORKER_URLS: Record<WorkerRole | "single", URL> = {
  feed: new URL("./workers/feed.ts", import.meta.url),
  strategy: new URL("./workers/strategy.ts", import.meta.url),
  execution: new URL("./workers/execution.ts", import.meta.url),
  single: new URL("./workers/single.ts", import.meta.url),
};
const STAGES: readonly WorkerRole[] = ["feed", "strategy", "execution"];

export class Pipeline {
  readonly config: Config;
  readonly symbols: readonly string[];
  readonly control = new ControlBlock();
  readonly md: SpscRing;
  readonly orders: SpscRing;
  readonly exec: SpscRing;
  /** `threads.layout` as resolved for this host: `split` or `single`. */
  readonly layout: ThreadLayout;
  readonly strategyDoorbell = Doorbell.create();
  /** The strategy's doorbell itself in layout `single` (one thread, one doorbell). */
  readonly executionDoorbell: Doorbell;
  readonly book: QuoteBook;
  readonly table: OrderTable;
  /** The risk limits in force: main writes (`setRiskLimits`), the strategy worker reads. */
  readonly riskLimitsBlock: RiskLimitsBlock;
  readonly feedMetrics = MetricsBlock.create(FeedMetrics);
  readonly strategyMetrics = MetricsBlock.create(StrategyMetrics);
  readonly executionMetrics = MetricsBlock.create(ExecutionMetrics);
  readonly startedAtMs = Date.now();
  readonly threads: ThreadInfo[];
  strategyFailure: StrategyFailure | null = null;
  /** Set when risk halted trading (the last time); cleared by nothing (a record for /status). */
  riskHalt: RiskHalt | null = null;
  /** Set when a worker failed: the daemon must exit non-zero. */
  failure: Error | null = null;
  stopping = false;
  /** What each worker's own tuning did (pinning, policy, NUMA), as the workers reported it. */
  readonly threadTuning: TuneAction[] = [];
  /** The whole tuning report (host, process, threads, advice), for /status and /metrics. */
  readonly tuning: TuneAction[] = [];
  /** Whether the tuner planned this run (false with --no-tune). */
  get threadPlanned(): boolean {
    return this.#threadPlan !== null;
  }
  readonly #workers = new Map<WorkerRole, Worker>();
  readonly #stopped = new Map<WorkerRole, PromiseWithResolvers<void>>();
  readonly #options: Required<Omit<PipelineOptions, "threadPlan" | "numaNode">>;
  readonly #threadPlan: ThreadPlan | null;
  readonly #numaNode: number | null;
  readonly #failed = Promise.withResolvers<Error>();

  constructor(config: Config, options: PipelineOptions = {}) {
    this.config = config;
    this.symbols = Object.freeze([...config.symbols]);
    this.#options = { configDir: options.configDir ?? process.cwd(), readyTimeoutMs: options.readyTimeoutMs ?? 15_000, stopDeadlineMs: options.stopDeadlineMs ?? 1_800 };
    this.#threadPlan = options.threadPlan ?? null;
    this.riskLimitsBlock = RiskLimitsBlock.create(config.risk);
    this.#numaNode = options.numaNode ?? null;
    this.layout = options.threadPlan?.layout ?? resolveLayout(config, schedGetaffinity(0)).layout;
    this.executionDoorbell = this.layout === "single" ? this.strategyDoorbell : Doorbell.create();
    this.md = SpscRing.create(config.rings.market_data.slots);
    this.orders = SpscRing.create(config.rings.orders.slots);
    this.exec = SpscRing.create(config.rings.exec_events.slots);
    this.book = QuoteBook.create(this.symbols.length);
    this.table = OrderTable.create(ORDER_CAPACITY, this.symbols.length);
    this.threads = [
      { name: "main", tid: gettid(), cpu: schedGetcpu(), ready: true },
      { name: "feed", tid: 0, cpu: -1, ready: false },
      { name: "strategy", tid: 0, cpu: -1, ready: false },
      { name: "execution", tid: 0, cpu: -1, ready: false },
    ];
  }

  /** Resolves with the error of the first worker that fails (never resolves otherwise). */
  get failed(): Promise<Error> {
    return this.#failed.promise;
  }

  isReady(): boolean {
    return !this.stopping && this.failure === null && this.threads.every((t) => t.ready);
  }

  /** Why no order may go out now on the broker's side (not reconciled yet), or null. */
  brokerProblem(): string | null {
    if (!this.threads.find((t) => t.name === "execution")?.ready) return null;
    return Atomics.load(this.control.words, W_BROKER_READY) === 1 ? null : "broker not reconciled yet (see the log)";
  }

  /** Why the feed cannot be traded on now (disconnected, stale, failed), or null. */
  feedProblem(): string | null {
    const g = this.feedMetrics.f64;
    const idx = (name: "feed_connected" | "feed_stale" | "feed_state" | "last_event_ns") => this.feedMetrics.gaugeIndex(name);
    if (!this.threads.find((t) => t.name === "feed")?.ready) return null;
    const state = FEED_STATE_NAMES[g[idx("feed_state")]!] ?? "unknown";
    if (state === "failed") return "feed failed (see the log: the server refused the API key)";
    if (g[idx("feed_connected")] !== 1) return `feed not connected (${state})`;
    if (g[idx("feed_stale")] === 1) return `feed stale: no market data for ${this.config.feed.stale_after_ms} ms or more`;
    return null;
  }

  async start(): Promise<void> {
    if (this.layout === "single") await this.#spawn("single", "strategy", STAGES);
    else for (const role of ["execution", "strategy", "feed"] as const) await this.#spawn(role, role, [role]);
    log.info("pipeline running", { symbols: this.symbols.length, strategy: this.config.strategy.name, feed: this.config.feed.kind, broker: this.config.broker.kind, layout: this.layout });
  }

  /**
   * Starts one worker: `entry` is its file, `role` its name in the tuning plan, `stages` the
   * stages it runs (each marked ready with it, each stopped as it reports).
   */
  #spawn(entry: keyof typeof WORKER_URLS, role: WorkerRole, stages: readonly WorkerRole[]): Promise<void> {
    const name = entry === "single" ? "trading" : role;
    const worker = new Worker(WORKER_URLS[entry]);
    for (const st of stages) {
      this.#workers.set(st, worker);
      this.#stopped.set(st, Promise.withResolvers<void>());
    }
    const ready = Promise.withResolvers<void>();
    const timer = setTimeout(() => ready.reject(new Error(`${name} worker did not report ready within ${this.#options.readyTimeoutMs} ms`)), this.#options.readyTimeoutMs);
    worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      const msg = ev.data;
      switch (msg.type) {
        case "ready": {
          for (const t of this.threads) {
            if (!stages.includes(t.name as WorkerRole)) continue;
            t.tid = msg.tid;
            t.cpu = msg.cpu;
            t.ready = true;
          }
          this.threadTuning.push(...msg.tuning);
          log.info(`${name} worker ready`, { tid: msg.tid, cpu: msg.cpu, ...(stages.length > 1 ? { stages: stages.join(",") } : {}) });
          clearTimeout(timer);
          ready.resolve();
          break;
        }
        case "stopped":
          this.#stopped.get(msg.role)?.resolve();
          break;
        case "fatal":
          clearTimeout(timer);
          this.#fail(stages, new Error(`${name} worker failed: ${msg.message}`), msg.stack);
          ready.reject(this.failure!);
          break;
        case "strategy-error":
          this.strategyFailure = { message: msg.message, stack: msg.stack, callback: msg.callback, atMs: Date.now() };
          log.error(`strategy threw in ${msg.callback}; the strategy is stopped and trading is HALTED (the daemon stays up for inspection)`, { error: msg.message });
          process.stderr.write(msg.stack + "\n");
          break;
        case "risk-halt":
          this.riskHalt = { reason: msg.reason, pnl: msg.pnl, limit: msg.limit, atMs: Date.now() };
          log.error(`risk HALTED trading: ${msg.reason}; cancelling every open order`, { pnl_usd: +msg.pnl.toFixed(2), limit_usd: msg.limit });
          // The loss limit is a kill switch too: nothing left working at the broker.
          void this.halt().then((ok) => {
            if (!ok) log.error("the execution worker did not acknowledge the cancel-all after the loss-limit halt");
          });
          break;
      }
    };
    worker.onerror = (ev: ErrorEvent) => {
      clearTimeout(timer);
      this.#fail(stages, new Error(`${name} worker crashed: ${ev.message}`), (ev.error as Error | undefined)?.stack ?? "");
      ready.reject(this.failure!);
    };
    worker.addEventListener("close", () => {
      for (const st of stages) this.#stopped.get(st)?.resolve();
      if (!this.stopping && this.failure === null) {
        clearTimeout(timer);
        this.#fail(stages, new Error(`${name} worker exited unexpectedly`), "");
        ready.reject(this.failure!);
      }
    });
    const init: WorkerInit = {
      type: "init",
      role,
      stages: [...stages],
      config: this.config,
      configDir: this.#options.configDir,
      symbols: [...this.symbols],
      control: this.control.sab,
      mdRing: this.md.sab,
      orderRing: this.orders.sab,
      execRing: this.exec.sab,
      strategyDoorbell: this.strategyDoorbell.sab,
      executionDoorbell: this.executionDoorbell.sab,
      quoteBook: this.book.sab,
      ordersTable: this.table.ordersSab,
      positionsTable: this.table.positionsSab,
      orderCapacity: this.table.capacity,
      riskLimits: this.riskLimitsBlock.sab,
      metrics: { feed: this.feedMetrics.sab, strategy: this.strategyMetrics.sab, execution: this.executionMetrics.sab },
      tuning: this.#threadPlan ? { assignment: this.#threadPlan.threads[role], numaNode: this.#numaNode } : null,
    };
    worker.postMessage(init);
    return ready.promise;
  }

  #fail(stages: readonly WorkerRole[], err: Error, stack: string): void {
    if (this.failure !== null) return;
    this.failure = err;
    for (const t of this.threads) if (stages.includes(t.name as WorkerRole)) t.ready = false;
    log.error(err.message);
    if (stack) process.stderr.write(stack + "\n");
    this.#failed.resolve(err);
  }

  /** The operator's trading state. Any state but HALTED ends a risk halt: RISK_HALT goes back to 0. */
  setTradingState(state: TradingState): void {
    if (state !== TradingState.HALTED) this.control.set(W_RISK_HALT, 0);
    this.control.set(W_TRADING, state);
  }

  /**
   * The kill switch: HALTED first (the strategy's next risk check and the execution worker's
   * next order both see it), then every open order cancelled. Resolves once the execution worker
   * has acted on it: from then on no order leaves (one it had already sent is cancelled).
   * Resolves false if the worker did not answer within `timeoutMs` (it is wedged or gone).
   */
  halt(timeoutMs = 2_000): Promise<boolean> {
    this.control.set(W_TRADING, TradingState.HALTED);
    const seq = Atomics.add(this.control.words, W_CANCEL_ALL_SEQ, 1) + 1;
    this.executionDoorbell.ring();
    this.strategyDoorbell.ring();
    return this.#awaitAck(W_CANCEL_ALL_ACK, seq, timeoutMs);
  }

  /** HALTED, every open order cancelled, every position closed at market; resolves as `halt`. */
  flatten(timeoutMs = 2_000): Promise<boolean> {
    this.control.set(W_TRADING, TradingState.HALTED);
    const seq = Atomics.add(this.control.words, W_FLATTEN_SEQ, 1) + 1;
    this.executionDoorbell.ring();
    this.strategyDoorbell.ring();
    return this.#awaitAck(W_FLATTEN_ACK, seq, timeoutMs);
  }

  /** The risk limits in force (what `GET /risk` shows), read from the shared block. */
  riskLimits(): RiskConfig {
    return this.riskLimitsBlock.toConfig();
  }

  /**
   * Applies new risk limits at once: validated against the `RiskConfig` schema (throws its
   * ZodError, and changes nothing, when invalid), written to the shared block as one change (the
   * strategy worker's next check sees all of it or none of it), and logged key by key (old → new).
   * Returns the limits now in force.
   */
  setRiskLimits(next: RiskConfig): RiskConfig {
    const valid = RiskConfig.parse(next);
    const before = this.riskLimitsBlock.toConfig();
    this.riskLimitsBlock.write(valid);
    const changes: Record<string, string> = {};
    for (const key of Object.keys(valid) as (keyof RiskConfig)[]) {
      if (valid[key] !== before[key]) changes[key] = `${before[key]} → ${valid[key]}`;
    }
    if (Object.keys(changes).length === 0) log.info("risk limits set: no change");
    else log.info("risk limits changed", changes);
    return this.riskLimitsBlock.toConfig();
  }

  async #awaitAck(word: number, seq: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.control.words, word);
      if (seen - seq >= 0) return true;
      const left = deadline - performance.now();
      if (left <= 0 || !this.threads.find((t) => t.name === "execution")?.ready) return false;
      const r = Atomics.waitAsync(this.control.words, word, seen, left);
      if (r.async) await r.value;
    }
  }

  tradingStateName(): string {
    return TRADING_STATE_NAMES[this.control.tradingState()] ?? "unknown";
  }

  async #stopOne(role: WorkerRole, word: number, deadline: number): Promise<boolean> {
    this.control.set(word, 1);
    this.strategyDoorbell.ring();
    this.executionDoorbell.ring();
    if (!this.#workers.has(role)) return true;
    const left = deadline - performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, left))));
    const ok = await Promise.race([this.#stopped.get(role)!.promise.then(() => true), timedOut]);
    clearTimeout(timer);
    if (!ok) log.warn(`${role} worker did not stop in time; terminating it`);
    return ok;
  }

  /** Stops feed, then strategy (after draining), then execution; terminates what is left. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const deadline = performance.now() + this.#options.stopDeadlineMs;
    await this.#stopOne("feed", W_STOP_FEED, deadline);
    await this.#stopOne("strategy", W_STOP_STRATEGY, deadline);
    await this.#stopOne("execution", W_STOP_EXECUTION, deadline);
    this.md.close();
    this.orders.close();
    this.exec.close();
    for (const w of new Set(this.#workers.values())) w.terminate();
    this.#workers.clear();
    log.info("pipeline stopped");
  }

  uptimeSeconds(): number {
    return (Date.now() - this.startedAtMs) / 1000;
  }
}
