/**
 * Plans the host writes: reads every knob's current value and says, per file, what would be
 * written, or why nothing will be (`unchanged`, `skipped`). Reads only; `applyHost` writes.
 */
import { join } from "node:path";
import type { TuneAction } from "../action.ts";
import { cpuRoot, formatCpuList, onlineCpus, parseCpuList } from "./cpus.ts";
import type { HostTuning } from "./knobs.ts";
import type { HostRoots } from "./roots.ts";
import { listDir, readText, readTrimmed } from "./roots.ts";

/** One file write of the plan, or one decision not to write. */
export interface PlannedWrite {
  /** `planned` when `path`/`value` are to be written; otherwise already final. */
  action: TuneAction;
  path?: string;
  value?: string;
  /**
   * What to save as the original: the file's content as read (`content`, the default), or the
   * bracketed choice of an `always [madvise] never` file (`bracketed`), since only that can be
   * written back.
   */
  restore?: "content" | "bracketed";
  /** errno names that mean "this one cannot be changed here": reported skipped with `reason`, not failed. */
  skipOn?: { errnos: readonly string[]; reason: string };
}

export interface HostContext {
  /** CPUs given to the hot threads (feed, strategy, gateway). */
  hotCpus: number[];
  /** CPUs the daemon may use; the housekeeping set is these minus the hot ones. */
  allowedCpus: number[];
}

const NOT_PRESENT = "not present on this host";
const KEEP = "`keep` in config";

/** Parses the bracketed choice of a sysfs selector file: "always [madvise] never" → "madvise". */
export function parseBracketed(text: string): string | null {
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1]! : null;
}

function hostAction(id: string, target: string, desired: string, status: TuneAction["status"], more: Partial<TuneAction> = {}): TuneAction {
  return { id: `host.${id}`, scope: "host", target, desired, status, ...more };
}

function skipped(id: string, target: string, desired: string, reason: string): PlannedWrite {
  return { action: hostAction(id, target, desired, "skipped", { reason }) };
}

/** A file holding one value: unchanged when `same(current)`, else planned. */
function planFile(id: string, path: string, desired: string, same: (current: string) => boolean = (c) => c === desired, whySame?: string): PlannedWrite {
  const r = readText(path);
  if (!r.ok) return skipped(id, path, desired, r.errno === "ENOENT" ? NOT_PRESENT : `cannot read: ${r.errno}`);
  const before = r.text.trim();
  if (same(before)) return { action: hostAction(id, path, desired, "unchanged", { before, ...(whySame ? { reason: whySame } : {}) }) };
  return { action: hostAction(id, path, desired, "planned", { before }), path, value: desired };
}

/** A numeric sysctl: `keep`, or write `value` unless it is already there. */
function planSysctl(id: string, path: string, value: number | "keep"): PlannedWrite {
  if (value === "keep") return skipped(id, path, "keep", KEEP);
  return planFile(id, path, String(value), (c) => c !== "" && Number(c) === value);
}

/** A buffer ceiling that is only ever raised. */
function planRaise(id: string, path: string, value: number | "keep"): PlannedWrite {
  if (value === "keep") return skipped(id, path, "keep", KEEP);
  return planFile(id, path, String(value), (c) => Number(c) >= value, "already at least the value wanted; never lowered");
}

function planGovernor(governor: string, roots: HostRoots): PlannedWrite[] {
  const cpus = onlineCpus(roots);
  const target = join(cpuRoot(roots), "cpu*/cpufreq/scaling_governor");
  if (governor === "keep") return [skipped("cpufreq_governor", target, "keep", KEEP)];
  const withCpufreq = cpus.filter((cpu) => readTrimmed(join(cpuRoot(roots), `cpu${cpu}`, "cpufreq/scaling_governor")) !== null);
  if (withCpufreq.length === 0) return [skipped("cpufreq_governor", target, governor, "cpufreq not present on this host (a VM, or no cpufreq driver)")];
  return withCpufreq.map((cpu) => {
    const dir = join(cpuRoot(roots), `cpu${cpu}`, "cpufreq");
    const id = `cpufreq_governor.cpu${cpu}`;
    const path = join(dir, "scaling_governor");
    const available = (readTrimmed(join(dir, "scaling_available_governors")) ?? "").split(/\s+/).filter(Boolean);
    if (available.length > 0 && !available.includes(governor)) {
      return skipped(id, path, governor, `governor not available (scaling_available_governors: ${available.join(" ")})`);
    }
    return planFile(id, path, governor);
  });
}

function planCpuidle(maxLatencyUs: number | "keep", roots: HostRoots): PlannedWrite[] {
  const target = join(cpuRoot(roots), "cpu*/cpuidle/state*/disable");
  if (maxLatencyUs === "keep") return [skipped("cpuidle_max_latency_us", target, "keep", KEEP)];
  const plan: PlannedWrite[] = [];
  for (const cpu of onlineCpus(roots)) {
    const dir = join(cpuRoot(roots), `cpu${cpu}`, "cpuidle");
    const states = listDir(dir).filter((s) => /^state\d+$/.test(s)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
    for (const state of states) {
      const latency = Number(readTrimmed(join(dir, state, "latency")));
      if (!Number.isFinite(latency) || latency <= maxLatencyUs) continue;
      const name = readTrimmed(join(dir, state, "name")) ?? state;
      const write = planFile(`cpuidle.cpu${cpu}.${state}`, join(dir, state, "disable"), "1");
      write.action.reason ??= `${name}: exit latency ${latency} µs > ${maxLatencyUs} µs`;
      plan.push(write);
    }
  }
  if (plan.length > 0) return plan;
  const present = onlineCpus(roots).some((cpu) => listDir(join(cpuRoot(roots), `cpu${cpu}`, "cpuidle")).length > 0);
  return present
    ? [{ action: hostAction("cpuidle_max_latency_us", target, String(maxLatencyUs), "unchanged", { reason: `no cpuidle state has an exit latency above ${maxLatencyUs} µs` }) }]
    : [skipped("cpuidle_max_latency_us", target, String(maxLatencyUs), "cpuidle not present on this host")];
}

function planThp(mode: HostTuning["transparent_hugepages"], roots: HostRoots): PlannedWrite {
  const path = join(roots.sys, "kernel/mm/transparent_hugepage/enabled");
  if (mode === "keep") return skipped("transparent_hugepages", path, "keep", KEEP);
  const write = planFile("transparent_hugepages", path, mode, (c) => parseBracketed(c) === mode);
  const before = write.action.before;
  if (before !== undefined) write.action.before = parseBracketed(before) ?? before;
  if (write.action.status === "planned") write.restore = "bracketed";
  return write;
}

function planIrqAffinity(mode: HostTuning["irq_affinity"], roots: HostRoots, ctx: HostContext): PlannedWrite[] {
  const target = join(roots.proc, "irq/*/smp_affinity_list");
  if (mode === "keep") return [skipped("irq_affinity", target, "keep", KEEP)];
  const hot = new Set(ctx.hotCpus);
  const housekeeping = ctx.allowedCpus.filter((cpu) => !hot.has(cpu));
  if (hot.size === 0) return [skipped("irq_affinity", target, "housekeeping CPUs", "no hot CPUs: nothing to move IRQs off")];
  if (housekeeping.length === 0) return [skipped("irq_affinity", target, "housekeeping CPUs", "no housekeeping CPUs: every allowed CPU is hot")];
  const desired = formatCpuList(housekeeping);
  const irqs = listDir(join(roots.proc, "irq")).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
  return irqs.map((irq) =>
    planFile(`irq_affinity.irq${irq}`, join(roots.proc, "irq", irq, "smp_affinity_list"), desired, (c) => {
      try {
        return !parseCpuList(c).some((cpu) => hot.has(cpu));
      } catch {
        return false;
      }
    }, "already off the hot CPUs"),
  ).map((write) =>
    write.action.status === "planned"
      ? { ...write, skipOn: { errnos: ["EIO", "EINVAL"], reason: "the kernel keeps this IRQ's affinity (per-CPU or managed IRQ)" } }
      : write,
  );
}

/**
 * The host writes `t` calls for, against the host under `roots`. Reads current values to mark
 * `unchanged`; writes nothing. `/dev/cpu_dma_latency` is not planned here: it is an fd to hold
 * (`holdCpuDmaLatency`), not a file to write and revert.
 *
 * @example
 * const plan = planHost(DEFAULT_HOST_TUNING, DEFAULT_HOST_ROOTS, { hotCpus: [2, 3], allowedCpus: [0, 1, 2, 3] });
 * const actions = applyHost(plan, DEFAULT_HOST_ROOTS, defaultStateFile(DEFAULT_HOST_ROOTS));
 */
export function planHost(t: HostTuning, roots: HostRoots, ctx: HostContext): PlannedWrite[] {
  const sys = (name: string) => join(roots.proc, "sys", name);
  return [
    ...planGovernor(t.cpufreq_governor, roots),
    ...planCpuidle(t.cpuidle_max_latency_us, roots),
    planThp(t.transparent_hugepages, roots),
    planSysctl("vm_swappiness", sys("vm/swappiness"), t.vm_swappiness),
    planSysctl("kernel_numa_balancing", sys("kernel/numa_balancing"), t.kernel_numa_balancing),
    planSysctl("net_busy_poll_us", sys("net/core/busy_poll"), t.net_busy_poll_us),
    planSysctl("net_busy_read_us", sys("net/core/busy_read"), t.net_busy_read_us),
    planRaise("net_rmem_max_bytes", sys("net/core/rmem_max"), t.net_rmem_max_bytes),
    planRaise("net_wmem_max_bytes", sys("net/core/wmem_max"), t.net_wmem_max_bytes),
    planSysctl("rt_throttling", sys("kernel/sched_rt_runtime_us"), t.rt_throttling === "off" ? -1 : "keep"),
    ...planIrqAffinity(t.irq_affinity, roots, ctx),
  ];
}
