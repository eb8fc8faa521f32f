/**
 * CPU lists as the kernel writes them ("0-3,8,10-11") and the CPU topology read from sysfs:
 * which CPUs are online, which share a core (SMT siblings).
 */
import { join } from "node:path";
import type { HostRoots } from "./roots.ts";
import { listDir, readTrimmed } from "./roots.ts";

/**
 * Parses a kernel CPU list into sorted, unique CPU numbers. Accepts ranges with a stride as in
 * kernel parameters ("0-15:2/4": in each group of 4, the first 2). Empty text is the empty list.
 * Throws on anything else, so a caller can tell flags (`isolcpus=domain,2-3`) from CPUs.
 *
 * @example
 * parseCpuList("0-3,8,10-11"); // [0, 1, 2, 3, 8, 10, 11]
 */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const raw of text.trim().split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+)(?::(\d+)\/(\d+))?)?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: "${text}" (at "${part}")`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    const used = m[3] === undefined ? 1 : Number(m[3]);
    const group = m[4] === undefined ? 1 : Number(m[4]);
    if (last < first || group === 0 || used > group) throw new Error(`not a CPU list: "${text}" (at "${part}")`);
    for (let start = first; start <= last; start += group) {
      for (let cpu = start; cpu < start + used && cpu <= last; cpu++) cpus.add(cpu);
    }
  }
  return [...cpus].sort((a, b) => a - b);
}

/**
 * Formats CPU numbers the way the kernel does: sorted, consecutive runs as ranges.
 *
 * @example
 * formatCpuList([11, 0, 1, 2, 3, 8, 10]); // "0-3,8,10-11"
 */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** `<sys>/devices/system/cpu`. */
export function cpuRoot(roots: HostRoots): string {
  return join(roots.sys, "devices/system/cpu");
}

/** The CPUs that have a `cpuN` directory, sorted. */
export function presentCpuDirs(roots: HostRoots): number[] {
  return listDir(cpuRoot(roots))
    .map((name) => /^cpu(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The online CPUs, from `<sys>/devices/system/cpu/online`; the `cpuN` directories when it is absent. */
export function onlineCpus(roots: HostRoots): number[] {
  const text = readTrimmed(join(cpuRoot(roots), "online"));
  if (text !== null) {
    try {
      return parseCpuList(text);
    } catch {
      // fall through to the directories
    }
  }
  return presentCpuDirs(roots);
}

/**
 * Each CPU's hardware threads on the same core (itself included), from
 * `cpuN/topology/thread_siblings_list`. Offline CPUs have no topology and are left out.
 */
export function topologySiblings(roots: HostRoots): Map<number, number[]> {
  const siblings = new Map<number, number[]>();
  for (const cpu of presentCpuDirs(roots)) {
    const text = readTrimmed(join(cpuRoot(roots), `cpu${cpu}`, "topology/thread_siblings_list"));
    if (text === null) continue;
    try {
      siblings.set(cpu, parseCpuList(text));
    } catch {
      // unreadable topology: leave the CPU out rather than guess
    }
  }
  return siblings;
}
