/**
 * The comparison of issue 7: black-box tick-to-trade of three ways to trade Polygon quotes on
 * Alpaca, against the same fakes, in the same run, on one clock.
 *
 *   bun bench/compare.bench.ts                 # ~1.5 min; markdown tables and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/compare.bench.ts   # < 20 s smoke run (figures rough)
 *
 * The fakes: the fake Polygon (`bench/fixtures/polygon-quote-worker.ts`, its own Worker) streams
 * quotes only, ONE QUOTE PER FRAME, at QUOTE_RATE quotes/s over 2 symbols; every quote's ask
 * encodes its sequence number q (ask = 50.00 + (q mod 20,000)/100). The fake Alpaca
 * (`bench/fixtures/alpaca-fake-worker.ts`, its own Worker; never 429, fill mode `never`: each IOC
 * order is answered 200 `accepted` and canceled on its trade_updates stream, which nobody reads)
 * records the arrival time of every `POST /v2/orders`. Every quote is a trading signal: buy 1 of
 * the quote's symbol, IOC limit at the ask, so an order's `limit_price` names its quote exactly
 * (and its `symbol` is checked against the quote's).
 *
 * Measured (black box, one clock: `nowNs()` of daemon/shm/clock.ts, CLOCK_MONOTONIC, the same for
 * every thread of the process): from `nowNs()` in the fake Polygon's thread just before the
 * frame's `sendText` (the JSON already serialised) to the fake Alpaca's `atNs` for the order
 * request (its `nowNs()` when its fetch handler got the request). Exact percentiles of each run's
 * samples; each figure is the median over RUNS runs; ratios are of those medians, to the floor.
 *
 * Variants, interleaved run by run (order rotated each run), each with WARM_QUOTES uncounted
 * quotes first (same connection), then COUNT_QUOTES counted quotes:
 *   sdk    — what a user would otherwise write, all on this (main) thread: the official
 *            `@polygon.io/client-js` 8.2.0 websocket client (`websocketClient(key, base).stocks()`
 *            with base = the fake's `ws://127.0.0.1:<port>`: its second argument is the socket's
 *            base URL; it authenticates on open, we subscribe on `auth_success`), `JSON.parse` of
 *            each frame, and `@alpacahq/alpaca-trade-api` 4.0.2 placing each order with
 *            `alpaca.trading.orders.limit({ symbol, side: "buy", qty: 1, limitPrice: ap,
 *            timeInForce: "ioc" })` (v4 has no `createOrder`; MIGRATION.md maps
 *            `createOrder({type:"limit"})` to `trading.orders.limit`). Its client-side rate
 *            limiter (on by default in v4: `DEFAULT_RATE_LIMIT` = 200 requests / 60 s, a
 *            `RateLimiter` every request acquires, see `sharedRestConfig` in its dist/index.js)
 *            is TURNED OFF with the constructor option `rateLimit: false`. v4's constructor takes
 *            no base URL (it derives https://paper-api.alpaca.markets from `paper`); as its
 *            MIGRATION.md advises, a `middleware` `pre` hook rewrites that host to the fake's URL.
 *            Everything else is its default (fetch, 2 retries for retryable methods: POST is not
 *            retried).
 *   floor  — the floor for a JS process: Bun's WebSocket in, a substring test on the frame
 *            (`"ev":"Q"`), the symbol and ask sliced out, a pre-formatted HTTP/1.1 POST (the ask
 *            spliced into the body) written on one raw keep-alive `Bun.connect` socket (its
 *            answers read and dropped), nothing else.
 *   tradingd — the real `Pipeline` (daemon/supervisor.ts) in this thread as in the daemon: the
 *            polygon feed (`feed.kind: polygon`) → the strategy (`bench/fixtures/alpaca-order-
 *            strategy.ts`: buy 1 at the ask on every quote) → risk → the alpaca broker
 *            (`journal_sync: normal`, then the POST over the pool) → the fake, in two layouts:
 *            `single` (all three stages on one worker thread, `workers/single.ts`; its wait
 *            `hybrid`, the default, and `spin`) and `split` (three workers; written
 *            `threads.strategy.wait` / `threads.execution.wait`: spin/block and hybrid/hybrid).
 *            Risk limits relaxed as in `bench/alpaca.bench.ts` part 2; a fresh Pipeline and
 *            journal per run; tuning off.
 * CPUs: the fakes alone on CPU 0, everything else on CPU 1 (see `isolateFakes`); COMPARE_SHARED=1
 * lets every thread run anywhere.
 * Target (issue 7): tradingd p50 ≤ 1.5 × floor p50 and p99 ≤ 2 × floor p99, same run.
 *
 * Other knobs: COMPARE_RUNS=n (default 3), COMPARE_VARIANTS=a,b (only those, and the floor),
 * COMPARE_LEGS=1 (tradingd's strategy stamps each quote: its time split in legs, on stderr),
 * COMPARE_DMA=1 (root: idle CPUs poll for the whole bench; see `dmaHold`).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { websocketClient } from "@polygon.io/client-js";
import { Alpaca } from "@alpacahq/alpaca-trade-api";
import { DEFAULT_KEY_ID, DEFAULT_SECRET_KEY } from "../daemon/fakes/alpaca/index.ts";
import { subscriptionParams } from "../daemon/gateways/polygon/run.ts";
import { Pipeline } from "../daemon/supervisor.ts";
import { W_BROKER_READY } from "../daemon/shm/control.ts";
import { configureLog } from "../daemon/log.ts";
import { schedSetaffinity } from "../ffi/libc.ts";
import { holdCpuDmaLatency } from "../daemon/tuning/host/dma-latency.ts";
import { DEFAULT_HOST_ROOTS } from "../daemon/tuning/host/roots.ts";
import { nowNs } from "../daemon/shm/clock.ts";
import { QUICK, config, fmtUs, median, ratio, sleep, until, peer } from "./support.ts";

const RUNS = Number(process.env.COMPARE_RUNS ?? (QUICK ? 1 : 3));
const QUOTE_RATE = 200;
const WARM_QUOTES = QUICK ? 60 : 150;
const COUNT_QUOTES = QUICK ? 300 : 1_000;
const SYMBOLS = ["AAPL", "MSFT"];
const TARGET = { p50: 1.5, p99: 2 };
const ISOLATE = !process.env.COMPARE_SHARED && cpus().length >= 2;
/** COMPARE_LEGS=1: tradingd's strategy stamps each quote; the report splits its time in legs. */
const LEGS = !!process.env.COMPARE_LEGS;

configureLog("warn", "text");
const tStart = performance.now();

// ---- workers ----------------------------------------------------------------------------------

const alpaca = peer(new URL("./fixtures/alpaca-fake-worker.ts", import.meta.url), "compare.bench");
const alpacaTid = (await alpaca.next()).tid as number;
const posts = new Int32Array(new SharedArrayBuffer(4));
const postCount = () => Atomics.load(posts, 0);
interface OrderRecord {
  atNs: number;
  body: string;
  status: number | null;
}
const takeOrders = async (gc = false): Promise<OrderRecord[]> => (await alpaca.call({ type: "orders", gc }, "orders")).list;

const polygon = peer(new URL("./fixtures/polygon-quote-worker.ts", import.meta.url), "compare.bench");
const polygonReady = await polygon.next();
const POLYGON_URL = polygonReady.url as string; // ws://127.0.0.1:<port>/stocks
/**
 * COMPARE_DMA=1 (root): /dev/cpu_dma_latency held at 0 for the whole bench, so idle CPUs poll
 * instead of halting (what `tradingd run`'s host tuning holds). Waking a halted vCPU costs tens
 * of µs here, and every variant pays it on each quote; held, the floor drops to ~55-80 µs.
 */
const dmaHold = process.env.COMPARE_DMA ? holdCpuDmaLatency(DEFAULT_HOST_ROOTS, 0) : null;
if (dmaHold !== null && dmaHold.action.status !== "applied") throw new Error(`COMPARE_DMA: cpu_dma_latency not held: ${dmaHold.action.reason ?? dmaHold.action.status}`);
const FAKE_TIDS = new Set([alpacaTid, polygonReady.tid as number]);
/**
 * CPUs (with 2 or more; COMPARE_SHARED=1 turns it off): the two fakes' threads on CPU 0, every
 * other thread of the process — the client under test and the runtime's own (JIT compilers, GC
 * helpers, the allocator's scavenger) — on CPU 1, as if the exchange were another host. Done
 * again before each counted part (threads come and go with each client). Shared, every thread
 * may run anywhere: then a client's own background threads (its JIT and GC work, more of it
 * for more code) run on the fakes' CPU and delay the fake's answer, which the black box counts
 * against the client (BENCHMARKS.md has both).
 */
function isolateFakes(): number {
  let moved = 0;
  for (const t of readdirSync("/proc/self/task")) {
    const tid = Number(t);
    try {
      schedSetaffinity(tid, FAKE_TIDS.has(tid) ? [0] : [1]);
      moved++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return moved;
}
const POLYGON_BASE = POLYGON_URL.replace(/\/stocks$/, "");
const PARAMS = subscriptionParams(["Q"], SYMBOLS, false).split(",").length;
const SUBSCRIBE = JSON.stringify({ action: "subscribe", params: subscriptionParams(["Q"], SYMBOLS, false) });
const started = await alpaca.call(
  { type: "start", posts: posts.buffer, options: { rateLimitPerMin: 10_000_000, fillMode: "never", symbols: SYMBOLS, cash: "1000000000" } },
  "started",
);
const ALPACA_URL = started.url as string;
const tmp = mkdtempSync(join(tmpdir(), "tradingd-compare-bench-"));
const STRATEGY = join(import.meta.dir, "fixtures", "alpaca-order-strategy.ts");
const qOfAsk = (ask: number) => Math.round(ask * 100) - 5000;

async function stream(firstSeq: number, count: number, written: SharedArrayBuffer, gc = false) {
  const m = await polygon.call({ type: "stream", rate: QUOTE_RATE, count, firstSeq, symbols: SYMBOLS, params: PARAMS, written, gc }, "done");
  return m as { result: { events: number; frames: number; elapsedNs: number }; framesDropped: number };
}

interface Pct {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  n: number;
}
function pct(xs: number[]): Pct {
  const s = Float64Array.from(xs).sort();
  const at = (p: number) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p * s.length) / 100) - 1))]!);
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: s.length ? s[s.length - 1]! : NaN, n: s.length };
}

// ---- the clients ------------------------------------------------------------------------------

/** One trading client under test: connected and subscribed by `start`, gone after `stop`. */
interface Client {
  start(runIndex: number): Promise<void>;
  /** Orders it has sent (or handed to its stack) so far. */
  sent(): number;
  /** Orders its stack reported as failed (SDK promise rejections). */
  failed(): number;
  stop(): Promise<void>;
}

interface PolygonFrameEvent {
  ev: string;
  sym?: string;
  ap?: number;
  status?: string;
}

function sdkClient(): Client {
  let ws: ReturnType<ReturnType<typeof websocketClient>["stocks"]> | null = null;
  let sent = 0;
  let failed = 0;
  const PAPER = "https://paper-api.alpaca.markets";
  const sdk = new Alpaca({
    keyId: DEFAULT_KEY_ID,
    secret: DEFAULT_SECRET_KEY,
    paper: true,
    rateLimit: false, // the client-side limiter (200 / min by default) off
    middleware: [{ pre: async ({ url, init }: { url: string; init: RequestInit }) => ({ url: url.startsWith(PAPER) ? ALPACA_URL + url.slice(PAPER.length) : url, init }) }],
  } as ConstructorParameters<typeof Alpaca>[0]);
  const orders = sdk.trading.orders;
  return {
    async start() {
      let subscribed = false;
      ws = websocketClient("bench-key", POLYGON_BASE).stocks();
      const w = ws;
      w.onmessage = (msg: { data: unknown }) => {
        const events = JSON.parse(String(msg.data)) as PolygonFrameEvent[];
        for (const e of events) {
          if (e.ev === "Q") {
            sent++;
            orders.limit({ symbol: e.sym!, side: "buy", qty: 1, limitPrice: e.ap!, timeInForce: "ioc" }).catch(() => failed++);
          } else if (e.ev === "status" && e.status === "auth_success" && !subscribed) {
            subscribed = true;
            w.send(SUBSCRIBE);
          }
        }
      };
      if (!(await until(() => subscribed, 10_000))) throw new Error("sdk: the Polygon client never authenticated");
    },
    sent: () => sent,
    failed: () => failed,
    async stop() {
      ws?.close();
      ws = null;
    },
  };
}

/** COMPARE_LEGS: the floor's [onmessage, written] per quote q. */
const floorStamps = new Float64Array(2 * 20_000);

function floorClient(): Client {
  let ws: WebSocket | null = null;
  let sock: Awaited<ReturnType<typeof Bun.connect>> | null = null;
  let sent = 0;
  const u = new URL(ALPACA_URL);
  const head =
    `POST /v2/orders HTTP/1.1\r\nHost: ${u.host}\r\nAPCA-API-KEY-ID: ${DEFAULT_KEY_ID}\r\nAPCA-API-SECRET-KEY: ${DEFAULT_SECRET_KEY}\r\n` +
    `Content-Type: application/json\r\nContent-Length: `;
  const SYM = '"sym":"';
  const AP = '"ap":';
  return {
    async start() {
      sock = await Bun.connect({
        hostname: u.hostname,
        port: Number(u.port),
        socket: { data() {}, error() {}, close() {} },
      });
      sock.setNoDelay?.(true);
      const s = sock;
      let subscribed = false;
      ws = new WebSocket(POLYGON_URL);
      const w = ws;
      w.onmessage = (e: MessageEvent) => {
        const seen = LEGS ? nowNs() : 0;
        const f = e.data as string;
        if (f.includes('"ev":"Q"')) {
          const a = f.indexOf(SYM) + SYM.length;
          const sym = f.slice(a, f.indexOf('"', a));
          const b = f.indexOf(AP) + AP.length;
          let c = b;
          while (c < f.length) {
            const ch = f.charCodeAt(c);
            if (ch === 44 || ch === 125) break; // , }
            c++;
          }
          const body = `{"symbol":"${sym}","qty":"1","side":"buy","type":"limit","time_in_force":"ioc","limit_price":"${f.slice(b, c)}"}`;
          s.write(head + body.length + "\r\n\r\n" + body);
          sent++;
          if (LEGS) {
            const q = qOfAsk(Number(f.slice(b, c)));
            floorStamps[2 * q] = seen;
            floorStamps[2 * q + 1] = nowNs();
          }
        } else if (f.includes('"connected"')) w.send(JSON.stringify({ action: "auth", params: "bench-key" }));
        else if (f.includes('"auth_success"')) {
          subscribed = true;
          w.send(SUBSCRIBE);
        }
      };
      if (!(await until(() => subscribed, 10_000))) throw new Error("floor: never authenticated");
    },
    sent: () => sent,
    failed: () => 0,
    async stop() {
      ws?.close();
      ws = null;
      sock?.end();
      sock = null;
    },
  };
}

const stampsPath = (runIndex: number, layout: string, wait: string, warm: boolean) => join(tmp, `stamps-${runIndex}-${layout}-${wait}${warm ? "" : "-cold"}.f64`);

function tradingdClient(layout: "split" | "single", strategyWait: string, executionWait: string, keepWarm = true): Client {
  let p: Pipeline | null = null;
  let runIndex = 0;
  return {
    async start(run: number) {
      runIndex = run;
      const cfg = config(
        `
mode: paper
log: { level: warn }
symbols: [${SYMBOLS.join(", ")}]
feed:
  kind: polygon
  polygon: { url: "${POLYGON_URL}", api_key: bench-key, channels: [Q] }
strategy: { name: module, module: ${STRATEGY}, params: { every: 1, qty: 1${LEGS ? `, stamps: "${stampsPath(runIndex, layout, strategyWait, keepWarm)}"` : ""} } }
broker:
  kind: alpaca
  alpaca:
    base_url: ${ALPACA_URL}
    stream_url: ${started.streamUrl}
    key_id: ${DEFAULT_KEY_ID}
    secret_key: ${DEFAULT_SECRET_KEY}
    rate_limit_per_min: 10000
risk: { max_orders_per_sec: 100000, max_orders_per_min: 1000000, max_open_orders: 1000, max_order_notional: 1000000, max_position_qty: 1000000 }
threads:
  layout: ${layout}
  strategy: { wait: ${strategyWait} }
  execution: { wait: ${executionWait} }
  keep_warm_us: ${keepWarm ? 1000 : 0}
journal_path: ${join(tmp, `journal-${runIndex}-${layout}-${strategyWait}-${executionWait}${keepWarm ? "" : "-cold"}.sqlite`)}
journal_sync: normal
tuning: { enabled: false }
`,
        "compare.bench",
      );
      p = new Pipeline(cfg, { stopDeadlineMs: 5_000 });
      await p.start();
      const q = p;
      if (!(await until(() => q.control.get(W_BROKER_READY) === 1, 15_000))) throw new Error("tradingd: the broker never became ready");
    },
    sent: () => p!.strategyMetrics.readCounters().orders_submitted,
    failed: () => 0,
    async stop() {
      if (p !== null) {
        // Keep-warm's cost, from the trading thread's own histogram (layout single).
        const h = p.strategyMetrics.readHistograms().keep_warm;
        if (h.count > 0) console.error(`  keep-warm (${layout}/${strategyWait}, run ${runIndex}): ${h.count} runs, mean ${fmtUs(h.sumNs / h.count)}, max ${fmtUs(h.maxNs)}`);
      }
      await p?.stop();
      p = null;
    },
  };
}

// ---- one run of one variant ---------------------------------------------------------------------

type Variant = "sdk" | "floor" | "tradingd single" | "tradingd single cold" | "tradingd single spin" | "tradingd split spin/block" | "tradingd split hybrid/hybrid";
const ALL_VARIANTS: Variant[] = ["sdk", "floor", "tradingd single", "tradingd single cold", "tradingd single spin", "tradingd split spin/block", "tradingd split hybrid/hybrid"];
/** `COMPARE_VARIANTS=floor,tradingd single spin` runs only those (the floor is always run: the ratios need it). */
const VARIANTS: Variant[] = process.env.COMPARE_VARIANTS
  ? ALL_VARIANTS.filter((v) => v === "floor" || process.env.COMPARE_VARIANTS!.split(",").includes(v))
  : ALL_VARIANTS;
const makeClient = (v: Variant): Client => {
  switch (v) {
    case "sdk":
      return sdkClient();
    case "floor":
      return floorClient();
    case "tradingd single":
      // The event-driven single thread waits on its event loop (polygon and alpaca need it).
      return tradingdClient("single", "hybrid", "hybrid");
    case "tradingd single cold":
      // The same with keep-warm off (threads.keep_warm_us: 0): what keeping warm buys.
      return tradingdClient("single", "hybrid", "hybrid", false);
    case "tradingd single spin":
      return tradingdClient("single", "spin", "hybrid");
    case "tradingd split spin/block":
      return tradingdClient("split", "spin", "block");
    case "tradingd split hybrid/hybrid":
      return tradingdClient("split", "hybrid", "hybrid");
  }
};

interface Run {
  variant: Variant;
  quotes: number;
  orders: number;
  unmatched: number;
  symbolMismatch: number;
  acausal: number;
  non2xx: number;
  failed: number;
  rate: number;
  e2e: Pct;
  /** Per counted quote: [q, written ns, fake's arrival ns] (for COMPARE_LEGS). */
  samples: number[][];
}

async function run(variant: Variant, runIndex: number): Promise<Run> {
  const client = makeClient(variant);
  try {
    await client.start(runIndex);
    await takeOrders();
    const written = new Float64Array(new SharedArrayBuffer((WARM_QUOTES + COUNT_QUOTES + 2) * 3 * 8));
    const base = postCount() - client.sent();
    await stream(1, WARM_QUOTES, written.buffer as SharedArrayBuffer);
    await until(() => postCount() - base >= client.sent(), 2_000);
    await sleep(20);
    // Every variant's counted part starts from collected heaps (this thread's, where sdk and
    // floor run, and the fakes'): the garbage of the variant before is not collected in it.
    await takeOrders(true);
    Bun.gc(true);
    if (ISOLATE) isolateFakes();
    const done = await stream(WARM_QUOTES + 1, COUNT_QUOTES, written.buffer as SharedArrayBuffer, true);
    await until(() => postCount() - base >= client.sent() && client.sent() >= WARM_QUOTES + COUNT_QUOTES, 3_000);
    await sleep(20);
    const list = await takeOrders();
    const first = WARM_QUOTES + 1;
    const last = WARM_QUOTES + COUNT_QUOTES;
    const e2e: number[] = [];
    const samples: number[][] = [];
    let unmatched = 0;
    let symbolMismatch = 0;
    let acausal = 0;
    let non2xx = 0;
    for (const o of list) {
      if (o.status === null || o.status < 200 || o.status > 299) non2xx++;
      const body = JSON.parse(o.body) as { symbol: string; limit_price: string };
      const q = qOfAsk(Number(body.limit_price));
      if (q < 1 || q > last || !(written[3 * q]! > 0)) {
        unmatched++;
        continue;
      }
      if (q < first) continue; // a late order of the warm-up part
      if (SYMBOLS[written[3 * q + 2]!] !== body.symbol) symbolMismatch++;
      const w = written[3 * q]!;
      if (o.atNs < w) acausal++;
      e2e.push(o.atNs - w);
      if (LEGS) samples.push([q, w, o.atNs]);
    }
    return {
      variant,
      quotes: done.result.events,
      orders: e2e.length,
      unmatched,
      symbolMismatch,
      acausal,
      non2xx,
      failed: client.failed(),
      rate: +((done.result.frames - 1) / (done.result.elapsedNs / 1e9)).toFixed(1),
      e2e: pct(e2e),
      samples,
    };
  } finally {
    await client.stop();
    await sleep(50); // let the fake Polygon see the close: it streams to exactly one connection
  }
}

/**
 * COMPARE_LEGS: splits each tradingd quote's time at the stamps its strategy kept: A = send →
 * the frame's receipt on the trading thread (kernel, wake-up, WebSocket), B = receipt → the
 * strategy's callback (gateway, ring, engine), C = the callback → `submit` returned (risk, the
 * order ring), D = → the fake's handler (the execution stage: journal line, request written;
 * the kernel; the fake's thread). Prints each leg's
 * p50/p99 and, for the slowest 1 % by end to end, which leg was longest.
 */
function legs(x: Run, runIndex: number) {
  const v = x.variant;
  const layout = v.includes("split") ? "split" : "single";
  const wait = v.endsWith("spin") ? "spin" : v.includes("spin/") ? "spin" : "hybrid";
  const st = new Float64Array(readFileSync(stampsPath(runIndex, layout, wait, !v.endsWith("cold"))).buffer.slice(0));
  const rows = x.samples.map(([q, w, at]) => {
    const recv = st[3 * q!]!;
    const seen = st[3 * q! + 1]!;
    const sub = st[3 * q! + 2]!;
    return { e2e: at! - w!, A: recv - w!, B: seen - recv, C: sub - seen, D: at! - sub };
  });
  const f = (k: "A" | "B" | "C" | "D" | "e2e") => {
    const p = pct(rows.map((r) => r[k]));
    return `${k} ${fmtUs(p.p50)}/${fmtUs(p.p99)}`;
  };
  rows.sort((a, b) => b.e2e - a.e2e);
  const tail = rows.slice(0, Math.max(1, Math.ceil(rows.length / 100)));
  const worst: Record<string, number> = { A: 0, B: 0, C: 0, D: 0 };
  for (const r of tail) {
    const k = (["A", "B", "C", "D"] as const).reduce((m, k2) => (r[k2] > r[m] ? k2 : m), "A" as "A" | "B" | "C" | "D");
    worst[k]!++;
  }
  console.error(`legs ${v} run ${runIndex} (p50/p99): ${["e2e", "A", "B", "C", "D"].map((k) => f(k as "A")).join(", ")}; slowest 1 % longest leg: ${JSON.stringify(worst)}`);
  console.error(`  slowest: ${tail.slice(0, 5).map((r) => `[${[r.A, r.B, r.C, r.D].map((n) => (n / 1e3).toFixed(0)).join(" ")}]`).join(" ")}`);
}

/** COMPARE_LEGS for the floor: A = send → onmessage, W = → the request written, D = → the fake. */
function floorLegs(x: Run, runIndex: number) {
  const rows = x.samples.map(([q, w, at]) => ({ A: floorStamps[2 * q!]! - w!, W: floorStamps[2 * q! + 1]! - floorStamps[2 * q!]!, D: at! - floorStamps[2 * q! + 1]! }));
  const f = (k: "A" | "W" | "D") => {
    const p = pct(rows.map((r) => r[k]));
    return `${k} ${fmtUs(p.p50)}/${fmtUs(p.p99)}`;
  };
  console.error(`legs floor run ${runIndex} (p50/p99): ${f("A")}, ${f("W")}, ${f("D")}`);
}

const runs: Run[] = [];
for (let r = 0; r < RUNS; r++) {
  const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
  for (const v of order) {
    const x = await run(v, r);
    runs.push(x);
    if (LEGS && v.startsWith("tradingd")) legs(x, r);
    if (LEGS && v === "floor") floorLegs(x, r);
    if (x.unmatched + x.symbolMismatch + x.acausal + x.non2xx + x.failed > 0 || x.orders < x.quotes)
      console.error(`compare.bench: ${v} run ${r}: orders ${x.orders}/${x.quotes}, unmatched ${x.unmatched}, symbol mismatches ${x.symbolMismatch}, acausal ${x.acausal}, non-2xx ${x.non2xx}, failed ${x.failed}`);
  }
}
await polygon.call({ type: "close" }, "closed");
await alpaca.call({ type: "close" }, "closed");
rmSync(tmp, { recursive: true, force: true });

// ---- report -----------------------------------------------------------------------------------

const KEYS = ["p50", "p90", "p99", "p999", "max"] as const;
const summary = Object.fromEntries(
  VARIANTS.map((v) => {
    const rs = runs.filter((r) => r.variant === v);
    const med = Object.fromEntries(KEYS.map((k) => [k, median(rs.map((r) => r.e2e[k]))])) as Record<(typeof KEYS)[number], number>;
    return [v, { median_ns: med, per_run: rs.map((r) => ({ ...r.e2e, orders: r.orders, quotes: r.quotes, rate: r.rate, unmatched: r.unmatched, symbol_mismatch: r.symbolMismatch, acausal: r.acausal, non2xx: r.non2xx, failed: r.failed })) }];
  }),
) as unknown as Record<Variant, { median_ns: Record<(typeof KEYS)[number], number>; per_run: Record<string, number>[] }>;
const floor = summary.floor.median_ns;
const ratios = Object.fromEntries(VARIANTS.map((v) => [v, { p50: ratio(summary[v].median_ns.p50, floor.p50), p99: ratio(summary[v].median_ns.p99, floor.p99) }])) as Record<
  Variant,
  { p50: number; p99: number }
>;
const target = Object.fromEntries(
  VARIANTS.filter((v) => v.startsWith("tradingd")).map((v) => [v, { p50_met: ratios[v].p50 <= TARGET.p50, p99_met: ratios[v].p99 <= TARGET.p99 }]),
);
const seconds = +((performance.now() - tStart) / 1e3).toFixed(1);

console.log(`\n## Comparison: official SDKs, the floor, tradingd (${RUNS} run(s) each, interleaved; ${COUNT_QUOTES} counted quotes/run at ${QUOTE_RATE}/s; medians of runs)\n`);
console.log("Black box: fake Polygon `nowNs()` just before the frame's send → fake Alpaca's `nowNs()` at the order request.");
console.log(
  (ISOLATE ? "CPUs: the fakes' two threads on CPU 0, every other thread on CPU 1" : "CPUs: shared (every thread may run on any CPU)") +
    (dmaHold !== null ? "; idle CPUs poll (cpu_dma_latency held at 0).\n" : ".\n"),
);
console.log("| variant | orders/run | **p50** | p90 | **p99** | p99.9 | max | p50 / floor | p99 / floor | target (≤1.5x p50, ≤2x p99) |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const v of VARIANTS) {
  const m = summary[v].median_ns;
  const t = target[v] as { p50_met: boolean; p99_met: boolean } | undefined;
  const tt = t ? `p50 ${t.p50_met ? "met" : "NOT met"}, p99 ${t.p99_met ? "met" : "NOT met"}` : "–";
  console.log(
    `| ${v} | ${median(summary[v].per_run.map((r) => r.orders!))} | **${fmtUs(m.p50)}** | ${fmtUs(m.p90)} | **${fmtUs(m.p99)}** | ${fmtUs(m.p999)} | ${fmtUs(m.max)} | ${ratios[v].p50}x | ${ratios[v].p99}x | ${tt} |`,
  );
}
console.log("\nPer run (p50 / p99):\n");
for (const v of VARIANTS)
  console.log(`- ${v}: ${summary[v].per_run.map((r) => `${fmtUs(r.p50!)} / ${fmtUs(r.p99!)} (${r.rate} q/s)`).join("; ")}`);
console.log(`\n(${seconds} s)`);

console.log(
  "BENCH_JSON " +
    JSON.stringify({
      bench: "compare",
      quick: QUICK,
      cpus: ISOLATE ? "fakes on CPU 0, the rest on CPU 1" : "shared",
      cpu_dma_latency_0: dmaHold !== null,
      runs: RUNS,
      quote_rate: QUOTE_RATE,
      count_quotes: COUNT_QUOTES,
      warm_quotes: WARM_QUOTES,
      variants: summary,
      ratios_to_floor: ratios,
      target: { ...TARGET, per_variant: target },
      seconds,
    }),
);
dmaHold?.release();
process.exit(0);
