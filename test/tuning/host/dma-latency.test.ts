import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { holdCpuDmaLatency } from "../../../daemon/tuning/host/index.ts";
import { fakeHost } from "./fake-host.ts";

describe("holdCpuDmaLatency", () => {
  test("writes the value as one 32-bit int in native byte order and keeps the fd until release", () => {
    using host = fakeHost();
    const hold = holdCpuDmaLatency(host.roots, 0);
    expect(hold.action).toMatchObject({ id: "host.cpu_dma_latency", status: "applied", target: host.path("dev/cpu_dma_latency"), desired: "0" });
    expect([...readFileSync(host.path("dev/cpu_dma_latency"))]).toEqual([0, 0, 0, 0]);
    hold.release();
    hold.release(); // idempotent
  });

  test("a non-zero value keeps its bytes (little-endian hosts: least significant first)", () => {
    using host = fakeHost();
    const hold = holdCpuDmaLatency(host.roots, 0x01020304);
    const bytes = readFileSync(host.path("dev/cpu_dma_latency"));
    expect(bytes.length).toBe(4);
    expect(new Int32Array(new Uint8Array(bytes).buffer)[0]).toBe(0x01020304);
    hold.release();
  });

  test("keep is skipped; a host without the device is skipped as not present", () => {
    using host = fakeHost();
    expect(holdCpuDmaLatency(host.roots, "keep").action).toMatchObject({ status: "skipped", reason: "`keep` in config" });
    rmSync(host.path("dev/cpu_dma_latency"));
    const missing = holdCpuDmaLatency(host.roots, 0);
    expect(missing.action).toMatchObject({ status: "skipped", reason: "not present on this host" });
    missing.release();
  });
});
