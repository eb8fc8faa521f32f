// Subprocess side of libc.test.ts, run as an unprivileged user (setpriv): each call must fail
// with the errno and hint an operator would see without LimitMEMLOCK / LimitRTPRIO / LimitNICE.
// Nothing changes when they fail, so they run one after another on the main thread.
import { mlockall, schedSetscheduler, setpriority, getrlimit, SyscallError, errnoName, closeLibc } from "../../ffi/libc.ts";

function attempt(fn: () => void): { errno: string; message: string } | "succeeded" {
  try {
    fn();
    return "succeeded";
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    return { errno: errnoName(e.errno), message: e.message };
  }
}

const result = {
  uid: process.getuid!(),
  limits: { memlock: getrlimit("memlock"), rtprio: getrlimit("rtprio"), nice: getrlimit("nice") },
  mlockall: attempt(() => mlockall(7)),
  fifo: attempt(() => schedSetscheduler(0, "fifo", 1)),
  niceDown: attempt(() => setpriority("thread", 0, -5)),
};
closeLibc();
console.log(JSON.stringify(result, (_k, v) => (v === Infinity ? "Infinity" : v)));
