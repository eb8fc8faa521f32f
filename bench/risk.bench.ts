/**
 * Cost of the pre-trade risk checks (`RiskEngine.check`, daemon/risk/engine.ts) per order.
 *
 *   bun bench/risk.bench.ts               # ~10 s; a markdown table and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/risk.bench.ts # ~2 s smoke run (2 runs of 2e5 orders; figures rough)
 *
 * Method: one thread, the real engine on real shared memory (limits block, control block, quote
 * book over SharedArrayBuffers), 8 symbols with fresh quotes, a made-up clock that advances 1 ms
 * per order (1,000 orders/s: the per-second window holds ~1,000 sends, the per-minute one up to
 * 60,000, the duplicate ring is always full and all of it inside the window; prices vary so no
 * order is a duplicate). Modes, interleaved run by run (a, b, c, d, a, b, …):
 * - `pass`: every gate runs and passes, then `onSent` books the order (the common case);
 * - `refused-first`: TRADING is HALTED: refused at the first gate;
 * - `refused-late`: max_orders_per_sec 1 with one send in the window: refused at the rate gate
 *   (13th of 14), after every other check ran;
 * - `baseline`: the same loop (clock, quote refresh every 256 orders, the same arguments) with a
 *   bare typed-array compare in place of the check.
 * Each figure: total time / orders, median of RUNS runs. Then per-order percentiles: each `pass`
 * check timed alone with Bun.nanoseconds() (its own cost, ~20-40 ns, measured as `clock-pair`
 * and shown beside it). Allocation: growth of the JSC heap's capacity across 2e4 checks with no
 * GC in between, next to an empty loop and one that allocates a small object per call (to show
 * the measure would see an allocation).
 */
import { heapStats } from "bun:jsc";
import { RiskConfig } from "../daemon/config/schema.ts";
import { RiskEngine } from "../daemon/risk/engine.ts";
import { RiskLimitsBlock } from "../daemon/risk/limits-block.ts";
import { RISK_REASON_NAMES, RiskReason } from "../daemon/risk/checks.ts";
import { ControlBlock, TradingState, W_BROKER_BUDGET, W_BROKER_READY, W_TRADING } from "../daemon/shm/control.ts";
import { QuoteBook } from "../daemon/shm/quote-book.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 2 : 5;
const ORDERS = QUICK ? 200_000 : 1_000_000;
const SAMPLES = QUICK ? 50_000 : 200_000;
const SYMBOLS = 8;
const MS = 1e6;

type Mode = "pass" | "refused-first" | "refused-late" | "baseline";
const MODES: Mode[] = ["pass", "refused-first", "refused-late", "baseline"];

function rig(risk: Partial<RiskConfig>, state = TradingState.ACTIVE) {
  const limits = RiskLimitsBlock.create(RiskConfig.parse(risk));
  const control = new ControlBlock();
  control.set(W_BROKER_READY, 1);
  control.set(W_BROKER_BUDGET, 1_000);
  control.set(W_TRADING, state);
  const book = QuoteBook.create(SYMBOLS);
  const engine = new RiskEngine({ symbols: SYMBOLS, limits, control, book });
  return { engine, book, clock: 1_000_000 * MS };
}
type Rig = ReturnType<typeof rig>;

// Limits the `pass` orders stay inside (the defaults otherwise: collar 500 bps, quote age 2 s, …).
const PASS_LIMITS: Partial<RiskConfig> = { max_orders_per_sec: 2_000, max_orders_per_min: 100_000, max_open_orders: 100, max_gross_exposure: 1e12, daily_loss_limit: 10_000 };
const rigs: Record<Exclude<Mode, "baseline">, Rig> = {
  pass: rig(PASS_LIMITS),
  "refused-first": rig(PASS_LIMITS, TradingState.HALTED),
  "refused-late": rig({ ...PASS_LIMITS, max_orders_per_sec: 1 }),
};
rigs["refused-late"].engine.onSent(0, true, 1, rigs["refused-late"].clock);
const EXPECTED: Record<Exclude<Mode, "baseline">, RiskReason> = { pass: RiskReason.OK, "refused-first": RiskReason.HALTED, "refused-late": RiskReason.ORDER_RATE };

function refreshQuotes(r: Rig): void {
  for (let s = 0; s < SYMBOLS; s++) r.book.writeQuote(s, 99.99, 100.01, 100, 100, r.clock);
  for (let s = 0; s < SYMBOLS; s++) r.engine.onQuote(s, 99.99, 100.01);
}
for (const r of Object.values(rigs)) refreshQuotes(r);

/** Buys of 10 at 100.01 - (i>>3 & 255) cents: inside the 5 % collar, never a duplicate. */
function runChecks(mode: Exclude<Mode, "baseline">, orders: number): number {
  const r = rigs[mode];
  const engine = r.engine;
  const advance = mode === "refused-late" ? 0 : MS; // the late refusal keeps its one send in the window
  const expected = EXPECTED[mode];
  let wrong = 0;
  const start = Bun.nanoseconds();
  for (let i = 0; i < orders; i++) {
    if ((i & 255) === 0) refreshQuotes(r);
    r.clock += advance;
    const s = i & 7;
    const px = 100.01 - ((i >> 3) & 255) * 0.01;
    const verdict = engine.check(s, true, 10, px, 0, 0, r.clock);
    if (verdict === RiskReason.OK) engine.onSent(s, true, px, r.clock);
    if (verdict !== expected) wrong++;
  }
  const ns = (Bun.nanoseconds() - start) / orders;
  if (wrong > 0) throw new Error(`${mode}: ${wrong} verdicts were not ${RISK_REASON_NAMES[expected]}`);
  return ns;
}

const plain = new Float64Array(new SharedArrayBuffer(SYMBOLS * 8));
const baseRig = rig(PASS_LIMITS);
function runBaseline(orders: number): number {
  const r = baseRig;
  let sink = 0;
  const start = Bun.nanoseconds();
  for (let i = 0; i < orders; i++) {
    if ((i & 255) === 0) refreshQuotes(r);
    r.clock += MS;
    const s = i & 7;
    const px = 100.01 - ((i >> 3) & 255) * 0.01;
    if (px * 10 <= plain[s]! + 1e9) sink++;
  }
  const ns = (Bun.nanoseconds() - start) / orders;
  if (sink !== orders) throw new Error("baseline loop lost iterations");
  return ns;
}

const run = (mode: Mode, orders: number) => (mode === "baseline" ? runBaseline(orders) : runChecks(mode, orders));
const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1]!;

for (const mode of MODES) run(mode, ORDERS / 4); // JIT warm-up, not counted
const perOrder: Record<Mode, number[]> = { pass: [], "refused-first": [], "refused-late": [], baseline: [] };
for (let k = 0; k < RUNS; k++) for (const mode of MODES) perOrder[mode].push(run(mode, ORDERS));
const med = Object.fromEntries(MODES.map((m) => [m, median(perOrder[m])])) as Record<Mode, number>;

// Per-order percentiles of the passing path, each check timed alone.
function sampled(): { check: Float64Array; clockPair: Float64Array } {
  const r = rigs.pass;
  const check = new Float64Array(SAMPLES);
  const clockPair = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    if ((i & 255) === 0) refreshQuotes(r);
    r.clock += MS;
    const s = i & 7;
    const px = 100.01 - ((i >> 3) & 255) * 0.01;
    const t0 = Bun.nanoseconds();
    const verdict = r.engine.check(s, true, 10, px, 0, 0, r.clock);
    if (verdict === RiskReason.OK) r.engine.onSent(s, true, px, r.clock);
    const t1 = Bun.nanoseconds();
    check[i] = t1 - t0;
    const t2 = Bun.nanoseconds();
    clockPair[i] = Bun.nanoseconds() - t2;
  }
  return { check: check.sort(), clockPair: clockPair.sort() };
}
sampled(); // warm-up
const { check, clockPair } = sampled();
const pct = (xs: Float64Array, p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

// Allocation: growth of the JSC heap's capacity (block-granular, 16 KiB) across ALLOC_CALLS
// calls with no collection in between, beside an empty loop and one allocating a small object per
// call (heapSize would not do: it counts only what survived the last collection).
const ALLOC_CALLS = 20_000;
function heapGrowthPerCall(body: (i: number) => void): number {
  Bun.gc(true);
  const before = heapStats().heapCapacity;
  for (let i = 0; i < ALLOC_CALLS; i++) body(i);
  return (heapStats().heapCapacity - before) / ALLOC_CALLS;
}
const sinkObjects: { i: number }[] = new Array(16);
let emptySink = 0;
const checkBody = (i: number) => {
  const r = rigs.pass;
  if ((i & 255) === 0) refreshQuotes(r);
  r.clock += MS;
  const px = 100.01 - ((i >> 3) & 255) * 0.01;
  if (r.engine.check(i & 7, true, 10, px, 0, 0, r.clock) === RiskReason.OK) r.engine.onSent(i & 7, true, px, r.clock);
};
const emptyBody = (i: number) => {
  emptySink += i;
};
const objectBody = (i: number) => {
  sinkObjects[i & 15] = { i };
};
for (const body of [checkBody, emptyBody, objectBody]) heapGrowthPerCall(body); // warm-up
const bytesPerCheck = heapGrowthPerCall(checkBody);
const bytesPerEmpty = heapGrowthPerCall(emptyBody);
const bytesPerObject = heapGrowthPerCall(objectBody);

const f = (ns: number) => ns.toFixed(1);
console.log(`\nRisk check path, ns per order: median of ${RUNS} runs of ${ORDERS.toExponential()} orders (interleaved)\n`);
console.log("| mode | ns/order (median) | min | max | minus baseline |");
console.log("|---|---|---|---|---|");
for (const m of MODES) {
  const xs = perOrder[m];
  console.log(`| ${m} | ${f(med[m])} | ${f(Math.min(...xs))} | ${f(Math.max(...xs))} | ${m === "baseline" ? "–" : f(med[m] - med.baseline)} |`);
}
console.log(`\nPer order, \`pass\` timed alone (${SAMPLES.toExponential()} samples): p50 ${pct(check, 50)} ns, p99 ${pct(check, 99)} ns, p99.9 ${pct(check, 99.9)} ns, max ${pct(check, 100)} ns; clock pair alone p50 ${pct(clockPair, 50)} ns`);
console.log(
  `Heap capacity growth over ${ALLOC_CALLS.toExponential()} calls, no GC: check ${bytesPerCheck.toFixed(2)} B/call; empty loop ${bytesPerEmpty.toFixed(2)} B/call; one {i} object per call ${bytesPerObject.toFixed(2)} B/call`,
);
const targetMet = pct(check, 50) < 1_000;
console.log(`Target p50 < 1 µs: ${targetMet ? "met" : "NOT met"}`);

const json = {
  bench: "risk",
  quick: QUICK,
  runs: RUNS,
  ordersPerRun: ORDERS,
  nsPerOrderMedian: Object.fromEntries(MODES.map((m) => [m, +med[m].toFixed(2)])),
  nsPerOrderOverBaseline: { pass: +(med.pass - med.baseline).toFixed(2), refusedFirst: +(med["refused-first"] - med.baseline).toFixed(2), refusedLate: +(med["refused-late"] - med.baseline).toFixed(2) },
  passTimedAloneNs: { p50: pct(check, 50), p99: pct(check, 99), p999: pct(check, 99.9), max: pct(check, 100), clockPairP50: pct(clockPair, 50) },
  heapCapacityBytesPerCall: { check: +bytesPerCheck.toFixed(3), emptyLoop: +bytesPerEmpty.toFixed(3), oneObjectPerCall: +bytesPerObject.toFixed(3) },
  targetP50Under1us: targetMet,
  allRuns: perOrder,
  bun: Bun.version,
};
console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
