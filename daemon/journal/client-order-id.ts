/**
 * client_order_id: `td-<run id>-<local order id base36>`, where the run id is
 * `<journal tag>-<run number base36>`, e.g. `td-k3x9q2mz-1b-2s`.
 *
 * - Unique across restarts: the run number comes from an AUTOINCREMENT key of the journal's
 *   `runs` table (SQLite never reuses one, even after rows are deleted), and the local order id
 *   is unique within a run.
 * - Unique across journals: the journal tag is 8 random base36 characters drawn when the file
 *   is created, so a journal that is deleted and created again (or a second host on the same
 *   account) does not repeat the ids of the first. Alpaca rejects a reused id with 422 "client
 *   order id must be unique", and a look-up by that id would find the old order, not ours.
 * - ≤ 48 characters (the older Alpaca limit; the current spec allows 128): 3 + 8 + 1 + 7 + 1 + 11
 *   = 31 at most (run numbers below 36^7, local ids up to 2^53).
 * - Only `[a-z0-9-]`, a subset of what every broker we know accepts.
 */

export const CLIENT_ORDER_ID_MAX = 48;
const VALID = /^[A-Za-z0-9_-]{1,48}$/;
const TAG_LENGTH = 8;

/** True when `id` is a client_order_id the journal may store (≤ 48 characters of [A-Za-z0-9-_]). */
export function isValidClientOrderId(id: string): boolean {
  return VALID.test(id);
}

/** 8 random base36 characters for a new journal. */
export function newJournalTag(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TAG_LENGTH));
  let s = "";
  for (const b of bytes) s += (b % 36).toString(36); // 256 % 36 = 4: a slight bias, harmless for a tag
  return s;
}

export function runIdOf(journalTag: string, runNumber: number): string {
  return `${journalTag}-${runNumber.toString(36)}`;
}

export function clientOrderIdOf(runId: string, localOrderId: number): string {
  return `td-${runId}-${localOrderId.toString(36)}`;
}
