/**
 * The account behind the fake: assets and quotes, orders and their lifecycle, positions, cash.
 * No I/O: REST calls it, it reports every order event through `onTradeUpdate`.
 *
 * | step                  | what happens                                                            |
 * |-----------------------|-------------------------------------------------------------------------|
 * | submit                | checks (symbol, client_order_id unique, buying power) → `accepted` order |
 * | deferred (after reply)| `pending_new` (option) → `new`, or `rejected` (`rejectNext`)            |
 * | `marketable` mode     | a marketable order fills whole at once: buys at the ask, sells at the bid; |
 * |                       | resting ones when a later quote crosses them; ioc/fok not marketable → canceled |
 * | `never` mode          | nothing fills; ioc/fok → canceled after `new`                           |
 * | `manual` mode         | nothing happens by itself: `fill(id, qty, price)`, `expire`, `doneForDay` |
 * | cancel                | `pending_cancel` at once, `canceled` (event) after the reply            |
 * | replace               | old → `pending_replace`, then `replaced` (event); the new order as a submit |
 *
 * Stops trigger when the ask (buy) / bid (sell) touches the stop and then act as market (stop) or
 * limit (stop_limit) orders; trailing stops track their high-water mark on every quote. The clock
 * does not gate fills (opg/cls behave as day). Quotes have no size: an execution is the whole
 * remaining quantity; notional orders fill `notional / price` shares truncated to 9 places.
 */
import { randomUUID } from "node:crypto";
import { accountJson, buyingPowerOf, type AccountFigures } from "./account.ts";
import { abs, divide, formatDecimal, fromInteger, isWhole, max, min, multiply, parseDecimal, truncate, type Decimal } from "./decimal.ts";
import { newYorkTime } from "./market-clock.ts";
import { OrderState } from "./order.ts";
import type { NewOrder, OrderPatch, Rejection } from "./order-request.ts";
import { applyExecution, positionJson, type PositionState } from "./position.ts";
import {
  ERROR_CODES,
  ERROR_MESSAGES,
  errorBody,
  insufficientBuyingPowerBody,
  type AlpacaPosition,
  type CanceledOrderResponse,
  type OrderStatus,
  type PositionClosedResponse,
  type TradeEvent,
  type TradeUpdate,
} from "./protocol.ts";
import { rfc3339Nano, type WallClock } from "./timestamps.ts";

export type FillMode = "marketable" | "never" | "manual";

export interface Asset {
  symbol: string;
  assetId: string;
  exchange: string;
  bid: Decimal | null;
  ask: Decimal | null;
  /** `lastday_price` of positions; the first quote's mid unless set. */
  lastdayPrice: Decimal | null;
  /** Price of the last execution. */
  lastPrice: Decimal | null;
}

/** Asset ids from the spec's examples, so payloads compare whole against the fixtures. */
const KNOWN_ASSET_IDS: Readonly<Record<string, string>> = { AAPL: "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415" };

export interface BrokerageOptions {
  cash: Decimal;
  multiplier: number;
  fillMode: FillMode;
  pendingNew: boolean;
  clock: WallClock;
  onTradeUpdate: (update: TradeUpdate, order: OrderState) => void;
  /** Runs `fn` after the current request is answered (default `setImmediate`). */
  defer?: (fn: () => void) => void;
}

export interface SubmitOptions {
  checkBuyingPower?: boolean;
  /** Id of the order this one replaces (PATCH). */
  replaces?: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(text: string): boolean {
  return UUID.test(text);
}

const rejection = (status: number, code: number, message: string): Rejection => ({ status, body: errorBody(code, message) });

export class FakeBrokerage {
  /** Every order, in submission order. */
  readonly orders: OrderState[] = [];
  readonly positions = new Map<string, PositionState>();
  readonly assets = new Map<string, Asset>();
  readonly accountId = randomUUID();
  readonly accountNumber = "PA3FAKE00001";
  readonly createdAt: string;
  cash: Decimal;
  readonly startingEquity: Decimal;
  multiplier: number;
  fillMode: FillMode;
  pendingNew: boolean;
  /** The next this-many accepted orders get `rejected` instead of `new`. */
  rejectNextCount = 0;
  #byId = new Map<string, OrderState>();
  /**
   * Orders that may still be open, in submission order; closed ones are dropped as they are met
   * (`#openOrders`), so the per-order work (quotes, buying power, positions) is in the number of
   * open orders, not of every order ever taken.
   */
  #open = new Set<OrderState>();
  #byClientOrderId = new Map<string, OrderState>();
  #clock: WallClock;
  #onTradeUpdate: BrokerageOptions["onTradeUpdate"];
  #defer: (fn: () => void) => void;

  constructor(options: BrokerageOptions) {
    this.cash = options.cash;
    this.startingEquity = options.cash;
    this.multiplier = options.multiplier;
    this.fillMode = options.fillMode;
    this.pendingNew = options.pendingNew;
    this.#clock = options.clock;
    this.#onTradeUpdate = options.onTradeUpdate;
    this.#defer = options.defer ?? ((fn) => void setImmediate(fn));
    this.createdAt = options.clock.now();
  }

  // ---- assets and quotes ----

  addSymbol(symbol: string, options: { exchange?: string; assetId?: string } = {}): Asset {
    let asset = this.assets.get(symbol);
    if (asset === undefined) {
      asset = {
        symbol,
        assetId: options.assetId ?? KNOWN_ASSET_IDS[symbol] ?? randomUUID(),
        exchange: options.exchange ?? "NASDAQ",
        bid: null,
        ask: null,
        lastdayPrice: null,
        lastPrice: null,
      };
      this.assets.set(symbol, asset);
    }
    return asset;
  }

  /** New top of book for `symbol` (known from now on); in `marketable` mode resting orders it crosses fill. */
  setQuote(symbol: string, bid: Decimal, ask: Decimal, lastdayPrice?: Decimal): void {
    const asset = this.addSymbol(symbol);
    asset.bid = bid;
    asset.ask = ask;
    if (lastdayPrice !== undefined) asset.lastdayPrice = lastdayPrice;
    else asset.lastdayPrice ??= this.currentPrice(asset);
    if (this.fillMode !== "marketable") return;
    for (const order of this.#openOrders()) {
      if (order.json.symbol === symbol && (order.status === "new" || order.status === "partially_filled")) this.#work(order);
    }
  }

  /** Mid of the quote, else the last execution price, else 0. */
  currentPrice(asset: Asset): Decimal {
    if (asset.bid !== null && asset.ask !== null && asset.bid > 0n && asset.ask > 0n) return divide(asset.bid + asset.ask, fromInteger(2));
    return asset.lastPrice ?? asset.ask ?? asset.bid ?? 0n;
  }

  // ---- orders ----

  find(id: string): OrderState | undefined {
    return this.#byId.get(id);
  }

  findByClientOrderId(clientOrderId: string): OrderState | undefined {
    return this.#byClientOrderId.get(clientOrderId);
  }

  submit(request: NewOrder, options: SubmitOptions = {}): OrderState | Rejection {
    const asset = this.assets.get(request.symbol);
    if (asset === undefined) return rejection(422, ERROR_CODES.unprocessable, ERROR_MESSAGES.invalidSymbol);
    const clientOrderId = request.clientOrderId ?? randomUUID();
    // Unique for the account's whole history, canceled orders included (alpaca-py#260).
    if (this.#byClientOrderId.has(clientOrderId)) return rejection(422, ERROR_CODES.invalidRequest, ERROR_MESSAGES.clientOrderIdUnique);
    const referencePrice = this.#referencePrice(request, asset);
    if (options.checkBuyingPower ?? true) {
      const cost = this.#cost(request, referencePrice);
      const buyingPower = this.buyingPower();
      if (cost > buyingPower) return { status: 403, body: insufficientBuyingPowerBody(formatDecimal(buyingPower), formatDecimal(cost)) };
    }
    const ns = this.#clock.nowNs();
    const at = { ns, text: rfc3339Nano(ns) };
    const order = new OrderState(request, { id: randomUUID(), clientOrderId, assetId: asset.assetId }, at, referencePrice, options.replaces ?? null);
    this.orders.push(order);
    this.#open.add(order);
    this.#byId.set(order.id, order);
    this.#byClientOrderId.set(clientOrderId, order);
    this.#defer(() => this.#route(order));
    return order;
  }

  /** `accepted`: 204 and `canceled` follows; `not_cancelable`: 422. */
  cancel(id: string): "accepted" | "not_found" | "not_cancelable" {
    const order = this.#byId.get(id);
    if (order === undefined) return "not_found";
    if (!order.open || order.status === "pending_cancel" || order.status === "pending_replace") return "not_cancelable";
    order.cancelRequestedAt = this.#clock.now();
    order.setStatus("pending_cancel", order.cancelRequestedAt);
    this.#defer(() => {
      if (order.status === "pending_cancel") this.#finish(order, "canceled");
    });
    return "accepted";
  }

  /** `DELETE /v2/orders`: one `{id, status: 200}` per open order a cancel was accepted for. */
  cancelAll(): CanceledOrderResponse[] {
    const out: CanceledOrderResponse[] = [];
    for (const order of this.#openOrders()) {
      if (order.open && this.cancel(order.id) === "accepted") out.push({ id: order.id, status: 200 });
    }
    return out;
  }

  /** `PATCH /v2/orders/{id}`: a new order replacing `id` (its remaining qty unless `qty`). */
  replace(id: string, patch: OrderPatch): OrderState | Rejection {
    const old = this.#byId.get(id);
    if (old === undefined) return rejection(404, ERROR_CODES.notFound, ERROR_MESSAGES.orderNotFound);
    if (old.status !== "new" && old.status !== "partially_filled") return rejection(422, ERROR_CODES.unprocessable, ERROR_MESSAGES.orderNotReplaceable);
    const r = old.request;
    const trailing = r.type === "trailing_stop";
    const request: NewOrder = {
      ...r,
      qty: patch.qty ?? old.remainingQty,
      notional: patch.qty === null ? (r.notional === null ? null : old.remainingNotional) : null,
      timeInForce: patch.timeInForce ?? r.timeInForce,
      limitPrice: patch.limitPrice ?? r.limitPrice,
      stopPrice: patch.stopPrice ?? r.stopPrice,
      trailPrice: trailing && r.trailPrice !== null ? (patch.trail ?? r.trailPrice) : r.trailPrice,
      trailPercent: trailing && r.trailPercent !== null ? (patch.trail ?? r.trailPercent) : r.trailPercent,
      clientOrderId: patch.clientOrderId,
    };
    if (request.clientOrderId !== null && this.#byClientOrderId.has(request.clientOrderId)) {
      return rejection(422, ERROR_CODES.invalidRequest, ERROR_MESSAGES.clientOrderIdUnique);
    }
    old.setStatus("pending_replace", this.#clock.now());
    // Queued before the new order's `new`, so the stream says `replaced` first.
    this.#defer(() => {
      const at = this.#clock.now();
      old.setStatus("replaced", at);
      old.json.replaced_at = at;
      this.#emit("replaced", old, at);
    });
    const created = this.submit(request, { replaces: old.id, checkBuyingPower: false });
    if ("body" in created) throw new Error(`replace of ${id} failed after checks: ${created.body}`);
    old.json.replaced_by = created.id;
    return created;
  }

  /** Manual fill (any mode): `qty` shares at `price` on an order that is `new` or `partially_filled`. */
  fill(id: string, qty: Decimal, price: Decimal): OrderState {
    const order = this.#mustFind(id);
    if (order.status !== "new" && order.status !== "partially_filled") {
      throw new Error(`order ${id} is ${order.status}; fill needs new or partially_filled (wait for the new event)`);
    }
    const remaining = order.remainingQty;
    if (qty <= 0n || (remaining !== null && qty > remaining)) throw new Error(`fill qty ${formatDecimal(qty)} not in (0, ${remaining === null ? "∞" : formatDecimal(remaining)}]`);
    this.#execute(order, qty, price);
    return order;
  }

  /** Ends an open order with `expired`, `done_for_day`, `canceled` or `rejected` and its event. */
  end(id: string, status: "expired" | "done_for_day" | "canceled" | "rejected"): OrderState {
    const order = this.#mustFind(id);
    if (!order.open) throw new Error(`order ${id} is already ${order.status}`);
    this.#finish(order, status);
    return order;
  }

  // ---- positions ----

  position(symbolOrAssetId: string): PositionState | undefined {
    const bySymbol = this.positions.get(symbolOrAssetId);
    if (bySymbol !== undefined) return bySymbol;
    for (const p of this.positions.values()) if (p.assetId === symbolOrAssetId) return p;
    return undefined;
  }

  positionJson(p: PositionState): AlpacaPosition {
    const asset = this.assets.get(p.symbol)!;
    let held = 0n;
    for (const o of this.#openOrders()) {
      if (o.open && o.json.symbol === p.symbol && (o.json.side === "sell") === p.qty > 0n) held += o.remainingQty ?? 0n;
    }
    return positionJson(p, {
      currentPrice: this.currentPrice(asset),
      lastdayPrice: asset.lastdayPrice ?? this.currentPrice(asset),
      qtyAvailable: p.qty > 0n ? max(0n, p.qty - held) : min(0n, p.qty + held),
      marginable: this.multiplier > 1,
    });
  }

  /** Open positions, by symbol. */
  positionsJson(): AlpacaPosition[] {
    return [...this.positions.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0)).map((p) => this.positionJson(p));
  }

  /** `DELETE /v2/positions/{symbol}`: a market day order for all (or `qty`, or `percentage` %) of it. */
  closePosition(symbolOrAssetId: string, amount: { qty: Decimal | null; percentage: Decimal | null }): OrderState | Rejection {
    const p = this.position(symbolOrAssetId);
    if (p === undefined) return rejection(404, ERROR_CODES.notFound, ERROR_MESSAGES.positionDoesNotExist);
    if (amount.qty !== null && amount.percentage !== null) return rejection(422, ERROR_CODES.invalidRequest, "only one of qty or percentage is accepted");
    const size = abs(p.qty);
    let qty = size;
    if (amount.qty !== null) qty = amount.qty;
    if (amount.percentage !== null) {
      if (amount.percentage <= 0n || amount.percentage > fromInteger(100)) return rejection(422, ERROR_CODES.invalidRequest, "percentage must be between 0 and 100");
      // Fractional only if the position is (spec).
      qty = truncate(divide(multiply(size, amount.percentage), fromInteger(100)), isWhole(size) ? 0 : 9);
    }
    if (qty <= 0n || qty > size) {
      return rejection(403, ERROR_CODES.forbidden, `insufficient qty available for order (requested: ${formatDecimal(qty)}, available: ${formatDecimal(size)})`);
    }
    return this.submit(
      {
        symbol: p.symbol,
        qty,
        notional: null,
        side: p.qty > 0n ? "sell" : "buy",
        type: "market",
        timeInForce: "day",
        limitPrice: null,
        stopPrice: null,
        trailPrice: null,
        trailPercent: null,
        extendedHours: false,
        clientOrderId: null,
      },
      { checkBuyingPower: false },
    );
  }

  /** `DELETE /v2/positions`: cancels open orders first if asked, then one closing order per position. */
  closeAllPositions(cancelOrders: boolean): PositionClosedResponse[] {
    if (cancelOrders) this.cancelAll();
    return [...this.positions.keys()].map((symbol) => {
      const result = this.closePosition(symbol, { qty: null, percentage: null });
      return "body" in result
        ? { symbol, status: result.status, body: JSON.parse(result.body) as { code: number; message: string } }
        : { symbol, status: 200, body: result.json };
    });
  }

  // ---- account ----

  figures(): AccountFigures {
    let longMarketValue = 0n;
    let shortMarketValue = 0n;
    for (const p of this.positions.values()) {
      const value = multiply(p.qty, this.currentPrice(this.assets.get(p.symbol)!));
      if (value > 0n) longMarketValue += value;
      else shortMarketValue += value;
    }
    let reserved = 0n;
    for (const o of this.#openOrders()) if (o.json.side === "buy") reserved += o.reservedCost;
    const ny = newYorkTime(Date.now());
    return {
      id: this.accountId,
      accountNumber: this.accountNumber,
      createdAt: this.createdAt,
      balanceAsOf: `${ny.year}-${String(ny.month).padStart(2, "0")}-${String(ny.day).padStart(2, "0")}`,
      cash: this.cash,
      multiplier: this.multiplier,
      longMarketValue,
      shortMarketValue,
      lastEquity: this.startingEquity,
      reserved,
    };
  }

  buyingPower(): Decimal {
    return buyingPowerOf(this.figures());
  }

  accountJson(): Record<string, unknown> {
    return accountJson(this.figures());
  }

  // ---- lifecycle ----

  /** A snapshot of the open orders in submission order, dropping the ones that closed since the last call. */
  #openOrders(): OrderState[] {
    const out: OrderState[] = [];
    for (const o of this.#open) {
      if (o.open) out.push(o);
      else this.#open.delete(o);
    }
    return out;
  }

  #mustFind(id: string): OrderState {
    const order = this.#byId.get(id) ?? this.#byClientOrderId.get(id);
    if (order === undefined) throw new Error(`no order ${id}`);
    return order;
  }

  #referencePrice(request: NewOrder, asset: Asset): Decimal {
    if (request.limitPrice !== null) return request.limitPrice;
    if (request.stopPrice !== null) return request.stopPrice;
    const touch = request.side === "buy" ? asset.ask : asset.bid;
    return touch !== null && touch > 0n ? touch : this.currentPrice(asset);
  }

  /** Dollars of buying power the order needs: a buy's cost; a sell's short part (beyond the long shares not already held). */
  #cost(request: NewOrder, referencePrice: Decimal): Decimal {
    if (request.side === "buy") return request.notional ?? multiply(request.qty!, referencePrice);
    if (request.qty === null) return 0n;
    const long = this.positions.get(request.symbol)?.qty ?? 0n;
    let heldBySells = 0n;
    for (const o of this.#openOrders()) if (o.open && o.json.symbol === request.symbol && o.json.side === "sell") heldBySells += o.remainingQty ?? 0n;
    const short = max(0n, request.qty - max(0n, long - heldBySells));
    return multiply(short, referencePrice);
  }

  #route(order: OrderState): void {
    if (order.status !== "accepted") return;
    if (this.rejectNextCount > 0) {
      this.rejectNextCount--;
      this.#finish(order, "rejected");
      return;
    }
    if (this.pendingNew) {
      order.setStatus("pending_new", this.#clock.now());
      this.#emit("pending_new", order, order.json.updated_at);
    }
    if (order.request.type === "trailing_stop") {
      // The mark starts at the touch price when the order goes live, so `new` carries hwm and stop_price.
      const asset = this.assets.get(order.json.symbol)!;
      const touch = order.json.side === "buy" ? asset.ask : asset.bid;
      if (touch !== null && touch > 0n) this.#moveTrailingStop(order, touch);
    }
    order.setStatus("new", this.#clock.now());
    this.#emit("new", order, order.json.updated_at);
    this.#work(order);
  }

  /** What the fill mode does with a working order now. */
  #work(order: OrderState): void {
    if (this.fillMode === "manual") return;
    const price = this.fillMode === "marketable" ? this.#executablePrice(order) : null;
    if (price !== null) {
      const qty = order.remainingQty ?? truncate(divide(order.remainingNotional, price), 9);
      if (qty > 0n) this.#execute(order, qty, price);
      return;
    }
    const tif = order.json.time_in_force;
    if (tif === "ioc" || tif === "fok") this.#finish(order, "canceled");
  }

  /** The price the order executes at against the current quote, or null (also moves stops and trailing marks). */
  #executablePrice(order: OrderState): Decimal | null {
    const asset = this.assets.get(order.json.symbol)!;
    const buy = order.json.side === "buy";
    const touch = buy ? asset.ask : asset.bid;
    if (touch === null || touch <= 0n) return null;
    const r = order.request;
    const withinLimit = (): boolean => r.limitPrice === null || (buy ? touch <= r.limitPrice : touch >= r.limitPrice);
    switch (r.type) {
      case "market":
        return touch;
      case "limit":
        return withinLimit() ? touch : null;
      case "stop":
      case "stop_limit":
        if (!order.triggered && (buy ? touch >= r.stopPrice! : touch <= r.stopPrice!)) order.triggered = true;
        return order.triggered && withinLimit() ? touch : null;
      case "trailing_stop": {
        const stop = this.#moveTrailingStop(order, touch);
        if (!order.triggered && (buy ? touch >= stop : touch <= stop)) order.triggered = true;
        return order.triggered ? touch : null;
      }
    }
  }

  /** Moves a trailing stop's mark (lowest ask for a buy, highest bid for a sell) and its stop; returns the stop. */
  #moveTrailingStop(order: OrderState, touch: Decimal): Decimal {
    const buy = order.json.side === "buy";
    const r = order.request;
    const mark = order.highWaterMark === null ? touch : buy ? min(order.highWaterMark, touch) : max(order.highWaterMark, touch);
    order.highWaterMark = mark;
    const offset = r.trailPrice ?? divide(multiply(mark, r.trailPercent!), fromInteger(100));
    const stop = buy ? mark + offset : mark - offset;
    order.json.hwm = formatDecimal(mark);
    order.json.stop_price = formatDecimal(stop);
    return stop;
  }

  #execute(order: OrderState, qty: Decimal, price: Decimal): void {
    const at = this.#clock.now();
    const filled = order.recordExecution(qty, price, at);
    const asset = this.assets.get(order.json.symbol)!;
    asset.lastPrice = price;
    const side = order.json.side;
    this.cash += side === "buy" ? -multiply(qty, price) : multiply(qty, price);
    const after = applyExecution(this.positions.get(asset.symbol), asset, side, qty, price);
    if (after === null) this.positions.delete(asset.symbol);
    else this.positions.set(asset.symbol, after);
    this.#emit(filled ? "fill" : "partial_fill", order, at, {
      position_qty: formatDecimal(after?.qty ?? 0n),
      price: formatDecimal(price),
      qty: formatDecimal(qty),
    });
  }

  #finish(order: OrderState, status: Extract<OrderStatus, "canceled" | "expired" | "done_for_day" | "rejected">): void {
    const at = this.#clock.now();
    order.setStatus(status, at);
    if (status === "canceled") order.json.canceled_at = at;
    if (status === "expired") order.json.expired_at = at;
    if (status === "rejected") order.json.failed_at = at;
    this.#emit(status, order, at);
  }

  /** One trade update, keys alphabetical as in the docs' example. */
  #emit(event: TradeEvent, order: OrderState, timestamp: string, fill?: { position_qty: string; price: string; qty: string }): void {
    const update: TradeUpdate = { event, execution_id: randomUUID(), order: order.streamJson(), ...fill, timestamp };
    this.#onTradeUpdate(update, order);
  }
}

/** A decimal option as given (`"100000"`, `100000`), or an error naming it. */
export function decimalOption(value: string | number, name: string): Decimal {
  const parsed = parseDecimal(value);
  if (parsed === null) throw new Error(`${name}: not a decimal: ${String(value)}`);
  return parsed;
}
