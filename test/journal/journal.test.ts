import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { APPLICATION_ID, CLIENT_ORDER_ID_MAX, JournalError, LATEST_SCHEMA_VERSION, OrderJournal } from "../../daemon/journal/index.ts";
import type { JournalErrorCode, OrderIntent } from "../../daemon/journal/index.ts";
import { OpLog } from "../../daemon/journal/oplog.ts";
import { mulberry32 } from "../support/prng.ts";
import { waitUntil } from "../support/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "tradingd-journal-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const newPath = (name = "journal") => join(dir, `${name}-${++files}.sqlite`);
/** The whole lines in the journal at `p`'s op log (a mapped file: lines, then zeros). */
const opLogLines = (p: string) => OpLog.readLines(OrderJournal.opLogPath(p));

const T0 = 1_700_000_000_000;

function intent(journal: OrderJournal, localOrderId: number, over: Partial<OrderIntent> = {}): OrderIntent {
  const o = intentOf(journal, localOrderId, over);
  journal.recordIntent(o);
  return o;
}

/** The intent `intent()` records, not recorded. */
function intentOf(journal: OrderJournal, localOrderId: number, over: Partial<OrderIntent> = {}): OrderIntent {
  return {
    clientOrderId: journal.newClientOrderId(localOrderId),
    localOrderId,
    symbol: "AAPL",
    side: "buy",
    type: "limit",
    timeInForce: "day",
    qty: 10,
    limitPrice: 150.25,
    createdAtMs: T0 + localOrderId,
    ...over,
  };
}

/** The JournalError `fn` throws, as { code, message }; fails the test when it throws anything else. */
function journalErrorOf(fn: () => unknown): { code: JournalErrorCode; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof JournalError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected a JournalError, nothing was thrown");
}

/** Reads the file with a plain SQLite connection (the journal closed). */
function raw<T>(path: string, fn: (db: Database) => T): T {
  const db = new Database(path, { readwrite: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function bun(args: string[]) {
  return Bun.spawn([process.execPath, ...args], { stdout: "pipe", stderr: "pipe", cwd: import.meta.dir });
}

/** The first line a subprocess prints. */
async function firstLine(stdout: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stdout) {
    text += decoder.decode(chunk, { stream: true });
    const nl = text.indexOf("\n");
    if (nl >= 0) return text.slice(0, nl);
  }
  return text;
}

describe("OrderJournal file", () => {
  test("a new journal is WAL, synchronous FULL's file with the tradingd application_id, every migration applied, and one run row per open", () => {
    const path = newPath();
    const first = OrderJournal.open(path);
    first.close();
    const second = OrderJournal.open(path);
    expect(second.runId).not.toBe(first.runId);
    second.close();
    const seen = raw(path, (db) => ({
      journalMode: db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode,
      applicationId: db.query<{ application_id: number }, []>("PRAGMA application_id").get()!.application_id,
      userVersion: db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version,
      migrations: db.query("SELECT version, tradingd_version AS v FROM schema_migrations").all(),
      runs: db.query("SELECT run_id AS runId, pid, closed_at_ms IS NOT NULL AS closed FROM runs ORDER BY run_number").all(),
    }));
    expect(seen).toEqual({
      journalMode: "wal",
      applicationId: APPLICATION_ID,
      userVersion: LATEST_SCHEMA_VERSION,
      migrations: [
        { version: 1, v: "0.1.0" },
        { version: 2, v: "0.1.0" },
      ],
      runs: [
        { runId: first.runId, pid: process.pid, closed: 1 },
        { runId: second.runId, pid: process.pid, closed: 1 },
      ],
    });
  });

  test("reopening keeps every order, fill and event exactly", () => {
    const path = newPath();
    const j = OrderJournal.open(path);
    const a = intent(j, 1, { qty: 0.25, qtyDecimal: "0.25", limitPriceDecimal: "150.25" });
    j.markSent(a.clientOrderId, T0 + 10);
    j.recordAccepted(a.clientOrderId, "b-1", "new", T0 + 20);
    j.recordFill(a.clientOrderId, "x-1", 0.25, 150.2, T0 + 30, { qty: "0.25", price: "150.2" });
    j.recordTerminal(a.clientOrderId, "filled", "filled", T0 + 31);
    const b = intent(j, 2, { side: "sell", type: "stop_limit", timeInForce: "gtc", stopPrice: 149, limitPrice: 148.5 });
    const before = { a: j.get(a.clientOrderId), b: j.get(b.clientOrderId), ea: j.events(a.clientOrderId), eb: j.events(b.clientOrderId) };
    j.close();
    const again = OrderJournal.open(path);
    expect({ a: again.get(a.clientOrderId), b: again.get(b.clientOrderId), ea: again.events(a.clientOrderId), eb: again.events(b.clientOrderId) }).toEqual(before);
    again.close();
    expect(before.a).toMatchObject({ state: "filled", qtyDecimal: "0.25", limitPriceDecimal: "150.25", filledQty: 0.25, avgFillPrice: 150.2 });
    expect(before.b).toMatchObject({ state: "intent", side: "sell", type: "stop_limit", stopPrice: 149, limitPrice: 148.5 });
    expect(raw(path, (db) => db.query("SELECT qty_decimal AS q, price_decimal AS p FROM fills").all())).toEqual([{ q: "0.25", p: "150.2" }]);
  });

  test("history is append-only in the file itself: events and fills cannot be updated or deleted, an intent cannot be changed", () => {
    const path = newPath();
    const j = OrderJournal.open(path);
    const o = intent(j, 1);
    j.recordAccepted(o.clientOrderId, "b-1", "new", T0);
    j.recordFill(o.clientOrderId, "x-1", 1, 150, T0);
    j.close();
    const attempts = [
      "UPDATE events SET kind = 'x'",
      "DELETE FROM events",
      "UPDATE fills SET qty = 2",
      "DELETE FROM fills",
      "DELETE FROM orders",
      "UPDATE orders SET qty = 20",
      "UPDATE orders SET broker_order_id = 'b-2'",
      "DELETE FROM runs",
    ];
    const refused = raw(path, (db) =>
      attempts.map((sql) => {
        try {
          db.run(sql);
          return `${sql}: allowed`;
        } catch (e) {
          return `${sql}: refused`;
        }
      }),
    );
    expect(refused).toEqual(attempts.map((sql) => `${sql}: refused`));
  });

  test("a path in a directory that does not exist gives an io JournalError naming the file", () => {
    const path = join(dir, "no-such-dir", "journal.sqlite");
    const err = journalErrorOf(() => OrderJournal.open(path));
    expect(err.code).toBe("io");
    expect(err.message).toContain(path);
    expect(err.message).toContain("directory exists");
  });
});

describe("OrderJournal transitions", () => {
  test("intent is written before send, then each transition moves the state forward and appends one event", () => {
    using j = OrderJournal.open(newPath());
    const o = intent(j, 7);
    const id = o.clientOrderId;
    const states = [j.get(id)!.state];
    j.markSent(id, T0 + 1);
    states.push(j.get(id)!.state);
    j.markUnknown(id, "read timeout after 2000 ms", T0 + 2);
    states.push(j.get(id)!.state);
    j.recordAccepted(id, "b-7", "accepted", T0 + 3);
    states.push(j.get(id)!.state);
    expect(j.recordFill(id, "x-1", 4, 150, T0 + 4)).toBe(true);
    expect(j.recordFill(id, "x-2", 6, 150.5, T0 + 5)).toBe(true);
    states.push(j.get(id)!.state);
    j.recordTerminal(id, "filled", "filled", T0 + 6);
    states.push(j.get(id)!.state);
    expect(states).toEqual(["intent", "sent", "unknown", "accepted", "accepted", "filled"]);
    expect(j.events(id).map((e) => [e.kind, e.state, e.stale, e.atMs])).toEqual([
      ["intent", "intent", false, T0 + 7],
      ["sent", "sent", false, T0 + 1],
      ["unknown", "unknown", false, T0 + 2],
      ["accepted", "accepted", false, T0 + 3],
      ["fill", "accepted", false, T0 + 4],
      ["fill", "accepted", false, T0 + 5],
      ["filled", "filled", false, T0 + 6],
    ]);
    expect(j.get(id)).toMatchObject({
      brokerOrderId: "b-7",
      brokerStatus: "accepted",
      sentAtMs: T0 + 1,
      acceptedAtMs: T0 + 3,
      terminalAtMs: T0 + 6,
      filledQty: 10,
      avgFillPrice: (4 * 150 + 6 * 150.5) / 10,
      reason: "filled",
    });
    expect(j.byBrokerId("b-7")?.clientOrderId).toBe(id);
    expect(j.byBrokerId("b-none")).toBeNull();
    expect(j.get("td-none")).toBeNull();
  });

  test("fills are idempotent by execution id; a repeat with other figures is kept as a stale fill_conflict event", () => {
    using j = OrderJournal.open(newPath());
    const { clientOrderId: id } = intent(j, 1, { qty: 1.5 });
    j.recordAccepted(id, "b-1", "new", T0);
    const results = [
      j.recordFill(id, "x-1", 0.5, 100, T0 + 1),
      j.recordFill(id, "x-1", 0.5, 100, T0 + 2),
      j.recordFill(id, "x-2", 1, 101, T0 + 3),
      j.recordFill(id, "x-1", 0.5, 100, T0 + 4),
      j.recordFill(id, "x-2", 1, 102, T0 + 5),
    ];
    expect(results).toEqual([true, false, true, false, false]);
    expect(j.get(id)).toMatchObject({ filledQty: 1.5, avgFillPrice: (0.5 * 100 + 1 * 101) / 1.5 });
    expect(j.events(id).map((e) => [e.kind, e.stale])).toEqual([
      ["intent", false],
      ["accepted", false],
      ["fill", false],
      ["fill", false],
      ["fill_conflict", true],
    ]);
    expect(j.events(id).at(-1)!.detail).toEqual({ executionId: "x-2", qty: 1, price: 102, recordedQty: 1, recordedPrice: 101 });
  });

  test("transitions that would go backwards are recorded as stale events and do not regress the state", () => {
    using j = OrderJournal.open(newPath());
    const { clientOrderId: id } = intent(j, 1);
    j.markSent(id, T0 + 1);
    j.recordAccepted(id, "b-1", "new", T0 + 2);
    j.recordFill(id, "x-1", 10, 150, T0 + 3);
    j.recordTerminal(id, "filled", "filled", T0 + 4);
    j.recordAccepted(id, "b-1", "accepted", T0 + 5); // a late ack, after the fill
    j.markSent(id, T0 + 6);
    j.markUnknown(id, "late timeout", T0 + 7);
    j.recordTerminal(id, "canceled", "late cancel", T0 + 8);
    j.recordTerminal(id, "not_found", "look-up raced", T0 + 9);
    expect(j.get(id)).toMatchObject({ state: "filled", brokerStatus: "new", sentAtMs: T0 + 1, acceptedAtMs: T0 + 2, terminalAtMs: T0 + 4, reason: "filled" });
    expect(j.events(id).map((e) => [e.kind, e.state, e.stale])).toEqual([
      ["intent", "intent", false],
      ["sent", "sent", false],
      ["accepted", "accepted", false],
      ["fill", "accepted", false],
      ["filled", "filled", false],
      ["accepted", "filled", true],
      ["sent", "filled", true],
      ["unknown", "filled", true],
      ["canceled", "filled", true],
      ["not_found", "filled", true],
    ]);
  });

  test("the broker's evidence moves an order forward: a fill accepts an unacknowledged order, an ack beats an earlier not_found", () => {
    using j = OrderJournal.open(newPath());
    const a = intent(j, 1).clientOrderId;
    j.markSent(a, T0);
    j.recordFill(a, "x-1", 3, 10, T0 + 1); // the stream's fill before the REST ack
    expect(j.get(a)!.state).toBe("accepted");
    j.recordAccepted(a, "b-1", "partially_filled", T0 + 2); // the ack: state unchanged, broker id recorded
    expect(j.get(a)).toMatchObject({ state: "accepted", brokerOrderId: "b-1", filledQty: 3 });

    const b = intent(j, 2).clientOrderId;
    j.markUnknown(b, "connection reset", T0);
    j.recordTerminal(b, "not_found", "look-up by client_order_id: 404", T0 + 1);
    expect(j.get(b)!.state).toBe("not_found");
    j.recordAccepted(b, "b-2", "new", T0 + 2);
    expect(j.get(b)).toMatchObject({ state: "accepted", brokerOrderId: "b-2" });

    const c = intent(j, 3).clientOrderId;
    j.recordTerminal(c, "canceled", "user", T0);
    expect(j.recordFill(c, "x-9", 1, 10, T0 + 1)).toBe(true); // a fill is a fact whatever the state
    expect(j.get(c)).toMatchObject({ state: "canceled", filledQty: 1 });

    const d = intent(j, 4).clientOrderId;
    j.recordAccepted(d, "b-4", "new", T0);
    j.recordAccepted(d, "b-other", "new", T0 + 1); // a different broker id is never written over the first
    expect(j.get(d)!.brokerOrderId).toBe("b-4");
    expect(j.events(d).at(-1)).toMatchObject({ kind: "accepted", stale: true, detail: { brokerOrderId: "b-other", recordedBrokerOrderId: "b-4" } });
  });

  test("recordEvent appends without changing the state; it refuses the transitions' own kinds and unknown orders", () => {
    using j = OrderJournal.open(newPath());
    const { clientOrderId: id } = intent(j, 1);
    j.recordEvent(id, "cancel_requested", { by: "halt" }, T0 + 1);
    expect(j.events(id).at(-1)).toMatchObject({ kind: "cancel_requested", state: "intent", stale: false, detail: { by: "halt" }, runId: j.runId });
    expect(journalErrorOf(() => j.recordEvent(id, "filled", {}, T0)).code).toBe("invalid");
    expect(journalErrorOf(() => j.recordEvent("td-nope", "note", {}, T0))).toMatchObject({ code: "invalid", message: expect.stringContaining("td-nope") });
    expect(journalErrorOf(() => j.markSent("td-nope", T0))).toMatchObject({ code: "invalid", message: expect.stringContaining("record its intent first") });
    expect(journalErrorOf(() => j.recordFill("td-nope", "x", 1, 1, T0)).code).toBe("invalid");
  });

  test("an intent with a reused, malformed or over-long client_order_id, or a non-positive qty, is refused", () => {
    using j = OrderJournal.open(newPath());
    const o = intent(j, 1);
    expect(journalErrorOf(() => j.recordIntent(o))).toMatchObject({ code: "invalid", message: expect.stringContaining("never reused") });
    expect(journalErrorOf(() => j.recordIntent({ ...o, clientOrderId: "x".repeat(49) })).code).toBe("invalid");
    expect(journalErrorOf(() => j.recordIntent({ ...o, clientOrderId: "has space" })).code).toBe("invalid");
    expect(journalErrorOf(() => j.recordIntent({ ...o, clientOrderId: j.newClientOrderId(2), localOrderId: 2, qty: 0 })).code).toBe("invalid");
    expect(journalErrorOf(() => j.newClientOrderId(-1)).code).toBe("invalid");
    expect(j.events(o.clientOrderId)).toHaveLength(1); // the refused calls wrote nothing
  });
});

describe("OrderJournal after a crash", () => {
  // Each case journals one order in a subprocess that dies by SIGKILL after the step, then
  // reopens the file here. The four cases share one file: four crashes, four runs.
  const path = newPath("crash");
  const cases = [
    { step: "intent", inDoubt: true },
    { step: "sent", inDoubt: true },
    { step: "unknown", inDoubt: true },
    { step: "accepted", inDoubt: false },
  ] as const;
  const ids: string[] = [];

  test.each(cases.map((c, i) => ({ ...c, local: i + 1 })))("killed after '$step': on reopen the order is $step and in doubt: $inDoubt", async ({ step, inDoubt, local }) => {
    const proc = bun(["journal-crash-fixture.ts", path, step, String(local)]);
    const id = await firstLine(proc.stdout);
    await proc.exited;
    expect(proc.signalCode).toBe("SIGKILL");
    ids.push(id);
    using j = OrderJournal.open(path);
    expect(j.get(id)?.state).toBe(step);
    expect(j.inDoubt().some((o) => o.clientOrderId === id)).toBe(inDoubt);
    expect(j.open().some((o) => o.clientOrderId === id)).toBe(!inDoubt);
  });

  test("after the four crashes: in doubt are intent, sent, unknown (oldest first); open is accepted; the crashed runs never closed", () => {
    expect(ids).toHaveLength(4);
    const j = OrderJournal.open(path);
    expect(j.inDoubt().map((o) => [o.clientOrderId, o.state])).toEqual([
      [ids[0], "intent"],
      [ids[1], "sent"],
      [ids[2], "unknown"],
    ]);
    expect(j.open().map((o) => [o.clientOrderId, o.state, o.brokerOrderId])).toEqual([[ids[3], "accepted", "broker-4"]]);
    expect(j.get(ids[2]!)?.reason).toBe("timeout after 2000 ms");
    j.close();
    const runs = raw(path, (db) => db.query<{ closed: number }, []>("SELECT closed_at_ms IS NOT NULL AS closed FROM runs ORDER BY run_number").all());
    // Per case: the crashed run (never closed), then this test's reopen (closed); then the last reopen.
    expect(runs.map((r) => r.closed)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 1]);
  });

  test("killed with an intent and an ack in the op log, not yet in SQLite (journal_sync normal): reopen applies both, once, and empties the log", async () => {
    const p = newPath("oplog");
    const proc = bun(["journal-crash-fixture.ts", p, "write-ahead-ack", "7"]);
    const id = await firstLine(proc.stdout);
    await proc.exited;
    expect(proc.signalCode).toBe("SIGKILL");
    expect(opLogLines(p)).toHaveLength(2);
    {
      using j = OrderJournal.open(p, { synchronous: "normal" });
      expect([j.recovered.ops, j.recovered.intents, j.recovered.errors]).toEqual([2, [id], []]);
      const o = j.get(id)!;
      expect([o.state, o.qty, o.limitPrice, o.brokerOrderId, o.runId === j.runId]).toEqual(["accepted", 1, 150, "broker-7", false]);
      expect(j.events(id).map((e) => e.kind)).toEqual(["intent", "accepted"]);
      expect((j.events(id)[0]!.detail as { recoveredFrom?: string }).recoveredFrom).toBe("op log");
      expect(opLogLines(p)).toEqual([]);
    }
    using again = OrderJournal.open(p, { synchronous: "normal" });
    expect(again.recovered.ops).toBe(0);
    expect(again.events(id)).toHaveLength(2);
  });

  test("a line cut short by a crash is ignored (its call never returned: that order was never sent); the whole ones before it are applied", async () => {
    const p = newPath("torn");
    const proc = bun(["journal-crash-fixture.ts", p, "torn", "9"]);
    const id = await firstLine(proc.stdout);
    await proc.exited;
    using j = OrderJournal.open(p);
    expect(j.recovered.intents).toEqual([id]);
    expect(j.inDoubt().map((o) => o.clientOrderId)).toEqual([id]);
    expect(opLogLines(p)).toEqual([]); // emptied under full too
  });
});

describe("client_order_id", () => {
  test("unique across 1,000 reopen cycles, at most 48 characters of [A-Za-z0-9-_], the same for the same (run, id)", () => {
    const path = newPath("ids");
    const locals = [0, 1, 35, 36, 1_000_000, Number.MAX_SAFE_INTEGER];
    const ids = new Set<string>();
    let longest = "";
    let malformed = 0;
    const runs = new Set<string>();
    for (let cycle = 0; cycle < 1000; cycle++) {
      const j = OrderJournal.open(path);
      runs.add(j.runId!);
      for (const local of locals) {
        const id = j.newClientOrderId(local);
        if (id !== j.newClientOrderId(local)) throw new Error("not deterministic");
        if (!/^[A-Za-z0-9_-]{1,48}$/.test(id)) malformed++;
        if (id.length > longest.length) longest = id;
        ids.add(id);
      }
      if (cycle % 100 === 0) intent(j, cycle); // and the ids are storable
      j.close();
    }
    // A second journal (deleted and created again, or another host) has its own tag.
    const other = OrderJournal.open(newPath("ids-other"));
    for (const local of locals) ids.add(other.newClientOrderId(local));
    other.close();
    expect({ runs: runs.size, ids: ids.size, malformed, longestOk: longest.length <= CLIENT_ORDER_ID_MAX }).toEqual({
      runs: 1000,
      ids: 1001 * locals.length,
      malformed: 0,
      longestOk: true,
    });
    expect(longest.length).toBeLessThanOrEqual(31);
  }, 60_000); // ~3 ms an open and close with fsyncs on this disk; a busy disk takes several times that
});

describe("OrderJournal refuses a bad file and leaves it untouched", () => {
  /** A closed journal with enough orders to fill several pages. */
  function populated(): string {
    const path = newPath("source");
    const j = OrderJournal.open(path, { synchronous: "normal" }); // the content matters here, not its durability
    for (let i = 1; i <= 300; i++) {
      const { clientOrderId } = intent(j, i);
      j.recordAccepted(clientOrderId, `b-${i}`, "new", T0 + i);
    }
    j.close();
    return path;
  }

  function expectRefusedUnchanged(path: string, code: JournalErrorCode, says: string): void {
    const before = readFileSync(path);
    const err = journalErrorOf(() => OrderJournal.open(path));
    expect(err.code).toBe(code);
    expect(err.message).toContain(path);
    expect(err.message).toContain(says);
    expect(err.message).toContain("Nothing was written");
    expect(readFileSync(path).equals(before)).toBe(true);
  }

  test("garbage bytes over one page of a copy: corrupt, and the file's bytes are unchanged", () => {
    const source = populated();
    const copy = newPath("corrupt-page");
    copyFileSync(source, copy);
    const bytes = readFileSync(copy);
    expect(bytes.length).toBeGreaterThan(8 * 4096);
    const rnd = mulberry32(42);
    for (let i = 0; i < 4096; i++) bytes[3 * 4096 + i] = Math.floor(rnd() * 256);
    writeFileSync(copy, bytes);
    expectRefusedUnchanged(copy, "corrupt", "corrupt");
  });

  test("garbage bytes over the header: corrupt (not an SQLite database), and the file's bytes are unchanged", () => {
    const copy = newPath("corrupt-header");
    copyFileSync(populated(), copy);
    const bytes = readFileSync(copy);
    bytes.fill(0x5a, 0, 100);
    writeFileSync(copy, bytes);
    expectRefusedUnchanged(copy, "corrupt", "not an SQLite database");
  });

  test("a text file: corrupt (not an SQLite database), unchanged", () => {
    const path = newPath("text");
    writeFileSync(path, "symbols: [AAPL]\n".repeat(500));
    expectRefusedUnchanged(path, "corrupt", "not an SQLite database");
  });

  test("another application's SQLite database: not-a-journal, unchanged", () => {
    const path = newPath("other-app");
    const db = new Database(path, { create: true });
    db.run("CREATE TABLE prices (symbol TEXT, price REAL)");
    db.run("INSERT INTO prices VALUES ('AAPL', 150)");
    db.close();
    expectRefusedUnchanged(path, "not-a-journal", "not a tradingd order journal");
  });

  test("a journal from a newer tradingd (schema above this build's): newer-schema, unchanged", () => {
    const path = populated();
    raw(path, (db) => db.run("INSERT INTO schema_migrations VALUES (99, 0, '9.9.9', 'from the future')"));
    expectRefusedUnchanged(path, "newer-schema", "newer tradingd");
  });

  test("an empty file is taken as a new journal", () => {
    const path = newPath("empty");
    writeFileSync(path, "");
    using j = OrderJournal.open(path);
    expect(j.inDoubt()).toEqual([]);
  });
});

describe("OrderJournal and locks", () => {
  async function heldBy(how: "exclusive" | "journal", path: string) {
    const proc = bun(["journal-lock-fixture.ts", path, how]);
    expect(await firstLine(proc.stdout)).toBe("held");
    return {
      [Symbol.asyncDispose]: async () => {
        proc.kill("SIGKILL");
        await proc.exited;
      },
    };
  }

  test.each(["exclusive", "journal"] as const)("a file another process holds (%s) gives a locked JournalError that says so; the journal opens once it is let go", async (how) => {
    const path = newPath("locked");
    const seed = OrderJournal.open(path);
    intent(seed, 1);
    seed.close();
    {
      await using _holder = await heldBy(how, path);
      const t0 = performance.now();
      const err = journalErrorOf(() => OrderJournal.open(path));
      expect(err.code).toBe("locked");
      expect(err.message).toContain(path);
      expect(err.message).toContain("another tradingd");
      expect(performance.now() - t0).toBeLessThan(5_000); // the busy timeout is short (100 ms), not a hang
    }
    using j = OrderJournal.open(path);
    expect(j.inDoubt()).toHaveLength(1);
  });

  test("a second open for writing in the same process is refused while the first is open", () => {
    const path = newPath();
    using _first = OrderJournal.open(path);
    expect(journalErrorOf(() => OrderJournal.open(path)).code).toBe("locked");
  });
});

describe("OrderJournal read-only", () => {
  test("reads everything, records no run, refuses every write, and does not create a missing file", () => {
    const path = newPath();
    const w = OrderJournal.open(path);
    const { clientOrderId: id } = intent(w, 1);
    w.close();
    using r = OrderJournal.open(path, { readonly: true });
    expect(r.runId).toBeNull();
    expect(r.get(id)?.state).toBe("intent");
    expect(r.inDoubt().map((o) => o.clientOrderId)).toEqual([id]);
    expect(journalErrorOf(() => r.markSent(id, T0)).code).toBe("read-only");
    expect(journalErrorOf(() => r.newClientOrderId(2)).code).toBe("read-only");
    expect(raw(path, (db) => db.query("SELECT count(*) AS n FROM runs").get())).toEqual({ n: 1 });

    const missing = join(dir, "missing.sqlite");
    expect(journalErrorOf(() => OrderJournal.open(missing, { readonly: true })).code).toBe("io");
    expect(existsSync(missing)).toBe(false);
  });

  test("every call after close() throws a closed JournalError", () => {
    const j = OrderJournal.open(newPath());
    j.close();
    j.close();
    expect(journalErrorOf(() => j.inDoubt()).code).toBe("closed");
  });
});

describe("journal_sync normal: the op log", () => {
  test("full: each call commits before it returns; no op log", () => {
    const p = newPath("full");
    using j = OrderJournal.open(p);
    const o = intentOf(j, 1);
    j.recordIntent(o);
    expect(j.get(o.clientOrderId)?.state).toBe("intent");
    expect(existsSync(OrderJournal.opLogPath(p))).toBe(false);
  });

  test("normal: a call appends one line and returns; the line reaches SQLite on a later turn, or at once when read", async () => {
    const p = newPath("normal");
    const j = OrderJournal.open(p, { synchronous: "normal" });
    const o = intentOf(j, 1);
    j.recordIntent(o);
    j.recordAccepted(o.clientOrderId, "b-1", "new", T0 + 5);
    const lines = opLogLines(p).map((l) => JSON.parse(l) as unknown[]);
    expect(lines.map((l) => l.slice(0, 3))).toEqual([
      [j.runId, 1, "intent"],
      [j.runId, 2, "accepted"],
    ]);
    await new Promise((r) => setImmediate(r));
    expect(j.get(o.clientOrderId)?.state).toBe("accepted");
    j.close();
    expect(opLogLines(p)).toEqual([]);
    using again = OrderJournal.open(p, { synchronous: "normal" });
    expect(again.recovered.ops).toBe(0);
    expect(again.events(o.clientOrderId).map((e) => e.kind)).toEqual(["intent", "accepted"]);
  });

  for (const sync of ["normal", "full"] as const)
    test(`${sync}: warmIntent (keep-warm) checks and formats an intent, and keeps nothing: no op-log line, no row, no sequence number taken`, async () => {
      const p = newPath(`warm-${sync}`);
      const j = OrderJournal.open(p, { synchronous: sync });
      const warm = intentOf(j, 999);
      // Enough canned lines to fill the scratch log (256 KiB) a few times over.
      for (let k = 0; k < 3_000; k++) j.warmIntent(warm);
      expect(() => j.warmIntent({ ...warm, qty: 0 })).toThrow("not a positive number"); // the live checks run
      expect(opLogLines(p)).toEqual([]);
      const o = intentOf(j, 1);
      j.recordIntent(o);
      if (sync === "normal") expect(opLogLines(p).map((l) => (JSON.parse(l) as unknown[]).slice(0, 3))).toEqual([[j.runId, 1, "intent"]]);
      await new Promise((r) => setImmediate(r));
      expect(j.get(warm.clientOrderId)).toBeNull();
      expect(j.get(o.clientOrderId)?.state).toBe("intent");
      j.close();
    });

  test("normal: what is still pending at close() is applied, then the log is emptied (no turn in between)", () => {
    const p = newPath("close-pending");
    const errors: string[] = [];
    const j = OrderJournal.open(p, { synchronous: "normal", onError: (e) => errors.push(e.message) });
    const o = intentOf(j, 1);
    j.recordIntent(o);
    j.recordAccepted(o.clientOrderId, "b-1", "new", T0 + 5);
    j.recordFill(o.clientOrderId, "e-1", o.qty, 150, T0 + 6);
    j.recordTerminal(o.clientOrderId, "filled", "filled", T0 + 7);
    j.close();
    expect(errors).toEqual([]);
    expect(opLogLines(p)).toEqual([]);
    using r = OrderJournal.open(p, { readonly: true });
    expect([r.get(o.clientOrderId)?.state, r.get(o.clientOrderId)?.filledQty, r.events(o.clientOrderId).map((e) => e.kind)]).toEqual(["filled", o.qty, ["intent", "accepted", "fill", "filled"]]);
  });

  test("normal: a fill seen twice in a run is new once (the answer comes before SQLite has it)", () => {
    using j = OrderJournal.open(newPath("fills"), { synchronous: "normal" });
    const o = intentOf(j, 1);
    j.recordIntent(o);
    expect([j.recordFill(o.clientOrderId, "e1", 1, 150, T0), j.recordFill(o.clientOrderId, "e1", 1, 150, T0), j.recordFill(o.clientOrderId, "e2", 1, 151, T0)]).toEqual([true, false, true]);
    expect(j.get(o.clientOrderId)?.filledQty).toBe(2);
    // A repeat that disagrees is kept as a stale fill_conflict event, as under FULL.
    expect(j.recordFill(o.clientOrderId, "e1", 3, 149, T0)).toBe(false);
    expect(j.events(o.clientOrderId).map((e) => [e.kind, e.stale])).toEqual([
      ["intent", false],
      ["fill", false],
      ["fill", false],
      ["fill_conflict", true],
    ]);
    expect(j.get(o.clientOrderId)?.filledQty).toBe(2);
  });

  test("normal: an op that fails when applied goes to onError; the rest of its batch is kept, and close() keeps the log aside as evidence", () => {
    const errors: string[] = [];
    const p = newPath("bad-op");
    const j = OrderJournal.open(p, { synchronous: "normal", onError: (e) => errors.push(e.message) });
    const o = intentOf(j, 1);
    j.recordAccepted("td-nosuch-1-1", "b-0", "new", T0); // not journaled
    j.recordIntent(o);
    expect(j.get(o.clientOrderId)?.state).toBe("intent");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("td-nosuch-1-1");
    j.close();
    const kept = readdirSync(dir).filter((f) => f.startsWith(`${basename(OrderJournal.opLogPath(p))}.kept-`));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dir, kept[0]!), "utf8")).toContain("td-nosuch-1-1");
    // Both lines are marked applied (one failed): the next open replays nothing, and starts a new
    // log over the file; the copy stays.
    using again = OrderJournal.open(p, { synchronous: "normal" });
    expect(again.recovered.ops).toBe(0);
    expect(opLogLines(p)).toEqual([]);
    expect(existsSync(join(dir, kept[0]!))).toBe(true);
  });

  test("normal: once the log holds 1 MiB and every line of it is applied, it starts again (a long run does not grow it for ever)", async () => {
    const p = newPath("long");
    using j = OrderJournal.open(p, { synchronous: "normal" });
    const o = intentOf(j, 1);
    j.recordIntent(o);
    const pad = "x".repeat(1000);
    for (let k = 0; k < 1100; k++) j.recordEvent(o.clientOrderId, "note", { k, pad }, T0 + k);
    expect(opLogLines(p).join("\n").length).toBeGreaterThan(1 << 20);
    await waitUntil(() => opLogLines(p).length === 0, "the op log to start again");
    expect(j.events(o.clientOrderId)).toHaveLength(1101);
    j.recordEvent(o.clientOrderId, "note", { k: -1 }, T0);
    expect(opLogLines(p)).toHaveLength(1);
  });

  test("an invalid intent is refused at the call, before anything is written", () => {
    const p = newPath("invalid");
    using j = OrderJournal.open(p, { synchronous: "normal" });
    expect(journalErrorOf(() => j.recordIntent({ ...intentOf(j, 1), qty: 0 })).code).toBe("invalid");
    expect(opLogLines(p)).toEqual([]);
  });
});

describe("recordEvent ifKnown: broker updates about orders the journal never had", () => {
  for (const synchronous of ["full", "normal"] as const) {
    test(`${synchronous}: dropped without an error (without ifKnown: an error naming the order)`, () => {
      const errors: string[] = [];
      using j = OrderJournal.open(newPath(`ifknown-${synchronous}`), { synchronous, onError: (e) => errors.push(e.message) });
      const o = intentOf(j, 1);
      j.recordIntent(o);
      j.recordEvent("td-elsewhere-1-1", "stream:fill", { qty: 1 }, T0, true);
      j.recordEvent(o.clientOrderId, "stream:new", {}, T0, true);
      expect(j.events(o.clientOrderId).map((e) => e.kind)).toEqual(["intent", "stream:new"]);
      expect(errors).toEqual([]);
      if (synchronous === "full") expect(journalErrorOf(() => j.recordEvent("td-elsewhere-1-2", "stream:fill", {}, T0)).message).toContain("td-elsewhere-1-2");
    });
  }
});

describe("journal_sync normal: a batch whose commit fails", () => {
  test("stays queued and in the log (the mark does not move): once SQLite takes writes again, nothing is missing", () => {
    // SQLite refusing the COMMIT (an I/O error, a full disk), injected into the statements the
    // journal prepares at open.
    let failCommit = false;
    const proto = Database.prototype as unknown as { prepare: (...a: unknown[]) => { run: (...a: unknown[]) => unknown } };
    const prepare = proto.prepare;
    proto.prepare = function (this: Database, ...a: unknown[]) {
      const st = prepare.apply(this, a);
      if (a[0] === "COMMIT") {
        const run = st.run.bind(st);
        st.run = (...r: unknown[]) => {
          if (failCommit) throw new Error("disk I/O error (injected)");
          return run(...r);
        };
      }
      return st;
    };
    const p = newPath("commit-fails");
    let j: OrderJournal;
    try {
      j = OrderJournal.open(p, { synchronous: "normal" });
    } finally {
      proto.prepare = prepare;
    }
    const o = intentOf(j, 1);
    j.recordIntent(o);
    j.recordAccepted(o.clientOrderId, "b-1", "new", T0 + 1);
    failCommit = true;
    expect(() => j.get(o.clientOrderId)).toThrow("injected");
    failCommit = false;
    expect(opLogLines(p).join("\n")).toContain(o.clientOrderId);
    expect(j.get(o.clientOrderId)?.state).toBe("accepted"); // the same batch, applied this time
    j.close();
    using r = OrderJournal.open(p, { readonly: true });
    expect(r.events(o.clientOrderId).map((e) => e.kind)).toEqual(["intent", "accepted"]);
  });
});
