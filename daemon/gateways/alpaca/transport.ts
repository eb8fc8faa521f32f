/**
 * How REST requests reach Alpaca: an interface, so the client can be `fetch` or the raw
 * HTTP/1.1 connection pool (`daemon/net/`), chosen by the figures in BENCHMARKS.md.
 *
 * A transport error says whether the request may have reached the server (`maybeSent`): then
 * the outcome of an order is unknown and it must be looked up, never sent again blind.
 */
import { ConnectionPool, type PoolEvent } from "../../net/pool.ts";
import { HttpError, RequestTemplate, formatHeaders, type HttpResponse } from "../../net/http1.ts";

export interface TransportResponse {
  status: number;
  header(name: string): string | null;
  body: string;
}

export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    message: string,
    readonly code: "timeout" | "closed" | "connect" | "tls" | "protocol",
    readonly maybeSent: boolean,
  ) {
    super(message);
  }
}

export interface HttpTransport {
  request(method: string, path: string, body: string | null, timeoutMs: number): Promise<TransportResponse>;
  /** Keep-warm: prepares the request as `request` would and sends nothing (optional). */
  warm?(method: string, path: string, body: string): void;
  close(): void;
}

/** `fetch` with keep-alive, the APCA headers built once. */
export class FetchTransport implements HttpTransport {
  readonly #base: string;
  readonly #headers: Record<string, string>;

  constructor(baseUrl: string, keyId: string, secretKey: string) {
    this.#base = baseUrl.replace(/\/$/, "");
    this.#headers = {
      "APCA-API-KEY-ID": keyId,
      "APCA-API-SECRET-KEY": secretKey,
      "Content-Type": "application/json",
      Connection: "keep-alive",
      "User-Agent": "tradingd",
    };
  }

  async request(method: string, path: string, body: string | null, timeoutMs: number): Promise<TransportResponse> {
    let res: Response;
    try {
      res = await fetch(this.#base + path, { method, headers: this.#headers, body, signal: AbortSignal.timeout(timeoutMs), keepalive: true });
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.name === "TimeoutError" || err.name === "AbortError") throw new TransportError(`${method} ${path}: no answer within ${timeoutMs} ms`, "timeout", true);
      const refused = err.code === "ConnectionRefused" || /ECONNREFUSED|Unable to connect/i.test(err.message);
      // fetch cannot tell whether bytes went out before a reset: only a refused connect is known unsent.
      throw new TransportError(`${method} ${path}: ${err.message}`, refused ? "connect" : "closed", !refused);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new TransportError(`${method} ${path}: the connection closed while reading the answer: ${(e as Error).message}`, "closed", true);
    }
    return { status: res.status, header: (n) => res.headers.get(n), body: text };
  }

  close(): void {}
}

/**
 * The raw HTTP/1.1 pool (`daemon/net/`): keep-alive connections opened and verified before the
 * first order, kept warm with `GET /v2/clock`, TCP_NODELAY; the order POST is rendered from a
 * prepared template. Measured ~2x faster than `fetch` on loopback (BENCHMARKS.md, HTTP client).
 * Warm-up requests count against Alpaca's 200 a minute too: at most `size` per warm interval.
 */
export class PoolTransport implements HttpTransport {
  readonly pool: ConnectionPool;
  readonly #headers: string;
  readonly #orderTemplate: RequestTemplate;

  constructor(baseUrl: string, keyId: string, secretKey: string, size: number, warmIntervalMs: number, onEvent?: (e: PoolEvent) => void) {
    const origin = new URL(baseUrl).origin;
    const headers = { "APCA-API-KEY-ID": keyId, "APCA-API-SECRET-KEY": secretKey, "Content-Type": "application/json", Connection: "keep-alive", "User-Agent": "tradingd" };
    this.#headers = formatHeaders(headers);
    this.#orderTemplate = new RequestTemplate({ origin, method: "POST", path: "/v2/orders", headers });
    this.pool = new ConnectionPool({ origin, size, warm: { method: "GET", path: "/v2/clock", headers }, warmIntervalMs, onEvent });
  }

  warm(method: string, path: string, body: string): void {
    if (method === "POST" && path === "/v2/orders") this.#orderTemplate.render(body);
  }

  async request(method: string, path: string, body: string | null, timeoutMs: number): Promise<TransportResponse> {
    let r: HttpResponse;
    try {
      r =
        method === "POST" && path === "/v2/orders" && body !== null
          ? await this.pool.send(this.#orderTemplate.render(body), timeoutMs)
          : await this.pool.request(method, path, this.#headers, body ?? undefined, timeoutMs);
    } catch (e) {
      if (e instanceof HttpError) throw new TransportError(`${method} ${path}: ${e.message}`, e.code, e.maybeSent);
      throw e;
    }
    return { status: r.status, header: (n) => r.headers.get(n.toLowerCase()) ?? null, body: r.body };
  }

  close(): void {
    this.pool.close();
  }
}
