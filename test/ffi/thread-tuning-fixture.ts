// Worker side of libc.test.ts and numa.test.ts: changes only its own thread (by its own tid) on
// request, answers with what the wrappers read back, and undoes it when asked.
import {
  gettid, schedSetaffinity, schedGetaffinity, schedSetscheduler, schedGetscheduler, setpriority, getpriority,
  SyscallError,
} from "../../ffi/libc.ts";
import { loadNuma } from "../../ffi/numa.ts";

declare const self: Worker;

export type ThreadRequest =
  | { op: "tid" }
  | { op: "pin"; cpus: number[] }
  | { op: "scheduler"; policy: "other" | "fifo"; priority: number; resetOnFork?: boolean }
  | { op: "childPolicy" }
  | { op: "nice"; value: number }
  | { op: "numaRunOnNode"; node: number };

const tid = gettid();

/** Starts a thread from this one (a nested worker) and reads its policy from here. */
async function childPolicy(): Promise<unknown> {
  const child = new Worker(new URL("./thread-tuning-fixture.ts", import.meta.url));
  try {
    const childTid = await new Promise<number>((resolve) => {
      child.addEventListener("message", (ev: MessageEvent) => resolve((ev.data.ok as { tid: number }).tid), { once: true });
      child.postMessage({ op: "tid" } satisfies ThreadRequest);
    });
    return { tid, childTid, child: schedGetscheduler(childTid), self: schedGetscheduler(tid) };
  } finally {
    child.terminate();
  }
}

function handle(req: ThreadRequest): unknown {
  switch (req.op) {
    case "tid":
      return { tid };
    case "pin":
      schedSetaffinity(tid, req.cpus);
      return { tid, affinity: schedGetaffinity(tid), affinityOfZero: schedGetaffinity(0) };
    case "scheduler":
      schedSetscheduler(tid, req.policy, req.priority, req.resetOnFork ?? false);
      return { tid, scheduler: schedGetscheduler(tid) };
    case "nice":
      setpriority("thread", tid, req.value);
      return { tid, nice: getpriority("thread", tid) };
    case "numaRunOnNode": {
      const numa = loadNuma();
      if (numa === null) throw new Error("libnuma unavailable");
      try {
        numa.runOnNode(req.node);
        numa.setPreferred(req.node);
        numa.setPreferred(-1);
        return { tid, affinity: schedGetaffinity(tid) };
      } finally {
        numa.close();
      }
    }
  }
}

self.onmessage = async (ev: MessageEvent<ThreadRequest>) => {
  try {
    self.postMessage({ ok: ev.data.op === "childPolicy" ? await childPolicy() : handle(ev.data) });
  } catch (e) {
    const errno = e instanceof SyscallError ? e.errno : undefined;
    self.postMessage({ error: { message: e instanceof Error ? e.message : String(e), errno } });
  }
};
