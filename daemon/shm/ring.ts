/**
 * Lock-free single-producer / single-consumer ring of 64-byte records on a SharedArrayBuffer.
 *
 * ## Concurrency contract
 *
 * - Exactly ONE producer thread and ONE consumer thread per ring; the roles are fixed for the
 *   ring's life. Each thread builds its own `SpscRing` over the same SharedArrayBuffer (the
 *   creator with {@link SpscRing.create}, the other with `new SpscRing(sab, slots)`); instances
 *   hold thread-local cursors and must never be shared between threads.
 * - Producer-side methods: `tryClaim`, `claimWait`, `publish`, `claimedCount`, `countDrop`,
 *   `attachDoorbell`. Consumer-side: `available`, `slotAt`, `release`. Observers (`depth`,
 *   `dropped`, `producerWaits`, `producerWaitNanos`, `isClosed`) and `close` may be called from
 *   any thread.
 * - One thread may play both roles (single-threaded tests do), but then through ONE instance.
 *
 * ## Byte layout (one SharedArrayBuffer per ring)
 *
 * | byte | type    | name              | written by | read by            | meaning                                        |
 * |------|---------|-------------------|------------|--------------------|------------------------------------------------|
 * | 0    | Int32   | head              | producer   | consumer, any      | free-running write counter (uint32 mod 2^32)   |
 * | 64   | Int32   | tail              | consumer   | producer, any      | free-running read counter (uint32 mod 2^32)    |
 * | 128  | Int32   | dropped           | producer   | any                | records dropped by the `drop` policy           |
 * | 132  | Int32   | producerWaits     | producer   | any                | times the producer found the ring full & waited|
 * | 136  | Int32   | producerSleeping  | producer   | consumer           | 1 while the producer is in Atomics.wait on tail|
 * | 140  | Int32   | closed            | any        | producer           | 1 after close(): claimWait gives up (-1)       |
 * | 144  | Float64 | producerWaitNanos | producer   | any (may be stale) | cumulative ns spent in claimWait waiting       |
 * | 152  | -       | reserved          | nobody     | -                  | zero (tests use it as a canary)                |
 * | 256  | slots × 64 bytes | data     | producer (claimed slots), consumer reads published slots  |
 *
 * head and tail sit on separate 64-byte cache lines so the two threads do not write the same
 * line; the counters line (128..191) is written by the producer only on the slow paths. Slots
 * are whole cache lines only if the buffer is 64-byte aligned: measured on Bun 1.4.5, small
 * SharedArrayBuffers start on a 128-byte boundary and those of 64 KiB and more on a page.
 *
 * Counters: `used = (head - tail) >>> 0`, `slot = counter & (slots - 1)`. Both counters are kept
 * in int32 form (`| 0`) in JS so the arithmetic stays in small integers; the difference taken
 * `>>> 0` is correct across the 2^32 wrap because `slots <= 2^24`.
 *
 * ## Publish order
 *
 * Producer: write the record's fields with plain stores → `Atomics.store(head)` (seq-cst, a full
 * fence: every field store before it is visible to a consumer that loads the new head) → load
 * the consumer doorbell's sleeping flag and ring it if set.
 * Consumer: `Atomics.load(head)` → plain reads of the published slots → `Atomics.store(tail)`
 * (hands the slots back: the producer may overwrite them only after it loads this tail) → load
 * `producerSleeping` and `Atomics.notify(tail)` if set.
 *
 * Cached cursors (the classic optimisation): the producer reads `tail` only when its cached
 * copy says the ring is full; the consumer reads `head` once per `available()` call and then
 * walks the whole batch from its private cursor.
 *
 * ## Allocation
 *
 * Only `create` (the SharedArrayBuffer) and the constructor (typed-array views) allocate.
 * `tryClaim`, `publish`, `claimWait`, `available`, `slotAt`, `release` and the observers allocate
 * nothing.
 *
 * @example
 * // producer thread                          // consumer thread
 * const s = ring.tryClaim();                  const n = ring.available();
 * if (s < 0) ring.countDrop(); else {         for (let i = 0; i < n; i++) {
 *   ring.f64[s * SLOT_F64 + 1] = price;         const s = ring.slotAt(i);
 *   ring.i32[s * SLOT_I32] = kind;              use(ring.i32[s * SLOT_I32], ring.f64[s * SLOT_F64 + 1]);
 * }                                           }
 * ring.publish(); // once per batch           ring.release(n);
 */
import { prefaultBuffer } from "./prefault.ts";
import type { Doorbell } from "./doorbell.ts";

/** Bytes per record slot: one cache line. */
export const SLOT_BYTES = 64;
/** Float64 words per slot (slot s starts at `f64[s * SLOT_F64]`). */
export const SLOT_F64 = 8;
/** Int32 words per slot (slot s starts at `i32[s * SLOT_I32]`). */
export const SLOT_I32 = 16;

/** What a producer does when the ring is full: count and drop the record, or wait for a slot. */
export type FullPolicy = "drop" | "wait";

/** Header size in bytes; the data region starts here. */
export const RING_HEADER_BYTES = 256;
export const MIN_SLOTS = 2;
export const MAX_SLOTS = 1 << 24;

// Int32 indices into the header.
const HEAD = 0; // byte 0
const TAIL = 16; // byte 64
const DROPPED = 32; // byte 128
const WAITS = 33; // byte 132
const PRODUCER_SLEEPING = 34; // byte 136
const CLOSED = 35; // byte 140
// Float64 index into the header.
const WAIT_NANOS = 18; // byte 144

/** claimWait: turns of `Atomics.pause` polling before the producer sleeps on `tail`. */
const WAIT_SPIN_TURNS = 256;
/** claimWait: longest single Atomics.wait, so `close()`/`shouldAbort` are seen promptly. */
const WAIT_SLICE_MS = 5;

function checkSlots(slots: number): void {
  if (!Number.isInteger(slots) || slots < MIN_SLOTS || slots > MAX_SLOTS || (slots & (slots - 1)) !== 0) {
    throw new RangeError(`ring slot count must be a power of two from ${MIN_SLOTS} to ${MAX_SLOTS}, got ${slots}`);
  }
}

export class SpscRing {
  readonly sab: SharedArrayBuffer;
  readonly slots: number;
  /** Float64 view over the data region only. */
  readonly f64: Float64Array;
  /** Int32 view over the data region only. */
  readonly i32: Int32Array;

  readonly #ctl: Int32Array;
  readonly #ctlF64: Float64Array;
  readonly #mask: number;
  #doorbell: Doorbell | null = null;
  #sameThread = false;
  #drain: (() => void) | null = null;

  // Producer-local cursors.
  #head: number; // last published head
  #claim: number; // next counter to claim
  #tailCache: number;
  // Consumer-local cursors.
  #tail: number;
  #headCache: number;

  /** Bytes of SharedArrayBuffer a ring of `slots` slots needs. */
  static bytesFor(slots: number): number {
    checkSlots(slots);
    return RING_HEADER_BYTES + slots * SLOT_BYTES;
  }

  /** Allocates a new zeroed SharedArrayBuffer and attaches to it. */
  static create(slots: number): SpscRing {
    const sab = new SharedArrayBuffer(SpscRing.bytesFor(slots));
    prefaultBuffer(sab); // every slot's page now, not when the counters first reach it
    return new SpscRing(sab, slots);
  }

  /**
   * TEST ONLY: sets head and tail to `counter` (an empty ring), e.g. near 2^32 to exercise the
   * wrap. Call before any instance attaches; instances read the counters when constructed.
   */
  static setCountersForTest(sab: SharedArrayBuffer, counter: number): void {
    const ctl = new Int32Array(sab, 0, RING_HEADER_BYTES >> 2);
    Atomics.store(ctl, HEAD, counter | 0);
    Atomics.store(ctl, TAIL, counter | 0);
  }

  /** Attaches to an existing ring (any thread). `sab` may be larger than `bytesFor(slots)`. */
  constructor(sab: SharedArrayBuffer, slots: number) {
    const bytes = SpscRing.bytesFor(slots);
    if (sab.byteLength < bytes) {
      throw new RangeError(`ring of ${slots} slots needs ${bytes} bytes, buffer has ${sab.byteLength}`);
    }
    this.sab = sab;
    this.slots = slots;
    this.#mask = slots - 1;
    this.#ctl = new Int32Array(sab, 0, RING_HEADER_BYTES >> 2);
    this.#ctlF64 = new Float64Array(sab, 0, RING_HEADER_BYTES >> 3);
    this.f64 = new Float64Array(sab, RING_HEADER_BYTES, slots * SLOT_F64);
    this.i32 = new Int32Array(sab, RING_HEADER_BYTES, slots * SLOT_I32);
    this.#head = this.#claim = this.#headCache = Atomics.load(this.#ctl, HEAD);
    this.#tail = this.#tailCache = Atomics.load(this.#ctl, TAIL);
  }

  // ---- producer side ------------------------------------------------------------------------

  /**
   * Claims the next slot and returns its index, or -1 when the ring is full (claimed records
   * count as used). Consecutive claims return consecutive slots; nothing is visible to the
   * consumer until {@link publish}.
   */
  tryClaim(): number {
    const claim = this.#claim;
    if (((claim - this.#tailCache) >>> 0) >= this.slots) {
      // Looks full through the cached tail: only now touch the consumer's cache line.
      this.#tailCache = Atomics.load(this.#ctl, TAIL);
      if (((claim - this.#tailCache) >>> 0) >= this.slots) return -1;
    }
    this.#claim = (claim + 1) | 0;
    return claim & this.#mask;
  }

  /** Makes every claimed record visible at once, then rings the consumer's doorbell if it sleeps. */
  publish(): void {
    const claim = this.#claim;
    if (claim === this.#head) return;
    this.#head = claim;
    // PUBLISH: seq-cst store of head; all slot writes above become visible with it.
    Atomics.store(this.#ctl, HEAD, claim);
    const d = this.#doorbell;
    if (d !== null) d.ring();
  }

  /**
   * Takes back every claim not yet published (a frame found malformed half-way: none of it may
   * reach the consumer). Records `claimWait` already published are not taken back.
   */
  abandonClaims(): void {
    this.#claim = this.#head;
  }

  /** Records claimed but not yet published. */
  claimedCount(): number {
    return (this.#claim - this.#head) >>> 0;
  }

  /** `drop` policy: count `n` records the producer threw away because the ring was full. */
  countDrop(n = 1): void {
    // Metric store (producer is the only writer); not a publish of ring data.
    Atomics.store(this.#ctl, DROPPED, (this.#ctl[DROPPED] + n) | 0);
  }

  /**
   * `wait` policy: claims the next slot, waiting for the consumer to free one if the ring is
   * full. Returns the slot index, or -1 if the ring was {@link close}d or `shouldAbort()` returned
   * true while waiting (shutdown: the caller stops producing).
   *
   * Records already claimed are PUBLISHED before waiting: a ring full of unpublished claims
   * could otherwise never drain. Waiting spins `WAIT_SPIN_TURNS` turns with `Atomics.pause`,
   * then sleeps on `tail` with `Atomics.wait` in slices of `WAIT_SLICE_MS` (re-checking close and
   * `shouldAbort` between slices). Sleeping is announced in `producerSleeping` so that
   * `release()` calls `Atomics.notify` only when needed; the Dekker argument of doorbell.ts
   * applies (producer: store flag, load tail; consumer: store tail, load flag). Each wait adds 1
   * to `producerWaits` and its duration to `producerWaitNanos`. Allocates nothing (pass a
   * prebound `shouldAbort`).
   */
  claimWait(shouldAbort?: () => boolean): number {
    const s = this.tryClaim();
    if (s >= 0) return s;
    return this.#waitForSlot(shouldAbort);
  }

  #waitForSlot(shouldAbort: (() => boolean) | undefined): number {
    const ctl = this.#ctl;
    if (this.#claim !== this.#head) this.publish();
    const started = Bun.nanoseconds();
    // Metric store (producer is the only writer).
    Atomics.store(ctl, WAITS, (ctl[WAITS] + 1) | 0);
    if (this.#sameThread) {
      // Waiting would wait for this very thread: run the consumer instead, once.
      this.#drain?.();
      this.#ctlF64[WAIT_NANOS] += Bun.nanoseconds() - started;
      return this.tryClaim();
    }
    let slot = -1;
    for (let turn = 0; ; turn++) {
      if (turn < WAIT_SPIN_TURNS) {
        Atomics.pause(turn);
      } else {
        if (Atomics.load(ctl, CLOSED) !== 0 || (shouldAbort !== undefined && shouldAbort())) break;
        const seen = Atomics.load(ctl, TAIL);
        Atomics.store(ctl, PRODUCER_SLEEPING, 1);
        // Re-check after announcing the sleep (Dekker): if the consumer released before our flag
        // store, this load sees it; otherwise the consumer sees the flag and notifies.
        if (Atomics.load(ctl, TAIL) === seen && ((this.#claim - seen) >>> 0) >= this.slots) {
          Atomics.wait(ctl, TAIL, seen, WAIT_SLICE_MS);
        }
        Atomics.store(ctl, PRODUCER_SLEEPING, 0);
      }
      slot = this.tryClaim();
      if (slot >= 0) break;
    }
    // Plain Float64 store: a metric, read by observers as a possibly stale value.
    this.#ctlF64[WAIT_NANOS] += Bun.nanoseconds() - started;
    return slot;
  }

  /**
   * Producer side, when the consumer runs on this same thread (thread layout `single`): a full
   * ring cannot be waited on (the wait would wait for itself), so `claimWait` publishes what is
   * claimed, calls `drain` (which runs the consumer), and tries once more, returning -1 if that
   * freed nothing. `drain` null: -1 at once (the caller refuses what it wanted to write).
   */
  consumerOnThisThread(drain: (() => void) | null): void {
    this.#sameThread = true;
    this.#drain = drain;
  }

  /** Producer side: the doorbell of the CONSUMER thread, rung by publish() when it sleeps. */
  attachDoorbell(d: Doorbell | null): void {
    this.#doorbell = d;
  }

  // ---- consumer side ------------------------------------------------------------------------

  /** Published, unread records. One Atomics.load of head. */
  available(): number {
    this.#headCache = Atomics.load(this.#ctl, HEAD);
    return (this.#headCache - this.#tail) >>> 0;
  }

  /** Slot index of the i-th unread record (0-based from tail); valid for i < available(). */
  slotAt(i: number): number {
    return (this.#tail + i) & this.#mask;
  }

  /** Frees the `n` oldest unread records, handing their slots back to the producer. */
  release(n: number): void {
    if (n === 0) return;
    if ((n >>> 0) > ((this.#headCache - this.#tail) >>> 0)) {
      throw new RangeError(`release(${n}) exceeds the ${(this.#headCache - this.#tail) >>> 0} records read by available()`);
    }
    const ctl = this.#ctl;
    this.#tail = (this.#tail + n) | 0;
    // PUBLISH (to the producer): seq-cst store of tail; the released slots may now be overwritten.
    Atomics.store(ctl, TAIL, this.#tail);
    if (Atomics.load(ctl, PRODUCER_SLEEPING) !== 0) Atomics.notify(ctl, TAIL);
  }

  // ---- any thread ---------------------------------------------------------------------------

  /** Published records not yet released (producer's unpublished claims excluded). */
  depth(): number {
    // Tail first: head only grows, so a head read after it is never behind it (read the other
    // way round, a consumer releasing in between made the difference negative: 2^32 - 1).
    const tail = Atomics.load(this.#ctl, TAIL);
    return (Atomics.load(this.#ctl, HEAD) - tail) >>> 0;
  }

  dropped(): number {
    return Atomics.load(this.#ctl, DROPPED) >>> 0;
  }

  producerWaits(): number {
    return Atomics.load(this.#ctl, WAITS) >>> 0;
  }

  /** Cumulative nanoseconds the producer spent waiting in claimWait (may lag by one wait). */
  producerWaitNanos(): number {
    return this.#ctlF64[WAIT_NANOS];
  }

  /** Shutdown: makes a waiting or future claimWait return -1. Any thread. */
  close(): void {
    Atomics.store(this.#ctl, CLOSED, 1);
    Atomics.notify(this.#ctl, TAIL);
  }

  isClosed(): boolean {
    return Atomics.load(this.#ctl, CLOSED) !== 0;
  }
}
