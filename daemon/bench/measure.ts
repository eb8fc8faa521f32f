/**
 * Measuring a running `Pipeline` from its own process (`tradingd bench`, `bench/`): per-thread
 * CPU time from procfs and histogram deltas between two snapshots.
 */
import { readFileSync } from "node:fs";
import type { Pipeline } from "../supervisor.ts";
import type { HistogramSnapshot } from "../metrics/histogram.ts";

export const CLK_TCK = (() => {
  try {
    const r = Bun.spawnSync(["getconf", "CLK_TCK"]);
    const n = Number(r.stdout.toString().trim());
    return r.exitCode === 0 && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of one thread (or the process with "self"), seconds; NaN when unreadable. */
export function cpuSeconds(tid: number | "self"): number {
  const path = tid === "self" ? "/proc/self/stat" : `/proc/self/task/${tid}/stat`;
  let s: string;
  try {
    s = readFileSync(path, "utf8");
  } catch {
    return NaN;
  }
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based, man 5 proc).
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** CPU seconds of the process ("process") and of each pipeline thread, by name. */
export function threadCpu(p: Pipeline): Record<string, number> {
  const out: Record<string, number> = { process: cpuSeconds("self") };
  // Stages that share a thread (layout single) are one thread: "feed+strategy+execution".
  const byTid = new Map<number, string[]>();
  for (const t of p.threads) byTid.set(t.tid, [...(byTid.get(t.tid) ?? []), t.name]);
  for (const [tid, names] of byTid) out[names.join("+")] = cpuSeconds(tid);
  return out;
}

export interface HistogramDelta {
  count: number;
  /** Nearest rank; the upper bound of the bucket holding it (as HistogramSnapshot does). */
  percentile(p: number): number;
  /** The upper bound of the highest bucket that gained a sample (capped at the histogram's max). */
  max(): number;
}

/** Samples recorded between two snapshots of the same histogram, as buckets. */
export function delta(before: HistogramSnapshot, after: HistogramSnapshot): HistogramDelta {
  const b = new Float64Array(after.buckets.length);
  let count = 0;
  for (let i = 0; i < b.length; i++) {
    b[i] = after.buckets[i]! - before.buckets[i]!;
    count += b[i]!;
  }
  return {
    count,
    percentile(p: number): number {
      if (count === 0) return NaN;
      const rank = Math.max(1, Math.ceil((p * count) / 100));
      let seen = 0;
      for (let i = 0; i < b.length; i++) {
        seen += b[i]!;
        if (seen >= rank) return Math.min(after.upperBoundNs(i), after.maxNs);
      }
      return after.maxNs;
    },
    max(): number {
      if (count === 0) return NaN;
      for (let i = b.length - 1; i >= 0; i--) if (b[i]! > 0) return Math.min(after.upperBoundNs(i), after.maxNs);
      return after.maxNs;
    },
  };
}
