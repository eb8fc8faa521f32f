import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary } from "../support/daemon-fixture.ts";
import { waitUntil } from "../support/wait.ts";
import { STAGES } from "../../daemon/http/metrics.ts";
import type { BenchReport } from "../../daemon/cli/bench.ts";

/** `fake-exchange` and `bench` from the compiled executable: the fakes are inside it. */
describe("compiled binary: fake-exchange and bench", () => {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-bench-bin-"));
  const bin = join(dir, "tradingd");

  beforeAll(() => buildBinary(bin), 120_000);

  test("fake-exchange prints its URLs, streams quotes to a subscriber, fills an order, exits 0 on SIGTERM", async () => {
    const proc = Bun.spawn([bin, "fake-exchange", "--polygon-port", "0", "--alpaca-port", "0", "--rate", "2000", "--symbols", "AAPL,MSFT"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    try {
      let text = "";
      const reader = proc.stdout.getReader();
      const decoder = new TextDecoder();
      while (!/^alpaca .*\n/m.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`fake-exchange ended early: ${text}`);
        text += decoder.decode(value);
      }
      const poly = /^polygon (ws:\/\/127\.0\.0\.1:\d+\/stocks) key=(\S+)$/m.exec(text);
      const alp = /^alpaca (http:\/\/127\.0\.0\.1:\d+) stream (ws:\/\/127\.0\.0\.1:\d+\/stream) key_id=(\S+) secret_key=(\S+)$/m.exec(text);
      expect(poly, text).not.toBeNull();
      expect(alp, text).not.toBeNull();

      // Polygon: auth, subscribe, receive quotes.
      const quotes: { sym: string; bp: number; ap: number }[] = [];
      const ws = new WebSocket(poly![1]!);
      ws.onmessage = (e) => {
        for (const m of JSON.parse(String(e.data)) as { ev: string; status?: string; sym: string; bp: number; ap: number }[]) {
          if (m.ev === "status" && m.status === "auth_success") ws.send(JSON.stringify({ action: "subscribe", params: "Q.AAPL" }));
          if (m.ev === "Q") quotes.push(m);
        }
      };
      ws.onopen = () => ws.send(JSON.stringify({ action: "auth", params: poly![2] }));
      await waitUntil(() => quotes.length >= 5, "quotes to the subscriber", 10_000);
      ws.close();
      expect(quotes.every((q) => q.sym === "AAPL" && q.ap >= q.bp)).toBe(true);

      // Alpaca: a market order fills at the streamed prices.
      const headers = { "APCA-API-KEY-ID": alp![3]!, "APCA-API-SECRET-KEY": alp![4]!, "content-type": "application/json" };
      const placed = await fetch(`${alp![1]}/v2/orders`, { method: "POST", headers, body: JSON.stringify({ symbol: "AAPL", qty: "1", side: "buy", type: "market", time_in_force: "day" }) });
      expect(placed.status).toBe(200);
      const { id } = (await placed.json()) as { id: string };
      await waitUntil(async () => ((await (await fetch(`${alp![1]}/v2/orders/${id}`, { headers })).json()) as { status: string }).status === "filled", "the order to fill", 10_000);

      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    } finally {
      proc.kill("SIGKILL");
    }
  }, 30_000);

  test("bench --feed polygon --broker alpaca --json runs the fakes inside the binary", async () => {
    const proc = Bun.spawn([bin, "bench", "--seconds", "1", "--rate", "5000", "--feed", "polygon", "--broker", "alpaca", "--json"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as BenchReport;
    expect({ feed: report.feed, broker: report.broker }).toEqual({ feed: "polygon", broker: "alpaca" });
    for (const st of STAGES) expect(typeof report.stages[st].p99_us, st).toBe("number");
    expect(report.orders).toBeGreaterThan(0);
    expect(report.acks).toBeGreaterThan(0);
    // The fakes ran on a Worker thread of their own (its CPU reported apart), not on main.
    expect(report.cpu.fakes!.seconds).toBeGreaterThan(0);
    // The binary ran itself again with JavaScriptCore's GC log on, and read it.
    expect(report.gc!.collections).toBeGreaterThan(0);
  }, 60_000);
});
