/**
 * Alpaca Trading API v2 over a transport (`transport.ts`), with the client-side rate budget.
 * Every answer is classified, so the gateway never has to guess:
 *
 * | answer | `SubmitResult.kind` | what the gateway does |
 * |---|---|---|
 * | 200 | `accepted` | record the broker id; updates come on the stream |
 * | 422 `client_order_id must be unique` | `unknown` | it already exists: look it up |
 * | 401, 403, 422 (other), 404 | `rejected` | a reject with the broker's code and message (401 also logs the credentials problem) |
 * | 429 | `rejected` (rate_limited) | the budget is blocked until `X-RateLimit-Reset` |
 * | 5xx, timeout, connection closed after the request went out | `unknown` | look it up by client_order_id; never resend blind |
 * | connection refused, budget empty | `not_sent` | a local reject: nothing reached the broker |
 *
 * Decimals go out as strings, as Alpaca's own SDKs send them.
 */
import type { HttpTransport, TransportResponse } from "./transport.ts";
import { TransportError } from "./transport.ts";
import type { RateBudget } from "./rate-limit.ts";

export interface AlpacaOrder {
  id: string;
  client_order_id: string;
  symbol: string;
  side: string;
  type: string;
  time_in_force: string;
  qty: string | null;
  filled_qty: string;
  filled_avg_price: string | null;
  limit_price: string | null;
  stop_price: string | null;
  status: string;
  updated_at?: string;
  [k: string]: unknown;
}

export interface AlpacaPosition {
  symbol: string;
  qty: string;
  avg_entry_price: string;
  side: string;
  [k: string]: unknown;
}

export type SubmitResult =
  | { kind: "accepted"; order: AlpacaOrder }
  | { kind: "rejected"; status: number; code: number | null; message: string; reason: string }
  | { kind: "unknown"; why: string }
  | { kind: "not_sent"; why: string };

export type LookupResult = { kind: "found"; order: AlpacaOrder } | { kind: "not_found" } | { kind: "error"; why: string };

export interface OrderRequest {
  symbol: string;
  qty: string;
  side: "buy" | "sell";
  type: "market" | "limit" | "stop" | "stop_limit";
  time_in_force: "day" | "gtc" | "ioc" | "fok";
  limit_price?: string;
  stop_price?: string;
  client_order_id: string;
}

function parseError(res: TransportResponse): { code: number | null; message: string } {
  try {
    const j = JSON.parse(res.body) as { code?: unknown; message?: unknown };
    return { code: typeof j.code === "number" ? j.code : null, message: typeof j.message === "string" ? j.message : res.body.slice(0, 200) };
  } catch {
    return { code: null, message: res.body.slice(0, 200) };
  }
}

export class AlpacaRest {
  constructor(
    readonly transport: HttpTransport,
    readonly budget: RateBudget,
    readonly timeoutMs: number,
  ) {}

  #observe(res: TransportResponse): void {
    const remaining = res.header("x-ratelimit-remaining");
    if (remaining !== null) this.budget.observeServerRemaining(Number(remaining));
    if (res.status === 429) {
      const reset = res.header("x-ratelimit-reset");
      this.budget.blockUntil(reset === null ? null : Number(reset));
    }
  }

  async #call(method: string, path: string, body: string | null): Promise<TransportResponse> {
    const res = await this.transport.request(method, path, body, this.timeoutMs);
    this.#observe(res);
    return res;
  }

  /** Keep-warm: the body and request `submitOrder` would send, built and dropped (nothing spent or sent). */
  warmOrder(req: OrderRequest): void {
    this.transport.warm?.("POST", "/v2/orders", JSON.stringify(req));
  }

  async submitOrder(req: OrderRequest): Promise<SubmitResult> {
    if (!this.budget.trySpend()) return { kind: "not_sent", why: `rate budget spent (${this.budget.perMinute} a minute); next in ${this.budget.waitMs()} ms` };
    let res: TransportResponse;
    try {
      // The transport directly, not through #call: one async frame fewer before the write.
      res = await this.transport.request("POST", "/v2/orders", JSON.stringify(req), this.timeoutMs);
      this.#observe(res);
    } catch (e) {
      const err = e as TransportError;
      if (err instanceof TransportError && !err.maybeSent) return { kind: "not_sent", why: err.message };
      return { kind: "unknown", why: (e as Error).message };
    }
    if (res.status === 200 || res.status === 201) return { kind: "accepted", order: JSON.parse(res.body) as AlpacaOrder };
    const { code, message } = parseError(res);
    if (res.status === 422 && /client_order_id must be unique/i.test(message)) return { kind: "unknown", why: "client_order_id already exists at the broker" };
    if (res.status >= 500) return { kind: "unknown", why: `HTTP ${res.status}: ${message}` };
    const reason = res.status === 429 ? "rate_limited" : res.status === 401 ? "unauthorized" : res.status === 403 ? "forbidden" : "invalid";
    return { kind: "rejected", status: res.status, code, message, reason };
  }

  async orderByClientId(clientOrderId: string): Promise<LookupResult> {
    let res: TransportResponse;
    try {
      res = await this.#call("GET", `/v2/orders:by_client_order_id?client_order_id=${encodeURIComponent(clientOrderId)}`, null);
    } catch (e) {
      return { kind: "error", why: (e as Error).message };
    }
    if (res.status === 200) return { kind: "found", order: JSON.parse(res.body) as AlpacaOrder };
    if (res.status === 404) return { kind: "not_found" };
    return { kind: "error", why: `HTTP ${res.status}: ${parseError(res).message}` };
  }

  async cancel(brokerOrderId: string): Promise<{ ok: boolean; status: number; message: string }> {
    try {
      const res = await this.#call("DELETE", `/v2/orders/${brokerOrderId}`, null);
      return { ok: res.status === 204 || res.status === 200, status: res.status, message: res.status === 204 ? "" : parseError(res).message };
    } catch (e) {
      return { ok: false, status: 0, message: (e as Error).message };
    }
  }

  async cancelAll(): Promise<{ ok: boolean; status: number; message: string }> {
    try {
      const res = await this.#call("DELETE", "/v2/orders", null);
      return { ok: res.status === 207 || res.status === 200, status: res.status, message: res.status === 207 ? "" : parseError(res).message };
    } catch (e) {
      return { ok: false, status: 0, message: (e as Error).message };
    }
  }

  /** Closes every position (and cancels every open order first): `DELETE /v2/positions?cancel_orders=true`. */
  async closeAllPositions(): Promise<{ ok: boolean; status: number; message: string }> {
    try {
      const res = await this.#call("DELETE", "/v2/positions?cancel_orders=true", null);
      return { ok: res.status === 207 || res.status === 200, status: res.status, message: res.status === 207 ? "" : parseError(res).message };
    } catch (e) {
      return { ok: false, status: 0, message: (e as Error).message };
    }
  }

  async #getJson<T>(path: string): Promise<T> {
    const res = await this.#call("GET", path, null);
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${parseError(res).message}`);
    return JSON.parse(res.body) as T;
  }

  openOrders(): Promise<AlpacaOrder[]> {
    return this.#getJson("/v2/orders?status=open&limit=500&direction=asc");
  }
  ordersSince(afterIso: string): Promise<AlpacaOrder[]> {
    return this.#getJson(`/v2/orders?status=all&limit=500&direction=asc&after=${encodeURIComponent(afterIso)}`);
  }
  positions(): Promise<AlpacaPosition[]> {
    return this.#getJson("/v2/positions");
  }
  account(): Promise<Record<string, unknown>> {
    return this.#getJson("/v2/account");
  }
  clock(): Promise<{ timestamp: string; is_open: boolean }> {
    return this.#getJson("/v2/clock");
  }
}
