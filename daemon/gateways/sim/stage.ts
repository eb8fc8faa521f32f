/**
 * The `sim` broker as an execution stage (`gateways/execution.ts`): takes the order ring, runs
 * the simulated broker (`broker.ts`), and publishes the exec events of a turn at once. Needs no
 * reconciliation and has no request budget; it sets BROKER_READY when built.
 */
import type { WorkerInit } from "../../workers/protocol.ts";
import { SpscRing } from "../../shm/ring.ts";
import { Doorbell } from "../../shm/doorbell.ts";
import { ControlBlock, W_BROKER_BUDGET, W_BROKER_READY, W_STOP_EXECUTION } from "../../shm/control.ts";
import { QuoteBook } from "../../shm/quote-book.ts";
import { OrderTable } from "../../shm/order-table.ts";
import { RecordKind, BROKER_ORDER_ID_BASE, writeExecRecord } from "../../shm/records.ts";
import { SimBroker } from "./broker.ts";
import { drainOrders, executionMetrics, OperatorRequests, type ExecutionMetricsParts, type ExecutionStage, type OrderSink } from "../execution.ts";
import { nowNs } from "../../shm/clock.ts";

export class SimExecution implements ExecutionStage, OrderSink {
  readonly eventDriven = false;
  readonly hasWork: () => boolean;
  readonly #control: ControlBlock;
  readonly #orders: SpscRing;
  readonly execRing: SpscRing;
  readonly #broker: SimBroker;
  readonly #operator: OperatorRequests;
  readonly #x: ExecutionMetricsParts;
  #now = 0;
  #nextOwnOrderId = BROKER_ORDER_ID_BASE;
  #turns = 0;
  #waitsSeen = 0;
  #lastBeat = 0;

  constructor(init: WorkerInit) {
    const cfg = init.config;
    const control = (this.#control = new ControlBlock(init.control));
    const orders = (this.#orders = new SpscRing(init.orderRing, cfg.rings.orders.slots));
    this.execRing = new SpscRing(init.execRing, cfg.rings.exec_events.slots);
    this.execRing.attachDoorbell(new Doorbell(init.strategyDoorbell));
    this.#x = executionMetrics(init.metrics.execution);
    const broker = (this.#broker = new SimBroker(
      new OrderTable(init.ordersTable, init.positionsTable, init.orderCapacity),
      new QuoteBook(init.quoteBook, init.symbols.length),
      { latencyNs: cfg.broker.sim.latency_us * 1000, fillRatio: cfg.broker.sim.fill_ratio, rejectIfNoQuote: cfg.broker.sim.reject_if_no_quote, symbols: init.symbols.length },
      (kind, sym, orderId, b, lastQty, lastPx, cum, leaves, tickRecvNs) => this.#emit(kind, sym, orderId, b, lastQty, lastPx, cum, leaves, tickRecvNs),
    ));
    const operator = (this.#operator = new OperatorRequests(control));
    this.hasWork = () => orders.available() > 0 || this.#stopRequested() || broker.nextDueNs() <= nowNs() || operator.pending();
    control.set(W_BROKER_BUDGET, 2_147_483_647);
    control.set(W_BROKER_READY, 1);
  }

  #stopRequested(): boolean {
    return Atomics.load(this.#control.words, W_STOP_EXECUTION) !== 0;
  }

  readonly #stopRequestedBound = (): boolean => this.#stopRequested();

  #emit(kind: RecordKind, sym: number, orderId: number, b: number, lastQty: number, lastPx: number, cum: number, leaves: number, tickRecvNs: number): void {
    const exec = this.execRing;
    const slot = exec.claimWait(this.#stopRequestedBound);
    if (slot < 0) return;
    const pub = nowNs();
    writeExecRecord(exec, slot, kind, sym, orderId, b, lastQty, lastPx, cum, leaves, tickRecvNs, pub);
    const m = this.#x.m;
    if (kind === RecordKind.ACK) {
      m.add(this.#x.c.acks, 1);
      this.#x.hTickToAck.record(pub - tickRecvNs);
    } else if (kind === RecordKind.FILL) m.add(this.#x.c.fills, 1);
    else if (kind === RecordKind.REJECT) m.add(this.#x.c.rejects, 1);
    else m.add(this.#x.c.canceled, 1);
  }

  // OrderSink
  newOrder(orderId: number, symbolId: number, flags: number, qty: number, limitPx: number, stopPx: number, tickRecvNs: number): void {
    const sent = nowNs();
    this.#x.hTickToOrder.record(sent - tickRecvNs);
    this.#broker.newOrder(orderId, symbolId, flags, qty, limitPx, stopPx, tickRecvNs, sent);
  }
  cancel(orderId: number): void {
    this.#broker.cancel(orderId, this.#now);
  }
  cancelAll(): void {
    this.#broker.cancelAll(this.#now);
  }
  rejectHalted(symbolId: number, orderId: number, b: number, tickRecvNs: number): void {
    this.#emit(RecordKind.REJECT, symbolId, orderId, b, 0, 0, 0, 0, tickRecvNs);
  }

  turn(): boolean {
    this.#now = nowNs();
    const n = drainOrders(this.#orders, this.#control, this.#x.m, this.#x.c, this.#x.hOrderHop, this, this.#now);
    const now = (this.#now = n > 0 ? nowNs() : this.#now);
    const broker = this.#broker;
    if (this.#operator.pending()) {
      this.#operator.serve(
        () => broker.cancelAll(now),
        () => (this.#nextOwnOrderId = broker.flatten(now, this.#nextOwnOrderId)),
      );
    }
    broker.poll(now);
    if (this.execRing.claimedCount() > 0) this.execRing.publish();
    const m = this.#x.m;
    m.set(this.#x.gOpen, broker.openOrders());
    if ((++this.#turns & 1023) === 0) m.add(this.#x.c.turns, 1024);
    if (now - this.#lastBeat > 1e9) {
      this.#lastBeat = now;
      m.set(this.#x.gHeartbeat, now);
      const w = this.execRing.producerWaits();
      if (w !== this.#waitsSeen) {
        m.add(this.#x.c.waits, w - this.#waitsSeen);
        this.#waitsSeen = w;
      }
    }
    return n > 0;
  }

  nextDueNs(): number {
    return this.#broker.nextDueNs();
  }

  finished(): boolean {
    return this.#stopRequested() && this.#orders.available() === 0 && this.#broker.nextDueNs() === Number.POSITIVE_INFINITY;
  }

  close(): void {
    if (this.execRing.claimedCount() > 0) this.execRing.publish();
  }
}
