import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../support/daemon-fixture.ts";

const PROMTOOL = Bun.which("promtool");
const SYSTEMD_ANALYZE = Bun.which("systemd-analyze");
const RULES = join(ROOT, "config/prometheus/tradingd.rules.yml");
const SCRAPE = join(ROOT, "config/prometheus/scrape.yml");
const VERIFY_UNITS = join(ROOT, "scripts/verify-units.sh");

async function run(cmd: string[]) {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, output: stdout + stderr };
}

describe.skipIf(!PROMTOOL)("Prometheus files pass promtool (needs promtool: apt-get install prometheus)", () => {
  test("promtool check rules accepts the alert rules, without a warning", async () => {
    const r = await run([PROMTOOL!, "check", "rules", RULES]);
    expect({ code: r.code, success: r.output.includes("SUCCESS: 7 rules found"), warning: /warn/i.test(r.output) }).toEqual({ code: 0, success: true, warning: false });
  });

  test("promtool check config accepts the scrape config and the rule file it loads", async () => {
    const r = await run([PROMTOOL!, "check", "config", SCRAPE]);
    expect({ code: r.code, valid: r.output.includes("is valid prometheus config file syntax"), warning: /warn/i.test(r.output) }).toEqual({ code: 0, valid: true, warning: false });
  });
});

test("every tradingd_ metric the alert rules use is a family /metrics exports", () => {
  const rules = readFileSync(RULES, "utf8");
  const exported = readFileSync(join(ROOT, "daemon/http/metrics.ts"), "utf8");
  const used = [...new Set([...rules.matchAll(/\b(tradingd_[a-z_]+)/g)].map((m) => m[1]!.replace(/_bucket$/, "")))];
  expect(used.filter((name) => !exported.includes(`"${name}"`))).toEqual([]);
  expect(used.length).toBeGreaterThanOrEqual(6);
});

describe.skipIf(!SYSTEMD_ANALYZE)("systemd units (needs systemd-analyze: apt-get install systemd)", () => {
  test("scripts/verify-units.sh: tradingd.service and tradingd@.service verify with no output at all", async () => {
    expect(await run([VERIFY_UNITS])).toEqual({ code: 0, output: "" });
  });

  test("scripts/verify-units.sh fails on a warning that systemd-analyze itself exits 0 for", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tradingd-units-"));
    try {
      cpSync(join(ROOT, "systemd"), dir, { recursive: true });
      const unit = join(dir, "tradingd.service");
      writeFileSync(unit, readFileSync(unit, "utf8").replace("WatchdogSec=10\n", "WatchdogSec=10\nWatchDogSec=10\n"));
      const r = await run([VERIFY_UNITS, dir]);
      expect({ code: r.code, names: r.output.includes("Unknown key 'WatchDogSec' in section [Service]") }).toEqual({ code: 1, names: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the units keep the settings the daemon depends on", () => {
    for (const file of ["tradingd.service", "tradingd@.service"]) {
      const text = readFileSync(join(ROOT, "systemd", file), "utf8");
      const settings = text.split("\n").filter((l) => /^[A-Za-z]+=/.test(l));
      expect({ file, has: ["Type=notify", "NotifyAccess=main", "WatchdogSec=10", "LimitMEMLOCK=infinity", "LimitRTPRIO=99", "RestartPreventExitStatus=78"].filter((s) => !settings.includes(s)) }).toEqual({ file, has: [] });
      expect({ file, forbidden: settings.filter((s) => /^(MemoryDenyWriteExecute|RestrictRealtime|PrivateDevices|DynamicUser)=yes$/.test(s)) }).toEqual({ file, forbidden: [] });
    }
  });
});
