/**
 * `GET /v2/clock` for the fake: regular US equity hours, 09:30–16:00 America/New_York, Monday to
 * Friday. Holidays and early closes are not modelled. `is_open` can be forced (tests that need an
 * open or closed market whatever the hour); `next_open`/`next_close` always follow the schedule.
 *
 * Shape and formats as the docs' example: `{"timestamp":"2022-04-28T14:07:04.451420928-04:00",
 * "is_open":true,"next_open":"2022-04-29T09:30:00-04:00","next_close":"2022-04-28T16:00:00-04:00"}`.
 */
import { rfc3339Nano } from "./timestamps.ts";

export interface AlpacaClock {
  timestamp: string;
  is_open: boolean;
  next_open: string;
  next_close: string;
}

const NEW_YORK = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  weekday: "short",
  timeZoneName: "longOffset",
});

interface NewYorkTime {
  year: number;
  month: number;
  day: number;
  /** 0 Sunday … 6 Saturday. */
  weekday: number;
  minuteOfDay: number;
  offsetMinutes: number;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const OPEN_MINUTE = 9 * 60 + 30;
const CLOSE_MINUTE = 16 * 60;

export function newYorkTime(epochMs: number): NewYorkTime {
  const parts: Record<string, string> = {};
  for (const p of NEW_YORK.formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  // "GMT-04:00" (or "GMT" at offset zero, which New York never has).
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(parts.timeZoneName ?? "");
  const offsetMinutes = m === null ? 0 : (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ""),
    minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute),
    offsetMinutes,
  };
}

/** Epoch ms of `minuteOfDay` on New York calendar day (year, month, day + dayOffset). */
function newYorkEpochMs(year: number, month: number, day: number, dayOffset: number, minuteOfDay: number): number {
  const guessUtc = Date.UTC(year, month - 1, day + dayOffset, 0, minuteOfDay);
  // The offset at the guess is the offset at the answer except within an hour of a DST switch (at 2 am, never at 9:30 or 16:00).
  return guessUtc - newYorkTime(guessUtc).offsetMinutes * 60_000;
}

/** The clock at `epochNs`; `forceOpen` overrides `is_open` when not undefined. */
export function marketClock(epochNs: bigint, forceOpen?: boolean): AlpacaClock {
  const epochMs = Number(epochNs / 1_000_000n);
  const ny = newYorkTime(epochMs);
  const isTradingDay = (weekday: number): boolean => weekday >= 1 && weekday <= 5;
  let nextOpen = 0;
  let nextClose = 0;
  for (let d = 0; d <= 7 && (nextOpen === 0 || nextClose === 0); d++) {
    if (!isTradingDay((ny.weekday + d) % 7)) continue;
    const open = newYorkEpochMs(ny.year, ny.month, ny.day, d, OPEN_MINUTE);
    const close = newYorkEpochMs(ny.year, ny.month, ny.day, d, CLOSE_MINUTE);
    if (nextOpen === 0 && open > epochMs) nextOpen = open;
    if (nextClose === 0 && close > epochMs) nextClose = close;
  }
  const scheduledOpen = isTradingDay(ny.weekday) && ny.minuteOfDay >= OPEN_MINUTE && ny.minuteOfDay < CLOSE_MINUTE;
  const atNewYork = (ms: number): string => rfc3339Nano(BigInt(ms) * 1_000_000n, newYorkTime(ms).offsetMinutes);
  return {
    timestamp: rfc3339Nano(epochNs, ny.offsetMinutes),
    is_open: forceOpen ?? scheduledOpen,
    next_open: atNewYork(nextOpen),
    next_close: atNewYork(nextClose),
  };
}
