import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, startDaemon } from "../support/daemon-fixture.ts";
import { waitUntil } from "../support/wait.ts";
import { fakeHost, type FakeHost } from "./host/fake-host.ts";
import type { StatusDocument } from "../../daemon/http/status.ts";

const MAIN = join(ROOT, "daemon/main.ts");
const isRoot = process.getuid?.() === 0;

/** A config whose host knobs live in a fake tree; pinning, policies and mlockall are real. */
export function tunedConfig(host: FakeHost, extra = ""): string {
  const file = join(host.dir, "tradingd.yaml");
  writeFileSync(
    file,
    `tuning:
  roots: { sys: ${host.roots.sys}, proc: ${host.roots.proc}, dev: ${host.roots.dev} }
  state_dir: ${host.roots.run}
feed: { synthetic: { rate_events_per_sec: 20000 } }
${extra}`,
  );
  return file;
}

/**
 * Knob files only (/dev/cpu_dma_latency is held, not reverted by a write). A selector file such
 * as THP's reads `always [madvise] never` on a real sysfs after `madvise` is written back; the
 * fake tree keeps what was written, so selectors compare by their chosen value.
 */
function knobs(host: FakeHost): Map<string, string> {
  return new Map(
    [...host.snapshot()]
      .filter(([rel]) => !rel.startsWith("dev/"))
      .map(([rel, text]) => [rel, /\[([^\]]+)\]/.exec(text)?.[1] ?? text.trim()]),
  );
}

function taskStatus(pid: number, tid: number, field: string): string {
  const m = new RegExp(`^${field}:\\s*(.*)$`, "m").exec(readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"));
  return m ? m[1]!.trim() : "";
}
function taskPolicy(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[41 - 3]);
}

describe.skipIf(!isRoot)("a tuned run (root: real pinning, SCHED_FIFO and mlockall; host knobs in a temporary tree)", () => {
  // The two-CPU plans. split: strategy alone on CPU 1 under SCHED_FIFO 10, the rest on CPU 0.
  // single: the one trading thread (every stage, one tid) on CPU 1 under SCHED_FIFO 10.
  for (const [layout, want] of [
    ["split", { cpus: { main: "0", feed: "0", strategy: "1", execution: "0" }, policies: [1, 0, 0], tids: 3 }],
    ["single", { cpus: { main: "0", feed: "1", strategy: "1", execution: "1" }, policies: [1, 1, 0], tids: 1 }],
  ] as const) {
  test(`layout ${layout}: each worker runs where the plan put it, memory is locked, the knobs are written, and all is put back on SIGTERM`, async () => {
    using host = fakeHost({ irqbalance: false });
    const before = knobs(host);
    await using d = await startDaemon([BUN, MAIN, "run", "--config", tunedConfig(host, `threads: { layout: ${layout} }\n`), "--listen", "127.0.0.1:0"]);
    await waitUntil(async () => (await fetch(`${d.url}/readyz`)).status === 200, "/readyz to answer 200");
    const status = (await (await fetch(`${d.url}/status`)).json()) as StatusDocument;
    const pid = d.proc.pid;
    const tid = (name: string) => status.threads.find((t) => t.name === name)!.tid;

    expect(status.layout).toBe(layout);
    expect(new Set(["feed", "strategy", "execution"].map(tid)).size).toBe(want.tids);
    expect({
      main: taskStatus(pid, tid("main"), "Cpus_allowed_list"),
      feed: taskStatus(pid, tid("feed"), "Cpus_allowed_list"),
      strategy: taskStatus(pid, tid("strategy"), "Cpus_allowed_list"),
      execution: taskStatus(pid, tid("execution"), "Cpus_allowed_list"),
    }).toEqual(want.cpus);
    expect([taskPolicy(pid, tid("strategy")), taskPolicy(pid, tid("feed")), taskPolicy(pid, tid("main"))]).toEqual([...want.policies]);
    // The runtime's own threads (JIT, GC helpers, thread pool, allocator) are on the
    // housekeeping CPU, off the hot one.
    const ours = new Set(status.threads.map((t) => t.tid));
    const runtime = readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => !ours.has(t));
    expect(runtime.length).toBeGreaterThan(0);
    expect(new Set(runtime.map((t) => taskStatus(pid, t, "Cpus_allowed_list")))).toEqual(new Set(["0"]));
    const vmLck = Number(/VmLck:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    const vmRss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    expect(vmLck).toBeGreaterThan(0);
    expect(vmRss).toBeLessThan(1024 * 1024); // kB: MCL_ONFAULT keeps it small (plain MCL_CURRENT: GBs)

    // Host knobs written, originals saved, and every action in the report.
    expect(host.read("proc/sys/vm/swappiness")).toBe("10");
    expect(host.read("sys/kernel/mm/transparent_hugepage/enabled").trim()).toBe("never");
    expect(host.read("proc/irq/1/smp_affinity_list").trim()).toBe("0");
    expect(existsSync(join(host.roots.run, "host-tuning.json"))).toBe(true);
    expect(readFileSync(host.path("dev/cpu_dma_latency")).readInt32LE(0)).toBe(0);
    const byId = new Map(status.tuning.actions.map((a) => [a.id, a.status]));
    expect({
      pin: byId.get("thread.strategy.affinity"),
      fifo: byId.get("thread.strategy.sched"),
      mlock: byId.get("process.mlockall"),
      swappiness: byId.get("host.vm_swappiness"),
      dma: byId.get("host.cpu_dma_latency"),
      isolation: byId.get("host.cpu_isolation"),
      runtime: byId.get("process.runtime_threads.affinity"),
    }).toEqual({ pin: "applied", fifo: "applied", mlock: "applied", swappiness: "applied", dma: "applied", isolation: "advice", runtime: "applied" });
    expect(d.log()).toContain("host tuning: ");
    expect(await (await fetch(`${d.url}/metrics`)).text()).toContain('tradingd_tuning_action{action="thread.strategy.sched",status="applied"} 1');

    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
    expect(knobs(host)).toEqual(before);
    expect(existsSync(join(host.roots.run, "host-tuning.json"))).toBe(false);
  });
  }

  test("a plan an interlock refuses stops startup with exit 78 and changes nothing", async () => {
    using host = fakeHost();
    const before = knobs(host);
    const file = tunedConfig(host, "threads: { layout: split, strategy: { wait: spin }, execution: { wait: spin } }\n");
    const proc = Bun.spawn([BUN, MAIN, "run", "--config", file, "--listen", "127.0.0.1:0"], { stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(78);
    expect(err).toContain("the tuning plan is refused, nothing was changed");
    expect(err).toContain("execution spins (threads.execution.wait: spin) on CPU 0");
    expect(knobs(host)).toEqual(before);
  });
});

describe("tradingd tune", () => {
  async function tune(...args: string[]) {
    const proc = Bun.spawn([BUN, MAIN, "tune", ...args], { stdout: "pipe", stderr: "pipe" });
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { code, stdout, stderr };
  }

  test("--plan prints the plan and changes nothing", async () => {
    using host = fakeHost();
    const before = host.snapshot();
    const r = await tune("--plan", "--config", tunedConfig(host));
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("tuning plan (nothing changed): ");
    expect(r.stdout).toMatch(/planned\s+host\.vm_swappiness\s+10\s+60/);
    expect(host.snapshot()).toEqual(before);
    expect(existsSync(host.roots.run)).toBe(false);
  });

  test.skipIf(!isRoot)("--apply-host writes the knobs and saves the originals; --revert puts them back byte for byte (root)", async () => {
    using host = fakeHost();
    const before = knobs(host);
    const file = tunedConfig(host);
    const applied = await tune("--apply-host", "--config", file);
    expect(applied.code).toBe(0);
    expect(host.read("proc/sys/vm/swappiness")).toBe("10");
    expect(host.read("sys/devices/system/cpu/cpu1/cpufreq/scaling_governor")).toBe("performance");
    const reverted = await tune("--revert", "--config", file);
    expect(reverted.code).toBe(0);
    expect(reverted.stdout).toStartWith("host tuning revert: ");
    expect(knobs(host)).toEqual(before);
    const again = await tune("--revert", "--config", file);
    expect([again.code, again.stdout.trim()]).toEqual([0, `nothing to revert: no state file in ${host.roots.run}`]);
  });

  test("exactly one mode is a usage error otherwise (2)", async () => {
    expect((await tune()).code).toBe(2);
    expect((await tune("--plan", "--revert")).code).toBe(2);
  });
});
