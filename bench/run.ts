/**
 * `bun run bench`: runs every `bench/*.bench.ts`, each in its own `bun` subprocess, one after
 * the other (never in parallel: on a 2-vCPU VM two benches would measure each other).
 *
 *   bun run bench                    # every bench
 *   bun run bench pipeline ring      # only benches whose file name contains "pipeline" or "ring"
 *   bun run bench --quick            # short runs for smoke-testing (sets BENCH_QUICK=1)
 *
 * Each bench's stdout and stderr pass straight through. Every stdout line that starts with
 * `BENCH_JSON ` carries one JSON result; they are collected, per bench, into
 * `.bench-out/results.json` (gitignored) together with the exit code, the wall time and the
 * machine. The exit status is non-zero if any bench exited non-zero, printed no BENCH_JSON line,
 * printed one that is not JSON, or ran past its time limit (killed); 2 if the filter matched
 * nothing or an argument is unknown.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { basename, join, relative } from "node:path";

const BENCH_DIR = import.meta.dir;
const ROOT = join(BENCH_DIR, "..");
const OUT_DIR = join(ROOT, ".bench-out");
const OUT_FILE = join(OUT_DIR, "results.json");
/** A bench still running after this long is killed and counted as failed. */
const TIME_LIMIT_MS = 10 * 60_000;
const JSON_PREFIX = "BENCH_JSON ";

interface BenchRun {
  name: string;
  file: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  seconds: number;
  ok: boolean;
  error?: string;
  results: unknown[];
}

function usage(): string {
  return "usage: bun run bench [--quick] [name ...]\n  name: run only benches whose file name contains it (e.g. pipeline, ring, histogram)\n";
}

function parseArgs(argv: string[]): { quick: boolean; filters: string[] } {
  let quick = false;
  const filters: string[] = [];
  for (const a of argv) {
    if (a === "--quick") quick = true;
    else if (a === "-h" || a === "--help") {
      process.stdout.write(usage());
      process.exit(0);
    } else if (a.startsWith("-")) {
      process.stderr.write(`bench: unknown option ${a}\n${usage()}`);
      process.exit(2);
    } else filters.push(a);
  }
  return { quick, filters };
}

/** Streams a subprocess pipe to `out` as it arrives and returns the whole text. */
async function pump(stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    out.write(chunk);
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

async function runOne(file: string, quick: boolean): Promise<BenchRun> {
  const name = basename(file).replace(/\.bench\.ts$/, "");
  process.stdout.write(`\n## ${name} (${relative(ROOT, file)})${quick ? " [quick]" : ""}\n\n`);
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, file], {
    cwd: ROOT,
    env: { ...process.env, ...(quick ? { BENCH_QUICK: "1" } : {}) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, TIME_LIMIT_MS);
  const stdout = await pump(proc.stdout, process.stdout);
  const exitCode = await proc.exited;
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1e3;

  const results: unknown[] = [];
  let error: string | undefined;
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(JSON_PREFIX)) continue;
    try {
      results.push(JSON.parse(line.slice(JSON_PREFIX.length)));
    } catch (e) {
      error ??= `a BENCH_JSON line is not JSON: ${(e as Error).message}`;
    }
  }
  if (timedOut) error = `killed after the ${TIME_LIMIT_MS / 1000} s time limit`;
  else if (exitCode !== 0) error ??= `exited with ${exitCode === null ? `signal ${proc.signalCode}` : `code ${exitCode}`}`;
  else if (results.length === 0) error ??= "printed no BENCH_JSON line";
  return { name, file: relative(ROOT, file), exitCode, signal: proc.signalCode === null ? null : String(proc.signalCode), timedOut, seconds: +seconds.toFixed(2), ok: error === undefined, error, results };
}

function machine(): Record<string, unknown> {
  let kernel = "";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    // not Linux
  }
  return { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? "", kernel, platform: process.platform, arch: process.arch };
}

async function main(): Promise<number> {
  const { quick, filters } = parseArgs(process.argv.slice(2));
  const all = readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(".bench.ts"))
    .sort()
    .map((f) => join(BENCH_DIR, f));
  const chosen = filters.length === 0 ? all : all.filter((f) => filters.some((x) => basename(f).includes(x)));
  if (chosen.length === 0) {
    process.stderr.write(`bench: no bench matches ${filters.join(", ")}; have: ${all.map((f) => basename(f)).join(", ")}\n`);
    return 2;
  }
  const startedAt = new Date().toISOString();
  const runs: BenchRun[] = [];
  for (const file of chosen) runs.push(await runOne(file, quick));

  mkdirSync(OUT_DIR, { recursive: true });
  const report = { startedAt, finishedAt: new Date().toISOString(), bun: Bun.version, quick, filters, machine: machine(), benches: runs };
  writeFileSync(OUT_FILE, JSON.stringify(report, null, 2) + "\n");

  process.stdout.write("\n## summary\n\n| bench | result | seconds | results |\n|---|---|---|---|\n");
  for (const r of runs) process.stdout.write(`| ${r.name} | ${r.ok ? "ok" : `FAILED: ${r.error}`} | ${r.seconds} | ${r.results.length} |\n`);
  process.stdout.write(`\nresults: ${relative(ROOT, OUT_FILE)}\n`);
  return runs.every((r) => r.ok) ? 0 : 1;
}

process.exit(await main());
