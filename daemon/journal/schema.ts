/**
 * The journal's file format: the application_id that marks a tradingd journal, and the
 * migrations that build its schema, one version at a time.
 *
 * | table | holds | written |
 * |---|---|---|
 * | `schema_migrations` | one row per migration applied: version, time, tradingd version | by `migrate` |
 * | `journal` | one row: the journal's random tag (part of every client_order_id), creation time | once |
 * | `runs` | one row per open for writing: run number, run id, start time, pid, version, clean close time | at open, at close |
 * | `orders` | one row per order: the intent as sent, then its state, broker id, fills summary | intent, then updated in place |
 * | `fills` | one row per execution, keyed by (client_order_id, execution_id) | append-only |
 * | `events` | every transition and every reported event, in order (`seq`) | append-only |
 *
 * "Nothing is ever overwritten or lost" is enforced by the file itself, not only by this code:
 * triggers refuse UPDATE and DELETE on `events` and `fills`, DELETE on `orders` and `runs`, any
 * change to an order's intent columns, and a change of a broker order id once set. `orders`
 * holds the current state for quick look-ups; `events` holds the history it was derived from.
 *
 * Each commit writes one WAL frame per page it touches (measured: ~7 for an intent), so the
 * indexes are few: `orders` has its primary key, the broker id, and a partial index of live
 * orders only; `fills` is clustered on its key (WITHOUT ROWID). No unique index on (run, local
 * order id): the client_order_id is a function of both, and it is the primary key.
 *
 * Tables are STRICT (a wrong type is an error, not a silent conversion). Quantities and prices
 * are REAL (fractional shares exist), with the broker's decimal strings kept beside them where
 * the caller has them; times are INTEGER Unix milliseconds.
 *
 * A migration is appended, never edited: a journal records which versions it has, and
 * `migrate` applies the missing ones in order, each in its own transaction.
 */
import type { Database } from "bun:sqlite";
import { VERSION } from "../version.ts";
import { newJournalTag } from "./client-order-id.ts";

/** `PRAGMA application_id` of a tradingd journal: "TDJL" in ASCII. */
export const APPLICATION_ID = 0x54444a4c;

interface Migration {
  version: number;
  description: string;
  apply(db: Database): void;
}

const IMMUTABLE_ORDER_COLUMNS =
  "client_order_id, run_id, local_order_id, symbol, side, type, time_in_force, qty, limit_price, stop_price, " +
  "qty_decimal, limit_price_decimal, stop_price_decimal, created_at_ms";

const V1 = `
CREATE TABLE journal (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  tag TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  created_by_version TEXT NOT NULL
) STRICT;

CREATE TABLE runs (
  run_number INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL UNIQUE,
  started_at_ms INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  tradingd_version TEXT NOT NULL,
  closed_at_ms INTEGER
) STRICT;

CREATE TABLE orders (
  client_order_id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  local_order_id INTEGER NOT NULL,
  symbol TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
  type TEXT NOT NULL CHECK (type IN ('market', 'limit', 'stop', 'stop_limit')),
  time_in_force TEXT NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'opg', 'cls', 'ioc', 'fok')),
  qty REAL NOT NULL CHECK (qty > 0),
  limit_price REAL,
  stop_price REAL,
  qty_decimal TEXT,
  limit_price_decimal TEXT,
  stop_price_decimal TEXT,
  created_at_ms INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('intent', 'sent', 'unknown', 'not_found', 'accepted',
    'filled', 'canceled', 'expired', 'rejected', 'replaced')),
  state_rank INTEGER NOT NULL,
  broker_order_id TEXT UNIQUE,
  broker_status TEXT,
  sent_at_ms INTEGER,
  accepted_at_ms INTEGER,
  terminal_at_ms INTEGER,
  reason TEXT,
  filled_qty REAL NOT NULL DEFAULT 0,
  fill_notional REAL NOT NULL DEFAULT 0,
  avg_fill_price REAL,
  updated_at_ms INTEGER NOT NULL
) STRICT;

-- Only live orders (in doubt or open): the index stays as small as the working set.
CREATE INDEX orders_live ON orders (state, created_at_ms)
  WHERE state IN ('intent', 'sent', 'unknown', 'accepted');

CREATE TABLE fills (
  client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
  execution_id TEXT NOT NULL,
  qty REAL NOT NULL CHECK (qty > 0),
  price REAL NOT NULL CHECK (price >= 0),
  qty_decimal TEXT,
  price_decimal TEXT,
  at_ms INTEGER NOT NULL,
  recorded_at_ms INTEGER NOT NULL,
  PRIMARY KEY (client_order_id, execution_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  kind TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  recorded_at_ms INTEGER NOT NULL,
  state TEXT NOT NULL,
  stale INTEGER NOT NULL CHECK (stale IN (0, 1)),
  detail TEXT NOT NULL CHECK (json_valid(detail))
) STRICT;
CREATE INDEX events_by_order ON events (client_order_id, seq);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
CREATE TRIGGER fills_append_only_update BEFORE UPDATE ON fills
  BEGIN SELECT RAISE(ABORT, 'journal fills are append-only'); END;
CREATE TRIGGER fills_append_only_delete BEFORE DELETE ON fills
  BEGIN SELECT RAISE(ABORT, 'journal fills are append-only'); END;
CREATE TRIGGER orders_never_deleted BEFORE DELETE ON orders
  BEGIN SELECT RAISE(ABORT, 'journal orders are never deleted'); END;
CREATE TRIGGER runs_never_deleted BEFORE DELETE ON runs
  BEGIN SELECT RAISE(ABORT, 'journal runs are never deleted'); END;
CREATE TRIGGER orders_intent_immutable BEFORE UPDATE OF ${IMMUTABLE_ORDER_COLUMNS} ON orders
  WHEN ${IMMUTABLE_ORDER_COLUMNS.split(", ")
    .map((c) => `NEW.${c} IS NOT OLD.${c}`)
    .join(" OR ")}
  BEGIN SELECT RAISE(ABORT, 'an order''s intent is never changed'); END;
CREATE TRIGGER orders_broker_id_set_once BEFORE UPDATE OF broker_order_id ON orders
  WHEN OLD.broker_order_id IS NOT NULL AND NEW.broker_order_id IS NOT OLD.broker_order_id
  BEGIN SELECT RAISE(ABORT, 'an order''s broker order id is never changed once set'); END;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "journal, runs, orders, fills, events; append-only triggers",
    apply(db) {
      db.run(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.run(V1);
      db.run("INSERT INTO journal (id, tag, created_at_ms, created_by_version) VALUES (1, ?, ?, ?)", [newJournalTag(), Date.now(), VERSION]);
    },
  },
  {
    version: 2,
    description: "oplog_applied: the op log's last applied (run, sequence), for replay after a crash",
    apply(db) {
      db.run(`CREATE TABLE oplog_applied (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  run_id TEXT NOT NULL,
  applied_seq INTEGER NOT NULL
) STRICT`);
    },
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  applied_at_ms INTEGER NOT NULL,
  tradingd_version TEXT NOT NULL,
  description TEXT NOT NULL
) STRICT`;

/** The highest migration recorded in the file; 0 for a file without the version table. */
export function schemaVersionOf(db: Database): number {
  const table = db.query("SELECT 1 AS x FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (table === null) return 0;
  const row = db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM schema_migrations").get();
  return row?.v ?? 0;
}

/**
 * Applies every migration above the file's version, each in one transaction with its row in
 * `schema_migrations` (and `user_version` kept equal, for tools that read only the header).
 */
export function migrate(db: Database): void {
  let current = schemaVersionOf(db);
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.run("BEGIN IMMEDIATE");
    try {
      db.run(VERSION_TABLE);
      m.apply(db);
      db.run("INSERT INTO schema_migrations (version, applied_at_ms, tradingd_version, description) VALUES (?, ?, ?, ?)", [
        m.version,
        Date.now(),
        VERSION,
        m.description,
      ]);
      db.run(`PRAGMA user_version = ${m.version}`);
      db.run("COMMIT");
    } catch (e) {
      if (db.inTransaction) db.run("ROLLBACK");
      throw e;
    }
    current = m.version;
  }
}
