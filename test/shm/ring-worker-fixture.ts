/**
 * Worker fixture for test/shm/ring.test.ts: plays the producer or the consumer of one ring.
 *
 * Producer: writes `total` records in random batches (1..slots, seeded mulberry32) with
 * claimWait + publish; record = i32[0] sequence number, i32[1] batch number, f64[1..7] random
 * payload. Posts the checksum of every record's 16 Int32 words.
 * Consumer: waits with a Waiter of the given strategy, checks sequence continuity, releases in
 * random chunks, posts the same checksum computed from what it read.
 * "sleeper": a consumer that waits once (block strategy) and reports what woke it.
 */
import { Doorbell, Waiter, type WaitStrategy } from "../../daemon/shm/doorbell.ts";
import { SLOT_F64, SLOT_I32, SpscRing } from "../../daemon/shm/ring.ts";
import { mulberry32 } from "../support/prng.ts";

declare const self: Worker;

export type FixtureRequest = {
  role: "producer" | "consumer" | "sleeper";
  ringSab: SharedArrayBuffer;
  slots: number;
  doorbellSab: SharedArrayBuffer;
  strategy: WaitStrategy;
  total: number;
  seed: number;
};

export type FixtureResult = {
  role: FixtureRequest["role"];
  count: number;
  checksum: number;
  sequenceErrors: number;
  producerWaits: number;
  wokeWithWork?: boolean;
  waitedMs?: number;
};


/** FNV-1a style mix of one slot's 16 Int32 words into `h`. */
function mixSlot(h: number, i32: Int32Array, slot: number): number {
  const base = slot * SLOT_I32;
  for (let k = 0; k < SLOT_I32; k++) h = Math.imul(h ^ i32[base + k], 16777619);
  return h;
}

function produce(req: FixtureRequest): FixtureResult {
  const ring = new SpscRing(req.ringSab, req.slots);
  ring.attachDoorbell(new Doorbell(req.doorbellSab));
  const rand = mulberry32(req.seed);
  let h = 0x811c9dc5 | 0;
  let seq = 0;
  let batchNo = 0;
  while (seq < req.total) {
    const batch = Math.min(req.total - seq, 1 + Math.floor(rand() * req.slots));
    for (let b = 0; b < batch; b++) {
      const s = ring.claimWait();
      if (s < 0) throw new Error("claimWait gave up");
      ring.i32[s * SLOT_I32] = seq++;
      ring.i32[s * SLOT_I32 + 1] = batchNo;
      for (let k = 1; k < SLOT_F64; k++) ring.f64[s * SLOT_F64 + k] = rand() * 1e6 - 5e5;
      h = mixSlot(h, ring.i32, s);
    }
    ring.publish();
    batchNo++;
  }
  return { role: "producer", count: seq, checksum: h, sequenceErrors: 0, producerWaits: ring.producerWaits() };
}

function consume(req: FixtureRequest): FixtureResult {
  const ring = new SpscRing(req.ringSab, req.slots);
  const waiter = new Waiter(new Doorbell(req.doorbellSab), req.strategy, 200);
  const hasWork = () => ring.available() !== 0;
  const rand = mulberry32(req.seed ^ 0x5bd1e995);
  let h = 0x811c9dc5 | 0;
  let expected = 0;
  let errors = 0;
  while (expected < req.total) {
    waiter.waitFor(hasWork, 1000);
    const n = ring.available();
    if (n === 0) continue;
    // Release a random prefix so the producer sees many different fill levels.
    const take = 1 + Math.floor(rand() * n);
    for (let i = 0; i < take; i++) {
      const s = ring.slotAt(i);
      if (ring.i32[s * SLOT_I32] !== expected) errors++;
      expected++;
      h = mixSlot(h, ring.i32, s);
    }
    ring.release(take);
  }
  return { role: "consumer", count: expected, checksum: h, sequenceErrors: errors, producerWaits: ring.producerWaits() };
}

function sleepOnce(req: FixtureRequest): FixtureResult {
  const ring = new SpscRing(req.ringSab, req.slots);
  const waiter = new Waiter(new Doorbell(req.doorbellSab), "block", 0);
  const hasWork = () => ring.available() !== 0;
  const t0 = performance.now();
  waiter.waitFor(hasWork, 20_000);
  const waitedMs = performance.now() - t0;
  const wokeWithWork = ring.available() !== 0;
  return { role: "sleeper", count: ring.available(), checksum: 0, sequenceErrors: 0, producerWaits: 0, wokeWithWork, waitedMs };
}

self.onmessage = (e: MessageEvent<FixtureRequest>) => {
  const req = e.data;
  const result = req.role === "producer" ? produce(req) : req.role === "consumer" ? consume(req) : sleepOnce(req);
  self.postMessage(result);
};
