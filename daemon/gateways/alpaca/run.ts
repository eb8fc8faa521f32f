/**
 * The `alpaca` broker as an execution stage (`gateways/execution.ts`). Unlike the simulated
 * broker, it lives on its thread's event loop (sockets, timers): between turns the thread waits
 * with `Atomics.waitAsync` on its doorbell, so a ring publish wakes it without blocking the loop.
 *
 * `open`: the journal (a journal that cannot be opened or is corrupt stops startup), the REST
 * pool, the trade_updates stream. `connect`: warm the REST connections, connect the stream,
 * reconcile with the broker, seed the strategy's positions, and only then set BROKER_READY (risk
 * refuses orders before it). A turn takes the order ring and starts each request (journal write,
 * then the request written on a pooled connection); answers and trade updates arrive on the
 * event loop and go out as exec events at once.
 */
import { resolve } from "node:path";
import type { WorkerInit } from "../../workers/protocol.ts";
import { SpscRing } from "../../shm/ring.ts";
import { Doorbell } from "../../shm/doorbell.ts";
import { ControlBlock, W_BROKER_BUDGET, W_BROKER_READY, W_STOP_EXECUTION } from "../../shm/control.ts";
import { OrderTable } from "../../shm/order-table.ts";
import { RecordKind, writeExecRecord } from "../../shm/records.ts";
import { nowNs } from "../../shm/clock.ts";
import { logger } from "../../log.ts";
import { OrderJournal } from "../../journal/index.ts";
import { RateBudget } from "./rate-limit.ts";
import { PoolTransport } from "./transport.ts";
import { AlpacaRest } from "./rest.ts";
import { AlpacaGateway } from "./gateway.ts";
import { TradeUpdatesStream } from "./stream.ts";
import { reconcile } from "./reconcile.ts";
import { drainOrders, executionMetrics, OperatorRequests, type ExecutionMetricsParts, type ExecutionStage, type OrderSink } from "../execution.ts";

const log = logger("broker");
/** Reconciliation that did not complete is tried again after this long, doubling up to the max. */
const RECONCILE_RETRY_FIRST_MS = 1_000;
const RECONCILE_RETRY_MAX_MS = 30_000;
function logLine(level: "info" | "warn" | "error", message: string): void {
  log[level](message);
}

export class AlpacaExecution implements ExecutionStage, OrderSink {
  readonly eventDriven = true;
  readonly hasWork: () => boolean;
  readonly #init: WorkerInit;
  readonly #control: ControlBlock;
  readonly #orders: SpscRing;
  readonly execRing: SpscRing;
  readonly #table: OrderTable;
  readonly #x: ExecutionMetricsParts;
  readonly #journal: OrderJournal;
  readonly #budget: RateBudget;
  readonly #transport: PoolTransport;
  readonly #rest: AlpacaRest;
  readonly #gateway: AlpacaGateway;
  readonly #stream: TradeUpdatesStream;
  readonly #operator: OperatorRequests;
  readonly #emit: (kind: RecordKind, sym: number, orderId: number, b: number, lastQty: number, lastPx: number, cum: number, leaves: number, tickRecvNs: number) => void;
  #housekeeping: ReturnType<typeof setInterval> | null = null;
  /**
   * The first reconciliation was tried (completed or not): turns serve the order ring and the
   * operator's requests from then on (the strategy's risk sends orders only once it completed).
   */
  #serving = false;
  /** `close` was called: a reconciliation still running or waiting to be tried again stops. */
  #closed = false;

  /** Opens the journal and builds the clients; throws (JournalError) when the journal cannot be used. */
  static open(init: WorkerInit): AlpacaExecution {
    return new AlpacaExecution(init);
  }

  private constructor(init: WorkerInit) {
    this.#init = init;
    const cfg = init.config;
    const ac = cfg.broker.alpaca;
    const control = (this.#control = new ControlBlock(init.control));
    control.set(W_BROKER_READY, 0);
    const orders = (this.#orders = new SpscRing(init.orderRing, cfg.rings.orders.slots));
    const exec = (this.execRing = new SpscRing(init.execRing, cfg.rings.exec_events.slots));
    exec.attachDoorbell(new Doorbell(init.strategyDoorbell));
    const table = (this.#table = new OrderTable(init.ordersTable, init.positionsTable, init.orderCapacity));
    const x = (this.#x = executionMetrics(init.metrics.execution));
    const { m, c, hTickToOrder, hTickToAck } = x;
    const stopRequested = () => Atomics.load(control.words, W_STOP_EXECUTION) !== 0;

    const journalPath = resolve(init.configDir, cfg.journal_path);
    // JournalError: startup stops with its message. Keep the reference: the file lock lives with it.
    const journal = (this.#journal = OrderJournal.open(journalPath, { synchronous: cfg.journal_sync }));
    logLine("info", `journal ${journalPath} open (run ${journal.runId})`);

    const budget = (this.#budget = new RateBudget(ac.rate_limit_per_min));
    const transport = (this.#transport = new PoolTransport(ac.base_url, ac.key_id, ac.secret_key, ac.connections, ac.keep_warm_ms, (e) => {
      if (e.kind === "verified" && e.status === 401) logLine("error", "Alpaca refused the key id / secret key (HTTP 401 on GET /v2/clock): fix broker.alpaca.key_id / secret_key");
      else if (e.kind !== "verified") logLine("warn", `order connection ${e.slot} ${e.kind}: ${"reason" in e ? e.reason : e.error}`);
    }));
    const rest = (this.#rest = new AlpacaRest(transport, budget, ac.request_timeout_ms));
    const emit = (kind: RecordKind, sym: number, orderId: number, b: number, lastQty: number, lastPx: number, cum: number, leaves: number, tickRecvNs: number) => {
      const slot = exec.claimWait(stopRequested);
      if (slot < 0) return;
      writeExecRecord(exec, slot, kind, sym, orderId, b, lastQty, lastPx, cum, leaves, tickRecvNs, nowNs());
      // The answer behind this event may have changed the budget (a 429): risk sees it first.
      control.set(W_BROKER_BUDGET, budget.remaining());
      exec.publish();
      if (kind === RecordKind.ACK) m.add(c.acks, 1);
      else if (kind === RecordKind.FILL) m.add(c.fills, 1);
      else if (kind === RecordKind.REJECT) m.add(c.rejects, 1);
      else if (kind === RecordKind.CANCELED || kind === RecordKind.EXPIRED) m.add(c.canceled, 1);
    };
    this.#emit = emit;
    const gateway = (this.#gateway = new AlpacaGateway(rest, journal, table, init.symbols, {
      emit,
      now: nowNs,
      onOrderSent: (tickRecvNs) => hTickToOrder.record(nowNs() - tickRecvNs),
      onAck: (tickRecvNs) => hTickToAck.record(nowNs() - tickRecvNs),
      log: logLine,
    }));
    this.#stream = new TradeUpdatesStream(
      ac.stream_url,
      ac.key_id,
      ac.secret_key,
      { initialMs: ac.reconnect.initial_ms, maxMs: ac.reconnect.max_ms, multiplier: ac.reconnect.multiplier, jitter: ac.reconnect.jitter },
      {
        onUpdate: (u) => gateway.onUpdate(u),
        onState: (state, detail) => logLine(state === "failed" ? "error" : "info", `trade_updates ${state}${detail ? `: ${detail}` : ""}`),
        onResync: (since) => void gateway.resync(since).then((n) => logLine("info", `trade_updates resync: ${n} of our orders caught up since ${since}`)),
        log: logLine,
      },
    );
    const operator = (this.#operator = new OperatorRequests(control));
    // Orders and operator requests are served once the first reconciliation was tried (turn()
    // takes nothing before); risk sends no order before a reconciliation completed.
    this.hasWork = () => (this.#serving && (orders.available() > 0 || operator.pending())) || stopRequested();
  }

  /**
   * Connects the stream and the order connections and reconciles with the broker; sets
   * BROKER_READY when reconciliation completed. When it did not (the broker did not answer, an
   * error: the log says which), BROKER_READY stays 0 and it is tried again in the background
   * every 1, 2, 4 … 30 s until it completes or the daemon stops; operator requests are served
   * meanwhile, and the strategy's risk refuses orders (broker_not_ready).
   */
  async connect(): Promise<void> {
    const control = this.#control;
    this.#stream.start();
    try {
      await this.#transport.pool.ready(1, 10_000); // connections opened and verified before the first order
    } catch (e) {
      logLine("warn", `no order connection yet: ${(e as Error).message}`);
    }
    const done = await this.#reconcileOnce();
    this.#serving = true;

    const m = this.#x.m;
    const gHeartbeat = this.#x.gHeartbeat;
    const gOpen = this.#x.gOpen;
    this.#housekeeping = setInterval(() => {
      control.set(W_BROKER_BUDGET, this.#budget.remaining());
      m.set(gHeartbeat, nowNs());
      m.set(gOpen, this.#gateway.openOrders());
    }, 100);
    if (!done) void this.#reconcileAgain();
  }

  /** Reconciliation tried again after a failure, with a doubling wait up to 30 s, until it completes or the daemon stops. */
  async #reconcileAgain(): Promise<void> {
    for (let waitMs = RECONCILE_RETRY_FIRST_MS; ; waitMs = Math.min(RECONCILE_RETRY_MAX_MS, waitMs * 2)) {
      logLine("error", `not trading: reconciliation did not complete (see above); trying again in ${waitMs / 1000} s`);
      const until = Date.now() + waitMs;
      while (Date.now() < until) {
        if (this.#closed || this.finished()) return;
        await Bun.sleep(Math.min(100, until - Date.now()));
      }
      if (this.#closed || this.finished()) return;
      try {
        if (await this.#reconcileOnce()) return;
      } catch (e) {
        if (this.#closed) return;
        logLine("error", `reconciliation failed: ${(e as Error).message}`);
      }
    }
  }

  /** One reconciliation; true when it completed (BROKER_READY set). */
  async #reconcileOnce(): Promise<boolean> {
    const init = this.#init;
    const control = this.#control;
    const report = await reconcile(this.#rest, this.#journal);
    if (this.#closed) return false;
    const table = this.#table;
    if (report.positionsRead) {
      // Every symbol of the config, flat unless the broker lists it: a try after a failed one
      // must not leave a position the broker no longer holds.
      for (const p of report.positions) if (!init.symbols.includes(p.symbol)) logLine("warn", `the broker holds ${p.qty} ${p.symbol}, a symbol not in this config`);
      init.symbols.forEach((symbol, s) => {
        const p = report.positions.find((x) => x.symbol === symbol);
        table.setPosition(s, p?.qty ?? 0, p?.avgPrice ?? 0);
        this.#emit(RecordKind.POSITION, s, 0, 0, p?.qty ?? 0, p?.avgPrice ?? 0, 0, 0, nowNs());
      });
    }
    if (report.errors.length === 0 && report.dayPnl !== null) {
      // Last: the strategy's risk lets orders through once it has applied this (after the positions).
      this.#emit(RecordKind.RECONCILED, 0, 0, 0, report.dayPnl, 0, 0, 0, nowNs());
      logLine("info", `the account's loss today at the broker (equity − last_equity, a gain counted as 0): ${report.dayPnl.toFixed(2)} USD; the daily loss limit starts from it`);
    }
    logLine(
      report.errors.length > 0 ? "warn" : "info",
      `reconciled with the broker: ${report.inDoubt.length} in doubt resolved, ${report.brokerOnly.length} open at the broker unknown to the journal, ${report.closedSince.length} closed meanwhile, ${report.positions.length} positions` +
        (report.errors.length > 0 ? `; errors: ${report.errors.join("; ")}` : ""),
    );
    for (const d of report.inDoubt) logLine("info", `  in doubt ${d.clientOrderId}: ${d.outcome}`);
    for (const b of report.brokerOnly) logLine("warn", `  open at the broker, not in the journal: ${b.clientOrderId} ${b.symbol} ${b.status}`);
    control.set(W_BROKER_BUDGET, this.#budget.remaining());
    if (report.errors.length > 0) return false;
    control.set(W_BROKER_READY, 1);
    return true;
  }

  // OrderSink
  newOrder(orderId: number, symbolId: number, flags: number, qty: number, limitPx: number, stopPx: number, tickRecvNs: number): void {
    this.#gateway.submit(orderId, symbolId, flags, qty, limitPx, stopPx, tickRecvNs);
  }
  cancel(orderId: number): void {
    this.#gateway.cancel(orderId);
  }
  cancelAll(): void {
    this.#gateway.cancelAll();
  }
  rejectHalted(symbolId: number, orderId: number, b: number, tickRecvNs: number): void {
    this.#emit(RecordKind.REJECT, symbolId, orderId, b, 0, 0, 0, 0, tickRecvNs);
  }

  /** Keep-warm and warm-up (layout single): the order path's own code on a canned order; see AlpacaGateway.warm. */
  warm(): void {
    this.#gateway.warm();
  }

  turn(): boolean {
    if (!this.#serving) return false;
    if (this.#operator.pending()) {
      const gateway = this.#gateway;
      this.#operator.serve(
        () => gateway.cancelAll(),
        () => gateway.flatten(),
      );
    }
    const n = drainOrders(this.#orders, this.#control, this.#x.m, this.#x.c, this.#x.hOrderHop, this, nowNs());
    if (n > 0) this.#control.set(W_BROKER_BUDGET, this.#budget.remaining());
    return n > 0;
  }

  nextDueNs(): number {
    return Number.POSITIVE_INFINITY;
  }

  /** Stops once asked (orders the strategy left on the ring are not sent while stopping). */
  finished(): boolean {
    return Atomics.load(this.#control.words, W_STOP_EXECUTION) !== 0;
  }

  close(): void {
    this.#closed = true;
    if (this.#housekeeping !== null) clearInterval(this.#housekeeping);
    this.#gateway.stop();
    this.#stream.stop();
    this.#transport.close();
    this.#journal.close();
  }
}
