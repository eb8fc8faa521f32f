/**
 * The `alpaca` broker in the execution worker. Unlike the simulated broker's synchronous loop,
 * this one lives on the worker's event loop (sockets, timers): it waits for orders with
 * `Atomics.waitAsync` on its doorbell, so a ring publish wakes it without blocking the loop.
 *
 * Start: open the journal (a journal that cannot be opened or is corrupt stops startup), warm the
 * REST connections, connect the trade_updates stream, reconcile with the broker, seed the
 * strategy's positions, and only then set BROKER_READY (risk refuses orders before it).
 */
import { resolve } from "node:path";
import type { WorkerInit } from "../../workers/protocol.ts";
import { SpscRing } from "../../shm/ring.ts";
import { Doorbell } from "../../shm/doorbell.ts";
import { ControlBlock, TradingState, W_BROKER_BUDGET, W_BROKER_READY, W_CANCEL_ALL_ACK, W_CANCEL_ALL_SEQ, W_FLATTEN_ACK, W_FLATTEN_SEQ, W_STOP_EXECUTION } from "../../shm/control.ts";
import { OrderTable } from "../../shm/order-table.ts";
import { RecordKind, Reject, flagsSide, I_KIND, I_SYMBOL, I_A, I_B, F_TRECV, F_TPUB, F_P0, F_P1, F_P2, writeExecRecord } from "../../shm/records.ts";
import { MetricsBlock } from "../../metrics/block.ts";
import { ExecutionMetrics } from "../../metrics/layouts.ts";
import { nowNs } from "../../shm/clock.ts";
import { logger } from "../../log.ts";
import { OrderJournal } from "../../journal/index.ts";
import { RateBudget } from "./rate-limit.ts";
import { PoolTransport } from "./transport.ts";
import { AlpacaRest } from "./rest.ts";
import { AlpacaGateway } from "./gateway.ts";
import { TradeUpdatesStream } from "./stream.ts";
import { reconcile } from "./reconcile.ts";

const log = logger("broker");
function logLine(level: "info" | "warn" | "error", message: string): void {
  log[level](message);
}

export async function runAlpacaExecution(init: WorkerInit, ready: () => void): Promise<void> {
  const cfg = init.config;
  const ac = cfg.broker.alpaca;
  const control = new ControlBlock(init.control);
  control.set(W_BROKER_READY, 0);
  const orders = new SpscRing(init.orderRing, cfg.rings.orders.slots);
  const exec = new SpscRing(init.execRing, cfg.rings.exec_events.slots);
  exec.attachDoorbell(new Doorbell(init.strategyDoorbell));
  const doorbell = new Doorbell(init.executionDoorbell);
  const table = new OrderTable(init.ordersTable, init.positionsTable, init.orderCapacity);
  const m = new MetricsBlock(ExecutionMetrics, init.metrics);
  const c = {
    orders: m.counterIndex("orders_received"),
    cancels: m.counterIndex("cancels_received"),
    acks: m.counterIndex("acks"),
    fills: m.counterIndex("fills"),
    rejects: m.counterIndex("rejects"),
    canceled: m.counterIndex("cancels"),
  };
  const gOpen = m.gaugeIndex("open_orders");
  const gHeartbeat = m.gaugeIndex("heartbeat_ns");
  const hOrderHop = m.histogram("order_hop");
  const hTickToOrder = m.histogram("tick_to_order");
  const hTickToAck = m.histogram("tick_to_ack");
  const stopRequested = () => Atomics.load(control.words, W_STOP_EXECUTION) !== 0;

  const journalPath = resolve(init.configDir, cfg.journal_path);
  // JournalError: startup stops with its message. Keep the reference: the file lock lives with it.
  const journal = OrderJournal.open(journalPath, { synchronous: cfg.journal_sync });
  logLine("info", `journal ${journalPath} open (run ${journal.runId})`);

  const budget = new RateBudget(ac.rate_limit_per_min);
  const transport = new PoolTransport(ac.base_url, ac.key_id, ac.secret_key, ac.connections, ac.keep_warm_ms, (e) => {
    if (e.kind === "verified" && e.status === 401) logLine("error", "Alpaca refused the key id / secret key (HTTP 401 on GET /v2/clock): fix broker.alpaca.key_id / secret_key");
    else if (e.kind !== "verified") logLine("warn", `order connection ${e.slot} ${e.kind}: ${"reason" in e ? e.reason : e.error}`);
  });
  const rest = new AlpacaRest(transport, budget, ac.request_timeout_ms);
  const emit = (kind: RecordKind, sym: number, orderId: number, b: number, lastQty: number, lastPx: number, cum: number, leaves: number, tickRecvNs: number) => {
    const slot = exec.claimWait(stopRequested);
    if (slot < 0) return;
    writeExecRecord(exec, slot, kind, sym, orderId, b, lastQty, lastPx, cum, leaves, tickRecvNs, nowNs());
    exec.publish();
    if (kind === RecordKind.ACK) m.add(c.acks, 1);
    else if (kind === RecordKind.FILL) m.add(c.fills, 1);
    else if (kind === RecordKind.REJECT) m.add(c.rejects, 1);
    else if (kind === RecordKind.CANCELED || kind === RecordKind.EXPIRED) m.add(c.canceled, 1);
  };
  const gateway = new AlpacaGateway(rest, journal, table, init.symbols, {
    emit,
    now: nowNs,
    onOrderSent: (tickRecvNs) => hTickToOrder.record(nowNs() - tickRecvNs),
    onAck: (tickRecvNs) => hTickToAck.record(nowNs() - tickRecvNs),
    log: logLine,
  });
  const stream = new TradeUpdatesStream(
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

  ready();
  stream.start();
  try {
    await transport.pool.ready(1, 10_000); // connections opened and verified before the first order
  } catch (e) {
    logLine("warn", `no order connection yet: ${(e as Error).message}`);
  }
  const report = await reconcile(rest, journal);
  for (const p of report.positions) {
    const s = init.symbols.indexOf(p.symbol);
    if (s < 0) {
      logLine("warn", `the broker holds ${p.qty} ${p.symbol}, a symbol not in this config`);
      continue;
    }
    table.setPosition(s, p.qty, p.avgPrice);
    emit(RecordKind.POSITION, s, 0, 0, p.qty, p.avgPrice, 0, 0, nowNs());
  }
  logLine(
    report.errors.length > 0 ? "warn" : "info",
    `reconciled with the broker: ${report.inDoubt.length} in doubt resolved, ${report.brokerOnly.length} open at the broker unknown to the journal, ${report.closedSince.length} closed meanwhile, ${report.positions.length} positions` +
      (report.errors.length > 0 ? `; errors: ${report.errors.join("; ")}` : ""),
  );
  for (const d of report.inDoubt) logLine("info", `  in doubt ${d.clientOrderId}: ${d.outcome}`);
  for (const b of report.brokerOnly) logLine("warn", `  open at the broker, not in the journal: ${b.clientOrderId} ${b.symbol} ${b.status}`);
  control.set(W_BROKER_BUDGET, budget.remaining());
  if (report.errors.length === 0) control.set(W_BROKER_READY, 1);
  else logLine("error", "not trading: reconciliation did not complete (see above); restart once the broker answers");

  const housekeeping = setInterval(() => {
    control.set(W_BROKER_BUDGET, budget.remaining());
    m.set(gHeartbeat, nowNs());
    m.set(gOpen, gateway.openOrders());
  }, 100);

  let seenCancelAll = Atomics.load(control.words, W_CANCEL_ALL_SEQ);
  let seenFlatten = Atomics.load(control.words, W_FLATTEN_SEQ);
  const operatorAsked = () => Atomics.load(control.words, W_CANCEL_ALL_SEQ) !== seenCancelAll || Atomics.load(control.words, W_FLATTEN_SEQ) !== seenFlatten;
  try {
    while (!stopRequested()) {
      if (operatorAsked()) {
        const cancelSeq = Atomics.load(control.words, W_CANCEL_ALL_SEQ);
        if (cancelSeq !== seenCancelAll) {
          seenCancelAll = cancelSeq;
          gateway.cancelAll();
          Atomics.store(control.words, W_CANCEL_ALL_ACK, cancelSeq);
          Atomics.notify(control.words, W_CANCEL_ALL_ACK);
        }
        const flattenSeq = Atomics.load(control.words, W_FLATTEN_SEQ);
        if (flattenSeq !== seenFlatten) {
          seenFlatten = flattenSeq;
          gateway.flatten();
          Atomics.store(control.words, W_FLATTEN_ACK, flattenSeq);
          Atomics.notify(control.words, W_FLATTEN_ACK);
        }
      }
      const n = orders.available();
      if (n === 0) {
        const seq = doorbell.prepareSleep();
        if (orders.available() > 0 || stopRequested() || operatorAsked()) {
          doorbell.cancelSleep();
          continue;
        }
        await doorbell.sleepAsync(seq, 100);
        continue;
      }
      const now = nowNs();
      for (let k = 0; k < n; k++) {
        const slot = orders.slotAt(k);
        const i = slot * 16;
        const f = slot * 8;
        if (k === 0) hOrderHop.recordN(now - orders.f64[f + F_TPUB]!, n);
        const kind = orders.i32[i + I_KIND];
        if (kind === RecordKind.ORDER_NEW) {
          m.add(c.orders, 1);
          const state = control.tradingState();
          if (state === TradingState.HALTED || state === TradingState.PAUSED) {
            // Decided before the halt, taken off the ring after it: it does not leave.
            emit(RecordKind.REJECT, orders.i32[i + I_SYMBOL]!, orders.i32[i + I_A]!, flagsSide(orders.i32[i + I_B]!) | (Reject.HALTED << 8), 0, 0, 0, 0, orders.f64[f + F_TRECV]!);
            continue;
          }
          gateway.submit(orders.i32[i + I_A]!, orders.i32[i + I_SYMBOL]!, orders.i32[i + I_B]!, orders.f64[f + F_P0]!, orders.f64[f + F_P1]!, orders.f64[f + F_P2]!, orders.f64[f + F_TRECV]!);
        } else if (kind === RecordKind.ORDER_CANCEL) {
          m.add(c.cancels, 1);
          gateway.cancel(orders.i32[i + I_A]!);
        } else if (kind === RecordKind.ORDER_CANCEL_ALL) {
          m.add(c.cancels, 1);
          gateway.cancelAll();
        }
      }
      orders.release(n);
      control.set(W_BROKER_BUDGET, budget.remaining());
      // Let the requests just started go out before taking more.
      await Promise.resolve();
    }
  } finally {
    clearInterval(housekeeping);
    gateway.stop();
    stream.stop();
    transport.close();
    journal.close();
  }
}
