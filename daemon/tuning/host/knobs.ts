/**
 * The root-only host knobs and the values wanted, after tuned's `latency-performance` and
 * `network-latency` profiles (redhat-performance/tuned, `profiles/<name>/tuned.conf`):
 *
 * ```ini
 * # latency-performance
 * [cpu]
 * force_latency=1                 # later releases: cstate.id_no_zero:1|3 (latency of C1, else 3 µs)
 * governor=performance
 * [sysctl]
 * vm.swappiness=10
 *
 * # network-latency (include=latency-performance)
 * [vm]
 * transparent_hugepages=never
 * [sysctl]
 * net.core.busy_read=50
 * net.core.busy_poll=50
 * kernel.numa_balancing=0
 * ```
 *
 * Every knob takes `"keep"`: leave the host as it is (the action is reported `skipped`).
 */

export interface HostTuning {
  /**
   * Written to every online CPU's `cpufreq/scaling_governor` (latency-performance:
   * `governor=performance`). Skipped when cpufreq is absent (VMs) or the governor is not in
   * `scaling_available_governors`.
   */
  cpufreq_governor: string | "keep";
  /**
   * cpuidle states whose exit latency (`cpuN/cpuidle/stateM/latency`, µs) is above this are
   * disabled (`stateM/disable` = 1). latency-performance's `force_latency=1` asks the same of
   * PM QoS: no state slower than 1 µs to leave. Skipped when cpuidle is absent.
   */
  cpuidle_max_latency_us: number | "keep";
  /**
   * Held in `/dev/cpu_dma_latency` for the life of the process (PM QoS: the request lasts while
   * the fd is open; closing it reverts). 0 keeps every CPU out of idle states, like cyclictest's
   * latency trick; tuned's latency-performance asks 1 (`force_latency=1`). Not a planned file
   * write: see `holdCpuDmaLatency`.
   */
  cpu_dma_latency_us: number | "keep";
  /**
   * `/sys/kernel/mm/transparent_hugepage/enabled` (network-latency: `transparent_hugepages=never`):
   * khugepaged's collapses and the page-fault compaction stall the hot path.
   */
  transparent_hugepages: "never" | "madvise" | "always" | "keep";
  /** `/proc/sys/vm/swappiness` (latency-performance: `vm.swappiness=10`). */
  vm_swappiness: number | "keep";
  /** `/proc/sys/kernel/numa_balancing` (network-latency: `kernel.numa_balancing=0`): no page migration behind our back. */
  kernel_numa_balancing: 0 | 1 | "keep";
  /** `/proc/sys/net/core/busy_poll`, µs (network-latency: `net.core.busy_poll=50`). */
  net_busy_poll_us: number | "keep";
  /** `/proc/sys/net/core/busy_read`, µs (network-latency: `net.core.busy_read=50`). */
  net_busy_read_us: number | "keep";
  /**
   * `/proc/sys/net/core/rmem_max`: raised to this, never lowered (16 MiB is the ceiling tuned's
   * network-throughput gives `net.ipv4.tcp_rmem`).
   */
  net_rmem_max_bytes: number | "keep";
  /** `/proc/sys/net/core/wmem_max`: raised to this, never lowered. */
  net_wmem_max_bytes: number | "keep";
  /**
   * `"off"` writes -1 to `/proc/sys/kernel/sched_rt_runtime_us`. With the default 950000, a
   * SCHED_FIFO busy-spinner is stopped 50 ms every second (ARCHITECTURE.md §8). The tuner's
   * planner decides when it must be off; the default here is `"keep"`.
   */
  rt_throttling: "off" | "keep";
  /**
   * `"move_off_hot_cpus"` writes the housekeeping CPUs (allowed, not hot) to every
   * `/proc/irq/<n>/smp_affinity_list` that includes a hot CPU. Per-CPU and managed IRQs refuse
   * (EIO/EINVAL) and are reported skipped.
   */
  irq_affinity: "move_off_hot_cpus" | "keep";
}

export const DEFAULT_HOST_TUNING: Readonly<HostTuning> = Object.freeze({
  cpufreq_governor: "performance",
  cpuidle_max_latency_us: 1,
  cpu_dma_latency_us: 0,
  transparent_hugepages: "never",
  vm_swappiness: 10,
  kernel_numa_balancing: 0,
  net_busy_poll_us: 50,
  net_busy_read_us: 50,
  net_rmem_max_bytes: 16_777_216,
  net_wmem_max_bytes: 16_777_216,
  rt_throttling: "keep",
  irq_affinity: "move_off_hot_cpus",
} satisfies HostTuning);
