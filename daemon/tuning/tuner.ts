/**
 * The tuner: plans the host tuning for a config, applies it part by part, and puts back what it
 * changed.
 *
 * | part | who does it | what |
 * |---|---|---|
 * | host | root: `tradingd tune --apply-host` (the unit's `ExecStartPre=+`), or `run` when it is root | sysfs/procfs knobs, IRQ affinity; originals saved in `state_dir` |
 * | process | `run`, main thread | mlockall(MCL_CURRENT\|MCL_FUTURE\|MCL_ONFAULT), `/dev/cpu_dma_latency` held open |
 * | thread | each worker on itself (and main) | CPU affinity, scheduling policy, NUMA preference |
 * | advice | report only | what needs a reboot or another tool (isolcpus, irqbalance, ethtool) |
 *
 * `planTuning` reads only. A plan with refusals (the interlocks in `threads.ts`) must not be
 * applied: `run` and `tune` print why and exit 78.
 */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import type { TuneAction } from "./action.ts";
import { planThreads, type ThreadPlan, type ThreadName } from "./threads.ts";
import { resolveLayout } from "./layout.ts";
import { applyThreadTuning } from "./apply-thread.ts";
import {
  adviseHost,
  applyHost,
  holdCpuDmaLatency,
  planHost,
  readState,
  revertHost,
  topologySiblings,
  type CpuDmaLatencyHold,
  type HostRoots,
  type PlannedWrite,
} from "./host/index.ts";
import { readTrimmed } from "./host/roots.ts";
import { getrlimit, mlockall, schedGetaffinity, SyscallError, errnoName, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT } from "../../ffi/libc.ts";
import { loadNuma, numaUnavailableReason } from "../../ffi/numa.ts";

export interface TuningPlan {
  roots: HostRoots;
  stateFile: string;
  threads: ThreadPlan;
  host: PlannedWrite[];
  advice: TuneAction[];
  numaNode: number | null;
  numaAction: TuneAction | null;
  refusals: string[];
}

export function hostRoots(cfg: Config): HostRoots {
  return { sys: cfg.tuning.roots.sys, proc: cfg.tuning.roots.proc, dev: cfg.tuning.roots.dev, run: cfg.tuning.state_dir };
}

export function stateFileOf(roots: HostRoots): string {
  return join(roots.run, "host-tuning.json");
}

function chooseNumaNode(cfg: Config, cpus: readonly number[]): { node: number | null; action: TuneAction | null } {
  const want = cfg.tuning.numa_node;
  if (want === "none") return { node: null, action: { id: "process.numa", scope: "process", target: "memory policy", desired: "none", status: "skipped", reason: "tuning.numa_node says none" } };
  if (typeof want === "number") return { node: want, action: null };
  const numa = loadNuma();
  if (numa === null) return { node: null, action: { id: "process.numa", scope: "process", target: "memory policy", desired: "the node of the chosen CPUs", status: "skipped", reason: `libnuma is not available: ${numaUnavailableReason() ?? "unknown"}` } };
  try {
    return { node: numa.nodeOfCpu(cpus[0] ?? 0), action: null };
  } catch (err) {
    return { node: null, action: { id: "process.numa", scope: "process", target: "memory policy", desired: "the node of the chosen CPUs", status: "skipped", reason: (err as Error).message } };
  } finally {
    numa.close();
  }
}

/** Reads the host and the config; changes nothing. */
export function planTuning(cfg: Config): TuningPlan {
  const roots = hostRoots(cfg);
  const allowedCpus = schedGetaffinity(0);
  const rt = readTrimmed(join(roots.proc, "sys/kernel/sched_rt_runtime_us"));
  const threads = planThreads({
    cpus: cfg.tuning.cpus,
    sched: cfg.tuning.sched,
    layout: resolveLayout(cfg, allowedCpus).layout,
    waits: { strategy: cfg.threads.strategy.wait, execution: cfg.threads.execution.wait },
    allowedCpus,
    siblings: topologySiblings(roots),
    rtRuntimeUs: rt === null ? null : Number(rt),
    hostTurnsThrottlingOff: cfg.tuning.host.rt_throttling === "off",
  });
  const host = planHost(cfg.tuning.host, roots, { hotCpus: threads.hotCpus, allowedCpus });
  const advice = adviseHost(roots, { hotCpus: threads.hotCpus });
  const numa = chooseNumaNode(cfg, threads.hotCpus.length > 0 ? threads.hotCpus : allowedCpus);
  return { roots, stateFile: stateFileOf(roots), threads, host, advice, numaNode: numa.node, numaAction: numa.action, refusals: threads.refusals };
}

/** The plan as actions, for `tune --plan` and the report (nothing applied). */
export function planActions(plan: TuningPlan, cfg: Config): TuneAction[] {
  const out: TuneAction[] = [...plan.threads.actions];
  if (cfg.tuning.mlockall) out.push({ id: "process.mlockall", scope: "process", target: "all memory", desired: "MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT", status: "planned" });
  out.push(dmaPlanned(cfg, plan.roots));
  if (plan.numaAction) out.push(plan.numaAction);
  out.push(...plan.host.map((w) => w.action), ...plan.advice);
  return out;
}

function dmaPlanned(cfg: Config, roots: HostRoots): TuneAction {
  const us = cfg.tuning.host.cpu_dma_latency_us;
  return us === "keep"
    ? { id: "host.cpu_dma_latency", scope: "host", target: join(roots.dev, "cpu_dma_latency"), desired: "keep", status: "skipped", reason: "`keep` in config" }
    : { id: "host.cpu_dma_latency", scope: "host", target: join(roots.dev, "cpu_dma_latency"), desired: `${us} µs, held while running`, status: "planned" };
}

/** The host part (root): writes the knobs, saving originals in the state file first. */
export function applyHostPart(plan: TuningPlan): TuneAction[] {
  return applyHost(plan.host, plan.roots, plan.stateFile);
}

/** Puts back what the host part wrote (from the state file; nothing if there is none). */
export function revertHostPart(roots: HostRoots): TuneAction[] {
  return revertHost(stateFileOf(roots), roots);
}

/** Whether a state file says the host part was applied (by `tune --apply-host`, say). */
export function hostPartApplied(roots: HostRoots): boolean {
  try {
    return readState(stateFileOf(roots)) !== null;
  } catch {
    return true;
  }
}

export interface ProcessTuning {
  actions: TuneAction[];
  /** Releases what is held for the life of the process (the cpu_dma_latency request). */
  release(): void;
}

/** The process part, on the main thread: mlockall, cpu_dma_latency, and main's own placement. */
export function applyProcessPart(plan: TuningPlan, cfg: Config): ProcessTuning {
  const actions: TuneAction[] = [];
  if (cfg.tuning.mlockall) {
    const base = { id: "process.mlockall", scope: "process" as const, target: "all memory", desired: "MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT" };
    try {
      mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
      actions.push({ ...base, status: "applied" });
    } catch (err) {
      const limit = getrlimit("memlock");
      if (err instanceof SyscallError) actions.push({ ...base, status: "failed", errno: errnoName(err.errno), reason: `${err.message} (memlock limit ${limit.soft === Infinity ? "unlimited" : `${limit.soft} bytes`})`, hint: err.hint });
      else actions.push({ ...base, status: "failed", reason: (err as Error).message });
    }
  } else {
    actions.push({ id: "process.mlockall", scope: "process", target: "all memory", desired: "off", status: "skipped", reason: "tuning.mlockall is false" });
  }
  let hold: CpuDmaLatencyHold | null = null;
  const us = cfg.tuning.host.cpu_dma_latency_us;
  if (us === "keep") actions.push(dmaPlanned(cfg, plan.roots));
  else {
    hold = holdCpuDmaLatency(plan.roots, us);
    actions.push(hold.action);
  }
  if (plan.numaAction) actions.push(plan.numaAction);
  actions.push(...applyThreadTuning("main" satisfies ThreadName, plan.threads.threads.main, plan.numaNode));
  return { actions, release: () => hold?.release() };
}
