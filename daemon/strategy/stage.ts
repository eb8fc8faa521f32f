/**
 * The strategy stage: the strategy and the pre-trade risk checks (`StrategyEngine`) between the
 * market-data and exec-event rings and the order ring, as one non-blocking `turn`. Who calls
 * `turn`, and how the thread waits between turns, is the thread layout's business: the strategy
 * worker (`workers/strategy.ts`, layout `split`) or the one trading thread (`workers/single.ts`,
 * layout `single`).
 *
 * Before it is built it warms up (`strategy.warmup_events` synthetic events through a scratch
 * engine and a second instance of the strategy), so the first real tick runs compiled code.
 *
 * Turn: take every published market-data record (one release per batch), then every exec event,
 * then the timer when due. Risk halts trading on the daily loss limit itself (TRADING := HALTED)
 * and tells main in one `risk-halt` message. A strategy callback that throws: the error and its
 * stack go to main, trading is HALTED, the strategy is never called again, and the stage keeps
 * draining the rings (positions stay right) so the daemon stays up for an operator.
 */
import { dirname } from "node:path";
import type { WorkerInit, WorkerMessage } from "../workers/protocol.ts";
import { SpscRing } from "../shm/ring.ts";
import { Doorbell } from "../shm/doorbell.ts";
import { ControlBlock, TradingState, W_FEED_DONE, W_RISK_HALT, W_STOP_STRATEGY, W_STRATEGY_FAILED, W_TRADING } from "../shm/control.ts";
import { QuoteBook } from "../shm/quote-book.ts";
import { MetricsBlock, type CounterIndex, type GaugeIndex } from "../metrics/block.ts";
import { StrategyMetrics } from "../metrics/layouts.ts";
import { StrategyEngine } from "./engine.ts";
import { RiskLimitsBlock } from "../risk/limits-block.ts";
import { RISK_REASON_NAMES, RiskReason } from "../risk/checks.ts";
import { TRADING_TIME_ZONE, hhmmOf } from "../risk/trading-day.ts";
import { WarmRig } from "./warmup.ts";
import { loadStrategy } from "./load.ts";
import { nowNs } from "../shm/clock.ts";
import { logger } from "../log.ts";
import { gettid, schedGetcpu } from "../../ffi/libc.ts";

/** How often the turns look at the wall clock for the risk day's start (and update its gauges). */
const DAY_CHECK_NS = 1e9;

const log = logger("strategy");

export class StrategyStage {
  readonly md: SpscRing;
  readonly exec: SpscRing;
  readonly orders: SpscRing;
  readonly engine: StrategyEngine;
  /** Prebound: whether a turn would find something to do (rings, stop, feed done). */
  readonly hasWork: () => boolean;
  readonly #control: ControlBlock;
  readonly #m: MetricsBlock<typeof StrategyMetrics>;
  readonly #cTurns: CounterIndex;
  readonly #cWaits: CounterIndex;
  readonly #cKeepWarm: CounterIndex;
  readonly #hKeepWarm: ReturnType<MetricsBlock<typeof StrategyMetrics>["histogram"]>;
  readonly #gHeartbeat: GaugeIndex;
  readonly #gThreadCpu: GaugeIndex;
  readonly #gDayPnl: GaugeIndex;
  readonly #gDayStarted: GaugeIndex;
  readonly #gDayNext: GaugeIndex;
  #nextDayCheck = 0;
  readonly #timerNs: number;
  #nextTimer: number;
  #turns = 0;
  #lastBeat = 0;
  #waitsSeen = 0;
  #feedDoneSeen = false;
  #rig: WarmRig | null = null;
  #rigErrorLogged = false;

  /**
   * Loads the strategy (twice: warm-up gets its own instance), warms up, and builds the stage.
   * `keepWarm` (layout single's event-driven thread with `threads.keep_warm_us` > 0) keeps the
   * warm-up's rig for `warm()`.
   */
  static async create(init: WorkerInit, keepWarm = false): Promise<StrategyStage> {
    const cfg = init.config;
    const configDir = init.configDir || dirname(".");
    const load = () => loadStrategy(cfg.strategy.name, cfg.strategy.module, cfg.strategy.params, configDir);
    let rig: WarmRig | null = null;
    if (cfg.strategy.warmup_events > 0) {
      rig = new WarmRig(cfg, init.symbols, await load());
      const started = performance.now();
      const orders = rig.run(cfg.strategy.warmup_events);
      log.info(`warm-up ran ${rig.eventsRun} events and ${orders} orders through the strategy in ${(performance.now() - started).toFixed(0)} ms`);
      if (rig.error) log.warn(`the strategy threw during warm-up: ${rig.error}${keepWarm ? " (keep-warm runs no strategy code)" : ""}`);
    }
    const stage = new StrategyStage(init, await load());
    if (keepWarm) stage.#rig = rig;
    return stage;
  }

  /** Keep-warm: one synthetic event through the warm-up rig (scratch state only; see WarmRig). */
  warm(): void {
    const rig = this.#rig;
    if (rig === null) return;
    if (rig.running) rig.run(1);
    else if (rig.error !== null && !this.#rigErrorLogged) {
      this.#rigErrorLogged = true;
      log.warn(`the strategy's warm-up instance threw during keep-warm: ${rig.error} (keep-warm runs no strategy code from now on)`);
    }
  }

  /** Counts one keep-warm run of the thread's stages and its time (metrics `keep_warm_runs`, `keep_warm`). */
  countKeepWarm(ns: number): void {
    this.#m.add(this.#cKeepWarm, 1);
    this.#hKeepWarm.record(ns);
  }

  private constructor(init: WorkerInit, strategy: Awaited<ReturnType<typeof loadStrategy>>) {
    const cfg = init.config;
    const control = (this.#control = new ControlBlock(init.control));
    this.md = new SpscRing(init.mdRing, cfg.rings.market_data.slots);
    this.exec = new SpscRing(init.execRing, cfg.rings.exec_events.slots);
    this.orders = new SpscRing(init.orderRing, cfg.rings.orders.slots);
    this.orders.attachDoorbell(new Doorbell(init.executionDoorbell));
    const m = (this.#m = new MetricsBlock(StrategyMetrics, init.metrics.strategy));
    this.#cTurns = m.counterIndex("loop_turns");
    this.#cWaits = m.counterIndex("order_ring_waits");
    this.#cKeepWarm = m.counterIndex("keep_warm_runs");
    this.#hKeepWarm = m.histogram("keep_warm");
    this.#gHeartbeat = m.gaugeIndex("heartbeat_ns");
    this.#gThreadCpu = m.gaugeIndex("thread_cpu");
    m.set(m.gaugeIndex("thread_id"), gettid());
    m.set(this.#gThreadCpu, schedGetcpu());
    this.#gDayPnl = m.gaugeIndex("risk_day_pnl");
    this.#gDayStarted = m.gaugeIndex("risk_day_started_ms");
    this.#gDayNext = m.gaugeIndex("risk_day_next_ms");

    this.engine = new StrategyEngine({
      config: cfg,
      symbols: init.symbols,
      md: this.md,
      exec: this.exec,
      orders: this.orders,
      control,
      book: new QuoteBook(init.quoteBook, init.symbols.length),
      metrics: m,
      strategy,
      stopRequested: () => this.stopRequested(),
      onStrategyError: (err, callback) => {
        const e = err instanceof Error ? err : new Error(String(err));
        control.set(W_TRADING, TradingState.HALTED);
        control.set(W_STRATEGY_FAILED, 1);
        postMessage({ type: "strategy-error", message: e.message, stack: e.stack ?? "", callback } satisfies WorkerMessage);
      },
      log: (msg) => log.info(msg),
      riskLimits: new RiskLimitsBlock(init.riskLimits),
      onRiskHalt: (reason, pnl, limit) => {
        postMessage({ type: "risk-halt", reason: RISK_REASON_NAMES[reason], pnl, limit } satisfies WorkerMessage);
      },
      awaitReconciled: cfg.broker.kind === "alpaca",
    });
    this.#timerNs = cfg.strategy.timer_interval_ms * 1e6;
    this.#nextTimer = nowNs() + this.#timerNs;
    const md = this.md;
    const exec = this.exec;
    this.hasWork = () => md.available() > 0 || exec.available() > 0 || this.stopRequested() || (!this.#feedDoneSeen && control.get(W_FEED_DONE) !== 0);
    this.#riskDay(); // the first risk day starts now
    this.#nextDayCheck = nowNs() + DAY_CHECK_NS;
    this.engine.start();
  }

  /**
   * The risk day (`risk.day_starts_at`, New York): at each start of a trading day the daily loss
   * counts from 0 again (`RiskEngine.newDay`), said in the log; the day's P&L, start and next
   * start go to the gauges (`/status`, `/metrics`). Every DAY_CHECK_NS of the turns, whatever the
   * strategy's timer interval; never per tick of market data.
   */
  #riskDay(): void {
    const risk = this.engine.risk;
    const ended = risk.newDay(Date.now());
    if (!Number.isNaN(ended)) {
      const c = this.#control;
      const haltedByLoss = c.tradingState() === TradingState.HALTED && c.get(W_RISK_HALT) === RiskReason.DAILY_LOSS;
      log.info(
        `a new trading day started (${hhmmOf(risk.limits.dayStartMin)} ${TRADING_TIME_ZONE}): the day's P&L counts from 0 again (the day before ended at ${ended.toFixed(2)} USD)` +
          (haltedByLoss ? "; trading stays HALTED by the day before's loss limit until the operator resumes it (POST /control/resume)" : ""),
      );
    }
    const m = this.#m;
    m.set(this.#gDayPnl, risk.ledger.pnl());
    m.set(this.#gDayStarted, risk.dayStartedMs);
    m.set(this.#gDayNext, risk.nextDayMs);
  }

  stopRequested(): boolean {
    return Atomics.load(this.#control.words, W_STOP_STRATEGY) !== 0;
  }

  /** When the next timer callback is due (CLOCK_MONOTONIC ns). */
  nextDueNs(): number {
    return this.#nextTimer;
  }

  /** One turn; returns whether it took any record. `now` is read after the rings are drained. */
  turn(): boolean {
    const worked = this.engine.drainMarketData() + this.engine.drainExecEvents() > 0;
    const now = nowNs();
    const m = this.#m;
    if (now >= this.#nextDayCheck) {
      this.#nextDayCheck = now + DAY_CHECK_NS;
      this.#riskDay();
    }
    if (now >= this.#nextTimer) {
      this.#nextTimer = now + this.#timerNs;
      m.set(this.#gThreadCpu, schedGetcpu());
      const w = this.orders.producerWaits();
      if (w !== this.#waitsSeen) {
        m.add(this.#cWaits, w - this.#waitsSeen);
        this.#waitsSeen = w;
      }
      this.engine.timer(now);
    }
    if ((++this.#turns & 1023) === 0) m.add(this.#cTurns, 1024);
    if (!this.#feedDoneSeen && this.#control.get(W_FEED_DONE) !== 0) this.#feedDoneSeen = true;
    // Proof of life for the systemd watchdog: at least once a second, even when idle.
    if (now - this.#lastBeat >= 1e9) {
      this.#lastBeat = now;
      m.set(this.#gHeartbeat, now);
    }
    return worked;
  }

  /** Stop was asked for and the market-data ring is drained: call `stop` and go. */
  finished(): boolean {
    return this.stopRequested() && this.md.available() === 0;
  }

  stop(): void {
    this.engine.stop();
  }
}
