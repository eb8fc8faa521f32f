/**
 * Cost per order of the order journal, `synchronous = FULL` versus `NORMAL` (WAL mode both).
 *
 *   bun bench/journal.bench.ts              # ~35 s; prints a markdown table and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/journal.bench.ts   # ~3 s smoke run (2 runs of 200 orders; figures rough)
 *   JOURNAL_BENCH_DIR=/var/lib/tradingd bun bench/journal.bench.ts   # measure on another disk
 *
 * Method: per run and mode, a fresh journal file in JOURNAL_BENCH_DIR (default the OS temp dir;
 * the file system is printed, since tmpfs would make fsync free and the comparison moot). After
 * WARMUP orders, each of ORDERS orders is timed (Bun.nanoseconds) over recordIntent + markSent +
 * recordAccepted + recordFill: four transactions, one order's life up to its first fill. The
 * intent alone is timed too: it is the part that sits between the strategy's decision and the
 * first byte on the wire. Modes are interleaved run by run (full, normal, full, normal, ...) so
 * disk and VM noise hit both alike; each figure is the median over RUNS runs of that run's
 * percentile.
 *
 * Why FULL is the default: in WAL mode NORMAL syncs only at checkpoints, so a power loss or a
 * kernel crash can take the last commits with it, among them intents of orders already sent.
 * FULL syncs the WAL at every commit; this bench says what that costs.
 *
 * NORMAL writes through the journal's op log (one appended line per call; SQLite gets the lines
 * later, daemon/journal/journal.ts): the per-order and intent figures are then what the order's
 * path pays, and "SQLite apply" is the rest, paid later off that path (timed as the `close()`
 * that applies everything still pending, per order; the loop here never yields, so nothing is
 * applied before). orders/s counts both.
 *
 * Part 2, the op-log line at trading pace (NORMAL): the line is written while the thread has
 * been idle (a quote every few ms), when a system call costs far more than back to back. PACED
 * lines of an intent's size, one every PACE_MS (sleeping in between), alternately appended to the
 * journal's mapped op log (`OpLog.append`, what the journal does) and `write()`n to an O_APPEND
 * file (what it did before), timed each; medians of the p50/p99 over RUNS runs, with the ratio.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OrderJournal } from "../daemon/journal/index.ts";
import { OpLog } from "../daemon/journal/oplog.ts";
import { QUICK, fmtUs, median, us } from "./support.ts";

const RUNS = QUICK ? 2 : 5;
const ORDERS = QUICK ? 200 : 1500;
const WARMUP = QUICK ? 50 : 200;
const MODES = ["full", "normal"] as const;
const PACED = QUICK ? 100 : 400;
const PACE_MS = 2;
type Mode = (typeof MODES)[number];

interface RunResult {
  orderP50: number;
  orderP99: number;
  intentP50: number;
  intentP99: number;
  ordersPerSec: number;
  /** Time spent applying the op log to SQLite after the loop, per order (NORMAL; ~0 for FULL). */
  applyPerOrder: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The mount (device and type) a directory lives on, from /proc/mounts; "unknown" elsewhere. */
function fileSystemOf(dir: string): string {
  try {
    let best = { at: "", what: "unknown" };
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
      const [device, at, type] = line.split(" ");
      if (at === undefined || type === undefined) continue;
      const inside = dir === at || dir.startsWith(at.endsWith("/") ? at : `${at}/`);
      if (inside && at.length >= best.at.length) best = { at, what: `${type} (${device} on ${at})` };
    }
    return best.what;
  } catch {
    return "unknown";
  }
}

function runOnce(dir: string, mode: Mode, run: number): RunResult {
  const path = join(dir, `journal-${mode}-${run}.sqlite`);
  const journal = OrderJournal.open(path, { synchronous: mode });
  const order = new Float64Array(ORDERS);
  const intent = new Float64Array(ORDERS);
  try {
    const t0 = performance.now();
    for (let i = 0; i < WARMUP + ORDERS; i++) {
      const clientOrderId = journal.newClientOrderId(i);
      const now = Date.now();
      const a = Bun.nanoseconds();
      journal.recordIntent({
        clientOrderId,
        localOrderId: i,
        symbol: "AAPL",
        side: i & 1 ? "sell" : "buy",
        type: "limit",
        timeInForce: "day",
        qty: 10.5,
        limitPrice: 150.25,
        createdAtMs: now,
      });
      const b = Bun.nanoseconds();
      journal.markSent(clientOrderId, now);
      journal.recordAccepted(clientOrderId, `b-${run}-${i}`, "new", now);
      journal.recordFill(clientOrderId, `x-${i}`, 10.5, 150.2, now);
      const c = Bun.nanoseconds();
      if (i >= WARMUP) {
        order[i - WARMUP] = c - a;
        intent[i - WARMUP] = b - a;
      }
    }
    const loopSeconds = (performance.now() - t0) / 1e3;
    const tc = Bun.nanoseconds();
    journal.close(); // NORMAL: applies every pending op-log line to SQLite
    const applyNs = Bun.nanoseconds() - tc;
    const seconds = loopSeconds + applyNs / 1e9;
    order.sort();
    intent.sort();
    return {
      orderP50: percentile(order, 50),
      orderP99: percentile(order, 99),
      intentP50: percentile(intent, 50),
      intentP99: percentile(intent, 99),
      ordersPerSec: (WARMUP + ORDERS) / seconds,
      applyPerOrder: applyNs / (WARMUP + ORDERS),
    };
  } finally {
    journal.close();
    for (const suffix of ["", "-wal", "-shm", "-oplog"]) rmSync(path + suffix, { force: true });
  }
}

/** Part 2: one run of PACED lines, alternately mapped copy and write(); per-line ns of each. */
function pacedOnce(dir: string, r: number): { mapped: Float64Array; write: Float64Array } {
  const line = JSON.stringify(["run-0000", 1, "intent", { clientOrderId: "td-run0000-1", localOrderId: 1, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "ioc", qty: 1, limitPrice: 150.25, stopPrice: null, createdAtMs: Date.now(), qtyDecimal: "1", limitPriceDecimal: "150.25", stopPriceDecimal: null }]);
  const log = OpLog.create(join(dir, `paced-${r}-oplog`));
  const plain = join(dir, `paced-${r}-plain`);
  const fd = openSync(plain, "a");
  const mapped = new Float64Array(PACED / 2);
  const write = new Float64Array(PACED / 2);
  try {
    for (let i = 0; i < PACED; i++) {
      Bun.sleepSync(PACE_MS);
      const t = Bun.nanoseconds();
      if (i % 2 === 0) log.append(line);
      else writeSync(fd, line + "\n");
      (i % 2 === 0 ? mapped : write)[i >> 1] = Bun.nanoseconds() - t;
    }
  } finally {
    closeSync(fd);
    log.close();
    rmSync(plain, { force: true });
    rmSync(log.path, { force: true });
  }
  return { mapped: mapped.sort(), write: write.sort() };
}

function main(): void {
  const base = resolve(process.env.JOURNAL_BENCH_DIR ?? tmpdir());
  const dir = mkdtempSync(join(base, "tradingd-journal-bench-"));
  const fs = fileSystemOf(dir);
  const results: Record<Mode, RunResult[]> = { full: [], normal: [] };
  const paced: { mapped: Float64Array; write: Float64Array }[] = [];
  const t0 = performance.now();
  try {
    for (let r = 0; r < RUNS; r++) for (const mode of MODES) results[mode].push(runOnce(dir, mode, r));
    for (let r = 0; r < RUNS; r++) paced.push(pacedOnce(dir, r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (mode: Mode, k: keyof RunResult) => median(results[mode].map((x) => x[k]));
  const rate = (x: number) => `${Math.round(x).toLocaleString("en-US")}/s`;

  console.log(`\nOrder journal, cost per order (recordIntent + markSent + recordAccepted + recordFill), WAL mode`);
  console.log(`${ORDERS} orders per run after ${WARMUP} warm-up, median of ${RUNS} runs; file system: ${fs}\n`);
  console.log("| synchronous | per order p50 | per order p99 | intent alone p50 | intent alone p99 | SQLite apply per order, later | orders/s, one thread |");
  console.log("|---|---|---|---|---|---|---|");
  for (const m of MODES) {
    console.log(
      `| ${m.toUpperCase()} | ${fmtUs(med(m, "orderP50"))} | ${fmtUs(med(m, "orderP99"))} | ${fmtUs(med(m, "intentP50"))} | ${fmtUs(med(m, "intentP99"))} | ${m === "normal" ? fmtUs(med(m, "applyPerOrder")) : "–"} | ${rate(med(m, "ordersPerSec"))} |`,
    );
  }
  const extra = med("full", "orderP50") - med("normal", "orderP50");
  console.log(`\nFULL costs ${fmtUs(extra)} more per order at p50 (${(med("full", "orderP50") / med("normal", "orderP50")).toFixed(1)}x NORMAL).`);

  const pm = (k: "mapped" | "write", p: number) => median(paced.map((x) => percentile(x[k], p)));
  console.log(`\nThe op-log line at trading pace (one every ${PACE_MS} ms, ${PACED / 2} of each per run, interleaved; median of ${RUNS} runs):\n`);
  console.log("| how | p50 | p99 |");
  console.log("|---|---|---|");
  console.log(`| mapped copy (\`OpLog.append\`, the journal's) | ${fmtUs(pm("mapped", 50))} | ${fmtUs(pm("mapped", 99))} |`);
  console.log(`| \`write()\` to an O_APPEND file (before) | ${fmtUs(pm("write", 50))} | ${fmtUs(pm("write", 99))} |`);
  console.log(`\nmapped / write(): p50 ${(pm("mapped", 50) / pm("write", 50)).toFixed(2)}x, p99 ${(pm("mapped", 99) / pm("write", 99)).toFixed(2)}x.`);

  const json = {
    bench: "journal",
    quick: QUICK,
    runs: RUNS,
    ordersPerRun: ORDERS,
    warmup: WARMUP,
    fileSystem: fs,
    perOrder: "recordIntent+markSent+recordAccepted+recordFill",
    fullOrderP50Us: us(med("full", "orderP50")),
    fullOrderP99Us: us(med("full", "orderP99")),
    normalOrderP50Us: us(med("normal", "orderP50")),
    normalOrderP99Us: us(med("normal", "orderP99")),
    fullIntentP50Us: us(med("full", "intentP50")),
    fullIntentP99Us: us(med("full", "intentP99")),
    normalIntentP50Us: us(med("normal", "intentP50")),
    normalIntentP99Us: us(med("normal", "intentP99")),
    fullOrdersPerSec: Math.round(med("full", "ordersPerSec")),
    normalOrdersPerSec: Math.round(med("normal", "ordersPerSec")),
    normalApplyPerOrderUs: us(med("normal", "applyPerOrder")),
    ratioFullToNormalP50: +(med("full", "orderP50") / med("normal", "orderP50")).toFixed(2),
    allRuns: Object.fromEntries(MODES.map((m) => [m, results[m].map((x) => ({ p50Us: us(x.orderP50), p99Us: us(x.orderP99), intentP50Us: us(x.intentP50) }))])),
    pacedLine: { paceMs: PACE_MS, perRun: PACED / 2, mappedP50Us: us(pm("mapped", 50)), mappedP99Us: us(pm("mapped", 99)), writeP50Us: us(pm("write", 50)), writeP99Us: us(pm("write", 99)) },
    totalSeconds: +((performance.now() - t0) / 1e3).toFixed(1),
  };
  console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
}

main();
