import { describe, expect, test } from "bun:test";
import { Doorbell, Waiter, type WaitStrategy } from "../../daemon/shm/doorbell.ts";
import { RING_HEADER_BYTES, SLOT_F64, SLOT_I32, SpscRing } from "../../daemon/shm/ring.ts";
import type { FixtureRequest, FixtureResult } from "./ring-worker-fixture.ts";
import { mulberry32 } from "../support/prng.ts";


const CANARY = 0xa5;
const CANARY_TAIL_BYTES = 256;
/** Header bytes no one may write: the reserved gaps of the layout table. */
const RESERVED = [
  [4, 64],
  [68, 128],
  [152, RING_HEADER_BYTES],
] as const;

/** A ring in a buffer with CANARY_TAIL_BYTES of canary after the data region. */
function ringWithCanaries(slots: number): SpscRing {
  const bytes = SpscRing.bytesFor(slots);
  const sab = new SharedArrayBuffer(bytes + CANARY_TAIL_BYTES);
  new Uint8Array(sab, bytes).fill(CANARY);
  return new SpscRing(sab, slots);
}

function canariesIntact(ring: SpscRing): boolean {
  const bytes = SpscRing.bytesFor(ring.slots);
  const u8 = new Uint8Array(ring.sab);
  for (let i = bytes; i < u8.length; i++) if (u8[i] !== CANARY) return false;
  for (const [from, to] of RESERVED) for (let i = from; i < to; i++) if (u8[i] !== 0) return false;
  return true;
}

/** Yields to the event loop until `cond()` holds (no timers). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise<void>((resolve) => setImmediate(resolve));
}

type Fixture = { done: Promise<FixtureResult>; [Symbol.asyncDispose](): Promise<void> };

function startFixture(req: FixtureRequest): Fixture {
  const worker = new Worker(new URL("./ring-worker-fixture.ts", import.meta.url));
  const done = new Promise<FixtureResult>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<FixtureResult>) => resolve(e.data);
    worker.onerror = (e: ErrorEvent) => reject(e.error ?? new Error(e.message));
  });
  worker.postMessage(req);
  return { done, [Symbol.asyncDispose]: async () => worker.terminate() };
}

describe("SpscRing slot count", () => {
  test.each([0, 1, 3, 6, 100, 2 ** 24 + 1, 2 ** 25, -4, 2.5, Number.NaN])("slot count %p is rejected with a RangeError", (slots) => {
    expect(() => SpscRing.create(slots)).toThrow(RangeError);
    expect(() => SpscRing.bytesFor(slots)).toThrow(/power of two from 2 to 16777216/);
  });

  test("powers of two from 2 to 2^24 are accepted and sized header + 64 bytes a slot", () => {
    expect([2, 4, 1024, 2 ** 24].map((s) => SpscRing.bytesFor(s))).toEqual([384, 512, 65792, 256 + 2 ** 30]);
    expect(SpscRing.create(2).slots).toBe(2);
  });

  test("a buffer smaller than bytesFor(slots) is rejected with a RangeError", () => {
    expect(() => new SpscRing(new SharedArrayBuffer(SpscRing.bytesFor(8) - 1), 8)).toThrow(RangeError);
  });
});

describe("SpscRing in one thread", () => {
  test("claims stay invisible until publish, which makes the whole batch visible at once", () => {
    const ring = SpscRing.create(8);
    expect([ring.tryClaim(), ring.tryClaim(), ring.tryClaim()]).toEqual([0, 1, 2]);
    expect({ claimed: ring.claimedCount(), available: ring.available(), depth: ring.depth() }).toEqual({ claimed: 3, available: 0, depth: 0 });
    ring.publish();
    expect({ claimed: ring.claimedCount(), available: ring.available(), depth: ring.depth() }).toEqual({ claimed: 0, available: 3, depth: 3 });
  });

  test("random batches over 100 trips around the ring come out in order and unchanged", () => {
    const slots = 16;
    const ring = ringWithCanaries(slots);
    const rand = mulberry32(42);
    let written = 0;
    let read = 0;
    let bad = 0;
    while (read < slots * 100) {
      const batch = 1 + Math.floor(rand() * slots);
      for (let b = 0; b < batch; b++) {
        const s = ring.tryClaim();
        if (s < 0) break;
        ring.i32[s * SLOT_I32] = written;
        ring.f64[s * SLOT_F64 + 7] = written * 0.5;
        written++;
      }
      ring.publish();
      const take = Math.floor(rand() * (ring.available() + 1));
      for (let i = 0; i < take; i++) {
        const s = ring.slotAt(i);
        if (ring.i32[s * SLOT_I32] !== read || ring.f64[s * SLOT_F64 + 7] !== read * 0.5) bad++;
        read++;
      }
      ring.release(take);
    }
    expect({ bad, canaries: canariesIntact(ring), depth: ring.depth(), dropped: ring.dropped() }).toEqual({
      bad: 0,
      canaries: true,
      depth: written - read,
      dropped: 0,
    });
  });

  test("drop policy: a full ring refuses claims, counts drops and leaves published records intact", () => {
    const slots = 8;
    const ring = ringWithCanaries(slots);
    for (let i = 0; i < slots; i++) ring.i32[ring.tryClaim() * SLOT_I32] = 100 + i;
    ring.publish();
    const refused: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = ring.tryClaim();
      refused.push(s);
      if (s < 0) ring.countDrop();
    }
    ring.countDrop(2);
    const seen: number[] = [];
    const n = ring.available();
    for (let i = 0; i < n; i++) seen.push(ring.i32[ring.slotAt(i) * SLOT_I32]);
    expect({ refused, dropped: ring.dropped(), seen, canaries: canariesIntact(ring) }).toEqual({
      refused: [-1, -1, -1],
      dropped: 5,
      seen: [100, 101, 102, 103, 104, 105, 106, 107],
      canaries: true,
    });
    // Freeing two slots lets exactly two more claims through, into the freed slots.
    ring.release(2);
    expect([ring.tryClaim(), ring.tryClaim(), ring.tryClaim()]).toEqual([0, 1, -1]);
  });

  test("unpublished claims fill the ring too: tryClaim returns -1 after `slots` claims", () => {
    const ring = SpscRing.create(4);
    expect([0, 1, 2, 3, 4].map(() => ring.tryClaim())).toEqual([0, 1, 2, 3, -1]);
    expect(ring.claimedCount()).toBe(4);
  });

  test("release of more records than available() reported throws a RangeError", () => {
    const ring = SpscRing.create(4);
    ring.tryClaim();
    ring.publish();
    expect(ring.available()).toBe(1);
    expect(() => ring.release(2)).toThrow(RangeError);
  });

  test("uint32 counters starting 37 below 2^32 keep order, depth and fullness correct across the wrap", () => {
    const slots = 8;
    const start = 2 ** 32 - 37;
    const sab = new SharedArrayBuffer(SpscRing.bytesFor(slots));
    SpscRing.setCountersForTest(sab, start);
    const ring = new SpscRing(sab, slots);
    const header = new Int32Array(sab, 0, 32);
    let written = 0;
    let read = 0;
    const problems: string[] = [];
    while (written < 200) {
      // Fill to full, check that fullness is detected at exactly `slots` whatever the wrap.
      let claimed = 0;
      while (ring.tryClaim() >= 0) claimed++;
      if (claimed !== slots - ring.depth()) problems.push(`claimed ${claimed} at depth ${ring.depth()}`);
      // The claims above were not written; publish them with sequence numbers.
      for (let i = 0; i < claimed; i++) {
        const s = (start + written + i) & (slots - 1);
        ring.i32[s * SLOT_I32] = written + i;
      }
      written += claimed;
      ring.publish();
      if (ring.available() !== written - read) problems.push(`available ${ring.available()} != ${written - read}`);
      const take = 1 + (written % 5);
      for (let i = 0; i < take; i++) {
        const s = ring.slotAt(i);
        if (s !== ((start + read) & (slots - 1))) problems.push(`slotAt(${i}) = ${s}`);
        if (ring.i32[s * SLOT_I32] !== read) problems.push(`record ${read} read as ${ring.i32[s * SLOT_I32]}`);
        read++;
      }
      ring.release(take);
    }
    expect({ problems, head: header[0] >>> 0, tail: header[16] >>> 0 }).toEqual({
      problems: [],
      head: (start + written) % 2 ** 32,
      tail: (start + read) % 2 ** 32,
    });
    expect(header[0]).toBeGreaterThan(0); // the head counter did wrap past 2^32
  });
});

describe("SpscRing with its consumer on the same thread (layout single)", () => {
  test("a full ring's claimWait publishes what is claimed, runs the consumer once, and claims the freed slot", () => {
    const producer = SpscRing.create(4);
    const consumer = new SpscRing(producer.sab, 4);
    const seen: number[] = [];
    let drains = 0;
    producer.consumerOnThisThread(() => {
      drains++;
      const n = consumer.available();
      for (let k = 0; k < n; k++) seen.push(consumer.i32[consumer.slotAt(k) * SLOT_I32]!);
      consumer.release(n);
    });
    for (let v = 1; v <= 6; v++) {
      const slot = producer.claimWait();
      expect(slot).toBeGreaterThanOrEqual(0);
      producer.i32[slot * SLOT_I32] = v;
    }
    producer.publish();
    expect({ seen, drains, waits: producer.producerWaits(), available: consumer.available() }).toEqual({ seen: [1, 2, 3, 4], drains: 1, waits: 1, available: 2 });
  });

  test("with no drain (the order ring), or one that frees nothing, a full ring gives -1 at once instead of waiting for itself", () => {
    const none = SpscRing.create(2);
    none.consumerOnThisThread(null);
    expect([none.claimWait(), none.claimWait(), none.claimWait()]).toEqual([0, 1, -1]);
    const stuck = SpscRing.create(2);
    let calls = 0;
    stuck.consumerOnThisThread(() => void calls++);
    expect([stuck.claimWait(), stuck.claimWait(), stuck.claimWait(), calls]).toEqual([0, 1, -1, 1]);
  });
});

describe("SpscRing across worker threads", () => {
  test.each(["spin", "hybrid", "block"] as WaitStrategy[])(
    "%s consumer: every record arrives once, in order, with the producer's checksum, over 200 trips around the ring",
    async (strategy) => {
      const slots = 64;
      const ring = ringWithCanaries(slots);
      const doorbell = Doorbell.create();
      const base = { ringSab: ring.sab, slots, doorbellSab: doorbell.sab, strategy, total: slots * 200 };
      await using consumer = startFixture({ ...base, role: "consumer", seed: 7 });
      await using producer = startFixture({ ...base, role: "producer", seed: 1234 });
      const [p, c] = await Promise.all([producer.done, consumer.done]);
      expect({ count: c.count, checksum: c.checksum, sequenceErrors: c.sequenceErrors }).toEqual({
        count: p.count,
        checksum: p.checksum,
        sequenceErrors: 0,
      });
      expect(p.count).toBe(slots * 200);
      expect({ depth: ring.depth(), dropped: ring.dropped(), canaries: canariesIntact(ring) }).toEqual({ depth: 0, dropped: 0, canaries: true });
    },
  );

  test("wait policy: claimWait blocks on a full ring until the consumer frees a slot, loses nothing, counts the wait", async () => {
    const slots = 4;
    const total = 12;
    const ring = ringWithCanaries(slots);
    const doorbell = Doorbell.create();
    await using producer = startFixture({ role: "producer", ringSab: ring.sab, slots, doorbellSab: doorbell.sab, strategy: "block", total, seed: 99 });
    // The producer fills the ring, publishes and waits for the 5th slot.
    await until(() => ring.depth() === slots && ring.producerWaits() >= 1);
    expect(ring.depth()).toBe(slots); // it did not overwrite or advance while waiting
    const seqs: number[] = [];
    while (seqs.length < total) {
      // Hand back one record at a time; each release lets the waiting producer go on.
      await until(() => ring.available() > 0);
      seqs.push(ring.i32[ring.slotAt(0) * SLOT_I32]);
      ring.release(1);
    }
    const p = await producer.done;
    expect({ seqs, count: p.count, dropped: ring.dropped(), canaries: canariesIntact(ring) }).toEqual({
      seqs: Array.from({ length: total }, (_, i) => i),
      count: total,
      dropped: 0,
      canaries: true,
    });
    expect(ring.producerWaits()).toBeGreaterThanOrEqual(1);
    expect(ring.producerWaitNanos()).toBeGreaterThan(0);
  });

  test("close() makes a producer waiting in claimWait give up instead of hanging", async () => {
    const slots = 2;
    const ring = SpscRing.create(slots);
    const doorbell = Doorbell.create();
    const producer = new Worker(new URL("./ring-worker-fixture.ts", import.meta.url));
    try {
      const failed = new Promise<string>((resolve) => {
        producer.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          resolve(String(e.message));
        };
      });
      producer.postMessage({ role: "producer", ringSab: ring.sab, slots, doorbellSab: doorbell.sab, strategy: "block", total: 10, seed: 5 } satisfies FixtureRequest);
      await until(() => ring.depth() === slots && ring.producerWaits() >= 1);
      ring.close();
      expect(await failed).toContain("claimWait gave up");
      expect(ring.depth()).toBe(slots);
    } finally {
      producer.terminate();
    }
  });
});

describe("Doorbell and Waiter", () => {
  test("ring() bumps the sequence only while the consumer has announced a sleep", () => {
    const d = Doorbell.create();
    const s0 = d.prepareSleep();
    d.cancelSleep();
    d.ring(); // consumer awake: no bump
    const s1 = d.prepareSleep();
    d.ring(); // consumer about to sleep: bump
    const s2 = d.prepareSleep();
    d.cancelSleep();
    expect([s1 - s0, s2 - s1, d.isSleeping()]).toEqual([0, 1, false]);
  });

  test("a sleep prepared before a ring() returns at once: the wake-up is not lost", () => {
    const d = Doorbell.create();
    const seq = d.prepareSleep();
    d.ring(); // lands between prepareSleep and sleep
    const t0 = performance.now();
    d.sleep(seq, 10_000);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(d.isSleeping()).toBe(false);
  });

  test("a block-mode consumer asleep in another thread is woken by a publish", async () => {
    const slots = 8;
    const ring = SpscRing.create(slots);
    const doorbell = Doorbell.create();
    await using sleeper = startFixture({ role: "sleeper", ringSab: ring.sab, slots, doorbellSab: doorbell.sab, strategy: "block", total: 1, seed: 0 });
    await until(() => doorbell.isSleeping());
    ring.attachDoorbell(doorbell);
    ring.i32[ring.tryClaim() * SLOT_I32] = 77;
    ring.publish();
    const r = await sleeper.done;
    expect({ wokeWithWork: r.wokeWithWork, count: r.count }).toEqual({ wokeWithWork: true, count: 1 });
    expect(r.waitedMs).toBeLessThan(20_000); // woken, not timed out
  });

  test.each(["spin", "hybrid", "block"] as WaitStrategy[])("%s Waiter returns after its timeout when nothing is published", (strategy) => {
    const waiter = new Waiter(Doorbell.create(), strategy, 100);
    let checks = 0;
    const hasWork = () => {
      checks++;
      return false;
    };
    const t0 = performance.now();
    waiter.waitFor(hasWork, 30);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(29);
    expect(took).toBeLessThan(5_000);
    expect(checks).toBeGreaterThan(0);
    expect(waiter.doorbell.isSleeping()).toBe(false);
  });
});

describe("abandonClaims", () => {
  test("claims taken back are never seen by the consumer, and the slots are claimed again", () => {
    const ring = SpscRing.create(8);
    ring.f64[ring.tryClaim() * 8] = 1;
    ring.publish();
    const a = ring.tryClaim();
    ring.f64[a * 8] = 99;
    ring.tryClaim();
    ring.abandonClaims();
    expect([ring.claimedCount(), ring.available()]).toEqual([0, 1]);
    const again = ring.tryClaim();
    expect(again).toBe(a);
    ring.f64[again * 8] = 2;
    ring.publish();
    expect([ring.available(), ring.f64[ring.slotAt(0) * 8], ring.f64[ring.slotAt(1) * 8]]).toEqual([2, 1, 2]);
  });
});
