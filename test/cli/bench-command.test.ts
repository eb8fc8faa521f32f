import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BUN, ROOT } from "../support/daemon-fixture.ts";
import { STAGES } from "../../daemon/http/metrics.ts";
import type { BenchReport } from "../../daemon/cli/bench.ts";

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([BUN, join(ROOT, "daemon/main.ts"), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

describe("tradingd bench", () => {
  test("--json: every stage with its percentiles, events, orders, CPU, RSS; exit 0", async () => {
    const r = await run(["bench", "--seconds", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as BenchReport;
    expect(Object.keys(report.stages).sort()).toEqual([...STAGES].sort());
    for (const st of STAGES) {
      const s = report.stages[st];
      expect(s.count, st).toBeGreaterThan(0);
      for (const v of [s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us]) expect(typeof v, st).toBe("number");
      expect(s.p50_us!).toBeLessThanOrEqual(s.p99_us!);
      expect(s.p99_us!).toBeLessThanOrEqual(s.max_us!);
    }
    expect(report.events_per_sec).toBeGreaterThan(1_000);
    expect(report.orders).toBeGreaterThan(0);
    // The strategy's thread, alone (layout split) or with the other stages (single: "feed+strategy+execution").
    const strategyCpu = Object.entries(report.cpu).find(([k]) => k.split("+").includes("strategy"));
    expect(strategyCpu?.[1].seconds).toBeGreaterThanOrEqual(0);
    expect(["split", "single"]).toContain(report.layout);
    // GC from JavaScriptCore's own log (the command ran itself again with BUN_JSC_logGC=1).
    expect(report.gc!.collections).toBeGreaterThan(0);
    expect(report.gc!.maxPauseMs).toBeGreaterThan(0);
    expect(r.stderr).not.toContain("GC<0x");
    expect(report.rss_mb.after).toBeGreaterThan(0);
    expect(report.budget).toBeNull();
    // Progress lines (stderr is not a terminal here).
    expect(r.stderr).toMatch(/bench( \(untuned\))?: 1\/1 s/);
    // Tuned and untuned when the process may tune (root here, say), else why not.
    if (report.tuning.runs === "untuned_then_tuned") {
      expect(report.tuned!.orders).toBeGreaterThan(0);
      expect(typeof report.tuning.ratio!.tick_to_order_p50).toBe("number");
      expect(typeof report.tuning.ratio!.tick_to_order_p99).toBe("number");
      expect(r.stderr).toContain("bench (tuned): 1/1 s");
    } else {
      expect(report.tuned).toBeNull();
      expect(report.tuning.reason.length).toBeGreaterThan(0);
    }
  }, 30_000);

  test("--no-tune: one untuned run, and the output says why", async () => {
    const r = await run(["bench", "--seconds", "1", "--no-tune"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("tuning:  untuned only: --no-tune");
    expect(r.stdout).toMatch(/^GC: +\d+ collections .* longest \d+\.\d\d ms/m);
    expect(r.stderr).not.toContain("(tuned)");
  }, 30_000);

  test("--max-p99-us below the measured p99 exits 3 and names the stage", async () => {
    const r = await run(["bench", "--seconds", "1", "--max-p99-us", "0.001"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("tick_to_order");
    expect(r.stderr).toContain("tick_to_order p99");
    expect(r.stderr).toContain("exceeds --max-p99-us 0.001");
  }, 30_000);

  test("usage errors exit 2", async () => {
    expect((await run(["bench", "--feed", "nasdaq"])).code).toBe(2);
    expect((await run(["bench", "--seconds", "-1"])).code).toBe(2);
    expect((await run(["fake-exchange", "--polygon-port", "x"])).code).toBe(2);
  });
});
