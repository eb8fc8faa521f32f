/**
 * The REST routes of the fake (`PROTOCOLS.md` §B.5–B.7), after auth, rate limit and faults:
 * method + path + body in, status + exact body out. No I/O.
 *
 * | route                                   | answers                                                   |
 * |-----------------------------------------|-----------------------------------------------------------|
 * | `GET /v2/account`                       | 200 Account                                               |
 * | `GET /v2/clock`                         | 200 Clock                                                 |
 * | `POST /v2/orders`                       | 200 Order (`accepted`); 422 validation; 403 buying power  |
 * | `GET /v2/orders`                        | 200 [Order] (`status`,`limit`,`direction`,`after`,`until`,`symbols`,`side`) |
 * | `DELETE /v2/orders`                     | 207 [{id, status}]                                        |
 * | `GET /v2/orders:by_client_order_id`     | 200 Order; 404 order not found                            |
 * | `GET /v2/orders/{id}`                   | 200 Order; 422 order_id is missing (not a UUID); 404      |
 * | `PATCH /v2/orders/{id}`                 | 200 the new Order (`replaces`); 404; 422                  |
 * | `DELETE /v2/orders/{id}`                | 204; 404; 422 not cancelable (text ours)                  |
 * | `GET /v2/positions`, `/{symbol}`        | 200 [Position] / Position; 404 position does not exist    |
 * | `DELETE /v2/positions?cancel_orders=`   | 207 [{symbol, status, body}]                              |
 * | `DELETE /v2/positions/{symbol}`         | 200 Order (`qty` or `percentage`)                         |
 * | anything else                           | 404 / 405 (texts ours)                                    |
 */
import { isUuid, type FakeBrokerage } from "./brokerage.ts";
import { parseDecimal } from "./decimal.ts";
import { marketClock } from "./market-clock.ts";
import type { OrderState } from "./order.ts";
import { isRejection, parseJsonObject, validateNewOrder, validatePatch, type Rejection } from "./order-request.ts";
import { CLOSED_STATUSES, ERROR_CODES, ERROR_MESSAGES, errorBody, type AlpacaOrder } from "./protocol.ts";
import { parseTimestampNs } from "./timestamps.ts";

export interface RestReply {
  status: number;
  /** Exact body text; null for 204. */
  body: string | null;
  /** Set when `POST /v2/orders` created this order (what `dropAfterAccept` waits for). */
  created?: OrderState;
}

export interface RestContext {
  brokerage: FakeBrokerage;
  nowNs: () => bigint;
  /** Forces the clock's `is_open` (undefined: the schedule decides). */
  marketOpen: boolean | undefined;
}

const json = (status: number, value: unknown): RestReply => ({ status, body: JSON.stringify(value) });
const error = (status: number, code: number, message: string): RestReply => ({ status, body: errorBody(code, message) });
const fromRejection = (r: Rejection): RestReply => ({ status: r.status, body: r.body });
const ORDER_NOT_FOUND = error(404, ERROR_CODES.notFound, ERROR_MESSAGES.orderNotFound);
const NOT_FOUND = error(404, ERROR_CODES.notFound, ERROR_MESSAGES.endpointNotFound);
const METHOD_NOT_ALLOWED = error(405, 40510000, ERROR_MESSAGES.methodNotAllowed);
const invalidQuery = (name: string): RestReply => error(422, ERROR_CODES.invalidRequest, `invalid ${name}`);

export function answerRest(ctx: RestContext, method: string, url: URL, bodyText: string): RestReply {
  const path = decodeURIComponent(url.pathname).replace(/\/+$/, "");
  const b = ctx.brokerage;
  const only = (allowed: string, answer: () => RestReply): RestReply => (method === allowed ? answer() : METHOD_NOT_ALLOWED);

  if (path === "/v2/account") return only("GET", () => json(200, b.accountJson()));
  if (path === "/v2/clock") return only("GET", () => json(200, marketClock(ctx.nowNs(), ctx.marketOpen)));
  if (path === "/v2/orders") {
    if (method === "POST") return postOrder(b, bodyText);
    if (method === "GET") return listOrders(b, url.searchParams);
    if (method === "DELETE") return json(207, b.cancelAll());
    return METHOD_NOT_ALLOWED;
  }
  if (path === "/v2/orders:by_client_order_id") {
    return only("GET", () => {
      const clientOrderId = url.searchParams.get("client_order_id");
      if (clientOrderId === null || clientOrderId === "") return error(422, ERROR_CODES.invalidRequest, ERROR_MESSAGES.clientOrderIdMissing);
      const order = b.findByClientOrderId(clientOrderId);
      return order === undefined ? ORDER_NOT_FOUND : json(200, order.json);
    });
  }
  if (path.startsWith("/v2/orders/")) {
    const id = path.slice("/v2/orders/".length);
    if (method !== "GET" && method !== "PATCH" && method !== "DELETE") return METHOD_NOT_ALLOWED;
    if (!isUuid(id)) return error(422, ERROR_CODES.invalidRequest, ERROR_MESSAGES.orderIdMissing);
    if (method === "GET") {
      const order = b.find(id);
      return order === undefined ? ORDER_NOT_FOUND : json(200, order.json);
    }
    if (method === "DELETE") {
      const outcome = b.cancel(id);
      if (outcome === "not_found") return ORDER_NOT_FOUND;
      if (outcome === "not_cancelable") return error(422, ERROR_CODES.unprocessable, ERROR_MESSAGES.orderNotCancelable);
      return { status: 204, body: null };
    }
    const body = parseJsonObject(bodyText);
    if (isRejection(body)) return fromRejection(body);
    const patch = validatePatch(body);
    if (isRejection(patch)) return fromRejection(patch);
    const replaced = b.replace(id, patch);
    return "body" in replaced ? fromRejection(replaced) : json(200, replaced.json);
  }
  if (path === "/v2/positions") {
    if (method === "GET") return json(200, b.positionsJson());
    if (method === "DELETE") return json(207, b.closeAllPositions(url.searchParams.get("cancel_orders") === "true"));
    return METHOD_NOT_ALLOWED;
  }
  if (path.startsWith("/v2/positions/")) {
    const symbol = path.slice("/v2/positions/".length);
    if (method === "GET") {
      const p = b.position(symbol);
      return p === undefined ? error(404, ERROR_CODES.notFound, ERROR_MESSAGES.positionDoesNotExist) : json(200, b.positionJson(p));
    }
    if (method === "DELETE") {
      const qty = decimalQuery(url.searchParams, "qty");
      const percentage = decimalQuery(url.searchParams, "percentage");
      if (qty === undefined) return invalidQuery("qty");
      if (percentage === undefined) return invalidQuery("percentage");
      const result = b.closePosition(symbol, { qty, percentage });
      return "body" in result ? fromRejection(result) : json(200, result.json);
    }
    return METHOD_NOT_ALLOWED;
  }
  return NOT_FOUND;
}

function postOrder(b: FakeBrokerage, bodyText: string): RestReply {
  const body = parseJsonObject(bodyText);
  if (isRejection(body)) return fromRejection(body);
  const request = validateNewOrder(body);
  if (isRejection(request)) return fromRejection(request);
  const order = b.submit(request);
  if ("body" in order) return fromRejection(order);
  return { status: 200, body: JSON.stringify(order.json), created: order };
}

/** null if absent, undefined if unreadable. */
function decimalQuery(params: URLSearchParams, name: string): bigint | null | undefined {
  const raw = params.get(name);
  if (raw === null || raw === "") return null;
  return parseDecimal(raw) ?? undefined;
}

function listOrders(b: FakeBrokerage, q: URLSearchParams): RestReply {
  const status = q.get("status") ?? "open";
  if (status !== "open" && status !== "closed" && status !== "all") return invalidQuery("status");
  const direction = q.get("direction") ?? "desc";
  if (direction !== "asc" && direction !== "desc") return invalidQuery("direction");
  let limit = 50;
  if (q.has("limit")) {
    limit = Number(q.get("limit"));
    if (!Number.isInteger(limit) || limit < 1) return invalidQuery("limit");
    limit = Math.min(limit, 500);
  }
  const bound = (name: string): bigint | null | undefined => {
    const raw = q.get(name);
    return raw === null || raw === "" ? null : (parseTimestampNs(raw) ?? undefined);
  };
  const after = bound("after");
  if (after === undefined) return invalidQuery("after");
  const until = bound("until");
  if (until === undefined) return invalidQuery("until");
  const symbols = q.get("symbols") ? new Set(q.get("symbols")!.split(",").map((s) => s.trim()).filter((s) => s !== "")) : null;
  const side = q.get("side");
  const picked: AlpacaOrder[] = [];
  const orders = direction === "asc" ? b.orders : [...b.orders].reverse();
  for (const o of orders) {
    if (picked.length >= limit) break;
    const closed = CLOSED_STATUSES.has(o.status);
    if ((status === "open" && closed) || (status === "closed" && !closed)) continue;
    if (after !== null && o.submittedNs <= after) continue;
    if (until !== null && o.submittedNs >= until) continue;
    if (symbols !== null && !symbols.has(o.json.symbol)) continue;
    if (side !== null && side !== "" && o.json.side !== side) continue;
    picked.push(o.json);
  }
  return json(200, picked);
}
