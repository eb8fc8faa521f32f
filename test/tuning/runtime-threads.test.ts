import { describe, expect, test } from "bun:test";
import { cpus } from "node:os";
import { gettid, schedGetaffinity } from "../../ffi/libc.ts";
import { moveRuntimeThreads, restoreRuntimeThreads, runtimeThreadsPart } from "../../daemon/tuning/runtime-threads.ts";
import type { ThreadPlan } from "../../daemon/tuning/threads.ts";
import { TuningWorker } from "../ffi/thread-tuning-client.ts";

const isRoot = process.getuid?.() === 0;
const twoCpus = cpus().length >= 2;

describe.skipIf(!twoCpus)("the runtime's own threads to the housekeeping CPUs (real sched_setaffinity on this process's threads)", () => {
  test("every thread not named as ours moves (a worker standing in for one), ours stay, and restore puts each back", async () => {
    await using other = new TuningWorker();
    const { tid: otherTid } = await other.call<{ tid: number }>({ op: "tid" });
    const main = gettid();
    const mainBefore = schedGetaffinity(main);
    const otherBefore = schedGetaffinity(otherTid);
    expect(otherBefore.length).toBeGreaterThan(1); // allowed everywhere, as the runtime's threads are

    const r = moveRuntimeThreads(new Set([main]), [0]);
    try {
      expect(schedGetaffinity(otherTid)).toEqual([0]);
      expect(schedGetaffinity(main)).toEqual(mainBefore);
      expect(r.moved.map((t) => t.tid)).toContain(otherTid);
      expect(r.moved.map((t) => t.tid)).not.toContain(main);
      expect(r.action).toMatchObject({ id: "process.runtime_threads.affinity", status: "applied", desired: "CPU 0" });
      expect(r.action.reason).toContain(`${r.moved.length} moved`);
      // Again: nothing left to move.
      const again = moveRuntimeThreads(new Set([main]), [0]);
      expect(again.action.status).toBe("unchanged");
      expect(again.moved).toEqual([]);
    } finally {
      // A moved id whose thread is now another one (ids are reused) is left alone.
      const stranger = r.moved.find((t) => t.tid === otherTid)!;
      expect(restoreRuntimeThreads([{ ...stranger, name: "someone-else" }])).toBe(0);
      expect(schedGetaffinity(otherTid)).toEqual([0]);
      expect(restoreRuntimeThreads(r.moved)).toBeGreaterThan(0);
    }
    expect(schedGetaffinity(otherTid)).toEqual(otherBefore);
  });

  test("skipped, with why, when no worker has a CPU of its own", () => {
    const plan = { hotCpus: [], housekeepingCpus: [0] } as unknown as ThreadPlan;
    const r = runtimeThreadsPart(plan, [gettid()]);
    expect(r.action.status).toBe("skipped");
    expect(r.action.reason).toContain("no worker has a CPU of its own");
    expect(r.moved).toEqual([]);
  });

  test("an unreadable task list fails the action with the path; nothing moves", () => {
    const r = moveRuntimeThreads(new Set(), [0], "/nonexistent/task");
    expect(r.action.status).toBe("failed");
    expect(r.action.reason).toContain("/nonexistent/task");
  });
});

describe.skipIf(!isRoot)("SCHED_RESET_ON_FORK (root: a real-time policy)", () => {
  test("a thread started from a SCHED_FIFO thread set with resetOnFork begins under SCHED_OTHER; without it, it inherits FIFO", async () => {
    await using w = new TuningWorker();
    await w.call({ op: "scheduler", policy: "fifo", priority: 1, resetOnFork: true });
    const reset = await w.call<{ child: { policy: string }; self: { policy: string; priority: number } }>({ op: "childPolicy" });
    expect([reset.self.policy, reset.child.policy]).toEqual(["fifo", "other"]);
    await w.call({ op: "scheduler", policy: "fifo", priority: 1 });
    const inherit = await w.call<{ child: { policy: string } }>({ op: "childPolicy" });
    expect(inherit.child.policy).toBe("fifo");
    await w.call({ op: "scheduler", policy: "other", priority: 0 });
  });
});
