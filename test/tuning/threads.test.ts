import { describe, expect, test } from "bun:test";
import { planThreads, type ThreadTuningInput } from "../../daemon/tuning/threads.ts";

const auto = { main: "auto", feed: "auto", strategy: "auto", execution: "auto" } as const;
const autoSched = { policy: "auto", priority: 10 } as const;
function input(over: Partial<ThreadTuningInput> = {}): ThreadTuningInput {
  return {
    cpus: auto,
    sched: { main: autoSched, feed: autoSched, strategy: autoSched, execution: autoSched },
    layout: "split",
    waits: { strategy: "hybrid", execution: "hybrid" },
    allowedCpus: [0, 1, 2, 3, 4, 5, 6, 7],
    siblings: new Map(),
    rtRuntimeUs: 950000,
    hostTurnsThrottlingOff: false,
    ...over,
  };
}
const cpus = (p: ReturnType<typeof planThreads>) => Object.fromEntries(Object.entries(p.threads).map(([t, a]) => [t, a.cpu]));
const policies = (p: ReturnType<typeof planThreads>) => Object.fromEntries(Object.entries(p.threads).map(([t, a]) => [t, `${a.policy}${a.priority ? " " + a.priority : ""}`]));

describe("automatic placement", () => {
  test("with enough CPUs every hot worker gets its own, main and the OS keep the first", () => {
    const p = planThreads(input());
    expect(cpus(p)).toEqual({ main: 0, feed: 2, strategy: 1, execution: 3 });
    expect([p.hotCpus, p.housekeepingCpus, p.refusals]).toEqual([[1, 2, 3], [0], []]);
  });

  test("on two CPUs the strategy gets the second; feed and execution share the first with main", () => {
    const p = planThreads(input({ allowedCpus: [0, 1] }));
    expect(cpus(p)).toEqual({ main: 0, feed: 0, strategy: 1, execution: 0 });
    expect(policies(p)).toEqual({ main: "other", feed: "other", strategy: "fifo 10", execution: "other" });
  });

  test("layout single: the one trading thread takes the strategy's place; feed and execution have no action of their own", () => {
    const p = planThreads(input({ layout: "single", allowedCpus: [0, 1] }));
    expect(cpus(p)).toEqual({ main: 0, feed: 1, strategy: 1, execution: 1 });
    expect(policies(p)).toEqual({ main: "other", feed: "fifo 10", strategy: "fifo 10", execution: "fifo 10" });
    expect([p.hotCpus, p.refusals]).toEqual([[1], []]);
    expect(p.actions.filter((a) => a.target === "feed" || a.target === "execution").map((a) => [a.id, a.status])).toEqual([
      ["thread.feed", "skipped"],
      ["thread.execution", "skipped"],
    ]);
    // On 8 CPUs it still takes one: the other stages are on its thread.
    expect(planThreads(input({ layout: "single" })).hotCpus).toEqual([1]);
  });

  test("layout single: execution's wait does not exist there, so it cannot trip the spinner interlock", () => {
    const p = planThreads(input({ layout: "single", allowedCpus: [0, 1], waits: { strategy: "hybrid", execution: "spin" } }));
    expect(p.refusals).toEqual([]);
    const spinning = planThreads(input({ layout: "single", allowedCpus: [0], waits: { strategy: "spin", execution: "hybrid" } }));
    expect(spinning.threads.strategy.spins).toBe(true);
  });

  test("two hot threads never share a physical core: SMT siblings are skipped", () => {
    const siblings = new Map([
      [0, [0, 4]], [4, [0, 4]], [1, [1, 5]], [5, [1, 5]], [2, [2, 6]], [6, [2, 6]], [3, [3, 7]], [7, [3, 7]],
    ]);
    const p = planThreads(input({ siblings }));
    expect(cpus(p)).toEqual({ main: 0, feed: 2, strategy: 1, execution: 3 });
    expect(p.housekeepingCpus).toEqual([0, 4]);
  });

  test("one allowed CPU: nothing is pinned, and the report says why", () => {
    const p = planThreads(input({ allowedCpus: [3] }));
    expect(cpus(p)).toEqual({ main: null, feed: null, strategy: null, execution: null });
    expect(p.actions.filter((a) => a.id.endsWith(".affinity")).map((a) => a.reason)).toEqual(Array(4).fill("only one CPU is allowed"));
  });

  test("auto never makes a spinning thread SCHED_FIFO; none leaves a thread unpinned", () => {
    const p = planThreads(input({ waits: { strategy: "spin", execution: "block" }, cpus: { ...auto, feed: "none" } }));
    expect(cpus(p)).toEqual({ main: 0, feed: null, strategy: 1, execution: 2 });
    expect(policies(p)).toEqual({ main: "other", feed: "other", strategy: "other", execution: "fifo 10" });
  });
});

describe("safety interlocks", () => {
  test("two spinning threads on one CPU are refused, saying what to change", () => {
    const p = planThreads(input({ allowedCpus: [0, 1], waits: { strategy: "spin", execution: "spin" }, cpus: { ...auto, strategy: 1, execution: 1 } }));
    expect(p.refusals[0]).toBe(
      "two spinning threads on CPU 1 (strategy and execution): give each spinning thread its own CPU (tuning.cpus), or set threads.strategy.wait to hybrid",
    );
  });

  test("a spinner left to share the housekeeping CPU is refused", () => {
    const p = planThreads(input({ allowedCpus: [0, 1], waits: { strategy: "hybrid", execution: "spin" } }));
    expect(p.refusals).toEqual([
      "execution spins (threads.execution.wait: spin) on CPU 0, which it shares with main, feed: give it a CPU of its own (tuning.cpus.execution) or set threads.execution.wait to hybrid",
    ]);
  });

  test("a CPU outside the allowed set is refused", () => {
    const p = planThreads(input({ allowedCpus: [0, 1], cpus: { ...auto, feed: 7 } }));
    expect(p.refusals).toContain("tuning.cpus.feed: CPU 7 is outside the CPUs this process may use (0,1); pick one of those, or widen the cpuset");
  });

  test("a spinner under SCHED_FIFO with RT throttling on is refused, unless the plan turns throttling off", () => {
    const spinFifo = { waits: { strategy: "spin", execution: "block" }, sched: { main: autoSched, feed: autoSched, strategy: { policy: "fifo", priority: 50 }, execution: autoSched } } as const;
    const refused = planThreads(input(spinFifo));
    expect(refused.refusals).toEqual([
      "strategy spins under SCHED_FIFO while RT throttling is on (kernel.sched_rt_runtime_us = 950000): it would stall 50 ms every second. Set tuning.host.rt_throttling: off, or tuning.sched.strategy.policy: other, or threads.strategy.wait: hybrid",
    ]);
    expect(planThreads(input({ ...spinFifo, hostTurnsThrottlingOff: true })).refusals).toEqual([]);
    expect(planThreads(input({ ...spinFifo, rtRuntimeUs: -1 })).refusals).toEqual([]);
  });
});

describe("advice", () => {
  test("a real-time thread under RT throttling gets advice naming it, unless throttling is off", () => {
    const advice = (p: ReturnType<typeof planThreads>) => p.actions.filter((a) => a.status === "advice").map((a) => [a.id, a.reason]);
    expect(advice(planThreads(input({ allowedCpus: [0, 1] })))).toEqual([
      ["thread.rt_throttling", "strategy run real-time with RT throttling on: a real-time thread busy for a whole second is stopped for the rest of it (50 ms)"],
    ]);
    expect(advice(planThreads(input({ allowedCpus: [0, 1], rtRuntimeUs: -1 })))).toEqual([]);
    expect(advice(planThreads(input({ allowedCpus: [0, 1], hostTurnsThrottlingOff: true })))).toEqual([]);
  });
});
