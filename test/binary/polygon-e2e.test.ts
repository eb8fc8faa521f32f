import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, buildBinary } from "../support/daemon-fixture.ts";
import { waitUntil } from "../support/wait.ts";
import { FakePolygonServer, DEFAULT_API_KEY } from "../../daemon/fakes/polygon/index.ts";
import type { StatusDocument } from "../../daemon/http/status.ts";

/**
 * The compiled daemon trading from the fake Polygon feed over a real WebSocket on loopback:
 * `threshold` on the simulated broker, the key from the environment.
 */
describe("compiled binary on the Polygon feed", () => {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-poly-"));
  const bin = join(dir, "tradingd");

  beforeAll(() => buildBinary(bin), 120_000);

  test("subscribes, trades on the quotes it receives, and reports the feed in /status", async () => {
    await using fake = await FakePolygonServer.start({ authTimeoutMs: 0 });
    writeFileSync(
      join(dir, "tradingd.yaml"),
      `symbols: [AAPL]
feed:
  kind: polygon
  polygon: { url: ${fake.url}, api_key: "\${POLYGON_API_KEY}", channels: [Q] }
strategy:
  name: threshold
  params: { buy_at_or_below: 1000000, sell_at_or_above: 0.01, qty: 1, max_position: 1 }
risk: { max_orders_per_sec: 1000 }
`,
    );
    await using d = await startDaemon([bin, "run", "--no-tune", "--config", "tradingd.yaml", "--listen", "127.0.0.1:0"], dir, { POLYGON_API_KEY: DEFAULT_API_KEY });
    await fake.waitFor(() => fake.openConnections.some((c) => c.subscriptions.params.has("Q.AAPL")), "the subscription");
    await waitUntil(async () => (await fetch(`${d.url}/readyz`)).status === 200, "/readyz 200 once subscribed");
    await fake.stream({ rate: 5_000, batch: 5, count: 500, symbols: ["AAPL"], kinds: ["Q"] });
    await waitUntil(async () => ((await (await fetch(`${d.url}/status`)).json()) as StatusDocument).counts.fills >= 2, "fills from the quotes");
    const s = (await (await fetch(`${d.url}/status`)).json()) as StatusDocument;
    expect({ kind: s.feed.kind, state: s.feed.state, connected: s.feed.connected, stale: s.feed.stale }).toEqual({ kind: "polygon", state: "subscribed", connected: true, stale: false });
    expect(s.counts.md_quotes).toBe(500);
    expect(d.log()).not.toContain(DEFAULT_API_KEY);
    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
  });
});
