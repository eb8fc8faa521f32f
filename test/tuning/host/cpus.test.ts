import { describe, expect, test } from "bun:test";
import { formatCpuList, onlineCpus, parseCpuList, topologySiblings } from "../../../daemon/tuning/host/index.ts";
import { fakeHost } from "./fake-host.ts";

describe("parseCpuList / formatCpuList", () => {
  test("parses the kernel's list syntax into sorted unique CPUs", () => {
    expect({
      mixed: parseCpuList("0-3,8,10-11"),
      newline: parseCpuList("0-1\n"),
      unsorted: parseCpuList("8,2,2,0-1"),
      empty: parseCpuList(""),
      stride: parseCpuList("0-15:2/4"),
    }).toEqual({
      mixed: [0, 1, 2, 3, 8, 10, 11],
      newline: [0, 1],
      unsorted: [0, 1, 2, 8],
      empty: [],
      stride: [0, 1, 4, 5, 8, 9, 12, 13],
    });
  });

  test("formats runs as ranges, the way the kernel prints them", () => {
    expect([formatCpuList([11, 0, 1, 2, 3, 8, 10]), formatCpuList([5]), formatCpuList([]), formatCpuList([2, 3])]).toEqual(["0-3,8,10-11", "5", "", "2-3"]);
  });

  test("format then parse gives the CPUs back, and parse then format gives the text back", () => {
    for (const text of ["0", "0-3,8,10-11", "1,3,5,7", "0-63", "2-3,6-7,126-127"]) {
      expect(formatCpuList(parseCpuList(text))).toBe(text);
    }
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const cpus = [...new Set(Array.from({ length: next() % 20 }, () => next() % 64))].sort((a, b) => a - b);
      expect(parseCpuList(formatCpuList(cpus))).toEqual(cpus);
    }
  });

  test("throws on text that is not a CPU list, so flags can be told apart", () => {
    expect(() => parseCpuList("domain,2-3")).toThrow("not a CPU list");
    expect(() => parseCpuList("3-1")).toThrow("not a CPU list");
  });
});

describe("topology", () => {
  test("reads online CPUs and SMT siblings from sysfs", () => {
    using host = fakeHost();
    expect(onlineCpus(host.roots)).toEqual([0, 1, 2, 3]);
    expect(topologySiblings(host.roots)).toEqual(new Map([[0, [0, 2]], [1, [1, 3]], [2, [0, 2]], [3, [1, 3]]]));
  });

  test("without an online file, the cpuN directories are the online CPUs", () => {
    using host = fakeHost();
    host.write("sys/devices/system/cpu/online", "garbage\n");
    expect(onlineCpus(host.roots)).toEqual([0, 1, 2, 3]);
  });
});
