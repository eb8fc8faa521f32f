import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeAlpacaServer, DEFAULT_KEY_ID, DEFAULT_SECRET_KEY } from "../../../daemon/fakes/alpaca/index.ts";
import { Pipeline } from "../../../daemon/supervisor.ts";
import { parseConfigText } from "../../../daemon/config/load.ts";
import { OrderJournal } from "../../../daemon/journal/index.ts";
import { OrderStatus } from "../../../daemon/shm/order-table.ts";
import { W_BROKER_READY } from "../../../daemon/shm/control.ts";
import { waitUntil } from "../../support/wait.ts";
import { statusDocument } from "../../../daemon/http/status.ts";
import { positionsDocument } from "../../../daemon/http/orders.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Setup {
  fake: FakeAlpacaServer;
  p: Pipeline;
  journalPath: string;
}

type SetupOptions = { keepWarmUs?: number; warmupEvents?: number; count?: number; every?: number; yaml?: string; journalPath?: string; before?: (fake: FakeAlpacaServer) => void; fake?: FakeAlpacaServer; start?: boolean };
type Wait = "hybrid" | "spin" | "block";
async function setupIn(layout: "single" | "split", wait: Wait, opts: SetupOptions = {}): Promise<Setup> {
  const fake = opts.fake ?? (await FakeAlpacaServer.start());
  if (!opts.fake) cleanups.push(() => fake.close());
  fake.setQuote("AAPL", "99.99", "100.01");
  opts.before?.(fake);
  const journalPath = opts.journalPath ?? join(mkdtempSync(join(tmpdir(), "tradingd-alpaca-")), "journal.sqlite");
  const config = parseConfigText(
    `
mode: paper
symbols: [AAPL]
feed: { synthetic: { rate_events_per_sec: 2000, trade_ratio: 0 } }
strategy: { name: module, module: ${join(import.meta.dir, "orders-fixture.ts")}, params: { count: ${opts.count ?? 1}, every: ${opts.every ?? 1}, qty: 1, limit: 1000 }, warmup_events: ${opts.warmupEvents ?? 0} }
broker:
  kind: alpaca
  alpaca:
    base_url: ${fake.url}
    stream_url: ${fake.streamUrl}
    key_id: ${DEFAULT_KEY_ID}
    secret_key: ${DEFAULT_SECRET_KEY}
    request_timeout_ms: 300
    reconnect: { initial_ms: 5, max_ms: 20 }
journal_path: ${journalPath}
journal_sync: normal
threads: { layout: ${layout}, strategy: { wait: ${wait} }, execution: { wait: ${wait === "spin" ? "hybrid" : wait} }${opts.keepWarmUs !== undefined ? `, keep_warm_us: ${opts.keepWarmUs}` : ""} }
# The fixture's limit of 1000 (always marketable) is far outside the price collar; it resends the same order.
risk: { collar_bps: 0, duplicate_window_ms: 0 }
${opts.yaml ?? ""}
`,
    "alpaca.test",
    {},
  );
  const p = new Pipeline(config, { stopDeadlineMs: 3000 });
  cleanups.push(() => p.stop());
  if (opts.start !== false) await p.start();
  return { fake, p, journalPath };
}

const ordersAtBroker = (fake: FakeAlpacaServer) => fake.orders.filter((o) => o.symbol === "AAPL");
const strategyPosition = (p: Pipeline) => p.table.positions(1)[0]!.qty;
const exec = (p: Pipeline) => p.executionMetrics.readCounters();

// Every test in both thread layouts, and layout single with each way its event-driven thread
// waits (sleep at once, poll the event loop spin_us then sleep, poll for ever): the order path is
// the same code, driven differently.
const RUNS: [layout: "single" | "split", wait: Wait][] = [
  ["single", "hybrid"],
  ["single", "spin"],
  ["single", "block"],
  ["split", "hybrid"],
];
for (const [layout, wait] of RUNS) {
describe(`alpaca gateway against the fake (layout ${layout}, wait ${wait})`, () => {
  const setup = (opts: SetupOptions = {}) => setupIn(layout, wait, opts);
  test("an order is journalled, sent once, acknowledged, filled on the stream, and the position follows", async () => {
    const { fake, p, journalPath } = await setup();
    await waitUntil(() => exec(p).fills === 1, "the fill");
    expect(ordersAtBroker(fake).length).toBe(1);
    const o = ordersAtBroker(fake)[0]!;
    expect(o.client_order_id).toMatch(/^td-[0-9a-z]+-[0-9a-z]+-[0-9a-z]+$/);
    expect(o.client_order_id.length).toBeLessThanOrEqual(48);
    expect(strategyPosition(p)).toBe(1);
    expect(p.table.orders()[0]!.status).toBe(OrderStatus.FILLED);
    await p.stop();
    using j = OrderJournal.open(journalPath, { readonly: true });
    expect(j.get(o.client_order_id)!.state).toBe("filled");
    expect(j.inDoubt()).toEqual([]);
  });

  if (layout === "single")
    test("warm-up and keep-warm (the strategy's warm-up instance, the order code) send, journal and count nothing of their own: one order at the broker, in the journal, in the counters", async () => {
      // The synthetic feed's 2,000 events/s leave 0.5 ms gaps: keep-warm every 0.2 ms of idle time.
      const { fake, p, journalPath } = await setup({ keepWarmUs: 200, warmupEvents: 2_000 });
      await waitUntil(() => exec(p).fills === 1, "the fill");
      const runs = () => p.strategyMetrics.readCounters().keep_warm_runs;
      const before = runs();
      await waitUntil(() => runs() >= before + 20, "20 more keep-warm runs");
      expect(fake.requests.filter((r) => r.method === "POST").length).toBe(1);
      expect(exec(p).orders_received).toBe(1);
      expect(p.strategyMetrics.readCounters().orders_submitted).toBe(1);
      expect(p.table.orders().length).toBe(1);
      await p.stop();
      using db = new Database(journalPath, { readonly: true });
      expect(db.query("SELECT count(*) AS n FROM orders").get()).toEqual({ n: 1 });
    });

  test("the order request carries the APCA keys and the order as Alpaca wants it (decimals as strings)", async () => {
    const { fake, p } = await setup();
    await waitUntil(() => exec(p).acks === 1, "the ack");
    const post = fake.requests.find((r) => r.method === "POST" && r.path === "/v2/orders")!;
    expect(post.headers["apca-api-key-id"]).toBe(DEFAULT_KEY_ID);
    expect(JSON.parse(post.body)).toEqual({ symbol: "AAPL", qty: "1", side: "buy", type: "limit", time_in_force: "day", limit_price: "1000", client_order_id: ordersAtBroker(fake)[0]!.client_order_id });
  });

  test("a connection dropped after the broker accepted: looked up by client_order_id, never resent — one order", async () => {
    const { fake, p } = await setup({ before: (f) => f.dropAfterAccept() });
    // The ack may come on the stream before the look-up answers; the look-up happens either way.
    await waitUntil(() => exec(p).acks === 1, "the ack");
    await waitUntil(() => fake.requests.some((r) => r.path.startsWith("/v2/orders:by_client_order_id")), "the look-up by client_order_id");
    expect(ordersAtBroker(fake).length).toBe(1);
    expect(fake.requests.filter((r) => r.method === "POST" && r.path === "/v2/orders").length).toBe(1);
    expect(exec(p).acks).toBe(1);
  });

  test("a slow answer past the timeout: unknown, looked up, one order", async () => {
    const { fake, p } = await setup({ before: (f) => f.delayNext(800, { method: "POST", path: "/v2/orders" }) });
    await waitUntil(() => exec(p).acks === 1, "the ack found by look-up");
    expect(ordersAtBroker(fake).length).toBe(1);
    expect(fake.requests.filter((r) => r.method === "POST" && r.path === "/v2/orders").length).toBe(1);
  });

  test("a 500: unknown, looked up, not at the broker: rejected locally, never resent", async () => {
    const { fake, p } = await setup({ before: (f) => f.failNext({ status: 500, method: "POST", path: "/v2/orders" }) });
    await waitUntil(() => exec(p).rejects === 1, "the local reject after the look-up");
    expect(ordersAtBroker(fake).length).toBe(0);
    expect(fake.requests.filter((r) => r.method === "POST" && r.path === "/v2/orders").length).toBe(1);
  });

  for (const [status, what] of [
    [403, "insufficient buying power"],
    [422, "a bad request"],
    [401, "bad keys"],
  ] as const) {
    test(`HTTP ${status} (${what}) is a reject with the broker's reason; nothing at the broker`, async () => {
      const { fake, p } = await setup({ before: (f) => f.failNext({ status, method: "POST", path: "/v2/orders" }) });
      await waitUntil(() => exec(p).rejects === 1, "the reject");
      expect(ordersAtBroker(fake).length).toBe(0);
      expect(p.table.orders()[0]!.status).toBe(OrderStatus.REJECTED);
    });
  }

  test("a 429 blocks the budget until the reset: risk refuses new orders meanwhile", async () => {
    const reset = Math.ceil(Date.now() / 1000) + 30;
    const { fake, p } = await setup({
      count: 2,
      every: 200,
      before: (f) => f.failNext({ status: 429, method: "POST", path: "/v2/orders", headers: { "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": String(reset) } }),
    });
    await waitUntil(() => exec(p).rejects === 1, "the rate-limited reject");
    await waitUntil(() => p.strategyMetrics.readCounters().risk_reject_broker_budget > 0, "risk refusing on the empty budget");
    expect(ordersAtBroker(fake).length).toBe(0);
  });

  test("the stream drops while an order fills: after reconnecting, the fill is caught up once", async () => {
    const { fake, p } = await setup({ before: (f) => f.setQuote("AAPL", "1000", "1001") });
    await waitUntil(() => exec(p).acks === 1, "the ack");
    fake.dropStream();
    const id = ordersAtBroker(fake)[0]!.id;
    fake.fill(id, 1, "999");
    await waitUntil(() => exec(p).fills === 1, "the fill after the resync");
    expect(strategyPosition(p)).toBe(1);
    await waitUntil(() => fake.openStreamConnections.length === 1, "the stream back");
    expect(exec(p).fills).toBe(1);
  });

  test("startup: an order journalled but never sent (a crash before the request) is looked up and settled", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tradingd-alpaca-"));
    const journalPath = join(dir, "journal.sqlite");
    let cid = "";
    {
      using j = OrderJournal.open(journalPath, { synchronous: "normal" });
      cid = j.newClientOrderId(1);
      j.recordIntent({ clientOrderId: cid, localOrderId: 1, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "day", qty: 1, limitPrice: 1000, createdAtMs: Date.now() });
    }
    const { p } = await setup({ journalPath, count: 0 });
    await waitUntil(() => Atomics.load(p.control.words, W_BROKER_READY) === 1, "reconciliation");
    await p.stop();
    using j = OrderJournal.open(journalPath, { readonly: true });
    expect(j.get(cid)!.state).toBe("not_found");
  });

  test("startup: an order sent with only its op-log lines (a crash after the send, before SQLite had it) is recovered, looked up, and found at the broker once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tradingd-alpaca-"));
    const journalPath = join(dir, "journal.sqlite");
    const crash = Bun.spawn([process.execPath, join(import.meta.dir, "../../journal/journal-crash-fixture.ts"), journalPath, "write-ahead", "1"], { stdout: "pipe" });
    const cid = (await new Response(crash.stdout).text()).trim();
    expect(await crash.exited).not.toBe(0); // SIGKILL
    const fake = await FakeAlpacaServer.start();
    cleanups.push(() => fake.close());
    fake.setQuote("AAPL", "99.99", "100.01");
    // The request that went out before the crash.
    const sent = await fetch(`${fake.url}/v2/orders`, {
      method: "POST",
      headers: { "APCA-API-KEY-ID": DEFAULT_KEY_ID, "APCA-API-SECRET-KEY": DEFAULT_SECRET_KEY, "content-type": "application/json" },
      body: JSON.stringify({ symbol: "AAPL", qty: "1", side: "buy", type: "limit", time_in_force: "day", limit_price: "150", client_order_id: cid }),
    });
    expect(sent.status).toBe(200);
    const { p } = await setup({ journalPath, count: 0, fake });
    await waitUntil(() => Atomics.load(p.control.words, W_BROKER_READY) === 1, "reconciliation");
    await p.stop();
    expect(ordersAtBroker(fake).filter((o) => o.client_order_id === cid).length).toBe(1);
    using j = OrderJournal.open(journalPath, { readonly: true });
    // Marketable (limit 150, ask 100.01): the fake filled it at once, and the look-up says so.
    expect(j.get(cid)!.state).toBe("filled");
    expect(j.events(cid)[0]!.detail).toMatchObject({ recoveredFrom: "op log" });
  });

  test("a journal that is not a journal stops startup with a clear message, and is left as it was", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tradingd-alpaca-"));
    const journalPath = join(dir, "journal.sqlite");
    writeFileSync(journalPath, "not a database");
    const { p } = await setup({ journalPath, start: false });
    expect(p.start()).rejects.toThrow(/journal/i);
    await waitUntil(() => p.failure !== null, "the worker failure");
    expect(await Bun.file(journalPath).text()).toBe("not a database");
  });
});
}

/** A position of `qty` AAPL at the fake, bought by hand before tradingd starts (a market order, filled at once). */
async function holdAtTheBroker(fake: FakeAlpacaServer, qty: number): Promise<void> {
  const bought = await fetch(`${fake.url}/v2/orders`, {
    method: "POST",
    headers: { "APCA-API-KEY-ID": DEFAULT_KEY_ID, "APCA-API-SECRET-KEY": DEFAULT_SECRET_KEY, "content-type": "application/json" },
    body: JSON.stringify({ symbol: "AAPL", qty: String(qty), side: "buy", type: "market", time_in_force: "day" }),
  });
  expect(bought.status).toBe(200);
  await fake.waitFor(() => fake.positions.some((x) => x.symbol === "AAPL" && x.qty === String(qty)), "the position at the broker");
}

describe("alpaca gateway against the fake: a position held before the start", () => {
  test("the broker's position is the strategy's, and /status (so `ctl status`) and /positions show it though it has no fill in this run", async () => {
    const fake = await FakeAlpacaServer.start();
    cleanups.push(() => fake.close());
    fake.setQuote("AAPL", "99.99", "100.01");
    await holdAtTheBroker(fake, 5);
    const { p } = await setupIn("single", "hybrid", { count: 0, fake });
    await waitUntil(() => Atomics.load(p.control.words, W_BROKER_READY) === 1, "reconciliation");
    const row = (rows: readonly { symbol: string; qty: number }[]) => rows.filter((r) => r.symbol === "AAPL").map((r) => ({ symbol: r.symbol, qty: r.qty }));
    expect({ table: strategyPosition(p), status: row(statusDocument(p).positions), positions: row(positionsDocument(p).positions) }).toEqual({
      table: 5,
      status: [{ symbol: "AAPL", qty: 5 }],
      positions: [{ symbol: "AAPL", qty: 5 }],
    });
  });
});

describe("alpaca gateway against the fake: the day's P&L before the start", () => {
  test("a restart in the middle of a day keeps the day's loss at the broker (equity − last_equity): the loss limit counts it", async () => {
    const fake = await FakeAlpacaServer.start();
    cleanups.push(() => fake.close());
    fake.setQuote("AAPL", "99.99", "100.01");
    await holdAtTheBroker(fake, 10);
    const morning = (f: FakeAlpacaServer) => f.setQuote("AAPL", "89.99", "90.01"); // down ~10 a share
    const { p } = await setupIn("single", "hybrid", { count: 0, fake, before: morning });
    const brokerDayPnl = Number(fake.account.equity) - Number(fake.account.last_equity);
    await waitUntil(() => Atomics.load(p.control.words, W_BROKER_READY) === 1, "reconciliation");
    // The ledger books the position at the feed's first mark with no P&L of its own: what it
    // holds of the loss is the broker's figure (the synthetic feed moves it by cents).
    await waitUntil(() => Math.abs(statusDocument(p).risk_day.day_pnl - brokerDayPnl) < 10, "the day's P&L on /status");
    const before = p.tradingStateName();
    p.setRiskLimits({ ...p.riskLimits(), daily_loss_limit: Math.floor(-brokerDayPnl) - 10 });
    await waitUntil(() => p.riskHalt !== null, "the loss-limit halt");
    // Without the broker's figure the ledger's P&L would be the feed's drift on 10 shares (cents): no halt.
    expect({ brokerLost: brokerDayPnl < -90, before, state: p.tradingStateName(), reason: p.riskHalt!.reason, atTheLimit: p.riskHalt!.pnl <= -p.riskHalt!.limit }).toEqual({
      brokerLost: true,
      before: "active",
      state: "halted",
      reason: "daily_loss",
      atTheLimit: true,
    });
  });
});

describe("alpaca gateway against the fake: a gain before the start", () => {
  test("the account's gain of the day (or a deposit) counts as 0: it never loosens the loss limit", async () => {
    const fake = await FakeAlpacaServer.start();
    cleanups.push(() => fake.close());
    fake.setQuote("AAPL", "99.99", "100.01");
    await holdAtTheBroker(fake, 10);
    const { p } = await setupIn("single", "hybrid", { count: 0, fake, before: (f) => f.setQuote("AAPL", "109.99", "110.01") });
    const brokerDayPnl = Number(fake.account.equity) - Number(fake.account.last_equity);
    await waitUntil(() => Atomics.load(p.control.words, W_BROKER_READY) === 1 && statusDocument(p).risk_day.started_at !== null, "reconciliation");
    expect(brokerDayPnl).toBeGreaterThan(90);
    // The assertion is the wait: the ledger's own P&L moves with the synthetic feed by cents a
    // share, so with the broker's +100 counted it would stay near +100 and this would time out.
    await waitUntil(() => Math.abs(statusDocument(p).risk_day.day_pnl) < 10, "the day's P&L on /status near 0, not the broker's gain");
  });
});

describe("alpaca gateway against the fake: startup reconciliation gates the orders", () => {
  test("a position at the broker is in force from the first order: max_position refuses every buy past it (single and split)", async () => {
    for (const layout of ["single", "split"] as const) {
      const fake = await FakeAlpacaServer.start();
      cleanups.push(() => fake.close());
      fake.setQuote("AAPL", "99.99", "100.01");
      await holdAtTheBroker(fake, 5);
      const before = fake.orders.length;
      // The strategy tries a buy of 1 on every quote from the first one on.
      const { p } = await setupIn(layout, "hybrid", { count: 1_000_000, fake, start: false });
      p.setRiskLimits({ ...p.riskLimits(), max_position_qty: 5 });
      await p.start();
      await waitUntil(() => p.strategyMetrics.readCounters().risk_reject_max_position >= 100, "buys refused at the position limit");
      expect({ layout, sentByTradingd: fake.orders.length - before }).toEqual({ layout, sentByTradingd: 0 });
      await p.stop();
    }
  });

  test("reconciliation that failed is tried again: once the account answers, trading starts (the one order goes out once)", async () => {
    const { fake, p } = await setupIn("single", "hybrid", { count: 1, before: (f) => f.failNext({ status: 503, method: "GET", path: "/v2/account", count: 2 }) });
    await waitUntil(() => p.strategyMetrics.readCounters().risk_reject_broker_not_ready > 0, "an order refused while not reconciled");
    const refusedFirst = Atomics.load(p.control.words, W_BROKER_READY);
    await waitUntil(() => ordersAtBroker(fake).length === 1 && exec(p).acks === 1, "the order, after the third try (1 s, then 2 s)");
    const accountReads = fake.requests.filter((r) => r.method === "GET" && r.path === "/v2/account").length;
    expect({ refusedFirst, ready: Atomics.load(p.control.words, W_BROKER_READY), accountReads, orders: ordersAtBroker(fake).length }).toEqual({ refusedFirst: 0, ready: 1, accountReads: 3, orders: 1 });
  });

  test("a try after a failed one takes the broker's positions afresh: one closed meanwhile is flat", async () => {
    const fake = await FakeAlpacaServer.start();
    cleanups.push(() => fake.close());
    fake.setQuote("AAPL", "99.99", "100.01");
    await holdAtTheBroker(fake, 5);
    const { p } = await setupIn("single", "hybrid", { count: 0, fake, before: (f) => f.failNext({ status: 503, method: "GET", path: "/v2/account", count: 1 }) });
    await waitUntil(() => strategyPosition(p) === 5, "the first try's position");
    const firstTryReady = Atomics.load(p.control.words, W_BROKER_READY);
    fake.stallStream(); // the closing fill is not told on the stream: only the second try can see it
    const closed = await fetch(`${fake.url}/v2/positions/AAPL`, { method: "DELETE", headers: { "APCA-API-KEY-ID": DEFAULT_KEY_ID, "APCA-API-SECRET-KEY": DEFAULT_SECRET_KEY } });
    expect(closed.status).toBe(200);
    await fake.waitFor(() => !fake.positions.some((x) => x.symbol === "AAPL"), "the position closed at the broker");
    await waitUntil(() => Atomics.load(p.control.words, W_BROKER_READY) === 1, "the second try");
    expect({ firstTryReady, position: strategyPosition(p), status: statusDocument(p).positions.filter((x) => x.symbol === "AAPL").map((x) => x.qty) }).toEqual({ firstTryReady: 0, position: 0, status: [] });
  });

  test("an account that cannot be read at startup: not reconciled, nothing sent, orders refused as broker_not_ready", async () => {
    const { fake, p } = await setupIn("single", "hybrid", { count: 1_000_000, before: (f) => f.failNext({ status: 500, method: "GET", path: "/v2/account", count: 1_000 }) });
    await waitUntil(() => p.strategyMetrics.readCounters().risk_reject_broker_not_ready >= 100, "orders refused while not reconciled");
    expect({ ready: Atomics.load(p.control.words, W_BROKER_READY), orders: ordersAtBroker(fake).length }).toEqual({ ready: 0, orders: 0 });
  });
});
