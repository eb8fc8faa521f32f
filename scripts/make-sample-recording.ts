/**
 * Makes `test/fixtures/polygon/sample.tdrec`: 1,000 events (quotes, trades, minute bars for AAPL
 * and MSFT) from the fake Polygon server, received by the real gateway with `feed.record` on.
 * Run it again only when the recording format changes: `bun scripts/make-sample-recording.ts`.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { FakePolygonServer, DEFAULT_API_KEY } from "../daemon/fakes/polygon/index.ts";
import { Pipeline } from "../daemon/supervisor.ts";
import { parseConfigText } from "../daemon/config/load.ts";

const out = join(import.meta.dir, "../test/fixtures/polygon/sample.tdrec");
rmSync(out, { force: true });
await using fake = await FakePolygonServer.start({ authTimeoutMs: 0 });
const p = new Pipeline(
  parseConfigText(
    `symbols: [AAPL, MSFT]
feed: { kind: polygon, record: ${out}, polygon: { url: ${fake.url}, api_key: ${DEFAULT_API_KEY}, channels: [Q, T, AM] } }
strategy: { warmup_events: 0 }
`,
    "make-sample-recording",
    {},
  ),
);
await p.start();
await fake.waitFor(() => fake.openConnections.some((c) => c.subscriptions.params.has("AM.MSFT")), "the subscription");
await fake.stream({ rate: 2_000, batch: 10, count: 1_000, symbols: ["AAPL", "MSFT"], kinds: ["Q", "T", "AM"], seed: 7 });
while (p.feedMetrics.readCounters().md_quotes + p.feedMetrics.readCounters().md_trades + p.feedMetrics.readCounters().md_bars < 1_000) await Bun.sleep(5);
await p.stop();
console.log(`wrote ${out}`);
