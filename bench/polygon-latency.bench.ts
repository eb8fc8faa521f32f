/**
 * Polygon gateway latency over loopback: from the moment the fake server wrote a frame to the
 * moment the gateway published its records into the market-data ring.
 *
 *   bun bench/polygon-latency.bench.ts                # ~90 s; markdown tables and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/polygon-latency.bench.ts  # ~7 s smoke run (figures rough)
 *
 * Threads: the fake Polygon server and its paced stream run in a Worker
 * (`bench/fixtures/polygon-fake-worker.ts`), so the fake's event loop and pacing never share a
 * thread with the client measured. The client runs in this (main) thread, alone on its loop:
 *
 * - `gateway`: the daemon's real feed path, `runPolygonFeed` (daemon/gateways/polygon/run.ts:
 *   PolygonClient → PolygonPublisher, housekeeping timer and all) on a private FeedContext
 *   (what `feedContext()` builds in the feed worker: SpscRing with a doorbell attached,
 *   QuoteBook, ControlBlock, FeedMetrics block). The ring is sized to hold every event of the
 *   run (`when_full: drop`, so a drop would show) and nobody consumes it during the run;
 *   afterwards every QUOTE/TRADE record is read: its `I_A` is the event's `q`, which names the
 *   frame the fake wrote it in. Per event:
 *     written → published  = `F_TPUB - written[q]`: the whole gateway path (loopback, Bun's
 *       WebSocket client, scan + validate + ring writes + quote book + publish, and any wait
 *       behind the previous frame),
 *     written → received   = `F_TRECV - written[q]`: up to the gateway's onmessage,
 *     received → published = `F_TPUB - F_TRECV`: the `feed_publish` histogram's quantity.
 * - `baseline`: a bare Bun WebSocket client in this same thread (same handshake options, no
 *   permessage-deflate; auth and subscribe pipelined on open) whose onmessage only stamps
 *   `nowNs()` into a preallocated array (the data is never touched, no parse). The k-th data
 *   frame received is the k-th frame written (one TCP stream, in order; the status frames, a
 *   known number, all come before the stream), so written → received per frame.
 *
 * "Written" (`written[q]`) is `nowNs()` (daemon/shm/clock.ts: CLOCK_MONOTONIC, one clock for all
 * threads) taken in the fake's thread just before the frame's `sendText` (the frame is already
 * serialised), for every event of the frame. `onFrameWritten`'s own `atNs` comes after the send
 * returned and is not usable as the start: on loopback the write syscall runs the receiver's
 * kernel path and wakes the client, which often ran (even published) before that send returned
 * (first version of this bench: up to 99 % of a run's events "received before written"). Both
 * stamps are kept: the send call's duration (start → return) is reported, and `early` counts
 * events received before the send returned. `acausal` (received before the send began) must be 0.
 *
 * Cases: 10,000 events/s in frames of 10, 100,000 events/s in frames of 100, and 100,000
 * events/s in frames of 10 (10,000 frames/s). 8 symbols, Q and T (~60/40). Every frame of a run
 * has the same number of events, so per-event and per-frame percentiles are the same.
 * Each run streams WARMUP_MS + RUN_MS worth of events; the first WARMUP_MS worth are not
 * counted. A fresh connection per run. Gateway and baseline runs alternate (which goes first
 * alternates by repetition), cases are interleaved, RUNS repetitions; the figure is the median
 * over runs of each run's percentile. An uncounted warm-up pair runs first (JIT).
 * Percentiles: the daemon's LatencyHistogram (8 sub-buckets per power of two: the upper bound of
 * the bucket, at most 12.5 % high); max is exact. CPU: utime+stime of this thread (the gateway
 * or baseline) and of the fake's thread during the stream, % of one core. The fake paces by
 * turning its event loop (setImmediate) below 1 ms, so its thread uses ~100 % of a vCPU.
 */
import { runPolygonFeed, subscriptionParams } from "../daemon/gateways/polygon/run.ts";
import type { FeedContext } from "../daemon/feeds/context.ts";
import { parseConfigText } from "../daemon/config/load.ts";
import { SpscRing, SLOT_F64, SLOT_I32 } from "../daemon/shm/ring.ts";
import { Doorbell } from "../daemon/shm/doorbell.ts";
import { ControlBlock, W_STOP_FEED } from "../daemon/shm/control.ts";
import { QuoteBook } from "../daemon/shm/quote-book.ts";
import { MetricsBlock } from "../daemon/metrics/block.ts";
import { FeedMetrics } from "../daemon/metrics/layouts.ts";
import { LatencyHistogram } from "../daemon/metrics/histogram.ts";
import { F_TPUB, F_TRECV, I_A, I_KIND, RecordKind } from "../daemon/shm/records.ts";
import { nowNs } from "../daemon/shm/clock.ts";
import { QUICK, cpuSeconds, fmtUs, median, ratio, sleep, until } from "./support.ts";

const RUNS = QUICK ? 1 : 5;
const RUN_MS = QUICK ? 700 : 2_000;
const WARMUP_MS = QUICK ? 200 : 500;
const INITIAL_WARMUP_MS = QUICK ? 300 : 1_000;
const SYMBOLS = ["AAPL", "MSFT", "SPY", "QQQ", "NVDA", "AMZN", "META", "TSLA"];
const CHANNELS = ["Q", "T"];
const PARAMS = subscriptionParams(CHANNELS, SYMBOLS, false);
const PARAM_COUNT = PARAMS.split(",").length;
/** Frames the server sends before any data: `connected`, `auth_success`, one `success` per param. */
const STATUS_FRAMES = 2 + PARAM_COUNT;
const API_KEY = "bench-key";


interface Case {
  name: string;
  rate: number;
  batch: number;
}
const CASES: Case[] = [
  { name: "10k/s × 10", rate: 10_000, batch: 10 },
  { name: "100k/s × 100", rate: 100_000, batch: 100 },
  { name: "100k/s × 10", rate: 100_000, batch: 10 },
];
type Path = "gateway" | "baseline";

// ---- the fake's worker --------------------------------------------------------------------

const worker = new Worker(new URL("./fixtures/polygon-fake-worker.ts", import.meta.url).href);
let onWorker: ((m: any) => void) | null = null;
worker.onmessage = (e: MessageEvent) => onWorker?.(e.data);
worker.onerror = (e) => {
  console.error(`polygon-latency.bench: fake worker error: ${(e as ErrorEvent).message}`);
  process.exit(1);
};
const nextMessage = (): Promise<any> =>
  new Promise((resolve) => {
    onWorker = (m) => {
      onWorker = null;
      resolve(m);
    };
  });
const ready = await nextMessage();
const URL_ = ready.url as string;
const FAKE_TID = ready.tid as number;
const MAIN_TID = process.pid;

interface StreamDone {
  result: { events: number; frames: number; framesDelivered: number; elapsedNs: number };
  stats: { framesSent: number; eventsSent: number; framesDropped: number; framesBackpressured: number };
}

/** Asks the worker to stream (once one connection is subscribed) and resolves when it has. */
function stream(c: Case, count: number, written: SharedArrayBuffer): Promise<StreamDone> {
  const p = nextMessage();
  worker.postMessage({ type: "stream", rate: c.rate, batch: c.batch, count, symbols: SYMBOLS, params: PARAM_COUNT, written });
  return p.then((m) => {
    if (m.type !== "done") throw new Error(`fake worker: ${m.message ?? JSON.stringify(m)}`);
    return m as StreamDone;
  });
}

// ---- one run --------------------------------------------------------------------------------

interface Pct {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}
interface RunResult {
  path: Path;
  case: string;
  /** Events counted (after the warm-up part of the stream) that reached the client. */
  events: number;
  /** Events of the counted part the fake sent. */
  sent: number;
  /** Counted events that did not arrive as records / frames. */
  lost: number;
  /** Ring drops (gateway) + frames Bun dropped on the server (× batch). */
  drops: number;
  framesBackpressured: number;
  /** Events/s the fake achieved over the counted part (first to last counted frame written). */
  rate: number;
  /** Received before the fake's post-send stamp (`onFrameWritten`'s atNs). */
  early: number;
  /** Received before the send began: impossible; a check of the clock and the mapping. */
  acausal: number;
  /** The fake's send call (sendText: the loopback write syscall), start to return, per frame. */
  send: Pct;
  pub?: Pct;
  recv: Pct;
  scan?: Pct;
  cpuClient: number;
  cpuFake: number;
  seqGaps?: number;
  badInput?: number;
}

const pct = (h: LatencyHistogram): Pct => {
  const s = h.snapshot();
  return { p50: s.percentile(50), p90: s.percentile(90), p99: s.percentile(99), p999: s.percentile(99.9), max: s.maxNs };
};
const newHist = () => new LatencyHistogram(new Float64Array(LatencyHistogram.WORDS), 0);
const nextPow2 = (n: number) => 2 ** Math.ceil(Math.log2(n));

function plan(c: Case, runMs: number, warmupMs: number) {
  const warm = Math.round((c.rate * warmupMs) / 1000 / c.batch) * c.batch;
  const count = warm + Math.round((c.rate * runMs) / 1000 / c.batch) * c.batch;
  return { warm, count, frames: count / c.batch, warmFrames: warm / c.batch };
}

/** Achieved events/s between the first and the last counted frame's write. */
function achievedRate(written: Float64Array, c: Case, warm: number, count: number): number {
  const first = written[2 * (warm + 1)]!;
  const last = written[2 * (count - c.batch + 1)]!;
  const frames = (count - warm) / c.batch;
  return first > 0 && last > first ? ((frames - 1) * c.batch * 1e9) / (last - first) : NaN;
}

async function gatewayRun(c: Case, runMs: number, warmupMs: number): Promise<RunResult> {
  const { warm, count } = plan(c, runMs, warmupMs);
  const slots = nextPow2(count + 1024);
  const config = parseConfigText(
    `
symbols: [${SYMBOLS.join(", ")}]
feed:
  kind: polygon
  polygon: { url: "${URL_}", api_key: ${API_KEY}, channels: [${CHANNELS.join(", ")}] }
rings:
  market_data: { slots: ${slots}, when_full: drop }
strategy: { warmup_events: 0 }
tuning: { enabled: false }
`,
    "polygon-latency.bench",
    {},
  );
  // What feedContext() builds in the feed worker, over fresh buffers.
  const ring = SpscRing.create(slots);
  const doorbell = Doorbell.create();
  ring.attachDoorbell(doorbell);
  const control = new ControlBlock();
  const metrics = MetricsBlock.create(FeedMetrics);
  const ctx: FeedContext = {
    config,
    configDir: process.cwd(),
    symbols: SYMBOLS,
    ring,
    doorbell,
    book: QuoteBook.create(SYMBOLS.length),
    control,
    metrics,
    stopRequested: () => Atomics.load(control.words, W_STOP_FEED) !== 0,
    onPublished: null,
    warm: null,
  };
  const writtenSab = new SharedArrayBuffer((count + 1) * 16);
  const written = new Float64Array(writtenSab);

  const feedDone = runPolygonFeed(ctx, () => {});
  const cpu0 = [cpuSeconds(MAIN_TID), cpuSeconds(FAKE_TID)];
  const t0 = performance.now();
  const done = await stream(c, count, writtenSab);
  const seconds = (performance.now() - t0) / 1e3;
  const cpu1 = [cpuSeconds(MAIN_TID), cpuSeconds(FAKE_TID)];
  // The worker's "done" can overtake the last frames on the socket.
  const counters = () => metrics.readCounters();
  await until(() => counters().md_quotes + counters().md_trades + counters().md_dropped >= done.stats.eventsSent, 2_000);
  control.set(W_STOP_FEED, 1);
  await feedDone;

  const hPub = newHist();
  const hRecv = newHist();
  const hScan = newHist();
  const hSend = newHist();
  let events = 0;
  let early = 0;
  let acausal = 0;
  const n = ring.available();
  const i32 = ring.i32;
  const f64 = ring.f64;
  for (let k = 0; k < n; k++) {
    const s = ring.slotAt(k);
    const kind = i32[s * SLOT_I32 + I_KIND];
    if (kind !== RecordKind.QUOTE && kind !== RecordKind.TRADE) continue;
    const q = i32[s * SLOT_I32 + I_A]!;
    if (q <= warm || q > count) continue;
    const w = written[2 * q]!;
    const wAfter = written[2 * q + 1]!;
    if (!(w > 0)) continue;
    const pub = f64[s * SLOT_F64 + F_TPUB]!;
    const recv = f64[s * SLOT_F64 + F_TRECV]!;
    events++;
    if (recv < wAfter) early++;
    if (recv < w) acausal++;
    if (q % c.batch === 1 % c.batch) hSend.record(wAfter - w); // once per frame
    hPub.record(pub - w);
    hRecv.record(recv - w);
    hScan.record(pub - recv);
  }
  ring.release(n);
  const c1 = counters();
  return {
    path: "gateway",
    case: c.name,
    events,
    sent: count - warm,
    lost: count - warm - events,
    drops: ring.dropped() + done.stats.framesDropped * c.batch,
    framesBackpressured: done.stats.framesBackpressured,
    rate: achievedRate(written, c, warm, count),
    early,
    acausal,
    send: pct(hSend),
    pub: pct(hPub),
    recv: pct(hRecv),
    scan: pct(hScan),
    cpuClient: (100 * (cpu1[0]! - cpu0[0]!)) / seconds,
    cpuFake: (100 * (cpu1[1]! - cpu0[1]!)) / seconds,
    seqGaps: c1.seq_gaps,
    badInput: Object.entries(c1)
      .filter(([k]) => k.startsWith("bad_input_"))
      .reduce((a, [, v]) => a + v, 0),
  };
}

async function baselineRun(c: Case, runMs: number, warmupMs: number): Promise<RunResult> {
  const { warm, count, frames, warmFrames } = plan(c, runMs, warmupMs);
  const recv = new Float64Array(STATUS_FRAMES + frames + 16);
  let received = 0;
  const ws = new WebSocket(URL_, { perMessageDeflate: false } as unknown as string[]);
  ws.onmessage = () => {
    const t = nowNs();
    if (received < recv.length) recv[received] = t;
    received++;
  };
  ws.onopen = () => {
    ws.send(JSON.stringify({ action: "auth", params: API_KEY }));
    ws.send(JSON.stringify({ action: "subscribe", params: PARAMS }));
  };
  const closed = new Promise<void>((resolve) => (ws.onclose = () => resolve()));
  const writtenSab = new SharedArrayBuffer((count + 1) * 16);
  const written = new Float64Array(writtenSab);

  const cpu0 = [cpuSeconds(MAIN_TID), cpuSeconds(FAKE_TID)];
  const t0 = performance.now();
  const done = await stream(c, count, writtenSab);
  const seconds = (performance.now() - t0) / 1e3;
  const cpu1 = [cpuSeconds(MAIN_TID), cpuSeconds(FAKE_TID)];
  await until(() => received >= STATUS_FRAMES + done.stats.framesSent, 2_000);
  ws.close(1000);
  await closed;

  const hRecv = newHist();
  const hSend = newHist();
  let events = 0;
  let early = 0;
  let acausal = 0;
  // Frames map to the stream by order only; if any went missing the mapping is unknown.
  const aligned = received === STATUS_FRAMES + frames;
  if (aligned) {
    for (let k = warmFrames; k < frames; k++) {
      const w = written[2 * (1 + k * c.batch)]!;
      const wAfter = written[2 * (1 + k * c.batch) + 1]!;
      const r = recv[STATUS_FRAMES + k]!;
      if (r < wAfter) early++;
      if (r < w) acausal++;
      hSend.record(wAfter - w);
      hRecv.record(r - w);
      events += c.batch;
    }
  } else {
    console.error(`polygon-latency.bench: baseline got ${received} frames, expected ${STATUS_FRAMES + frames}; run not counted`);
  }
  return {
    path: "baseline",
    case: c.name,
    events,
    sent: count - warm,
    lost: count - warm - events,
    drops: done.stats.framesDropped * c.batch,
    framesBackpressured: done.stats.framesBackpressured,
    rate: achievedRate(written, c, warm, count),
    early: early * c.batch,
    acausal: acausal * c.batch,
    send: pct(hSend),
    recv: aligned ? pct(hRecv) : { p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN },
    cpuClient: (100 * (cpu1[0]! - cpu0[0]!)) / seconds,
    cpuFake: (100 * (cpu1[1]! - cpu0[1]!)) / seconds,
  };
}

const runOne = (path: Path, c: Case, runMs = RUN_MS, warmupMs = WARMUP_MS) => (path === "gateway" ? gatewayRun(c, runMs, warmupMs) : baselineRun(c, runMs, warmupMs));

// ---- main -------------------------------------------------------------------------------------

// runPolygonFeed logs one info line per connection ("authenticated, subscribed to …") straight
// to stderr; with a fresh connection per run that is noise here. Only that line is held back.
const stderrWrite = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
  if (typeof chunk === "string" && chunk.includes("polygon feed: authenticated, subscribed")) return true;
  return (stderrWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stderr.write;

const tStart = performance.now();
// Uncounted warm-up: both paths at the highest frame rate (JIT for the scanner, publisher, client).
for (const path of ["gateway", "baseline"] as Path[]) await runOne(path, CASES[2]!, INITIAL_WARMUP_MS, 0);

const runs: RunResult[] = [];
for (let r = 0; r < RUNS; r++) {
  for (const c of CASES) {
    const order: Path[] = r % 2 === 0 ? ["gateway", "baseline"] : ["baseline", "gateway"];
    for (const path of order) runs.push(await runOne(path, c));
  }
}

worker.postMessage({ type: "close" });
await Promise.race([nextMessage(), sleep(2_000)]);
worker.terminate();

// ---- aggregate ------------------------------------------------------------------------------

const KEYS = ["p50", "p90", "p99", "p999", "max"] as const;
const medPct = (xs: (Pct | undefined)[]): Pct => Object.fromEntries(KEYS.map((k) => [k, median(xs.map((x) => x?.[k] ?? NaN))])) as unknown as Pct;

const byCase = CASES.map((c) => {
  const g = runs.filter((r) => r.case === c.name && r.path === "gateway");
  const b = runs.filter((r) => r.case === c.name && r.path === "baseline");
  const gw = {
    written_to_published: medPct(g.map((r) => r.pub)),
    written_to_received: medPct(g.map((r) => r.recv)),
    received_to_published: medPct(g.map((r) => r.scan)),
  };
  const base = medPct(b.map((r) => r.recv));
  const send = medPct([...g, ...b].map((r) => r.send));
  return {
    case: c.name,
    rate: c.rate,
    batch: c.batch,
    fake_send_call: send,
    gateway: {
      ...gw,
      events_per_run: g.map((r) => r.events),
      sent_per_run: g.map((r) => r.sent),
      lost_per_run: g.map((r) => r.lost),
      drops_per_run: g.map((r) => r.drops),
      early_per_run: g.map((r) => r.early),
      acausal_per_run: g.map((r) => r.acausal),
      backpressured_frames_per_run: g.map((r) => r.framesBackpressured),
      seq_gaps_per_run: g.map((r) => r.seqGaps ?? 0),
      bad_input_per_run: g.map((r) => r.badInput ?? 0),
      achieved_rate_median: Math.round(median(g.map((r) => r.rate))),
      cpu_pct_client_median: +median(g.map((r) => r.cpuClient)).toFixed(1),
      cpu_pct_fake_median: +median(g.map((r) => r.cpuFake)).toFixed(1),
      p50_per_run_ns: g.map((r) => r.pub!.p50),
      p99_per_run_ns: g.map((r) => r.pub!.p99),
    },
    baseline: {
      written_to_received: base,
      events_per_run: b.map((r) => r.events),
      lost_per_run: b.map((r) => r.lost),
      drops_per_run: b.map((r) => r.drops),
      early_per_run: b.map((r) => r.early),
      acausal_per_run: b.map((r) => r.acausal),
      backpressured_frames_per_run: b.map((r) => r.framesBackpressured),
      achieved_rate_median: Math.round(median(b.map((r) => r.rate))),
      cpu_pct_client_median: +median(b.map((r) => r.cpuClient)).toFixed(1),
      cpu_pct_fake_median: +median(b.map((r) => r.cpuFake)).toFixed(1),
      p50_per_run_ns: b.map((r) => r.recv.p50),
      p99_per_run_ns: b.map((r) => r.recv.p99),
    },
    ratios: {
      published_p50_over_baseline: ratio(gw.written_to_published.p50, base.p50),
      published_p99_over_baseline: ratio(gw.written_to_published.p99, base.p99),
      received_p50_over_baseline: ratio(gw.written_to_received.p50, base.p50),
      received_p99_over_baseline: ratio(gw.written_to_received.p99, base.p99),
    },
  };
});

// ---- print ------------------------------------------------------------------------------------

const q = QUICK ? " (QUICK: smoke run, figures not meaningful)" : "";
const cores = navigator.hardwareConcurrency;
console.log(`### Polygon gateway latency over loopback: median of ${RUNS} run(s) × ${RUN_MS / 1000} s per case and path, ${cores} CPUs${q}\n`);
console.log(`fake server in a worker thread, client (gateway or baseline) alone in the main thread; ${SYMBOLS.length} symbols, Q+T; ${WARMUP_MS} ms of each stream not counted\n`);
console.log("| case | path | events/s achieved | counted events/run | lost / drops | p50 | p90 | p99 | p99.9 | max |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
const row = (c: string, path: string, rate: number, ev: number[], lost: number[], drops: number[], p: Pct) =>
  console.log(
    `| ${c} | ${path} | ${Number.isFinite(rate) ? rate.toLocaleString("en-US") : "–"} | ${ev.length === 0 ? "–" : ev.map((x) => x.toLocaleString("en-US")).join(", ")} | ${ev.length === 0 ? "–" : `${lost.reduce((a, b) => a + b, 0)} / ${drops.reduce((a, b) => a + b, 0)}`} | ${KEYS.map((k) => fmtUs(p[k])).join(" | ")} |`,
  );
for (const r of byCase) {
  row(r.case, "**gateway: written → published**", r.gateway.achieved_rate_median, r.gateway.events_per_run, r.gateway.lost_per_run, r.gateway.drops_per_run, r.gateway.written_to_published);
  row(r.case, "gateway: written → received", r.gateway.achieved_rate_median, r.gateway.events_per_run, r.gateway.lost_per_run, r.gateway.drops_per_run, r.gateway.written_to_received);
  row(r.case, "gateway: received → published", r.gateway.achieved_rate_median, r.gateway.events_per_run, r.gateway.lost_per_run, r.gateway.drops_per_run, r.gateway.received_to_published);
  row(r.case, "**baseline: written → received**", r.baseline.achieved_rate_median, r.baseline.events_per_run, r.baseline.lost_per_run, r.baseline.drops_per_run, r.baseline.written_to_received);
  row(r.case, "(fake: its send call, start → return)", NaN, [], [], [], r.fake_send_call);
}
console.log("\n| case | published/baseline p50 | published/baseline p99 | received/baseline p50 | received/baseline p99 | CPU client gateway / baseline | CPU fake | early per run (gateway / baseline) | acausal | backpressured frames |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of byCase) {
  console.log(
    `| ${r.case} | **${r.ratios.published_p50_over_baseline}x** | **${r.ratios.published_p99_over_baseline}x** | ${r.ratios.received_p50_over_baseline}x | ${r.ratios.received_p99_over_baseline}x | ${r.gateway.cpu_pct_client_median} / ${r.baseline.cpu_pct_client_median} % | ${r.gateway.cpu_pct_fake_median} % | ${r.gateway.early_per_run.join(", ")} / ${r.baseline.early_per_run.join(", ")} | ${[...r.gateway.acausal_per_run, ...r.baseline.acausal_per_run].reduce((x, y) => x + y, 0)} | ${r.gateway.backpressured_frames_per_run.join(", ")} / ${r.baseline.backpressured_frames_per_run.join(", ")} |`,
  );
}
console.log("\nper run, p50 / p99 (gateway written → published | baseline written → received):");
for (const r of byCase) {
  const g = r.gateway.p50_per_run_ns.map((x, i) => `${fmtUs(x)} / ${fmtUs(r.gateway.p99_per_run_ns[i]!)}`).join("; ");
  const b = r.baseline.p50_per_run_ns.map((x, i) => `${fmtUs(x)} / ${fmtUs(r.baseline.p99_per_run_ns[i]!)}`).join("; ");
  console.log(`- ${r.case}: ${g} | ${b}`);
}
const gaps = byCase.reduce((a, r) => a + r.gateway.seq_gaps_per_run.reduce((x, y) => x + y, 0) + r.gateway.bad_input_per_run.reduce((x, y) => x + y, 0), 0);
console.log(`\nsequence gaps + bad input counted by the gateway over all runs: ${gaps}`);

const totalSeconds = +((performance.now() - tStart) / 1e3).toFixed(1);
const json = {
  bench: "polygon-latency",
  quick: QUICK,
  cpus: cores,
  bun: Bun.version,
  runs: RUNS,
  run_ms: RUN_MS,
  warmup_ms: WARMUP_MS,
  symbols: SYMBOLS.length,
  cases: byCase,
  totalSeconds,
};
console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
process.exit(0);
