/**
 * A WebSocket test client (Bun's own `WebSocket`) that queues every frame it receives so a
 * test can `await next()` instead of sleeping. `await using` closes it and waits for the close.
 */

export interface Closed {
  code: number;
  reason: string;
  wasClean: boolean;
}

export class WsClient implements AsyncDisposable {
  readonly ws: WebSocket;
  /** Every text frame received, in order. */
  readonly frames: string[] = [];
  /** Resolves with the close event's code once the socket is closed. */
  readonly closed: Promise<Closed>;
  #read = 0;
  #wake: (() => void) | null = null;
  #isClosed = false;

  /** Connects; resolves once open. Default options: no permessage-deflate offer. */
  static async connect(url: string, options: Bun.WebSocketOptions = { perMessageDeflate: false }): Promise<WsClient> {
    const client = new WsClient(url, options);
    await new Promise<void>((resolve, reject) => {
      client.ws.addEventListener("open", () => resolve(), { once: true });
      client.ws.addEventListener("error", (e) => reject(new Error(`connect ${url}: ${(e as ErrorEvent).message}`)), { once: true });
    });
    return client;
  }

  private constructor(url: string, options: Bun.WebSocketOptions) {
    this.ws = new WebSocket(url, options);
    // Listen before open: the server's first frame follows the upgrade at once.
    this.ws.addEventListener("message", (e) => {
      this.frames.push(typeof e.data === "string" ? e.data : Buffer.from(e.data as ArrayBuffer).toString("utf8"));
      this.#wakeUp();
    });
    this.closed = new Promise((resolve) => {
      this.ws.addEventListener("close", (e) => {
        this.#isClosed = true;
        this.#wakeUp();
        resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean });
      });
    });
  }

  send(message: string | object): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next frame not yet read; rejects if the socket closes first. */
  async next(): Promise<string> {
    while (this.#read >= this.frames.length) {
      if (this.#isClosed) throw new Error(`socket closed; frames so far: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    return this.frames[this.#read++]!;
  }

  /** The next `n` frames. */
  async take(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let k = 0; k < n; k++) out.push(await this.next());
    return out;
  }

  /** Every frame until the socket closes (those not yet read). */
  async rest(): Promise<string[]> {
    await this.closed;
    const out = this.frames.slice(this.#read);
    this.#read = this.frames.length;
    return out;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close();
    await this.closed;
  }
}
