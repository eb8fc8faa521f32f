import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { prefault, prefaultBuffer } from "../../daemon/shm/prefault.ts";

/** Resident memory of this process, in MiB (the second field of /proc/self/statm, in pages). */
const residentMiB = () => (Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]) * 4096) / 2 ** 20;

describe("prefault: memory committed at creation, not on the hot path's first touch", () => {
  test("a fresh 64 MiB buffer is not resident until prefaulted; then all of it is, and its contents are unchanged", () => {
    const before = residentMiB();
    const view = new Float64Array(8 * 2 ** 20); // 64 MiB of zero pages nobody has touched
    view[12345] = 7;
    const untouched = residentMiB();
    expect(untouched - before).toBeLessThan(16);
    prefault(view);
    expect(residentMiB() - untouched).toBeGreaterThan(56);
    expect([view[0], view[12345], view[view.length - 1]]).toEqual([0, 7, 0]);
  });

  test("a SharedArrayBuffer too (the rings and the order table)", () => {
    const sab = new SharedArrayBuffer(32 * 2 ** 20);
    const untouched = residentMiB();
    prefaultBuffer(sab);
    expect(residentMiB() - untouched).toBeGreaterThan(28);
  });
});
