/**
 * The execution worker: consumes the order ring, runs the execution gateway (the simulated
 * broker for now; Alpaca in issue 5), and produces exec events into the exec-event ring.
 *
 * Loop turn: take every order record, let the broker run what is due, publish the exec events
 * of the turn at once, then wait (configured strategy) on this thread's doorbell until the next
 * order or the broker's next due time.
 *
 * The exec-event ring never drops: a full ring makes this thread wait for the strategy, and the
 * wait is counted. Stopping: after STOP_EXECUTION it drains the order ring, lets what is
 * pending come due (bounded by the broker latency), and exits.
 */
import { serveWorker, type WorkerInit } from "./protocol.ts";
import { SpscRing } from "../shm/ring.ts";
import { Doorbell, Waiter } from "../shm/doorbell.ts";
import { ControlBlock, TradingState, W_BROKER_BUDGET, W_BROKER_READY, W_CANCEL_ALL_ACK, W_CANCEL_ALL_SEQ, W_FLATTEN_ACK, W_FLATTEN_SEQ, W_STOP_EXECUTION } from "../shm/control.ts";
import { QuoteBook } from "../shm/quote-book.ts";
import { OrderTable } from "../shm/order-table.ts";
import { RecordKind, Reject, BROKER_ORDER_ID_BASE, flagsSide, I_KIND, I_SYMBOL, I_A, I_B, F_TRECV, F_TPUB, F_P0, F_P1, F_P2, writeExecRecord } from "../shm/records.ts";
import { MetricsBlock } from "../metrics/block.ts";
import { ExecutionMetrics } from "../metrics/layouts.ts";
import { SimBroker } from "../gateways/sim/broker.ts";
import { runAlpacaExecution } from "../gateways/alpaca/run.ts";
import { nowNs } from "../shm/clock.ts";
import { gettid, schedGetcpu } from "../../ffi/libc.ts";

const MAX_WAIT_MS = 250;

export function runExecution(init: WorkerInit, ready: () => void): void | Promise<void> {
  if (init.config.broker.kind === "alpaca") return runAlpacaExecution(init, ready);
  return runSimExecution(init, ready);
}

function runSimExecution(init: WorkerInit, ready: () => void): void {
  const cfg = init.config;
  const control = new ControlBlock(init.control);
  const orders = new SpscRing(init.orderRing, cfg.rings.orders.slots);
  const exec = new SpscRing(init.execRing, cfg.rings.exec_events.slots);
  exec.attachDoorbell(new Doorbell(init.strategyDoorbell));
  const waiter = new Waiter(new Doorbell(init.executionDoorbell), cfg.threads.execution.wait, cfg.threads.execution.spin_us);
  const book = new QuoteBook(init.quoteBook, init.symbols.length);
  const table = new OrderTable(init.ordersTable, init.positionsTable, init.orderCapacity);

  const m = new MetricsBlock(ExecutionMetrics, init.metrics);
  const cOrders = m.counterIndex("orders_received");
  const cCancels = m.counterIndex("cancels_received");
  const cAcks = m.counterIndex("acks");
  const cFills = m.counterIndex("fills");
  const cRejects = m.counterIndex("rejects");
  const cCanceled = m.counterIndex("cancels");
  const cTurns = m.counterIndex("loop_turns");
  const cWaits = m.counterIndex("exec_ring_waits");
  const gOpen = m.gaugeIndex("open_orders");
  const gHeartbeat = m.gaugeIndex("heartbeat_ns");
  const hOrderHop = m.histogram("order_hop");
  const hTickToOrder = m.histogram("tick_to_order");
  const hTickToAck = m.histogram("tick_to_ack");
  m.set(m.gaugeIndex("thread_id"), gettid());
  m.set(m.gaugeIndex("thread_cpu"), schedGetcpu());

  const stopRequested = () => Atomics.load(control.words, W_STOP_EXECUTION) !== 0;
  const emit = (kind: RecordKind, sym: number, orderId: number, b: number, lastQty: number, lastPx: number, cum: number, leaves: number, tickRecvNs: number) => {
    const slot = exec.claimWait(stopRequested);
    if (slot < 0) return;
    const pub = nowNs();
    writeExecRecord(exec, slot, kind, sym, orderId, b, lastQty, lastPx, cum, leaves, tickRecvNs, pub);
    if (kind === RecordKind.ACK) {
      m.add(cAcks, 1);
      hTickToAck.record(pub - tickRecvNs);
    } else if (kind === RecordKind.FILL) m.add(cFills, 1);
    else if (kind === RecordKind.REJECT) m.add(cRejects, 1);
    else m.add(cCanceled, 1);
  };
  const broker = new SimBroker(
    table,
    book,
    { latencyNs: cfg.broker.sim.latency_us * 1000, fillRatio: cfg.broker.sim.fill_ratio, rejectIfNoQuote: cfg.broker.sim.reject_if_no_quote, symbols: init.symbols.length },
    emit,
  );
  const hasWork = () =>
    orders.available() > 0 ||
    stopRequested() ||
    broker.nextDueNs() <= nowNs() ||
    Atomics.load(control.words, W_CANCEL_ALL_SEQ) !== seenCancelAll ||
    Atomics.load(control.words, W_FLATTEN_SEQ) !== seenFlatten;

  // The simulated broker needs no reconciliation and has no request budget.
  control.set(W_BROKER_BUDGET, 2_147_483_647);
  control.set(W_BROKER_READY, 1);
  let seenCancelAll = Atomics.load(control.words, W_CANCEL_ALL_SEQ);
  let seenFlatten = Atomics.load(control.words, W_FLATTEN_SEQ);
  let nextOwnOrderId = BROKER_ORDER_ID_BASE;
  ready();
  let turns = 0;
  let waitsSeen = 0;
  let lastBeat = 0;
  for (;;) {
    const n = orders.available();
    let now = nowNs();
    if (n > 0) {
      const i32 = orders.i32;
      const f64 = orders.f64;
      for (let k = 0; k < n; k++) {
        const slot = orders.slotAt(k);
        const i = slot * 16;
        const f = slot * 8;
        if (k === 0) hOrderHop.recordN(now - f64[f + F_TPUB]!, n);
        const kind = i32[i + I_KIND]!;
        if (kind === RecordKind.ORDER_NEW) {
          m.add(cOrders, 1);
          const state = control.tradingState();
          if (state === TradingState.HALTED || state === TradingState.PAUSED) {
            // Decided before the halt, taken off the ring after it: it does not leave.
            emit(RecordKind.REJECT, i32[i + I_SYMBOL]!, i32[i + I_A]!, flagsSide(i32[i + I_B]!) | (Reject.HALTED << 8), 0, 0, 0, 0, f64[f + F_TRECV]!);
            continue;
          }
          const sent = nowNs();
          hTickToOrder.record(sent - f64[f + F_TRECV]!);
          broker.newOrder(i32[i + I_A]!, i32[i + I_SYMBOL]!, i32[i + I_B]!, f64[f + F_P0]!, f64[f + F_P1]!, f64[f + F_P2]!, f64[f + F_TRECV]!, sent);
        } else if (kind === RecordKind.ORDER_CANCEL) {
          m.add(cCancels, 1);
          broker.cancel(i32[i + I_A]!, now);
        } else if (kind === RecordKind.ORDER_CANCEL_ALL) {
          m.add(cCancels, 1);
          broker.cancelAll(now);
        }
      }
      orders.release(n);
      now = nowNs();
    }
    const cancelSeq = Atomics.load(control.words, W_CANCEL_ALL_SEQ);
    if (cancelSeq !== seenCancelAll) {
      seenCancelAll = cancelSeq;
      broker.cancelAll(now);
      Atomics.store(control.words, W_CANCEL_ALL_ACK, cancelSeq);
      Atomics.notify(control.words, W_CANCEL_ALL_ACK);
    }
    const flattenSeq = Atomics.load(control.words, W_FLATTEN_SEQ);
    if (flattenSeq !== seenFlatten) {
      seenFlatten = flattenSeq;
      nextOwnOrderId = broker.flatten(now, nextOwnOrderId);
      Atomics.store(control.words, W_FLATTEN_ACK, flattenSeq);
      Atomics.notify(control.words, W_FLATTEN_ACK);
    }
    broker.poll(now);
    if (exec.claimedCount() > 0) exec.publish();
    m.set(gOpen, broker.openOrders());
    if ((++turns & 1023) === 0) m.add(cTurns, 1024);
    if (now - lastBeat > 1e9) {
      lastBeat = now;
      m.set(gHeartbeat, now);
      const w = exec.producerWaits();
      if (w !== waitsSeen) {
        m.add(cWaits, w - waitsSeen);
        waitsSeen = w;
      }
    }
    if (stopRequested() && orders.available() === 0 && broker.nextDueNs() === Number.POSITIVE_INFINITY) break;
    if (n === 0) {
      const due = broker.nextDueNs();
      const waitMs = due === Number.POSITIVE_INFINITY ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, Math.max(0, (due - now) / 1e6));
      waiter.waitFor(hasWork, waitMs);
    }
  }
  if (exec.claimedCount() > 0) exec.publish();
}

if (!Bun.isMainThread) serveWorker(runExecution);
