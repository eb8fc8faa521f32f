/**
 * The Polygon/Massive stocks WebSocket connection: connect, authenticate, subscribe, follow the
 * server's status events, reconnect with backoff, and hand every data frame to `onFrame` with
 * its receive time. Runs on the feed worker's event loop.
 *
 * | server status | what the client does |
 * |---|---|
 * | `connected` | nothing (auth was already sent on open, as the official Go client does) |
 * | `auth_success` | subscribes the configured channels and symbols |
 * | `auth_failed` | **fatal**: closes, never reconnects (a reconnect loop could lock the account) |
 * | `auth_timeout` | counted; the server closes; reconnect with backoff |
 * | `max_connections` | counted; another process holds the key: the next attempt waits `max_connections_backoff_ms` |
 * | `slow_consumer`, `force_disconnect` | counted; reconnect with backoff when the server closes |
 * | `success` | a subscription ack, counted |
 * | anything else | counted and logged |
 *
 * The handshake never offers `permessage-deflate` (compression costs latency on every frame):
 * Bun's client offers it unless told `perMessageDeflate: false` (seen at the fake). Bun's client
 * has no setNoDelay, but it sets TCP_NODELAY on the socket itself right after connect (seen with
 * strace, ws://).
 */
import { Backoff, type BackoffOptions } from "./backoff.ts";

export type PolygonState = "idle" | "connecting" | "authenticating" | "subscribed" | "backoff" | "failed" | "stopped";
export const POLYGON_STATES: readonly PolygonState[] = ["idle", "connecting", "authenticating", "subscribed", "backoff", "failed", "stopped"];

export type StatusKind = "auth_failed" | "auth_timeout" | "max_connections" | "slow_consumer" | "force_disconnect" | "subscribed" | "other";
export const STATUS_KINDS: readonly StatusKind[] = ["auth_failed", "auth_timeout", "max_connections", "slow_consumer", "force_disconnect", "subscribed", "other"];

export interface PolygonClientOptions {
  url: string;
  apiKey: string;
  /** `T.AAPL,Q.AAPL,…` or `T.*,Q.*`. */
  params: string;
  backoff: BackoffOptions;
  maxConnectionsBackoffMs: number;
  authTimeoutMs: number;
}

export interface PolygonClientHooks {
  /** Every text frame, with the process-clock time the handler started. */
  onFrame(frame: string, recvNs: number): void;
  onState(state: PolygonState, detail: string): void;
  onStatus(kind: StatusKind, message: string): void;
  onReconnect(): void;
  now(): number;
  log(level: "info" | "warn" | "error", message: string): void;
}

export class PolygonClient {
  #ws: WebSocket | null = null;
  #state: PolygonState = "idle";
  #timer: ReturnType<typeof setTimeout> | null = null;
  #authTimer: ReturnType<typeof setTimeout> | null = null;
  #nextWaitMs = 0;
  #everConnected = false;
  readonly #backoff: Backoff;

  constructor(
    readonly options: PolygonClientOptions,
    readonly hooks: PolygonClientHooks,
    random?: () => number,
  ) {
    this.#backoff = new Backoff(options.backoff, random);
  }

  get state(): PolygonState {
    return this.#state;
  }

  #set(state: PolygonState, detail = ""): void {
    this.#state = state;
    this.hooks.onState(state, detail);
  }

  start(): void {
    if (this.#state !== "idle" && this.#state !== "backoff") return;
    this.#connect();
  }

  stop(): void {
    this.#clearTimers();
    this.#set("stopped");
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000, "tradingd stopping");
  }

  #clearTimers(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#authTimer) clearTimeout(this.#authTimer);
    this.#timer = this.#authTimer = null;
  }

  #connect(): void {
    this.#set("connecting", this.options.url);
    let ws: WebSocket;
    try {
      // No permessage-deflate: Bun's client offers it unless told not to.
      ws = new WebSocket(this.options.url, { perMessageDeflate: false } as unknown as string[]);
    } catch (e) {
      this.#scheduleReconnect(`cannot connect: ${(e as Error).message}`);
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      this.#set("authenticating");
      // Pipelined like the official Go client: auth at once, before the `connected` status.
      ws.send(JSON.stringify({ action: "auth", params: this.options.apiKey }));
      this.#authTimer = setTimeout(() => {
        this.hooks.log("warn", `no auth reply from ${this.options.url} within ${this.options.authTimeoutMs} ms: reconnecting`);
        ws.close(4000, "auth reply timeout");
      }, this.options.authTimeoutMs);
    };
    ws.onmessage = (ev: MessageEvent) => {
      const recvNs = this.hooks.now();
      if (this.#ws !== ws) return;
      const data = ev.data;
      if (typeof data === "string") this.hooks.onFrame(data, recvNs);
      else this.hooks.onFrame(new TextDecoder().decode(data as ArrayBuffer), recvNs);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.#authTimer) clearTimeout(this.#authTimer);
      this.#authTimer = null;
      if (this.#state === "failed" || this.#state === "stopped") return;
      this.#scheduleReconnect(`connection closed (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`);
    };
    ws.onerror = () => {
      // onclose follows; the reconnect is scheduled there.
    };
  }

  #scheduleReconnect(why: string): void {
    const wait = this.#nextWaitMs > 0 ? this.#nextWaitMs : this.#backoff.next();
    this.#nextWaitMs = 0;
    if (this.#everConnected) this.hooks.onReconnect();
    this.#set("backoff", `${why}; reconnecting in ${wait} ms`);
    this.hooks.log("warn", `polygon feed: ${why}; reconnecting in ${wait} ms`);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#state === "backoff") this.#connect();
    }, wait);
  }

  /**
   * A status event from a data frame (the publisher scans frames and hands status events here).
   * `status` and `message` are the event's fields.
   */
  handleStatus(status: string, message: string): void {
    const ws = this.#ws;
    switch (status) {
      case "connected":
        return;
      case "auth_success":
        if (this.#authTimer) clearTimeout(this.#authTimer);
        this.#authTimer = null;
        ws?.send(JSON.stringify({ action: "subscribe", params: this.options.params }));
        this.#everConnected = true;
        this.#backoff.reset();
        this.#set("subscribed", this.options.params);
        this.hooks.log("info", `polygon feed: authenticated, subscribed to ${this.options.params}`);
        return;
      case "auth_failed":
        this.hooks.onStatus("auth_failed", message);
        this.#clearTimers();
        this.#set("failed", message);
        this.hooks.log(
          "error",
          `polygon feed: the server refused the API key (auth_failed: "${message}"). Not reconnecting, so the account is not locked out: fix feed.polygon.api_key (or the polygon_api_key credential) and restart. The daemon stays up without market data.`,
        );
        this.#ws = null;
        ws?.close(1000, "auth failed");
        return;
      case "auth_timeout":
        this.hooks.onStatus("auth_timeout", message);
        this.hooks.log("warn", `polygon feed: auth_timeout ("${message}")`);
        return;
      case "max_connections":
        this.hooks.onStatus("max_connections", message);
        this.#nextWaitMs = this.options.maxConnectionsBackoffMs;
        this.hooks.log(
          "error",
          `polygon feed: max_connections ("${message}"): another process is using this API key (one connection per key and asset class); backing off ${this.options.maxConnectionsBackoffMs} ms`,
        );
        return;
      case "slow_consumer":
      case "force_disconnect":
        this.hooks.onStatus(status, message);
        this.hooks.log("warn", `polygon feed: ${status} ("${message}"); will reconnect when the server closes`);
        return;
      case "success":
        this.hooks.onStatus("subscribed", message);
        return;
      default:
        this.hooks.onStatus("other", message);
        this.hooks.log("warn", `polygon feed: status ${status}: "${message}"`);
    }
  }
}
