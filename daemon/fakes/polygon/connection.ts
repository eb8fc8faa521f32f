/**
 * One client connection of the fake Polygon server, as tests see it: who it is (key, path, what
 * it offered in the handshake), what it asked for, what was sent to it, how it ended.
 *
 * Fields are written by the server only; read them. The `send`/`close`/`terminate` methods act
 * on this one connection (for fault injection aimed at one client).
 */
import type { ServerWebSocket } from "bun";
import { SubscriptionSet } from "./protocol.ts";

export interface ConnectionData {
  connection: FakePolygonConnection;
}

export class FakePolygonConnection {
  /** 1, 2, 3… in the order the server accepted them. */
  readonly id: number;
  /** Request path of the upgrade (`/stocks`, `/`, `/options`…). */
  readonly path: string;
  /** `Sec-WebSocket-Extensions` the client offered, or null if it offered none. The fake never accepts any. */
  readonly offeredExtensions: string | null;
  /** All upgrade request headers, names in lower case. */
  readonly requestHeaders: Readonly<Record<string, string>>;
  /** The key of the last auth message (accepted or not), or null. */
  key: string | null = null;
  authenticated = false;
  readonly subscriptions = new SubscriptionSet();
  /** True from the upgrade until the socket's close callback. */
  open = true;
  /** The server has started closing this connection (further client messages are ignored). */
  closing = false;
  /** Code and reason of the close as Bun reported it (set once closed). */
  closeCode: number | null = null;
  closeReason = "";
  /** Data, acks and replies are dropped while stalled; explicit fault injections still go out. */
  stalled = false;
  framesSent = 0;
  /** Market events (not status events) sent. */
  eventsSent = 0;
  bytesSent = 0;
  /** Frames not sent because the connection was stalled or Bun dropped them. */
  framesDropped = 0;
  /** Frames Bun queued under backpressure (sent later). */
  framesBackpressured = 0;
  #ws: ServerWebSocket<ConnectionData> | null = null;
  /** @internal auth timeout timer. */
  authTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(id: number, request: Request) {
    this.id = id;
    this.path = new URL(request.url).pathname;
    this.offeredExtensions = request.headers.get("sec-websocket-extensions");
    this.requestHeaders = Object.fromEntries(request.headers);
  }

  /** @internal called by the server's `open` handler. */
  attach(ws: ServerWebSocket<ConnectionData>): void {
    this.#ws = ws;
  }

  /**
   * Sends one text frame now. `force` sends even while stalled (fault injection); `events` is
   * how many market events it holds (for the counters). Returns whether Bun took the frame.
   */
  send(text: string, events = 0, force = false): boolean {
    const ws = this.#ws;
    if (ws === null || !this.open || this.closing) return false;
    if (this.stalled && !force) {
      this.framesDropped++;
      return false;
    }
    // > 0: bytes written; -1: queued under backpressure; 0: dropped.
    const status = ws.sendText(text);
    if (status === 0) {
      this.framesDropped++;
      return false;
    }
    if (status === -1) this.framesBackpressured++;
    this.framesSent++;
    this.eventsSent += events;
    this.bytesSent += text.length;
    return true;
  }

  /** Close frame with `code` (after any frames already queued). */
  close(code = 1000, reason?: string): void {
    if (this.#ws === null || !this.open || this.closing) return;
    this.closing = true;
    this.#ws.close(code, reason);
  }

  /** Drops the TCP connection without a Close frame (Bun's `ServerWebSocket.terminate()`): the client sees 1006. */
  terminate(): void {
    if (this.#ws === null || !this.open) return;
    this.closing = true;
    this.#ws.terminate();
  }

  /** Bytes Bun holds for this socket, not yet written. */
  bufferedAmount(): number {
    return this.#ws?.getBufferedAmount() ?? 0;
  }
}
