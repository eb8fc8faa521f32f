/**
 * A tiny pool of N warm `Http1Connection`s to one origin, for the order path.
 *
 * - Each slot connects in the background and is VERIFIED before it carries a business request:
 *   the warm request (e.g. `GET /v2/clock`) must come back as a complete HTTP response (any
 *   status: it proves the transport, TLS included; `warmStatus` keeps the last status so a 401
 *   from bad keys is visible). A slot whose connection closes, whose warm request fails or times
 *   out, is dropped and reconnected with backoff (`Backoff`, as the feeds use), and verified again.
 * - Keep-warm: every slot idle for `warmIntervalMs` (no request on it) gets the warm request, so the
 *   connection (and the server's and middleboxes' idle timers) stays alive and a dead connection
 *   is found by a ping, not by an order.
 * - `send`/`request` pick an idle verified open connection (the one used least recently, so warm
 *   traffic spreads); if every verified connection is busy, the request is queued on the one with
 *   the shortest queue (the connection queues FIFO); if none is verified, it rejects at once with
 *   HttpError "connect", maybeSent false (safe to retry later). It never waits for a connect.
 *
 * Not thread-safe (one event loop); the execution worker owns its pool.
 */
import { Backoff, type BackoffOptions } from "../gateways/polygon/backoff.ts";
import { Http1Connection, HttpError, type Http1ConnectOptions, type HttpResponse, RequestTemplate } from "./http1.ts";

export interface PoolOptions {
  /** `http://host:port` or `https://host` origin. */
  origin: string;
  /** Connections to keep open. Default 2. */
  size?: number;
  connect?: Http1ConnectOptions;
  /** The cheap request that verifies and keeps connections warm. Default `GET /v2/clock` with no extra headers. */
  warm?: { method?: string; path?: string; headers?: Record<string, string> };
  /** A slot idle this long gets the warm request. Default 15 s. */
  warmIntervalMs?: number;
  /** Timeout of the warm request. Default 5 s. */
  warmTimeoutMs?: number;
  /** Reconnect backoff. Default 50 ms doubling to 5 s, ±20 % jitter. */
  backoff?: BackoffOptions;
  /** Events for the log: connected/verified/closed/failed. Not on the hot path. */
  onEvent?: (e: PoolEvent) => void;
}

export type PoolEvent =
  | { kind: "verified"; slot: number; status: number }
  | { kind: "closed"; slot: number; reason: string }
  | { kind: "failed"; slot: number; error: string; retryInMs: number };

interface Slot {
  index: number;
  conn: Http1Connection | null;
  verified: boolean;
  connecting: boolean;
  warming: boolean;
  backoff: Backoff;
  retry: ReturnType<typeof setTimeout> | undefined;
  /** When it was last handed out (a use count: the least recently used has the lowest). */
  lastUse: number;
}

export class ConnectionPool {
  readonly origin: string;
  readonly size: number;
  /** Status of the last warm response per slot (0 before the first). */
  readonly warmStatus: number[];
  /** Connections opened (first ones included) and warm requests sent, for metrics. */
  readonly stats = { connects: 0, connectFailures: 0, warmRequests: 0, warmFailures: 0, closes: 0 };

  #opts: PoolOptions;
  #slots: Slot[];
  #warm: RequestTemplate;
  #warmIntervalNs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #changed: Array<() => void> = [];
  #uses = 0;

  constructor(opts: PoolOptions) {
    this.#opts = opts;
    this.origin = new URL(opts.origin).origin;
    this.size = opts.size ?? 2;
    if (!(this.size >= 1)) throw new RangeError("pool size must be >= 1");
    this.warmStatus = new Array(this.size).fill(0);
    this.#warm = new RequestTemplate({
      origin: this.origin,
      method: opts.warm?.method ?? "GET",
      path: opts.warm?.path ?? "/v2/clock",
      headers: opts.warm?.headers ?? {},
    });
    const intervalMs = opts.warmIntervalMs ?? 15_000;
    this.#warmIntervalNs = intervalMs * 1e6;
    const backoff = opts.backoff ?? { initialMs: 50, maxMs: 5_000, multiplier: 2, jitter: 0.2 };
    this.#slots = Array.from({ length: this.size }, (_, index) => ({
      index,
      conn: null,
      verified: false,
      connecting: false,
      warming: false,
      backoff: new Backoff(backoff),
      retry: undefined,
      lastUse: 0,
    }));
    for (const s of this.#slots) this.#connect(s);
    // Checks a few times per interval, so a slot is warmed at most ~1.25 intervals after its last use.
    this.#timer = setInterval(() => this.#tick(), Math.max(5, intervalMs / 4));
    this.#timer.unref?.();
  }

  /** Connections verified open now. */
  get verified(): number {
    let n = 0;
    for (const s of this.#slots) if (s.verified && s.conn?.open) n++;
    return n;
  }

  /** Resolves once at least `n` connections are verified (default all); rejects after `timeoutMs`. */
  async ready(n = this.size, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.verified < n) {
      if (this.#closed) throw new HttpError("closed", "pool closed", false);
      const left = deadline - Date.now();
      if (left <= 0) throw new HttpError("connect", `${this.origin}: ${this.verified}/${n} connections verified after ${timeoutMs} ms`, false);
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#changed.push(resolve);
      const t = setTimeout(resolve, left);
      await promise;
      clearTimeout(t);
    }
  }

  /** An idle, verified, open connection (least recently used), or null. Marks it used. */
  acquire(): Http1Connection | null {
    let best: Slot | null = null;
    for (const s of this.#slots) {
      const c = s.conn;
      if (!s.verified || c === null || !c.open || c.busy) continue;
      if (best === null || s.lastUse < best.lastUse) best = s;
    }
    if (best === null) return null;
    best.lastUse = ++this.#uses;
    return best.conn;
  }

  /** Sends a prepared request (`RequestTemplate.render`) on a verified connection; see the module doc. */
  send(raw: string, timeoutMs?: number, head = false): Promise<HttpResponse> {
    const c = this.acquire() ?? this.#leastQueued();
    if (c === null) return Promise.reject(new HttpError("connect", `${this.origin}: no verified connection`, false));
    return c.send(raw, timeoutMs, head);
  }

  request(method: string, path: string, headers = "", body?: string, timeoutMs?: number): Promise<HttpResponse> {
    const c = this.acquire() ?? this.#leastQueued();
    if (c === null) return Promise.reject(new HttpError("connect", `${this.origin}: no verified connection`, false));
    return c.request(method, path, headers, body, timeoutMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const s of this.#slots) {
      if (s.retry !== undefined) clearTimeout(s.retry);
      s.verified = false;
      const c = s.conn;
      s.conn = null;
      if (c !== null) {
        c.onclose = null;
        c.close();
      }
    }
    this.#notify();
  }

  // -- internals ------------------------------------------------------------------------------

  #leastQueued(): Http1Connection | null {
    let best: Http1Connection | null = null;
    for (const s of this.#slots) {
      const c = s.conn;
      if (!s.verified || c === null || !c.open) continue;
      if (best === null || c.queued < best.queued) best = c;
    }
    return best;
  }

  #notify(): void {
    const w = this.#changed;
    this.#changed = [];
    for (const f of w) f();
  }

  #connect(s: Slot): void {
    if (this.#closed || s.connecting) return;
    s.retry = undefined;
    s.connecting = true;
    s.verified = false;
    this.stats.connects++;
    Http1Connection.connect(this.origin, this.#opts.connect).then(
      (conn) => {
        s.connecting = false;
        if (this.#closed) {
          conn.close();
          return;
        }
        s.conn = conn;
        conn.onclose = (_c, reason) => this.#lost(s, conn, reason);
        this.#warmSlot(s);
      },
      (e: Error) => {
        s.connecting = false;
        this.stats.connectFailures++;
        this.#retry(s, e.message);
      },
    );
  }

  #retry(s: Slot, error: string): void {
    if (this.#closed) return;
    const wait = s.backoff.next();
    this.#opts.onEvent?.({ kind: "failed", slot: s.index, error, retryInMs: wait });
    s.retry = setTimeout(() => this.#connect(s), wait);
  }

  #lost(s: Slot, conn: Http1Connection, reason: string): void {
    if (s.conn !== conn) return;
    const wasVerified = s.verified;
    s.conn = null;
    s.verified = false;
    this.stats.closes++;
    this.#notify();
    if (this.#closed) return;
    this.#opts.onEvent?.({ kind: "closed", slot: s.index, reason });
    if (s.retry !== undefined || s.connecting) return;
    // A verified connection that later closed (idle timeout, server restart) reconnects at once;
    // one that closed before it was verified (server refuses, drops, or never keeps alive) backs off.
    if (wasVerified) this.#connect(s);
    else this.#retry(s, `closed before verified: ${reason}`);
  }

  #warmSlot(s: Slot): void {
    const conn = s.conn;
    if (conn === null || !conn.open || conn.busy || s.warming) return;
    s.warming = true;
    this.stats.warmRequests++;
    conn.send(this.#warm.render(), this.#opts.warmTimeoutMs ?? 5_000, this.#warm.head).then(
      (res) => {
        s.warming = false;
        this.warmStatus[s.index] = res.status;
        if (s.conn !== conn) return;
        const first = !s.verified;
        s.verified = true;
        s.backoff.reset();
        if (first) {
          this.#opts.onEvent?.({ kind: "verified", slot: s.index, status: res.status });
          this.#notify();
        }
        // Not kept alive by the server: `onclose` has already dropped it and reconnects.
      },
      (e: Error) => {
        s.warming = false;
        this.stats.warmFailures++;
        if (s.conn !== conn) return;
        // The connection is unusable: drop it without the immediate reconnect of #lost, back off.
        s.conn = null;
        s.verified = false;
        conn.onclose = null;
        conn.close();
        this.#notify();
        this.#retry(s, `warm request: ${e.message}`);
      },
    );
  }

  #tick(): void {
    if (this.#closed) return;
    const now = Bun.nanoseconds();
    for (const s of this.#slots) {
      const c = s.conn;
      if (c === null || !s.verified || c.busy || s.warming) continue;
      if (now - c.lastActivityNs >= this.#warmIntervalNs) this.#warmSlot(s);
    }
  }
}
