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
 */
import { dlopen, FFIType, ptr, read, CString } from "bun:ffi";

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
  30: "EROFS", 38: "ENOSYS", 95: "EOPNOTSUPP",
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** The calling thread's errno. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
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
