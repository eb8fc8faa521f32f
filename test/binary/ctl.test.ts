import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type RunningDaemon, buildBinary } from "../support/daemon-fixture.ts";
import { waitUntil } from "../support/wait.ts";
import type { StatusDocument } from "../../daemon/http/status.ts";

/**
 * `tradingd ctl` against the compiled daemon: both find the address in the same config file and
 * the token in the same systemd credential directory, as under the unit.
 */
describe("tradingd ctl against the compiled daemon", () => {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-ctl-bin-"));
  const bin = join(dir, "tradingd");
  const elsewhere = mkdtempSync(join(tmpdir(), "tradingd-ctl-run-"));
  const credentials = join(elsewhere, "credentials");
  const config = join(elsewhere, "tradingd.yaml");
  const token = "ctl-test-0123456789abcdef";
  // As systemd would set it; TRADINGD_API_TOKEN from the test's own environment must not win.
  const env = { CREDENTIALS_DIRECTORY: credentials, TRADINGD_API_TOKEN: "" };
  let daemon: RunningDaemon;

  async function ctl(args: string[], extraEnv: Record<string, string> = {}) {
    const proc = Bun.spawn([bin, "ctl", ...args], { cwd: elsewhere, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env, ...extraEnv } });
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    await buildBinary(bin);
    mkdirSync(credentials);
    writeFileSync(join(credentials, "api_token"), `${token}\n`);
    // A free port for the config file (ctl reads the address from it, so not port 0).
    using probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    writeFileSync(config, `http: { listen: "127.0.0.1:${port}" }\n`);
    daemon = await startDaemon([bin, "run", "--no-tune", "--config", config], elsewhere, env);
    await waitUntil(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, "/readyz to answer 200");
  }, 120_000);
  afterAll(async () => {
    daemon?.proc.kill("SIGTERM");
    expect(await daemon?.proc.exited).toBe(0);
  });

  test("status prints a short summary; --json the whole document", async () => {
    const text = await ctl(["status", "--config", config]);
    expect([text.code, text.stdout.split("\n")[0]]).toEqual([0, expect.stringMatching(/^trading active, ready; mode dry-run, feed synthetic, broker sim, strategy threshold; up [\d.]+ s$/)]);
    expect(text.stdout.split("\n")[3]).toMatch(/^risk day since \d{4}-\d\d-\d\dT[\d:.]+Z \(starts 04:00 America\/New_York\): P&L -?[\d.]+ USD, loss limit 10000$/);
    const json = await ctl(["status", "--config", config, "--json"]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as StatusDocument).trading_state).toBe("active");
  });

  test("pause and resume change the trading state the daemon reports", async () => {
    const state = async () => ((await (await fetch(`${daemon.url}/status`, { headers: { Authorization: `Bearer ${token}` } })).json()) as StatusDocument).trading_state;
    const pause = await ctl(["pause", "--config", config, "--reason", "lunch"]);
    expect([pause.code, pause.stdout, await state()]).toEqual([0, "trading paused\n", "paused"]);
    const resume = await ctl(["resume", "--url", daemon.url]);
    expect([resume.code, resume.stdout, await state()]).toEqual([0, "trading active\n", "active"]);
  });

  test("risk shows the limits; risk KEY=VALUE changes them; a bad value is exit 1 with its path", async () => {
    const show = await ctl(["risk", "--config", config]);
    expect([show.code, show.stdout.split("\n")[0]]).toEqual([0, "max_order_qty: 1000"]);
    const set = await ctl(["risk", "max_order_qty=250", "refuse_when_feed_stale=false", "--config", config]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("max_order_qty: 250\n");
    expect(set.stdout).toContain("refuse_when_feed_stale: false\n");
    const bad = await ctl(["risk", "max_order_qty=-1", "max_orders=3", "--config", config]);
    expect(bad).toEqual({
      code: 1,
      stdout: "",
      stderr: "tradingd ctl: PUT /risk: 400 invalid risk limits\n  max_order_qty: expected a positive integer\n  max_orders: unknown key\n",
    });
    expect((await ctl(["risk", "--config", config])).stdout).toContain("max_order_qty: 250\n");
  });

  test("a wrong or missing token is exit 1 and changes nothing", async () => {
    const wrong = await ctl(["pause", "--config", config], { TRADINGD_API_TOKEN: "not-the-token" });
    expect(wrong).toEqual({ code: 1, stdout: "", stderr: "tradingd ctl: POST /control/pause: 401 wrong bearer token\n" });
    const none = await ctl(["halt", "--config", config], { CREDENTIALS_DIRECTORY: "" });
    expect(none).toEqual({ code: 1, stdout: "", stderr: "tradingd ctl: POST /control/halt: 401 missing bearer token (Authorization: Bearer <token>)\n" });
    expect((await ctl(["status", "--config", config])).stdout).toStartWith("trading active");
  });

  test("halt returns once the execution worker acknowledged; the daemon logs who did it", async () => {
    const halt = await ctl(["halt", "--config", config, "--reason", "drill"]);
    expect(halt).toEqual({ code: 0, stdout: "trading halted; the execution worker acknowledged (every open order cancelled): no order leaves now\n", stderr: "" });
    expect((await ctl(["status", "--config", config])).stdout).toStartWith("trading halted");
    await waitUntil(() => daemon.log().includes("control halt: ok"), "the halt to be logged");
    expect(daemon.log()).toMatch(/info control: control halt: ok action=halt result=ok status=200 remote=127\.0\.0\.1:\d+ user_agent=tradingd-ctl\/0\.1\.0 .*detail=reason="drill"/);
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toContain('tradingd_control_actions_total{action="halt",result="ok"} 1');
    expect(metrics).toContain('tradingd_control_actions_total{action="pause",result="unauthorized"} 1');
  });

  test("nothing listening is exit 1; a bad --url is exit 2; a bad config is exit 78", async () => {
    using probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const closed = `http://127.0.0.1:${probe.port}`;
    probe.stop(true);
    const down = await ctl(["status", "--url", closed]);
    expect([down.code, down.stderr]).toEqual([1, `tradingd ctl: cannot reach tradingd at ${closed}: connection refused (is it running, and on that address?)\n`]);
    expect((await ctl(["status", "--url", "ftp://x"])).code).toBe(2);
    expect((await ctl(["explode"])).code).toBe(2);
    const badConfig = join(elsewhere, "bad.yaml");
    writeFileSync(badConfig, "http: { listen: nowhere }\n");
    const bad = await ctl(["status", "--config", badConfig]);
    expect([bad.code, bad.stderr]).toEqual([78, `config error in ${badConfig}:\n  http.listen: expected HOST:PORT (e.g. 127.0.0.1:8080), was "nowhere"\n`]);
  });
});
