/**
 * libc through bun:ffi: the few calls the daemon needs on its hot path or per thread.
 *
 * bun:ffi is marked experimental, so every use of it stays behind `ffi/`. The library is opened
 * once per thread that imports this module (each Worker has its own JS realm), and closed by
 * `closeLibc()` on shutdown. Every wrapper checks the return code and throws a `SyscallError`
 * naming the call, the errno and a hint.
 *
 * | symbol | used for |
 * |---|---|
 * | `clock_gettime(CLOCK_MONOTONIC)` | the process-wide clock (see `daemon/shm/clock.ts`) |
 * | `syscall(SYS_gettid)` | the thread id each worker reports (and pins itself by, issue 3) |
 * | `sched_getcpu` | the CPU a thread is running on, for `/status` |
 * | `__errno_location`, `strerror` | errno and its text |
 * | `sched_setaffinity`, `sched_getaffinity` | pinning a thread to CPUs (per thread, by tid) |
 * | `sched_setscheduler`, `sched_getscheduler`, `sched_getparam` | SCHED_FIFO etc. (per thread) |
 * | `mlockall`, `munlockall` | keeping the process's pages in RAM (whole process) |
 * | `setpriority`, `getpriority` | nice value (per thread when given a tid) |
 * | `getrlimit` | what the process may do before it tries (memlock, rtprio, nice) |
 *
 * errno is thread-local: every wrapper reads it first thing after the failing call, on the same
 * thread, before anything else runs. Scratch buffers for structs are made once per thread (each
 * realm loads its own copy of this module) over explicit `ArrayBuffer`s, so their pointers stay
 * valid; no wrapper allocates on success except the ones returning arrays or objects.
 */
import { dlopen, FFIType, ptr, read, toArrayBuffer, CString } from "bun:ffi";

const LIBC_NAME = "libc.so.6";
const SYS_gettid_x86_64 = 186;
const SYS_gettid_aarch64 = 178;
export const CLOCK_MONOTONIC = 1;

const symbols = {
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  syscall: { args: [FFIType.i64], returns: FFIType.i64 },
  sched_getcpu: { args: [], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.ptr },
  // int sched_setaffinity(pid_t, size_t, const cpu_set_t *), and get
  sched_setaffinity: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  sched_getaffinity: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  // int sched_setscheduler(pid_t, int policy, const struct sched_param *)
  sched_setscheduler: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  sched_getscheduler: { args: [FFIType.i32], returns: FFIType.i32 },
  sched_getparam: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  mlockall: { args: [FFIType.i32], returns: FFIType.i32 },
  munlockall: { args: [], returns: FFIType.i32 },
  // int setpriority(int which, id_t who, int prio); int getpriority(int which, id_t who)
  setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  getpriority: { args: [FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  // int getrlimit(int resource, struct rlimit *) with struct rlimit { rlim_t cur, max } (u64)
  getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof symbols>>;
let lib: Lib | null = null;

function libc(): Lib["symbols"] {
  if (lib === null) lib = dlopen(LIBC_NAME, symbols);
  return lib.symbols;
}

/** Closes the library; a later call opens it again. */
export function closeLibc(): void {
  if (lib !== null) {
    lib.close();
    lib = null;
  }
}

/** A failed libc call: which call, errno, its text, and what to do about it. */
export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly hint = "",
  ) {
    super(`${call} failed: ${errnoName(errno)} (${errno}) ${strerror(errno)}${hint ? `: ${hint}` : ""}`);
    this.name = "SyscallError";
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
  13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 22: "EINVAL", 28: "ENOSPC",
  30: "EROFS", 34: "ERANGE", 38: "ENOSYS", 95: "EOPNOTSUPP",
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** The calling thread's errno. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

/** Sets the calling thread's errno (to 0 before calls whose -1 may be a valid result). */
function setErrno(value: number): void {
  const p = libc().__errno_location();
  if (p !== null) new Int32Array(toArrayBuffer(p, 0, 4))[0] = value;
}

export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p === null ? "" : new CString(p).toString();
}

/** Thread id of the calling thread (what `sched_setaffinity(tid, …)` takes). */
export function gettid(): number {
  const nr = process.arch === "arm64" ? SYS_gettid_aarch64 : SYS_gettid_x86_64;
  return Number(libc().syscall(nr));
}

/** The CPU the calling thread runs on now. */
export function schedGetcpu(): number {
  const cpu = libc().sched_getcpu();
  if (cpu < 0) throw new SyscallError("sched_getcpu", errno());
  return cpu;
}

/**
 * A reader of CLOCK_MONOTONIC in nanoseconds that allocates nothing per call: the timespec
 * buffer and its pointer are made once (buffers are kept alive by the closure, so the pointer
 * stays valid).
 */
export function monotonicNsReader(): () => number {
  const ts = new BigInt64Array(2);
  const view = new Int32Array(ts.buffer);
  const p = ptr(ts);
  const fn = libc().clock_gettime;
  return () => {
    if (fn(CLOCK_MONOTONIC, p) !== 0) throw new SyscallError("clock_gettime", errno());
    // tv_sec and tv_nsec are 64-bit; tv_sec fits in 32 bits for ~68 years of uptime.
    return view[0]! * 1e9 + view[2]!;
  };
}

// ---------------------------------------------------------------------------------------------
// Hints: what to do about a failure, by call and errno name.

const HINTS: Record<string, Partial<Record<string, string>>> = {
  sched_setaffinity: {
    EINVAL: "the CPU list is outside the CPUs this process may use (see /sys/fs/cgroup cpuset or taskset)",
    EPERM: "the thread belongs to another user: run as that user, or give CAP_SYS_NICE",
    ESRCH: "no thread with that id (it may have exited)",
  },
  sched_getaffinity: { ESRCH: "no thread with that id (it may have exited)" },
  sched_setscheduler: {
    EPERM: "run as root, or give the service LimitRTPRIO= (systemd) / CAP_SYS_NICE",
    EINVAL: "priority must be 1-99 for fifo/rr and 0 for other/batch/idle",
    ESRCH: "no thread with that id (it may have exited)",
  },
  sched_getscheduler: { ESRCH: "no thread with that id (it may have exited)" },
  sched_getparam: { ESRCH: "no thread with that id (it may have exited)" },
  mlockall: {
    EPERM: "raise the memlock limit: LimitMEMLOCK=infinity in the unit, or ulimit -l unlimited",
    ENOMEM: "raise the memlock limit: LimitMEMLOCK=infinity in the unit, or ulimit -l unlimited",
    EINVAL: "flags must be MCL_CURRENT|MCL_FUTURE, optionally with MCL_ONFAULT (use 7)",
  },
  setpriority: {
    EPERM: "CAP_SYS_NICE or LimitNICE=",
    EACCES: "lowering nice needs CAP_SYS_NICE or LimitNICE=",
    ESRCH: "no thread or process with that id",
  },
  getpriority: { ESRCH: "no thread or process with that id" },
};

function fail(call: string, code: number): SyscallError {
  return new SyscallError(call, code, HINTS[call]?.[errnoName(code)] ?? "");
}

// ---------------------------------------------------------------------------------------------
// Affinity. cpu_set_t is a bitmask; glibc's is 128 bytes (1024 CPUs). Lists naming a CPU above
// 1023 get a mask sized to hold it (CPU_ALLOC_SIZE), so the kernel, not this wrapper, decides.

const CPU_SET_BYTES = 128;
const cpuMask = new Uint8Array(new ArrayBuffer(CPU_SET_BYTES));
const cpuMaskPtr = ptr(cpuMask);

function checkCpu(cpu: number): void {
  if (!Number.isInteger(cpu) || cpu < 0) throw new RangeError(`not a CPU number: ${cpu}`);
}

/**
 * Pins thread `tid` (0 = the calling thread) to `cpus`. Affinity is per thread: a worker pins
 * itself by its own `gettid()`.
 *
 * @example schedSetaffinity(gettid(), [1]);
 */
export function schedSetaffinity(tid: number, cpus: readonly number[]): void {
  let max = -1;
  for (const cpu of cpus) {
    checkCpu(cpu);
    if (cpu > max) max = cpu;
  }
  const bytes = Math.max(CPU_SET_BYTES, Math.ceil((max + 1) / 64) * 8);
  const mask = bytes === CPU_SET_BYTES ? cpuMask : new Uint8Array(new ArrayBuffer(bytes));
  mask.fill(0);
  for (const cpu of cpus) mask[cpu >> 3]! |= 1 << (cpu & 7);
  const p = mask === cpuMask ? cpuMaskPtr : ptr(mask);
  if (libc().sched_setaffinity(tid, bytes, p) !== 0) throw fail("sched_setaffinity", errno());
}

/** The CPUs thread `tid` (0 = the calling thread) may run on, ascending. */
export function schedGetaffinity(tid: number): number[] {
  if (libc().sched_getaffinity(tid, CPU_SET_BYTES, cpuMaskPtr) !== 0) throw fail("sched_getaffinity", errno());
  const cpus: number[] = [];
  for (let i = 0; i < CPU_SET_BYTES; i++) {
    const byte = cpuMask[i]!;
    if (byte === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) cpus.push(i * 8 + bit);
  }
  return cpus;
}

// ---------------------------------------------------------------------------------------------
// Scheduling policy (per thread). struct sched_param { int sched_priority; }.

export type SchedPolicy = "other" | "fifo" | "rr" | "batch" | "idle";
const POLICY_NUMBERS: Record<SchedPolicy, number> = { other: 0, fifo: 1, rr: 2, batch: 3, idle: 5 };
const SCHED_RESET_ON_FORK = 0x40000000;
const schedParam = new Int32Array(new ArrayBuffer(4));
const schedParamPtr = ptr(schedParam);

/**
 * Sets thread `tid`'s (0 = the calling thread) policy and priority: 1-99 for fifo/rr, 0 for the
 * others. Per thread on Linux, so a worker makes only itself real-time. With `resetOnFork`
 * (SCHED_RESET_ON_FORK), threads it starts later begin under SCHED_OTHER instead of inheriting
 * the policy.
 *
 * @example schedSetscheduler(gettid(), "fifo", 1);
 */
export function schedSetscheduler(tid: number, policy: SchedPolicy, priority: number, resetOnFork = false): void {
  const number = POLICY_NUMBERS[policy];
  if (number === undefined) throw new RangeError(`unknown scheduling policy: ${policy}`);
  schedParam[0] = priority;
  if (libc().sched_setscheduler(tid, resetOnFork ? number | SCHED_RESET_ON_FORK : number, schedParamPtr) !== 0) throw fail("sched_setscheduler", errno());
}

/** Thread `tid`'s policy (`"other"`, `"fifo"`, …; `"policy N"` for one not named here) and priority. */
export function schedGetscheduler(tid: number): { policy: string; priority: number } {
  const number = libc().sched_getscheduler(tid);
  if (number < 0) throw fail("sched_getscheduler", errno());
  if (libc().sched_getparam(tid, schedParamPtr) !== 0) throw fail("sched_getparam", errno());
  const base = number & ~SCHED_RESET_ON_FORK;
  const policy = (Object.keys(POLICY_NUMBERS) as SchedPolicy[]).find((k) => POLICY_NUMBERS[k] === base);
  return { policy: policy ?? `policy ${base}`, priority: schedParam[0]! };
}

// ---------------------------------------------------------------------------------------------
// Memory locking (whole process).

export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;

/**
 * Locks the process's memory. Use `MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT` (7): `MCL_CURRENT`
 * without `MCL_ONFAULT` pages in all of JSC's reservations (GBs, tens of seconds).
 */
export function mlockall(flags: number): void {
  if (libc().mlockall(flags) !== 0) throw fail("mlockall", errno());
}

export function munlockall(): void {
  if (libc().munlockall() !== 0) throw fail("munlockall", errno());
}

// ---------------------------------------------------------------------------------------------
// Nice value. Linux: PRIO_PROCESS with a tid sets that one thread.

const PRIO_PROCESS = 0;
export type PriorityTarget = "process" | "thread";

/** Sets the nice value (-20..19) of a process, or of one thread given its tid (0 = caller). */
export function setpriority(which: PriorityTarget, who: number, nice: number): void {
  void which; // both are PRIO_PROCESS on Linux; the name says which the caller meant
  if (libc().setpriority(PRIO_PROCESS, who, nice) !== 0) throw fail("setpriority", errno());
}

/** The nice value of a process, or of one thread given its tid (0 = caller). */
export function getpriority(which: PriorityTarget, who: number): number {
  void which;
  setErrno(0); // -1 is a valid nice value: only errno tells a failure
  const nice = libc().getpriority(PRIO_PROCESS, who);
  if (nice === -1) {
    const code = errno();
    if (code !== 0) throw fail("getpriority", code);
  }
  return nice;
}

// ---------------------------------------------------------------------------------------------
// Resource limits.

export type RlimitResource = "memlock" | "rtprio" | "nice";
const RLIMIT_NUMBERS: Record<RlimitResource, number> = { memlock: 8, nice: 13, rtprio: 14 };
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
const rlimit = new BigUint64Array(new ArrayBuffer(16));
const rlimitPtr = ptr(rlimit);

/**
 * A resource limit, `Infinity` when unlimited. memlock is in bytes; rtprio is the highest
 * SCHED_FIFO/RR priority allowed without CAP_SYS_NICE; nice is `20 - lowest nice allowed`.
 */
export function getrlimit(resource: RlimitResource): { soft: number; hard: number } {
  const number = RLIMIT_NUMBERS[resource];
  if (number === undefined) throw new RangeError(`unknown resource limit: ${resource}`);
  if (libc().getrlimit(number, rlimitPtr) !== 0) throw fail("getrlimit", errno());
  const value = (v: bigint) => (v === RLIM_INFINITY ? Infinity : Number(v));
  return { soft: value(rlimit[0]!), hard: value(rlimit[1]!) };
}
