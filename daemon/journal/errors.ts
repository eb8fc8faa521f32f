/**
 * The one error the order journal throws. `code` says what is wrong; the message names the file,
 * what was found, and what to do about it, so that ops can act on the log line alone.
 */
export type JournalErrorCode =
  /** Not an SQLite file, or an SQLite file whose pages fail `PRAGMA quick_check`. */
  | "corrupt"
  /** A sound SQLite file that is not a tradingd journal (application_id or schema differ). */
  | "not-a-journal"
  /** A journal written by a newer tradingd (schema version above what this build knows). */
  | "newer-schema"
  /** Another process holds the file's lock (most likely another tradingd on the same journal). */
  | "locked"
  /** The file or its directory cannot be opened or created (missing directory, permissions). */
  | "io"
  /** A write on a journal opened read-only. */
  | "read-only"
  /** A call after `close()`. */
  | "closed"
  /** A call whose arguments break the journal's rules: an unknown or duplicate client_order_id, a bad id. */
  | "invalid";

export class JournalError extends Error {
  override name = "JournalError";
  constructor(
    readonly code: JournalErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`order journal ${path}: ${message}`, options);
  }
}

/** The SQLite result code of a `bun:sqlite` error (`SQLITE_BUSY`, ...), or "" if it has none. */
export function sqliteCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

const LOCKED_HINT =
  "another process holds its lock, most likely another tradingd using the same journal_path. " +
  "Stop that process, or give each instance its own journal_path";

/**
 * Maps an error raised while opening or checking a journal file to a JournalError, or returns
 * null when it is none of the file problems named here (the caller rethrows it as it is).
 */
export function fileProblem(path: string, e: unknown): JournalError | null {
  if (e instanceof JournalError) return e;
  const code = sqliteCode(e);
  const said = e instanceof Error ? e.message : String(e);
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new JournalError("locked", path, `the file is locked: ${LOCKED_HINT} (${said})`, { cause: e });
  }
  if (code.startsWith("SQLITE_NOTADB")) {
    return new JournalError(
      "corrupt",
      path,
      `not an SQLite database, or its header is damaged (${said}). Nothing was written to it. ` +
        "Move it aside and reconcile with the broker, or restore the journal from a backup",
      { cause: e },
    );
  }
  if (code.startsWith("SQLITE_CORRUPT")) {
    return new JournalError(
      "corrupt",
      path,
      `the database is corrupt (${said}). Nothing was written to it. ` +
        "Keep it for inspection, restore the journal from a backup, or move it aside and reconcile with the broker",
      { cause: e },
    );
  }
  if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_PERM") || code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_IOERR")) {
    return new JournalError(
      "io",
      path,
      `cannot open or write the file (${said}). Check that its directory exists and that tradingd may read and write both`,
      { cause: e },
    );
  }
  return null;
}
