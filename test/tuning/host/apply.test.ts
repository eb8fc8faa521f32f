import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import type { TuneAction } from "../../../daemon/tuning/action.ts";
import type { HostState, HostTuning } from "../../../daemon/tuning/host/index.ts";
import { applyHost, DEFAULT_HOST_TUNING, defaultStateFile, hintFor, isKnobPath, planHost, readState, revertHost, writeState } from "../../../daemon/tuning/host/index.ts";
import { join } from "node:path";
import { fakeHost } from "./fake-host.ts";

const CTX = { hotCpus: [2, 3], allowedCpus: [0, 1, 2, 3] };
const TUNING: HostTuning = { ...DEFAULT_HOST_TUNING, rt_throttling: "off" };
const IS_ROOT = process.getuid?.() === 0;

function statuses(actions: TuneAction[]): Record<string, string> {
  return Object.fromEntries(actions.map((a) => [a.id.replace(/^host\./, ""), a.status]));
}

describe("applyHost", () => {
  test("writes every planned value and saves each original, first, to the state file", () => {
    using host = fakeHost();
    const stateFile = defaultStateFile(host.roots);
    const actions = applyHost(planHost(TUNING, host.roots, CTX), host.roots, stateFile);

    expect(actions.filter((a) => a.status !== "applied" && a.status !== "unchanged")).toEqual([]);
    expect(actions.filter((a) => a.status === "applied").length).toBe(21);
    expect({
      governor: host.read("sys/devices/system/cpu/cpu2/cpufreq/scaling_governor"),
      c6: host.read("sys/devices/system/cpu/cpu2/cpuidle/state2/disable"),
      poll: host.read("sys/devices/system/cpu/cpu2/cpuidle/state0/disable"),
      thp: host.read("sys/kernel/mm/transparent_hugepage/enabled"),
      swappiness: host.read("proc/sys/vm/swappiness"),
      rt: host.read("proc/sys/kernel/sched_rt_runtime_us"),
      wmem: host.read("proc/sys/net/core/wmem_max"),
      irq1: host.read("proc/irq/1/smp_affinity_list"),
      irq2: host.read("proc/irq/2/smp_affinity_list"),
    }).toEqual({ governor: "performance", c6: "1", poll: "0\n", thp: "never", swappiness: "10", rt: "-1", wmem: "33554432\n", irq1: "0-1", irq2: "0\n" });

    const state = readState(stateFile)!;
    expect(state).toMatchObject({ version: 1, pid: process.pid });
    expect(Number.isNaN(Date.parse(state.startedAt))).toBe(false);
    const saved = new Map(state.saved.map((s) => [s.id, s.original]));
    expect(saved.size).toBe(21);
    expect({
      governor: saved.get("host.cpufreq_governor.cpu2"),
      thp: saved.get("host.transparent_hugepages"),
      swappiness: saved.get("host.vm_swappiness"),
      irq24: saved.get("host.irq_affinity.irq24"),
    }).toEqual({ governor: "powersave\n", thp: "madvise", swappiness: "60\n", irq24: "2\n" });
    expect(state.saved.every((s) => s.path.startsWith(host.dir + "/"))).toBe(true);
    expect(existsSync(`${stateFile}.${process.pid}.tmp`)).toBe(false);
  });

  test("a failed write ends failed with errno and hint, leaves no original behind, and the others still apply", () => {
    using host = fakeHost();
    const stateFile = defaultStateFile(host.roots);
    const plan = planHost(TUNING, host.roots, CTX);
    // Between plan and apply, swappiness becomes something no one can write: a directory.
    rmSync(host.path("proc/sys/vm/swappiness"));
    mkdirSync(host.path("proc/sys/vm/swappiness"));
    const actions = applyHost(plan, host.roots, stateFile);

    const swappiness = actions.find((a) => a.id === "host.vm_swappiness")!;
    expect(swappiness).toMatchObject({ status: "failed", errno: "EISDIR" });
    expect(swappiness.hint).toContain(host.path("proc/sys/vm/swappiness"));
    expect(actions.filter((a) => a.status === "applied").length).toBe(20);
    expect(host.read("proc/sys/net/core/busy_poll")).toBe("50");
    expect(readState(stateFile)!.saved.some((s) => s.id === "host.vm_swappiness")).toBe(false);
  });

  test.skipIf(!IS_ROOT || !existsSync("/sys/devices/system/cpu/online"))(
    "a file the kernel will not open for writing, even for root, ends failed EACCES with the needs-root hint",
    () => {
      using host = fakeHost();
      const stateFile = defaultStateFile(host.roots);
      // A read-only sysfs attribute (0444): readable, and open(O_WRONLY) is EACCES even for root.
      rmSync(host.path("proc/sys/kernel/sched_rt_runtime_us"));
      symlinkSync("/sys/devices/system/cpu/online", host.path("proc/sys/kernel/sched_rt_runtime_us"));
      const actions = applyHost(planHost(TUNING, host.roots, CTX), host.roots, stateFile);
      expect(actions.find((a) => a.id === "host.rt_throttling")).toMatchObject({
        status: "failed",
        errno: "EACCES",
        hint: "needs root: run `tradingd tune --apply-host` as root (the unit's ExecStartPre=+)",
      });
      expect(readState(stateFile)!.saved.some((s) => s.id === "host.rt_throttling")).toBe(false);
      expect(revertHost(stateFile, host.roots).every((a) => a.status === "applied")).toBe(true);
    },
  );

  test.skipIf(!IS_ROOT || !existsSync("/proc/version"))("an IRQ the kernel keeps (write fails EIO) is skipped, not failed", () => {
    using host = fakeHost();
    // /proc/version takes an open for writing from root, then fails the write with EIO, as a
    // per-CPU or managed IRQ's smp_affinity_list does.
    rmSync(host.path("proc/irq/24/smp_affinity_list"));
    symlinkSync("/proc/version", host.path("proc/irq/24/smp_affinity_list"));
    const plan = planHost({ ...TUNING }, host.roots, CTX);
    const actions = applyHost(plan, host.roots, defaultStateFile(host.roots));
    expect(actions.find((a) => a.id === "host.irq_affinity.irq24")).toMatchObject({
      status: "skipped",
      errno: "EIO",
      reason: "the kernel keeps this IRQ's affinity (per-CPU or managed IRQ)",
    });
    expect(actions.find((a) => a.id === "host.irq_affinity.irq1")!.status).toBe("applied");
  });

  test("a knob that vanished between plan and apply is skipped as not present", () => {
    using host = fakeHost();
    const plan = planHost(TUNING, host.roots, CTX);
    rmSync(host.path("proc/sys/net/core/busy_read"));
    const actions = applyHost(plan, host.roots, defaultStateFile(host.roots));
    expect(actions.find((a) => a.id === "host.net_busy_read_us")).toMatchObject({ status: "skipped", reason: "not present on this host" });
    expect(existsSync(host.path("proc/sys/net/core/busy_read"))).toBe(false); // not created
  });

  test("after a crash, a second apply keeps the first originals", () => {
    using host = fakeHost();
    const stateFile = defaultStateFile(host.roots);
    applyHost(planHost(TUNING, host.roots, CTX), host.roots, stateFile);
    const first = readFileSync(stateFile, "utf8");
    // The daemon crashed without reverting; someone changed swappiness by hand; tradingd starts again.
    host.write("proc/sys/vm/swappiness", "30\n");
    const again = applyHost(planHost(TUNING, host.roots, CTX), host.roots, stateFile);

    expect(statuses(again)["vm_swappiness"]).toBe("applied");
    expect(readFileSync(stateFile, "utf8")).toBe(first);
    revertHost(stateFile, host.roots);
    expect(host.read("proc/sys/vm/swappiness")).toBe("60\n");
  });

  test("an unreadable state file is never overwritten: every planned write fails instead", () => {
    using host = fakeHost();
    const stateFile = defaultStateFile(host.roots);
    mkdirSync(host.roots.run, { recursive: true });
    writeFileSync(stateFile, "{ not json");
    const actions = applyHost(planHost(TUNING, host.roots, CTX), host.roots, stateFile);
    expect(actions.some((a) => a.status === "applied")).toBe(false);
    expect(actions.find((a) => a.id === "host.vm_swappiness")).toMatchObject({ status: "failed", hint: `inspect ${stateFile}, write its originals back by hand, then remove it` });
    expect(readFileSync(stateFile, "utf8")).toBe("{ not json");
    expect(host.read("proc/sys/vm/swappiness")).toBe("60\n");
  });

  test("hints: EACCES/EPERM need root, EROFS is a read-only sysfs", () => {
    expect([hintFor("EPERM", "/p", "1"), hintFor("EROFS", "/p", "1").startsWith("read-only sysfs (container?)")]).toEqual([
      "needs root: run `tradingd tune --apply-host` as root (the unit's ExecStartPre=+)",
      true,
    ]);
  });
});

describe("revertHost", () => {
  test("restores every file byte for byte, last written first, and removes the state file", () => {
    using host = fakeHost();
    const stateFile = defaultStateFile(host.roots);
    const before = host.snapshot();
    applyHost(planHost(TUNING, host.roots, CTX), host.roots, stateFile);
    const state: HostState = readState(stateFile)!;
    const actions = revertHost(stateFile, host.roots);

    expect(actions.map((a) => a.id)).toEqual(state.saved.map((s) => s.id).reverse());
    expect(actions.every((a) => a.status === "applied")).toBe(true);
    const after = host.snapshot();
    // THP is saved as its bracketed choice, the only thing the kernel takes back.
    expect(after.get("sys/kernel/mm/transparent_hugepage/enabled")).toBe("madvise");
    after.set("sys/kernel/mm/transparent_hugepage/enabled", before.get("sys/kernel/mm/transparent_hugepage/enabled")!);
    expect(after).toEqual(before);
    expect(existsSync(stateFile)).toBe(false);
  });

  test("no state file: nothing to revert, and no error", () => {
    using host = fakeHost();
    expect(revertHost(defaultStateFile(host.roots))).toEqual([]);
  });

  test("keeps the state file, with only what is not back, when a restore fails; a vanished file is dropped", () => {
    using host = fakeHost();
    const stateFile = defaultStateFile(host.roots);
    applyHost(planHost(TUNING, host.roots, CTX), host.roots, stateFile);
    rmSync(host.path("proc/sys/vm/swappiness"));
    mkdirSync(host.path("proc/sys/vm/swappiness"));
    rmSync(host.path("proc/irq/24"), { recursive: true });
    const actions = revertHost(stateFile, host.roots);

    expect(actions.find((a) => a.id === "host.vm_swappiness")).toMatchObject({ status: "failed", errno: "EISDIR" });
    expect(actions.find((a) => a.id === "host.irq_affinity.irq24")).toMatchObject({ status: "skipped", reason: "not present on this host any more" });
    expect(actions.filter((a) => a.status === "applied").length).toBe(19);
    expect(readState(stateFile)!.saved).toEqual([{ path: host.path("proc/sys/vm/swappiness"), original: "60\n", id: "host.vm_swappiness" }]);

    // Fixed by hand, the retry finishes the job.
    rmSync(host.path("proc/sys/vm/swappiness"), { recursive: true });
    host.write("proc/sys/vm/swappiness", "10");
    expect(revertHost(stateFile, host.roots).map((a) => a.status)).toEqual(["applied"]);
    expect(host.read("proc/sys/vm/swappiness")).toBe("60\n");
    expect(existsSync(stateFile)).toBe(false);
  });
});

describe("revertHost refuses what the tuner never writes", () => {
  test("a state file naming a path outside sysfs and the procfs sysctls/IRQs is not written back", () => {
    using host = fakeHost();
    const stateFile = defaultStateFile(host.roots);
    const victim = join(host.dir, "etc-passwd");
    writeFileSync(victim, "root:x:0:0\n");
    writeState(stateFile, { version: 1, pid: 1, startedAt: new Date().toISOString(), saved: [{ path: victim, original: "owned\n", id: "host.evil" }] });
    const [action] = revertHost(stateFile, host.roots);
    expect([action!.status, action!.reason]).toEqual(["failed", "not a file the tuner writes: refused"]);
    expect(readFileSync(victim, "utf8")).toBe("root:x:0:0\n");
    expect(isKnobPath(join(host.roots.proc, "sys/vm/swappiness"), host.roots)).toBe(true);
    expect(isKnobPath(join(host.roots.proc, "sys/../self/mem"), host.roots)).toBe(false);
  });
});
