/**
 * Wall-clock timestamps as the real server writes them: Go's `time.RFC3339Nano` (nanoseconds,
 * trailing zeros dropped: `2023-12-12T22:31:24.668464435Z`, `2021-03-16T18:38:01.942282Z`), in
 * UTC for orders and events, with the New York offset for the clock
 * (`2022-04-28T14:07:04.451420928-04:00`).
 */

/**
 * Epoch nanoseconds: `Date.now()` once, then the monotonic clock's progress, so readings are
 * nanosecond-grained and never go backwards (each is at least 1 ns after the previous one: orders
 * submitted back to back still sort by `submitted_at`).
 */
export class WallClock {
  #epochNs0 = BigInt(Date.now()) * 1_000_000n;
  #mono0 = process.hrtime.bigint();
  #last = 0n;

  nowNs(): bigint {
    let t = this.#epochNs0 + (process.hrtime.bigint() - this.#mono0);
    if (t <= this.#last) t = this.#last + 1n;
    this.#last = t;
    return t;
  }

  /** `nowNs()` as RFC3339Nano UTC. */
  now(): string {
    return rfc3339Nano(this.nowNs());
  }
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** `epochNs` as Go's RFC3339Nano; `offsetMinutes` 0 gives `Z`, else `±hh:mm` local time. */
export function rfc3339Nano(epochNs: bigint, offsetMinutes = 0): string {
  const seconds = epochNs / 1_000_000_000n;
  const nanos = epochNs % 1_000_000_000n;
  const local = new Date(Number(seconds) * 1000 + offsetMinutes * 60_000);
  const fraction = nanos === 0n ? "" : `.${nanos.toString().padStart(9, "0").replace(/0+$/, "")}`;
  return (
    `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction}${offsetText(offsetMinutes)}`
  );
}

function offsetText(offsetMinutes: number): string {
  if (offsetMinutes === 0) return "Z";
  const sign = offsetMinutes < 0 ? "-" : "+";
  const m = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A query timestamp (`after`, `until`) as epoch nanoseconds: RFC3339 with up to 9 fraction
 * digits, or a bare date (midnight UTC). Null if unreadable.
 */
export function parseTimestampNs(text: string): bigint | null {
  const m = TIMESTAMP.exec(text.trim());
  if (m === null) return null;
  const time = m[2] === undefined ? "00:00:00" : m[2].length === 5 ? `${m[2]}:00` : m[2];
  const ms = Date.parse(`${m[1]}T${time}${m[4] ?? "Z"}`);
  if (Number.isNaN(ms)) return null;
  const fraction = BigInt((m[3] ?? "").padEnd(9, "0") || "0");
  return BigInt(ms) * 1_000_000n + fraction;
}
