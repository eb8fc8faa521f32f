/**
 * Applies a thread's part of the plan ON that thread: pinning and scheduling policy are per
 * thread in Linux, so each worker calls this on itself, by its own thread id, before it reports
 * ready; main calls it for the main thread. Also prefers the NUMA node's memory for the thread.
 *
 * Every step ends as an action (applied / unchanged / skipped / failed with errno and hint);
 * nothing here throws for a refused syscall: the daemon goes on without that step.
 */
import type { TuneAction } from "./action.ts";
import type { ThreadAssignment, ThreadName } from "./threads.ts";
import { errnoName, gettid, schedGetaffinity, schedGetscheduler, schedSetaffinity, schedSetscheduler, SyscallError } from "../../ffi/libc.ts";
import { loadNuma } from "../../ffi/numa.ts";

function failed(base: Omit<TuneAction, "status">, err: unknown): TuneAction {
  if (err instanceof SyscallError) return { ...base, status: "failed", errno: errnoName(err.errno), reason: err.message, hint: err.hint };
  return { ...base, status: "failed", reason: (err as Error).message };
}

export function applyThreadTuning(name: ThreadName, a: ThreadAssignment, numaNode: number | null): TuneAction[] {
  const tid = gettid();
  const actions: TuneAction[] = [];

  if (a.cpu !== null) {
    const base = { id: `thread.${name}.affinity`, scope: "thread" as const, target: `${name} (tid ${tid})`, desired: `CPU ${a.cpu}` };
    try {
      const before = schedGetaffinity(tid);
      if (before.length === 1 && before[0] === a.cpu) actions.push({ ...base, before: `CPU ${before.join(",")}`, status: "unchanged" });
      else {
        schedSetaffinity(tid, [a.cpu]);
        actions.push({ ...base, before: `CPUs ${before.join(",")}`, status: "applied" });
      }
    } catch (err) {
      actions.push(failed(base, err));
    }
  }

  {
    const desired = a.policy === "other" ? "SCHED_OTHER" : `SCHED_${a.policy.toUpperCase()} ${a.priority}`;
    const base = { id: `thread.${name}.sched`, scope: "thread" as const, target: `${name} (tid ${tid})`, desired };
    try {
      const before = schedGetscheduler(tid);
      const beforeText = before.policy === "other" ? "SCHED_OTHER" : `SCHED_${before.policy.toUpperCase()} ${before.priority}`;
      if (before.policy === a.policy && (a.policy === "other" || before.priority === a.priority)) {
        // Already so (inherited, or set by the unit's CPUSchedulingPolicy): set again for the
        // reset-on-fork flag, which the read above does not show.
        if (a.policy !== "other") schedSetscheduler(tid, a.policy, a.priority, true);
        actions.push({ ...base, before: beforeText, status: "unchanged" });
      } else {
        // Real-time, but not for threads the runtime starts from this one later (they begin
        // under SCHED_OTHER: a real-time helper would compete with this thread for its CPU).
        schedSetscheduler(tid, a.policy, a.priority, a.policy !== "other");
        actions.push({ ...base, before: beforeText, status: "applied" });
      }
    } catch (err) {
      actions.push(failed(base, err));
    }
  }

  if (numaNode !== null) {
    const base = { id: `thread.${name}.numa`, scope: "thread" as const, target: `${name} (tid ${tid})`, desired: `prefer memory of node ${numaNode}` };
    const numa = loadNuma();
    if (numa === null) actions.push({ ...base, status: "skipped", reason: "libnuma is not available" });
    else {
      try {
        if (numa.maxNode() === 0) actions.push({ ...base, status: "unchanged", reason: "one NUMA node" });
        else {
          numa.setPreferred(numaNode);
          actions.push({ ...base, status: "applied" });
        }
      } catch (err) {
        actions.push(failed(base, err));
      } finally {
        numa.close();
      }
    }
  }
  return actions;
}
