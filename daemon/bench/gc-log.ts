/**
 * Garbage-collection pauses, as JavaScriptCore itself reports them.
 *
 * Bun exposes no GC timing to JavaScript, but JavaScriptCore logs every collection when its
 * option `logGC` is on, which Bun takes from the environment at start (`BUN_JSC_logGC=1`; it
 * cannot be turned on later). Each stop-the-world pause is logged as `p=<ms>ms`
 * (`Heap::ResumeTheWorldScope` / the fixpoint phase in WebKit's `Heap.cpp`: the time from
 * stopping the world to resuming it), every collection as `=> EdenCollection` or
 * `=> FullCollection`, for every heap (thread) of the process, to stderr. Lines of different
 * threads may interleave, so pauses are counted by pattern, not per heap.
 *
 * A measuring command re-runs itself once with the option on (`runWithGcLog`) and summarises
 * the log (`GcLog`).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The environment variable that turns JavaScriptCore's GC log on (read once, at start). */
export const GC_LOG_ENV = "BUN_JSC_logGC";

const PAUSE = /p=([0-9.]+) ?ms/g;
const COLLECTION = /=> (Eden|Full)Collection/g;

export interface GcSummary {
  /** Collections seen, all threads. */
  collections: number;
  eden: number;
  full: number;
  /** Stop-the-world pauses seen (a collection has one or more). */
  pauses: number;
  maxPauseMs: number;
  totalPauseMs: number;
  /** Pauses longer than 10 ms. */
  over10ms: number;
}

/** Accumulates JavaScriptCore GC log text, chunk by chunk (a line may span chunks). */
export class GcLog {
  #rest = "";
  readonly #s: GcSummary = { collections: 0, eden: 0, full: 0, pauses: 0, maxPauseMs: 0, totalPauseMs: 0, over10ms: 0 };

  /** Feeds `text`; returns what is not GC log, line by line (to pass through). */
  feed(text: string): string {
    const lines = (this.#rest + text).split("\n");
    this.#rest = lines.pop() ?? "";
    let other = "";
    for (const line of lines) {
      if (!this.#take(line)) other += line + "\n";
    }
    return other;
  }

  /** The summary so far (takes an unfinished last line as finished). */
  summary(): GcSummary {
    if (this.#rest !== "") {
      this.#take(this.#rest);
      this.#rest = "";
    }
    return { ...this.#s };
  }

  #take(line: string): boolean {
    if (!line.includes("GC") && !line.includes("p=")) return false;
    let gc = line.startsWith("[GC") || /GC<0x|GC END|Requesting GC|\bp=[0-9.]+ ?ms/.test(line);
    for (const m of line.matchAll(COLLECTION)) {
      this.#s.collections++;
      if (m[1] === "Eden") this.#s.eden++;
      else this.#s.full++;
      gc = true;
    }
    for (const m of line.matchAll(PAUSE)) {
      const ms = Number(m[1]);
      this.#s.pauses++;
      this.#s.totalPauseMs += ms;
      if (ms > this.#s.maxPauseMs) this.#s.maxPauseMs = ms;
      if (ms > 10) this.#s.over10ms++;
    }
    return gc;
  }
}

/** Set for the child of `runWithGcLog`: the fd its own messages go to (its stderr is the GC log). */
export const MESSAGES_FD_ENV = "TRADINGD_MESSAGES_FD";

/** Where this process's own messages go: fd 3 under `runWithGcLog`, else stderr. */
export function messagesTo(): (s: string) => void {
  const fd = Number(process.env[MESSAGES_FD_ENV] ?? NaN);
  return Number.isInteger(fd) ? (s) => void writeSync(fd, s) : (s) => void process.stderr.write(s);
}

/**
 * Runs `argv` (this same command, typically) with JavaScriptCore's GC log on. The child's
 * stderr, where JavaScriptCore logs, goes to a temporary file (JavaScriptCore writes parts of a
 * line from several threads, which would cut through any other line on the same stream); the
 * child's own messages go to its fd 3, which is this process's stderr (`messagesTo`). Its
 * stdout is inherited. Resolves with the exit code and the GC summary; what the log file holds
 * besides the GC lines is written to stderr afterwards.
 */
export async function runWithGcLog(argv: string[], env: Record<string, string | undefined> = process.env): Promise<{ code: number; gc: GcSummary }> {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-gc-log-"));
  const path = join(dir, "stderr.log");
  const fd = openSync(path, "w");
  try {
    const child = Bun.spawn(argv, { env: { ...env, [GC_LOG_ENV]: "1", [MESSAGES_FD_ENV]: "3" }, stdio: ["inherit", "inherit", fd, 2] });
    const code = await child.exited;
    const log = new GcLog();
    const other = log.feed(readFileSync(path, "utf8") + "\n");
    if (other.trim()) process.stderr.write(other);
    return { code, gc: log.summary() };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
