import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startDaemon, buildBinary } from "../support/daemon-fixture.ts";
import { waitUntil } from "../support/wait.ts";
import { fakeHost } from "../tuning/host/fake-host.ts";
import type { StatusDocument } from "../../daemon/http/status.ts";

/**
 * The compiled executable, built into a fresh directory and run from another one with no
 * source tree beside it: every worker must be inside it, and a user strategy module must load.
 */
describe("compiled binary", () => {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-bin-"));
  const bin = join(dir, "tradingd");
  const elsewhere = mkdtempSync(join(tmpdir(), "tradingd-run-"));

  beforeAll(() => buildBinary(bin), 120_000);

  test("version runs from a directory with no source tree", async () => {
    const proc = Bun.spawn([bin, "version"], { cwd: elsewhere, stdout: "pipe" });
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stdout).text()).toStartWith("tradingd 0.1.0");
  });

  test("run serves /healthz and /readyz with all three workers, and exits 0 on SIGTERM", async () => {
    await using d = await startDaemon([bin, "run", "--no-tune", "--listen", "127.0.0.1:0"], elsewhere);
    expect(await (await fetch(`${d.url}/healthz`)).text()).toBe("ok\n");
    await waitUntil(async () => (await fetch(`${d.url}/readyz`)).status === 200, "/readyz to answer 200");
    const status = (await (await fetch(`${d.url}/status`)).json()) as StatusDocument;
    expect(status.threads.filter((t: { ready: boolean }) => t.ready).length).toBe(4);
    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
  });

  test("a user strategy module (.ts) loads in the compiled binary and trades", async () => {
    copyFileSync(join(ROOT, "test/binary/user-strategy-fixture.ts"), join(elsewhere, "mine.ts"));
    writeFileSync(
      join(elsewhere, "tradingd.yaml"),
      "strategy:\n  name: module\n  module: ./mine.ts\n  params: { every: 200 }\nfeed:\n  synthetic: { rate_events_per_sec: 50000 }\n",
    );
    await using d = await startDaemon([bin, "run", "--no-tune", "--config", "tradingd.yaml", "--listen", "127.0.0.1:0"], elsewhere);
    await waitUntil(async () => ((await (await fetch(`${d.url}/status`)).json()) as StatusDocument).counts.fills > 0, "the user strategy's orders to fill");
    const status = (await (await fetch(`${d.url}/status`)).json()) as StatusDocument;
    expect(status.strategy).toEqual({ name: "module", failed: null });
    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
  });

  test.skipIf(process.getuid?.() !== 0)("tunes the host (knobs in a temporary tree), pins its workers, and puts the knobs back on SIGTERM (root)", async () => {
    using host = fakeHost({ irqbalance: false });
    const before = host.read("proc/sys/vm/swappiness");
    const file = join(host.dir, "tradingd.yaml");
    writeFileSync(file, `tuning:\n  roots: { sys: ${host.roots.sys}, proc: ${host.roots.proc}, dev: ${host.roots.dev} }\n  state_dir: ${host.roots.run}\n`);
    await using d = await startDaemon([bin, "run", "--config", file, "--listen", "127.0.0.1:0"], elsewhere);
    await waitUntil(async () => (await fetch(`${d.url}/readyz`)).status === 200, "/readyz to answer 200");
    const status = (await (await fetch(`${d.url}/status`)).json()) as StatusDocument;
    const strategyTid = status.threads.find((t) => t.name === "strategy")!.tid;
    expect(readFileSync(`/proc/${d.proc.pid}/task/${strategyTid}/status`, "utf8")).toMatch(/Cpus_allowed_list:\s+1\n/);
    expect(host.read("proc/sys/vm/swappiness")).toBe("10");
    expect(status.tuning.counts.failed).toBe(0);
    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
    expect(host.read("proc/sys/vm/swappiness")).toBe(before);
  });
});

