/**
 * The runtime's own threads on the housekeeping CPUs: part of the tuner's process part.
 *
 * A Bun process has threads that are not ours: JavaScriptCore's JIT compilers (`JITWorker`) and
 * GC helpers (`HeapHelper`), the allocator's scavenger (`mi-scavenger`), Bun's thread pool
 * (`Bun Pool N`), and more. They start before the tuner runs, allowed on every CPU, so they also
 * run on the CPUs the plan gave to hot workers: there they take the CPU when the worker sleeps
 * and leave its caches cold for the next tick (and a worker woken under SCHED_FIFO has to preempt
 * them first). Measured with `tradingd run` on this 2-vCPU VM: seven such threads allowed on
 * CPUs 0-1 next to the trading thread pinned to CPU 1.
 *
 * So once the workers are placed, every thread of the process that is not main or one of our
 * workers is moved to the housekeeping CPUs, by thread id, and put back on the CPUs it had when
 * tradingd stops. A thread the runtime starts later from main inherits main's CPU (housekeeping);
 * one started from a hot worker inherits that worker's CPU (not moved: not seen), but never its
 * real-time policy (the workers set theirs with SCHED_RESET_ON_FORK).
 */
import { readdirSync, readFileSync } from "node:fs";
import type { TuneAction } from "./action.ts";
import type { ThreadPlan } from "./threads.ts";
import { errnoName, schedGetaffinity, schedSetaffinity, SyscallError } from "../../ffi/libc.ts";

export interface MovedThread {
  tid: number;
  name: string;
  before: number[];
}

export interface RuntimeThreadsTuning {
  action: TuneAction;
  moved: MovedThread[];
}

function threadName(tid: number): string {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

const cpuList = (cpus: readonly number[]) => (cpus.length === 1 ? `CPU ${cpus[0]}` : `CPUs ${cpus.join(",")}`);

/** How many of each name, for the report: "JITWorker ×2, HeapHelper, mi-scavenger". */
function names(threads: readonly MovedThread[]): string {
  const count = new Map<string, number>();
  for (const t of threads) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  return [...count].map(([n, k]) => (k > 1 ? `${n} ×${k}` : n)).join(", ");
}

/**
 * Moves every thread of this process whose id is not in `ours` to `cpus`. Threads already there
 * are left as they are; a thread that ended meanwhile is skipped. One action for all of them.
 */
export function moveRuntimeThreads(ours: ReadonlySet<number>, cpus: readonly number[], taskDir = "/proc/self/task"): RuntimeThreadsTuning {
  const base = { id: "process.runtime_threads.affinity", scope: "process" as const, target: "the runtime's own threads (JIT, GC helpers, thread pool, allocator)", desired: cpuList(cpus) };
  const moved: MovedThread[] = [];
  const unchanged: MovedThread[] = [];
  const failures: string[] = [];
  let tids: number[];
  try {
    tids = readdirSync(taskDir).map(Number).filter((t) => Number.isInteger(t) && t > 0 && !ours.has(t));
  } catch (e) {
    return { action: { ...base, status: "failed", reason: `cannot list ${taskDir}: ${(e as Error).message}` }, moved };
  }
  for (const tid of tids) {
    const name = threadName(tid);
    try {
      const before = schedGetaffinity(tid);
      if (before.length === cpus.length && before.every((c, i) => c === cpus[i])) {
        unchanged.push({ tid, name, before });
        continue;
      }
      schedSetaffinity(tid, cpus);
      moved.push({ tid, name, before });
    } catch (e) {
      if (e instanceof SyscallError && errnoName(e.errno) === "ESRCH") continue; // it ended
      failures.push(`${name} (tid ${tid}): ${(e as Error).message}`);
    }
  }
  const seen = `${moved.length} moved${moved.length ? ` (${names(moved)})` : ""}, ${unchanged.length} already there`;
  if (failures.length > 0) return { action: { ...base, status: "failed", reason: `${seen}; failed: ${failures.join("; ")}` }, moved };
  if (moved.length === 0) return { action: { ...base, status: "unchanged", reason: seen }, moved };
  return { action: { ...base, before: cpuList(moved[0]!.before), status: "applied", reason: seen }, moved };
}

/**
 * Puts the moved threads back on the CPUs they had: those that still run as the same thread
 * (same id in this process and same name: an id can be reused once its thread ends). Returns
 * how many were put back.
 */
export function restoreRuntimeThreads(moved: readonly MovedThread[], taskDir = "/proc/self/task"): number {
  let restored = 0;
  for (const t of moved) {
    let name: string;
    try {
      name = readFileSync(`${taskDir}/${t.tid}/comm`, "utf8").trim();
    } catch {
      continue; // ended
    }
    if (name !== t.name) continue; // another thread now
    try {
      schedSetaffinity(t.tid, t.before);
      restored++;
    } catch {
      // ended meanwhile, or the set is no longer allowed: nothing to put back
    }
  }
  return restored;
}

/**
 * The part as `run` (and the tuned `tradingd bench` run) applies it: the runtime's threads (every
 * thread whose id is not in `ours`: main and the workers) to the housekeeping CPUs, when the plan
 * gave a hot worker a CPU of its own; skipped otherwise, and while one of ours has no known id
 * yet (0: not started), which would be taken for the runtime's and moved.
 */
export function runtimeThreadsPart(plan: ThreadPlan, ours: readonly number[]): RuntimeThreadsTuning {
  const skipped = (reason: string): RuntimeThreadsTuning => ({
    action: { id: "process.runtime_threads.affinity", scope: "process", target: "the runtime's own threads", desired: "housekeeping CPUs", status: "skipped", reason },
    moved: [],
  });
  if (plan.hotCpus.length === 0 || plan.housekeepingCpus.length === 0) return skipped("no worker has a CPU of its own: nothing to keep them off");
  if (ours.some((tid) => !(tid > 0))) return skipped("a worker's thread id is not known yet (not started)");
  return moveRuntimeThreads(new Set(ours), plan.housekeepingCpus);
}
