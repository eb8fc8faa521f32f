/**
 * Journals one order up to a step, then dies by SIGKILL (no close, no checkpoint): a crash in
 * the middle of an order. Prints the client_order_id first.
 *
 *   bun journal-crash-fixture.ts <journal path> <intent|sent|unknown|accepted|write-ahead|write-ahead-ack|torn> <local order id>
 *
 * `write-ahead`: journal_sync normal: the intent written to the op log, killed before it is
 * applied to SQLite (a crash right after the send); `write-ahead-ack`: the intent and an ack.
 * `torn`: as write-ahead, then half of a second order's line (a crash in the middle of that
 * write: that order was never sent).
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { OrderJournal } from "../../daemon/journal/index.ts";

const [path, step, local] = process.argv.slice(2) as [string, string, string];
const steps = ["intent", "sent", "unknown", "accepted"];
const upTo = steps.indexOf(step);
const writeAhead = step === "write-ahead" || step === "write-ahead-ack" || step === "torn";
if (upTo < 0 && !writeAhead) throw new Error(`unknown step ${step}`);

const journal = OrderJournal.open(path, { synchronous: writeAhead ? "normal" : "full" });
const localOrderId = Number(local);
const clientOrderId = journal.newClientOrderId(localOrderId);
process.stdout.write(`${clientOrderId}\n`);
const t = 1_700_000_000_000 + localOrderId;
if (writeAhead) {
  const o = { clientOrderId, localOrderId, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "day", qty: 1, limitPrice: 150, createdAtMs: t } as const;
  journal.recordIntent(o);
  if (step === "write-ahead-ack") journal.recordAccepted(clientOrderId, `broker-${localOrderId}`, "new", t + 3);
  if (step === "torn") {
    // Where the next line goes (the first zero byte of the mapped log), half a line: a copy
    // the kill cut short.
    const logPath = OrderJournal.opLogPath(path);
    const at = readFileSync(logPath).indexOf(0);
    const fd = openSync(logPath, "r+");
    writeSync(fd, `["${journal.runId}",2,"intent",{"clientOrderId":"${journal.newClientOrderId(localOrderId + 1)}","loc`, at);
    closeSync(fd);
  }
  process.kill(process.pid, "SIGKILL");
}
journal.recordIntent({ clientOrderId, localOrderId, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "day", qty: 0.5, limitPrice: 150, createdAtMs: t });
if (upTo >= 1) journal.markSent(clientOrderId, t + 1);
if (upTo >= 2) journal.markUnknown(clientOrderId, "timeout after 2000 ms", t + 2);
if (upTo >= 3) journal.recordAccepted(clientOrderId, `broker-${localOrderId}`, "new", t + 3);
process.kill(process.pid, "SIGKILL");
