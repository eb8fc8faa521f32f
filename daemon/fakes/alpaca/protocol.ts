/**
 * Alpaca Trading API v2 wire shapes and texts as the fake speaks them (`PROTOCOLS.md` §B–C, the
 * OpenAPI spec `alpaca-trading-openapi-2.0.0.yaml` and the newer 2.0.1 spec's examples).
 *
 * Every body is compact JSON (as the real Go server writes it). Error texts are copied from the
 * sources named beside them; the ones no source gives are marked ours.
 */

export type OrderSide = "buy" | "sell";
export type OrderType = "market" | "limit" | "stop" | "stop_limit" | "trailing_stop";
export type TimeInForce = "day" | "gtc" | "opg" | "cls" | "ioc" | "fok";
export type OrderStatus =
  | "new"
  | "partially_filled"
  | "filled"
  | "done_for_day"
  | "canceled"
  | "expired"
  | "replaced"
  | "pending_cancel"
  | "pending_replace"
  | "accepted"
  | "pending_new"
  | "accepted_for_bidding"
  | "stopped"
  | "rejected"
  | "suspended"
  | "calculated";

export const ORDER_SIDES: readonly OrderSide[] = ["buy", "sell"];
export const ORDER_TYPES: readonly OrderType[] = ["market", "limit", "stop", "stop_limit", "trailing_stop"];
export const TIMES_IN_FORCE: readonly TimeInForce[] = ["day", "gtc", "opg", "cls", "ioc", "fok"];

/** Statuses after which nothing more happens to an order (`GET /v2/orders?status=closed`). */
export const CLOSED_STATUSES: ReadonlySet<OrderStatus> = new Set(["filled", "canceled", "expired", "replaced", "rejected", "done_for_day", "calculated"]);

/** The Order object, fields in the order of the spec's `EquityOrderResponse` example. */
export interface AlpacaOrder {
  id: string;
  client_order_id: string;
  created_at: string;
  updated_at: string;
  submitted_at: string;
  filled_at: string | null;
  expired_at: string | null;
  canceled_at: string | null;
  failed_at: string | null;
  replaced_at: string | null;
  replaced_by: string | null;
  replaces: string | null;
  asset_id: string;
  symbol: string;
  asset_class: "us_equity";
  notional: string | null;
  qty: string | null;
  filled_qty: string;
  filled_avg_price: string | null;
  order_class: "";
  order_type: OrderType;
  type: OrderType;
  side: OrderSide;
  time_in_force: TimeInForce;
  limit_price: string | null;
  stop_price: string | null;
  status: OrderStatus;
  extended_hours: boolean;
  legs: null;
  trail_percent: string | null;
  trail_price: string | null;
  hwm: string | null;
  subtag: null;
  source: null;
}

/** The Position object, fields in the order of the spec's Position `example-2`. */
export interface AlpacaPosition {
  asset_id: string;
  symbol: string;
  exchange: string;
  asset_class: "us_equity";
  asset_marginable: boolean;
  qty: string;
  qty_available: string;
  avg_entry_price: string;
  side: "long" | "short";
  market_value: string;
  cost_basis: string;
  unrealized_pl: string;
  unrealized_plpc: string;
  unrealized_intraday_pl: string;
  unrealized_intraday_plpc: string;
  current_price: string;
  lastday_price: string;
  change_today: string;
}

/** `DELETE /v2/orders` element (spec `CanceledOrderResponse`). */
export interface CanceledOrderResponse {
  id: string;
  status: number;
}

/** `DELETE /v2/positions` element (spec `PositionClosedReponse`, sic). */
export interface PositionClosedResponse {
  symbol: string;
  status: number;
  body: AlpacaOrder | { code: number; message: string };
}

// ---- errors ----

/** Bad or missing credentials (official learn article): no `code` field. */
export const UNAUTHORIZED_BODY = '{"message":"unauthorized"}';

export const ERROR_CODES = {
  /** Request validation; returned with HTTP 422 despite the 400 prefix (PROTOCOLS §B.8). */
  invalidRequest: 40010001,
  /** Body not JSON (ours: the code of the same family). */
  malformedBody: 40010000,
  forbidden: 40310000,
  notFound: 40410000,
  unprocessable: 42210000,
  rateLimited: 42910000,
} as const;

export function errorBody(code: number, message: string): string {
  return JSON.stringify({ code, message });
}

export const ERROR_MESSAGES = {
  // Sources: alpaca-py#260, alpaca-trade-api-python tests, Alpaca-API#135/#215, AL-SPEC-NEW, [observed].
  clientOrderIdUnique: "client_order_id must be unique",
  qtyOrNotionalRequired: "qty or notional is required",
  onlyOneOfQtyOrNotional: "only one of qty or notional is accepted",
  qtyMustBeInteger: "qty must be integer",
  orderIdMissing: "order_id is missing",
  orderNotFound: "order not found",
  positionDoesNotExist: "position does not exist",
  invalidSymbol: "invalid symbol",
  insufficientBuyingPower: "insufficient buying power",
  rateLimitExceeded: "rate limit exceeded",
  // Ours: no source gives these texts.
  malformedBody: "request body format is invalid",
  orderNotCancelable: "order is not cancelable",
  orderNotReplaceable: "order is not replaceable",
  clientOrderIdMissing: "client_order_id is missing",
  endpointNotFound: "endpoint not found",
  methodNotAllowed: "method not allowed",
} as const;

/** 403 on an order that costs more than the buying power (alpaca-py#225, a real response; keys alphabetical as Go writes a map). */
export function insufficientBuyingPowerBody(buyingPower: string, costBasis: string): string {
  return JSON.stringify({
    buying_power: buyingPower,
    code: ERROR_CODES.forbidden,
    cost_basis: costBasis,
    message: ERROR_MESSAGES.insufficientBuyingPower,
  });
}

export const RATE_LIMIT_BODY = errorBody(ERROR_CODES.rateLimited, ERROR_MESSAGES.rateLimitExceeded);

// ---- trade_updates stream (§C) ----

export type TradeEvent =
  | "new"
  | "fill"
  | "partial_fill"
  | "canceled"
  | "expired"
  | "done_for_day"
  | "replaced"
  | "rejected"
  | "pending_new"
  | "pending_cancel"
  | "pending_replace"
  | "stopped"
  | "suspended"
  | "calculated"
  | "order_replace_rejected"
  | "order_cancel_rejected";

/** Streams a client may listen to; others are left out of the `listening` reply (§C.3). */
export const KNOWN_STREAMS: ReadonlySet<string> = new Set(["trade_updates"]);

export function authorizationMessage(status: "authorized" | "unauthorized", action: "authenticate" | "listen"): string {
  return JSON.stringify({ stream: "authorization", data: { status, action } });
}

export function listeningMessage(streams: readonly string[]): string {
  return JSON.stringify({ stream: "listening", data: { streams } });
}

/** Ours: no source gives the server's answer to a message it cannot read. Clients ignore streams they do not know. */
export function streamErrorMessage(message: string): string {
  return JSON.stringify({ stream: "error", data: { error_message: message } });
}

/**
 * A `trade_updates` event's `data`: keys alphabetical like the docs' example (`event`,
 * `execution_id`, `order`, `position_qty`, `price`, `qty`, `timestamp`); `order` carries
 * `cancel_requested_at` besides the REST fields, keys alphabetical too.
 */
export interface TradeUpdate {
  event: TradeEvent;
  execution_id: string;
  order: Record<string, unknown>;
  position_qty?: string;
  price?: string;
  qty?: string;
  timestamp: string;
}

export function tradeUpdateMessage(data: TradeUpdate): string {
  return JSON.stringify({ stream: "trade_updates", data });
}

/** The order as the stream writes it: the REST fields plus `cancel_requested_at`, keys sorted. */
export function streamOrder(order: AlpacaOrder, cancelRequestedAt: string | null): Record<string, unknown> {
  const withCancel: Record<string, unknown> = { ...order, cancel_requested_at: cancelRequestedAt };
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(withCancel).sort()) sorted[key] = withCancel[key];
  return sorted;
}

/** Stream message parsed from a client frame. */
export type StreamClientMessage =
  | { action: "authenticate"; keyId: string; secretKey: string }
  | { action: "listen"; streams: string[] }
  | { error: string };

/**
 * Reads `{"action":"authenticate","data":{"key_id","secret_key"}}`, `{"action":"auth","key","secret"}`
 * (AL-TS) and `{"action":"listen","data":{"streams":[...]}}`. Error texts are ours.
 */
export function parseStreamClientMessage(text: string): StreamClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: "invalid message: not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "invalid message: expected a JSON object" };
  const m = value as { action?: unknown; data?: unknown; key?: unknown; secret?: unknown };
  const data = (typeof m.data === "object" && m.data !== null ? m.data : {}) as Record<string, unknown>;
  if (m.action === "authenticate") {
    return { action: "authenticate", keyId: String(data.key_id ?? ""), secretKey: String(data.secret_key ?? "") };
  }
  if (m.action === "auth") return { action: "authenticate", keyId: String(m.key ?? ""), secretKey: String(m.secret ?? "") };
  if (m.action === "listen") {
    const streams = Array.isArray(data.streams) ? data.streams.filter((s): s is string => typeof s === "string") : [];
    return { action: "listen", streams };
  }
  return { error: `invalid message: unknown action ${JSON.stringify(m.action ?? null)}` };
}
