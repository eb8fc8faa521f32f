/**
 * The risk day: `risk.daily_loss_limit` counts the P&L from the start of the trading day, and the
 * day starts at `risk.day_starts_at` ("HH:MM") in New York, the US exchanges' clock, whatever the
 * host's time zone. 04:00 (the default) is when US pre-market trading opens. Daylight saving
 * time is New York's (from the runtime's time-zone data): 04:00 is 09:00 UTC in winter and
 * 08:00 UTC in summer.
 *
 * Not on the order path: the strategy worker asks about once a second whether a new day has
 * started (`RiskEngine.newDay`).
 */

export const TRADING_TIME_ZONE = "America/New_York";

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** "HH:MM" (00:00–23:59) → minutes after midnight, or NaN. */
export function minutesOfDay(hhmm: string): number {
  const m = HHMM.exec(hhmm);
  return m === null ? Number.NaN : Number(m[1]) * 60 + Number(m[2]);
}

/** Minutes after midnight → "HH:MM". */
export function hhmmOf(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

const parts = new Intl.DateTimeFormat("en-US", {
  timeZone: TRADING_TIME_ZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "numeric",
  second: "numeric",
});

/** New York's wall clock at `utcMs`, as if it were UTC (ms), to the second. */
function localAsUtc(utcMs: number): number {
  const p: Record<string, number> = {};
  for (const { type, value } of parts.formatToParts(new Date(utcMs))) if (type !== "literal") p[type] = Number(value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/** New York's offset from UTC at `utcMs`, in ms (-5 h in winter, -4 h in summer). */
export function newYorkOffsetMs(utcMs: number): number {
  return localAsUtc(Math.floor(utcMs / 1000) * 1000) - Math.floor(utcMs / 1000) * 1000;
}

/** The UTC instant of New York wall time `minutes` on the local date (y, m0, d); days may overflow. */
function newYorkToUtc(y: number, m0: number, d: number, minutes: number): number {
  const wall = Date.UTC(y, m0, d, 0, minutes);
  // Two passes: the offset at the guess, then at the instant it gives (a DST change in between).
  // A wall time skipped by the spring-forward gap maps to the same wall time an hour later (02:30
  // on that day is 03:30 EDT), as if the clock had not jumped.
  const first = wall - newYorkOffsetMs(wall);
  const second = wall - newYorkOffsetMs(first);
  return localAsUtc(second) === wall ? second : first;
}

/** The day start (New York `minutes` after midnight) `days` days from `atMs`'s New York date. */
function dayStart(atMs: number, minutes: number, days: number): number {
  const local = new Date(localAsUtc(atMs));
  return newYorkToUtc(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + days, minutes);
}

/** The last start of a trading day (New York `minutes` after midnight) at or before `atMs` (UTC ms). */
export function lastDayStartMs(atMs: number, minutes: number): number {
  const today = dayStart(atMs, minutes, 0);
  return today <= atMs ? today : dayStart(atMs, minutes, -1);
}

/** The first start of a trading day (New York `minutes` after midnight) strictly after `afterMs` (UTC ms). */
export function nextDayStartMs(afterMs: number, minutes: number): number {
  const today = dayStart(afterMs, minutes, 0);
  return today > afterMs ? today : dayStart(afterMs, minutes, 1);
}
