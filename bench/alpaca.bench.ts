/**
 * The Alpaca order path over loopback, against the fake Alpaca (`daemon/fakes/alpaca/`) running
 * in a Worker (`bench/fixtures/alpaca-fake-worker.ts`), so the fake's event loop is never the
 * client's.
 *
 *   bun bench/alpaca.bench.ts                 # ~80 s; markdown tables and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/alpaca.bench.ts   # ~8 s smoke run (figures rough)
 *
 * Part 1, order request: the client in this (main) thread calls `AlpacaRest.submitOrder` as the
 * gateway does (the same `OrderRequest` shape: a ~135-byte JSON, IOC limit, a new
 * client_order_id each time; `submitOrder` does the JSON.stringify, the rate budget and the
 * answer's classification) over `PoolTransport` (raw HTTP/1.1 keep-alive pool, 2 connections,
 * verified before the first order, the POST rendered from the prepared template) and over
 * `FetchTransport` (Bun's fetch, keep-alive). Orders go back to back: the next is sent when the
 * previous answer is in. Per order:
 *   (a) call → arrival: `atNs` of the fake's request record (its `nowNs()` when its fetch handler
 *       got the request; daemon/shm/clock.ts, CLOCK_MONOTONIC, one clock for every thread)
 *       minus `nowNs()` just before the call, in this thread;
 *   (b) call → 200 back: `nowNs()` when `submitOrder` resolved (the answer parsed and
 *       classified) minus the same start.
 * The fake: `rateLimitPerMin` 10^7 (never 429), fill mode `never` (the IOC orders are answered
 * 200 `accepted` and then canceled on its trade_updates stream, which nobody listens to here),
 * cash 10^9. The client's `RateBudget` is 10^6 a minute. The journal is NOT in this measurement
 * (the gateway writes the intent and "sent" before calling `submitOrder`; see the journal bench).
 * Each transport gets WARM_ORDERS uncounted orders first; then RUNS1 runs of N_ORDERS orders per
 * transport, interleaved (pool, fetch, fetch, pool, …). Every PRUNE_EVERY orders (untimed) the
 * fake's records are collected and its done orders dropped from its brokerage's list, which it
 * walks on every new order (its per-order cost would otherwise grow with every order it took).
 * Percentiles are exact (sorted samples)
 * per run; each figure is the median over runs; ratio = fetch / pool.
 *
 * Part 2, tick-to-order through the whole daemon: fake Polygon (its own Worker,
 * `bench/fixtures/polygon-quote-worker.ts`) → feed worker (`feed.kind: polygon`) → strategy
 * worker (`bench/fixtures/alpaca-order-strategy.ts`: buys 1 share on every quote, IOC limit at
 * the ask) → risk → order ring → execution worker (`broker.kind: alpaca`: journal, then the
 * POST over the pool) → fake Alpaca (its Worker). `Pipeline` runs in this thread, as in the
 * daemon. The fake Polygon sends quotes only, ONE QUOTE PER FRAME, at QUOTE_RATE quotes/s over 2
 * symbols, and every quote is a trading signal. Black box, one clock: from `nowNs()` in the fake
 * Polygon's thread just before the frame's `sendText` (the JSON already serialised; the fake's
 * `onFrameWritten` stamp comes after the send returned, and on loopback the client can already
 * be running inside that send, see the Polygon latency bench) to the fake Alpaca's `atNs` of the
 * order request.
 *   Matching an order to its quote: the fake Polygon sets every quote's ask from its `q`
 *   (ask = 50.00 + (q mod 20,000)/100, bid = ask − 0.01) and the strategy buys at the ask, so the
 *   order's `limit_price` names its quote exactly (q = ask × 100 − 5000; < 20,000 quotes a run)
 *   and its `symbol` is checked against the quote's. As a cross-check the bench also counts the
 *   orders whose quote is the LATEST frame written before the order arrived (the matching one
 *   would use without the price trick: at 100 quotes/s the next quote comes 10 ms later).
 *   The rate is 100 quotes/s, not more, because with `journal_sync: full` each order costs the
 *   execution thread ~5 synchronous journal commits (intent and "sent" before the POST; the
 *   accept and the trade updates after), each an fsync of 0.2–0.5 ms on this VM's disk: at 200
 *   orders/s that kept the thread busy enough that orders queued behind the previous order's
 *   writes (p99 in the hundreds of ms in some runs): a capacity limit, not the latency asked for.
 * Variants: `journal_sync: normal` and `full`, interleaved (normal, full, full, normal, …), a fresh
 * Pipeline and journal file (temp dir) per run; each run streams WARM_QUOTES uncounted quotes,
 * then the daemon's stage histograms are read, then COUNT_QUOTES counted quotes, then the
 * histograms again (difference: the counted part only). Also reported: the daemon's own
 * `tick_to_order` (feed receive → the execution worker's `onOrderSent`, which is after the
 * journal's intent but before its "sent" write and before the POST), `tick_to_ack` (→ the 200
 * handled) and the hops. Percentiles of the black box are exact; the daemon's are its histograms
 * (bucket upper bounds, ≤ 12.5 % high). Config otherwise default: wait strategies hybrid (spin
 * 50 µs, then block), 2 order connections, warm-up 20,000 synthetic events, no tuning.
 *   Context only (another run, another machine state): ARCHITECTURE.md §12's JS floor for
 *   tick-to-order, p50 ~46 µs / p99 ~180 µs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_KEY_ID, DEFAULT_SECRET_KEY } from "../daemon/fakes/alpaca/index.ts";
import { AlpacaRest, type OrderRequest } from "../daemon/gateways/alpaca/rest.ts";
import { FetchTransport, PoolTransport, type HttpTransport } from "../daemon/gateways/alpaca/transport.ts";
import { RateBudget } from "../daemon/gateways/alpaca/rate-limit.ts";
import { subscriptionParams } from "../daemon/gateways/polygon/run.ts";
import { Pipeline } from "../daemon/supervisor.ts";
import { W_BROKER_READY } from "../daemon/shm/control.ts";
import { nowNs } from "../daemon/shm/clock.ts";
import { configureLog } from "../daemon/log.ts";
import { stageSnapshots, type Stage } from "../daemon/http/metrics.ts";
import { QUICK, config, cpuSeconds, delta, fmtUs, median, ratio, sleep, until, peer } from "./support.ts";

const RUNS1 = QUICK ? 1 : 5;
const N_ORDERS = QUICK ? 500 : 3_000;
const WARM_ORDERS = QUICK ? 200 : 1_000;
/** Every this many orders (untimed) the fake's records are collected and its done orders dropped. */
const PRUNE_EVERY = 250;

const RUNS2 = QUICK ? 1 : 3;
const QUOTE_RATE = 100;
const WARM_QUOTES = QUICK ? 40 : 100;
const COUNT_QUOTES = QUICK ? 250 : 1_000;
const SYMBOLS = ["AAPL", "MSFT"];
const FLOOR = { p50: 46_000, p99: 180_000 }; // ARCHITECTURE.md §12, JS floor (another run)
const DAEMON_STAGES: Stage[] = ["feed_publish", "md_hop", "decision", "order_hop", "tick_to_order", "tick_to_ack"];

configureLog("warn", "text");
const tStart = performance.now();
const MAIN_TID = process.pid;

// ---- workers ----------------------------------------------------------------------------------

const alpaca = peer(new URL("./fixtures/alpaca-fake-worker.ts", import.meta.url), "alpaca.bench");
const alpacaReady = await alpaca.next();
const ALPACA_TID = alpacaReady.tid as number;
const posts = new Int32Array(new SharedArrayBuffer(4));
const postCount = () => Atomics.load(posts, 0);

interface OrderRecord {
  atNs: number;
  body: string;
  status: number | null;
}
const takeOrders = async (): Promise<OrderRecord[]> => (await alpaca.call({ type: "orders" }, "orders")).list;

interface Pct {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  n: number;
}
function pct(xs: Float64Array | number[]): Pct {
  const s = Float64Array.from(xs).sort();
  const at = (p: number) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p * s.length) / 100) - 1))]!);
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: s.length ? s[s.length - 1]! : NaN, n: s.length };
}
const medPct = (ps: Pct[]): Pct => ({
  p50: median(ps.map((p) => p.p50)),
  p90: median(ps.map((p) => p.p90)),
  p99: median(ps.map((p) => p.p99)),
  p999: median(ps.map((p) => p.p999)),
  max: median(ps.map((p) => p.max)),
  n: median(ps.map((p) => p.n)),
});

// ---- part 1: one order request, pool vs fetch --------------------------------------------------

type Transport = "pool" | "fetch";
interface OrderRun {
  transport: Transport;
  orders: number;
  accepted: number;
  unmatched: number;
  toArrival: Pct;
  roundTrip: Pct;
  /** Arrival → 200 back: the fake's handling plus the answer's way back and its parsing. */
  back: Pct;
  cpuClientUsPerOrder: number;
  cpuFakeUsPerOrder: number;
}

const started1 = await alpaca.call(
  { type: "start", posts: posts.buffer, options: { rateLimitPerMin: 10_000_000, fillMode: "never", symbols: ["AAPL"], cash: "1000000000" } },
  "started",
);
const poolT = new PoolTransport(started1.url, DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, 2, 15_000);
await poolT.pool.ready(2, 10_000);
const fetchT = new FetchTransport(started1.url, DEFAULT_KEY_ID, DEFAULT_SECRET_KEY);
const rests: Record<Transport, AlpacaRest> = {
  pool: new AlpacaRest(poolT as HttpTransport, new RateBudget(1_000_000), 2_000),
  fetch: new AlpacaRest(fetchT as HttpTransport, new RateBudget(1_000_000), 2_000),
};
const runTag = Date.now().toString(36);
let runNo = 0;

async function orderRun(transport: Transport, n: number): Promise<OrderRun> {
  const rest = rests[transport];
  const prefix = `td-${runTag}-${(++runNo).toString(36)}-`;
  const t0 = new Float64Array(n);
  const t1 = new Float64Array(n);
  let accepted = 0;
  await takeOrders(); // forget what came before
  const req: OrderRequest = { symbol: "AAPL", qty: "1", side: "buy", type: "limit", time_in_force: "ioc", client_order_id: "", limit_price: "187.25" };
  const list: OrderRecord[] = [];
  let cpuClient = 0;
  let cpuFake = 0;
  let cpu0 = [cpuSeconds(MAIN_TID), cpuSeconds(ALPACA_TID)];
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % PRUNE_EVERY === 0) {
      // Untimed: collect the fake's records and let it forget its done orders (see the worker).
      const cpu1 = [cpuSeconds(MAIN_TID), cpuSeconds(ALPACA_TID)];
      cpuClient += cpu1[0]! - cpu0[0]!;
      cpuFake += cpu1[1]! - cpu0[1]!;
      for (const o of await takeOrders()) list.push(o);
      cpu0 = [cpuSeconds(MAIN_TID), cpuSeconds(ALPACA_TID)];
    }
    // As the gateway builds it: a fresh object per order, limit_price added last.
    const r: OrderRequest = { symbol: req.symbol, qty: req.qty, side: req.side, type: req.type, time_in_force: req.time_in_force, client_order_id: prefix + i.toString(36) };
    r.limit_price = req.limit_price;
    t0[i] = nowNs();
    const res = await rest.submitOrder(r);
    t1[i] = nowNs();
    if (res.kind === "accepted") accepted++;
  }
  const cpu1 = [cpuSeconds(MAIN_TID), cpuSeconds(ALPACA_TID)];
  cpuClient += cpu1[0]! - cpu0[0]!;
  cpuFake += cpu1[1]! - cpu0[1]!;
  for (const o of await takeOrders()) list.push(o);
  const arrival = new Float64Array(n).fill(NaN);
  for (const o of list) {
    const coid = (JSON.parse(o.body) as { client_order_id: string }).client_order_id;
    if (!coid.startsWith(prefix)) continue;
    arrival[parseInt(coid.slice(prefix.length), 36)] = o.atNs;
  }
  const a: number[] = [];
  const rt: number[] = [];
  const b: number[] = [];
  let unmatched = 0;
  for (let i = 0; i < n; i++) {
    rt.push(t1[i]! - t0[i]!);
    if (!Number.isFinite(arrival[i]!)) {
      unmatched++;
      continue;
    }
    a.push(arrival[i]! - t0[i]!);
    b.push(t1[i]! - arrival[i]!);
  }
  return {
    transport,
    orders: n,
    accepted,
    unmatched,
    toArrival: pct(a),
    roundTrip: pct(rt),
    back: pct(b),
    cpuClientUsPerOrder: +((cpuClient * 1e6) / n).toFixed(1),
    cpuFakeUsPerOrder: +((cpuFake * 1e6) / n).toFixed(1),
  };
}

await orderRun("pool", WARM_ORDERS);
await orderRun("fetch", WARM_ORDERS);
const orderRuns: OrderRun[] = [];
for (let r = 0; r < RUNS1; r++) {
  const order: Transport[] = r % 2 === 0 ? ["pool", "fetch"] : ["fetch", "pool"];
  for (const t of order) orderRuns.push(await orderRun(t, N_ORDERS));
}
poolT.close();
fetchT.close();

const byTransport = Object.fromEntries(
  (["pool", "fetch"] as Transport[]).map((t) => {
    const rs = orderRuns.filter((r) => r.transport === t);
    return [
      t,
      {
        runs: rs.length,
        orders_per_run: N_ORDERS,
        accepted_per_run: rs.map((r) => r.accepted),
        unmatched_per_run: rs.map((r) => r.unmatched),
        call_to_arrival_ns: medPct(rs.map((r) => r.toArrival)),
        call_to_200_ns: medPct(rs.map((r) => r.roundTrip)),
        arrival_to_200_ns: medPct(rs.map((r) => r.back)),
        call_to_arrival_p50_per_run_ns: rs.map((r) => r.toArrival.p50),
        call_to_200_p50_per_run_ns: rs.map((r) => r.roundTrip.p50),
        call_to_200_p99_per_run_ns: rs.map((r) => r.roundTrip.p99),
        cpu_client_us_per_order_median: median(rs.map((r) => r.cpuClientUsPerOrder)),
        cpu_fake_us_per_order_median: median(rs.map((r) => r.cpuFakeUsPerOrder)),
      },
    ];
  }),
) as Record<Transport, { runs: number; orders_per_run: number; accepted_per_run: number[]; unmatched_per_run: number[]; call_to_arrival_ns: Pct; call_to_200_ns: Pct; arrival_to_200_ns: Pct; call_to_arrival_p50_per_run_ns: number[]; call_to_200_p50_per_run_ns: number[]; call_to_200_p99_per_run_ns: number[]; cpu_client_us_per_order_median: number; cpu_fake_us_per_order_median: number }>;

const ratiosOf = (k: "call_to_arrival_ns" | "call_to_200_ns" | "arrival_to_200_ns") => ({
  p50: ratio(byTransport.fetch[k].p50, byTransport.pool[k].p50),
  p99: ratio(byTransport.fetch[k].p99, byTransport.pool[k].p99),
  p999: ratio(byTransport.fetch[k].p999, byTransport.pool[k].p999),
});
const orderRatios = { call_to_arrival: ratiosOf("call_to_arrival_ns"), call_to_200: ratiosOf("call_to_200_ns"), arrival_to_200: ratiosOf("arrival_to_200_ns") };

// ---- part 2: tick-to-order through the pipeline -------------------------------------------------

const polygon = peer(new URL("./fixtures/polygon-quote-worker.ts", import.meta.url), "alpaca.bench");
const polygonReady = await polygon.next();
const POLYGON_URL = polygonReady.url as string;
const POLYGON_TID = polygonReady.tid as number;
const PARAMS = subscriptionParams(["Q"], SYMBOLS, false).split(",").length;
const started2 = await alpaca.call(
  { type: "start", posts: posts.buffer, options: { rateLimitPerMin: 10_000_000, fillMode: "never", symbols: SYMBOLS, cash: "1000000000" } },
  "started",
);
const tmp = mkdtempSync(join(tmpdir(), "tradingd-alpaca-bench-"));
const STRATEGY = join(import.meta.dir, "fixtures", "alpaca-order-strategy.ts");
/** Inverse of the fixture's askOf: the quote's q from the order's limit price. */
const qOfAsk = (ask: number) => Math.round(ask * 100) - 5000;
/**
 * Risk limits that would refuse an order a quote at 200/s: every order is a new price, so the
 * duplicate check never fires, but a per-minute order cap would. Set where the schema has it.
 */
const RISK_EXTRA = (() => {
  try {
    config("risk: { max_orders_per_min: 1000000 }", "alpaca.bench probe");
    return ", max_orders_per_min: 1000000";
  } catch {
    return "";
  }
})();

type Sync = "normal" | "full";
interface TickRun {
  sync: Sync;
  quotes: number;
  orders: number;
  /** Counted orders whose symbol did not match their quote's (must be 0). */
  symbolMismatch: number;
  /** Orders at the fake that name no quote of the counted part (must be 0). */
  unmatched: number;
  /** Counted orders whose quote was the latest frame written before the order arrived. */
  latestFrame: number;
  /** Arrived before their quote's send began (must be 0: checks the clock and the matching). */
  acausal: number;
  e2e: Pct;
  send: Pct;
  riskRejects: number;
  daemon: Record<Stage, { count: number; p50: number; p99: number }>;
  cpuPct: Record<string, number>;
  rate: number;
}

async function stream(firstSeq: number, count: number, written: SharedArrayBuffer) {
  const m = await polygon.call({ type: "stream", rate: QUOTE_RATE, count, firstSeq, symbols: SYMBOLS, params: PARAMS, written }, "done");
  return m as { result: { events: number; frames: number; framesDelivered: number; elapsedNs: number }; framesDropped: number };
}

async function tickRun(sync: Sync, runIndex: number): Promise<TickRun> {
  const cfg = config(
    `
mode: paper
symbols: [${SYMBOLS.join(", ")}]
feed:
  kind: polygon
  polygon: { url: "${POLYGON_URL}", api_key: bench-key, channels: [Q] }
strategy: { name: module, module: ${STRATEGY}, params: { every: 1, qty: 1 } }
broker:
  kind: alpaca
  alpaca:
    base_url: ${started2.url}
    stream_url: ${started2.streamUrl}
    key_id: ${DEFAULT_KEY_ID}
    secret_key: ${DEFAULT_SECRET_KEY}
    rate_limit_per_min: 10000
risk: { max_orders_per_sec: 100000, max_open_orders: 1000, max_order_notional: 1000000, max_position_qty: 1000000${RISK_EXTRA} }
journal_path: ${join(tmp, `journal-${runIndex}-${sync}.sqlite`)}
journal_sync: ${sync}
tuning: { enabled: false }
`,
    "alpaca.bench",
  );
  const p = new Pipeline(cfg, { stopDeadlineMs: 5_000 });
  try {
    await p.start();
    if (!(await until(() => p.control.get(W_BROKER_READY) === 1, 15_000))) throw new Error("the broker never became ready");
    await takeOrders();
    const written = new Float64Array(new SharedArrayBuffer((WARM_QUOTES + COUNT_QUOTES + 2) * 3 * 8));
    const submitted = () => p.strategyMetrics.readCounters().orders_submitted;
    const base = postCount() - submitted();
    // Warm-up part: not counted.
    await stream(1, WARM_QUOTES, written.buffer as SharedArrayBuffer);
    await until(() => postCount() - base >= submitted(), 2_000);
    await sleep(20);
    await takeOrders(); // the warm-up's orders (also lets the fake drop its done orders)
    const h0 = stageSnapshots(p);
    const s0 = p.strategyMetrics.readCounters();
    const cpu0 = Object.fromEntries([...p.threads.map((t) => [t.name, cpuSeconds(t.tid)]), ["fake-polygon", cpuSeconds(POLYGON_TID)], ["fake-alpaca", cpuSeconds(ALPACA_TID)]]);
    const t0 = performance.now();
    const done = await stream(WARM_QUOTES + 1, COUNT_QUOTES, written.buffer as SharedArrayBuffer);
    const seconds = (performance.now() - t0) / 1e3;
    const cpu1 = Object.fromEntries([...p.threads.map((t) => [t.name, cpuSeconds(t.tid)]), ["fake-polygon", cpuSeconds(POLYGON_TID)], ["fake-alpaca", cpuSeconds(ALPACA_TID)]]);
    await until(() => postCount() - base >= submitted(), 3_000);
    await sleep(20);
    const h1 = stageSnapshots(p);
    const s1 = p.strategyMetrics.readCounters();
    const list = await takeOrders();

    const first = WARM_QUOTES + 1;
    const last = WARM_QUOTES + COUNT_QUOTES;
    const e2e: number[] = [];
    const send: number[] = [];
    let symbolMismatch = 0;
    let unmatched = 0;
    let latestFrame = 0;
    let acausal = 0;
    let orders = 0;
    for (let q = first; q <= last; q++) if (written[3 * q]! > 0) send.push(written[3 * q + 1]! - written[3 * q]!);
    for (const o of list) {
      const body = JSON.parse(o.body) as { symbol: string; limit_price: string };
      const q = qOfAsk(Number(body.limit_price));
      if (q < 1 || q > last || !(written[3 * q]! > 0)) {
        unmatched++;
        continue;
      }
      if (q < first) continue; // a late order of the warm-up part
      orders++;
      if (SYMBOLS[written[3 * q + 2]!] !== body.symbol) symbolMismatch++;
      const w = written[3 * q]!;
      if (o.atNs < w) acausal++;
      e2e.push(o.atNs - w);
      // The latest frame whose send began before this order arrived (stamps rise with q).
      let lo = 1;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (written[3 * mid]! > 0 && written[3 * mid]! <= o.atNs) lo = mid;
        else hi = mid - 1;
      }
      if (lo === q) latestFrame++;
    }
    const daemon = {} as TickRun["daemon"];
    for (const st of DAEMON_STAGES) {
      const d = delta(h0[st], h1[st]);
      daemon[st] = { count: d.count, p50: d.percentile(50), p99: d.percentile(99) };
    }
    const rejectsBy: Record<string, number> = {};
    for (const [k, v] of Object.entries(s1)) {
      const d = v - ((s0 as Record<string, number>)[k] ?? 0);
      if (k.startsWith("risk_reject") && d > 0) rejectsBy[k.slice("risk_reject_".length)] = d;
    }
    const riskRejects = Object.values(rejectsBy).reduce((a, b) => a + b, 0);
    if (riskRejects > 0) console.error(`alpaca.bench: ${sync} run ${runIndex}: risk refused ${riskRejects} orders: ${JSON.stringify(rejectsBy)}`);
    const cpuPct: Record<string, number> = {};
    for (const k of Object.keys(cpu0)) cpuPct[k] = +((100 * (cpu1[k]! - cpu0[k]!)) / seconds).toFixed(1);
    return {
      sync,
      quotes: done.result.events,
      orders,
      symbolMismatch,
      unmatched,
      latestFrame,
      acausal,
      e2e: pct(e2e),
      send: pct(send),
      riskRejects,
      daemon,
      cpuPct,
      rate: +((done.result.frames - 1) / (done.result.elapsedNs / 1e9)).toFixed(1),
    };
  } finally {
    await p.stop();
  }
}

const tickRuns: TickRun[] = [];
for (let r = 0; r < RUNS2; r++) {
  const order: Sync[] = r % 2 === 0 ? ["normal", "full"] : ["full", "normal"];
  for (const s of order) tickRuns.push(await tickRun(s, r));
}
await polygon.call({ type: "close" }, "closed");
await alpaca.call({ type: "close" }, "closed");
rmSync(tmp, { recursive: true, force: true });

const bySync = Object.fromEntries(
  (["normal", "full"] as Sync[]).map((s) => {
    const rs = tickRuns.filter((r) => r.sync === s);
    const e2e = medPct(rs.map((r) => r.e2e));
    const daemon = Object.fromEntries(DAEMON_STAGES.map((st) => [st, { p50_ns: median(rs.map((r) => r.daemon[st].p50)), p99_ns: median(rs.map((r) => r.daemon[st].p99)), samples_per_run: rs.map((r) => r.daemon[st].count) }]));
    const cpu = Object.fromEntries(Object.keys(rs[0]!.cpuPct).map((k) => [k, median(rs.map((r) => r.cpuPct[k]!))]));
    return [
      s,
      {
        runs: rs.length,
        quotes_per_run: rs.map((r) => r.quotes),
        orders_per_run: rs.map((r) => r.orders),
        achieved_quotes_per_sec: rs.map((r) => r.rate),
        risk_rejects_per_run: rs.map((r) => r.riskRejects),
        symbol_mismatch_per_run: rs.map((r) => r.symbolMismatch),
        unmatched_per_run: rs.map((r) => r.unmatched),
        acausal_per_run: rs.map((r) => r.acausal),
        latest_frame_share_per_run: rs.map((r) => +(r.latestFrame / Math.max(1, r.orders)).toFixed(4)),
        written_to_order_arrival_ns: e2e,
        written_to_order_arrival_p50_per_run_ns: rs.map((r) => r.e2e.p50),
        written_to_order_arrival_p99_per_run_ns: rs.map((r) => r.e2e.p99),
        fake_polygon_send_call_ns: medPct(rs.map((r) => r.send)),
        daemon_stages: daemon,
        cpu_pct_of_core_median: cpu,
        vs_js_floor_context_only: { p50: ratio(e2e.p50, FLOOR.p50), p99: ratio(e2e.p99, FLOOR.p99) },
      },
    ];
  }),
) as Record<Sync, any>;

// ---- print ------------------------------------------------------------------------------------

const qn = QUICK ? " (QUICK: smoke run, figures not meaningful)" : "";
const cores = navigator.hardwareConcurrency;
const cols = (p: Pct) => `${fmtUs(p.p50)} | ${fmtUs(p.p90)} | ${fmtUs(p.p99)} | ${fmtUs(p.p999)} | ${fmtUs(p.max)}`;
console.log(`### Alpaca order request: AlpacaRest.submitOrder over PoolTransport vs FetchTransport, median of ${RUNS1} run(s) × ${N_ORDERS} orders, ${cores} CPUs${qn}\n`);
console.log(`fake Alpaca in a worker thread, client alone in the main thread; orders back to back after ${WARM_ORDERS} uncounted per transport; journal not included\n`);
console.log("| transport | measure | p50 | p90 | p99 | p99.9 | max |");
console.log("|---|---|---|---|---|---|---|");
for (const t of ["pool", "fetch"] as Transport[]) {
  const b = byTransport[t];
  console.log(`| ${t} | **call → arrival at the fake** | ${cols(b.call_to_arrival_ns)} |`);
  console.log(`| ${t} | **call → 200 back** | ${cols(b.call_to_200_ns)} |`);
  console.log(`| ${t} | arrival → 200 back | ${cols(b.arrival_to_200_ns)} |`);
}
console.log("\n| ratio fetch / pool | p50 | p99 | p99.9 |");
console.log("|---|---|---|---|");
for (const [k, v] of Object.entries(orderRatios)) console.log(`| ${k.replaceAll("_", " ")} | **${v.p50}x** | ${v.p99}x | ${v.p999}x |`);
console.log(
  `\nCPU per order (µs, median of runs): client thread pool ${byTransport.pool.cpu_client_us_per_order_median} / fetch ${byTransport.fetch.cpu_client_us_per_order_median}; fake's thread pool ${byTransport.pool.cpu_fake_us_per_order_median} / fetch ${byTransport.fetch.cpu_fake_us_per_order_median}`,
);
console.log(`accepted per run: pool ${byTransport.pool.accepted_per_run.join(", ")}; fetch ${byTransport.fetch.accepted_per_run.join(", ")} (unmatched at the fake: ${[...byTransport.pool.unmatched_per_run, ...byTransport.fetch.unmatched_per_run].reduce((a, b) => a + b, 0)})`);
console.log(`call → 200 per run, p50 / p99: pool ${byTransport.pool.call_to_200_p50_per_run_ns.map((x, i) => `${fmtUs(x)} / ${fmtUs(byTransport.pool.call_to_200_p99_per_run_ns[i]!)}`).join("; ")} | fetch ${byTransport.fetch.call_to_200_p50_per_run_ns.map((x, i) => `${fmtUs(x)} / ${fmtUs(byTransport.fetch.call_to_200_p99_per_run_ns[i]!)}`).join("; ")}`);

console.log(`\n### Tick-to-order through the pipeline: fake Polygon → … → fake Alpaca, ${QUOTE_RATE} quotes/s one per frame, every quote an order; median of ${RUNS2} run(s) × ${COUNT_QUOTES} quotes per variant${qn}\n`);
console.log("| journal_sync | orders/run | **written → order at the fake p50** | p90 | **p99** | p99.9 | max | vs JS floor p50 / p99 (context only) | daemon tick_to_order p50 / p99 | tick_to_ack p50 / p99 |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const s of ["normal", "full"] as Sync[]) {
  const b = bySync[s];
  const e = b.written_to_order_arrival_ns as Pct;
  const d = b.daemon_stages;
  console.log(
    `| ${s} | ${b.orders_per_run.join(", ")} | **${fmtUs(e.p50)}** | ${fmtUs(e.p90)} | **${fmtUs(e.p99)}** | ${fmtUs(e.p999)} | ${fmtUs(e.max)} | ${b.vs_js_floor_context_only.p50}x / ${b.vs_js_floor_context_only.p99}x | ${fmtUs(d.tick_to_order.p50_ns)} / ${fmtUs(d.tick_to_order.p99_ns)} | ${fmtUs(d.tick_to_ack.p50_ns)} / ${fmtUs(d.tick_to_ack.p99_ns)} |`,
  );
}
console.log("\ndaemon stages (median of runs, p50 / p99):\n");
console.log("| journal_sync | " + DAEMON_STAGES.join(" | ") + " | fake Polygon send call |");
console.log("|---|" + DAEMON_STAGES.map(() => "---|").join("") + "---|");
for (const s of ["normal", "full"] as Sync[]) {
  const b = bySync[s];
  console.log(`| ${s} | ` + DAEMON_STAGES.map((st) => `${fmtUs(b.daemon_stages[st].p50_ns)} / ${fmtUs(b.daemon_stages[st].p99_ns)}`).join(" | ") + ` | ${fmtUs(b.fake_polygon_send_call_ns.p50)} / ${fmtUs(b.fake_polygon_send_call_ns.p99)} |`);
}
for (const s of ["normal", "full"] as Sync[]) {
  const b = bySync[s];
  console.log(
    `\n${s}: per run p50 / p99 ${b.written_to_order_arrival_p50_per_run_ns.map((x: number, i: number) => `${fmtUs(x)} / ${fmtUs(b.written_to_order_arrival_p99_per_run_ns[i])}`).join("; ")}; quotes/s ${b.achieved_quotes_per_sec.join(", ")}; risk rejects ${b.risk_rejects_per_run.join(", ")}; unmatched ${b.unmatched_per_run.join(", ")}; symbol mismatches ${b.symbol_mismatch_per_run.join(", ")}; acausal ${b.acausal_per_run.join(", ")}; quote = latest frame before arrival ${b.latest_frame_share_per_run.map((x: number) => `${(100 * x).toFixed(1)} %`).join(", ")}; CPU % ${Object.entries(b.cpu_pct_of_core_median).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
}

const totalSeconds = +((performance.now() - tStart) / 1e3).toFixed(1);
const json = {
  bench: "alpaca",
  quick: QUICK,
  cpus: cores,
  bun: Bun.version,
  order_request: { runs: RUNS1, orders_per_run: N_ORDERS, warmup_orders: WARM_ORDERS, transports: byTransport, ratios_fetch_over_pool: orderRatios },
  tick_to_order: { runs: RUNS2, quote_rate: QUOTE_RATE, warmup_quotes: WARM_QUOTES, quotes_per_run: COUNT_QUOTES, symbols: SYMBOLS, js_floor_context_ns: FLOOR, variants: bySync },
  totalSeconds,
};
console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
process.exit(0);
