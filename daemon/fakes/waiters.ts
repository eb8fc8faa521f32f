/**
 * Waiting on a fake server's state without sleeping: `wait(condition)` resolves once the
 * condition holds, re-checked each time the server calls `notify()` (after every connection,
 * message, answer or event). A condition that throws rejects its wait. Shared by the fakes.
 */
interface Waiter {
  check: () => boolean;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class ConditionWaiters {
  readonly #waiters = new Set<Waiter>();

  /** Resolves once `condition()` holds; rejects after `timeoutMs` (a bound for a broken build). */
  wait(condition: () => unknown, what: string, timeoutMs: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => Boolean(condition()),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Re-checks every pending condition. */
  notify(): void {
    for (const w of this.#waiters) {
      let done = false;
      try {
        done = w.check();
      } catch (e) {
        this.#settle(w);
        w.reject(e instanceof Error ? e : new Error(String(e)));
        continue;
      }
      if (done) {
        this.#settle(w);
        w.resolve();
      }
    }
  }

  /** Rejects every pending wait (the server closed). */
  rejectAll(message: string): void {
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(message));
    }
    this.#waiters.clear();
  }

  #settle(w: Waiter): void {
    this.#waiters.delete(w);
    clearTimeout(w.timer);
  }
}
