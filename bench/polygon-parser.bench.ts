/**
 * Polygon frame parsing into 64-byte records: the hand-written scanner versus `JSON.parse`.
 *
 *   bun bench/polygon-parser.bench.ts                # ~15 s; a markdown table and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/polygon-parser.bench.ts  # ~2 s smoke run (figures rough)
 *
 * Input: 64 distinct frames of 100 events each (60 % Q, 35 % T, 5 % AM, ev first, compact, as
 * the server sends them), 50 configured symbols, realistic values (prices with 2 or 4
 * decimals, 13-digit ms timestamps, sequence numbers, condition arrays on most trades, TRF
 * fields on some). Modes, interleaved run by run so VM noise hits them alike, one thread:
 * - (a) `scanner`: FrameScanner.begin/next, then the record fields written into a Float64Array
 *   / Int32Array pair over a 1024-slot buffer of 64-byte records (daemon/shm/records.ts layout:
 *   QUOTE, TRADE, BAR);
 * - (a') `scanner+validate`: the same plus `validateEvent` per event (what the gateway does);
 * - (b) `JSON.parse`: parse the frame, then copy the same fields of each object into the same
 *   buffer (symbol id through a Map, as a JSON.parse gateway would).
 * - ceilings, no records: `ceiling: charCodeAt loop` reads every char of the frame once with
 *   `charCodeAt` and sums them (the most any scanner that reads each char through `charCodeAt`
 *   could do); `ceiling: bytes loop` does the fast path's per-frame copy (`Buffer.write`, utf8)
 *   and sums the bytes from the Uint8Array.
 * Figure per mode: events/s, median of RUNS runs of RUN_MS each after a warm-up, per wall second
 * and per CPU second of the process (`process.cpuUsage`). A checksum of
 * the records is compared between modes (same fields, same values), so neither can skip work.
 *
 * Frames are flat strings, as a WebSocket text frame arrives: a template literal can make a JSC
 * rope, which `charCodeAt` resolves in place on first use; each frame is resolved before the runs
 * (and the checksum pass reads every frame through every mode anyway).
 */
import { loadavg } from "node:os";
import { PolygonEvent } from "../daemon/gateways/polygon/event.ts";
import { FrameScanner, Kind } from "../daemon/gateways/polygon/scanner.ts";
import { validateEvent } from "../daemon/gateways/polygon/validate.ts";
import { F_P0, F_P1, F_P2, F_P3, F_TRECV, I_A, I_B, I_KIND, I_SYMBOL, RecordKind } from "../daemon/shm/records.ts";
import { SLOT_F64, SLOT_I32 } from "../daemon/shm/ring.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 2 : 5;
const RUN_MS = QUICK ? 250 : 1000;
const WARMUP_MS = QUICK ? 200 : 1000;
const FRAMES = 64;
const EVENTS_PER_FRAME = 100;
const SLOTS = 1024;

// ---- input ----------------------------------------------------------------------------------

let seed = 0x9e3779b9;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const SYMBOLS = Array.from({ length: 50 }, (_, i) => ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AMD", "INTC", "SPY"][i % 10] + (i < 10 ? "" : String.fromCharCode(65 + (i % 26))));
const basePrice = SYMBOLS.map(() => 10 + rnd() * 490);
const price = (id: number) => {
  const p = basePrice[id]! * (1 + (rnd() - 0.5) * 0.002);
  return rnd() < 0.9 ? Math.round(p * 100) / 100 : Math.round(p * 10000) / 10000;
};
let t = 1_712_345_678_901;
let seq = 50_385_480;

function quote(): string {
  const id = Math.floor(rnd() * SYMBOLS.length);
  const bp = price(id);
  const ap = Math.round((bp + 0.01 + Math.floor(rnd() * 3) * 0.01) * 100) / 100;
  const i = rnd() < 0.3 ? `,"i":[${pick([604, 601, 602])}]` : "";
  return `{"ev":"Q","sym":"${SYMBOLS[id]}","bx":${pick([4, 7, 11, 12, 15, 19])},"bp":${bp},"bs":${1 + Math.floor(rnd() * 20)},"ax":${pick([4, 7, 11, 12, 15, 19])},"ap":${ap},"as":${1 + Math.floor(rnd() * 20)},"c":${pick([0, 1, 1, 1])}${i},"t":${(t += Math.floor(rnd() * 3))},"q":${seq++},"z":${pick([1, 2, 3])}}`;
}
function trade(): string {
  const id = Math.floor(rnd() * SYMBOLS.length);
  const c = rnd() < 0.7 ? `,"c":[${pick(["12,37", "14,41", "37", "12", "14,37,41"])}]` : "";
  const trf = rnd() < 0.1 ? `,"trfi":${pick([201, 202])},"trft":${t - 3}` : "";
  return `{"ev":"T","sym":"${SYMBOLS[id]}","i":"${Math.floor(rnd() * 1e14)}","x":${pick([4, 10, 12, 15])},"p":${price(id)},"s":${pick([1, 5, 100, 100, 200, 300, 1000])}${c},"t":${(t += Math.floor(rnd() * 3))},"q":${seq++},"z":${pick([1, 2, 3])}${trf}}`;
}
function minuteBar(): string {
  const id = Math.floor(rnd() * SYMBOLS.length);
  const [o, h, l, c] = [price(id), price(id), price(id), price(id)];
  const s = Math.floor(t / 60000) * 60000;
  return `{"ev":"AM","sym":"${SYMBOLS[id]}","v":${Math.floor(rnd() * 50000)},"av":${Math.floor(rnd() * 9e7)},"op":${price(id)},"vw":${price(id)},"o":${o},"c":${c},"h":${Math.max(o, h, l, c)},"l":${Math.min(o, h, l, c)},"a":${price(id)},"z":${Math.floor(rnd() * 500)},"s":${s},"e":${s + 60000}}`;
}
function frame(): string {
  const events: string[] = [];
  for (let k = 0; k < EVENTS_PER_FRAME; k++) {
    const r = rnd();
    events.push(r < 0.6 ? quote() : r < 0.95 ? trade() : minuteBar());
  }
  return `[${events.join(",")}]`;
}
const frames = Array.from({ length: FRAMES }, frame);
for (const f of frames) f.charCodeAt(f.length >> 1); // resolve ropes: flat, like a received frame
const meanChars = frames.reduce((n, f) => n + f.length, 0) / FRAMES;

// ---- the two decoders -------------------------------------------------------------------------

const buffer = new ArrayBuffer(SLOTS * 64);
const i32 = new Int32Array(buffer);
const f64 = new Float64Array(buffer);
let slot = 0;

const scanner = new FrameScanner(SYMBOLS);
const ev = new PolygonEvent();

/**
 * Kind values written out here, as a gateway should: Bun inlines a const enum only within its own
 * file, and a switch on imported members is a chain of property loads. Checked against Kind below.
 */
const enum K {
  T = 1,
  Q = 2,
  A = 3,
  AM = 4,
}
if ((K.T as number) !== Kind.T || (K.Q as number) !== Kind.Q || (K.A as number) !== Kind.A || (K.AM as number) !== Kind.AM) throw new Error("K is not Kind");

function scanFrame(frame: string, recvNs: number, validate: boolean): number {
  let n = 0;
  if (!scanner.begin(frame)) return 0;
  while (scanner.next(ev)) {
    if (validate && validateEvent(ev, false) !== 0) continue;
    const s = slot++ & (SLOTS - 1);
    const bi = s * SLOT_I32;
    const bf = s * SLOT_F64;
    switch (ev.ev as number) {
      case K.Q:
        i32[bi + I_KIND] = RecordKind.QUOTE;
        i32[bi + I_SYMBOL] = ev.symbolId;
        i32[bi + I_A] = ev.q;
        i32[bi + I_B] = ev.bx;
        f64[bf + F_P0] = ev.bp;
        f64[bf + F_P1] = ev.ap;
        f64[bf + F_P2] = ev.bs;
        f64[bf + F_P3] = ev.as;
        break;
      case K.T:
        i32[bi + I_KIND] = RecordKind.TRADE;
        i32[bi + I_SYMBOL] = ev.symbolId;
        i32[bi + I_A] = ev.q;
        i32[bi + I_B] = ev.x;
        f64[bf + F_P0] = ev.p;
        f64[bf + F_P1] = ev.s;
        break;
      case K.AM:
      case K.A:
        i32[bi + I_KIND] = RecordKind.BAR;
        i32[bi + I_SYMBOL] = ev.symbolId;
        i32[bi + I_A] = ev.s / 1000;
        i32[bi + I_B] = (ev.ev as number) === K.AM ? 60 : 1;
        f64[bf + F_P0] = ev.o;
        f64[bf + F_P1] = ev.h;
        f64[bf + F_P2] = ev.l;
        f64[bf + F_P3] = ev.c;
        break;
      default:
        continue;
    }
    f64[bf + F_TRECV] = recvNs;
    n++;
  }
  return scanner.error === 0 ? n : 0;
}

interface WireEvent {
  ev: string;
  sym: string;
  [k: string]: unknown;
}
const symbolIds = new Map(SYMBOLS.map((s, i) => [s, i]));

function parseFrame(frame: string, recvNs: number): number {
  let n = 0;
  let events: WireEvent[];
  try {
    events = JSON.parse(frame) as WireEvent[];
  } catch {
    return 0;
  }
  if (!Array.isArray(events)) return 0;
  for (const o of events) {
    const s = slot++ & (SLOTS - 1);
    const bi = s * SLOT_I32;
    const bf = s * SLOT_F64;
    switch (o.ev) {
      case "Q":
        i32[bi + I_KIND] = RecordKind.QUOTE;
        i32[bi + I_SYMBOL] = symbolIds.get(o.sym) ?? -1;
        i32[bi + I_A] = o.q as number;
        i32[bi + I_B] = o.bx as number;
        f64[bf + F_P0] = o.bp as number;
        f64[bf + F_P1] = o.ap as number;
        f64[bf + F_P2] = o.bs as number;
        f64[bf + F_P3] = o.as as number;
        break;
      case "T":
        i32[bi + I_KIND] = RecordKind.TRADE;
        i32[bi + I_SYMBOL] = symbolIds.get(o.sym) ?? -1;
        i32[bi + I_A] = o.q as number;
        i32[bi + I_B] = o.x as number;
        f64[bf + F_P0] = o.p as number;
        f64[bf + F_P1] = o.s as number;
        break;
      case "AM":
      case "A":
        i32[bi + I_KIND] = RecordKind.BAR;
        i32[bi + I_SYMBOL] = symbolIds.get(o.sym) ?? -1;
        i32[bi + I_A] = (o.s as number) / 1000;
        i32[bi + I_B] = o.ev === "AM" ? 60 : 1;
        f64[bf + F_P0] = o.o as number;
        f64[bf + F_P1] = o.h as number;
        f64[bf + F_P2] = o.l as number;
        f64[bf + F_P3] = o.c as number;
        break;
      default:
        continue;
    }
    f64[bf + F_TRECV] = recvNs;
    n++;
  }
  return n;
}

// ---- ceilings ----------------------------------------------------------------------------------

let sink = 0;
/** Every char once through charCodeAt, nothing else; counts the frame's events. */
function charCodeAtLoop(frame: string): number {
  let h = 0;
  const n = frame.length;
  for (let i = 0; i < n; i++) h = (h + frame.charCodeAt(i)) | 0;
  sink ^= h;
  return EVENTS_PER_FRAME;
}
const bytes = new Uint8Array(1 << 16);
const bytesBuf = Buffer.from(bytes.buffer);
/** The fast path's copy of the frame into bytes, then every byte once. */
function bytesLoop(frame: string): number {
  const n = bytesBuf.write(frame, 0, "utf8");
  let h = 0;
  for (let i = 0; i < n; i++) h = (h + bytes[i]!) | 0;
  sink ^= h;
  return EVENTS_PER_FRAME;
}

// ---- runs -------------------------------------------------------------------------------------

type Mode = "scanner" | "scanner+validate" | "JSON.parse" | "ceiling: charCodeAt loop" | "ceiling: bytes loop";
const MODES: Mode[] = ["scanner", "scanner+validate", "JSON.parse", "ceiling: charCodeAt loop", "ceiling: bytes loop"];
const RECORD_MODES: Mode[] = ["scanner", "scanner+validate", "JSON.parse"];
const decode: Record<Mode, (frame: string, recvNs: number) => number> = {
  scanner: (f, r) => scanFrame(f, r, false),
  "scanner+validate": (f, r) => scanFrame(f, r, true),
  "JSON.parse": parseFrame,
  "ceiling: charCodeAt loop": charCodeAtLoop,
  "ceiling: bytes loop": bytesLoop,
};

/**
 * Events/s decoding frames round-robin for `ms` of wall time: [per wall second, per CPU second
 * of this process]. The second leaves out time the thread was descheduled (GC helper threads
 * count, which is JSON.parse's own cost); on this VM the two come out close, so other load
 * slows the core itself (shared caches or a sibling hyperthread), not just takes turns on it.
 */
function run(mode: Mode, ms: number): [number, number] {
  const fn = decode[mode];
  let events = 0;
  let k = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  let now = t0;
  while (now < end) {
    for (let j = 0; j < 16; j++) events += fn(frames[k++ & (FRAMES - 1)]!, k);
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return [events / ((now - t0) / 1e3), events / ((cpu.user + cpu.system) / 1e6)];
}

/** The records of every frame decoded one way, as a checksum: both decoders must agree. */
function checksum(mode: Mode): number {
  let sum = 0;
  for (let k = 0; k < FRAMES; k++) {
    slot = 0;
    f64.fill(0);
    const n = decode[mode](frames[k]!, 7);
    if (n !== EVENTS_PER_FRAME) throw new Error(`${mode}: frame ${k} gave ${n} events`);
    for (let j = 0; j < n * SLOT_F64; j++) sum = (sum * 31 + f64[j]! * 1e4) % 1e15;
  }
  return sum;
}
const sums = RECORD_MODES.map(checksum);
if (new Set(sums).size !== 1) throw new Error(`decoders disagree: ${sums}`);

const loadBefore = loadavg()[0]!;
for (const m of MODES) run(m, WARMUP_MS / MODES.length);
const rates = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
const cpuRates = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
for (let r = 0; r < RUNS; r++) {
  for (const m of MODES) {
    const [wall, cpu] = run(m, RUN_MS);
    rates[m].push(wall);
    cpuRates[m].push(cpu);
  }
}

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1]!;
const med = Object.fromEntries(MODES.map((m) => [m, median(rates[m])])) as Record<Mode, number>;
const cpuMed = Object.fromEntries(MODES.map((m) => [m, median(cpuRates[m])])) as Record<Mode, number>;
const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M`;

console.log(`\nPolygon frames → 64-byte records, ${EVENTS_PER_FRAME} events/frame (60% Q, 35% T, 5% AM, ~${Math.round(meanChars / EVENTS_PER_FRAME)} chars/event), one thread, median of ${RUNS} runs of ${RUN_MS} ms\n`);
console.log(`(1-min load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after, on ${navigator.hardwareConcurrency} CPUs: other load skews every mode, the ratio less)\n`);
console.log("| mode | events/s (median) | min | max | vs JSON.parse | per CPU second (median) | vs JSON.parse |");
console.log("|---|---|---|---|---|---|---|");
for (const m of MODES) {
  const xs = rates[m];
  console.log(
    `| ${m} | ${fmt(med[m])} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} | ${(med[m] / med["JSON.parse"]).toFixed(2)}x | ${fmt(cpuMed[m])} | ${(cpuMed[m] / cpuMed["JSON.parse"]).toFixed(2)}x |`,
  );
}
const result = {
  bench: "polygon-parser",
  quick: QUICK,
  runs: RUNS,
  run_ms: RUN_MS,
  events_per_frame: EVENTS_PER_FRAME,
  chars_per_event: Math.round(meanChars / EVENTS_PER_FRAME),
  scanner_events_per_s: Math.round(med.scanner),
  scanner_validate_events_per_s: Math.round(med["scanner+validate"]),
  json_parse_events_per_s: Math.round(med["JSON.parse"]),
  ratio: +(med.scanner / med["JSON.parse"]).toFixed(2),
  ratio_with_validate: +(med["scanner+validate"] / med["JSON.parse"]).toFixed(2),
  ceiling_charcodeat_events_per_s: Math.round(med["ceiling: charCodeAt loop"]),
  ceiling_bytes_events_per_s: Math.round(med["ceiling: bytes loop"]),
  target_met: med.scanner >= 5e6 && med.scanner / med["JSON.parse"] >= 2,
  cpu_scanner_events_per_s: Math.round(cpuMed.scanner),
  cpu_scanner_validate_events_per_s: Math.round(cpuMed["scanner+validate"]),
  cpu_json_parse_events_per_s: Math.round(cpuMed["JSON.parse"]),
  cpu_ratio: +(cpuMed.scanner / cpuMed["JSON.parse"]).toFixed(2),
  cpu_ratio_with_validate: +(cpuMed["scanner+validate"] / cpuMed["JSON.parse"]).toFixed(2),
  target_met_cpu: cpuMed.scanner >= 5e6 && cpuMed.scanner / cpuMed["JSON.parse"] >= 2,
  load_1min: [+loadBefore.toFixed(2), +loadavg()[0]!.toFixed(2)],
  bun: Bun.version,
};
console.log(`\nBENCH_JSON ${JSON.stringify(result)}`);
if (sink === 0.5) console.log(sink); // keeps the ceilings' sums alive
