import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { gettid, schedGetaffinity, SyscallError, errnoName } from "../../ffi/libc.ts";
import { loadNuma, numaUnavailableReason, NUMA_SONAME } from "../../ffi/numa.ts";
import { TuningWorker, taskStatus } from "./thread-tuning-client.ts";

describe("loadNuma without the library", () => {
  test("a missing soname gives null and a reason naming it, not an exception", () => {
    expect(loadNuma("libnuma-missing.so.9")).toBeNull();
    expect(numaUnavailableReason()).toStartWith("cannot load libnuma-missing.so.9: ");
  });
});

const probe = loadNuma();
probe?.close();
const numaInstalled = probe !== null;
describe.skipIf(!numaInstalled)(`with ${NUMA_SONAME} installed (apt install libnuma1)`, () => {
  test("a successful load clears the reason left by a failed one", () => {
    loadNuma("libnuma-missing.so.9");
    const numa = loadNuma()!;
    try {
      expect(numaUnavailableReason()).toBeNull();
    } finally {
      numa.close();
    }
  });

  test("CPU 0 is on node 0, and every CPU of this process is on a node in 0..maxNode", () => {
    const numa = loadNuma()!;
    try {
      const max = numa.maxNode();
      expect(max).toBeGreaterThanOrEqual(0);
      expect(numa.nodeOfCpu(0)).toBe(0);
      for (const cpu of schedGetaffinity(0)) {
        const node = numa.nodeOfCpu(cpu);
        expect(node).toBeGreaterThanOrEqual(0);
        expect(node).toBeLessThanOrEqual(max);
      }
    } finally {
      numa.close();
    }
  });

  test("the node of CPU 4000 is a SyscallError EINVAL naming numa_node_of_cpu", () => {
    const numa = loadNuma()!;
    try {
      let e: unknown;
      try {
        numa.nodeOfCpu(4000);
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(SyscallError);
      const { call, errno } = e as SyscallError;
      expect({ call, errno: errnoName(errno) }).toEqual({ call: "numa_node_of_cpu", errno: "EINVAL" });
    } finally {
      numa.close();
    }
  });

  test("a node above maxNode is refused before libnuma is called (libnuma would warn on stderr)", () => {
    const numa = loadNuma()!;
    try {
      expect(() => numa.runOnNode(numa.maxNode() + 1)).toThrow(RangeError);
      expect(() => numa.setPreferred(numa.maxNode() + 1)).toThrow(RangeError);
    } finally {
      numa.close();
    }
  });

  const node0 = "/sys/devices/system/node/node0/cpulist";
  test.skipIf(!existsSync(node0))("runOnNode(0) in a worker gives that thread node 0's CPUs; the test thread is unchanged", async () => {
    const mainTid = gettid();
    const mainBefore = taskStatus(mainTid, "Cpus_allowed_list");
    await using worker = new TuningWorker();
    const r = await worker.call<{ tid: number; affinity: number[] }>({ op: "numaRunOnNode", node: 0 });
    expect({ worker: taskStatus(r.tid, "Cpus_allowed_list"), main: taskStatus(mainTid, "Cpus_allowed_list") })
      .toEqual({ worker: readFileSync(node0, "utf8").trim(), main: mainBefore });
    expect(r.affinity).toEqual(schedGetaffinity(r.tid));
  });
});
