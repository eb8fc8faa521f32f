/**
 * Checks an existing file before the journal opens it for writing, through a read-only
 * connection: SQLite cannot write the main file through one, so a file that fails a check is
 * left exactly as it was (no header rewrite, no journal-mode switch, no checkpoint).
 *
 * In order: it is an SQLite database (header); it is a tradingd journal (application_id, then
 * the schema version is one this build knows); `PRAGMA quick_check` passes (pages, b-trees and
 * records sound; it skips the index-versus-table cross-check of `integrity_check`, which is
 * O(N log N) where this is O(N)). A read the lock holder refuses becomes a "locked" error.
 */
import { Database } from "bun:sqlite";
import { JournalError, fileProblem } from "./errors.ts";
import { APPLICATION_ID, LATEST_SCHEMA_VERSION, schemaVersionOf } from "./schema.ts";

export type FileVerdict = { kind: "empty" } | { kind: "journal"; schemaVersion: number };

/** How long a connection waits for another's lock before it says "locked". */
export const BUSY_TIMEOUT_MS = 100;

const QUICK_CHECK_LINES_SHOWN = 5;

export function inspectJournalFile(path: string): FileVerdict {
  let db: Database | null = null;
  try {
    db = new Database(path, { readonly: true });
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return verdict(db, path);
  } catch (e) {
    throw fileProblem(path, e) ?? e;
  } finally {
    db?.close();
  }
}

function verdict(db: Database, path: string): FileVerdict {
  const appId = pragmaNumber(db, "application_id");
  const pages = pragmaNumber(db, "page_count");
  if (appId === 0 && pages === 0) return { kind: "empty" };
  if (appId !== APPLICATION_ID) {
    const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name LIMIT 5").all();
    const holds = tables.length === 0 ? "no tables" : `tables ${tables.map((t) => t.name).join(", ")}`;
    throw new JournalError(
      "not-a-journal",
      path,
      `an SQLite database but not a tradingd order journal (application_id ${appId}, expected ${APPLICATION_ID}; ${holds}). ` +
        "Nothing was written to it. Point journal_path at a tradingd journal, or at a path that does not exist yet",
    );
  }
  const version = schemaVersionOf(db);
  if (version === 0) {
    throw new JournalError(
      "not-a-journal",
      path,
      "has the tradingd application_id but no schema_migrations table, so it is not a journal this build can read. " +
        "Nothing was written to it. Move it aside and point journal_path at a new path",
    );
  }
  if (version > LATEST_SCHEMA_VERSION) {
    throw new JournalError(
      "newer-schema",
      path,
      `written by a newer tradingd (journal schema v${version}; this build knows up to v${LATEST_SCHEMA_VERSION}). ` +
        "Nothing was written to it. Run the newer tradingd, or a build that knows this schema",
    );
  }
  const problems = db.query<{ quick_check: string }, []>("PRAGMA quick_check").all().map((r) => r.quick_check);
  if (problems.length !== 1 || problems[0] !== "ok") {
    const shown = problems.slice(0, QUICK_CHECK_LINES_SHOWN).join("; ");
    const more = problems.length > QUICK_CHECK_LINES_SHOWN ? ` (and ${problems.length - QUICK_CHECK_LINES_SHOWN} more)` : "";
    throw new JournalError(
      "corrupt",
      path,
      `the database is corrupt: PRAGMA quick_check reports ${shown}${more}. Nothing was written to it. ` +
        "Keep it for inspection, restore the journal from a backup, or move it aside and reconcile with the broker",
    );
  }
  return { kind: "journal", schemaVersion: version };
}

export function pragmaNumber(db: Database, name: string): number {
  const row = db.query(`PRAGMA ${name}`).get() as Record<string, number> | null;
  return row === null ? 0 : Number(Object.values(row)[0]);
}
