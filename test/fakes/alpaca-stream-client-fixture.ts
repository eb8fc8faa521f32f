/**
 * A `trade_updates` test client (Bun's own `WebSocket`) that queues every message with its
 * frame kind, so a test can `await next()` instead of sleeping and check that paper's binary
 * frames are binary. `await using` closes it and waits for the close.
 */

export interface StreamFrame {
  text: string;
  binary: boolean;
}

export interface Closed {
  code: number;
  reason: string;
}

export class AlpacaStreamClient implements AsyncDisposable {
  readonly ws: WebSocket;
  readonly frames: StreamFrame[] = [];
  readonly closed: Promise<Closed>;
  #read = 0;
  #wake: (() => void) | null = null;
  #isClosed = false;

  static async connect(url: string): Promise<AlpacaStreamClient> {
    const client = new AlpacaStreamClient(url);
    await new Promise<void>((resolve, reject) => {
      client.ws.addEventListener("open", () => resolve(), { once: true });
      client.ws.addEventListener("error", () => reject(new Error(`connect ${url} failed`)), { once: true });
    });
    return client;
  }

  private constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false } as Bun.WebSocketOptions);
    this.ws.binaryType = "arraybuffer";
    this.ws.addEventListener("message", (e) => {
      const binary = typeof e.data !== "string";
      this.frames.push({ text: binary ? Buffer.from(e.data as ArrayBuffer).toString("utf8") : (e.data as string), binary });
      this.#wakeUp();
    });
    this.closed = new Promise((resolve) => {
      this.ws.addEventListener("close", (e) => {
        this.#isClosed = true;
        this.#wakeUp();
        resolve({ code: e.code, reason: e.reason });
      });
    });
  }

  send(message: string | object): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next frame not yet read; rejects if the socket closes first. */
  async nextFrame(): Promise<StreamFrame> {
    while (this.#read >= this.frames.length) {
      if (this.#isClosed) throw new Error(`socket closed; frames so far: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    return this.frames[this.#read++]!;
  }

  /** The next message's text. */
  async next(): Promise<string> {
    return (await this.nextFrame()).text;
  }

  /** The next message, parsed. */
  async nextJson(): Promise<{ stream: string; data: Record<string, any> }> {
    return JSON.parse(await this.next());
  }

  async take(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let k = 0; k < n; k++) out.push(await this.next());
    return out;
  }

  /** Every frame until the socket closes (those not yet read). */
  async rest(): Promise<string[]> {
    await this.closed;
    const out = this.frames.slice(this.#read).map((f) => f.text);
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
