import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { HostTuning, PlannedWrite } from "../../../daemon/tuning/host/index.ts";
import { DEFAULT_HOST_TUNING, parseBracketed, planHost } from "../../../daemon/tuning/host/index.ts";
import { fakeHost } from "./fake-host.ts";

const CTX = { hotCpus: [2, 3], allowedCpus: [0, 1, 2, 3] };
const ALL_KEEP: HostTuning = {
  cpufreq_governor: "keep",
  cpuidle_max_latency_us: "keep",
  cpu_dma_latency_us: "keep",
  transparent_hugepages: "keep",
  vm_swappiness: "keep",
  kernel_numa_balancing: "keep",
  net_busy_poll_us: "keep",
  net_busy_read_us: "keep",
  net_rmem_max_bytes: "keep",
  net_wmem_max_bytes: "keep",
  rt_throttling: "keep",
  irq_affinity: "keep",
};

/** The entries for the knobs a test did not set to keep. */
function notKept(plan: PlannedWrite[]): PlannedWrite[] {
  return plan.filter((w) => w.action.reason !== "`keep` in config");
}

/** id → status (and value when planned), the shape most assertions want. */
function summary(plan: PlannedWrite[]): Record<string, string> {
  return Object.fromEntries(plan.map((w) => [w.action.id.replace(/^host\./, ""), w.action.status === "planned" ? `planned ${w.value}` : w.action.status]));
}

describe("planHost", () => {
  test("plans every knob against a host at kernel defaults, and marks what is already right unchanged", () => {
    using host = fakeHost();
    host.write("proc/sys/kernel/numa_balancing", "0\n");
    host.write("sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance\n");
    host.write("sys/devices/system/cpu/cpu3/cpuidle/state2/disable", "1\n");
    const plan = planHost({ ...DEFAULT_HOST_TUNING, rt_throttling: "off" }, host.roots, CTX);
    expect(summary(plan)).toEqual({
      "cpufreq_governor.cpu0": "planned performance",
      "cpufreq_governor.cpu1": "unchanged",
      "cpufreq_governor.cpu2": "planned performance",
      "cpufreq_governor.cpu3": "planned performance",
      "cpuidle.cpu0.state1": "planned 1",
      "cpuidle.cpu0.state2": "planned 1",
      "cpuidle.cpu1.state1": "planned 1",
      "cpuidle.cpu1.state2": "planned 1",
      "cpuidle.cpu2.state1": "planned 1",
      "cpuidle.cpu2.state2": "planned 1",
      "cpuidle.cpu3.state1": "planned 1",
      "cpuidle.cpu3.state2": "unchanged",
      transparent_hugepages: "planned never",
      vm_swappiness: "planned 10",
      kernel_numa_balancing: "unchanged",
      net_busy_poll_us: "planned 50",
      net_busy_read_us: "planned 50",
      net_rmem_max_bytes: "planned 16777216",
      net_wmem_max_bytes: "unchanged",
      rt_throttling: "planned -1",
      "irq_affinity.irq1": "planned 0-1",
      "irq_affinity.irq2": "unchanged",
      "irq_affinity.irq24": "planned 0-1",
    });
    const swappiness = plan.find((w) => w.action.id === "host.vm_swappiness")!;
    expect(swappiness).toEqual({
      action: { id: "host.vm_swappiness", scope: "host", target: host.path("proc/sys/vm/swappiness"), desired: "10", before: "60", status: "planned" },
      path: host.path("proc/sys/vm/swappiness"),
      value: "10",
    });
  });

  test("reads only: the fake host is byte-for-byte the same after planning", () => {
    using host = fakeHost();
    const before = host.snapshot();
    planHost({ ...DEFAULT_HOST_TUNING, rt_throttling: "off" }, host.roots, CTX);
    expect(host.snapshot()).toEqual(before);
  });

  test("keep yields one skipped action per knob, and nothing planned", () => {
    using host = fakeHost();
    const plan = planHost(ALL_KEEP, host.roots, CTX);
    expect(plan.every((w) => w.action.status === "skipped" && w.action.reason === "`keep` in config" && w.path === undefined)).toBe(true);
    expect(plan.map((w) => w.action.id)).toEqual([
      "host.cpufreq_governor",
      "host.cpuidle_max_latency_us",
      "host.transparent_hugepages",
      "host.vm_swappiness",
      "host.kernel_numa_balancing",
      "host.net_busy_poll_us",
      "host.net_busy_read_us",
      "host.net_rmem_max_bytes",
      "host.net_wmem_max_bytes",
      "host.rt_throttling",
      "host.irq_affinity",
    ]);
  });

  test("rmem_max and wmem_max are raised, never shrunk", () => {
    using host = fakeHost();
    const plan = planHost({ ...ALL_KEEP, net_rmem_max_bytes: 1_048_576, net_wmem_max_bytes: 1_048_576 }, host.roots, CTX);
    const byId = new Map(plan.map((w) => [w.action.id, w]));
    expect(byId.get("host.net_rmem_max_bytes")!.value).toBe("1048576"); // 212992 < 1 MiB: raised
    expect(byId.get("host.net_wmem_max_bytes")!.action).toMatchObject({ status: "unchanged", before: "33554432", reason: "already at least the value wanted; never lowered" });
  });

  test("THP: the bracketed choice is the current value, and it is what will be saved", () => {
    expect([parseBracketed("always [madvise] never\n"), parseBracketed("[always] madvise never"), parseBracketed("always madvise never")]).toEqual(["madvise", "always", null]);
    using host = fakeHost();
    const thp = (mode: HostTuning["transparent_hugepages"]) => planHost({ ...ALL_KEEP, transparent_hugepages: mode }, host.roots, CTX)[2]!;
    expect(thp("madvise").action).toMatchObject({ status: "unchanged", before: "madvise" });
    expect(thp("never")).toMatchObject({ action: { status: "planned", before: "madvise" }, value: "never", restore: "bracketed" });
  });

  test("a VM without cpufreq or cpuidle gets one skipped action for each, with the reason", () => {
    using host = fakeHost({ noCpufreq: true, noCpuidle: true });
    const plan = planHost({ ...ALL_KEEP, cpufreq_governor: "performance", cpuidle_max_latency_us: 1 }, host.roots, CTX);
    expect(plan.slice(0, 2).map((w) => [w.action.id, w.action.status, w.action.reason])).toEqual([
      ["host.cpufreq_governor", "skipped", "cpufreq not present on this host (a VM, or no cpufreq driver)"],
      ["host.cpuidle_max_latency_us", "skipped", "cpuidle not present on this host"],
    ]);
  });

  test("a governor the driver does not offer is skipped, naming the ones it does", () => {
    using host = fakeHost();
    const plan = planHost({ ...ALL_KEEP, cpufreq_governor: "schedutil" }, host.roots, CTX);
    expect(plan[0]!.action).toMatchObject({ id: "host.cpufreq_governor.cpu0", status: "skipped", reason: "governor not available (scaling_available_governors: performance powersave)" });
  });

  test("cpuidle: only states slower than the limit are disabled", () => {
    using host = fakeHost();
    const plan = notKept(planHost({ ...ALL_KEEP, cpuidle_max_latency_us: 100 }, host.roots, CTX));
    expect(plan.map((w) => w.action.id)).toEqual([0, 1, 2, 3].map((cpu) => `host.cpuidle.cpu${cpu}.state2`));
    expect(plan[0]!.action.reason).toBe("C6: exit latency 133 µs > 100 µs");
    const none = notKept(planHost({ ...ALL_KEEP, cpuidle_max_latency_us: 1000 }, host.roots, CTX));
    expect(none.map((w) => w.action.status)).toEqual(["unchanged"]);
  });

  test("IRQ affinity: IRQs touching a hot CPU move to the housekeeping CPUs; with no housekeeping CPU it is skipped", () => {
    using host = fakeHost();
    const plan = notKept(planHost({ ...ALL_KEEP, irq_affinity: "move_off_hot_cpus" }, host.roots, { hotCpus: [3], allowedCpus: [0, 1, 2, 3] }));
    expect(summary(plan)).toEqual({ "irq_affinity.irq1": "planned 0-2", "irq_affinity.irq2": "unchanged", "irq_affinity.irq24": "unchanged" });
    expect(plan[0]!.skipOn?.errnos).toEqual(["EIO", "EINVAL"]);
    const allHot = notKept(planHost({ ...ALL_KEEP, irq_affinity: "move_off_hot_cpus" }, host.roots, { hotCpus: [0, 1], allowedCpus: [0, 1] }));
    expect(allHot.map((w) => [w.action.status, w.action.reason])).toEqual([["skipped", "no housekeeping CPUs: every allowed CPU is hot"]]);
  });

  test("a sysctl the kernel does not have is skipped as not present", () => {
    using host = fakeHost();
    rmSync(host.path("proc/sys/kernel/numa_balancing"));
    const plan = planHost({ ...ALL_KEEP, kernel_numa_balancing: 0 }, host.roots, CTX);
    expect(plan[4]!.action).toMatchObject({ id: "host.kernel_numa_balancing", status: "skipped", reason: "not present on this host" });
  });
});
