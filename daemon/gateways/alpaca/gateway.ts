/**
 * The Alpaca execution gateway (execution worker): orders from the order ring go to Alpaca's
 * REST API, updates come back on the trade_updates stream, and every step is journalled.
 *
 * Never lose an order, never send one twice:
 * - each order gets a deterministic `client_order_id` and is written to the journal BEFORE it is
 *   sent; every answer and update is journalled after;
 * - an unknown outcome (timeout, connection closed, 5xx, "client_order_id must be unique") is
 *   resolved by looking the order up by its client_order_id, never by sending it again;
 * - fills are counted once per execution id (the journal refuses a second one), so a resync
 *   after a stream reconnect cannot double a position.
 *
 * Exec events go to the strategy through the exec-event ring, and to the shared order table
 * (`/status`, `/orders`).
 */
import type { AlpacaOrder, AlpacaRest, OrderRequest } from "./rest.ts";
import type { TradeUpdate } from "./stream.ts";
import type { OrderIntent, OrderJournal } from "../../journal/index.ts";
import type { OrderTable } from "../../shm/order-table.ts";
import { OrderStatus } from "../../shm/order-table.ts";
import { RecordKind, Reject, Side, OrderType, TimeInForce, flagsSide, flagsTif, flagsType, packOrderFlags } from "../../shm/records.ts";

const TYPE_NAMES: Record<number, OrderRequest["type"]> = { [OrderType.MARKET]: "market", [OrderType.LIMIT]: "limit", [OrderType.STOP]: "stop", [OrderType.STOP_LIMIT]: "stop_limit" };
const TIF_NAMES: Record<number, OrderRequest["time_in_force"]> = { [TimeInForce.DAY]: "day", [TimeInForce.GTC]: "gtc", [TimeInForce.IOC]: "ioc", [TimeInForce.FOK]: "fok" };

/** Emits one exec-event record (the worker writes it into the ring and publishes). */
export type EmitExec = (kind: RecordKind, symbolId: number, orderId: number, b: number, lastQty: number, lastPx: number, cum: number, leaves: number, tickRecvNs: number) => void;

interface Live {
  orderId: number;
  symbolId: number;
  side: Side;
  qty: number;
  entry: number;
  tickRecvNs: number;
  brokerId: string | null;
  filled: number;
  /** Sum of qty × price over our fills (for the price of a part caught up from an average). */
  cost: number;
  done: boolean;
}

export interface GatewayHooks {
  emit: EmitExec;
  now(): number;
  onOrderSent(tickRecvNs: number): void;
  onAck(tickRecvNs: number): void;
  log(level: "info" | "warn" | "error", message: string): void;
}

/** Prices as Alpaca wants them: strings, no float noise. */
function decimal(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 1e6) / 1e6);
}

/** The order's REST body, as `submit` sends it. */
function orderRequest(symbol: string, flags: number, qty: number, limitPx: number, stopPx: number, clientOrderId: string): OrderRequest {
  const type = flagsType(flags);
  const req: OrderRequest = {
    symbol,
    qty: decimal(qty),
    side: flagsSide(flags) === Side.BUY ? "buy" : "sell",
    type: TYPE_NAMES[type] ?? "limit",
    time_in_force: TIF_NAMES[flagsTif(flags)] ?? "day",
    client_order_id: clientOrderId,
  };
  if (type === OrderType.LIMIT || type === OrderType.STOP_LIMIT) req.limit_price = decimal(limitPx);
  if (type === OrderType.STOP || type === OrderType.STOP_LIMIT) req.stop_price = decimal(stopPx);
  return req;
}

/** The order's journal intent, as `submit` records it. */
function intentOf(req: OrderRequest, orderId: number, qty: number, limitPx: number, stopPx: number): OrderIntent {
  return { clientOrderId: req.client_order_id, localOrderId: orderId, symbol: req.symbol, side: req.side, type: req.type, timeInForce: req.time_in_force, qty, limitPrice: req.limit_price ? limitPx : null, stopPrice: req.stop_price ? stopPx : null, createdAtMs: Date.now(), qtyDecimal: req.qty, limitPriceDecimal: req.limit_price ?? null, stopPriceDecimal: req.stop_price ?? null };
}

/** Keep-warm's canned order: buy 1, limit, IOC (the shape of a typical order on the hot path). */
const WARM_FLAGS = packOrderFlags(Side.BUY, OrderType.LIMIT, TimeInForce.IOC);

export class AlpacaGateway {
  readonly #live = new Map<string, Live>();
  readonly #byOrderId = new Map<number, string>();

  constructor(
    readonly rest: AlpacaRest,
    readonly journal: OrderJournal,
    readonly table: OrderTable,
    readonly symbols: readonly string[],
    readonly hooks: GatewayHooks,
  ) {}

  #reject(l: Live, reason: Reject, why: string): void {
    if (l.done) return;
    l.done = true;
    this.table.setStatus(l.entry, OrderStatus.REJECTED, reason);
    this.hooks.emit(RecordKind.REJECT, l.symbolId, l.orderId, l.side | (reason << 8), 0, 0, l.filled, 0, l.tickRecvNs);
    this.hooks.log("warn", `order ${l.orderId} rejected: ${why}`);
  }

  /**
   * Keep-warm (`threads.keep_warm_us`, layout single): builds a canned order's body, journal
   * intent and op-log line and its rendered HTTP request, the code `submit` runs, and keeps
   * none of it: nothing is journaled, sent, counted or published.
   */
  warm(): void {
    const symbol = this.symbols[0];
    if (symbol === undefined) return;
    const req = orderRequest(symbol, WARM_FLAGS, 1, 100.01, 0, "warm-0");
    this.journal.warmIntent(intentOf(req, 0, 1, 100.01, 0));
    this.rest.warmOrder(req);
  }

  /** An ORDER_NEW record from the ring. Returns at once; the answer is handled when it comes. */
  submit(orderId: number, symbolId: number, flags: number, qty: number, limitPx: number, stopPx: number, tickRecvNs: number): void {
    const side = flagsSide(flags);
    const clientOrderId = this.journal.newClientOrderId(orderId);
    const entry = this.table.insert(orderId, symbolId, flags, qty, limitPx, tickRecvNs, this.hooks.now());
    const l: Live = { orderId, symbolId, side, qty, entry, tickRecvNs, brokerId: null, filled: 0, cost: 0, done: false };
    if (entry < 0) {
      this.hooks.emit(RecordKind.REJECT, symbolId, orderId, side | (Reject.ORDER_TABLE_FULL << 8), 0, 0, 0, 0, tickRecvNs);
      return;
    }
    const symbol = this.symbols[symbolId];
    if (symbol === undefined) return this.#reject(l, Reject.UNKNOWN_SYMBOL, `no symbol ${symbolId}`);
    const req = orderRequest(symbol, flags, qty, limitPx, stopPx, clientOrderId);
    // The journal first: if we die after this line, startup looks the order up. (Under
    // journal_sync normal this is one line in the journal's op log: see OrderJournal.)
    this.journal.recordIntent(intentOf(req, orderId, qty, limitPx, stopPx));
    // No separate "sent" commit: an intent and a sent-without-answer order are both in doubt at
    // startup and both looked up, so a second fsync before the wire would buy nothing.
    const answer = this.rest.submitOrder(req); // the request is written before this returns
    this.hooks.onOrderSent(tickRecvNs);
    this.#live.set(clientOrderId, l);
    this.#byOrderId.set(orderId, clientOrderId);
    void answer.then((r) => this.#onSubmitResult(clientOrderId, l, r));
  }

  #onSubmitResult(clientOrderId: string, l: Live, r: Awaited<ReturnType<AlpacaRest["submitOrder"]>>): void {
    if (this.#stopped) return; // shutting down: the journal keeps it in doubt; startup looks it up
    switch (r.kind) {
      case "accepted":
        this.#accepted(clientOrderId, l, r.order);
        return;
      case "rejected":
        this.journal.recordTerminal(clientOrderId, "rejected", `HTTP ${r.status}${r.code ? ` code ${r.code}` : ""}: ${r.message}`, Date.now());
        if (r.status === 401) this.hooks.log("error", "Alpaca refused the key id / secret key (HTTP 401 unauthorized): fix broker.alpaca.key_id / secret_key");
        this.#reject(l, r.reason === "rate_limited" ? Reject.RATE_LIMITED : Reject.BROKER_REJECTED, `HTTP ${r.status}: ${r.message}`);
        return;
      case "not_sent":
        this.journal.recordTerminal(clientOrderId, "rejected", `not sent: ${r.why}`, Date.now());
        this.#reject(l, Reject.NOT_SENT, r.why);
        return;
      case "unknown":
        this.journal.markUnknown(clientOrderId, r.why);
        this.hooks.log("warn", `order ${l.orderId} (${clientOrderId}): outcome unknown (${r.why}); looking it up, not resending`);
        void this.resolve(clientOrderId, l, 0);
    }
  }

  /** Looks an order of unknown outcome up by client_order_id, a few times, and settles it. */
  async resolve(clientOrderId: string, l: Live | null, attempt: number): Promise<void> {
    if (this.#stopped) return;
    const r = await this.rest.orderByClientId(clientOrderId);
    if (this.#stopped) return; // the journal is closing: it keeps the order in doubt for the next start
    if (r.kind === "found") {
      if (l) this.#accepted(clientOrderId, l, r.order);
      else this.journal.recordAccepted(clientOrderId, r.order.id, r.order.status, Date.now());
      return;
    }
    if (r.kind === "not_found") {
      // It never reached the broker: safe to call it rejected (the strategy may send a new one).
      this.journal.recordTerminal(clientOrderId, "not_found", "looked up after an unknown outcome: the broker has no such order", Date.now());
      if (l) this.#reject(l, Reject.NOT_SENT, "the broker has no such order");
      return;
    }
    // Keep asking (an unknown order must be settled, and the journal keeps it in doubt across a
    // restart meanwhile); say so loudly once it takes long.
    if (attempt === 5) this.hooks.log("error", `order ${clientOrderId}: still unknown after ${attempt + 1} look-ups (${r.why}); still looking it up every 2 s`);
    if (this.#stopped) return;
    await Bun.sleep(Math.min(2_000, 100 * 2 ** attempt));
    return this.resolve(clientOrderId, l, attempt + 1);
  }

  #accepted(clientOrderId: string, l: Live, order: AlpacaOrder): void {
    if (l.brokerId === null) {
      l.brokerId = order.id;
      this.journal.recordAccepted(clientOrderId, order.id, order.status, Date.now());
      this.table.setStatus(l.entry, OrderStatus.NEW);
      this.hooks.onAck(l.tickRecvNs);
      this.hooks.emit(RecordKind.ACK, l.symbolId, l.orderId, l.side, 0, 0, 0, l.qty, l.tickRecvNs);
    }
    // The REST answer may already carry fills (a marketable order), or an order found by look-up.
    this.#catchUp(clientOrderId, l, order, `rest-${order.id}-${order.filled_qty}`);
  }

  /** Brings our view up to the broker's order: fills we missed, and a terminal status. */
  #catchUp(clientOrderId: string, l: Live, order: AlpacaOrder, executionId: string): void {
    const brokerFilled = Number(order.filled_qty ?? 0);
    if (brokerFilled > l.filled) {
      // The part we missed, at the price that makes the average come out as the broker's.
      const avg = Number(order.filled_avg_price ?? 0);
      const px = (avg * brokerFilled - l.cost) / (brokerFilled - l.filled);
      this.#fillTo(clientOrderId, l, executionId, brokerFilled, px);
    }
    this.#terminal(clientOrderId, l, order.status);
  }

  /**
   * Counts the order's fills up to the broker's cumulative quantity `cumQty`: whatever path
   * told us first (the REST answer, the stream, a resync), a share is counted once. The
   * journal's per-execution-id check is a second guard.
   */
  #fillTo(clientOrderId: string, l: Live, executionId: string, cumQty: number, price: number): void {
    const qty = cumQty - l.filled;
    if (!(qty > 0)) return;
    if (!this.journal.recordFill(clientOrderId, executionId, qty, price, Date.now())) return; // seen already
    l.filled += qty;
    l.cost += qty * price;
    const signed = l.side === Side.BUY ? qty : -qty;
    this.table.applyFill(l.entry, l.symbolId, signed, price, this.hooks.now());
    this.hooks.emit(RecordKind.FILL, l.symbolId, l.orderId, l.side, qty, price, l.filled, Math.max(0, l.qty - l.filled), l.tickRecvNs);
    if (l.filled >= l.qty) l.done = true;
  }

  #terminal(clientOrderId: string, l: Live, status: string): void {
    if (l.done && status !== "filled") return;
    if (status === "canceled" || status === "expired" || status === "rejected" || status === "done_for_day") {
      if (l.done) return;
      l.done = true;
      this.journal.recordTerminal(clientOrderId, status === "done_for_day" ? "expired" : (status as "canceled" | "expired" | "rejected"), `broker status ${status}`, Date.now());
      const kind = status === "canceled" ? RecordKind.CANCELED : status === "rejected" ? RecordKind.REJECT : RecordKind.EXPIRED;
      this.table.setStatus(l.entry, status === "canceled" ? OrderStatus.CANCELED : status === "rejected" ? OrderStatus.REJECTED : OrderStatus.EXPIRED, status === "rejected" ? Reject.BROKER_REJECTED : 0);
      this.hooks.emit(kind, l.symbolId, l.orderId, l.side | (status === "rejected" ? Reject.BROKER_REJECTED << 8 : 0), 0, 0, l.filled, 0, l.tickRecvNs);
    } else if (status === "filled" && l.filled >= l.qty) {
      this.journal.recordTerminal(clientOrderId, "filled", "filled", Date.now());
    }
  }

  /** One trade_updates message. */
  onUpdate(u: TradeUpdate): void {
    const clientOrderId = u.order.client_order_id;
    const l = this.#live.get(clientOrderId);
    // ifKnown: updates also come for orders this journal never had (a flatten's closing orders,
    // one placed by hand); those are not an error (under journal_sync full this threw inside the
    // stream's message handler and took the worker down).
    this.journal.recordEvent(clientOrderId, `stream:${u.event}`, { execution_id: u.execution_id ?? null, qty: u.qty ?? null, price: u.price ?? null, status: u.order.status }, Date.now(), true);
    if (!l) {
      // Not an order of this run (a flatten's closing orders, or one placed by hand): its fills
      // still move the position.
      if ((u.event === "fill" || u.event === "partial_fill") && u.qty && u.price) this.#foreignFill(u);
      return;
    }
    if (l.brokerId === null) this.#accepted(clientOrderId, l, u.order as unknown as AlpacaOrder);
    switch (u.event) {
      case "fill":
      case "partial_fill":
        // The order object carries the broker's cumulative quantity and average price.
        this.#catchUp(clientOrderId, l, u.order as unknown as AlpacaOrder, u.execution_id ?? `stream-${u.order.id}-${u.order.filled_qty}`);
        return;
      case "canceled":
      case "expired":
      case "rejected":
      case "done_for_day":
        this.#terminal(clientOrderId, l, u.event);
        return;
      default:
        return; // new, accepted, pending_*: nothing to do beyond the journal
    }
  }

  /** After a stream reconnect: the orders updated meanwhile, caught up from REST. */
  async resync(sinceIso: string): Promise<number> {
    let orders: AlpacaOrder[];
    try {
      orders = await this.rest.ordersSince(sinceIso);
    } catch (e) {
      this.hooks.log("warn", `trade_updates resync: cannot list orders since ${sinceIso}: ${(e as Error).message}`);
      return 0;
    }
    let n = 0;
    for (const o of orders) {
      const l = this.#live.get(o.client_order_id);
      if (!l) continue;
      n++;
      if (l.brokerId === null) this.#accepted(o.client_order_id, l, o);
      else this.#catchUp(o.client_order_id, l, o, `resync-${o.id}-${o.filled_qty}`);
    }
    return n;
  }

  readonly #foreignFilled = new Map<string, number>();
  #stopped = false;

  /** Stops the look-up retries (shutdown); what is unsettled stays in doubt in the journal. */
  stop(): void {
    this.#stopped = true;
  }

  #foreignFill(u: TradeUpdate): void {
    const s = this.symbols.indexOf(u.order.symbol);
    if (s < 0) return;
    const cum = Number(u.order.filled_qty ?? 0);
    const seen = this.#foreignFilled.get(u.order.id) ?? 0;
    const qty = cum - seen;
    if (!(qty > 0)) return;
    this.#foreignFilled.set(u.order.id, cum);
    const side = u.order.side === "buy" ? Side.BUY : Side.SELL;
    const price = Number(u.price);
    this.table.applyPositionFill(s, side === Side.BUY ? qty : -qty, price, this.hooks.now());
    this.hooks.emit(RecordKind.FILL, s, 0, side, qty, price, cum, Math.max(0, Number(u.order.qty ?? cum) - cum), this.hooks.now());
  }

  /** The operator's flatten: the broker cancels every order and closes every position. */
  flatten(): void {
    void this.rest.closeAllPositions().then((r) => {
      if (!r.ok) this.hooks.log("error", `flatten refused by the broker: HTTP ${r.status} ${r.message}`);
      else this.hooks.log("info", "flatten: the broker is closing every position");
    });
  }

  cancel(orderId: number): void {
    const cid = this.#byOrderId.get(orderId);
    const l = cid ? this.#live.get(cid) : undefined;
    if (!l || l.done || !l.brokerId) return;
    void this.rest.cancel(l.brokerId).then((r) => {
      if (!r.ok) this.hooks.log("warn", `cancel of order ${orderId} refused: HTTP ${r.status} ${r.message}`);
    });
  }

  cancelAll(): void {
    void this.rest.cancelAll().then((r) => {
      if (!r.ok) this.hooks.log("warn", `cancel all refused: HTTP ${r.status} ${r.message}`);
    });
  }

  openOrders(): number {
    let n = 0;
    for (const l of this.#live.values()) if (!l.done) n++;
    return n;
  }
}
