// Test side of thread-tuning-fixture.ts, plus /proc readers: one request at a time to a worker
// that changes only its own thread, so the bun test thread is never pinned, real-time or reniced.
import { readFileSync } from "node:fs";
import type { ThreadRequest } from "./thread-tuning-fixture.ts";

export class TuningWorker {
  #worker = new Worker(new URL("./thread-tuning-fixture.ts", import.meta.url));

  /** Sends one request; resolves with the worker's answer, rejects with its error message. */
  call<T = Record<string, unknown>>(req: ThreadRequest): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#worker.addEventListener(
        "message",
        (ev: MessageEvent) => {
          if (ev.data.error) reject(Object.assign(new Error(ev.data.error.message), { errno: ev.data.error.errno }));
          else resolve(ev.data.ok as T);
        },
        { once: true },
      );
      this.#worker.postMessage(req);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const closed = new Promise<void>((r) => this.#worker.addEventListener("close", () => r(), { once: true }));
    this.#worker.terminate();
    await closed;
  }
}

/** A field of `/proc/self/task/<tid>/status`, e.g. `Cpus_allowed_list`. */
export function taskStatus(tid: number, field: string): string {
  const status = readFileSync(`/proc/self/task/${tid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s*(.*)$`, "m").exec(status);
  if (!m) throw new Error(`no ${field} in /proc/self/task/${tid}/status`);
  return m[1]!.trim();
}

/** Field `n` (1-based, as in proc(5)) of `/proc/self/task/<tid>/stat`, as a number. */
export function taskStat(tid: number, n: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
  // Field 2 (comm) is in parentheses and may hold spaces; fields from 3 on follow the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(rest[n - 3]);
}
