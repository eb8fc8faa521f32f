import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MetricsBlock } from "../../daemon/metrics/block.ts";
import { ExecutionMetrics, FeedMetrics, StrategyMetrics } from "../../daemon/metrics/layouts.ts";
import { ProgressCheck, type WatchedWorker } from "../../daemon/systemd/watchdog.ts";
import { BUN, ROOT, startDaemon } from "../support/daemon-fixture.ts";
import { notifyReceiver } from "./notify-receiver.ts";

const MAIN = join(ROOT, "daemon/main.ts");
const S = 1e9;

function workers(feedDone = () => false) {
  const feed = MetricsBlock.create(FeedMetrics);
  const strategy = MetricsBlock.create(StrategyMetrics);
  const execution = MetricsBlock.create(ExecutionMetrics);
  const list: WatchedWorker[] = [
    { name: "feed worker", block: feed, limitMs: 3000, finished: feedDone },
    { name: "strategy worker", block: strategy, limitMs: 3000 },
    { name: "execution worker", block: execution, limitMs: 3000 },
  ];
  const beat = (t: number) => {
    feed.set(feed.gaugeIndex("heartbeat_ns"), t);
    strategy.set(strategy.gaugeIndex("heartbeat_ns"), t);
    execution.set(execution.gaugeIndex("heartbeat_ns"), t);
  };
  return { feed, strategy, execution, list, beat };
}

describe("ProgressCheck: WATCHDOG=1 only while every worker shows a sign of life", () => {
  test("workers whose heartbeats are within the limit are healthy; a starting daemon is too", () => {
    const w = workers();
    const check = new ProgressCheck(w.list, 100 * S);
    expect(check.check(102 * S)).toBe(null); // no heartbeat yet: the start counts
    w.beat(104 * S);
    expect(check.check(106.5 * S)).toBe(null);
  });

  test("an idle worker whose heartbeat lags but whose counters move is healthy", () => {
    const w = workers();
    const check = new ProgressCheck(w.list, 100 * S);
    const events = w.feed.counterIndex("md_quotes");
    for (let t = 101; t <= 130; t += 5) {
      w.strategy.set(w.strategy.gaugeIndex("heartbeat_ns"), t * S);
      w.execution.set(w.execution.gaugeIndex("heartbeat_ns"), t * S);
      w.feed.add(events, 1); // one event per interval, heartbeat never written
      expect(check.check(t * S)).toBe(null);
    }
  });

  test("a worker with a stale heartbeat and frozen counters is wedged, and named with its age", () => {
    const w = workers();
    const check = new ProgressCheck(w.list, 100 * S);
    w.beat(101 * S);
    w.strategy.add(w.strategy.counterIndex("loop_turns"), 1024);
    expect(check.check(102 * S)).toBe(null);
    w.feed.set(w.feed.gaugeIndex("heartbeat_ns"), 106 * S);
    w.execution.set(w.execution.gaugeIndex("heartbeat_ns"), 106 * S);
    expect(check.check(106 * S)).toBe("strategy worker: no heartbeat and no counter change for 4.0 s (limit 3.0 s)");
    w.strategy.set(w.strategy.gaugeIndex("heartbeat_ns"), 106.5 * S); // it recovers
    expect(check.check(107 * S)).toBe(null);
  });

  test("every wedged worker is reported; a feed that finished (max_events) is not", () => {
    let feedDone = false;
    const w = workers(() => feedDone);
    const check = new ProgressCheck(w.list, 100 * S);
    expect(check.check(110 * S)).toBe(
      "feed worker: no heartbeat and no counter change for 10.0 s (limit 3.0 s); strategy worker: no heartbeat and no counter change for 10.0 s (limit 3.0 s); execution worker: no heartbeat and no counter change for 10.0 s (limit 3.0 s)",
    );
    feedDone = true;
    w.beat(110 * S);
    expect(check.check(111 * S)).toBe(null);
  });
});

describe("tradingd run under a notify socket", () => {
  test("sends READY=1 with its status, pets the watchdog, and sends STOPPING=1 on SIGTERM", async () => {
    await using rx = notifyReceiver("path");
    await using d = await startDaemon([BUN, MAIN, "run", "--no-tune", "--listen", "127.0.0.1:0"], ROOT, { NOTIFY_SOCKET: rx.address, WATCHDOG_USEC: "200000" });
    const ready = await rx.next();
    const pet = await rx.nextMatching((t) => t.startsWith("WATCHDOG=1\n"), "a WATCHDOG=1 ping");
    d.proc.kill("SIGTERM");
    const stopping = await rx.nextMatching((t) => t.startsWith("STOPPING=1"), "STOPPING=1");
    expect({ ready, pet, stopping, code: await d.proc.exited }).toEqual({
      ready: expect.stringMatching(/^READY=1\nSTATUS=trading active, \d+ events$/),
      pet: expect.stringMatching(/^WATCHDOG=1\nSTATUS=trading active, \d+ events$/),
      stopping: "STOPPING=1\nSTATUS=stopping: draining the rings",
      code: 0,
    });
  });

  for (const [layout, who] of [
    ["split", /^STATUS=watchdog withheld: strategy worker: no heartbeat and no counter change for /],
    // One thread runs every stage, so every stage stops; which one passes its limit first
    // depends on when each last moved (the feed's counters moved in the wedged turn itself).
    ["single", /^STATUS=watchdog withheld: trading worker \((feed|strategy|execution) stage\): no heartbeat and no counter change for /],
  ] as const) {
    test(`layout ${layout}: a wedged strategy stops the watchdog pings (the main thread alone stays healthy)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tradingd-watchdog-"));
      const config = join(dir, "wedged.yaml");
      writeFileSync(
        config,
        `threads: { layout: ${layout} }\nstrategy:\n  name: module\n  module: ${join(import.meta.dir, "wedged-strategy-fixture.ts")}\n  warmup_events: 0  # the fixture wedges on its first quotes: warm-up would wedge first\n`,
      );
      await using rx = notifyReceiver("abstract");
      await using d = await startDaemon([BUN, MAIN, "run", "--no-tune", "--listen", "127.0.0.1:0", "--config", config], ROOT, { NOTIFY_SOCKET: rx.address, WATCHDOG_USEC: "200000" });
      expect(await rx.next()).toStartWith("READY=1\n");
      const withheld = await rx.nextMatching((t) => t.startsWith("STATUS=watchdog withheld"), "the watchdog to be withheld");
      expect(withheld).toMatch(who);
      expect(withheld).toMatch(/ \(limit 3\.0 s\)$/);
      // From then on, no ping: every datagram says why.
      const next = await rx.next();
      expect(next).toMatch(who);
      expect(d.log()).toContain("watchdog ping withheld");
    });
  }
});
