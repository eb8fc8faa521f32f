/**
 * Consumer-thread wake-up ("doorbell") and the consumer wait strategies (after the LMAX
 * Disruptor's): `spin`, `hybrid`, `block`.
 *
 * ## Roles
 *
 * One doorbell per CONSUMER THREAD. A consumer thread may read several rings (market data and
 * exec events, say); each of those rings' producer-side instances is given this doorbell with
 * `SpscRing.attachDoorbell`, so any of them wakes the one consumer. Producers (possibly several
 * threads) call {@link Doorbell.ring}; only the consumer thread calls `prepareSleep`, `sleep`,
 * `cancelSleep` and {@link Waiter.waitFor}.
 *
 * ## Byte layout (`Doorbell.bytes` = 128 bytes at `byteOffset`, a multiple of 4)
 *
 * | byte | type  | name     | written by                   | read by   |
 * |------|-------|----------|------------------------------|-----------|
 * | 0    | Int32 | sleeping | consumer (1 = about to sleep) | producers |
 * | 64   | Int32 | sequence | producers (Atomics.add)       | consumer (Atomics.wait) |
 *
 * The flag and the sequence are on separate cache lines: producers read the flag on every
 * publish, and that line stays shared-clean while the consumer is awake.
 *
 * ## Why no wake-up is lost (Dekker with seq-cst Atomics)
 *
 * Consumer: `store sleeping=1` → `load sequence` (= s) → re-check rings (`load head`) → if empty
 * `Atomics.wait(sequence, s)`.
 * Producer: `store head` (publish) → `load sleeping` → if 1: `Atomics.add(sequence, 1)` →
 * `Atomics.notify(sequence)`.
 * All four are sequentially consistent, so in their single total order either the consumer's
 * head load comes after the producer's head store (the re-check sees the record and the consumer
 * does not sleep), or the producer's flag load comes after the consumer's flag store (the
 * producer bumps the sequence: if that happened before the consumer's `Atomics.wait`, the wait
 * returns at once because the value is no longer s; if after, the notify wakes it). Both may
 * happen; neither cannot.
 *
 * ## Allocation
 *
 * Only `create` and the constructors allocate. `ring`, `prepareSleep`, `sleep`, `cancelSleep`
 * and `waitFor` allocate nothing; pass `waitFor` a prebound `hasWork` closure.
 */

/** How a consumer waits for records; chosen per consumer in config. */
export type WaitStrategy = "spin" | "hybrid" | "block";

const SLEEPING = 0; // byte 0
const SEQUENCE = 16; // byte 64
const WORDS = 32;

export class Doorbell {
  /** Bytes a doorbell occupies in its SharedArrayBuffer. */
  static readonly bytes = WORDS * 4;

  readonly sab: SharedArrayBuffer;
  readonly #w: Int32Array;

  /** Allocates a new SharedArrayBuffer holding one doorbell. */
  static create(): Doorbell {
    return new Doorbell(new SharedArrayBuffer(Doorbell.bytes));
  }

  /** Attaches to a doorbell in `sab` at `byteOffset` (any thread). */
  constructor(sab: SharedArrayBuffer, byteOffset = 0) {
    if (byteOffset % 4 !== 0 || byteOffset < 0 || byteOffset + Doorbell.bytes > sab.byteLength) {
      throw new RangeError(`doorbell needs ${Doorbell.bytes} bytes at a 4-aligned offset; got offset ${byteOffset} in ${sab.byteLength} bytes`);
    }
    this.sab = sab;
    this.#w = new Int32Array(sab, byteOffset, WORDS);
  }

  /** Producer side, after publishing: one Atomics.load unless the consumer is going to sleep. */
  ring(): void {
    const w = this.#w;
    if (Atomics.load(w, SLEEPING) !== 0) {
      Atomics.add(w, SEQUENCE, 1);
      Atomics.notify(w, SEQUENCE);
    }
  }

  /**
   * Consumer side: announces the sleep and returns the sequence to pass to {@link sleep}. The
   * caller MUST re-check its rings after this and call {@link cancelSleep} if it found work.
   */
  prepareSleep(): number {
    const w = this.#w;
    // Announce before the re-check (the consumer's half of the Dekker pair).
    Atomics.store(w, SLEEPING, 1);
    return Atomics.load(w, SEQUENCE);
  }

  /** Consumer side: sleeps until a producer rings after `prepareSleep` or `timeoutMs` passes. */
  sleep(seq: number, timeoutMs: number): void {
    const w = this.#w;
    Atomics.wait(w, SEQUENCE, seq, timeoutMs);
    Atomics.store(w, SLEEPING, 0);
  }

  /**
   * Consumer side, for a thread that must keep its event loop running (sockets, timers): like
   * `sleep`, but with `Atomics.waitAsync`, so the thread goes on serving its event loop.
   * Allocates a promise per call (only when the thread goes idle).
   */
  async sleepAsync(seq: number, timeoutMs: number): Promise<void> {
    const w = this.#w;
    const r = Atomics.waitAsync(w, SEQUENCE, seq, timeoutMs);
    if (r.async) await r.value;
    Atomics.store(w, SLEEPING, 0);
  }

  /** Consumer side: the re-check after `prepareSleep` found work; do not sleep. */
  cancelSleep(): void {
    Atomics.store(this.#w, SLEEPING, 0);
  }

  /** Whether the consumer has announced a sleep (metrics, tests). */
  isSleeping(): boolean {
    return Atomics.load(this.#w, SLEEPING) !== 0;
  }
}

/** Polls of `hasWork()` between clock reads while spinning (~70 ns a poll here: ~4.5 µs). */
const SPIN_CLOCK_EVERY = 64;

/**
 * A consumer-side waiter implementing the three strategies:
 * - `spin`: busy-polls `hasWork()` (with `Atomics.pause`) until true or the timeout; lowest
 *   latency, burns a core.
 * - `hybrid`: polls for `spinMicros` microseconds, then sleeps on the doorbell like `block`. A
 *   time budget, not a count of polls: 20,000 polls lasted ~1.4 ms here, far longer than the
 *   gap between ticks, so a count made `hybrid` behave like `spin` (BENCHMARKS.md).
 * - `block`: prepareSleep → re-check `hasWork()` → sleep, at once.
 *
 * @example
 * const hasWork = () => md.available() !== 0 || exec.available() !== 0; // bound once
 * const waiter = new Waiter(doorbell, "hybrid", 50); // spin 50 µs, then sleep
 * for (;;) { waiter.waitFor(hasWork, 100); drain(); }
 */
export class Waiter {
  readonly doorbell: Doorbell;
  readonly strategy: WaitStrategy;
  /** How long `hybrid` polls before it sleeps (Infinity for `spin`, 0 for `block`). */
  readonly spinMicros: number;

  constructor(doorbell: Doorbell, strategy: WaitStrategy, spinMicros: number) {
    this.doorbell = doorbell;
    this.strategy = strategy;
    this.spinMicros = strategy === "block" ? 0 : strategy === "spin" ? Infinity : Math.max(0, spinMicros);
  }

  /** Returns when `hasWork()` is true or `timeoutMs` has elapsed (then hasWork may be false). */
  waitFor(hasWork: () => boolean, timeoutMs: number): void {
    if (hasWork()) return;
    // performance.now() is per thread, which is all a duration on one thread needs.
    const start = performance.now();
    const deadline = start + timeoutMs;
    const spinUntil = Math.min(deadline, start + this.spinMicros / 1000);
    if (this.spinMicros > 0) {
      for (let i = 1; ; i++) {
        Atomics.pause();
        if (hasWork()) return;
        if ((i & (SPIN_CLOCK_EVERY - 1)) === 0 && performance.now() >= spinUntil) break;
      }
      if (performance.now() >= deadline) return;
    }
    const d = this.doorbell;
    for (;;) {
      const seq = d.prepareSleep();
      if (hasWork()) {
        d.cancelSleep();
        return;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        d.cancelSleep();
        return;
      }
      d.sleep(seq, left);
      if (hasWork()) return;
    }
  }
}
