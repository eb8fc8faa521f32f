/**
 * A fake Alpaca Trading API v2 (`PROTOCOLS.md` §B) and `trade_updates` stream (§C) for tests,
 * `tradingd bench` and `tradingd fake-exchange`: one Bun server, REST under `/v2`, the stream at
 * `/stream`. Orders, fills, positions, cash and buying power are simulated by `FakeBrokerage`.
 *
 * | what                 | behaviour                                                                    |
 * |----------------------|------------------------------------------------------------------------------|
 * | every REST answer    | `Content-Type: application/json; charset=UTF-8`, `X-Request-ID`, `X-RateLimit-*` |
 * | order of checks      | delay → rate limit (429) → injected failure → auth (401) → route             |
 * | auth                 | `APCA-API-KEY-ID` + `APCA-API-SECRET-KEY` of a configured pair, else 401      |
 * |                      | `{"message":"unauthorized"}` (no code)                                        |
 * | rate limit           | per key id, sliding minute, `rateLimitPerMin` (200); over → 429               |
 * | orders               | see `rest.ts` and `brokerage.ts`: 200 `accepted`, then `new` (and `fill`) on the stream |
 * | stream auth          | `{"action":"authenticate","data":{"key_id","secret_key"}}` or `{"action":"auth","key","secret"}` |
 * |                      | → `authorization` authorized; wrong → unauthorized, then close 1000 (code ours) |
 * | `listen` before auth | `authorization` unauthorized with `action:"listen"` (socket stays open)       |
 * | `listen`             | `listening` with the known streams asked for (`trade_updates`)               |
 * | stream frames        | binary (UTF-8 JSON) like paper; `binaryStreamFrames: false` for text          |
 *
 * Faults on command: `failNext`, `delayNext`, `dropAfterAccept`, `dropStream`, `stallStream` /
 * `resumeStream`, `rejectNext`. Introspection: `requests`, `orders`, `positions`, `account`,
 * `tradeUpdates`, `streamConnections`, `streamMessages`, `waitFor`, the `onRequest` hook.
 *
 * @example
 * ```ts
 * await using fake = await FakeAlpacaServer.start({ symbols: ["AAPL"] });
 * fake.setQuote("AAPL", "189.99", "190.01");
 * const res = await fetch(`${fake.url}/v2/orders`, {
 *   method: "POST",
 *   headers: { "APCA-API-KEY-ID": DEFAULT_KEY_ID, "APCA-API-SECRET-KEY": DEFAULT_SECRET_KEY },
 *   body: JSON.stringify({ symbol: "AAPL", qty: "1", side: "buy", type: "market", time_in_force: "day" }),
 * });
 * await fake.waitFor(() => fake.positions.length === 1, "the AAPL position");
 * ```
 */
import type { Server, ServerWebSocket } from "bun";
import { randomBytes } from "node:crypto";
import { nowNs } from "../../shm/clock.ts";
import { FakeBrokerage, decimalOption, type FillMode } from "./brokerage.ts";
import { formatDecimal } from "./decimal.ts";
import { FaultQueue, type DelaySpec, type FailureSpec, type RequestMatch } from "./faults.ts";
import type { OrderState } from "./order.ts";
import {
  ERROR_CODES,
  KNOWN_STREAMS,
  RATE_LIMIT_BODY,
  UNAUTHORIZED_BODY,
  authorizationMessage,
  errorBody,
  insufficientBuyingPowerBody,
  listeningMessage,
  parseStreamClientMessage,
  streamErrorMessage,
  tradeUpdateMessage,
  type AlpacaOrder,
  type AlpacaPosition,
  type TradeUpdate,
} from "./protocol.ts";
import { SlidingWindowRateLimit } from "./rate-limit.ts";
import { answerRest, type RestReply } from "./rest.ts";
import { FakeAlpacaStreamConnection, type StreamConnectionData } from "./stream-connection.ts";
import { WallClock } from "./timestamps.ts";
import { ConditionWaiters } from "../waiters.ts";

/** Shaped like paper credentials (`PK…`); not a real key. */
export const DEFAULT_KEY_ID = "PKFAKE0000000000000A";
export const DEFAULT_SECRET_KEY = "fakeAlpacaSecretKey000000000000000000000";

export interface ApiKeyPair {
  keyId: string;
  secretKey: string;
}

export interface FakeAlpacaServerOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Accepted credentials (default one pair: `DEFAULT_KEY_ID` / `DEFAULT_SECRET_KEY`). */
  keys?: readonly ApiKeyPair[];
  /** Requests per key per sliding minute (Alpaca: 200). */
  rateLimitPerMin?: number;
  /** Default `"marketable"` (see `FakeBrokerage`). */
  fillMode?: FillMode;
  /** trade_updates messages as binary frames, as paper sends them. Default true. */
  binaryStreamFrames?: boolean;
  /** Tradable symbols besides those `setQuote` adds; others get 422 invalid symbol. */
  symbols?: Iterable<string>;
  /** Starting cash, dollars. Default "100000". */
  cash?: string | number;
  /** Buying-power multiplier (1 cash, 2 reg T, 4 PDT). Default 1. */
  multiplier?: 1 | 2 | 4;
  /** Send `pending_new` before `new`. Default false. */
  pendingNew?: boolean;
  /** Force the clock's `is_open`; default: regular hours by the wall clock. */
  marketOpen?: boolean;
  /** Called with every REST request as it arrives (after its body is read, before it is answered). */
  onRequest?: (request: RecordedRequest) => void;
  /** Bun's WebSocket idle timeout, seconds. Default 120. */
  idleTimeoutSec?: number;
}

export interface RecordedRequest {
  /** 1, 2, 3… in arrival order. */
  id: number;
  method: string;
  /** Pathname and query, as sent. */
  path: string;
  /** Names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** `nowNs()` (daemon/shm/clock.ts) when the server got the request. */
  atNs: number;
  /** Status answered; null while pending or when dropped. */
  status: number | null;
  /** The connection was closed without an answer (`dropAfterAccept`). */
  dropped: boolean;
  /** Answered by `failNext`. */
  injected: boolean;
}

export interface StreamClientRecord {
  connectionId: number;
  atNs: number;
  text: string;
  binary: boolean;
}

export interface RecordedTradeUpdate {
  atNs: number;
  data: TradeUpdate;
  /** The message as sent: `{"stream":"trade_updates","data":{…}}`. */
  text: string;
}

const JSON_CONTENT_TYPE = "application/json; charset=UTF-8";

/** Default bodies of `failNext` by status (401, 403, 429 as the real API; the rest ours). */
function defaultFailureBody(status: number, buyingPower: string): string {
  switch (status) {
    case 401:
      return UNAUTHORIZED_BODY;
    case 403:
      return insufficientBuyingPowerBody(buyingPower, "0");
    case 422:
      return errorBody(ERROR_CODES.unprocessable, "request is not processable");
    case 429:
      return RATE_LIMIT_BODY;
    case 500:
      return errorBody(50010000, "internal server error");
    case 503:
      return errorBody(50310000, "service unavailable");
    default:
      return errorBody(status * 100_000, "injected failure");
  }
}

export class FakeAlpacaServer implements AsyncDisposable {
  /** Accepted credentials, key id → secret; tests may change it while running. */
  readonly keys: Map<string, string>;
  readonly brokerage: FakeBrokerage;
  readonly rateLimit: SlidingWindowRateLimit;
  /** Every REST request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Every trade update emitted (sent or not), in order. */
  readonly tradeUpdates: RecordedTradeUpdate[] = [];
  readonly streamConnections: FakeAlpacaStreamConnection[] = [];
  /** Every client message on the stream, in arrival order. */
  readonly streamMessages: StreamClientRecord[] = [];
  /** Overrides the clock's `is_open` (undefined: the schedule). */
  marketOpen: boolean | undefined;
  #server: Server<StreamConnectionData>;
  #clock = new WallClock();
  #binaryStreamFrames: boolean;
  #onRequest: ((request: RecordedRequest) => void) | undefined;
  #failures = new FaultQueue<FailureSpec>();
  #delays = new FaultQueue<DelaySpec>();
  #dropsArmed = 0;
  #nextConnectionId = 1;
  #closed = false;
  readonly #waiters = new ConditionWaiters();

  /** Starts listening (Bun.serve is synchronous; `start` is async for symmetry with other fakes). */
  static async start(options: FakeAlpacaServerOptions = {}): Promise<FakeAlpacaServer> {
    return new FakeAlpacaServer(options);
  }

  constructor(options: FakeAlpacaServerOptions = {}) {
    const keys = options.keys ?? [{ keyId: DEFAULT_KEY_ID, secretKey: DEFAULT_SECRET_KEY }];
    this.keys = new Map(keys.map((k) => [k.keyId, k.secretKey]));
    this.rateLimit = new SlidingWindowRateLimit(options.rateLimitPerMin ?? 200);
    this.#binaryStreamFrames = options.binaryStreamFrames ?? true;
    this.#onRequest = options.onRequest;
    this.marketOpen = options.marketOpen;
    this.brokerage = new FakeBrokerage({
      cash: decimalOption(options.cash ?? "100000", "cash"),
      multiplier: options.multiplier ?? 1,
      fillMode: options.fillMode ?? "marketable",
      pendingNew: options.pendingNew ?? false,
      clock: this.#clock,
      onTradeUpdate: (update) => this.#publish(update),
    });
    for (const symbol of options.symbols ?? []) this.brokerage.addSymbol(symbol);
    this.#server = Bun.serve<StreamConnectionData>({
      port: options.port ?? 0,
      hostname: options.hostname ?? "127.0.0.1",
      fetch: (request, server) => this.#fetch(request, server),
      websocket: {
        perMessageDeflate: false,
        idleTimeout: options.idleTimeoutSec ?? 120,
        open: (ws) => this.#streamOpen(ws),
        message: (ws, message) => this.#streamMessage(ws.data.connection, message),
        close: (ws, code, reason) => this.#streamClose(ws.data.connection, code, reason),
      },
    });
  }

  get port(): number {
    return this.#server.port!;
  }

  /** `http://127.0.0.1:<port>` (REST paths start with `/v2`). */
  get url(): string {
    return `http://${this.#server.hostname}:${this.port}`;
  }

  /** `ws://127.0.0.1:<port>/stream`. */
  get streamUrl(): string {
    return `ws://${this.#server.hostname}:${this.port}/stream`;
  }

  // ---- market and account ----

  /** Top of book for `symbol` (which becomes tradable); in `marketable` mode, resting orders it crosses fill. */
  setQuote(symbol: string, bid: string | number, ask: string | number, options: { lastdayPrice?: string | number } = {}): void {
    const lastday = options.lastdayPrice === undefined ? undefined : decimalOption(options.lastdayPrice, "lastdayPrice");
    this.brokerage.setQuote(symbol, decimalOption(bid, "bid"), decimalOption(ask, "ask"), lastday);
    this.#notify();
  }

  /** Makes `symbol` tradable without a quote. */
  addSymbol(symbol: string, options: { exchange?: string; assetId?: string } = {}): void {
    this.brokerage.addSymbol(symbol, options);
  }

  get fillMode(): FillMode {
    return this.brokerage.fillMode;
  }

  set fillMode(mode: FillMode) {
    this.brokerage.fillMode = mode;
  }

  /** Every order (wire objects, kept current), in submission order. */
  get orders(): readonly AlpacaOrder[] {
    return this.brokerage.orders.map((o) => o.json);
  }

  /** One order by id or client_order_id. */
  order(idOrClientOrderId: string): AlpacaOrder | undefined {
    return (this.brokerage.find(idOrClientOrderId) ?? this.brokerage.findByClientOrderId(idOrClientOrderId))?.json;
  }

  get positions(): AlpacaPosition[] {
    return this.brokerage.positionsJson();
  }

  get account(): Record<string, unknown> {
    return this.brokerage.accountJson();
  }

  get buyingPower(): string {
    return formatDecimal(this.brokerage.buyingPower());
  }

  /** Executes `qty` at `price` on an order (by id or client_order_id) that is `new` or `partially_filled`: `partial_fill` or `fill`. */
  fill(orderId: string, qty: string | number, price: string | number): AlpacaOrder {
    const order = this.#mustFind(orderId);
    this.brokerage.fill(order.id, decimalOption(qty, "qty"), decimalOption(price, "price"));
    this.#notify();
    return order.json;
  }

  /** Ends an open order with `expired`. */
  expire(orderId: string): AlpacaOrder {
    return this.#end(orderId, "expired");
  }

  /** Ends an open order with `done_for_day`. */
  doneForDay(orderId: string): AlpacaOrder {
    return this.#end(orderId, "done_for_day");
  }

  /** Ends an open order with `canceled` as if the venue did (no request). */
  cancelByVenue(orderId: string): AlpacaOrder {
    return this.#end(orderId, "canceled");
  }

  /** The next `count` accepted orders (200 `accepted`) get `rejected` instead of `new`. */
  rejectNext(count = 1): void {
    this.brokerage.rejectNextCount += count;
  }

  // ---- faults ----

  /**
   * The next `count` (default 1) matching requests are answered with `status` instead of being
   * handled (nothing is stored). Default bodies: 401 `{"message":"unauthorized"}`, 403 insufficient
   * buying power (current buying power, cost "0"), 429 rate limit exceeded with
   * `X-RateLimit-Remaining: 0`; 422/500/503 texts ours. The request still counts toward the rate limit.
   */
  failNext(spec: FailureSpec): void {
    this.#failures.add(spec);
  }

  /** The next `count` matching requests wait `ms` before being handled (a slow answer). */
  delayNext(ms: number, match: RequestMatch = {}): void {
    this.#delays.add({ ...match, ms });
  }

  /**
   * The next `count` `POST /v2/orders` that are accepted are stored and go live (stream events,
   * fills), but the TCP connection is closed without a response: the client cannot know.
   */
  dropAfterAccept(count = 1): void {
    this.#dropsArmed += count;
  }

  /** Removes every armed failure, delay and drop. */
  clearFaults(): void {
    this.#failures.clear();
    this.#delays.clear();
    this.#dropsArmed = 0;
  }

  /** Drops the open stream sockets without a Close frame (clients see 1006). */
  dropStream(): void {
    for (const c of this.#openStreams()) c.terminate();
  }

  /** Open stream connections go silent (messages dropped, counted); the sockets stay open. */
  stallStream(): void {
    for (const c of this.#openStreams()) c.stalled = true;
  }

  resumeStream(): void {
    for (const c of this.#openStreams()) c.stalled = false;
  }

  get openStreamConnections(): FakeAlpacaStreamConnection[] {
    return this.#openStreams();
  }

  // ---- waiting ----

  /**
   * Resolves once `condition()` holds, checked now and after every request, answer, trade
   * update, quote and stream event. Rejects after `timeoutMs` or on `close()`.
   */
  waitFor(condition: () => unknown, what = "condition", timeoutMs = 10_000): Promise<void> {
    if (this.#closed && !condition()) return Promise.reject(new Error(`fake alpaca server closed while waiting for ${what}`));
    return this.#waiters.wait(condition, what, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#server.stop(true);
    this.#waiters.rejectAll("fake alpaca server closed");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- REST ----

  async #fetch(request: Request, server: Server<StreamConnectionData>): Promise<Response | undefined> {
    const atNs = nowNs();
    const url = new URL(request.url);
    if (url.pathname === "/stream" || url.pathname === "/stream/") {
      const connection = new FakeAlpacaStreamConnection(this.#nextConnectionId, request, this.#binaryStreamFrames);
      if (server.upgrade(request, { data: { connection } })) {
        this.#nextConnectionId++;
        return undefined;
      }
      return new Response("Upgrade Required: this is a WebSocket endpoint\n", { status: 426 });
    }
    const record: RecordedRequest = {
      id: this.requests.length + 1,
      method: request.method,
      path: url.pathname + url.search,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
      atNs,
      status: null,
      dropped: false,
      injected: false,
    };
    this.requests.push(record);
    this.#onRequest?.(record);
    this.#notify();
    const response = await this.#answer(record, request, url);
    this.#notify();
    return response;
  }

  async #answer(record: RecordedRequest, request: Request, url: URL): Promise<Response> {
    const method = request.method;
    const delay = this.#delays.take(method, url.pathname);
    if (delay !== null) await new Promise((resolve) => setTimeout(resolve, delay.ms));
    const keyId = request.headers.get("apca-api-key-id") ?? "";
    const verdict = this.rateLimit.take(keyId);
    const headers: Record<string, string> = {
      "Content-Type": JSON_CONTENT_TYPE,
      "X-Request-ID": randomBytes(16).toString("hex"),
      ...verdict.headers,
    };
    const respond = (reply: RestReply): Response => {
      record.status = reply.status;
      return new Response(reply.body, { status: reply.status, headers });
    };
    if (!verdict.allowed) return respond({ status: 429, body: RATE_LIMIT_BODY });
    const failure = this.#failures.take(method, url.pathname);
    if (failure !== null) {
      record.injected = true;
      if (failure.status === 429) headers["X-RateLimit-Remaining"] = "0";
      Object.assign(headers, failure.headers);
      const body =
        failure.body === undefined
          ? defaultFailureBody(failure.status, this.buyingPower)
          : typeof failure.body === "string"
            ? failure.body
            : JSON.stringify(failure.body);
      return respond({ status: failure.status, body });
    }
    const secret = request.headers.get("apca-api-secret-key");
    if (keyId === "" || secret === null || this.keys.get(keyId) !== secret) return respond({ status: 401, body: UNAUTHORIZED_BODY });
    const reply = answerRest({ brokerage: this.brokerage, nowNs: () => this.#clock.nowNs(), marketOpen: this.marketOpen }, method, url, record.body);
    if (reply.created !== undefined && this.#dropsArmed > 0) {
      this.#dropsArmed--;
      record.dropped = true;
      return droppedResponse();
    }
    return respond(reply);
  }

  // ---- stream ----

  #streamOpen(ws: ServerWebSocket<StreamConnectionData>): void {
    const c = ws.data.connection;
    c.attach(ws);
    this.streamConnections.push(c);
    this.#notify();
  }

  #streamMessage(c: FakeAlpacaStreamConnection, message: string | Buffer): void {
    const binary = typeof message !== "string";
    const text = binary ? message.toString("utf8") : message;
    this.streamMessages.push({ connectionId: c.id, atNs: nowNs(), text, binary });
    if (!c.closing) this.#streamAnswer(c, text);
    this.#notify();
  }

  #streamAnswer(c: FakeAlpacaStreamConnection, text: string): void {
    const parsed = parseStreamClientMessage(text);
    if ("error" in parsed) {
      c.send(streamErrorMessage(parsed.error));
      return;
    }
    if (parsed.action === "authenticate") {
      c.keyId = parsed.keyId;
      c.authenticated = parsed.keyId !== "" && this.keys.get(parsed.keyId) === parsed.secretKey;
      c.send(authorizationMessage(c.authenticated ? "authorized" : "unauthorized", "authenticate"));
      if (!c.authenticated) c.close(1000);
      return;
    }
    if (!c.authenticated) {
      c.send(authorizationMessage("unauthorized", "listen"));
      return;
    }
    c.streams.clear();
    for (const s of parsed.streams) if (KNOWN_STREAMS.has(s)) c.streams.add(s);
    c.send(listeningMessage([...c.streams]));
  }

  #streamClose(c: FakeAlpacaStreamConnection, code: number, reason: string): void {
    c.open = false;
    c.closing = true;
    c.closeCode = code;
    c.closeReason = reason;
    this.#notify();
  }

  #publish(update: TradeUpdate): void {
    const text = tradeUpdateMessage(update);
    this.tradeUpdates.push({ atNs: nowNs(), data: update, text });
    for (const c of this.streamConnections) {
      if (c.open && !c.closing && c.authenticated && c.streams.has("trade_updates")) c.send(text);
    }
    this.#notify();
  }

  #openStreams(): FakeAlpacaStreamConnection[] {
    return this.streamConnections.filter((c) => c.open && !c.closing);
  }

  #mustFind(idOrClientOrderId: string): OrderState {
    const order = this.brokerage.find(idOrClientOrderId) ?? this.brokerage.findByClientOrderId(idOrClientOrderId);
    if (order === undefined) throw new Error(`no order ${idOrClientOrderId}`);
    return order;
  }

  #end(orderId: string, status: "expired" | "done_for_day" | "canceled"): AlpacaOrder {
    const order = this.brokerage.end(this.#mustFind(orderId).id, status);
    this.#notify();
    return order.json;
  }

  #notify(): void {
    this.#waiters.notify();
  }

}

/**
 * A response Bun cannot write: its body errors before the first byte, so Bun resets the
 * connection without a status line (the client's fetch fails with ECONNRESET). Erroring with
 * `undefined` keeps Bun from printing a stack trace.
 */
function droppedResponse(): Response {
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.error(undefined);
      },
    }),
    { status: 200 },
  );
}
