import { describe, expect, test } from "bun:test";
import { driveOnEventLoop, type EventLoopDriver } from "../../daemon/workers/single.ts";
import { Doorbell } from "../../daemon/shm/doorbell.ts";
import { nowNs } from "../../daemon/shm/clock.ts";

type Wait = "block" | "hybrid" | "spin";
const pollNsOf = (w: Wait) => (w === "spin" ? Infinity : w === "hybrid" ? 50_000 : 0);

describe("layout single's event-loop driver (driveOnEventLoop)", () => {
  for (const wait of ["block", "hybrid", "spin"] as const) {
    test(`${wait}: work the turn cannot take yet (it waits for the event loop) does not hang the thread: the loop runs, then the turn takes it`, async () => {
      // As alpaca with a request before its reconciliation: hasWork() true, turn() does nothing
      // until something on the event loop (here a timer) happens. `continue`-ing there never
      // let the loop run.
      let ready = false;
      let done = false;
      let turns = 0;
      setTimeout(() => (ready = true), 5);
      await driveOnEventLoop({
        turn: () => {
          // Without a turn of the loop in between, the timer can never fire: fail, not hang.
          if (++turns > 5_000_000) throw new Error(`${turns} turns and the event loop never ran`);
          return ready && !done ? (done = true) : false;
        },
        finished: () => done,
        failure: () => null,
        hasWork: () => true,
        doorbell: Doorbell.create(),
        waitMs: () => 60_000,
        lastWorkNs: () => 0,
        pollNs: pollNsOf(wait),
        warm: () => true,
        warmEveryNs: 0,
      });
      expect(done).toBe(true);
    });

    test(`${wait}: a ring from a socket callback wakes a sleeping driver, which then sees the work (not at the end of its 60 s sleep)`, async () => {
      const doorbell = Doorbell.create();
      let work = false;
      let done = false;
      let sleeps = 0;
      const d: EventLoopDriver = {
        turn: () => (work && !done ? (done = true) : false),
        finished: () => done,
        failure: () => null,
        hasWork: () => work && !done,
        doorbell,
        waitMs: () => {
          sleeps++;
          return 60_000;
        },
        lastWorkNs: () => 0,
        pollNs: wait === "spin" ? Infinity : 0, // hybrid's 50 µs poll would see the work anyway
        warm: () => true,
        warmEveryNs: 0,
      };
      const run = driveOnEventLoop(d);
      // A callback on this thread's loop (as a frame's): work, then the ring onPublished does.
      setTimeout(() => {
        work = true;
        doorbell.ring();
      }, 5);
      await run; // times the test out if the ring did not wake it
      expect(done).toBe(true);
      if (wait !== "spin") expect(sleeps).toBeGreaterThan(0); // it was asleep when rung
    });
  }

  for (const wait of ["block", "hybrid", "spin"] as const) {
    test(`${wait}: keep-warm runs only in idle time (also asleep: the sleep ends for it), never while turns work or work waits, and stops for good when warm() says so`, async () => {
      const doorbell = Doorbell.create();
      const t0 = nowNs();
      // 0-3 ms: every turn works. 3-6 ms: work waits that the turn cannot take yet (hasWork true,
      // turn false: the state the hang fix yields to the event loop in). Then idle.
      const busyUntil = t0 + 3_000_000;
      const waitingUntil = t0 + 6_000_000;
      let warms = 0;
      let warmsTooEarly = 0;
      let stop = false;
      const d: EventLoopDriver = {
        turn: () => nowNs() < busyUntil,
        finished: () => stop,
        failure: () => null,
        hasWork: () => nowNs() < waitingUntil,
        doorbell,
        waitMs: () => 60_000, // nothing due: only keep-warm ends a sleep
        lastWorkNs: () => 0,
        pollNs: pollNsOf(wait),
        warm: () => {
          if (nowNs() < waitingUntil) warmsTooEarly++;
          if (++warms < 5) return true;
          // The fifth says "nothing left to warm": no more calls; a ring 20 ms later ends the run.
          setTimeout(() => {
            stop = true;
            doorbell.ring();
          }, 20);
          return false;
        },
        warmEveryNs: 1_000_000,
      };
      await driveOnEventLoop(d); // times out if warm is never called while asleep
      expect(warmsTooEarly).toBe(0);
      expect(warms).toBe(5); // about 20 more had it gone on every 1 ms

      // Off (warmEveryNs 0): the idle driver sleeps its 60 s; a ring ends it, with no warm on the way.
      let offWarms = 0;
      let offStop = false;
      const off: EventLoopDriver = { ...d, turn: () => false, hasWork: () => false, finished: () => offStop, warm: () => offWarms++ >= 0, warmEveryNs: 0, pollNs: wait === "spin" ? Infinity : 0 };
      const run = driveOnEventLoop(off);
      setTimeout(() => {
        offStop = true;
        doorbell.ring();
      }, 20);
      await run;
      expect(offWarms).toBe(0);
    });
  }

  test("a stage's failure rejects the driver's promise with it", async () => {
    let failure: unknown = null;
    const doorbell = Doorbell.create();
    setTimeout(() => {
      failure = new Error("the polygon feed failed: test");
      doorbell.ring();
    }, 5);
    const d: EventLoopDriver = { turn: () => false, finished: () => false, failure: () => failure, hasWork: () => false, doorbell, waitMs: () => 60_000, lastWorkNs: () => 0, pollNs: 0, warm: () => true, warmEveryNs: 0 };
    await expect(driveOnEventLoop(d)).rejects.toThrow("the polygon feed failed: test");
  });
});
