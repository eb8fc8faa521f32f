/**
 * A temporary directory laid out like a small host's /sys, /proc and /dev, for the host tuner:
 * 4 CPUs (SMT pairs 0,2 and 1,3) with cpufreq (powersave) and cpuidle (POLL 0 µs, C1 2 µs,
 * C6 133 µs), THP `always [madvise] never`, the sysctls tuned's profiles touch at kernel
 * defaults, IRQs 1, 2 and 24, a physical eth0 and a virtual lo, and irqbalance running.
 * `using host = fakeHost()` removes it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { HostRoots } from "../../../daemon/tuning/host/index.ts";

export interface FakeHostOptions {
  /** `/proc/cmdline`. */
  cmdline?: string;
  /** `/sys/devices/system/cpu/isolated`. */
  isolated?: string;
  /** Leave out `cpu*` `cpufreq` (as in most VMs). */
  noCpufreq?: boolean;
  /** Leave out `cpu*` `cpuidle`. */
  noCpuidle?: boolean;
  /** Run irqbalance (a /proc/<pid>/comm that says so); default true. */
  irqbalance?: boolean;
}

export interface FakeHost extends Disposable {
  dir: string;
  roots: HostRoots;
  /** Absolute path of `rel` in the fake tree ("sys/kernel/mm/…"). */
  path(rel: string): string;
  read(rel: string): string;
  write(rel: string, text: string): void;
  /** Every file under sys, proc and dev with its content, for byte-for-byte comparisons. */
  snapshot(): Map<string, string>;
}

const CPUIDLE_STATES = [
  { name: "POLL", latency: 0 },
  { name: "C1", latency: 2 },
  { name: "C6", latency: 133 },
];
const SIBLINGS: Record<number, string> = { 0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3" };

export const DEFAULT_CMDLINE = "BOOT_IMAGE=/vmlinuz-6.8.0 root=/dev/nvme0n1p2 ro quiet splash";

export function fakeHost(opts: FakeHostOptions = {}): FakeHost {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-host-"));
  const path = (rel: string) => join(dir, rel);
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(path(rel)), { recursive: true });
    writeFileSync(path(rel), text);
  };

  const cpu = "sys/devices/system/cpu";
  write(`${cpu}/online`, "0-3\n");
  write(`${cpu}/possible`, "0-3\n");
  write(`${cpu}/isolated`, `${opts.isolated ?? ""}\n`);
  for (let n = 0; n < 4; n++) {
    write(`${cpu}/cpu${n}/topology/thread_siblings_list`, `${SIBLINGS[n]}\n`);
    if (!opts.noCpufreq) {
      write(`${cpu}/cpu${n}/cpufreq/scaling_governor`, "powersave\n");
      write(`${cpu}/cpu${n}/cpufreq/scaling_available_governors`, "performance powersave\n");
    }
    if (!opts.noCpuidle) {
      CPUIDLE_STATES.forEach((s, i) => {
        write(`${cpu}/cpu${n}/cpuidle/state${i}/name`, `${s.name}\n`);
        write(`${cpu}/cpu${n}/cpuidle/state${i}/latency`, `${s.latency}\n`);
        write(`${cpu}/cpu${n}/cpuidle/state${i}/disable`, "0\n");
      });
    }
  }
  write("sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
  mkdirSync(path("sys/class/net/eth0/device"), { recursive: true });
  write("sys/class/net/eth0/address", "52:54:00:12:34:56\n");
  write("sys/class/net/lo/address", "00:00:00:00:00:00\n");

  write("proc/cmdline", `${opts.cmdline ?? DEFAULT_CMDLINE}\n`);
  write("proc/sys/vm/swappiness", "60\n");
  write("proc/sys/kernel/numa_balancing", "1\n");
  write("proc/sys/kernel/sched_rt_runtime_us", "950000\n");
  write("proc/sys/net/core/busy_poll", "0\n");
  write("proc/sys/net/core/busy_read", "0\n");
  write("proc/sys/net/core/rmem_max", "212992\n");
  write("proc/sys/net/core/wmem_max", "33554432\n");
  write("proc/irq/1/smp_affinity_list", "0-3\n");
  write("proc/irq/2/smp_affinity_list", "0\n");
  write("proc/irq/24/smp_affinity_list", "2\n");
  write("proc/irq/default_smp_affinity", "f\n");
  write("proc/1/comm", "systemd\n");
  write("proc/812/comm", opts.irqbalance === false ? "sshd\n" : "irqbalance\n");

  write("dev/cpu_dma_latency", "");

  const roots: HostRoots = { sys: path("sys"), proc: path("proc"), dev: path("dev"), run: path("run/tradingd") };
  return {
    dir,
    roots,
    path,
    read: (rel) => readFileSync(path(rel), "utf8"),
    write,
    snapshot() {
      const files = new Map<string, string>();
      for (const rel of new Bun.Glob("{sys,proc,dev}/**").scanSync({ cwd: dir, onlyFiles: true, dot: true })) {
        files.set(rel, readFileSync(path(rel), "utf8"));
      }
      return files;
    },
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}
