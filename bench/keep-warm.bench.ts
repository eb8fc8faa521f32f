/**
 * What keep-warm buys (`threads.keep_warm_us`, layout single), isolated: the live frame code
 * (a `PolygonPublisher` over its own context: scanner, checks, ring and book writes) parses one
 * one-quote frame every 5 ms (200 quotes/s, the comparison's pace), the thread asleep in between
 * (`Atomics.wait`), and each frame's `onFrame` is timed alone (so a wake-up is not counted, only
 * how fast the code runs once awake). Variants, interleaved run by run:
 *   cold — nothing runs between frames;
 *   warm — a `FrameWarmer` (the same code on scratch state, what keep-warm runs) every 1 ms of
 *          the gap, the thread sleeping between warms;
 *   hot  — the baseline: frames back to back (no gap).
 * Medians of RUNS runs of FRAMES frames each (after WARM_FRAMES uncounted ones); ratios to hot.
 *
 * Part 2, why code goes cold here (the host, not the process): the time to read LINES cache lines
 * (spread over a 1 MiB block) again after a gap in which the thread touched nothing else —
 * asleep 200 µs, asleep 5 ms, or SPINNING 5 ms in user space (no system call, no other memory).
 * If the spun gap costs as much as the slept one, the lines were evicted by other tenants of the
 * physical CPU (other VMs, the host), not by this process or its kernel entries.
 *
 *   bun bench/keep-warm.bench.ts       # ~15 s
 *   BENCH_QUICK=1 bun bench/keep-warm.bench.ts
 */
import { parseConfigText } from "../daemon/config/load.ts";
import { scratchFeedContext } from "../daemon/feeds/context.ts";
import { FrameWarmer, PolygonPublisher, type PublisherOptions } from "../daemon/gateways/polygon/publisher.ts";
import { nowNs } from "../daemon/shm/clock.ts";
import { QUICK, fmtUs, median, ratio } from "./support.ts";

const RUNS = QUICK ? 1 : 3;
const FRAMES = QUICK ? 100 : 400;
const WARM_FRAMES = 200;
const GAP_MS = 5;
const WARM_EVERY_MS = 1;

const config = parseConfigText("symbols: [AAPL, MSFT]\n", "keep-warm.bench", {});
const options: PublisherOptions = { allSymbols: false, maxFrameChars: 1_000_000, badInputLogPerMin: 10, onStatus: () => {}, log: () => {} };
const live = scratchFeedContext(config, config.symbols, 1024);
const publisher = new PolygonPublisher(live, options);
const warmer = new FrameWarmer(live, options);
const frames = Array.from({ length: WARM_FRAMES + FRAMES }, (_, q) =>
  JSON.stringify([{ ev: "Q", sym: q % 2 ? "AAPL" : "MSFT", bx: 4, bp: 99.99, bs: 2, ax: 7, ap: 100 + (q % 100) / 100, as: 3, c: 0, i: [604], t: 1_700_000_000_000 + q, q: 10_000 + q, z: 3 }]),
);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

type Variant = "cold" | "warm" | "hot";
function run(v: Variant): number[] {
  const out: number[] = [];
  publisher.forgetSequences();
  for (let q = 0; q < frames.length; q++) {
    if (v !== "hot") {
      if (v === "warm") for (let k = 0; k < GAP_MS / WARM_EVERY_MS; k++) {
        sleepMs(WARM_EVERY_MS);
        warmer.warm();
      }
      else sleepMs(GAP_MS);
    }
    const t0 = nowNs();
    publisher.onFrame(frames[q]!, t0);
    const t1 = nowNs();
    live.ring.release(live.ring.available());
    if (q >= WARM_FRAMES) out.push(t1 - t0);
  }
  out.sort((a, b) => a - b);
  return out;
}

const variants: Variant[] = ["cold", "warm", "hot"];
const results: Record<Variant, { p50: number[]; p90: number[] }> = { cold: { p50: [], p90: [] }, warm: { p50: [], p90: [] }, hot: { p50: [], p90: [] } };
const t0 = performance.now();
for (let r = 0; r < RUNS; r++) {
  for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
    const s = run(v);
    results[v].p50.push(s[s.length >> 1]!);
    results[v].p90.push(s[Math.floor(s.length * 0.9)]!);
    console.error(`run ${r} ${v}: p50 ${fmtUs(s[s.length >> 1]!)}, p90 ${fmtUs(s[Math.floor(s.length * 0.9)]!)}`);
  }
}
// ---- part 2: cache decay over a gap (nothing else touched) -------------------------------------
const LINES = 2_000;
const block = new Uint8Array(1 << 20);
block.fill(1);
const readLines = (): number => {
  let s = 0;
  for (let l = 0; l < LINES; l++) s += block[(l * 64 * 17) & (block.length - 1)]!; // 17: not one set
  return s;
};
type Gap = "none" | "sleep 200 µs" | "sleep 5 ms" | "spin 5 ms";
const gaps: Gap[] = ["none", "sleep 200 µs", "sleep 5 ms", "spin 5 ms"];
const decay: Record<Gap, number[]> = { none: [], "sleep 200 µs": [], "sleep 5 ms": [], "spin 5 ms": [] };
let sink = 0;
for (let k = 0; k < (QUICK ? 100 : 400) * gaps.length; k++) {
  const g = gaps[k % gaps.length]!;
  sink += readLines();
  if (g === "sleep 200 µs") sleepMs(0.2);
  else if (g === "sleep 5 ms") sleepMs(5);
  else if (g === "spin 5 ms") {
    const end = nowNs() + 5e6;
    while (nowNs() < end);
  }
  const a = nowNs();
  sink += readLines();
  decay[g].push(nowNs() - a);
}
const decayP50 = Object.fromEntries(gaps.map((g) => [g, decay[g].sort((x, y) => x - y)[decay[g].length >> 1]!])) as Record<Gap, number>;
if (sink === 0) console.error("(never)");

const m = (v: Variant, k: "p50" | "p90") => median(results[v][k]);
console.log(`\n## Keep-warm: one quote frame's parse-and-publish, every ${GAP_MS} ms (${RUNS} run(s) × ${FRAMES} frames; medians)\n`);
console.log("| variant | p50 | p90 | p50 / hot |");
console.log("|---|---|---|---|");
for (const v of variants) console.log(`| ${v} | ${fmtUs(m(v, "p50"))} | ${fmtUs(m(v, "p90"))} | ${ratio(m(v, "p50"), m("hot", "p50"))}x |`);
console.log(`\nwarm / cold p50: ${ratio(m("warm", "p50"), m("cold", "p50"))}x (${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
console.log(`\n## Cache decay on this host: ${LINES} cache lines read again after a gap that touched nothing else (p50 of ${decay.none.length} each)\n`);
console.log("| gap | p50 | / no gap |");
console.log("|---|---|---|");
for (const g of gaps) console.log(`| ${g} | ${fmtUs(decayP50[g])} | ${ratio(decayP50[g], decayP50.none)}x |`);
console.log(
  `BENCH_JSON ${JSON.stringify({
    bench: "keep-warm",
    quick: QUICK,
    runs: RUNS,
    frames: FRAMES,
    gap_ms: GAP_MS,
    warm_every_ms: WARM_EVERY_MS,
    p50_ns: { cold: m("cold", "p50"), warm: m("warm", "p50"), hot: m("hot", "p50") },
    p90_ns: { cold: m("cold", "p90"), warm: m("warm", "p90"), hot: m("hot", "p90") },
    warm_over_cold_p50: ratio(m("warm", "p50"), m("cold", "p50")),
    cache_decay_p50_ns: decayP50,
  })}`,
);
