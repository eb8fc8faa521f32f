/**
 * The systemd notify protocol (`sd_notify(3)`) through bun:ffi, without libsystemd.
 *
 * systemd passes `$NOTIFY_SOCKET`: a filesystem path (`/run/systemd/notify`) or an abstract
 * socket name written with a leading `@`. The service sends it newline-separated `KEY=value`
 * assignments, one datagram per call, over an AF_UNIX SOCK_DGRAM socket: `READY=1`,
 * `STATUS=...`, `WATCHDOG=1`, `STOPPING=1`, `MAINPID=...`. Bun has no unix datagram sockets,
 * so this file binds the few libc calls it needs (its own `dlopen`, separate from `libc.ts`):
 *
 * | symbol | used for |
 * |---|---|
 * | `socket(AF_UNIX, SOCK_DGRAM \| SOCK_CLOEXEC, 0)` | one socket per `SdNotify`, kept open |
 * | `sendto(fd, msg, len, MSG_DONTWAIT \| MSG_NOSIGNAL, sockaddr_un, addrlen)` | each message |
 * | `close` | `SdNotify.close()` |
 *
 * `sockaddr_un` is built once in a Uint8Array kept by the instance (a stable pointer): family
 * AF_UNIX (u16) at byte 0, the path at byte 2. A path is NUL-terminated; an abstract name
 * starts with a NUL byte instead of `@` and is exactly as long as `addrlen` says (no
 * terminator: the kernel compares all `addrlen - 2` bytes).
 *
 * Sends never block the calling thread (MSG_DONTWAIT): the main thread also serves the kill
 * switch, and a full notify queue must not stall it; a refused send throws (EAGAIN) and the
 * caller decides (a missed `WATCHDOG=1` is retried on the next interval).
 *
 * `send` allocates (it encodes the string); it runs a few times a minute, never per tick.
 */
import { dlopen, FFIType } from "bun:ffi";
import { errno, SyscallError } from "./libc.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const EINTR = 4;
/** `sizeof(struct sockaddr_un)`: `sa_family_t` (2 bytes) + `sun_path[108]`. */
const SOCKADDR_UN_BYTES = 110;
const SUN_PATH_BYTES = 108;

const symbols = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof symbols>>;
let lib: Lib | null = null;

function libc(): Lib["symbols"] {
  if (lib === null) lib = dlopen("libc.so.6", symbols);
  return lib.symbols;
}

/** Closes this module's libc handle (every `SdNotify` must be closed first). */
export function closeSdNotifyLibrary(): void {
  if (lib !== null) {
    lib.close();
    lib = null;
  }
}

/**
 * `struct sockaddr_un` for a notify socket address and the `addrlen` to pass with it.
 * Throws when the address is neither a path nor an `@abstract` name, or does not fit.
 */
export function notifySocketAddress(address: string): { sockaddr: Uint8Array; length: number } {
  const abstract = address.startsWith("@");
  if (!abstract && !address.startsWith("/")) {
    throw new Error(`NOTIFY_SOCKET=${address}: only an absolute path or an @abstract name is supported (not vsock or a relative path)`);
  }
  const name = new TextEncoder().encode(abstract ? address.slice(1) : address);
  // A path needs its NUL terminator in sun_path; an abstract name needs the leading NUL.
  if (name.length + 1 > SUN_PATH_BYTES) {
    throw new Error(`NOTIFY_SOCKET=${address}: longer than the ${SUN_PATH_BYTES - 1} bytes a unix socket address can hold`);
  }
  const sockaddr = new Uint8Array(SOCKADDR_UN_BYTES);
  new DataView(sockaddr.buffer).setUint16(0, AF_UNIX, true);
  if (abstract) {
    sockaddr.set(name, 3); // sun_path[0] = 0: the abstract namespace
    return { sockaddr, length: 2 + 1 + name.length };
  }
  sockaddr.set(name, 2); // the rest of sun_path is already 0: NUL-terminated
  return { sockaddr, length: 2 + name.length + 1 };
}

/**
 * A connection to systemd's notify socket.
 *
 * @example
 * const notify = SdNotify.fromEnv();          // null when not started by systemd (Type=notify)
 * notify?.send("READY=1\nSTATUS=trading active, 0 events");
 * notify?.send("WATCHDOG=1");
 * notify?.send("STOPPING=1");
 * notify?.close();
 */
export class SdNotify {
  /** The `$NOTIFY_SOCKET` value this instance sends to (for messages). */
  readonly address: string;
  readonly #sockaddr: Uint8Array;
  readonly #length: number;
  #fd: number;

  /** An instance for `$NOTIFY_SOCKET`, or null when it is unset or empty. */
  static fromEnv(env: Record<string, string | undefined> = process.env): SdNotify | null {
    const address = env.NOTIFY_SOCKET;
    return address ? new SdNotify(address) : null;
  }

  constructor(address: string) {
    const { sockaddr, length } = notifySocketAddress(address);
    this.address = address;
    this.#sockaddr = sockaddr;
    this.#length = length;
    const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new SyscallError("socket(AF_UNIX, SOCK_DGRAM)", errno(), `for NOTIFY_SOCKET=${address}`);
    this.#fd = fd;
  }

  /** Sends one datagram: newline-separated assignments, e.g. `"READY=1\nSTATUS=up"`. */
  send(state: string): void {
    if (this.#fd < 0) throw new Error(`sd_notify: the socket to NOTIFY_SOCKET=${this.address} is closed`);
    const message = new TextEncoder().encode(state);
    for (;;) {
      const n = Number(libc().sendto(this.#fd, message, message.length, MSG_DONTWAIT | MSG_NOSIGNAL, this.#sockaddr, this.#length));
      if (n === message.length) return;
      const code = n < 0 ? errno() : 0;
      if (code === EINTR) continue;
      if (n >= 0) throw new Error(`sd_notify: sent ${n} of ${message.length} bytes to NOTIFY_SOCKET=${this.address}`);
      const hint =
        code === 2 || code === 111 ? "no one is listening there (is the service started by systemd with Type=notify?)" : code === 11 ? "the receiver's queue is full" : "";
      throw new SyscallError(`sendto(NOTIFY_SOCKET=${this.address})`, code, hint);
    }
  }

  /** Closes the socket; later sends throw. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    if (libc().close(fd) !== 0) throw new SyscallError(`close(NOTIFY_SOCKET=${this.address})`, errno());
  }
}

/**
 * How often to send `WATCHDOG=1`, in ms: half of `$WATCHDOG_USEC`, as `sd_watchdog_enabled(3)`
 * recommends. Null when no watchdog applies: `$WATCHDOG_USEC` unset, or `$WATCHDOG_PID` set to
 * another process (the watchdog is then meant for that one, e.g. a wrapper's child).
 */
export function watchdogIntervalMs(env: Record<string, string | undefined> = process.env, pid: number = process.pid): number | null {
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || usecText === "") return null;
  const pidText = env.WATCHDOG_PID;
  if (pidText !== undefined && pidText !== "") {
    if (!/^[1-9][0-9]*$/.test(pidText)) throw new Error(`WATCHDOG_PID=${pidText}: not a process id`);
    if (Number(pidText) !== pid) return null;
  }
  if (!/^[1-9][0-9]*$/.test(usecText)) throw new Error(`WATCHDOG_USEC=${usecText}: not a positive number of microseconds`);
  return Number(usecText) / 2 / 1000;
}
