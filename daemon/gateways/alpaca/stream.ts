/**
 * The `trade_updates` stream: authenticate, listen, hand every update to `onUpdate`, and
 * reconnect with backoff. Frames may be text or binary (paper sends binary; both are UTF-8
 * JSON objects, `{"stream": …, "data": …}`).
 *
 * After a reconnect, `onResync(sinceIso)` is called so the gateway can fetch the orders whose
 * updates may have been missed while the stream was down. An `unauthorized` reply is fatal (the
 * keys are wrong; retrying cannot help).
 */
import { Backoff, type BackoffOptions } from "../polygon/backoff.ts";

export interface TradeUpdate {
  event: string;
  execution_id?: string;
  order: { id: string; client_order_id: string; symbol: string; side: string; qty: string | null; filled_qty: string; filled_avg_price: string | null; status: string; [k: string]: unknown };
  timestamp?: string;
  price?: string;
  qty?: string;
  position_qty?: string;
}

export interface TradeStreamHooks {
  onUpdate(update: TradeUpdate): void;
  onState(state: "connecting" | "listening" | "backoff" | "failed" | "stopped", detail: string): void;
  onResync(sinceIso: string): void;
  log(level: "info" | "warn" | "error", message: string): void;
}

export class TradeUpdatesStream {
  #ws: WebSocket | null = null;
  #stopped = false;
  #failed = false;
  #everListened = false;
  #downSinceIso: string | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #backoff: Backoff;
  readonly #decoder = new TextDecoder();

  constructor(
    readonly url: string,
    readonly keyId: string,
    readonly secretKey: string,
    backoff: BackoffOptions,
    readonly hooks: TradeStreamHooks,
  ) {
    this.#backoff = new Backoff(backoff);
  }

  start(): void {
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000, "tradingd stopping");
    this.hooks.onState("stopped", "");
  }

  #connect(): void {
    this.hooks.onState("connecting", this.url);
    const ws = new WebSocket(this.url, { perMessageDeflate: false } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ action: "authenticate", data: { key_id: this.keyId, secret_key: this.secretKey } }));
      ws.send(JSON.stringify({ action: "listen", data: { streams: ["trade_updates"] } }));
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.#ws !== ws) return;
      const text = typeof ev.data === "string" ? ev.data : this.#decoder.decode(ev.data as ArrayBuffer);
      let msg: { stream?: string; data?: Record<string, unknown> };
      try {
        msg = JSON.parse(text);
      } catch {
        this.hooks.log("warn", `trade_updates: dropped a frame that is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
        return;
      }
      switch (msg.stream) {
        case "authorization":
          if (msg.data?.status !== "authorized") {
            this.#failed = true;
            this.hooks.onState("failed", "unauthorized");
            this.hooks.log("error", "trade_updates: the broker refused the key id / secret key (unauthorized); not reconnecting: fix broker.alpaca.key_id / secret_key");
            this.#ws = null;
            ws.close(1000, "unauthorized");
          }
          return;
        case "listening": {
          const streams = (msg.data?.streams as string[] | undefined) ?? [];
          if (!streams.includes("trade_updates")) {
            this.hooks.log("error", `trade_updates: the broker did not grant the trade_updates stream (granted: ${streams.join(", ") || "none"})`);
            return;
          }
          this.#backoff.reset();
          this.hooks.onState("listening", "");
          if (this.#everListened && this.#downSinceIso) this.hooks.onResync(this.#downSinceIso);
          this.#everListened = true;
          this.#downSinceIso = null;
          return;
        }
        case "trade_updates":
          if (msg.data && typeof msg.data === "object" && typeof msg.data.event === "string" && msg.data.order) this.hooks.onUpdate(msg.data as unknown as TradeUpdate);
          else this.hooks.log("warn", `trade_updates: dropped an update without event/order: ${JSON.stringify(text.slice(0, 160))}`);
          return;
        default:
          this.hooks.log("warn", `trade_updates: unknown message ${JSON.stringify(text.slice(0, 160))}`);
      }
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.#stopped || this.#failed) return;
      this.#downSinceIso ??= new Date(Date.now() - 1000).toISOString();
      const wait = this.#backoff.next();
      this.hooks.onState("backoff", `closed (code ${ev.code}); reconnecting in ${wait} ms`);
      this.hooks.log("warn", `trade_updates: stream closed (code ${ev.code}); reconnecting in ${wait} ms`);
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (!this.#stopped) this.#connect();
      }, wait);
    };
  }
}
