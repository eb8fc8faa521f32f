/**
 * The strategy's side of the order path: the `StrategyContext` a strategy trades through, and
 * the strategy's own view of its orders and positions (kept from the exec events the execution
 * worker sends back; the positions live in the risk engine's ledger, which needs them too).
 *
 * Runs on the strategy worker's thread only. `submit` asks the risk engine and, when it passes,
 * writes one ORDER_NEW record into the order ring and publishes it at once (an order must not
 * wait for a batch). Nothing here allocates per tick or per order except the strings a
 * strategy's own `log` builds.
 */
import type { FillView, OrderSpec, OrderUpdateView, QuoteView, StrategyContext, TradeView } from "./api.ts";
import { prefault } from "../shm/prefault.ts";
import type { SpscRing } from "../shm/ring.ts";
import {
  RecordKind,
  Side,
  OrderType,
  TimeInForce,
  packOrderFlags,
  I_KIND,
  I_SYMBOL,
  I_A,
  I_B,
  F_TRECV,
  F_TPUB,
  F_P0,
  F_P1,
  F_P2,
  F_P3,
  REJECT_REASONS,
} from "../shm/records.ts";
import { RiskReason, RISK_REASON_NAMES } from "../risk/checks.ts";
import type { RiskEngine } from "../risk/engine.ts";
import { nowNs } from "../shm/clock.ts";

const ORDER_TABLE = 1 << 16;
const TYPE_CODES: Record<string, OrderType> = { market: OrderType.MARKET, limit: OrderType.LIMIT, stop: OrderType.STOP, stop_limit: OrderType.STOP_LIMIT };
const TIF_CODES: Record<string, TimeInForce> = { day: TimeInForce.DAY, gtc: TimeInForce.GTC, ioc: TimeInForce.IOC, fok: TimeInForce.FOK };

export interface RuntimeHooks {
  /** Called once per refused order with the reason (the worker counts it). */
  onRiskReject(reason: RiskReason): void;
  /** Called once per order written to the ring, with the decision latency (ns). */
  onOrderSent(decisionNs: number): void;
  log(message: string): void;
}

/** Mutable views reused for every callback (see the API doc: valid during the call only). */
class Views {
  quote = { symbolId: 0, symbol: "", bidPx: 0, askPx: 0, bidSize: 0, askSize: 0, recvNs: 0 } satisfies QuoteView;
  trade = { symbolId: 0, symbol: "", price: 0, size: 0, recvNs: 0 } satisfies TradeView;
  fill = { orderId: 0, symbolId: 0, symbol: "", side: "buy", qty: 0, price: 0, leavesQty: 0 } as { -readonly [K in keyof FillView]: FillView[K] };
  update = { orderId: 0, symbolId: 0, symbol: "", status: "accepted", reason: "" } as { -readonly [K in keyof OrderUpdateView]: OrderUpdateView[K] };
}

export class StrategyRuntime implements StrategyContext {
  readonly views = new Views();
  readonly symbols: readonly string[];
  readonly #ids: Map<string, number>;
  /** The risk engine's positions (signed, per symbol id). */
  readonly #positions: Float64Array;
  /** Open quantity on the buy side (+) and the sell side (-) per symbol. */
  readonly #openBuy: Float64Array;
  readonly #openSell: Float64Array;
  readonly #openCount: Int32Array;
  #openTotal = 0;
  // Orders by id & mask.
  // Indexed by order id: committed now (shm/prefault.ts), not a page at a time as ids advance.
  readonly #oSym = prefault(new Int32Array(ORDER_TABLE));
  readonly #oId = prefault(new Int32Array(ORDER_TABLE));
  readonly #oSide = prefault(new Int8Array(ORDER_TABLE));
  readonly #oLeaves = prefault(new Float64Array(ORDER_TABLE));
  readonly #oLive = prefault(new Uint8Array(ORDER_TABLE));
  #nextOrderId = 1;
  /** Receive time of the tick being handled (travels with the orders it causes). */
  tickRecvNs = 0;
  /** When the worker took the current record off the ring. */
  tickConsumedNs = 0;
  lastReject = "";

  constructor(
    symbols: readonly string[],
    readonly risk: RiskEngine,
    readonly orders: SpscRing,
    readonly hooks: RuntimeHooks,
    readonly stopRequested: () => boolean,
  ) {
    this.symbols = Object.freeze([...symbols]);
    this.#ids = new Map(symbols.map((s, i) => [s, i]));
    this.#positions = risk.positions;
    this.#openBuy = new Float64Array(symbols.length);
    this.#openSell = new Float64Array(symbols.length);
    this.#openCount = new Int32Array(symbols.length);
  }

  symbolId(symbol: string): number {
    return this.#ids.get(symbol) ?? -1;
  }
  position(symbolId: number): number {
    return this.#positions[symbolId] ?? 0;
  }
  openOrders(symbolId: number): number {
    return symbolId < 0 ? this.#openTotal : (this.#openCount[symbolId] ?? 0);
  }
  now(): number {
    return nowNs();
  }
  log(message: string): void {
    this.hooks.log(message);
  }

  #refuse(reason: RiskReason): number {
    this.lastReject = RISK_REASON_NAMES[reason];
    this.hooks.onRiskReject(reason);
    return 0;
  }

  submit(order: OrderSpec): number {
    const s = order.symbolId;
    if (!(s >= 0 && s < this.symbols.length) || (order.side !== "buy" && order.side !== "sell")) return this.#refuse(RiskReason.INVALID_ORDER);
    const type = TYPE_CODES[order.type ?? "limit"];
    const tif = TIF_CODES[order.tif ?? "day"];
    if (type === undefined || tif === undefined) return this.#refuse(RiskReason.INVALID_ORDER);
    const buy = order.side === "buy";
    const qty = order.qty;
    const limitPx = type === OrderType.LIMIT || type === OrderType.STOP_LIMIT ? (order.limitPx ?? NaN) : 0;
    const now = nowNs();
    const reason = this.risk.check(s, buy, qty, limitPx, buy ? this.#openBuy[s]! : this.#openSell[s]!, this.#openTotal, now);
    if (reason !== RiskReason.OK) return this.#refuse(reason);

    const id = this.#nextOrderId++;
    const slot = this.orders.claimWait(this.stopRequested);
    // -1: shutting down, or (layout single) the ring is full and cannot be waited on.
    if (slot < 0) return this.#refuse(this.stopRequested() ? RiskReason.HALTED : RiskReason.ORDER_RING_FULL);
    const i = slot * 16;
    const f = slot * 8;
    const ring = this.orders;
    ring.i32[i + I_KIND] = RecordKind.ORDER_NEW;
    ring.i32[i + I_SYMBOL] = s;
    ring.i32[i + I_A] = id;
    ring.i32[i + I_B] = packOrderFlags(buy ? Side.BUY : Side.SELL, type, tif);
    ring.f64[f + F_TRECV] = this.tickRecvNs;
    ring.f64[f + F_P0] = qty;
    ring.f64[f + F_P1] = limitPx;
    ring.f64[f + F_P2] = order.stopPx ?? 0;
    ring.f64[f + F_P3] = 0;
    const pub = nowNs();
    ring.f64[f + F_TPUB] = pub;
    ring.publish();

    const e = id & (ORDER_TABLE - 1);
    this.#oId[e] = id;
    this.#oSym[e] = s;
    this.#oSide[e] = buy ? 1 : -1;
    this.#oLeaves[e] = qty;
    this.#oLive[e] = 1;
    if (buy) this.#openBuy[s] = this.#openBuy[s]! + qty;
    else this.#openSell[s] = this.#openSell[s]! + qty;
    this.#openCount[s]!++;
    this.#openTotal++;
    this.risk.onSent(s, buy, limitPx, now);
    this.lastReject = "";
    this.hooks.onOrderSent(pub - (this.tickConsumedNs || now));
    return id;
  }

  cancel(orderId: number): boolean {
    const e = orderId & (ORDER_TABLE - 1);
    if (this.#oId[e] !== orderId || this.#oLive[e] === 0) return false;
    this.#sendControl(RecordKind.ORDER_CANCEL, this.#oSym[e]!, orderId);
    return true;
  }

  cancelAll(): void {
    this.#sendControl(RecordKind.ORDER_CANCEL_ALL, 0, 0);
  }

  #sendControl(kind: RecordKind, symbolId: number, orderId: number): void {
    const slot = this.orders.claimWait(this.stopRequested);
    if (slot < 0) return;
    const ring = this.orders;
    ring.i32[slot * 16 + I_KIND] = kind;
    ring.i32[slot * 16 + I_SYMBOL] = symbolId;
    ring.i32[slot * 16 + I_A] = orderId;
    ring.f64[slot * 8 + F_TRECV] = this.tickRecvNs;
    ring.f64[slot * 8 + F_TPUB] = nowNs();
    ring.publish();
  }

  /**
   * Applies one exec event to the strategy's view; returns which callback to make:
   * 1 = onFill (views.fill set), 2 = onOrderUpdate (views.update set), 0 = none.
   */
  applyExecEvent(kind: number, symbolId: number, orderId: number, b: number, lastQty: number, lastPx: number, leaves: number): number {
    if (kind === RecordKind.POSITION) {
      // The broker's position after reconciliation: the strategy starts from it.
      if (symbolId >= 0 && symbolId < this.symbols.length) this.risk.setPosition(symbolId, lastQty);
      return 0;
    }
    if (kind === RecordKind.RECONCILED) {
      // Reconciliation done; the account's P&L of the day so far at the broker counts toward the loss limit.
      this.risk.reconciled(lastQty);
      return 0;
    }
    const e = orderId & (ORDER_TABLE - 1);
    const known = this.#oId[e] === orderId && this.#oLive[e] === 1;
    const sym = this.symbols[symbolId] ?? "";
    if (kind === RecordKind.FILL) {
      const side = known ? this.#oSide[e]! : (b & 0xf) === Side.BUY ? 1 : -1;
      if (symbolId >= 0 && symbolId < this.symbols.length) this.risk.onFill(symbolId, side * lastQty, lastPx);
      if (known) {
        if (side > 0) this.#openBuy[symbolId] = this.#openBuy[symbolId]! - lastQty;
        else this.#openSell[symbolId] = this.#openSell[symbolId]! - lastQty;
        this.#oLeaves[e] = leaves;
        if (leaves <= 0) this.#close(e, symbolId, 0);
      }
      const f = this.views.fill;
      f.orderId = orderId;
      f.symbolId = symbolId;
      f.symbol = sym;
      f.side = side > 0 ? "buy" : "sell";
      f.qty = lastQty;
      f.price = lastPx;
      f.leavesQty = leaves;
      return 1;
    }
    const u = this.views.update;
    u.orderId = orderId;
    u.symbolId = symbolId;
    u.symbol = sym;
    u.reason = "";
    if (kind === RecordKind.ACK) {
      u.status = "accepted";
    } else {
      if (known) this.#close(e, symbolId, this.#oLeaves[e]!);
      u.status = kind === RecordKind.REJECT ? "rejected" : kind === RecordKind.CANCELED ? "canceled" : "expired";
      if (kind === RecordKind.REJECT) u.reason = REJECT_REASONS[b >> 8] ?? "unknown";
    }
    return 2;
  }

  #close(e: number, symbolId: number, leaves: number): void {
    if (this.#oSide[e]! > 0) this.#openBuy[symbolId] = this.#openBuy[symbolId]! - leaves;
    else this.#openSell[symbolId] = this.#openSell[symbolId]! - leaves;
    this.#oLive[e] = 0;
    this.#openCount[symbolId]!--;
    this.#openTotal--;
  }
}
