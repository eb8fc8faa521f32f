/**
 * A fake Polygon/Massive stocks WebSocket server (`PROTOCOLS.md` §A) for tests, `tradingd bench`
 * and `tradingd fake-exchange`. Speaks the protocol as the spec and the official PG-PY mock
 * server do, with what the official clients need (§A.7) and the faults a gateway must survive.
 *
 * | what                       | behaviour                                                                  |
 * |----------------------------|----------------------------------------------------------------------------|
 * | upgrade                    | any path (`/stocks`, `/`, `/<market>`); no permessage-deflate, ever; the   |
 * |                            | client's `Sec-WebSocket-Extensions` offer is recorded per connection        |
 * | on open                    | `connected` status, its own frame                                          |
 * | `auth`                     | key accepted → `auth_success`; else `auth_failed` + close 1000            |
 * | no auth in `authTimeoutMs` | `auth_timeout` + close 1000                                                |
 * | subscribe before auth      | `auth_required` (text ours)                                                |
 * | `subscribe`/`unsubscribe`  | params split on `,`, trimmed; one `success` ack frame per param            |
 * | malformed message          | `status:"error"` (texts ours)                                              |
 * | pipelined messages         | processed in arrival order (auth then subscribe back to back is fine)     |
 * | same key authenticates     | the OLDER connection gets `max_connections` + close 1008 (configurable)    |
 * | `publish`/`stream`         | each connection gets the events it subscribed to (`T.AAPL`, `T.*`)         |
 *
 * Faults on command: `sendStatus`, `maxConnections`, `abruptClose`, `sendGarbage`, `stall` /
 * `resume`. Introspection: `connections`, `stats`, `clientMessages`, `waitFor`.
 *
 * @example
 * ```ts
 * await using fake = await FakePolygonServer.start({ apiKeys: ["k"] });
 * const ws = new WebSocket(fake.url, { perMessageDeflate: false });
 * // ... auth, subscribe "T.*"
 * await fake.waitFor(() => fake.connections[0]?.subscriptions.params.has("T.*"));
 * await fake.stream({ rate: 10_000, batch: 10, count: 1_000, symbols: ["AAPL"], kinds: ["T"] });
 * ```
 */
import type { Server, ServerWebSocket } from "bun";
import { nowNs } from "../../shm/clock.ts";
import { FakePolygonConnection, type ConnectionData } from "./connection.ts";
import { garbageFrame, type GarbageKind } from "./garbage.ts";
import type { PolygonMarketEvent } from "./market.ts";
import {
  AUTH_FAILED_FRAME,
  AUTH_REQUIRED_FRAME,
  AUTH_SUCCESS_FRAME,
  AUTH_TIMEOUT_FRAME,
  CLOSE_NORMAL,
  CLOSE_POLICY_VIOLATION,
  CONNECTED_FRAME,
  MAX_CONNECTIONS_FRAME,
  parseClientMessage,
  splitParams,
  statusFrame,
  subscribedFrame,
  unsubscribedFrame,
  type PolygonStatus,
} from "./protocol.ts";
import { runStream, type StreamOptions, type StreamResult } from "./stream.ts";
import { ConditionWaiters } from "../waiters.ts";

export const DEFAULT_API_KEY = "fake-polygon-key";

export interface FakePolygonServerOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Keys that authenticate (default `[DEFAULT_API_KEY]`); `"any"` accepts every key, like the PG-PY mock. */
  apiKeys?: Iterable<string> | "any";
  /** Close a connection that has not sent `auth` after this long (upstream's is undocumented). Default 10 000; 0 never. */
  authTimeoutMs?: number;
  /** A second authenticated connection with the same key evicts the older one (upstream's rule). Default true. */
  oneConnectionPerKey?: boolean;
  /** Bun's idle timeout in seconds (Bun pings before it; clients' pongs keep the socket). Default 120. */
  idleTimeoutSec?: number;
  /** Called with every client message, after it is logged and before it is answered. */
  onClientMessage?: (message: ClientMessage) => void;
}

export interface ClientMessage {
  connectionId: number;
  /** `nowNs()` when the server read it. */
  atNs: number;
  /** The frame's text (binary frames decoded as UTF-8, `binary` set). */
  text: string;
  binary: boolean;
}

/** Which connections a fault goes to: all open ones (default) or one by id. */
export interface Target {
  connectionId?: number;
}

export interface FakePolygonStats {
  connectionsAccepted: number;
  /** Frames written to sockets (data and status), counted per connection. */
  framesSent: number;
  /** Market events written, counted per connection. */
  eventsSent: number;
  /** Frames not written: stalled connection or dropped by Bun. */
  framesDropped: number;
  clientMessages: number;
}

export class FakePolygonServer implements AsyncDisposable {
  /** Accepted keys; tests may add or delete while running. Ignored when constructed with `"any"`. */
  readonly apiKeys: Set<string>;
  /** Every connection ever accepted, in order (closed ones keep `open: false`). */
  readonly connections: FakePolygonConnection[] = [];
  /** Every client message, in order of arrival. */
  readonly clientMessages: ClientMessage[] = [];
  #server: Server<ConnectionData>;
  #anyKey: boolean;
  #authTimeoutMs: number;
  #oneConnectionPerKey: boolean;
  #onClientMessage: ((message: ClientMessage) => void) | undefined;
  #nextId = 1;
  #closed = false;
  readonly #waiters = new ConditionWaiters();

  /** Starts listening (Bun.serve is synchronous; `start` is async for symmetry with other fakes). */
  static async start(options: FakePolygonServerOptions = {}): Promise<FakePolygonServer> {
    return new FakePolygonServer(options);
  }

  constructor(options: FakePolygonServerOptions = {}) {
    this.#anyKey = options.apiKeys === "any";
    this.apiKeys = new Set(options.apiKeys === "any" ? [] : (options.apiKeys ?? [DEFAULT_API_KEY]));
    this.#authTimeoutMs = options.authTimeoutMs ?? 10_000;
    this.#oneConnectionPerKey = options.oneConnectionPerKey ?? true;
    this.#onClientMessage = options.onClientMessage;
    this.#server = Bun.serve<ConnectionData>({
      port: options.port ?? 0,
      hostname: options.hostname ?? "127.0.0.1",
      fetch: (request, server) => {
        const connection = new FakePolygonConnection(this.#nextId, request);
        if (server.upgrade(request, { data: { connection } })) {
          this.#nextId++;
          return undefined;
        }
        return new Response("Upgrade Required: this is a WebSocket endpoint\n", { status: 426 });
      },
      websocket: {
        // Upstream does not compress; neither does the fake, whatever the client offers.
        perMessageDeflate: false,
        idleTimeout: options.idleTimeoutSec ?? 120,
        open: (ws) => this.#open(ws),
        message: (ws, message) => this.#message(ws.data.connection, message),
        close: (ws, code, reason) => this.#close(ws.data.connection, code, reason),
      },
    });
  }

  get port(): number {
    return this.#server.port!;
  }

  /** `ws://127.0.0.1:<port>/stocks`. */
  get url(): string {
    return `ws://${this.#server.hostname}:${this.port}/stocks`;
  }

  get openConnections(): FakePolygonConnection[] {
    return this.connections.filter((c) => c.open);
  }

  get stats(): FakePolygonStats {
    const s: FakePolygonStats = {
      connectionsAccepted: this.connections.length,
      framesSent: 0,
      eventsSent: 0,
      framesDropped: 0,
      clientMessages: this.clientMessages.length,
    };
    for (const c of this.connections) {
      s.framesSent += c.framesSent;
      s.eventsSent += c.eventsSent;
      s.framesDropped += c.framesDropped;
    }
    return s;
  }

  // ---- data ----

  /**
   * Sends one frame. Events: each authenticated, open connection gets the events it subscribed
   * to (all of them as one frame, or the subset as one frame, or nothing); status events go to
   * all. A string is sent as it is to every authenticated connection (no routing). Returns how
   * many connections it was written to.
   */
  publish(events: readonly object[] | string): number {
    if (typeof events === "string") {
      let n = 0;
      for (const c of this.connections) if (c.open && c.authenticated && c.send(events, 0)) n++;
      return n;
    }
    let whole: string | undefined;
    let n = 0;
    for (const c of this.connections) {
      if (!c.open || !c.authenticated || c.closing) continue;
      let wanted = 0;
      for (const e of events as readonly { ev?: unknown; sym?: unknown }[]) {
        if (c.subscriptions.wants(String(e.ev), e.sym)) wanted++;
      }
      if (wanted === 0) continue;
      if (wanted === events.length) {
        whole ??= JSON.stringify(events);
        if (c.send(whole, countMarketEvents(events))) n++;
      } else {
        const subset = (events as readonly { ev?: unknown; sym?: unknown }[]).filter((e) => c.subscriptions.wants(String(e.ev), e.sym));
        if (c.send(JSON.stringify(subset), countMarketEvents(subset))) n++;
      }
    }
    return n;
  }

  /**
   * Generates seeded T/Q/A/AM events and publishes them paced (`rate` events/s, `batch` per
   * frame) until `count` events or `durationMs` (or the signal, or `close()`). See `StreamOptions`.
   */
  stream(options: StreamOptions): Promise<StreamResult> {
    return runStream(options, (events: PolygonMarketEvent[]) => this.publish(events), () => this.#closed);
  }

  // ---- faults ----

  /** `[{"ev":"status","status":…,"message":…}]` to the targets (even stalled ones), then close with `closeCode` if given. */
  sendStatus(status: PolygonStatus | string, message: string, options: Target & { closeCode?: number } = {}): number {
    const frame = statusFrame(status, message);
    let n = 0;
    for (const c of this.#targets(options)) {
      if (c.send(frame, 0, true)) n++;
      if (options.closeCode !== undefined) c.close(options.closeCode);
    }
    return n;
  }

  /** `max_connections` then close 1008, as upstream does to an evicted connection. */
  maxConnections(options: Target = {}): number {
    let n = 0;
    for (const c of this.#targets(options)) n += this.#evict(c) ? 1 : 0;
    return n;
  }

  /** Drops the TCP connections without a Close frame (`ServerWebSocket.terminate()`); clients see 1006. */
  abruptClose(options: Target = {}): void {
    for (const c of this.#targets(options)) c.terminate();
  }

  /** One garbage frame (see `GarbageKind`) to the targets, even stalled ones; returns its text. */
  sendGarbage(kind: GarbageKind, options: Target = {}): string {
    const frame = garbageFrame(kind);
    for (const c of this.#targets(options)) c.send(frame, 0, true);
    return frame;
  }

  /**
   * The targets go silent: no data, no acks or replies (dropped, counted in `framesDropped`),
   * socket open; Bun still answers pings. New connections are not stalled.
   */
  stall(options: Target = {}): void {
    for (const c of this.#targets(options)) c.stalled = true;
  }

  resume(options: Target = {}): void {
    for (const c of this.#targets(options)) c.stalled = false;
  }

  // ---- waiting ----

  /**
   * Resolves once `condition()` holds, checked now and after every connection, client message
   * and close. Rejects after `timeoutMs` (a bound for a broken build) or on `close()`.
   */
  waitFor(condition: () => unknown, what = "condition", timeoutMs = 10_000): Promise<void> {
    if (this.#closed && !condition()) return Promise.reject(new Error(`fake polygon server closed while waiting for ${what}`));
    return this.#waiters.wait(condition, what, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.connections) if (c.authTimer) clearTimeout(c.authTimer);
    await this.#server.stop(true);
    this.#waiters.rejectAll("fake polygon server closed");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- protocol ----

  #open(ws: ServerWebSocket<ConnectionData>): void {
    const c = ws.data.connection;
    c.attach(ws);
    this.connections.push(c);
    c.send(CONNECTED_FRAME);
    if (this.#authTimeoutMs > 0) {
      c.authTimer = setTimeout(() => {
        c.authTimer = null;
        if (c.authenticated || !c.open) return;
        c.send(AUTH_TIMEOUT_FRAME);
        // Close code after auth_timeout is undocumented; 1000 like auth_failed.
        c.close(CLOSE_NORMAL);
        this.#notify();
      }, this.#authTimeoutMs);
    }
    this.#notify();
  }

  #message(c: FakePolygonConnection, message: string | Buffer): void {
    const binary = typeof message !== "string";
    const text = binary ? message.toString("utf8") : message;
    const logged: ClientMessage = { connectionId: c.id, atNs: nowNs(), text, binary };
    this.clientMessages.push(logged);
    this.#onClientMessage?.(logged);
    if (!c.closing) this.#answer(c, text, binary);
    this.#notify();
  }

  #answer(c: FakePolygonConnection, text: string, binary: boolean): void {
    if (binary) {
      c.send(statusFrame("error", "malformed message: binary frames are not accepted"));
      return;
    }
    const parsed = parseClientMessage(text);
    if ("error" in parsed) {
      c.send(statusFrame("error", parsed.error));
      return;
    }
    if (parsed.action === "auth") {
      this.#auth(c, parsed.params);
      return;
    }
    if (!c.authenticated) {
      c.send(AUTH_REQUIRED_FRAME);
      return;
    }
    const { valid, invalid } = splitParams(parsed.params);
    for (const p of valid) {
      if (parsed.action === "subscribe") {
        c.subscriptions.add(p);
        c.send(subscribedFrame(p));
      } else {
        c.subscriptions.delete(p);
        c.send(unsubscribedFrame(p));
      }
    }
    for (const p of invalid) c.send(statusFrame("error", `invalid subscription: ${p}`));
  }

  #auth(c: FakePolygonConnection, key: string): void {
    c.key = key;
    if (c.authTimer) {
      clearTimeout(c.authTimer);
      c.authTimer = null;
    }
    if (!this.#anyKey && !this.apiKeys.has(key)) {
      c.authenticated = false;
      c.send(AUTH_FAILED_FRAME);
      // [observed] close code 1000 after auth_failed.
      c.close(CLOSE_NORMAL);
      return;
    }
    if (this.#oneConnectionPerKey) {
      for (const other of this.connections) {
        if (other !== c && other.open && !other.closing && other.authenticated && other.key === key) this.#evict(other);
      }
    }
    c.authenticated = true;
    c.send(AUTH_SUCCESS_FRAME);
  }

  #evict(c: FakePolygonConnection): boolean {
    const sent = c.send(MAX_CONNECTIONS_FRAME, 0, true);
    c.close(CLOSE_POLICY_VIOLATION);
    return sent;
  }

  #close(c: FakePolygonConnection, code: number, reason: string): void {
    c.open = false;
    c.closing = true;
    c.closeCode = code;
    c.closeReason = reason;
    if (c.authTimer) {
      clearTimeout(c.authTimer);
      c.authTimer = null;
    }
    this.#notify();
  }

  #targets(target: Target): FakePolygonConnection[] {
    return this.connections.filter((c) => c.open && !c.closing && (target.connectionId === undefined || c.id === target.connectionId));
  }

  #notify(): void {
    this.#waiters.notify();
  }

}

function countMarketEvents(events: readonly object[]): number {
  let n = 0;
  for (const e of events as readonly { ev?: unknown }[]) if (e.ev !== "status") n++;
  return n;
}
