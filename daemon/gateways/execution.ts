/**
 * What every execution stage (the `sim` broker, `alpaca`) shares: the turn-based contract the
 * thread layouts drive, taking records off the order ring, and the operator's cancel-all and
 * flatten requests from the control block.
 *
 * | | must |
 * |---|---|
 * | orders | take every published order record each turn (one release); an ORDER_NEW taken while trading is HALTED or PAUSED is rejected (`Reject.HALTED`), never sent |
 * | operator | act on a new CANCEL_ALL_SEQ / FLATTEN_SEQ and store the matching ACK (then notify) |
 * | exec events | publish acks, fills, rejects, cancels into the exec-event ring, never dropping one |
 * | stop | after STOP_EXECUTION: take what is left on the order ring, finish what is due, then `finished()` |
 */
import type { SpscRing } from "../shm/ring.ts";
import { type ControlBlock, TradingState, W_CANCEL_ALL_ACK, W_CANCEL_ALL_SEQ, W_FLATTEN_ACK, W_FLATTEN_SEQ } from "../shm/control.ts";
import { RecordKind, Reject, flagsSide, I_KIND, I_SYMBOL, I_A, I_B, F_TRECV, F_TPUB, F_P0, F_P1, F_P2 } from "../shm/records.ts";
import { MetricsBlock, type CounterIndex, type GaugeIndex } from "../metrics/block.ts";
import { ExecutionMetrics } from "../metrics/layouts.ts";
import { gettid, schedGetcpu } from "../../ffi/libc.ts";
import type { LatencyHistogram } from "../metrics/histogram.ts";

/** An execution gateway as the thread layouts drive it (`workers/execution.ts`, `workers/single.ts`). */
export interface ExecutionStage {
  /** Prebound: whether a turn would find something to do now. */
  readonly hasWork: () => boolean;
  /** Whether the stage needs its thread's event loop (sockets, timers) between turns. */
  readonly eventDriven: boolean;
  /** The exec-event ring, this stage's producer side. */
  readonly execRing: SpscRing;
  /** One turn: orders, operator requests, what is due. Returns whether it took any order. */
  turn(): boolean;
  /** When something is next due without outside input (CLOCK_MONOTONIC ns; Infinity: nothing). */
  nextDueNs(): number;
  /** Stop was asked for and nothing is left to do. */
  finished(): boolean;
  /** Publishes what is pending and lets go of connections and files. */
  close(): void;
  /** Keep-warm (layout single): runs the order path's own code on scratch input, sending nothing. */
  warm?(): void;
}

/** The execution stage's metric block with its indexes; stamps this thread's id and CPU. */
export function executionMetrics(sab: SharedArrayBuffer) {
  const m = new MetricsBlock(ExecutionMetrics, sab);
  m.set(m.gaugeIndex("thread_id"), gettid());
  m.set(m.gaugeIndex("thread_cpu"), schedGetcpu());
  return {
    m,
    c: {
      orders: m.counterIndex("orders_received"),
      cancels: m.counterIndex("cancels_received"),
      acks: m.counterIndex("acks"),
      fills: m.counterIndex("fills"),
      rejects: m.counterIndex("rejects"),
      canceled: m.counterIndex("cancels"),
      turns: m.counterIndex("loop_turns"),
      waits: m.counterIndex("exec_ring_waits"),
    } satisfies Record<string, CounterIndex>,
    gOpen: m.gaugeIndex("open_orders") as GaugeIndex,
    gHeartbeat: m.gaugeIndex("heartbeat_ns") as GaugeIndex,
    hOrderHop: m.histogram("order_hop"),
    hTickToOrder: m.histogram("tick_to_order"),
    hTickToAck: m.histogram("tick_to_ack"),
  };
}
export type ExecutionMetricsParts = ReturnType<typeof executionMetrics>;

/** What the order-ring reader hands each record to. */
export interface OrderSink {
  newOrder(orderId: number, symbolId: number, flags: number, qty: number, limitPx: number, stopPx: number, tickRecvNs: number): void;
  cancel(orderId: number): void;
  cancelAll(): void;
  /** An order taken off the ring while trading is halted or paused: report it rejected. */
  rejectHalted(symbolId: number, orderId: number, b: number, tickRecvNs: number): void;
}

/**
 * Takes every published order record (one release) and hands each to `sink`; records the hop
 * (publish → taken) of the batch in `hOrderHop`. Returns how many records it took.
 */
export function drainOrders(orders: SpscRing, control: ControlBlock, m: MetricsBlock<typeof ExecutionMetrics>, c: { orders: CounterIndex; cancels: CounterIndex }, hOrderHop: LatencyHistogram, sink: OrderSink, now: number): number {
  const n = orders.available();
  if (n === 0) return 0;
  const i32 = orders.i32;
  const f64 = orders.f64;
  for (let k = 0; k < n; k++) {
    const slot = orders.slotAt(k);
    const i = slot * 16;
    const f = slot * 8;
    if (k === 0) hOrderHop.recordN(now - f64[f + F_TPUB]!, n);
    const kind = i32[i + I_KIND]!;
    if (kind === RecordKind.ORDER_NEW) {
      m.add(c.orders, 1);
      const state = control.tradingState();
      if (state === TradingState.HALTED || state === TradingState.PAUSED) {
        // Decided before the halt, taken off the ring after it: it does not leave.
        sink.rejectHalted(i32[i + I_SYMBOL]!, i32[i + I_A]!, flagsSide(i32[i + I_B]!) | (Reject.HALTED << 8), f64[f + F_TRECV]!);
        continue;
      }
      sink.newOrder(i32[i + I_A]!, i32[i + I_SYMBOL]!, i32[i + I_B]!, f64[f + F_P0]!, f64[f + F_P1]!, f64[f + F_P2]!, f64[f + F_TRECV]!);
    } else if (kind === RecordKind.ORDER_CANCEL) {
      m.add(c.cancels, 1);
      sink.cancel(i32[i + I_A]!);
    } else if (kind === RecordKind.ORDER_CANCEL_ALL) {
      m.add(c.cancels, 1);
      sink.cancelAll();
    }
  }
  orders.release(n);
  return n;
}

/** The operator's cancel-all and flatten requests (control words), each acted on once and acked. */
export class OperatorRequests {
  readonly #w: Int32Array;
  #seenCancelAll: number;
  #seenFlatten: number;

  constructor(control: ControlBlock) {
    this.#w = control.words;
    this.#seenCancelAll = Atomics.load(this.#w, W_CANCEL_ALL_SEQ);
    this.#seenFlatten = Atomics.load(this.#w, W_FLATTEN_SEQ);
  }

  /** Whether a request came that is not acted on yet. */
  pending(): boolean {
    return Atomics.load(this.#w, W_CANCEL_ALL_SEQ) !== this.#seenCancelAll || Atomics.load(this.#w, W_FLATTEN_SEQ) !== this.#seenFlatten;
  }

  /** Runs `cancelAll` / `flatten` for a new request, then acks it (main is waiting on the ack). */
  serve(cancelAll: () => void, flatten: () => void): void {
    const w = this.#w;
    const cancelSeq = Atomics.load(w, W_CANCEL_ALL_SEQ);
    if (cancelSeq !== this.#seenCancelAll) {
      this.#seenCancelAll = cancelSeq;
      cancelAll();
      Atomics.store(w, W_CANCEL_ALL_ACK, cancelSeq);
      Atomics.notify(w, W_CANCEL_ALL_ACK);
    }
    const flattenSeq = Atomics.load(w, W_FLATTEN_SEQ);
    if (flattenSeq !== this.#seenFlatten) {
      this.#seenFlatten = flattenSeq;
      flatten();
      Atomics.store(w, W_FLATTEN_ACK, flattenSeq);
      Atomics.notify(w, W_FLATTEN_ACK);
    }
  }
}
