import { afterEach, describe, expect, test } from "bun:test";
import { renderMetrics } from "../../../daemon/http/metrics.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakePolygonServer, DEFAULT_API_KEY, GARBAGE_KINDS } from "../../../daemon/fakes/polygon/index.ts";
import { Pipeline } from "../../../daemon/supervisor.ts";
import { parseConfigText } from "../../../daemon/config/load.ts";
import { createApp } from "../../../daemon/http/app.ts";
import { W_FEED_STALE } from "../../../daemon/shm/control.ts";
import { readRecording } from "../../../daemon/feeds/replay/format.ts";
import { waitUntil } from "../../support/wait.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type Threads = { layout: "single" | "split"; wait: "hybrid" | "spin" };
async function setupIn(threads: Threads, opts: { key?: string; yaml?: string; warmupEvents?: number; fake?: ConstructorParameters<typeof FakePolygonServer>[0] } = {}) {
  const fake = await FakePolygonServer.start({ authTimeoutMs: 0, ...opts.fake });
  cleanups.push(() => fake.close());
  const config = parseConfigText(
    `
symbols: [AAPL, MSFT]
feed:
  kind: polygon
  stale_after_ms: 300
  polygon:
    url: ${fake.url}
    api_key: ${opts.key ?? DEFAULT_API_KEY}
    channels: [Q, T]
    reconnect: { initial_ms: 5, max_ms: 20 }
    max_connections_backoff_ms: 50
${opts.yaml ?? ""}
strategy: { warmup_events: ${opts.warmupEvents ?? 0} }
threads: { layout: ${threads.layout}, strategy: { wait: ${threads.wait} } }
`,
    "gateway.test",
    {},
  );
  const p = new Pipeline(config, { stopDeadlineMs: 3000 });
  cleanups.push(() => p.stop());
  await p.start();
  return { fake, p, feed: () => p.feedMetrics.readCounters(), gauges: () => p.feedMetrics.readGauges() };
}
const subscribedConnections = (fake: FakePolygonServer) => fake.openConnections.filter((c) => c.subscriptions.params.has("Q.AAPL") && c.subscriptions.params.has("T.MSFT"));
const consumed = (p: Pipeline) => p.strategyMetrics.readCounters().md_quotes + p.strategyMetrics.readCounters().md_trades;

// In both layouts, and in layout single with the thread polling its event loop for ever (spin):
// frames then arrive between polls instead of waking a sleeping loop.
for (const threads of [
  { layout: "single", wait: "hybrid" },
  { layout: "single", wait: "spin" },
  { layout: "split", wait: "hybrid" },
] satisfies Threads[]) {
describe(`polygon gateway against the fake (layout ${threads.layout}, wait ${threads.wait})`, () => {
  const setup = (opts: Parameters<typeof setupIn>[1] = {}) => setupIn(threads, opts);
  test("authenticates, subscribes every channel and symbol, offers no compression, and turns frames into records", async () => {
    const { fake, p, gauges } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    const conn = fake.openConnections[0]!;
    expect(conn.offeredExtensions).toBeNull();
    expect([...conn.subscriptions.params].sort()).toEqual(["Q.AAPL", "Q.MSFT", "T.AAPL", "T.MSFT"]);
    await fake.stream({ rate: 20_000, batch: 20, count: 400, symbols: ["AAPL", "MSFT"], kinds: ["Q", "T"] });
    await waitUntil(() => consumed(p) === 400, "400 events through the strategy");
    expect(gauges().feed_connected).toBe(1);
    expect(p.book.read(0) && p.book.bidPx > 0 && p.book.askPx > 0).toBe(true);
    expect(p.feedMetrics.readCounters().frames).toBeGreaterThanOrEqual(20);
  });

  if (threads.layout === "single")
    test("warm-up and keep-warm (on by default) run canned frames and publish nothing of them: the live counters, ring and book see only the real frames", async () => {
      // The startup warm-up runs 2,000 canned frames first: none may show in md_quotes below.
      const { fake, p, feed } = await setup({ warmupEvents: 2_000 });
      await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
      await fake.stream({ rate: 20_000, batch: 10, count: 100, symbols: ["AAPL", "MSFT"], kinds: ["Q"] });
      await waitUntil(() => consumed(p) === 100, "100 quotes through the strategy");
      const frames = feed().frames;
      expect(p.book.read(0)).toBe(true);
      const ask = p.book.askPx;
      const runs = () => p.strategyMetrics.readCounters().keep_warm_runs;
      const before = runs();
      await waitUntil(() => runs() >= before + 20, "20 more keep-warm runs");
      // The canned quotes are for AAPL and MSFT too: the live book keeps the last real ones.
      expect(feed().frames).toBe(frames);
      expect(feed().md_quotes).toBe(100);
      expect(consumed(p)).toBe(100);
      expect(p.book.read(0) && p.book.askPx).toBe(ask);
      // Each run is timed too (the histogram is written just after the counter: one may be on its way).
      expect(p.strategyMetrics.readHistograms().keep_warm.count).toBeGreaterThanOrEqual(before + 19);
      // And on /metrics.
      const text = renderMetrics(p);
      expect(Number(/^tradingd_keep_warm_runs_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(before + 20);
      expect(Number(/^tradingd_keep_warm_seconds_count (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(before + 19);
    });

  test("auth_failed is fatal: one connection, no reconnect, a clear state in /readyz", async () => {
    const { fake, p, feed } = await setup({ key: "wrong-key" });
    await waitUntil(() => feed().status_auth_failed === 1, "auth_failed");
    await waitUntil(() => p.feedProblem()?.startsWith("feed failed") ?? false, "the failed state");
    expect(fake.connections.length).toBe(1);
    const ready = await createApp(p).request("/readyz");
    expect([ready.status, await ready.text()]).toEqual([503, "not ready: feed failed (see the log: the server refused the API key)\n"]);
    expect(Atomics.load(p.control.words, W_FEED_STALE)).toBe(1);
  });

  test("a server close without a close frame: reconnect with backoff, resubscribe, count the reconnect", async () => {
    const { fake, p, feed } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the first subscription");
    fake.abruptClose();
    await fake.waitFor(() => fake.connections.length === 2 && subscribedConnections(fake).length === 1, "the resubscription");
    await waitUntil(() => feed().reconnects === 1, "the reconnect count");
    await fake.stream({ rate: 10_000, batch: 10, count: 100, symbols: ["AAPL"], kinds: ["Q"] });
    await waitUntil(() => consumed(p) === 100, "data after the reconnect");
  });

  test("max_connections: counted, says another process holds the key, backs off, then comes back", async () => {
    const { fake, feed } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    fake.maxConnections();
    await waitUntil(() => feed().status_max_connections === 1, "max_connections counted");
    await fake.waitFor(() => fake.connections.length === 2 && subscribedConnections(fake).length === 1, "the reconnection after the long backoff");
  });

  test("slow_consumer and force_disconnect are counted and survived", async () => {
    const { fake, feed } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    fake.sendStatus("slow_consumer", "slow");
    fake.sendStatus("force_disconnect", "bye", { closeCode: 1008 });
    await waitUntil(() => feed().status_slow_consumer === 1 && feed().status_force_disconnect === 1, "both counted");
    await fake.waitFor(() => fake.connections.length === 2 && subscribedConnections(fake).length === 1, "the resubscription");
  });

  test("a silent connection goes stale: /readyz says so, risk refuses, and data clears it", async () => {
    const { fake, p, gauges } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    await fake.stream({ rate: 10_000, batch: 10, count: 50, symbols: ["AAPL"], kinds: ["Q"] });
    fake.stall();
    await waitUntil(() => gauges().feed_stale === 1, "the stale mark");
    expect(Atomics.load(p.control.words, W_FEED_STALE)).toBe(1);
    expect(await (await createApp(p).request("/readyz")).text()).toBe("not ready: feed stale: no market data for 300 ms or more\n");
    fake.resume();
    await fake.stream({ rate: 10_000, batch: 10, count: 10, symbols: ["AAPL"], kinds: ["Q"] });
    await waitUntil(() => gauges().feed_stale === 0, "fresh again");
    expect(Atomics.load(p.control.words, W_FEED_STALE)).toBe(0);
  });

  test("every kind of bad input is counted and dropped, and the feed carries on", async () => {
    const { fake, p, feed } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    for (const kind of GARBAGE_KINDS) fake.sendGarbage(kind);
    await fake.stream({ rate: 10_000, batch: 10, count: 100, symbols: ["AAPL", "MSFT"], kinds: ["Q"] });
    await waitUntil(() => consumed(p) >= 100, "good data after the garbage");
    const c = feed();
    const bad = Object.fromEntries(Object.entries(c).filter(([k, v]) => k.startsWith("bad_input_") && v > 0));
    expect(Object.keys(bad).sort()).toEqual(
      ["bad_input_bad_value", "bad_input_malformed_json", "bad_input_missing_field", "bad_input_not_an_array", "bad_input_oversized", "bad_input_unknown_ev", "bad_input_unknown_symbol", "bad_input_wrong_type"].sort(),
    );
    expect(fake.connections.length).toBe(1);
  });

  test("a sequence number that goes back counts as a gap", async () => {
    const { fake, p, feed } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    const q = (seq: number) => ({ ev: "Q", sym: "AAPL", bx: 1, bp: 10, bs: 1, ax: 2, ap: 10.01, as: 1, c: 0, t: Date.now(), q: seq, z: 3 });
    fake.publish([q(10), q(11), q(9)]);
    await waitUntil(() => consumed(p) === 3, "three quotes");
    expect(feed().seq_gaps).toBe(1);
  });

  test("feed.record writes every frame, and feed.kind replay plays them through the same path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tradingd-rec-"));
    const file = join(dir, "feed.tdrec");
    const { fake, p } = await setup({ yaml: `  record: ${file}` });
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    await fake.stream({ rate: 20_000, batch: 10, count: 300, symbols: ["AAPL", "MSFT"], kinds: ["Q", "T"] });
    await waitUntil(() => consumed(p) === 300, "300 events");
    await p.stop();
    const rec = readRecording(file);
    expect(rec.truncated).toBe(false);
    expect(rec.header.source).toBe(fake.url);
    expect(rec.frames.length).toBeGreaterThanOrEqual(30);

    const replay = new Pipeline(
      parseConfigText(`symbols: [AAPL, MSFT]\nfeed: { kind: replay, replay: { file: ${file}, speed: 0 } }\nstrategy: { warmup_events: 0 }\n`, "replay.test", {}),
    );
    cleanups.push(() => replay.stop());
    await replay.start();
    await waitUntil(() => consumed(replay) === 300, "the replay to deliver the same 300 events");
  });

  test("auth_timeout is counted, and the client reconnects and subscribes again", async () => {
    const { fake, feed } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    fake.sendStatus("auth_timeout", "No authentication request received.", { closeCode: 1000 });
    await waitUntil(() => feed().status_auth_timeout === 1, "auth_timeout counted");
    await fake.waitFor(() => fake.connections.length === 2 && subscribedConnections(fake).length === 1, "the resubscription");
  });

  test("a sequence that jumps across a reconnect counts as a gap (events were missed)", async () => {
    const { fake, p, feed } = await setup();
    await fake.waitFor(() => subscribedConnections(fake).length === 1, "the subscription");
    const q = (seq: number) => ({ ev: "Q", sym: "AAPL", bx: 1, bp: 10, bs: 1, ax: 2, ap: 10.01, as: 1, c: 0, t: Date.now(), q: seq, z: 3 });
    fake.publish([q(1), q(2)]);
    await waitUntil(() => consumed(p) === 2, "two quotes");
    fake.abruptClose();
    await fake.waitFor(() => fake.connections.length === 2 && subscribedConnections(fake).length === 1, "the resubscription");
    fake.publish([q(50), q(51)]);
    await waitUntil(() => consumed(p) === 4, "two more quotes");
    expect(feed().seq_gaps).toBe(1);
    const metrics = await (await createApp(p).request("/metrics")).text();
    expect(metrics).toContain("tradingd_feed_sequence_gaps_total 1");
    expect(metrics).toContain("tradingd_feed_reconnects_total 1");
    expect(metrics).toContain("tradingd_feed_connected 1");
  });
});

}
