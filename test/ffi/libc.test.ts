import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  gettid, schedGetaffinity, schedSetaffinity, schedSetscheduler, schedGetscheduler, getpriority, getrlimit,
  SyscallError, errnoName, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT,
} from "../../ffi/libc.ts";
import { TuningWorker, taskStat, taskStatus } from "./thread-tuning-client.ts";

const isRoot = process.getuid!() === 0;
const STAT_NICE = 19;
const STAT_RT_PRIORITY = 40;
const STAT_POLICY = 41;

function thrown(fn: () => void): SyscallError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SyscallError) return e;
    throw e;
  }
  throw new Error("expected a SyscallError, nothing was thrown");
}

/** The test's rows of /proc/self/limits, as getrlimit should report them. */
function procLimits() {
  const text = readFileSync("/proc/self/limits", "utf8");
  const row = (name: string) => {
    const [soft, hard] = new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, "m").exec(text)!.slice(1);
    const value = (v: string) => (v === "unlimited" ? Infinity : Number(v));
    return { soft: value(soft!), hard: value(hard!) };
  };
  return { memlock: row("Max locked memory"), nice: row("Max nice priority"), rtprio: row("Max realtime priority") };
}

describe("affinity (per thread)", () => {
  test("a worker pinned by its own tid runs on that CPU only; the test thread's affinity is unchanged", async () => {
    const mainTid = gettid();
    const mainBefore = { proc: taskStatus(mainTid, "Cpus_allowed_list"), ffi: schedGetaffinity(0) };
    const cpu = mainBefore.ffi.at(-1)!;
    await using worker = new TuningWorker();
    const r = await worker.call<{ tid: number; affinity: number[]; affinityOfZero: number[] }>({ op: "pin", cpus: [cpu] });
    expect({
      workerProc: taskStatus(r.tid, "Cpus_allowed_list"),
      workerFfi: r.affinity,
      workerSelf: r.affinityOfZero,
      workerFromMain: schedGetaffinity(r.tid),
      main: { proc: taskStatus(mainTid, "Cpus_allowed_list"), ffi: schedGetaffinity(0) },
    }).toEqual({ workerProc: String(cpu), workerFfi: [cpu], workerSelf: [cpu], workerFromMain: [cpu], main: mainBefore });
    expect(r.tid).not.toBe(mainTid);
  });

  test("CPU 4000 is refused by the kernel with EINVAL, the call's name and the cpuset hint", () => {
    const before = schedGetaffinity(0);
    const e = thrown(() => schedSetaffinity(0, [4000]));
    expect({ call: e.call, errno: errnoName(e.errno) }).toEqual({ call: "sched_setaffinity", errno: "EINVAL" });
    expect(e.message).toStartWith("sched_setaffinity failed: EINVAL (22)");
    expect(e.message).toContain("the CPU list is outside the CPUs this process may use (see /sys/fs/cgroup cpuset or taskset)");
    expect(schedGetaffinity(0)).toEqual(before);
  });

  test("a negative CPU number is a RangeError, not a syscall", () => {
    expect(() => schedSetaffinity(0, [-1])).toThrow(RangeError);
  });
});

describe("scheduling policy", () => {
  test("fifo priority 200 is EINVAL (checked before privilege), naming sched_setscheduler", () => {
    const e = thrown(() => schedSetscheduler(0, "fifo", 200));
    expect({ call: e.call, errno: errnoName(e.errno) }).toEqual({ call: "sched_setscheduler", errno: "EINVAL" });
    expect(e.message).toContain("sched_setscheduler failed: EINVAL");
    expect(schedGetscheduler(0)).toEqual({ policy: "other", priority: 0 });
  });

  test("the test thread runs SCHED_OTHER and schedGetscheduler agrees with /proc", () => {
    const tid = gettid();
    expect(schedGetscheduler(tid)).toEqual({ policy: "other", priority: 0 });
    expect(taskStat(tid, STAT_POLICY)).toBe(0);
  });
});

describe.skipIf(!isRoot)("as root (SCHED_FIFO needs CAP_SYS_NICE or LimitRTPRIO=)", () => {
  test("SCHED_FIFO 1 set by a worker on its own tid applies to that thread only, and is undone", async () => {
    const mainTid = gettid();
    await using worker = new TuningWorker();
    const set = await worker.call<{ tid: number; scheduler: object }>({ op: "scheduler", policy: "fifo", priority: 1 });
    expect({
      ffi: set.scheduler,
      ffiFromMain: schedGetscheduler(set.tid),
      workerPolicy: taskStat(set.tid, STAT_POLICY),
      workerRtPriority: taskStat(set.tid, STAT_RT_PRIORITY),
      mainPolicy: taskStat(mainTid, STAT_POLICY),
      main: schedGetscheduler(0),
    }).toEqual({
      ffi: { policy: "fifo", priority: 1 },
      ffiFromMain: { policy: "fifo", priority: 1 },
      workerPolicy: 1,
      workerRtPriority: 1,
      mainPolicy: 0,
      main: { policy: "other", priority: 0 },
    });
    const back = await worker.call<{ tid: number; scheduler: object }>({ op: "scheduler", policy: "other", priority: 0 });
    expect({ ffi: back.scheduler, proc: taskStat(back.tid, STAT_POLICY) }).toEqual({ ffi: { policy: "other", priority: 0 }, proc: 0 });
  });
});

describe("nice (per thread)", () => {
  test("a worker renicing its own tid to 5 leaves the test thread's nice value alone", async () => {
    const mainTid = gettid();
    const mainNice = getpriority("thread", mainTid);
    await using worker = new TuningWorker();
    const r = await worker.call<{ tid: number; nice: number }>({ op: "nice", value: 5 });
    expect({ ffi: r.nice, proc: taskStat(r.tid, STAT_NICE), main: getpriority("thread", 0), mainProc: taskStat(mainTid, STAT_NICE) })
      .toEqual({ ffi: 5, proc: 5, main: mainNice, mainProc: mainNice });
  });
});

describe("getrlimit", () => {
  test("memlock, nice and rtprio match /proc/self/limits (Infinity where unlimited)", () => {
    expect({ memlock: getrlimit("memlock"), nice: getrlimit("nice"), rtprio: getrlimit("rtprio") }).toEqual(procLimits());
    for (const r of ["memlock", "nice", "rtprio"] as const) {
      const { soft, hard } = getrlimit(r);
      expect(typeof soft).toBe("number");
      expect(soft).toBeLessThanOrEqual(hard);
    }
  });
});

describe.skipIf(!isRoot)("mlockall in a subprocess, as root (needs CAP_IPC_LOCK or LimitMEMLOCK=infinity)", () => {
  test("mlockall(CURRENT|FUTURE|ONFAULT) locks memory without paging in JSC's reservations; munlockall unlocks", async () => {
    expect(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT).toBe(7);
    await using proc = Bun.spawn([process.execPath, `${import.meta.dir}/mlock-fixture.ts`], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const r = JSON.parse(out);
    console.log(
      `mlockall(7): ${r.lockMs.toFixed(2)} ms; VmLck ${r.before.vmLckKb} -> ${r.locked.vmLckKb} -> ${r.unlocked.vmLckKb} kB; ` +
        `VmRSS ${r.before.vmRssKb} -> ${r.locked.vmRssKb} -> ${r.unlocked.vmRssKb} kB`,
    );
    expect(r.flags).toBe(7);
    expect(r.before.vmLckKb).toBe(0);
    expect(r.locked.vmLckKb).toBeGreaterThan(0);
    expect(r.locked.vmRssKb).toBeLessThan(1024 * 1024);
    expect(r.unlocked.vmLckKb).toBe(0);
  });
});

const setpriv = Bun.which("setpriv");
describe.skipIf(!isRoot || setpriv === null)("unprivileged (root drops to nobody with setpriv to see the refusals)", () => {
  test("mlockall, SCHED_FIFO and negative nice fail with errno and the limit to raise", async () => {
    await using proc = Bun.spawn(
      [setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, `${import.meta.dir}/unprivileged-fixture.ts`],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: "/tmp" } },
    );
    const [out, err, code] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const r = JSON.parse(out);
    expect(r.uid).toBe(65534);
    // mlockall: EPERM with a zero memlock limit, ENOMEM when the process is larger than the limit.
    expect(["EPERM", "ENOMEM"]).toContain(r.mlockall.errno);
    expect(r.mlockall.message).toContain("raise the memlock limit: LimitMEMLOCK=infinity in the unit, or ulimit -l unlimited");
    if (r.limits.rtprio.soft === 0) {
      expect(r.fifo.errno).toBe("EPERM");
      expect(r.fifo.message).toContain("run as root, or give the service LimitRTPRIO= (systemd) / CAP_SYS_NICE");
    }
    if (r.limits.nice.soft === 0) {
      expect(r.niceDown.errno).toBe("EACCES");
      expect(r.niceDown.message).toContain("CAP_SYS_NICE or LimitNICE=");
    }
  });
});
