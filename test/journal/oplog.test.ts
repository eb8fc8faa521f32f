import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OrderJournal } from "../../daemon/journal/index.ts";
import { OPLOG_CAPACITY, OpLog, mappable } from "../../daemon/journal/oplog.ts";

const dir = mkdtempSync(join(tmpdir(), "tradingd-oplog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = (name: string) => join(dir, `${name}-${++files}`);

describe("the op log file (a shared mapping)", () => {
  test("create writes the whole file (zeros) up front; appended lines are in the file at once, each ended by a newline", () => {
    const p = newPath("log");
    const log = OpLog.create(p, 64 << 10);
    expect(statSync(p).size).toBe(64 << 10);
    expect(OpLog.readLines(p)).toEqual([]);
    expect(log.append('["r",1,"intent"]')).toBe(true);
    expect(log.append('["r",2,"é"]')).toBe(true);
    // Read through the file, not the mapping: another process (or the next run) sees the same.
    expect(OpLog.readLines(p)).toEqual(['["r",1,"intent"]', '["r",2,"é"]']);
    expect(log.bytes).toBe(Buffer.byteLength('["r",1,"intent"]\n["r",2,"é"]\n'));
    expect(readFileSync(p)[log.bytes]).toBe(0);
  });

  test("touchNext (keep-warm) leaves the file's bytes as they were, the lines and the next append too; a scratch log has no file", () => {
    const p = newPath("touch");
    const log = OpLog.create(p, 64 << 10);
    expect(log.mode).toBe("mapped"); // (this file system maps: see the test below)
    log.append('["r",1,"intent"]');
    const before = readFileSync(p);
    log.touchNext();
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(log.append('["r",2,"accepted"]')).toBe(true);
    expect(OpLog.readLines(p)).toEqual(['["r",1,"intent"]', '["r",2,"accepted"]']);
    // After a reset, and with the end near the file's end (the second touch is past it: skipped).
    log.reset();
    log.touchNext();
    expect(OpLog.readLines(p)).toEqual([]);
    const small = OpLog.create(newPath("touch-full"), 4096);
    while (small.append("x".repeat(100)));
    small.touchNext();
    expect(OpLog.readLines(small.path).length).toBe(Math.floor(4095 / 101));
    const scratch = OpLog.scratch(1024);
    expect(scratch.append("x".repeat(600))).toBe(true);
    expect(scratch.append("y".repeat(600))).toBe(false); // full: nothing counts
    scratch.reset();
    expect(scratch.append("y".repeat(600))).toBe(true);
    expect(scratch.text()).toBe("y".repeat(600) + "\n");
  });

  test("a last line without its newline (a copy cut short) is not read; nor is anything after the first zero byte", () => {
    const p = newPath("torn");
    const log = OpLog.create(p, 4096);
    log.append("one");
    log.append("two");
    const bytes = readFileSync(p);
    bytes.write("thr", log.bytes); // no newline: torn
    bytes.write("\nold\n", log.bytes + 10); // after a zero: not part of the log
    writeFileSync(p, bytes);
    expect(OpLog.readLines(p)).toEqual(["one", "two"]);
  });

  test("a log that starts with a zero byte (a crash part-way through emptying it) has no lines, whatever follows", () => {
    const p = newPath("reset-torn");
    const bytes = Buffer.alloc(64);
    bytes.write("\u0000\u0000old-1\nold-2\n");
    writeFileSync(p, bytes);
    expect(OpLog.readLines(p)).toEqual([]);
  });

  test("mapped only on a file system that overwrites in place (here: ext4 or tmpfs); pwrite mode writes the same file the same way", () => {
    const p = newPath("mode");
    expect(mappable(p)).toMatchObject({ ok: true });
    const mapped = OpLog.create(p, 4096);
    expect(mapped.mode).toBe("mapped");
    mapped.close();
    const q = newPath("pwrite");
    const log = OpLog.create(q, 64, "pwrite");
    expect(log.mode).toBe("pwrite");
    expect([log.append("one"), log.append("é"), log.append("x".repeat(60))]).toEqual([true, true, false]);
    expect(OpLog.readLines(q)).toEqual(["one", "é"]);
    expect(log.text()).toBe("one\né\n");
    log.reset();
    expect(readFileSync(q).every((b) => b === 0)).toBe(true);
    expect(log.append("two")).toBe(true);
    expect(OpLog.readLines(q)).toEqual(["two"]);
    log.close();
  });

  test("a log written the old way (plain lines to the end of the file) reads the same", () => {
    const p = newPath("plain");
    writeFileSync(p, "a\nb\nc-torn");
    expect(OpLog.readLines(p)).toEqual(["a", "b"]);
    expect(OpLog.readLines(newPath("missing"))).toEqual([]);
  });

  test("append refuses a line that does not fit (nothing of it counts); reset zeroes what was written and starts at 0", () => {
    const p = newPath("full");
    const log = OpLog.create(p, 32);
    expect(log.append("x".repeat(20))).toBe(true);
    expect(log.append("y".repeat(20))).toBe(false);
    expect(OpLog.readLines(p)).toEqual(["x".repeat(20)]);
    log.reset();
    expect(readFileSync(p).every((b) => b === 0)).toBe(true);
    expect(log.append("y".repeat(20))).toBe(true);
    expect(OpLog.readLines(p)).toEqual(["y".repeat(20)]);
    // Multi-byte characters are counted in bytes: 11 × "é" is 22 bytes + "\n" > 32 − 21.
    expect(log.append("é".repeat(11))).toBe(false);
  });
});

describe("the journal when its op log fills (SQLite far behind)", () => {
  const T0 = 1_700_000_000_000;
  const intent = (j: OrderJournal) =>
    ({ clientOrderId: j.newClientOrderId(1), localOrderId: 1, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "day", qty: 1, limitPrice: 150, createdAtMs: T0 }) as const;

  test("applies everything on the call that found it full, starts the log again, and loses nothing", () => {
    const p = newPath("journal") + ".sqlite";
    const j = OrderJournal.open(p, { synchronous: "normal" });
    const o = intent(j);
    j.recordIntent(o);
    // Without a turn of the event loop nothing is applied: 1 KiB lines fill the 4 MiB file.
    const pad = "p".repeat(1000);
    const n = Math.ceil(OPLOG_CAPACITY / 1000) + 50;
    for (let k = 0; k < n; k++) j.recordEvent(o.clientOrderId, "note", { k, pad }, T0 + k);
    expect(OpLog.readLines(OrderJournal.opLogPath(p)).length).toBeLessThan(n / 4); // started again
    expect(j.events(o.clientOrderId)).toHaveLength(n + 1);
    j.close();
    using r = OrderJournal.open(p, { readonly: true });
    expect(r.events(o.clientOrderId).map((e) => (e.detail as { k?: number }).k ?? -1)).toEqual([-1, ...Array.from({ length: n }, (_, k) => k)]);
  });

  test("a log holding an op that failed is copied aside before it starts again (it is evidence)", () => {
    const p = newPath("journal-failed") + ".sqlite";
    const errors: string[] = [];
    const j = OrderJournal.open(p, { synchronous: "normal", onError: (e) => errors.push(e.message) });
    const o = intent(j);
    j.recordAccepted("td-nosuch-1-1", "b-0", "new", T0); // fails when applied: not journaled
    j.recordIntent(o);
    expect(j.get(o.clientOrderId)?.state).toBe("intent"); // applied (and the failure seen)
    expect(errors).toHaveLength(1);
    const pad = "p".repeat(1000);
    for (let k = 0; k < Math.ceil(OPLOG_CAPACITY / 1000) + 50; k++) j.recordEvent(o.clientOrderId, "note", { k, pad }, T0 + k);
    const kept = readdirSync(dir).filter((f) => f.startsWith(`${p.slice(dir.length + 1)}-oplog.kept-`));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dir, kept[0]!), "utf8")).toContain("td-nosuch-1-1");
    j.close();
    expect(existsSync(join(dir, kept[0]!))).toBe(true);
  });
});
