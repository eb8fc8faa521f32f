import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, ROOT, startDaemon } from "../support/daemon-fixture.ts";
import { waitUntil } from "../support/wait.ts";
import type { StatusDocument } from "../../daemon/http/status.ts";

const MAIN = join(ROOT, "daemon/main.ts");

async function cli(...args: string[]) {
  return cliWith({}, ...args);
}

async function cliWith(env: Record<string, string>, ...args: string[]) {
  const proc = Bun.spawn([BUN, MAIN, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, POLYGON_API_KEY: "k", ALPACA_KEY_ID: "i", ALPACA_SECRET_KEY: "s", TRADINGD_API_TOKEN: "", CREDENTIALS_DIRECTORY: "", ...env } });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-cli-"));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("tradingd command line", () => {
  test("version prints the version and exits 0", async () => {
    const r = await cli("version");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tradingd 0\.1\.0 \(bun 1\.4\.5, linux-x64\)\n$/);
  });

  test("--help and help COMMAND exit 0; no command is a usage error (2)", async () => {
    expect((await cli("--help")).code).toBe(0);
    const run = await cli("help", "run");
    expect([run.code, run.stdout.startsWith("Usage: tradingd run")]).toEqual([0, true]);
    const none = await cli();
    expect([none.code, none.stdout.includes("Usage:")]).toEqual([2, true]);
  });

  test("an unknown command, an unknown option or a bad --listen exits 2 with the usage", async () => {
    const unknown = await cli("bogus");
    expect([unknown.code, unknown.stderr.split("\n")[0]]).toEqual([2, 'tradingd: unknown command "bogus"']);
    const option = await cli("run", "--bogus");
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("Usage: tradingd run");
    const listen = await cli("run", "--listen", "nohost");
    expect([listen.code, listen.stderr.split("\n")[0]]).toEqual([2, 'tradingd: --listen: expected HOST:PORT (e.g. 127.0.0.1:8080), was "nohost"']);
  });

  test("check-config accepts the shipped example and prints it with secrets hidden", async () => {
    const r = await cli("check-config", join(ROOT, "config/tradingd.example.yaml"));
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toEndWith("tradingd.example.yaml: ok");
    expect(r.stdout).toContain('api_key: "***"');
  });

  test("a bad config exits 78 with each error and its path, and starts nothing", async () => {
    const file = tempFile("bad.yaml", "risk:\n  max_order_qty: -5\nfeed:\n  kind: foo\n");
    for (const cmd of ["check-config", "run"]) {
      const r = await cli(...(cmd === "run" ? ["run", "--no-tune", "--config", file] : [cmd, file]));
      expect(r.code).toBe(78);
      expect(r.stderr).toContain("risk.max_order_qty: expected a positive integer, was -5");
      expect(r.stderr).toContain('feed.kind: expected one of synthetic, polygon, replay, was "foo"');
      expect(r.stderr).not.toContain("worker ready");
    }
  });

  test("a missing config file exits 78 naming the file", async () => {
    const r = await cli("run", "--no-tune", "--config", "/nonexistent/tradingd.yaml");
    expect([r.code, r.stderr.trim()]).toEqual([78, "cannot read config file /nonexistent/tradingd.yaml: no such file (ENOENT)"]);
  });

  test("bad strategy parameters are a config error (78) with the parameter's path", async () => {
    const file = tempFile("bad-params.yaml", "strategy:\n  name: threshold\n  params: { qty: -1 }\n");
    const r = await cli("check-config", file);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("strategy.params.qty:");
  });

  test("a port in use: clear message, exit 1, no worker started", async () => {
    await using server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") });
    const r = await cli("run", "--no-tune", "--listen", `127.0.0.1:${server.port}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${server.port}: the address is already in use`);
    expect(r.stderr).not.toContain("worker ready");
  });

  test("run with no config serves the embedded dry run and exits 0 on SIGTERM", async () => {
    await using d = await startDaemon([BUN, MAIN, "run", "--no-tune", "--listen", "127.0.0.1:0"]);
    expect(await (await fetch(`${d.url}/healthz`)).text()).toBe("ok\n");
    await waitUntil(async () => (await fetch(`${d.url}/readyz`)).status === 200, "/readyz to answer 200");
    const status = (await (await fetch(`${d.url}/status`)).json()) as StatusDocument;
    expect({ mode: status.mode, feed: status.feed.kind, broker: status.broker, strategy: status.strategy.name }).toEqual({ mode: "dry-run", feed: "synthetic", broker: "sim", strategy: "threshold" });
    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
    expect(d.log()).toContain("SIGTERM received: stopping");
  });

  for (const [layout, who] of [
    ["split", "strategy worker"],
    ["single", "trading worker"],
  ] as const) {
    test(`layout ${layout}: a worker that dies is reported with its error and the daemon exits 1`, async () => {
      const file = tempFile(`dying-${layout}.yaml`, `threads: { layout: ${layout} }\nstrategy:\n  name: module\n  module: ${join(import.meta.dir, "dying-strategy-fixture.ts")}\n`);
      const r = await cli("run", "--no-tune", "--listen", "127.0.0.1:0", "--config", file);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${who} exited unexpectedly`);
      expect(r.stderr).toContain("exiting with status 1");
    });
  }

  test("a second signal while stopping exits at once with status 1", async () => {
    const file = tempFile("slow-stop.yaml", `strategy:\n  name: module\n  module: ${join(import.meta.dir, "slow-stop-strategy-fixture.ts")}\n`);
    await using d = await startDaemon([BUN, MAIN, "run", "--no-tune", "--listen", "127.0.0.1:0", "--config", file]);
    await waitUntil(async () => (await fetch(`${d.url}/readyz`)).status === 200, "/readyz to answer 200");
    d.proc.kill("SIGTERM");
    await waitUntil(() => d.log().includes("SIGTERM received: stopping"), "the first SIGTERM to be logged");
    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(1);
    expect(d.log()).toContain("SIGTERM again: exiting at once");
  });

  test("listening beyond loopback with no API token is a config error (78), before anything starts", async () => {
    const flag = await cli("run", "--no-tune", "--listen", "0.0.0.0:0");
    expect([flag.code, flag.stderr.trim().split("\n").at(-1)]).toEqual([
      78,
      "--listen: 0.0.0.0 is not a loopback address and no API token is configured: set TRADINGD_API_TOKEN or the systemd credential api_token, or listen on 127.0.0.1",
    ]);
    const file = tempFile("open.yaml", 'http: { listen: "[::]:0" }\n');
    const config = await cli("run", "--no-tune", "--config", file);
    expect([config.code, config.stderr.trim().split("\n").at(-1)!.split(":")[0]]).toEqual([78, "http.listen"]);
    expect(config.stderr).not.toContain("worker ready");
  });

  test("with a token, listening beyond loopback starts (and the control API says where the token came from)", async () => {
    await using d = await startDaemon([BUN, MAIN, "run", "--no-tune", "--listen", "0.0.0.0:0"], ROOT, { TRADINGD_API_TOKEN: "abc-123" });
    expect(d.log()).toContain("control API: bearer token from environment variable TRADINGD_API_TOKEN");
    await waitUntil(async () => (await fetch(`${d.url}/readyz`)).status === 200, "/readyz to answer 200");
    expect((await fetch(`${d.url}/status`)).status).toBe(401);
    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
  });

  test("an API token a bearer header cannot carry is a config error (78) that does not print it", async () => {
    const r = await cliWith({ TRADINGD_API_TOKEN: "two words" }, "run", "--no-tune", "--listen", "127.0.0.1:0");
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("environment variable TRADINGD_API_TOKEN: the API token is empty or has characters a bearer token cannot carry");
    expect(r.stderr).not.toContain("two words");
  });

  test("ctl: usage errors exit 2; it reads only http from --config (unset ${VAR}s elsewhere do not matter)", async () => {
    for (const args of [["ctl"], ["ctl", "explode"], ["ctl", "pause", "now"], ["ctl", "status", "--reason", "x"], ["ctl", "risk", "=3"], ["ctl", "status", "--url", "localhost:8080"]]) {
      expect([args.join(" "), (await cli(...args)).code]).toEqual([args.join(" "), 2]);
    }
    await using probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const file = tempFile("ctl.yaml", `http: { listen: "127.0.0.1:${port}" }\nfeed: { kind: polygon, polygon: { api_key: "\${NOT_SET_FOR_CTL}" } }\n`);
    const r = await cli("ctl", "status", "--config", file);
    expect([r.code, r.stderr]).toEqual([1, `tradingd ctl: cannot reach tradingd at http://127.0.0.1:${port}: connection refused (is it running, and on that address?)\n`]);
  });

  test("a replay file that is missing or not a recording is a config error (78) naming it", async () => {
    const file = tempFile("replay.yaml", "feed: { kind: replay, replay: { file: /nonexistent/feed.tdrec } }\n");
    const r = await cli("check-config", file);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("feed.replay.file: cannot read /nonexistent/feed.tdrec");
  });
});

