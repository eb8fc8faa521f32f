/**
 * Journals one order up to a step, then dies by SIGKILL (no close, no checkpoint): a crash in
 * the middle of an order. Prints the client_order_id first.
 *
 *   bun journal-crash-fixture.ts <journal path> <intent|sent|unknown|accepted> <local order id>
 */
import { OrderJournal } from "../../daemon/journal/index.ts";

const [path, step, local] = process.argv.slice(2) as [string, string, string];
const steps = ["intent", "sent", "unknown", "accepted"];
const upTo = steps.indexOf(step);
if (upTo < 0) throw new Error(`unknown step ${step}`);

const journal = OrderJournal.open(path);
const localOrderId = Number(local);
const clientOrderId = journal.newClientOrderId(localOrderId);
process.stdout.write(`${clientOrderId}\n`);
const t = 1_700_000_000_000 + localOrderId;
journal.recordIntent({ clientOrderId, localOrderId, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "day", qty: 0.5, limitPrice: 150, createdAtMs: t });
if (upTo >= 1) journal.markSent(clientOrderId, t + 1);
if (upTo >= 2) journal.markUnknown(clientOrderId, "timeout after 2000 ms", t + 2);
if (upTo >= 3) journal.recordAccepted(clientOrderId, `broker-${localOrderId}`, "new", t + 3);
process.kill(process.pid, "SIGKILL");
