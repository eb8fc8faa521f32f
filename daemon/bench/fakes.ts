/**
 * The Polygon and Alpaca fakes served together, as one exchange: the Polygon fake streams paced
 * quotes and trades to its subscribers, and every quote it generates also becomes the Alpaca
 * fake's top of book, so market orders placed on what the feed shows fill at those prices.
 * Used by `tradingd fake-exchange` and by `tradingd bench --feed polygon / --broker alpaca`.
 */
import { FakePolygonServer, PolygonMarket, DEFAULT_API_KEY, type PolygonMarketEvent } from "../fakes/polygon/index.ts";
import { FakeAlpacaServer, DEFAULT_KEY_ID, DEFAULT_SECRET_KEY } from "../fakes/alpaca/index.ts";

export interface FakeExchangeOptions {
  host: string;
  /** 0: any free port. */
  polygonPort: number;
  alpacaPort: number;
  /** Events a second the Polygon fake streams (quotes ~60 %, trades ~40 %). */
  rate: number;
  symbols: readonly string[];
  seed?: number;
}

/** A market whose every quote is also set as the broker's top of book. */
class QuotingMarket extends PolygonMarket {
  constructor(
    symbols: readonly string[],
    seed: number,
    readonly onQuote: (sym: string, bid: number, ask: number) => void,
  ) {
    super({ symbols, seed, kinds: ["Q", "T"] });
  }
  override next(): PolygonMarketEvent {
    const e = super.next();
    if (e.ev === "Q") this.onQuote(e.sym, e.bp, e.ap);
    return e;
  }
}

export class FakeExchange {
  readonly #abort = new AbortController();
  #trim: ReturnType<typeof setInterval>;
  readonly streaming: Promise<unknown>;
  /** Quotes set on the broker so far. */
  quotes = 0;

  private constructor(
    readonly polygon: FakePolygonServer,
    readonly alpaca: FakeAlpacaServer,
    options: FakeExchangeOptions,
  ) {
    const market = new QuotingMarket(options.symbols, options.seed ?? 1, (sym, bid, ask) => {
      this.quotes++;
      alpaca.setQuote(sym, bid, ask);
    });
    // Every symbol has a quote at the broker before the first frame goes out.
    const missing = new Set(options.symbols);
    for (let i = 0; i < 100_000 && missing.size > 0; i++) {
      const e = market.next();
      if (e.ev === "Q") missing.delete(e.sym);
    }
    // The fakes keep a log of every request and trade update for tests; a long-running exchange
    // drops it every second so its memory stays flat.
    this.#trim = setInterval(() => {
      alpaca.requests.length = 0;
      alpaca.tradeUpdates.length = 0;
      alpaca.streamMessages.length = 0;
    }, 1_000);
    this.#trim.unref?.();
    // Frames of several events above 5,000 events/s (a frame every 200 µs at most).
    const batch = Math.max(1, Math.ceil(options.rate / 5_000));
    this.streaming = polygon.stream({ rate: options.rate, batch, market, signal: this.#abort.signal }).catch(() => undefined);
  }

  static async start(options: FakeExchangeOptions): Promise<FakeExchange> {
    const polygon = await FakePolygonServer.start({ hostname: options.host, port: options.polygonPort });
    let alpaca: FakeAlpacaServer;
    try {
      alpaca = await FakeAlpacaServer.start({
        hostname: options.host,
        port: options.alpacaPort,
        symbols: options.symbols,
        rateLimitPerMin: 1_000_000_000,
        marketOpen: true,
        cash: "1000000000",
      });
    } catch (e) {
      await polygon.close();
      throw e;
    }
    return new FakeExchange(polygon, alpaca, options);
  }

  get polygonUrl(): string {
    return this.polygon.url;
  }

  get polygonKey(): string {
    return DEFAULT_API_KEY;
  }

  get alpacaKeyId(): string {
    return DEFAULT_KEY_ID;
  }

  get alpacaSecretKey(): string {
    return DEFAULT_SECRET_KEY;
  }

  /** One line per server, with its URL and keys. */
  describe(): string[] {
    return [
      `polygon ${this.polygonUrl} key=${this.polygonKey}`,
      `alpaca ${this.alpaca.url} stream ${this.alpaca.streamUrl} key_id=${this.alpacaKeyId} secret_key=${this.alpacaSecretKey}`,
    ];
  }

  async close(): Promise<void> {
    this.#abort.abort();
    clearInterval(this.#trim);
    await this.streaming;
    await Promise.all([this.polygon.close(), this.alpaca.close()]);
  }
}

export type FakesWorkerRequest = { type: "start"; options: FakeExchangeOptions } | { type: "stop" };
/** Where the fakes listen; `tid` is the fakes thread's (for its CPU time). */
interface FakesWhere {
  tid: number;
  polygonUrl: string;
  polygonKey: string;
  alpacaUrl: string;
  alpacaStreamUrl: string;
  alpacaKeyId: string;
  alpacaSecretKey: string;
}
export type FakesWorkerReply = ({ type: "started" } & FakesWhere) | { type: "error"; message: string } | { type: "stopped" };

/** Where the fakes started by `startFakesWorker` listen, and how to stop them. */
export interface FakesOnWorker extends FakesWhere {
  /** Closes the servers and ends the thread. */
  close(): Promise<void>;
}

/**
 * Where the fakes worker is. From source, beside this file. In the compiled binary every module's
 * `import.meta.url` is the bundle's (`/$bunfs/root/tradingd`), and the worker entry point sits at
 * `/$bunfs/root/bench/fakes-worker.ts` (entry points keep their path below daemon/, as
 * `./workers/feed.ts` does for the supervisor).
 */
const FAKES_WORKER_URL = /\/bench\/fakes\.[jt]s$/.test(import.meta.url)
  ? new URL("./fakes-worker.ts", import.meta.url)
  : new URL("./bench/fakes-worker.ts", import.meta.url);

/**
 * The fake exchange on a Worker thread of its own (daemon/bench/fakes-worker.ts), so it does
 * not compete with the caller's thread.
 */
export async function startFakesWorker(options: FakeExchangeOptions, timeoutMs = 10_000): Promise<FakesOnWorker> {
  const worker = new Worker(FAKES_WORKER_URL);
  const replies: ((m: FakesWorkerReply) => void)[] = [];
  const failure = Promise.withResolvers<never>();
  failure.promise.catch(() => undefined);
  worker.onmessage = (ev: MessageEvent<FakesWorkerReply>) => replies.shift()?.(ev.data);
  worker.onerror = (ev) => failure.reject(new Error(`fakes worker: ${ev.message}`));
  const ask = (req: FakesWorkerRequest, what: string): Promise<FakesWorkerReply> => {
    const answer = new Promise<FakesWorkerReply>((resolve) => replies.push(resolve));
    worker.postMessage(req);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`fakes worker did not ${what} within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([answer, late, failure.promise]).finally(() => clearTimeout(timer));
  };
  let started: FakesWorkerReply;
  try {
    started = await ask({ type: "start", options }, "start");
  } catch (e) {
    worker.terminate();
    throw e;
  }
  if (started.type !== "started") {
    worker.terminate();
    throw new Error(`fakes worker: ${started.type === "error" ? started.message : `unexpected ${started.type}`}`);
  }
  const { type: _, ...where } = started;
  let closing: Promise<void> | null = null;
  return {
    ...where,
    close: () =>
      (closing ??= ask({ type: "stop" }, "stop")
        .then(() => undefined)
        .finally(() => worker.terminate())),
  };
}
