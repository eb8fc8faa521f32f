/**
 * Validation of `POST /v2/orders` and `PATCH /v2/orders/{id}` bodies (`PROTOCOLS.md` §B.3).
 * Checks run in the order below; the first failure is the answer. Texts from the sources where
 * they exist (`qty or notional is required`, `only one of qty or notional is accepted`, `qty must
 * be integer`); the others are ours, all as 422 with code 40010001 except the business rules
 * (42210000).
 */
import { isWhole, parseDecimal, type Decimal } from "./decimal.ts";
import {
  ERROR_CODES,
  ERROR_MESSAGES,
  ORDER_SIDES,
  ORDER_TYPES,
  TIMES_IN_FORCE,
  errorBody,
  type OrderSide,
  type OrderType,
  type TimeInForce,
} from "./protocol.ts";

/** client_order_id limit of the current spec (2.0.1; the 2.0.0 file says 48). */
export const CLIENT_ORDER_ID_MAX_LENGTH = 128;

export interface NewOrder {
  symbol: string;
  qty: Decimal | null;
  notional: Decimal | null;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  limitPrice: Decimal | null;
  stopPrice: Decimal | null;
  trailPrice: Decimal | null;
  trailPercent: Decimal | null;
  extendedHours: boolean;
  /** null: the server generates one. */
  clientOrderId: string | null;
}

export interface OrderPatch {
  qty: Decimal | null;
  timeInForce: TimeInForce | null;
  limitPrice: Decimal | null;
  stopPrice: Decimal | null;
  trail: Decimal | null;
  clientOrderId: string | null;
}

/** A rejected request: the HTTP status and the exact body. */
export interface Rejection {
  status: number;
  body: string;
}

const invalid = (message: string): Rejection => ({ status: 422, body: errorBody(ERROR_CODES.invalidRequest, message) });
const unprocessable = (message: string): Rejection => ({ status: 422, body: errorBody(ERROR_CODES.unprocessable, message) });

export const MALFORMED_BODY: Rejection = { status: 422, body: errorBody(ERROR_CODES.malformedBody, ERROR_MESSAGES.malformedBody) };

/** The body text parsed as a JSON object, or the malformed-body rejection. */
export function parseJsonObject(text: string): Record<string, unknown> | Rejection {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // falls through
  }
  return MALFORMED_BODY;
}

export function isRejection(value: unknown): value is Rejection {
  return typeof value === "object" && value !== null && "status" in value && "body" in value && typeof (value as Rejection).body === "string";
}

const present = (v: unknown): boolean => v !== undefined && v !== null && v !== "";

/** An optional positive decimal field: null if absent, the value, or a rejection. */
function positive(body: Record<string, unknown>, field: string): Decimal | null | Rejection {
  const raw = body[field];
  if (!present(raw)) return null;
  const value = parseDecimal(raw);
  if (value === null) return invalid(`invalid ${field}`);
  if (value <= 0n) return invalid(`${field} must be > 0`);
  return value;
}

function clientOrderId(raw: unknown): string | null | Rejection {
  if (!present(raw)) return null;
  if (typeof raw !== "string") return invalid("invalid client_order_id");
  if (raw.length > CLIENT_ORDER_ID_MAX_LENGTH) return invalid(`client_order_id must be no more than ${CLIENT_ORDER_ID_MAX_LENGTH} characters`);
  return raw;
}

export function validateNewOrder(body: Record<string, unknown>): NewOrder | Rejection {
  const symbol = body.symbol;
  if (typeof symbol !== "string" || symbol.trim() === "") return invalid("symbol is required");
  if (!present(body.qty) && !present(body.notional)) return invalid(ERROR_MESSAGES.qtyOrNotionalRequired);
  if (present(body.qty) && present(body.notional)) return invalid(ERROR_MESSAGES.onlyOneOfQtyOrNotional);
  const qty = positive(body, "qty");
  if (isRejection(qty)) return qty;
  const notional = positive(body, "notional");
  if (isRejection(notional)) return notional;
  if (!present(body.side)) return invalid("side is required");
  if (!ORDER_SIDES.includes(body.side as OrderSide)) return invalid("invalid side");
  if (!present(body.type)) return invalid("type is required");
  if (!ORDER_TYPES.includes(body.type as OrderType)) return invalid("invalid type");
  if (!present(body.time_in_force)) return invalid("time_in_force is required");
  if (!TIMES_IN_FORCE.includes(body.time_in_force as TimeInForce)) return invalid("invalid time_in_force");
  const type = body.type as OrderType;
  const timeInForce = body.time_in_force as TimeInForce;
  const limitPrice = positive(body, "limit_price");
  if (isRejection(limitPrice)) return limitPrice;
  const stopPrice = positive(body, "stop_price");
  if (isRejection(stopPrice)) return stopPrice;
  const trailPrice = positive(body, "trail_price");
  if (isRejection(trailPrice)) return trailPrice;
  const trailPercent = positive(body, "trail_percent");
  if (isRejection(trailPercent)) return trailPercent;
  if ((type === "limit" || type === "stop_limit") && limitPrice === null) return invalid("limit_price is required");
  if ((type === "stop" || type === "stop_limit") && stopPrice === null) return invalid("stop_price is required");
  if (type === "trailing_stop" && (trailPrice === null) === (trailPercent === null)) return invalid("exactly one of trail_price or trail_percent is required");
  const id = clientOrderId(body.client_order_id);
  if (isRejection(id)) return id;
  const marketDay = type === "market" && timeInForce === "day";
  // Fractional and notional orders: market + day only (§B.3).
  if (qty !== null && !isWhole(qty) && !marketDay) return invalid(ERROR_MESSAGES.qtyMustBeInteger);
  if (notional !== null && !marketDay) return unprocessable("notional orders must be market orders with time_in_force day");
  const extendedHours = body.extended_hours === true || body.extended_hours === "true";
  if (extendedHours && !(type === "limit" && (timeInForce === "day" || timeInForce === "gtc"))) {
    return unprocessable("extended hours orders must be limit orders with time_in_force day or gtc");
  }
  return {
    symbol: symbol.trim(),
    qty,
    notional,
    side: body.side as OrderSide,
    type,
    timeInForce,
    limitPrice,
    stopPrice,
    trailPrice,
    trailPercent,
    extendedHours,
    clientOrderId: id,
  };
}

export function validatePatch(body: Record<string, unknown>): OrderPatch | Rejection {
  const qty = positive(body, "qty");
  if (isRejection(qty)) return qty;
  const limitPrice = positive(body, "limit_price");
  if (isRejection(limitPrice)) return limitPrice;
  const stopPrice = positive(body, "stop_price");
  if (isRejection(stopPrice)) return stopPrice;
  const trail = positive(body, "trail");
  if (isRejection(trail)) return trail;
  let timeInForce: TimeInForce | null = null;
  if (present(body.time_in_force)) {
    if (!TIMES_IN_FORCE.includes(body.time_in_force as TimeInForce)) return invalid("invalid time_in_force");
    timeInForce = body.time_in_force as TimeInForce;
  }
  const id = clientOrderId(body.client_order_id);
  if (isRejection(id)) return id;
  return { qty, timeInForce, limitPrice, stopPrice, trail, clientOrderId: id };
}
