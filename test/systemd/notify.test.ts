import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { notifySocketAddress, SdNotify, watchdogIntervalMs } from "../../ffi/sdnotify.ts";
import { notifyReceiver } from "./notify-receiver.ts";

const bytes = (s: string) => [...new TextEncoder().encode(s)];

describe("SdNotify sends sd_notify datagrams to $NOTIFY_SOCKET", () => {
  test("READY=1 to a path arrives as exactly those 7 bytes, one datagram", async () => {
    await using rx = notifyReceiver("path");
    const notify = SdNotify.fromEnv({ NOTIFY_SOCKET: rx.address })!;
    notify.send("READY=1");
    notify.close();
    expect([[...(rx.tryReceive() ?? [])], rx.tryReceive()]).toEqual([bytes("READY=1"), null]);
  });

  test("a multi-line STATUS=...\\nREADY=1 arrives as one datagram, byte for byte (UTF-8 kept)", async () => {
    await using rx = notifyReceiver("path");
    const notify = new SdNotify(rx.address);
    const message = "STATUS=trading active, 1234 events, p99 42 µs\nREADY=1";
    notify.send(message);
    notify.send("WATCHDOG=1");
    notify.close();
    expect([[...rx.tryReceive()!], [...rx.tryReceive()!], rx.tryReceive()]).toEqual([bytes(message), bytes("WATCHDOG=1"), null]);
  });

  test("an @abstract name reaches a receiver bound in the abstract namespace", async () => {
    await using rx = notifyReceiver("abstract");
    expect(rx.address.startsWith("@")).toBe(true);
    const notify = SdNotify.fromEnv({ NOTIFY_SOCKET: rx.address })!;
    notify.send("READY=1\nSTATUS=up");
    notify.close();
    expect([...rx.tryReceive()!]).toEqual(bytes("READY=1\nSTATUS=up"));
  });

  // The receiver above builds its address with our own code; python's socket module is an
  // independent check that the abstract address has the length the kernel expects.
  test.skipIf(!Bun.which("python3"))("an @abstract name reaches a receiver python3 bound (needs python3)", async () => {
    const name = `tradingd-test-${process.pid}-${crypto.randomUUID()}`;
    const script = "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind('\\0'+sys.argv[1])\nprint('bound',flush=True)\nprint(s.recv(65536).hex(),flush=True)";
    await using py = Bun.spawn(["python3", "-c", script, name], { stdout: "pipe", stderr: "inherit" });
    const lines = (async function* () {
      let text = "";
      for await (const chunk of py.stdout) {
        text += new TextDecoder().decode(chunk);
        for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n")) {
          yield text.slice(0, i);
          text = text.slice(i + 1);
        }
      }
    })();
    expect((await lines.next()).value).toBe("bound");
    const notify = new SdNotify("@" + name);
    notify.send("STATUS=x\nREADY=1");
    notify.close();
    expect((await lines.next()).value).toBe(Buffer.from("STATUS=x\nREADY=1").toString("hex"));
  });

  test("sockaddr_un: a path is NUL-terminated, an abstract name starts with NUL and has no terminator", () => {
    const path = notifySocketAddress("/run/n");
    const abstract = notifySocketAddress("@n1");
    expect({
      path: [...path.sockaddr.slice(0, 9)],
      pathLength: path.length,
      abstract: [...abstract.sockaddr.slice(0, 6)],
      abstractLength: abstract.length,
    }).toEqual({
      path: [1, 0, ...bytes("/run/n"), 0],
      pathLength: 2 + 6 + 1,
      abstract: [1, 0, 0, ...bytes("n1"), 0],
      abstractLength: 2 + 1 + 2,
    });
  });

  test("no $NOTIFY_SOCKET (unset or empty) means no notifier", () => {
    expect([SdNotify.fromEnv({}), SdNotify.fromEnv({ NOTIFY_SOCKET: "" })]).toEqual([null, null]);
  });

  test("a send nobody listens to throws, naming the socket and the errno", () => {
    const dir = mkdtempSync(join(tmpdir(), "tradingd-notify-"));
    const notify = new SdNotify(join(dir, "nobody"));
    try {
      expect(() => notify.send("READY=1")).toThrow(`sendto(NOTIFY_SOCKET=${join(dir, "nobody")}) failed: ENOENT (2)`);
    } finally {
      notify.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("unsupported or oversized addresses, and sends after close, throw clear errors", () => {
    expect(() => SdNotify.fromEnv({ NOTIFY_SOCKET: "vsock:2:1234" })).toThrow("NOTIFY_SOCKET=vsock:2:1234: only an absolute path or an @abstract name is supported");
    expect(() => new SdNotify("/" + "x".repeat(107))).toThrow("longer than the 107 bytes");
    const notify = new SdNotify("@closed");
    notify.close();
    notify.close();
    expect(() => notify.send("READY=1")).toThrow("sd_notify: the socket to NOTIFY_SOCKET=@closed is closed");
  });
});

describe("watchdogIntervalMs", () => {
  test("is half of $WATCHDOG_USEC, and null when unset or meant for another pid", () => {
    expect([
      watchdogIntervalMs({}, 100),
      watchdogIntervalMs({ WATCHDOG_USEC: "10000000" }, 100),
      watchdogIntervalMs({ WATCHDOG_USEC: "10000000", WATCHDOG_PID: "100" }, 100),
      watchdogIntervalMs({ WATCHDOG_USEC: "10000000", WATCHDOG_PID: "101" }, 100),
      watchdogIntervalMs({ WATCHDOG_USEC: "3" }, 100),
    ]).toEqual([null, 5000, 5000, null, 0.0015]);
  });

  test("a malformed $WATCHDOG_USEC or $WATCHDOG_PID throws, naming the variable", () => {
    expect(() => watchdogIntervalMs({ WATCHDOG_USEC: "10s" })).toThrow("WATCHDOG_USEC=10s: not a positive number of microseconds");
    expect(() => watchdogIntervalMs({ WATCHDOG_USEC: "0" })).toThrow("WATCHDOG_USEC=0");
    expect(() => watchdogIntervalMs({ WATCHDOG_USEC: "1000", WATCHDOG_PID: "x" })).toThrow("WATCHDOG_PID=x: not a process id");
  });
});
