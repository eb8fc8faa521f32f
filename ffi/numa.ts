/**
 * libnuma through bun:ffi, optional: hosts without libnuma (or without NUMA) get `null` from
 * `loadNuma()` and the reason from `numaUnavailableReason()`, never an exception.
 *
 * | symbol | used for |
 * |---|---|
 * | `numa_available` | whether the kernel supports the NUMA API (< 0: it does not) |
 * | `numa_max_node` | highest node number |
 * | `numa_node_of_cpu` | which node a pinned worker's CPU is on |
 * | `numa_run_on_node` | run the calling thread on a node's CPUs (per thread, like affinity) |
 * | `numa_set_preferred` | allocate the calling thread's memory on a node first (per thread) |
 *
 * libnuma is opened by soname, which also works in a `bun build --compile` binary (the system's
 * library is loaded at run time; nothing is embedded). Note: when the soname is not found in the
 * system paths, Bun's dlopen retries it relative to the working directory (seen with strace), so
 * the daemon's working directory must not be writable by others.
 */
import { dlopen, FFIType } from "bun:ffi";
import { SyscallError, errno, errnoName } from "./libc.ts";

export const NUMA_SONAME = "libnuma.so.1";

const symbols = {
  numa_available: { args: [], returns: FFIType.i32 },
  numa_max_node: { args: [], returns: FFIType.i32 },
  numa_node_of_cpu: { args: [FFIType.i32], returns: FFIType.i32 },
  numa_run_on_node: { args: [FFIType.i32], returns: FFIType.i32 },
  numa_set_preferred: { args: [FFIType.i32], returns: FFIType.void },
} as const;

type Lib = ReturnType<typeof dlopen<typeof symbols>>;

/** The libnuma calls the daemon uses. Node -1 means "all nodes" / "local" as in libnuma. */
export interface Numa {
  /** Highest node number (0 on a single-node host). */
  maxNode(): number;
  /** The node CPU `cpu` belongs to. */
  nodeOfCpu(cpu: number): number;
  /** Restricts the calling thread to the CPUs of `node` (-1: all). */
  runOnNode(node: number): void;
  /** Makes `node` the calling thread's preferred node for new memory (-1: local allocation). */
  setPreferred(node: number): void;
  /** Closes the library; the object must not be used afterwards. */
  close(): void;
}

const HINTS: Record<string, string> = {
  EINVAL: "no such node or CPU on this host (see numactl --hardware)",
  EPERM: "the cgroup cpuset does not allow that node's CPUs",
};

let unavailableReason: string | null = null;

/** Why the last `loadNuma()` returned null, or null if it did not. */
export function numaUnavailableReason(): string | null {
  return unavailableReason;
}

/**
 * Opens libnuma. Returns null, with the reason in `numaUnavailableReason()`, when the library is
 * missing or the kernel has no NUMA support.
 *
 * @example
 * const numa = loadNuma();
 * if (numa) numa.runOnNode(numa.nodeOfCpu(cpu));
 */
export function loadNuma(soname: string = NUMA_SONAME): Numa | null {
  let lib: Lib;
  try {
    lib = dlopen(soname, symbols);
  } catch (e) {
    unavailableReason = `cannot load ${soname}: ${e instanceof Error ? e.message : String(e)}`;
    return null;
  }
  const s = lib.symbols;
  if (s.numa_available() < 0) {
    lib.close();
    unavailableReason = `${soname} loaded but numa_available() < 0: the kernel has no NUMA support`;
    return null;
  }
  unavailableReason = null;

  const check = (call: string, rc: number): number => {
    if (rc < 0) {
      const code = errno();
      throw new SyscallError(call, code, HINTS[errnoName(code)] ?? "");
    }
    return rc;
  };
  // libnuma prints a warning to stderr for a node it cannot find; refuse those before calling.
  const checkNode = (node: number): void => {
    const max = s.numa_max_node();
    if (!Number.isInteger(node) || node < -1 || node > max) {
      throw new RangeError(`no NUMA node ${node} on this host (nodes 0-${max}, or -1 for all)`);
    }
  };
  return {
    maxNode: () => s.numa_max_node(),
    nodeOfCpu: (cpu) => check("numa_node_of_cpu", s.numa_node_of_cpu(cpu)),
    runOnNode: (node) => {
      checkNode(node);
      check("numa_run_on_node", s.numa_run_on_node(node));
    },
    setPreferred: (node) => {
      checkNode(node);
      s.numa_set_preferred(node);
    },
    close: () => lib.close(),
  };
}
