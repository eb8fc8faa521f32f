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
  | { op: "scheduler"; policy: "other" | "fifo"; priority: number }
  | { op: "nice"; value: number }
  | { op: "numaRunOnNode"; node: number };

const tid = gettid();

function handle(req: ThreadRequest): unknown {
  switch (req.op) {
    case "tid":
      return { tid };
    case "pin":
      schedSetaffinity(tid, req.cpus);
      return { tid, affinity: schedGetaffinity(tid), affinityOfZero: schedGetaffinity(0) };
    case "scheduler":
      schedSetscheduler(tid, req.policy, req.priority);
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

self.onmessage = (ev: MessageEvent<ThreadRequest>) => {
  try {
    self.postMessage({ ok: handle(ev.data) });
  } catch (e) {
    const errno = e instanceof SyscallError ? e.errno : undefined;
    self.postMessage({ error: { message: e instanceof Error ? e.message : String(e), errno } });
  }
};
