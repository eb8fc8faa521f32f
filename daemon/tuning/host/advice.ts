/**
 * What the tuner cannot change at run time, reported as `advice` with the exact fix: CPU
 * isolation (kernel command line), SMT siblings of hot CPUs, irqbalance, NIC rings and
 * interrupt coalescing (ethtool). Reads only. A check that finds nothing to fix is reported
 * `unchanged`, so the report shows it was made.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TuneAction } from "../action.ts";
import { cpuRoot, onlineCpus, parseCpuList, topologySiblings } from "./cpus.ts";
import type { HostRoots } from "./roots.ts";
import { listDir, readTrimmed } from "./roots.ts";

/** The kernel's boot parameters: `key=value` (or a bare `key` → ""), up to the `--` that starts init's. */
export function parseCmdline(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const token of text.trim().split(/\s+/)) {
    if (token === "--") break;
    if (token === "") continue;
    const eq = token.indexOf("=");
    params.set(eq < 0 ? token : token.slice(0, eq), eq < 0 ? "" : token.slice(eq + 1));
  }
  return params;
}

/**
 * The CPUs of a boot parameter's CPU list, ignoring flags (`isolcpus=nohz,domain,managed_irq,2-3`)
 * and taking `all` as every online CPU. Unparsable → none.
 */
function paramCpus(value: string | undefined, online: readonly number[]): number[] {
  if (value === undefined || value === "") return [];
  if (value === "all") return [...online];
  try {
    return parseCpuList(value.split(",").filter((part) => /^\d/.test(part)).join(","));
  } catch {
    return [];
  }
}

/** A sysfs CPU list file ("" or "(null)" when empty), or `null` when absent. */
function sysfsCpus(path: string): number[] | null {
  const text = readTrimmed(path);
  if (text === null) return null;
  try {
    return parseCpuList(text);
  } catch {
    return [];
  }
}

function host(id: string, target: string, desired: string, status: "advice" | "unchanged" | "skipped", reason: string, hint?: string): TuneAction {
  return { id: `host.${id}`, scope: "host", target, desired, status, reason, ...(hint ? { hint } : {}) };
}

function adviseIsolation(roots: HostRoots, hotCpus: readonly number[]): TuneAction {
  const target = "kernel command line";
  const hot = [...hotCpus].sort((a, b) => a - b).join(",");
  const hotCpusAre = hotCpus.length === 1 ? `hot CPU ${hot} is` : `hot CPUs ${hot} are`;
  const desired = `isolcpus=${hot} nohz_full=${hot} rcu_nocbs=${hot}`;
  if (hotCpus.length === 0) return host("cpu_isolation", target, "isolcpus nohz_full rcu_nocbs", "skipped", "no hot CPUs");
  const online = onlineCpus(roots);
  const params = parseCmdline(readTrimmed(join(roots.proc, "cmdline")) ?? "");
  const sets: [string, number[]][] = [
    ["isolcpus", sysfsCpus(join(cpuRoot(roots), "isolated")) ?? paramCpus(params.get("isolcpus"), online)],
    ["nohz_full", sysfsCpus(join(cpuRoot(roots), "nohz_full")) ?? paramCpus(params.get("nohz_full"), online)],
    ["rcu_nocbs", paramCpus(params.get("rcu_nocbs"), online)],
  ];
  const missing = sets.filter(([, cpus]) => hotCpus.some((cpu) => !cpus.includes(cpu)));
  if (missing.length === 0) return host("cpu_isolation", target, desired, "unchanged", `${hotCpusAre} in isolcpus, nohz_full and rcu_nocbs`);
  const seen = missing.map(([name, cpus]) => `${name}: ${cpus.length > 0 ? cpus.join(",") : "none"}`).join("; ");
  return host(
    "cpu_isolation",
    target,
    desired,
    "advice",
    `${hotCpusAre} not fully isolated (${seen}): the scheduler, timer ticks and RCU callbacks still run there`,
    `add "${desired}" to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot)`,
  );
}

function adviseSmt(roots: HostRoots, hotCpus: readonly number[]): TuneAction[] {
  const siblings = topologySiblings(roots);
  const online = new Set(onlineCpus(roots));
  const actions: TuneAction[] = [];
  for (const cpu of hotCpus) {
    const others = (siblings.get(cpu) ?? []).filter((s) => s !== cpu && online.has(s));
    if (others.length === 0) continue;
    const list = others.join(",");
    actions.push(host(
      `smt.cpu${cpu}`,
      `cpu${cpu}`,
      "no online SMT sibling",
      "advice",
      `hot CPU ${cpu} shares its core with CPU ${list}: whatever runs there takes the core's execution units and caches`,
      `keep CPU ${list} out of every thread's CPUs and isolated, or take it offline (echo 0 > ${join(cpuRoot(roots), `cpu${others[0]}`, "online")}), or add "nosmt" to the kernel command line`,
    ));
  }
  return actions;
}

/** The pids whose `comm` is `name`. */
export function findProcesses(roots: HostRoots, name: string): number[] {
  return listDir(roots.proc)
    .filter((entry) => /^\d+$/.test(entry) && readTrimmed(join(roots.proc, entry, "comm")) === name)
    .map(Number)
    .sort((a, b) => a - b);
}

function adviseIrqbalance(roots: HostRoots): TuneAction {
  const pids = findProcesses(roots, "irqbalance");
  if (pids.length === 0) return host("irqbalance", "irqbalance", "not running", "unchanged", "irqbalance is not running");
  return host(
    "irqbalance",
    `irqbalance (pid ${pids.join(",")})`,
    "not running",
    "advice",
    "irqbalance is running: it rewrites /proc/irq/*/smp_affinity_list and would undo the IRQ affinity",
    "systemctl disable --now irqbalance",
  );
}

function adviseNics(roots: HostRoots): TuneAction[] {
  const netDir = join(roots.sys, "class/net");
  const physical = listDir(netDir).filter((name) => existsSync(join(netDir, name, "device"))).sort();
  return physical.flatMap((name) => [
    host(`nic.${name}.rings`, name, "rx 4096 tx 4096", "advice", "larger NIC rings absorb bursts without drops (not checked: needs ethtool)", `ethtool -G ${name} rx 4096 tx 4096`),
    host(`nic.${name}.coalescing`, name, "adaptive-rx off rx-usecs 0", "advice", "interrupt coalescing delays each packet to batch interrupts (not checked: needs ethtool)", `ethtool -C ${name} adaptive-rx off rx-usecs 0`),
  ]);
}

/**
 * Advice for what needs a reboot or another tool, for a daemon whose hot threads run on `hotCpus`.
 *
 * @example
 * for (const a of adviseHost(DEFAULT_HOST_ROOTS, { hotCpus: [2, 3] })) if (a.status === "advice") console.log(a.hint);
 */
export function adviseHost(roots: HostRoots, ctx: { hotCpus: number[] }): TuneAction[] {
  return [adviseIsolation(roots, ctx.hotCpus), ...adviseSmt(roots, ctx.hotCpus), adviseIrqbalance(roots), ...adviseNics(roots)];
}
