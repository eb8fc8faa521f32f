/**
 * The order journal: every order is written here before it is sent, and every ack, fill,
 * cancel and reject after, so that a crash at any point leaves enough to resolve each order at
 * startup (the gateway looks the in-doubt ones up at the broker by client_order_id).
 *
 * | when | call | state after |
 * |---|---|---|
 * | before the first byte goes out | `writeAhead` (then, if it returned true, `recordIntent` right after the send) or `recordIntent` | `intent` |
 * | the request was written to the socket | `markSent` | `sent` |
 * | timeout, reset, 5xx: outcome unknown (look it up, never resend blind) | `markUnknown` | `unknown` |
 * | the broker acknowledged it | `recordAccepted` | `accepted` |
 * | an execution | `recordFill` (idempotent per execution id) | `accepted` (or as it was, if later) |
 * | filled / canceled / expired / rejected / replaced / the look-up found nothing | `recordTerminal` | that state |
 * | anything else worth keeping (cancel requested, look-up result, ...) | `recordEvent` | unchanged |
 *
 * Every call above appends to the order's event log in the same transaction. States only move
 * forward (ranks in `types.ts`): a transition that would go back (a late ack after the fill, a
 * second terminal status) is still written to the event log, flagged `stale`, and leaves the
 * order as it was. Facts are kept even then: a fill always adds to the filled quantity, and a
 * late ack still records the broker order id if the journal had none.
 *
 * Durability: WAL mode, `synchronous = FULL` by default. In WAL mode NORMAL loses no data when
 * the process dies, but can lose the last commits when the host loses power or the kernel
 * crashes; an intent lost that way belongs to an order that may be live at the broker, which
 * is exactly what the journal exists to prevent. FULL syncs the WAL on every commit; the cost
 * per order, FULL versus NORMAL, is measured by `bench/journal.bench.ts` (BENCHMARKS.md).
 *
 * The op log (`journal_sync: normal` only). Under NORMAL a commit is durable once SQLite has
 * handed it to the OS (no fsync). A commit of this schema (two tables, several indexes: about a
 * dozen page writes) cost ~150-200 µs at trading pace here, and an order makes four or five of
 * them (intent, ack, stream events, end): on the trading thread that was the largest part of
 * tick-to-order, and work a next tick had to wait behind. So under NORMAL every write call
 * appends one line to `<journal>-oplog` (a copy into a shared mapping of the file, no system
 * call, or a `pwrite` where mapping is unsafe: the same durability as a NORMAL commit; see
 * oplog.ts) and returns; the line is applied to SQLite later on the same thread, a few
 * operations per transaction, each batch in its own `setImmediate` so the event loop (the next
 * frame) runs in between. Reads (`get`, `inDoubt`, ...) and `close` apply what is pending
 * first. SQLite records the last applied (run, sequence) in the same transaction, so `open`
 * replays exactly the lines a crash left unapplied (a line cut short by the crash is ignored:
 * its call never returned, so for an intent the order was never sent), then empties the log.
 * Errors found when applying (an ack for an order the journal does not know) go to
 * `onError` and the log; the other operations of the batch are kept. Under FULL each call
 * commits and syncs before it returns, as the class table says.
 *
 * One writer: a journal opened for writing holds SQLite's exclusive lock until `close()`
 * (`locking_mode = EXCLUSIVE`), so a second tradingd on the same file fails at open with a
 * "locked" JournalError instead of interleaving its orders with ours. A side effect: while the
 * daemon runs, other processes cannot read the file either (use `/status`); a read-only open
 * (`{ readonly: true }`) is for when it is stopped.
 *
 * Threads: one OrderJournal per thread (bun:sqlite handles are not shared); the execution
 * worker owns it. Every write is a prepared statement (prepared once, in the constructor)
 * inside one short transaction; each call allocates a little (bound strings, one row object,
 * the event's JSON).
 *
 * @example
 * using journal = OrderJournal.open(config.journal_path);
 * for (const o of journal.inDoubt()) await gateway.lookUp(o.clientOrderId);
 * const clientOrderId = journal.newClientOrderId(orderId);
 * journal.recordIntent({ clientOrderId, localOrderId: orderId, symbol: "AAPL", side: "buy",
 *   type: "limit", timeInForce: "day", qty: 10, limitPrice: 150, createdAtMs: Date.now() });
 * socket.write(request);
 * journal.markSent(clientOrderId, Date.now());
 */
import { Database } from "bun:sqlite";
import { existsSync, writeFileSync } from "node:fs";
import { logger } from "../log.ts";
import { VERSION } from "../version.ts";
import { clientOrderIdOf, isValidClientOrderId, runIdOf } from "./client-order-id.ts";
import { JournalError, fileProblem, sqliteCode } from "./errors.ts";
import { BUSY_TIMEOUT_MS, inspectJournalFile, pragmaNumber } from "./inspect.ts";
import { APPLICATION_ID, migrate } from "./schema.ts";
import { OpLog } from "./oplog.ts";
import type { FillDecimals, JournalEvent, JournalOrder, OrderIntent, OrderState, TerminalState } from "./types.ts";
import { STATE_RANK } from "./types.ts";

export interface OpenOptions {
  /** Open an existing journal for reading only (no run is recorded; every write throws). */
  readonly?: boolean;
  /** `full` (default): each call commits and syncs. `normal`: the op log (see the class doc). */
  synchronous?: "full" | "normal";
  /** `normal`: an operation that failed when applied (default: logged as an error). */
  onError?: (e: Error) => void;
}

const ORDER_COLUMNS = `client_order_id AS clientOrderId, run_id AS runId, local_order_id AS localOrderId, symbol, side,
  type, time_in_force AS timeInForce, qty, limit_price AS limitPrice, stop_price AS stopPrice, qty_decimal AS qtyDecimal,
  limit_price_decimal AS limitPriceDecimal, stop_price_decimal AS stopPriceDecimal, created_at_ms AS createdAtMs, state,
  broker_order_id AS brokerOrderId, broker_status AS brokerStatus, sent_at_ms AS sentAtMs,
  accepted_at_ms AS acceptedAtMs, terminal_at_ms AS terminalAtMs, reason, filled_qty AS filledQty,
  avg_fill_price AS avgFillPrice, updated_at_ms AS updatedAtMs`;

/** Event kinds the transitions write; `recordEvent` may not use them. */
const TRANSITION_KINDS: ReadonlySet<string> = new Set([
  "intent",
  "sent",
  "unknown",
  "accepted",
  "fill",
  "fill_conflict",
  "filled",
  "canceled",
  "expired",
  "rejected",
  "replaced",
  "not_found",
]);

interface Current {
  state: OrderState;
  rank: number;
  brokerOrderId: string | null;
  filledQty: number;
  fillNotional: number;
}

type EventRow = Omit<JournalEvent, "stale" | "detail"> & { stale: number; detail: string };
/** One write call, as the op log keeps it (after `[run, seq]`). */
type Op =
  | ["intent", OrderIntent]
  | ["sent", string, number]
  | ["unknown", string, string, number]
  | ["accepted", string, string, string, number]
  | ["fill", string, string, number, number, number, FillDecimals | null]
  | ["terminal", string, TerminalState, string, number]
  | ["event", string, string, object, number, boolean];
/** Operations applied per transaction (and per event-loop turn) when the op log is behind. */
const APPLY_BATCH = 8;
/** The op log is emptied once it holds this much and every line in it is applied. */
const OPLOG_TRUNCATE_BYTES = 1 << 20;
const log = logger("journal");
type Row = Record<string, unknown>;

export class OrderJournal implements Disposable {
  /** A new id per open for writing (`<journal tag>-<run number base36>`); null when read-only. */
  readonly runId: string | null;
  readonly path: string;
  readonly #db: Database;
  readonly #readonly: boolean;
  #closed = false;
  readonly #s: ReturnType<typeof prepare>;
  /** The op log (`journal_sync: normal`, a mapped file: see oplog.ts), or null (every call commits). */
  #opLog: OpLog | null = null;
  #opSeq = 0;
  /** An op failed to apply since the log was last emptied: keep the log (it is evidence). */
  #applyFailed = false;
  /** Evidence copies of the op log made by this run (`#keepOpLog`). */
  #keptCopies = 0;
  readonly #pending: Op[] = [];
  #applyScheduled = false;
  /** True while an op is applied: the public methods then write to SQLite. */
  #applying = false;
  /** Executions recorded by this run (recordFill's answer before its line is applied). */
  readonly #fillsSeen = new Set<string>();
  #onError: (e: Error) => void = (e) => log.error(`journal: ${e.message}`);
  /** What `open` found in the op log and applied: the intents among it, and the ops in all. */
  readonly recovered = { ops: 0, intents: [] as string[], errors: [] as string[] };

  private constructor(db: Database, path: string, runId: string | null) {
    this.#db = db;
    this.path = path;
    this.runId = runId;
    this.#readonly = runId === null;
    this.#s = prepare(db);
  }

  /** Where the op log of the journal at `path` lives. */
  static opLogPath(path: string): string {
    return `${path}-oplog`;
  }

  /**
   * Opens the journal at `path`, creating it (and its schema) if absent. An existing file is
   * checked first through a read-only connection (see `inspect.ts`): a corrupt file, one that is
   * not a tradingd journal, one from a newer tradingd, or one another process holds locked gives
   * a JournalError and is left untouched.
   */
  static open(path: string, opts: OpenOptions = {}): OrderJournal {
    const verdict = existsSync(path) ? inspectJournalFile(path) : null;
    if (opts.readonly === true) {
      if (verdict === null || verdict.kind === "empty") {
        throw new JournalError("io", path, "no journal to open read-only (the file does not exist or is empty). Check journal_path");
      }
      return OrderJournal.#wrap(path, () => {
        const db = new Database(path, { readonly: true });
        db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
        return new OrderJournal(db, path, null);
      });
    }
    let db: Database | null = null;
    return OrderJournal.#wrap(
      path,
      () => {
        db = new Database(path, { readwrite: true, create: true });
        db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
        // Before WAL mode is entered, so the WAL index lives in heap memory (no -shm file) and
        // the lock is held from the first read to close().
        db.run("PRAGMA locking_mode = EXCLUSIVE");
        // Again, now under our own lock: the file may have changed since it was inspected.
        // Nothing has been written yet.
        const appId = pragmaNumber(db, "application_id");
        if (appId !== APPLICATION_ID && pragmaNumber(db, "page_count") !== 0) {
          throw new JournalError("not-a-journal", path, `application_id ${appId} is not a tradingd journal's. Nothing was written to it`);
        }
        const mode = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get()?.journal_mode;
        if (mode !== "wal") throw new JournalError("io", path, `cannot switch to WAL mode (journal_mode is ${mode}). Put the journal on a local file system`);
        db.run(`PRAGMA synchronous = ${opts.synchronous === "normal" ? "NORMAL" : "FULL"}`);
        db.run("PRAGMA foreign_keys = ON");
        migrate(db);
        const journal = new OrderJournal(db, path, startRun(db));
        if (opts.onError) journal.#onError = opts.onError;
        journal.#replayOpLog(opts.synchronous === "normal");
        return journal;
      },
      () => (db as Database | null)?.close(),
    );
  }

  static #wrap(path: string, open: () => OrderJournal, cleanUp?: () => void): OrderJournal {
    try {
      return open();
    } catch (e) {
      cleanUp?.();
      throw fileProblem(path, e) ?? e;
    }
  }

  /**
   * The client_order_id of local order `localOrderId` in this run: `td-<run id>-<id base36>`,
   * unique across restarts and journals, ≤ 48 characters of [a-z0-9-] (see client-order-id.ts).
   * A pure function of (run, id): the same call gives the same id.
   */
  newClientOrderId(localOrderId: number): string {
    if (this.runId === null) throw this.#readOnly("newClientOrderId");
    if (!Number.isSafeInteger(localOrderId) || localOrderId < 0) {
      throw new JournalError("invalid", this.path, `local order id ${localOrderId} is not a non-negative safe integer`);
    }
    return clientOrderIdOf(this.runId, localOrderId);
  }

  /** Appends `op` to the op log and queues it (true), or false: the caller commits it now. */
  #defer(op: Op): boolean {
    const opLog = this.#opLog;
    if (opLog === null || this.#applying) return false;
    const line = this.#opLine(op);
    if (!opLog.append(line)) {
      // The file is full: SQLite is far behind (or a failed op keeps the log). Apply everything
      // now, on this call (rare: the log starts again at 1 MiB of the 4 MiB file), then start again.
      this.#flush();
      this.#startOpLogAgain(opLog, "the log was full");
      if (!opLog.append(line)) throw new JournalError("invalid", this.path, `an op-log line of ${line.length} characters does not fit the op log (${opLog.capacity} bytes)`);
    }
    this.#opSeq++;
    this.#pending.push(op);
    if (!this.#applyScheduled) {
      this.#applyScheduled = true;
      setImmediate(this.#applySome);
    }
    return true;
  }

  /** Keep-warm's scratch op log (memory only), made on the first `warmIntent`. */
  #warmLog: OpLog | null = null;

  #opLine(op: Op): string {
    return JSON.stringify([this.runId, this.#opSeq + 1, ...op]);
  }

  /**
   * Keep-warm (layout single): runs `recordIntent`'s checks and, under `journal_sync: normal`,
   * formats its op-log line, appends it to a scratch log in memory (a mapped live log) and
   * touches the live log's next page (`OpLog.touchNext`); keeps nothing (no line in the live
   * log, no row, no sequence number).
   */
  warmIntent(o: OrderIntent): void {
    checkIntent(this.path, o);
    const opLog = this.#opLog;
    if (opLog === null) return;
    const line = this.#opLine(["intent", o]);
    // The append too, into a log in memory of the same kind (a mapped live log: a plain buffer).
    const scratch = (this.#warmLog ??= opLog.mode === "mapped" ? OpLog.scratch() : null);
    if (scratch !== null && !scratch.append(line)) {
      scratch.reset();
      scratch.append(line);
    }
    opLog.touchNext();
  }

  readonly #applySome = (): void => {
    this.#applyScheduled = false;
    if (this.#closed) return;
    this.#applyPending(APPLY_BATCH);
    if (this.#pending.length > 0) {
      this.#applyScheduled = true;
      setImmediate(this.#applySome);
    } else if (this.#opLog !== null && this.#opLog.bytes >= OPLOG_TRUNCATE_BYTES && !this.#applyFailed) {
      // Every line is applied and marked: the log starts again.
      this.#opLog.reset();
    }
  };

  /** Applies up to `max` queued ops in one transaction, with the applied mark. */
  #applyPending(max: number): void {
    const n = Math.min(max, this.#pending.length);
    if (n === 0) return;
    // The seq of the batch's last op: pending holds every unapplied op, oldest first.
    const lastSeq = this.#opSeq - this.#pending.length + n;
    const ops = this.#pending.slice(0, n);
    // A failed BEGIN/COMMIT throws before the ops leave the queue: they stay pending, the mark
    // does not move, and the log is not emptied (the thrower decides: a worker dies, systemd
    // restarts it, and open() replays them).
    this.#applyOps(ops.map((op) => [this.runId!, op] as const), this.runId!, lastSeq);
    this.#pending.splice(0, n);
  }

  /**
   * Empties the op log once every line in it is applied and marked. After a failed op the log
   * is evidence: its text is kept in `<op log>.kept-<run>-<n>` first (and the failure is
   * forgotten: the copy holds it). A copy that cannot be written is logged, and the log is
   * emptied anyway: the failed op was reported when it failed, and a log that stays full
   * would refuse every journal write after it.
   */
  #startOpLogAgain(opLog: OpLog, why: string): void {
    if (this.#applyFailed) this.#keepOpLog(opLog, why);
    opLog.reset();
  }

  /** Copies the op log aside as evidence of an op that failed to apply. */
  #keepOpLog(opLog: OpLog, why: string): void {
    const copy = `${opLog.path}.kept-${this.runId}-${++this.#keptCopies}`;
    try {
      writeFileSync(copy, opLog.text(), { mode: 0o600 });
      log.warn(`journal ${this.path}: the op log holds an operation that failed to apply (${why}): kept as ${copy}`);
    } catch (e) {
      log.error(`journal ${this.path}: the op log holds an operation that failed to apply (${why}), and could not be kept as ${copy}: ${(e as Error).message}`);
    }
    this.#applyFailed = false;
  }

  /** Everything queued, now (before a read, at close). */
  #flush(): void {
    while (this.#pending.length > 0) this.#applyPending(64);
  }

  #applyOps(ops: readonly (readonly [string, Op])[], markRun: string, markSeq: number): void {
    this.#s.begin.run();
    try {
      this.#applying = true;
      for (const [run, op] of ops) {
        try {
          this.#apply(run, op);
        } catch (e) {
          this.#applyFailed = true;
          this.#onError(e as Error);
          if (this.#replaying) this.recovered.errors.push((e as Error).message);
        }
      }
      this.#s.markApplied.run(markRun, markSeq);
      this.#s.commit.run();
    } catch (e) {
      if (this.#db.inTransaction) this.#s.rollback.run();
      throw e;
    } finally {
      this.#applying = false;
    }
  }

  #replaying = false;

  #apply(run: string, op: Op): void {
    switch (op[0]) {
      case "intent":
        if (run !== this.runId && this.#s.getOrder.get(op[1].clientOrderId) !== null) return;
        this.#insertIntent(op[1], run, run === this.runId ? null : "op log");
        if (this.#replaying) this.recovered.intents.push(op[1].clientOrderId);
        return;
      case "sent":
        return this.markSent(op[1], op[2]);
      case "unknown":
        return this.markUnknown(op[1], op[2], op[3]);
      case "accepted":
        return this.recordAccepted(op[1], op[2], op[3], op[4]);
      case "fill":
        this.recordFill(op[1], op[2], op[3], op[4], op[5], op[6] ?? undefined);
        return;
      case "terminal":
        return this.recordTerminal(op[1], op[2], op[3], op[4]);
      case "event":
        return this.recordEvent(op[1], op[2], op[3], op[4], op[5]);
    }
  }

  /** Applies what a previous run left unapplied in the op log, empties it, and opens it (normal). */
  #replayOpLog(keepOpen: boolean): void {
    const logPath = OrderJournal.opLogPath(this.path);
    if (existsSync(logPath)) {
      const mark = this.#s.applied.get() ?? { run: "", seq: 0 };
      const todo: [string, Op][] = [];
      let last: [string, number] | null = null;
      for (const line of OpLog.readLines(logPath)) {
        if (line === "") continue;
        let entry: unknown;
        try {
          entry = JSON.parse(line);
        } catch {
          continue; // cut short by a crash: its call never returned
        }
        if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") continue;
        const [run, seq, ...op] = entry as [string, number, ...Op];
        if (run === mark.run && seq <= mark.seq) continue;
        todo.push([run, op as unknown as Op]);
        last = [run, seq];
      }
      if (last !== null) {
        this.#replaying = true;
        try {
          this.#applyOps(todo, last[0], last[1]);
        } finally {
          this.#replaying = false;
        }
        this.recovered.ops = todo.length;
        log.warn(`journal ${this.path}: applied ${todo.length} operation(s) a previous run left in its op log (${this.recovered.intents.length} order intent(s))`);
      }
    }
    if (keepOpen) this.#opLog = OpLog.create(logPath);
    else OpLog.empty(logPath);
  }

  /** Writes the order, state `intent`, before any byte of it is sent. A duplicate id throws. */
  recordIntent(o: OrderIntent): void {
    this.#writable("recordIntent");
    checkIntent(this.path, o);
    if (this.#defer(["intent", o])) return;
    this.#insertIntent(o, this.runId!, null);
  }

  #insertIntent(o: OrderIntent, runId: string, recoveredFrom: string | null): void {
    const now = Date.now();
    const created = Math.round(o.createdAtMs);
    const limit = o.limitPrice ?? null;
    const stop = o.stopPrice ?? null;
    this.#transaction(o.clientOrderId, () => {
      this.#s.insertOrder.run(
        o.clientOrderId,
        runId,
        o.localOrderId,
        o.symbol,
        o.side,
        o.type,
        o.timeInForce,
        o.qty,
        limit,
        stop,
        o.qtyDecimal ?? null,
        o.limitPriceDecimal ?? null,
        o.stopPriceDecimal ?? null,
        created,
        now,
      );
      const detail = { symbol: o.symbol, side: o.side, type: o.type, timeInForce: o.timeInForce, qty: o.qty, limitPrice: limit, stopPrice: stop, ...(recoveredFrom ? { recoveredFrom } : {}) };
      this.#event(o.clientOrderId, "intent", created, now, "intent", false, detail);
    });
  }

  /** The request was written to the socket. */
  markSent(clientOrderId: string, atMs: number): void {
    this.#writable("markSent");
    if (this.#defer(["sent", clientOrderId, atMs])) return;
    this.#advance(clientOrderId, "sent", atMs, {}, () => this.#s.setSent.run(Math.round(atMs), Date.now(), clientOrderId));
  }

  /** Timeout, connection reset or 5xx: the outcome is unknown; the order must be looked up, never resent blind. */
  markUnknown(clientOrderId: string, why: string, atMs: number = Date.now()): void {
    this.#writable("markUnknown");
    if (this.#defer(["unknown", clientOrderId, why, atMs])) return;
    this.#advance(clientOrderId, "unknown", atMs, { why }, () => this.#s.setUnknown.run(why, Date.now(), clientOrderId));
  }

  /**
   * The broker has the order (`status` as it said: `new`, `accepted`, `pending_new`, ...). A late
   * ack leaves the state alone but still records the broker order id if none was known; an ack
   * naming a different broker order id than the one recorded is written as a stale event only.
   */
  recordAccepted(clientOrderId: string, brokerOrderId: string, status: string, atMs: number): void {
    this.#writable("recordAccepted");
    if (this.#defer(["accepted", clientOrderId, brokerOrderId, status, atMs])) return;
    const at = Math.round(atMs);
    this.#transaction(clientOrderId, () => {
      const cur = this.#current(clientOrderId);
      const now = Date.now();
      const conflict = cur.brokerOrderId !== null && cur.brokerOrderId !== brokerOrderId;
      const applies = !conflict && STATE_RANK.accepted > cur.rank;
      if (applies) this.#s.setAccepted.run(brokerOrderId, status, at, now, clientOrderId);
      else if (!conflict && cur.brokerOrderId === null) this.#s.setBrokerId.run(brokerOrderId, now, clientOrderId);
      const detail = conflict ? { brokerOrderId, status, recordedBrokerOrderId: cur.brokerOrderId } : { brokerOrderId, status };
      this.#event(clientOrderId, "accepted", at, now, applies ? "accepted" : cur.state, !applies, detail);
    });
  }

  /**
   * One execution. Idempotent per (client_order_id, execution_id): a repeat returns false and
   * writes nothing, unless its quantity or price differ from the recorded one, which is written
   * as a stale `fill_conflict` event (the first stays). A new fill adds to the order's filled
   * quantity and average price whatever its state, and moves an order that was not yet
   * `accepted` to `accepted` (the broker clearly has it).
   */
  recordFill(clientOrderId: string, executionId: string, qty: number, price: number, atMs: number, decimals?: FillDecimals): boolean {
    this.#writable("recordFill");
    if (!(qty > 0) || !Number.isFinite(qty) || !(price >= 0) || !Number.isFinite(price)) {
      throw new JournalError("invalid", this.path, `order ${clientOrderId}, execution ${executionId}: qty ${qty} / price ${price} are not a positive quantity and a price`);
    }
    if (this.#opLog !== null && !this.#applying) {
      // Deferred: new unless this run saw it (a repeat from an earlier run is caught on apply).
      const key = `${clientOrderId}\u0000${executionId}`;
      const seen = this.#fillsSeen.has(key);
      // A repeat goes to the log too: applying it writes a fill_conflict event if its quantity or
      // price differ from the first (as under FULL), and nothing otherwise.
      this.#defer(["fill", clientOrderId, executionId, qty, price, atMs, decimals ?? null]); // throws if not written
      if (seen) return false;
      this.#fillsSeen.add(key);
      return true;
    }
    const at = Math.round(atMs);
    return this.#transaction(clientOrderId, () => {
      const cur = this.#current(clientOrderId);
      const now = Date.now();
      const inserted = this.#s.insertFill.run(clientOrderId, executionId, qty, price, decimals?.qty ?? null, decimals?.price ?? null, at, now).changes === 1;
      if (!inserted) {
        const first = this.#s.getFill.get(clientOrderId, executionId)!;
        if (first.qty !== qty || first.price !== price) {
          this.#event(clientOrderId, "fill_conflict", at, now, cur.state, true, { executionId, qty, price, recordedQty: first.qty, recordedPrice: first.price });
        }
        return false;
      }
      const filledQty = cur.filledQty + qty;
      const notional = cur.fillNotional + qty * price;
      const avg = notional / filledQty;
      const state: OrderState = STATE_RANK.accepted > cur.rank ? "accepted" : cur.state;
      this.#s.setFill.run(filledQty, notional, avg, state, STATE_RANK[state], now, clientOrderId);
      this.#event(clientOrderId, "fill", at, now, state, false, { executionId, qty, price, filledQty, avgFillPrice: avg });
      return true;
    });
  }

  /** The order ended (or a look-up found no such order: `not_found`). The first terminal state stays. */
  recordTerminal(clientOrderId: string, status: TerminalState, reason: string, atMs: number): void {
    this.#writable("recordTerminal");
    if (this.#defer(["terminal", clientOrderId, status, reason, atMs])) return;
    const at = Math.round(atMs);
    this.#advance(clientOrderId, status, at, { reason }, () => this.#s.setTerminal.run(status, STATE_RANK[status], reason, at, Date.now(), clientOrderId));
  }

  /**
   * Appends an event that does not change the order's state (a cancel request, a look-up's
   * answer, a reconnect replay). `kind` may not be one the transitions above write.
   */
  recordEvent(clientOrderId: string, kind: string, detail: object, atMs: number, ifKnown = false): void {
    this.#writable("recordEvent");
    if (TRANSITION_KINDS.has(kind)) {
      throw new JournalError("invalid", this.path, `event kind "${kind}" is written by its own method (recordAccepted, recordFill, ...), not recordEvent`);
    }
    if (this.#defer(["event", clientOrderId, kind, detail, atMs, ifKnown])) return;
    const changes = this.#guard(clientOrderId, () =>
      this.#s.insertPlainEvent.run(this.runId, kind, Math.round(atMs), Date.now(), JSON.stringify(detail), clientOrderId).changes,
    );
    // ifKnown: an event about an order the journal may not have (a broker update for an order
    // placed elsewhere) is dropped, not an error.
    if (changes === 0 && !ifKnown) throw this.#unknownOrder(clientOrderId);
  }

  get(clientOrderId: string): JournalOrder | null {
    this.#alive();
    this.#flush();
    return this.#s.getOrder.get(clientOrderId);
  }

  byBrokerId(brokerOrderId: string): JournalOrder | null {
    this.#alive();
    this.#flush();
    return this.#s.getByBroker.get(brokerOrderId);
  }

  /** Orders to look up at the broker before trading: `intent` (maybe sent, maybe not), `sent` without an answer, `unknown`. Oldest first. */
  inDoubt(): JournalOrder[] {
    this.#alive();
    this.#flush();
    return this.#s.inDoubt.all();
  }

  /** Orders the broker accepted that have not ended. Oldest first. */
  open(): JournalOrder[] {
    this.#alive();
    this.#flush();
    return this.#s.openOrders.all();
  }

  /** The order's events in the order they were written. */
  events(clientOrderId: string): JournalEvent[] {
    this.#alive();
    this.#flush();
    return this.#s.events.all(clientOrderId).map((r) => ({ ...r, stale: r.stale === 1, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  /** Marks the run as closed cleanly and releases the file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    if (this.#opLog !== null) {
      // Before the journal counts as closed: applying goes through the write methods.
      this.#flush();
      // Every line reached SQLite (or failed, and is marked): emptied; after a failed op it is
      // copied aside first (the next open starts a new log over the file).
      this.#startOpLogAgain(this.#opLog, "at close");
      this.#opLog.close();
      this.#opLog = null;
    }
    this.#closed = true;
    try {
      if (!this.#readonly) this.#s.closeRun.run(Date.now(), this.runId);
    } finally {
      for (const s of Object.values(this.#s)) s.finalize();
      this.#db.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // -------------------------------------------------------------------------------------------

  /** A state transition: applied if it moves the order forward, else written as a stale event. */
  #advance(clientOrderId: string, to: OrderState, atMs: number, detail: object, apply: () => void): void {
    const at = Math.round(atMs);
    this.#transaction(clientOrderId, () => {
      const cur = this.#current(clientOrderId);
      const applies = STATE_RANK[to] > cur.rank;
      if (applies) apply();
      this.#event(clientOrderId, to, at, Date.now(), applies ? to : cur.state, !applies, detail);
    });
  }

  #event(clientOrderId: string, kind: string, atMs: number, nowMs: number, state: OrderState, stale: boolean, detail: object): void {
    this.#s.insertEvent.run(clientOrderId, this.runId, kind, atMs, nowMs, state, stale ? 1 : 0, JSON.stringify(detail));
  }

  #current(clientOrderId: string): Current {
    const cur = this.#s.current.get(clientOrderId);
    if (cur === null) throw this.#unknownOrder(clientOrderId);
    return cur;
  }

  #transaction<T>(clientOrderId: string, fn: () => T): T {
    if (this.#applying) {
      // Inside a batch of the op log: a savepoint, so a failing op leaves the others.
      return this.#guard(clientOrderId, () => {
        this.#s.savepoint.run();
        try {
          const r = fn();
          this.#s.release.run();
          return r;
        } catch (e) {
          this.#s.rollbackTo.run();
          this.#s.release.run();
          throw e;
        }
      });
    }
    return this.#guard(clientOrderId, () => {
      this.#s.begin.run();
      try {
        const r = fn();
        this.#s.commit.run();
        return r;
      } catch (e) {
        if (this.#db.inTransaction) this.#s.rollback.run();
        throw e;
      }
    });
  }

  /** Turns SQLite's constraint errors into JournalErrors that say which rule the call broke. */
  #guard<T>(clientOrderId: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof JournalError) throw e;
      const code = sqliteCode(e);
      const said = (e as Error).message;
      if (code === "SQLITE_CONSTRAINT_PRIMARYKEY" && said.includes("orders.client_order_id")) {
        throw new JournalError("invalid", this.path, `order ${clientOrderId} is already journaled: client order ids are never reused`, { cause: e });
      }
      if (code === "SQLITE_CONSTRAINT_UNIQUE" && said.includes("orders.broker_order_id")) {
        throw new JournalError("invalid", this.path, `order ${clientOrderId}: its broker order id is already recorded for another order (${said})`, { cause: e });
      }
      if (code.startsWith("SQLITE_CONSTRAINT")) {
        throw new JournalError("invalid", this.path, `order ${clientOrderId}: ${(e as Error).message}`, { cause: e });
      }
      throw fileProblem(this.path, e) ?? e;
    }
  }

  #unknownOrder(clientOrderId: string): JournalError {
    return new JournalError("invalid", this.path, `no order with client_order_id ${clientOrderId} in the journal; record its intent first`);
  }

  #alive(): void {
    if (this.#closed) throw new JournalError("closed", this.path, "used after close()");
  }

  #writable(what: string): void {
    this.#alive();
    if (this.#readonly) throw this.#readOnly(what);
  }

  #readOnly(what: string): JournalError {
    return new JournalError("read-only", this.path, `${what}: the journal was opened read-only`);
  }
}

/** Records this open as a new run; returns its id. */
function startRun(db: Database): string {
  db.run("BEGIN IMMEDIATE");
  try {
    const tag = db.query<{ tag: string }, []>("SELECT tag FROM journal WHERE id = 1").get()!.tag;
    const seq = db.query<{ n: number }, []>("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'runs'), 0) + 1 AS n").get()!.n;
    const runId = runIdOf(tag, seq);
    db.run("INSERT INTO runs (run_number, run_id, started_at_ms, pid, tradingd_version) VALUES (?, ?, ?, ?, ?)", [seq, runId, Date.now(), process.pid, VERSION]);
    db.run("COMMIT");
    return runId;
  } catch (e) {
    if (db.inTransaction) db.run("ROLLBACK");
    throw e;
  }
}

/** Every statement the journal runs, prepared once per open. */
function prepare(db: Database) {
  type Id = [string];
  const q = <R, P extends (string | number | null)[]>(sql: string) => db.prepare<R, P>(sql);
  return {
    begin: q<Row, []>("BEGIN IMMEDIATE"),
    savepoint: q<Row, []>("SAVEPOINT op"),
    release: q<Row, []>("RELEASE op"),
    rollbackTo: q<Row, []>("ROLLBACK TO op"),
    applied: q<{ run: string; seq: number }, []>("SELECT run_id AS run, applied_seq AS seq FROM oplog_applied WHERE id = 1"),
    markApplied: q<Row, [string, number]>(
      "INSERT INTO oplog_applied (id, run_id, applied_seq) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, applied_seq = excluded.applied_seq",
    ),
    commit: q<Row, []>("COMMIT"),
    rollback: q<Row, []>("ROLLBACK"),
    insertOrder: q<Row, (string | number | null)[]>(
      `INSERT INTO orders (client_order_id, run_id, local_order_id, symbol, side, type, time_in_force, qty, limit_price,
         stop_price, qty_decimal, limit_price_decimal, stop_price_decimal, created_at_ms, state, state_rank, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'intent', 0, ?)`,
    ),
    current: q<Current, Id>(
      "SELECT state, state_rank AS rank, broker_order_id AS brokerOrderId, filled_qty AS filledQty, fill_notional AS fillNotional FROM orders WHERE client_order_id = ?",
    ),
    setSent: q<Row, [number, number, string]>(
      "UPDATE orders SET state = 'sent', state_rank = 1, sent_at_ms = ?, updated_at_ms = ? WHERE client_order_id = ?",
    ),
    setUnknown: q<Row, [string, number, string]>(
      "UPDATE orders SET state = 'unknown', state_rank = 2, reason = ?, updated_at_ms = ? WHERE client_order_id = ?",
    ),
    setAccepted: q<Row, [string, string, number, number, string]>(
      `UPDATE orders SET state = 'accepted', state_rank = 4, broker_order_id = ?, broker_status = ?, accepted_at_ms = ?,
         reason = NULL, updated_at_ms = ? WHERE client_order_id = ?`,
    ),
    setBrokerId: q<Row, [string, number, string]>("UPDATE orders SET broker_order_id = ?, updated_at_ms = ? WHERE client_order_id = ?"),
    insertFill: q<Row, [string, string, number, number, string | null, string | null, number, number]>(
      `INSERT OR IGNORE INTO fills (client_order_id, execution_id, qty, price, qty_decimal, price_decimal, at_ms, recorded_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getFill: q<{ qty: number; price: number }, [string, string]>("SELECT qty, price FROM fills WHERE client_order_id = ? AND execution_id = ?"),
    setFill: q<Row, [number, number, number, string, number, number, string]>(
      `UPDATE orders SET filled_qty = ?, fill_notional = ?, avg_fill_price = ?, state = ?, state_rank = ?, updated_at_ms = ?
       WHERE client_order_id = ?`,
    ),
    setTerminal: q<Row, [string, number, string, number, number, string]>(
      "UPDATE orders SET state = ?, state_rank = ?, reason = ?, terminal_at_ms = ?, updated_at_ms = ? WHERE client_order_id = ?",
    ),
    insertEvent: q<Row, [string, string | null, string, number, number, string, number, string]>(
      "INSERT INTO events (client_order_id, run_id, kind, at_ms, recorded_at_ms, state, stale, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    insertPlainEvent: q<Row, [string | null, string, number, number, string, string]>(
      `INSERT INTO events (client_order_id, run_id, kind, at_ms, recorded_at_ms, state, stale, detail)
       SELECT client_order_id, ?, ?, ?, ?, state, 0, ? FROM orders WHERE client_order_id = ?`,
    ),
    getOrder: q<JournalOrder, Id>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE client_order_id = ?`),
    getByBroker: q<JournalOrder, Id>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE broker_order_id = ?`),
    inDoubt: q<JournalOrder, []>(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE state IN ('intent', 'sent', 'unknown') ORDER BY created_at_ms, rowid`,
    ),
    openOrders: q<JournalOrder, []>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE state = 'accepted' ORDER BY created_at_ms, rowid`),
    events: q<EventRow, Id>(
      `SELECT seq, client_order_id AS clientOrderId, run_id AS runId, kind, at_ms AS atMs, recorded_at_ms AS recordedAtMs, state,
         stale, detail FROM events WHERE client_order_id = ? ORDER BY seq`,
    ),
    closeRun: q<Row, [number, string | null]>("UPDATE runs SET closed_at_ms = ? WHERE run_id = ?"),
  };
}

function checkIntent(path: string, o: OrderIntent): void {
  if (!isValidClientOrderId(o.clientOrderId)) {
    throw new JournalError("invalid", path, `client_order_id ${JSON.stringify(o.clientOrderId)} is not 1-48 characters of [A-Za-z0-9-_]`);
  }
  if (!(o.qty > 0) || !Number.isFinite(o.qty)) throw new JournalError("invalid", path, `order ${o.clientOrderId}: qty ${o.qty} is not a positive number`);
}
