// The planner and the advice against this machine's real /proc and /sys: they must complete,
// return actions, and write nothing.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { adviseHost, DEFAULT_HOST_ROOTS, DEFAULT_HOST_TUNING, onlineCpus, planHost } from "../../../daemon/tuning/host/index.ts";

const WATCHED = [
  "/proc/sys/vm/swappiness",
  "/proc/sys/kernel/numa_balancing",
  "/proc/sys/kernel/sched_rt_runtime_us",
  "/proc/sys/net/core/busy_poll",
  "/proc/sys/net/core/busy_read",
  "/proc/sys/net/core/rmem_max",
  "/proc/sys/net/core/wmem_max",
  "/sys/kernel/mm/transparent_hugepage/enabled",
].filter((path) => existsSync(path));

function irqAffinities(): string[] {
  return [...new Bun.Glob("*/smp_affinity_list").scanSync({ cwd: "/proc/irq" })].sort().map((p) => `${p}=${readFileSync(`/proc/irq/${p}`, "utf8")}`);
}

describe.skipIf(process.platform !== "linux" || !existsSync("/proc/sys"))("on this host's real /proc and /sys", () => {
  test("planHost with the default roots reads, returns actions and writes nothing", () => {
    const online = onlineCpus(DEFAULT_HOST_ROOTS);
    const hot = online.length > 1 ? [online[online.length - 1]!] : [];
    const before = [...WATCHED.map((p) => readFileSync(p, "utf8")), ...irqAffinities()];
    const plan = planHost({ ...DEFAULT_HOST_TUNING, rt_throttling: "off" }, DEFAULT_HOST_ROOTS, { hotCpus: hot, allowedCpus: online });
    const after = [...WATCHED.map((p) => readFileSync(p, "utf8")), ...irqAffinities()];

    expect(after).toEqual(before);
    expect(plan.length).toBeGreaterThan(5);
    expect(plan.every((w) => ["planned", "unchanged", "skipped"].includes(w.action.status))).toBe(true);
    expect(plan.every((w) => (w.action.status === "planned") === (w.path !== undefined && w.value !== undefined))).toBe(true);
    expect(plan.every((w) => w.action.status !== "skipped" || (w.action.reason ?? "") !== "")).toBe(true);
  });

  test("adviseHost completes and every advice carries a fix", () => {
    const online = onlineCpus(DEFAULT_HOST_ROOTS);
    const advice = adviseHost(DEFAULT_HOST_ROOTS, { hotCpus: online.slice(-1) });
    expect(advice.length).toBeGreaterThan(0);
    expect(advice.filter((a) => a.status === "advice").every((a) => (a.hint ?? "") !== "")).toBe(true);
  });
});
