import { describe, expect, test } from "bun:test";
import { nowNs } from "../../daemon/shm/clock.ts";

/**
 * The process clock must be one clock across threads: a reading taken in a worker AFTER it saw
 * a stamp that main took earlier must not be lower than that stamp (causality). Bun's own
 * per-thread clock fails exactly this, which is why the daemon does not use it across threads.
 */
async function crossThreadReadings() {
  const sab = new SharedArrayBuffer(16 + 32);
  const i32 = new Int32Array(sab, 0, 4);
  const f64 = new Float64Array(sab, 16, 4);
  const worker = new Worker(new URL("./clock-fixture.ts", import.meta.url));
  try {
    const online = new Promise<void>((r) => worker.addEventListener("open", () => r()));
    worker.postMessage(sab);
    await online;
    f64[0] = nowNs();
    f64[1] = Bun.nanoseconds();
    Atomics.store(i32, 0, 1);
    Atomics.notify(i32, 0);
    await Atomics.waitAsync(i32, 1, 0).value;
    return { mainProcess: f64[0]!, mainBun: f64[1]!, workerProcess: f64[2]!, workerBun: f64[3]! };
  } finally {
    worker.terminate();
  }
}

describe("process clock", () => {
  test("a worker's later reading is never below main's earlier stamp (one clock for all threads)", async () => {
    for (let round = 0; round < 5; round++) {
      const r = await crossThreadReadings();
      expect(r.workerProcess).toBeGreaterThanOrEqual(r.mainProcess);
    }
  });

  test("Bun.nanoseconds() is per thread: the same causality check fails for it", async () => {
    const r = await crossThreadReadings();
    // The worker's thread started after main's, so its own clock reads lower at a later moment.
    expect(r.workerBun).toBeLessThan(r.mainBun);
  });

  test("readings in one thread never go backwards and have nanosecond resolution", () => {
    let prev = nowNs();
    let distinct = 0;
    for (let i = 0; i < 10_000; i++) {
      const t = nowNs();
      expect(t).toBeGreaterThanOrEqual(prev);
      if (t !== prev) distinct++;
      prev = t;
    }
    expect(distinct).toBeGreaterThan(100);
    expect(Number.isInteger(prev)).toBe(true);
  });
});
