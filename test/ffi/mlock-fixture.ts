// Subprocess side of libc.test.ts: mlockall changes the whole process, so it runs here, not in
// the test runner. Prints one JSON line: VmLck/VmRSS (kB) before, after mlockall(flags), after
// munlockall, and how long mlockall took.
import { readFileSync } from "node:fs";
import { mlockall, munlockall, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, closeLibc } from "../../ffi/libc.ts";

function memory(): { vmLckKb: number; vmRssKb: number } {
  const status = readFileSync("/proc/self/status", "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)![1]);
  return { vmLckKb: kb("VmLck"), vmRssKb: kb("VmRSS") };
}

const flags = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
const before = memory();
const t0 = performance.now();
mlockall(flags);
const lockMs = performance.now() - t0;
// Touch fresh memory: with MCL_FUTURE it is locked as it is faulted in.
const touched = new Uint8Array(16 << 20).fill(1);
const locked = memory();
munlockall();
const unlocked = memory();
closeLibc();
console.log(JSON.stringify({ flags, before, locked, unlocked, lockMs, touched: touched.length }));
