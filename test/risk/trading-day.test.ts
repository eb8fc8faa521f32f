import { describe, expect, test } from "bun:test";
import { hhmmOf, lastDayStartMs, minutesOfDay, newYorkOffsetMs, nextDayStartMs } from "../../daemon/risk/trading-day.ts";

const next = (afterIso: string, hhmm = "04:00") => new Date(nextDayStartMs(Date.parse(afterIso), minutesOfDay(hhmm))).toISOString();

describe("the trading day's start in New York", () => {
  test("04:00 New York is 09:00 UTC in winter and 08:00 UTC in summer; the start itself belongs to the next day's search", () => {
    expect({
      winterAfternoon: next("2026-11-27T18:00:00Z"),
      winterJustBefore: next("2026-11-27T08:59:59.999Z"),
      winterAtTheStart: next("2026-11-27T09:00:00Z"),
      summerJustBefore: next("2026-07-01T07:59:00Z"),
      newYearsEve: next("2026-12-31T23:00:00Z"),
      offsets: [newYorkOffsetMs(Date.parse("2026-01-15T12:00:00Z")) / 3.6e6, newYorkOffsetMs(Date.parse("2026-07-15T12:00:00Z")) / 3.6e6],
    }).toEqual({
      winterAfternoon: "2026-11-28T09:00:00.000Z",
      winterJustBefore: "2026-11-27T09:00:00.000Z",
      winterAtTheStart: "2026-11-28T09:00:00.000Z",
      summerJustBefore: "2026-07-01T08:00:00.000Z",
      newYearsEve: "2027-01-01T09:00:00.000Z",
      offsets: [-5, -4],
    });
  });

  test("across the clock changes (2026-03-08 and 2026-11-01): the day starts at 04:00 local on both sides", () => {
    expect({
      springSaturday: next("2026-03-07T12:00:00Z"), // Sunday 04:00 EDT, after the 02:00 jump
      springSunday: next("2026-03-08T12:00:00Z"),
      fallSaturday: next("2026-10-31T12:00:00Z"), // Sunday 04:00 EST, after the 02:00 fall back
      fallSunday: next("2026-11-01T12:00:00Z"),
      skippedTime: next("2026-03-08T05:00:00Z", "02:30"), // 02:30 does not exist that day: the instant after the gap
      repeatedTime: next("2026-11-01T04:00:00Z", "01:30"), // 01:30 happens twice: the first
    }).toEqual({
      springSaturday: "2026-03-08T08:00:00.000Z",
      springSunday: "2026-03-09T08:00:00.000Z",
      fallSaturday: "2026-11-01T09:00:00.000Z",
      fallSunday: "2026-11-02T09:00:00.000Z",
      skippedTime: "2026-03-08T07:30:00.000Z",
      repeatedTime: "2026-11-01T05:30:00.000Z",
    });
  });

  test("the last start at or before an instant: the start itself counts; across a clock change", () => {
    const last = (atIso: string, hhmm = "04:00") => new Date(lastDayStartMs(Date.parse(atIso), minutesOfDay(hhmm))).toISOString();
    expect({
      afternoon: last("2026-11-27T18:00:00Z"),
      atTheStart: last("2026-11-27T09:00:00Z"),
      justBefore: last("2026-11-27T08:59:59.999Z"),
      mondayAfterTheFallBack: last("2026-11-02T12:00:00Z"),
      sundayOfTheFallBack: last("2026-11-01T10:00:00Z"),
    }).toEqual({
      afternoon: "2026-11-27T09:00:00.000Z",
      atTheStart: "2026-11-27T09:00:00.000Z",
      justBefore: "2026-11-26T09:00:00.000Z",
      mondayAfterTheFallBack: "2026-11-02T09:00:00.000Z",
      sundayOfTheFallBack: "2026-11-01T09:00:00.000Z",
    });
  });

  test("HH:MM to minutes and back; anything else is NaN", () => {
    expect({
      minutes: ["00:00", "04:00", "09:30", "23:59"].map(minutesOfDay),
      back: [0, 240, 570, 1439].map(hhmmOf),
      bad: ["24:00", "4:00", "04:60", "04:00:00", "", " 04:00"].map(minutesOfDay),
    }).toEqual({ minutes: [0, 240, 570, 1439], back: ["00:00", "04:00", "09:30", "23:59"], bad: [NaN, NaN, NaN, NaN, NaN, NaN] });
  });
});
