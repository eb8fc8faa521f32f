/**
 * One client of the fake's `trade_updates` WebSocket (`/stream`), as tests see it. Fields are
 * written by the server only. Every server message goes out as a binary frame (UTF-8 JSON, as
 * paper does) or as a text frame (`binaryStreamFrames: false`).
 */
import type { ServerWebSocket } from "bun";

export interface StreamConnectionData {
  connection: FakeAlpacaStreamConnection;
}

export class FakeAlpacaStreamConnection {
  /** 1, 2, 3… in the order the server accepted them. */
  readonly id: number;
  readonly path: string;
  /** Upgrade request headers, names in lower case. */
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly binaryFrames: boolean;
  /** Key id of the last authentication attempt, or null. */
  keyId: string | null = null;
  authenticated = false;
  /** Streams listened to (the last `listen` replaces the set). */
  readonly streams = new Set<string>();
  open = true;
  /** The server has started closing this connection; further client messages are ignored. */
  closing = false;
  closeCode: number | null = null;
  closeReason = "";
  /** While stalled, messages are dropped (counted), the socket stays open. */
  stalled = false;
  framesSent = 0;
  framesDropped = 0;
  /** Every message sent, in order (the JSON text). */
  readonly sent: string[] = [];
  #ws: ServerWebSocket<StreamConnectionData> | null = null;

  constructor(id: number, request: Request, binaryFrames: boolean) {
    this.id = id;
    this.path = new URL(request.url).pathname;
    this.requestHeaders = Object.fromEntries(request.headers);
    this.binaryFrames = binaryFrames;
  }

  /** @internal called by the server's `open` handler. */
  attach(ws: ServerWebSocket<StreamConnectionData>): void {
    this.#ws = ws;
  }

  /** One message, now; `force` sends even while stalled. Returns whether Bun took it. */
  send(text: string, force = false): boolean {
    const ws = this.#ws;
    if (ws === null || !this.open || this.closing) return false;
    if (this.stalled && !force) {
      this.framesDropped++;
      return false;
    }
    // > 0 written; -1 queued under backpressure; 0 dropped.
    const status = this.binaryFrames ? ws.sendBinary(Buffer.from(text, "utf8")) : ws.sendText(text);
    if (status === 0) {
      this.framesDropped++;
      return false;
    }
    this.framesSent++;
    this.sent.push(text);
    return true;
  }

  close(code = 1000, reason?: string): void {
    if (this.#ws === null || !this.open || this.closing) return;
    this.closing = true;
    this.#ws.close(code, reason);
  }

  /** Drops the TCP connection without a Close frame: the client sees 1006. */
  terminate(): void {
    if (this.#ws === null || !this.open) return;
    this.closing = true;
    this.#ws.terminate();
  }
}
