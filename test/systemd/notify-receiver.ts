/**
 * The receiving end of a notify socket, for tests: an AF_UNIX SOCK_DGRAM socket bound to a path
 * or an abstract name (what systemd listens on), read without blocking. Bun cannot receive unix
 * datagrams, so this binds `bind` and `recv` through bun:ffi; the address is built by the
 * daemon's own `notifySocketAddress`, so a wrong address layout shows up as "nothing received".
 *
 * `await using` closes the socket and removes the path.
 */
import { dlopen, FFIType } from "bun:ffi";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errno, SyscallError } from "../../ffi/libc.ts";
import { notifySocketAddress } from "../../ffi/sdnotify.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;

const lib = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
} as const).symbols;

export interface NotifyReceiver extends AsyncDisposable {
  /** The `$NOTIFY_SOCKET` value that reaches this receiver. */
  address: string;
  /** The next datagram as bytes, or null if none is queued. */
  tryReceive(): Uint8Array | null;
  /** Waits (polling, no fixed sleep) for the next datagram and decodes it. */
  next(timeoutMs?: number): Promise<string>;
  /** Waits for a datagram whose text satisfies `match`, skipping others; returns it. */
  nextMatching(match: (text: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
}

/** Binds a receiver on a fresh path in a temp dir, or on a fresh `@abstract` name. */
export function notifyReceiver(kind: "path" | "abstract" = "path"): NotifyReceiver {
  const dir = kind === "path" ? mkdtempSync(join(tmpdir(), "tradingd-notify-")) : null;
  const address = dir ? join(dir, "notify") : `@tradingd-test-${process.pid}-${crypto.randomUUID()}`;
  const { sockaddr, length } = notifySocketAddress(address);
  const fd = lib.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SyscallError("socket", errno());
  if (lib.bind(fd, sockaddr, length) !== 0) throw new SyscallError("bind", errno(), address);
  // Over 1000 bytes, so the buffer is not moved while a call holds its pointer.
  const buffer = new Uint8Array(65536);

  const tryReceive = (): Uint8Array | null => {
    const n = Number(lib.recv(fd, buffer, buffer.length, MSG_DONTWAIT));
    if (n >= 0) return buffer.slice(0, n);
    const code = errno();
    if (code === EAGAIN) return null;
    throw new SyscallError("recv", code, address);
  };
  const next = async (timeoutMs = 20_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const bytes = tryReceive();
      if (bytes) return new TextDecoder().decode(bytes);
      if (Date.now() > deadline) throw new Error(`no datagram on ${address} within ${timeoutMs} ms`);
      await Bun.sleep(2);
    }
  };
  return {
    address,
    tryReceive,
    next,
    async nextMatching(match, what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      const seen: string[] = [];
      for (;;) {
        const text = await next(Math.max(0, deadline - Date.now())).catch((e: Error) => {
          throw new Error(`waiting for ${what}: ${e.message}; received: ${JSON.stringify(seen)}`);
        });
        if (match(text)) return text;
        seen.push(text);
      }
    },
    async [Symbol.asyncDispose]() {
      lib.close(fd);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
