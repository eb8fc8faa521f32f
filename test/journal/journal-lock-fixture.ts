/**
 * Holds a journal file locked until killed, then prints "held":
 * - `exclusive`: a plain SQLite connection inside `BEGIN EXCLUSIVE` (any other writer);
 * - `journal`: an OrderJournal open for writing (another tradingd).
 *
 *   bun journal-lock-fixture.ts <journal path> <exclusive|journal>
 */
import { Database } from "bun:sqlite";
import { OrderJournal } from "../../daemon/journal/index.ts";

const [path, how] = process.argv.slice(2) as [string, string];
let held: Database | OrderJournal;
if (how === "exclusive") {
  const db = new Database(path, { readwrite: true });
  db.run("BEGIN EXCLUSIVE");
  db.query("SELECT count(*) FROM orders").get();
  held = db;
} else {
  held = OrderJournal.open(path);
}
process.stdout.write("held\n");
// Referenced from the timer: a collected handle would close and let go of the lock.
setInterval(() => held, 1 << 30);
