import { describe, expect, test } from "bun:test";
import { adviseHost, parseCmdline } from "../../../daemon/tuning/host/index.ts";
import { fakeHost } from "./fake-host.ts";

const HOT = { hotCpus: [2, 3] };

describe("adviseHost", () => {
  test("hot CPUs not isolated: the exact kernel command line to add, with the hot CPUs", () => {
    using host = fakeHost();
    const isolation = adviseHost(host.roots, HOT).find((a) => a.id === "host.cpu_isolation")!;
    expect(isolation).toEqual({
      id: "host.cpu_isolation",
      scope: "host",
      target: "kernel command line",
      desired: "isolcpus=2,3 nohz_full=2,3 rcu_nocbs=2,3",
      status: "advice",
      reason: "hot CPUs 2,3 are not fully isolated (isolcpus: none; nohz_full: none; rcu_nocbs: none): the scheduler, timer ticks and RCU callbacks still run there",
      hint: 'add "isolcpus=2,3 nohz_full=2,3 rcu_nocbs=2,3" to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot)',
    });
  });

  test("hot CPUs isolated, tickless and without RCU callbacks: unchanged", () => {
    using host = fakeHost({ cmdline: "ro quiet isolcpus=domain,managed_irq,2-3 nohz_full=2-3 rcu_nocbs=2,3", isolated: "2-3" });
    expect(adviseHost(host.roots, HOT).find((a) => a.id === "host.cpu_isolation")).toMatchObject({ status: "unchanged", reason: "hot CPUs 2,3 are in isolcpus, nohz_full and rcu_nocbs" });
  });

  test("isolcpus alone is not enough: the missing parameters are named", () => {
    using host = fakeHost({ cmdline: "ro isolcpus=2,3", isolated: "2-3" });
    const isolation = adviseHost(host.roots, HOT).find((a) => a.id === "host.cpu_isolation")!;
    expect(isolation.status).toBe("advice");
    expect(isolation.reason).toStartWith("hot CPUs 2,3 are not fully isolated (nohz_full: none; rcu_nocbs: none)");
  });

  test("the boot parameters stop at --, where init's begin", () => {
    expect(parseCmdline("ro isolcpus=2 quiet -- isolcpus=9 nohz_full=9")).toEqual(new Map([["ro", ""], ["isolcpus", "2"], ["quiet", ""]]));
  });

  test("irqbalance running: disable it, it would undo the IRQ affinity; not running: unchanged", () => {
    using withIrqbalance = fakeHost();
    expect(adviseHost(withIrqbalance.roots, HOT).find((a) => a.id === "host.irqbalance")).toMatchObject({
      status: "advice",
      target: "irqbalance (pid 812)",
      hint: "systemctl disable --now irqbalance",
    });
    using without = fakeHost({ irqbalance: false });
    expect(adviseHost(without.roots, HOT).find((a) => a.id === "host.irqbalance")!.status).toBe("unchanged");
  });

  test("physical NICs only get ethtool ring and coalescing advice", () => {
    using host = fakeHost();
    const nics = adviseHost(host.roots, HOT).filter((a) => a.id.startsWith("host.nic."));
    expect(nics.map((a) => [a.id, a.status, a.hint])).toEqual([
      ["host.nic.eth0.rings", "advice", "ethtool -G eth0 rx 4096 tx 4096"],
      ["host.nic.eth0.coalescing", "advice", "ethtool -C eth0 adaptive-rx off rx-usecs 0"],
    ]);
  });

  test("a hot CPU with an online SMT sibling is named with its sibling", () => {
    using host = fakeHost();
    const smt = adviseHost(host.roots, HOT).filter((a) => a.id.startsWith("host.smt."));
    expect(smt.map((a) => [a.id, a.reason?.split(":")[0]])).toEqual([
      ["host.smt.cpu2", "hot CPU 2 shares its core with CPU 0"],
      ["host.smt.cpu3", "hot CPU 3 shares its core with CPU 1"],
    ]);
    host.write("sys/devices/system/cpu/online", "2-3\n");
    expect(adviseHost(host.roots, HOT).filter((a) => a.id.startsWith("host.smt."))).toEqual([]);
  });

  test("no hot CPUs: isolation is not checked", () => {
    using host = fakeHost();
    expect(adviseHost(host.roots, { hotCpus: [] })[0]).toMatchObject({ id: "host.cpu_isolation", status: "skipped", reason: "no hot CPUs" });
  });
});
