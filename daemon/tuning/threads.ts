/**
 * Where each thread runs and at what scheduling policy: the per-thread half of the tuner's
 * plan, and the safety interlocks.
 *
 * Placement (`auto`): the first allowed CPU (with its SMT siblings) is the housekeeping CPU for
 * the main thread, the HTTP endpoint and the OS. The hot workers take the remaining CPUs, one
 * physical core each (an SMT sibling of a hot CPU is never given to another hot thread), in the
 * order strategy, feed, execution; a worker left without a core of its own shares the
 * housekeeping CPU. With one allowed CPU nothing is pinned.
 *
 * Policy (`auto`): SCHED_FIFO priority 10 for a worker that has a CPU of its own and does not
 * spin (a FIFO spinner starves the kernel's per-CPU threads on that CPU); SCHED_OTHER for the
 * rest.
 *
 * Interlocks (the plan is refused, with why and what to change): two spinning threads on one
 * CPU, or a spinning thread sharing its CPU; a CPU outside the set this process may use; a `spin`
 * consumer under SCHED_FIFO/RR while RT throttling is on (it stalls 50 ms every second,
 * measured), unless the plan also turns the throttling off.
 *
 * Layout `single`: the one trading thread runs every stage and takes the strategy's place in the
 * plan (`tuning.cpus.strategy`, `tuning.sched.strategy`, `threads.strategy.wait`); the feed and
 * execution entries are copies of it, with no action of their own.
 */
import type { TuneAction } from "./action.ts";
import type { ThreadLayout } from "./layout.ts";

export type ThreadName = "main" | "feed" | "strategy" | "execution";
export const THREAD_NAMES: readonly ThreadName[] = ["main", "feed", "strategy", "execution"];
export type CpuChoice = number | "auto" | "none";
export type PolicyChoice = "auto" | "other" | "fifo" | "rr";

export interface ThreadTuningInput {
  cpus: Record<ThreadName, CpuChoice>;
  sched: Record<ThreadName, { policy: PolicyChoice; priority: number }>;
  /** `split`: three hot workers; `single`: one (the strategy's entry), see the module doc. */
  layout: ThreadLayout;
  /** Consumers' wait strategies (the feed and main do not consume rings). */
  waits: { strategy: "spin" | "hybrid" | "block"; execution: "spin" | "hybrid" | "block" };
  /** CPUs this process may run on (sched_getaffinity of the process at start). */
  allowedCpus: readonly number[];
  /** SMT siblings of each CPU, itself included (from sysfs topology; empty map = unknown). */
  siblings: ReadonlyMap<number, readonly number[]>;
  /** `kernel.sched_rt_runtime_us` now (-1 = throttling off), or null if unreadable. */
  rtRuntimeUs: number | null;
  /** Whether the host part of the plan turns RT throttling off. */
  hostTurnsThrottlingOff: boolean;
}

export interface ThreadAssignment {
  cpu: number | null;
  policy: "other" | "fifo" | "rr";
  priority: number;
  spins: boolean;
}

export interface ThreadPlan {
  layout: ThreadLayout;
  threads: Record<ThreadName, ThreadAssignment>;
  /** CPUs given to a hot worker of its own. */
  hotCpus: number[];
  /** CPUs for main, the OS, and IRQs. */
  housekeepingCpus: number[];
  /** Planned per-thread actions (pinning, policy), for the report. */
  actions: TuneAction[];
  /** Why the plan must not be applied; empty when it is safe. */
  refusals: string[];
}

const AUTO_FIFO_PRIORITY = 10;

function physicalCore(cpu: number, siblings: ReadonlyMap<number, readonly number[]>): readonly number[] {
  return siblings.get(cpu) ?? [cpu];
}

export function planThreads(input: ThreadTuningInput): ThreadPlan {
  const allowed = [...input.allowedCpus].sort((a, b) => a - b);
  const refusals: string[] = [];
  const single = input.layout === "single";
  /** The threads that exist in this layout (in `single`, feed and execution are the strategy's). */
  const present: readonly ThreadName[] = single ? ["main", "strategy"] : THREAD_NAMES;
  const spins: Record<ThreadName, boolean> = { main: false, feed: false, strategy: input.waits.strategy === "spin", execution: !single && input.waits.execution === "spin" };
  const cpuOf: Record<ThreadName, number | null> = { main: null, feed: null, strategy: null, execution: null };

  // Explicit CPUs first.
  for (const t of present) {
    const c = input.cpus[t];
    if (typeof c === "number") {
      if (!allowed.includes(c)) refusals.push(`tuning.cpus.${t}: CPU ${c} is outside the CPUs this process may use (${allowed.join(",") || "none"}); pick one of those, or widen the cpuset`);
      cpuOf[t] = c;
    }
  }

  // Housekeeping: the first allowed CPU and its siblings, unless an explicit choice took it.
  const housekeeping = allowed.length > 0 ? [...physicalCore(allowed[0]!, input.siblings)].filter((c) => allowed.includes(c)) : [];
  const taken = new Set<number>();
  for (const t of present) if (t !== "main" && typeof cpuOf[t] === "number") for (const s of physicalCore(cpuOf[t]!, input.siblings)) taken.add(s);
  const free = allowed.filter((c) => !housekeeping.includes(c) && !taken.has(c));
  const canPin = allowed.length > 1;

  for (const t of ["strategy", "feed", "execution"] as const) {
    if (!present.includes(t) || input.cpus[t] !== "auto" || !canPin) continue;
    const own = free.shift();
    if (own !== undefined) {
      cpuOf[t] = own;
      for (const s of physicalCore(own, input.siblings)) {
        const i = free.indexOf(s);
        if (i >= 0) free.splice(i, 1);
      }
    } else {
      cpuOf[t] = housekeeping[0] ?? null;
    }
  }
  if (input.cpus.main === "auto" && canPin) cpuOf.main = housekeeping[0] ?? null;

  // Who shares a CPU with whom.
  const sharers = (t: ThreadName) => present.filter((o) => o !== t && cpuOf[o] !== null && cpuOf[o] === cpuOf[t]);
  for (const t of present) {
    if (!spins[t] || cpuOf[t] === null) continue;
    const others = sharers(t);
    if (others.length > 0) {
      const both = others.filter((o) => spins[o]);
      refusals.push(
        both.length > 0
          ? `two spinning threads on CPU ${cpuOf[t]} (${[t, ...both].join(" and ")}): give each spinning thread its own CPU (tuning.cpus), or set threads.${t}.wait to hybrid`
          : `${t} spins (threads.${t}.wait: spin) on CPU ${cpuOf[t]}, which it shares with ${others.join(", ")}: give it a CPU of its own (tuning.cpus.${t}) or set threads.${t}.wait to hybrid`,
      );
    }
  }

  const threads = {} as Record<ThreadName, ThreadAssignment>;
  for (const t of present) {
    const want = input.sched[t];
    let policy: ThreadAssignment["policy"];
    let priority = want.priority;
    if (want.policy === "auto") {
      const ownCpu = cpuOf[t] !== null && sharers(t).length === 0 && t !== "main";
      policy = ownCpu && !spins[t] ? "fifo" : "other";
      priority = policy === "fifo" ? AUTO_FIFO_PRIORITY : 0;
    } else {
      policy = want.policy;
      if (policy === "other") priority = 0;
    }
    threads[t] = { cpu: cpuOf[t], policy, priority, spins: spins[t] };
    if (spins[t] && policy !== "other") {
      const throttled = input.rtRuntimeUs !== null && input.rtRuntimeUs !== -1;
      if (throttled && !input.hostTurnsThrottlingOff) {
        refusals.push(
          `${t} spins under SCHED_${policy.toUpperCase()} while RT throttling is on (kernel.sched_rt_runtime_us = ${input.rtRuntimeUs}): it would stall 50 ms every second. Set tuning.host.rt_throttling: off, or tuning.sched.${t}.policy: other, or threads.${t}.wait: hybrid`,
        );
      }
    }
  }

  if (single) threads.feed = threads.execution = threads.strategy!;
  const hotCpus = [...new Set((["feed", "strategy", "execution"] as const).map((t) => threads[t].cpu).filter((c): c is number => c !== null && !housekeeping.includes(c)))].sort((a, b) => a - b);
  const actions: TuneAction[] = [];
  for (const t of THREAD_NAMES) {
    if (!present.includes(t)) {
      actions.push({ id: `thread.${t}`, scope: "thread", target: t, desired: "the strategy thread's", status: "skipped", reason: "threads.layout single: this stage runs on the strategy thread" });
      continue;
    }
    const a = threads[t];
    actions.push(
      a.cpu === null
        ? { id: `thread.${t}.affinity`, scope: "thread", target: t, desired: "unpinned", status: "skipped", reason: input.cpus[t] === "none" ? "tuning.cpus says none" : "only one CPU is allowed" }
        : { id: `thread.${t}.affinity`, scope: "thread", target: t, desired: `CPU ${a.cpu}`, status: "planned" },
    );
    actions.push({ id: `thread.${t}.sched`, scope: "thread", target: t, desired: a.policy === "other" ? "SCHED_OTHER" : `SCHED_${a.policy.toUpperCase()} ${a.priority}`, status: "planned" });
  }
  const rtThreads = present.filter((t) => threads[t].policy !== "other");
  const throttled = input.rtRuntimeUs !== null && input.rtRuntimeUs !== -1 && !input.hostTurnsThrottlingOff;
  if (rtThreads.length > 0 && throttled) {
    actions.push({
      id: "thread.rt_throttling",
      scope: "thread",
      target: "kernel.sched_rt_runtime_us",
      desired: "-1 (off)",
      before: String(input.rtRuntimeUs),
      status: "advice",
      reason: `${rtThreads.join(", ")} run real-time with RT throttling on: a real-time thread busy for a whole second is stopped for the rest of it (50 ms)`,
      hint: "on a host whose hot CPUs are isolated (isolcpus, nohz_full, rcu_nocbs), set tuning.host.rt_throttling: off",
    });
  }
  return { layout: input.layout, threads, hotCpus, housekeepingCpus: housekeeping, actions, refusals };
}
