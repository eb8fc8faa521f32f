import { describe, expect, test } from "bun:test";
import { RiskConfig } from "../../daemon/config/schema.ts";
import { RiskEngine } from "../../daemon/risk/engine.ts";
import { RiskLimitsBlock } from "../../daemon/risk/limits-block.ts";
import { RISK_REASON_NAMES } from "../../daemon/risk/checks.ts";
import { ControlBlock, TradingState, W_BROKER_BUDGET, W_BROKER_READY, W_FEED_STALE, W_RISK_HALT, W_TRADING } from "../../daemon/shm/control.ts";
import { QuoteBook } from "../../daemon/shm/quote-book.ts";

const MS = 1e6;
const SEC = 1e9;
/** A process-clock origin far from 0, so "no quote" (recvNs 0) is never fresh by accident. */
const T0 = 1_000 * SEC;

/** An engine on fresh shared memory: broker ready, two symbols, no quote yet. */
function rig(risk: Partial<RiskConfig> = {}, awaitReconciled = false) {
  const limits = RiskLimitsBlock.create(RiskConfig.parse(risk));
  const control = new ControlBlock();
  control.set(W_BROKER_READY, 1);
  control.set(W_BROKER_BUDGET, 1_000);
  const book = QuoteBook.create(2);
  const halts: { reason: string; pnl: number; limit: number }[] = [];
  const engine = new RiskEngine({ symbols: 2, limits, control, book, onHalt: (r, pnl, limit) => halts.push({ reason: RISK_REASON_NAMES[r], pnl, limit }), awaitReconciled });
  /** A quote as the feed and the strategy worker see it: into the book, then to the engine. */
  const quote = (s: number, bid: number, ask: number, at = T0) => {
    book.writeQuote(s, bid, ask, 100, 100, at);
    engine.onQuote(s, bid, ask);
  };
  /** The verdict on an order, by name; a passing order is sent (counted by the windows). */
  const order = (side: "buy" | "sell", qty: number, limitPx: number, at = T0, s = 0, openSameSide = 0, openTotal = 0) => {
    const r = engine.check(s, side === "buy", qty, limitPx, openSameSide, openTotal, at);
    if (r === 0) engine.onSent(s, side === "buy", limitPx, at);
    return RISK_REASON_NAMES[r];
  };
  const state = () => control.tradingStateName();
  return { engine, limits, control, book, halts, quote, order, state };
}

describe("RiskEngine gates", () => {
  test("an order inside every limit passes; the first gate it breaks names the refusal, in the documented order", () => {
    const verdict = (risk: Partial<RiskConfig>, prep: (r: ReturnType<typeof rig>) => void, side: "buy" | "sell", qty: number, px: number) => {
      const r = rig({ duplicate_window_ms: 0, ...risk });
      r.quote(0, 99.99, 100.01);
      prep(r);
      return r.order(side, qty, px, T0 + MS);
    };
    const none = () => {};
    expect({
      inside: verdict({}, none, "buy", 100, 100.01),
      haltedBeforeEverything: verdict({ max_order_qty: 1 }, (r) => r.control.set(W_TRADING, TradingState.HALTED), "buy", 100, 1000),
      feedStaleBeforeShape: verdict({}, (r) => r.control.set(W_FEED_STALE, 1), "buy", -1, 100),
      brokerBeforeShape: verdict({}, (r) => r.control.set(W_BROKER_READY, 0), "buy", -1, 100),
      shapeBeforeQty: verdict({}, none, "buy", Number.NaN, 100),
      qtyBeforeNotionalAndCollar: verdict({ max_order_qty: 10, max_order_notional: 1 }, none, "buy", 11, 1000),
      notionalBeforeCollar: verdict({ max_order_notional: 1_000 }, none, "buy", 11, 1000),
      collarBeforeStale: verdict({}, (r) => r.book.writeQuote(0, 99.99, 100.01, 1, 1, 1), "buy", 1, 1000),
      staleBeforePosition: verdict({ max_position_qty: 1 }, (r) => r.book.writeQuote(0, 99.99, 100.01, 1, 1, 1), "buy", 10, 100),
      positionBeforeGross: verdict({ max_position_qty: 5, max_gross_exposure: 1 }, none, "buy", 10, 100),
      grossExposure: verdict({ max_gross_exposure: 999 }, none, "buy", 10, 100),
      marketOrderNotionalAtTheTouch: verdict({ max_order_notional: 1_000 }, none, "buy", 10, 0),
    }).toEqual({
      inside: "ok",
      haltedBeforeEverything: "halted",
      feedStaleBeforeShape: "stale_data",
      brokerBeforeShape: "broker_not_ready",
      shapeBeforeQty: "invalid_order",
      qtyBeforeNotionalAndCollar: "max_order_qty",
      notionalBeforeCollar: "max_order_notional",
      collarBeforeStale: "price_collar",
      staleBeforePosition: "stale_quote",
      positionBeforeGross: "max_position",
      grossExposure: "max_gross_exposure",
      marketOrderNotionalAtTheTouch: "max_order_notional", // 10 × 100.01 > 1000
    });
  });

  test("a symbol never quoted is refused as stale_quote; with refuse_when_feed_stale false it passes", () => {
    expect([rig().order("buy", 1, 100), rig({ refuse_when_feed_stale: false }).order("buy", 1, 100)]).toEqual(["stale_quote", "ok"]);
  });

  test("open orders, then per-second, then per-minute rate, then the duplicate guard", () => {
    const r = rig({ max_open_orders: 2, max_orders_per_sec: 2, max_orders_per_min: 3, max_quote_age_ms: 0 });
    r.quote(0, 99.99, 100.01);
    const px = (k: number) => 100 + k * 0.01; // distinct prices: no duplicates
    expect([
      r.order("buy", 1, px(0), T0, 0, 0, 2), // two open already
      r.order("buy", 1, px(1), T0),
      r.order("buy", 1, px(2), T0 + 100 * MS),
      r.order("buy", 1, px(3), T0 + 200 * MS), // third in the second
      r.order("buy", 1, px(4), T0 + SEC), // the first left the second
      r.order("buy", 1, px(5), T0 + 2 * SEC), // fourth in the minute
      r.order("buy", 1, px(6), T0 + 60 * SEC), // the first left the minute
      r.order("buy", 1, px(6), T0 + 70 * SEC), // same symbol, side and price, 10 s later: not a duplicate
    ]).toEqual(["max_open_orders", "ok", "ok", "order_rate", "ok", "order_rate_per_min", "ok", "ok"]);
  });

  test("duplicate guard: the same symbol, side and price within the window is refused; another price, side or symbol is not", () => {
    const r = rig({ max_quote_age_ms: 0 });
    r.quote(0, 99.99, 100.01);
    r.quote(1, 99.98, 100.02);
    expect([
      r.order("buy", 1, 100),
      r.order("buy", 5, 100, T0 + 499 * MS), // another qty: still a duplicate
      r.order("buy", 1, 100.01, T0 + 499 * MS),
      r.order("sell", 1, 100, T0 + 499 * MS),
      r.order("buy", 1, 100, T0 + 499 * MS, 1),
      r.order("buy", 1, 100, T0 + 500 * MS), // the first left the window; the refused one never counted
    ]).toEqual(["ok", "duplicate_order", "ok", "ok", "ok", "ok"]);
  });

  test("REDUCING lets through only orders that shrink the position", () => {
    const r = rig({ duplicate_window_ms: 0 });
    r.quote(0, 99.99, 100.01);
    r.engine.onFill(0, 100, 100);
    r.control.set(W_TRADING, TradingState.REDUCING);
    expect({
      sell50: r.order("sell", 50, 99.99),
      sell100: r.order("sell", 100, 99.99),
      sell150: r.order("sell", 150, 99.99),
      buy10: r.order("buy", 10, 100.01),
      flatSymbol: r.order("buy", 1, 100, T0, 1),
    }).toEqual({ sell50: "ok", sell100: "ok", sell150: "reducing_only", buy10: "reducing_only", flatSymbol: "reducing_only" });
  });
});

describe("P&L, gross exposure and the daily loss limit", () => {
  test("realized + unrealized from fills and quote mids, and gross exposure, follow each event", () => {
    const r = rig();
    const seen = () => ({ pnl: +r.engine.ledger.pnl().toFixed(6), gross: +r.engine.ledger.grossExposure().toFixed(6), position: r.engine.positions[0] });
    r.quote(0, 99.5, 100.5); // mid 100, flat
    const flat = seen();
    r.engine.onFill(0, 100, 100.5); // bought at the ask: -50 at the mid
    const bought = seen();
    r.quote(0, 100.5, 101.5); // mid 101
    const up = seen();
    r.engine.onFill(0, -50, 102); // sells half above the mark
    const half = seen();
    r.quote(1, 10, 10.02); // another symbol, flat: nothing moves
    const other = seen();
    r.engine.onFill(0, -100, 101); // through zero: short 50
    const short = seen();
    expect({ flat, bought, up, half, other, short }).toEqual({
      flat: { pnl: 0, gross: 0, position: 0 },
      bought: { pnl: -50, gross: 10_000, position: 100 },
      up: { pnl: 50, gross: 10_100, position: 100 },
      half: { pnl: 100, gross: 5_050, position: 50 },
      other: { pnl: 100, gross: 5_050, position: 50 },
      short: { pnl: 100, gross: 5_050, position: -50 },
    });
  });

  // Prices on a 1/4 grid so every sum is exact and "at the limit" means exactly the limit.
  test("a falling quote of a held symbol halts trading when the loss reaches the limit, not before; once, with the reason", () => {
    const r = rig({ daily_loss_limit: 1_000, duplicate_window_ms: 0 });
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, 100, 100); // long 100 at 100; the mid is 100
    r.quote(0, 90.25, 90.75); // mid 90.5: -950
    const before = { state: r.state(), halts: r.halts.length, order: r.order("buy", 1, 90.75) };
    r.quote(0, 89.75, 90.25); // mid 90: -1000, the limit
    r.quote(0, 79.75, 80.25); // further down: already halted, no second report
    expect({
      before,
      after: { state: r.state(), riskHaltWord: RISK_REASON_NAMES[r.control.get(W_RISK_HALT)], halts: r.halts, order: r.order("sell", 1, 80) },
    }).toEqual({
      before: { state: "active", halts: 0, order: "ok" },
      after: { state: "halted", riskHaltWord: "daily_loss", halts: [{ reason: "daily_loss", pnl: -1_000, limit: 1_000 }], order: "halted" },
    });
  });

  test("a losing fill (realized) halts at once; an operator who resumes is stopped again by the next order", () => {
    const r = rig({ daily_loss_limit: 500, duplicate_window_ms: 0 });
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, 100, 100);
    r.quote(0, 95.25, 95.75); // mid 95.5: -450
    const beforeFill = r.state();
    r.engine.onFill(0, -100, 95); // realized -500, flat
    const halted = r.state();
    r.control.set(W_TRADING, TradingState.ACTIVE); // the operator resumes, the limit unchanged
    const resumed = r.order("buy", 1, 95.75);
    expect({ beforeFill, halted, resumed, state: r.state(), halts: r.halts.map((h) => h.reason) }).toEqual({
      beforeFill: "active",
      halted: "halted",
      resumed: "daily_loss",
      state: "halted",
      halts: ["daily_loss", "daily_loss"],
    });
  });

  test("a raised limit (at run time) lets trading resume; 0 turns the loss check off", () => {
    const r = rig({ daily_loss_limit: 500, duplicate_window_ms: 0 });
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, -100, 100);
    r.quote(0, 104.75, 105.25); // short 100 from 100, mid 105: -500
    const halted = r.state();
    r.limits.write(RiskConfig.parse({ daily_loss_limit: 1_000, duplicate_window_ms: 0 }));
    r.control.set(W_TRADING, TradingState.ACTIVE);
    const raised = r.order("buy", 1, 105.25);
    r.limits.write(RiskConfig.parse({ daily_loss_limit: 0, duplicate_window_ms: 0 }));
    r.quote(0, 199.75, 200.25); // -10,000, and no limit
    expect({ halted, raised, off: r.order("buy", 1, 200.25), state: r.state() }).toEqual({ halted: "halted", raised: "ok", off: "ok", state: "active" });
  });

  test("a position found at startup counts from its first quote, not from its entry price", () => {
    const r = rig({ daily_loss_limit: 1_000 });
    r.engine.setPosition(0, 1_000); // bought long ago, far higher: no P&L today
    r.quote(0, 49.75, 50.25);
    const first = r.engine.ledger.pnl();
    r.quote(0, 49.5, 50); // mid 49.75: -0.25 × 1000
    expect({ first, next: r.engine.ledger.pnl(), gross: r.engine.ledger.grossExposure(), state: r.state() }).toEqual({
      first: 0,
      next: -250,
      gross: 49_750,
      state: "active",
    });
  });
});

describe("startup reconciliation (a broker that reconciles: Alpaca)", () => {
  test("no order passes before this engine applied RECONCILED, even with BROKER_READY set; after it, the broker's day P&L counts", () => {
    const r = rig({ duplicate_window_ms: 0 }, true);
    r.quote(0, 99.75, 100.25);
    const before = r.order("buy", 1, 100.25);
    r.engine.setPosition(0, 10); // the broker's position came first
    r.engine.reconciled(-50);
    expect({ before, after: r.order("buy", 1, 100.25), pnl: r.engine.ledger.pnl(), position: r.engine.ledger.positions[0] }).toEqual({ before: "broker_not_ready", after: "ok", pnl: -50, position: 10 });
  });

  test("a day's loss at the broker beyond the limit halts at once, before any order", () => {
    const r = rig({ daily_loss_limit: 1_000, duplicate_window_ms: 0 }, true);
    r.quote(0, 99.75, 100.25);
    r.engine.reconciled(-1_000.5);
    expect({ state: r.state(), halts: r.halts, order: r.order("buy", 1, 100.25) }).toEqual({ state: "halted", halts: [{ reason: "daily_loss", pnl: -1_000.5, limit: 1_000 }], order: "halted" });
  });
});

describe("the risk day (day_starts_at, New York)", () => {
  // 2026-11-27 is in winter time: 04:00 New York is 09:00 UTC.
  const at = (iso: string) => Date.parse(iso);

  test("the loss of a day counts from 0 at 04:00 New York: positions are kept at their marks, the day that ended is returned", () => {
    const r = rig({ daily_loss_limit: 1_000, duplicate_window_ms: 0 });
    const first = r.engine.newDay(at("2026-11-27T15:00:00Z")); // the daemon starts: the first day
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, 100, 100); // long 100 at 100
    r.quote(0, 95.75, 96.25); // mid 96: -400
    const evening = r.engine.newDay(at("2026-11-28T08:59:59Z")); // 03:59:59 New York: still the same day
    const pnlBefore = r.engine.ledger.pnl();
    const ended = r.engine.newDay(at("2026-11-28T09:00:00Z")); // 04:00 New York
    const pnlAfter = r.engine.ledger.pnl();
    r.quote(0, 94.75, 95.25); // mid 95: -100 on the new day
    expect({
      first,
      startedAt: new Date(r.engine.dayStartedMs).toISOString(),
      evening,
      pnlBefore,
      ended,
      pnlAfter,
      position: r.engine.ledger.positions[0],
      newDayPnl: r.engine.ledger.pnl(),
      next: new Date(r.engine.nextDayMs).toISOString(),
      state: r.state(),
    }).toEqual({
      first: Number.NaN,
      startedAt: "2026-11-28T09:00:00.000Z",
      evening: Number.NaN,
      pnlBefore: -400,
      ended: -400,
      pnlAfter: 0,
      position: 100,
      newDayPnl: -100,
      next: "2026-11-29T09:00:00.000Z",
      state: "active",
    });
  });

  test("a loss that halted yesterday does not count today, but the halt stays until the operator resumes", () => {
    const r = rig({ daily_loss_limit: 500, duplicate_window_ms: 0 });
    r.engine.newDay(at("2026-11-27T20:00:00Z"));
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, 100, 100);
    r.engine.onFill(0, -100, 95); // realized -500: halted
    const halted = r.state();
    const ended = r.engine.newDay(at("2026-11-28T09:00:01Z"));
    const stillHalted = { state: r.state(), order: r.order("buy", 1, 100.25) };
    r.control.set(W_TRADING, TradingState.ACTIVE); // the operator resumes
    expect({ halted, ended, stillHalted, resumed: r.order("buy", 1, 100.25), state: r.state(), halts: r.halts.length }).toEqual({
      halted: "halted",
      ended: -500,
      stillHalted: { state: "halted", order: "halted" },
      resumed: "ok",
      state: "active",
      halts: 1,
    });
  });

  test("a host asleep over a weekend: one reset, and the day started at the last start passed, not the first", () => {
    const r = rig({ duplicate_window_ms: 0 });
    r.engine.newDay(at("2026-11-27T15:00:00Z"));
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, 10, 100);
    r.quote(0, 98.75, 99.25); // -10
    const ended = r.engine.newDay(at("2026-11-30T15:00:00Z"));
    expect({ ended, pnl: r.engine.ledger.pnl(), started: new Date(r.engine.dayStartedMs).toISOString(), next: new Date(r.engine.nextDayMs).toISOString() }).toEqual({
      ended: -10,
      pnl: 0,
      started: "2026-11-30T09:00:00.000Z",
      next: "2026-12-01T09:00:00.000Z",
    });
  });

  test("a wall clock stepped forward then back: the real start still resets the day", () => {
    const r = rig({ duplicate_window_ms: 0 });
    r.engine.newDay(at("2026-11-27T15:00:00Z"));
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, 10, 100);
    r.quote(0, 98.75, 99.25); // -10
    const wrong = r.engine.newDay(at("2026-11-28T10:00:00Z")); // a clock a day ahead: reset (it cannot know)
    const back = r.engine.newDay(at("2026-11-27T15:05:00Z")); // stepped back by NTP: nothing reset
    r.quote(0, 96.75, 97.25); // mid 97: -20 since the wrong reset
    const pnlBeforeStart = r.engine.ledger.pnl();
    const real = r.engine.newDay(at("2026-11-28T09:00:01Z"));
    expect({ wrong, back, pnlBeforeStart, real, pnl: r.engine.ledger.pnl(), next: new Date(r.engine.nextDayMs).toISOString() }).toEqual({
      wrong: -10,
      back: Number.NaN,
      pnlBeforeStart: -20,
      real: -20,
      pnl: 0,
      next: "2026-11-29T09:00:00.000Z",
    });
  });

  test("day_starts_at changed right after a start that was not yet taken: that start is taken first, then the new time", () => {
    const r = rig({ duplicate_window_ms: 0 });
    r.engine.newDay(at("2026-11-27T15:00:00Z"));
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, 10, 100);
    r.quote(0, 95.75, 96.25); // -40
    r.limits.write(RiskConfig.parse({ duplicate_window_ms: 0, day_starts_at: "03:00" }));
    const ended = r.engine.newDay(at("2026-11-28T09:00:00.900Z")); // 04:00 passed under the old time
    expect({ ended, pnl: r.engine.ledger.pnl(), next: new Date(r.engine.nextDayMs).toISOString() }).toEqual({ ended: -40, pnl: 0, next: "2026-11-29T08:00:00.000Z" });
  });

  test("a new day_starts_at (at run time) moves the next start and resets nothing; summer time is New York's", () => {
    const r = rig({ duplicate_window_ms: 0 });
    r.engine.newDay(at("2026-07-01T12:00:00Z")); // 08:00 New York (EDT)
    const next0400 = new Date(r.engine.nextDayMs).toISOString();
    r.quote(0, 99.75, 100.25);
    r.engine.onFill(0, 10, 100);
    r.quote(0, 98.75, 99.25); // -10
    r.limits.write(RiskConfig.parse({ duplicate_window_ms: 0, day_starts_at: "09:30" }));
    const onChange = r.engine.newDay(at("2026-07-01T12:30:00Z"));
    const pnlKept = r.engine.ledger.pnl();
    const next0930 = new Date(r.engine.nextDayMs).toISOString();
    const atOpen = r.engine.newDay(at("2026-07-01T13:30:00Z")); // 09:30 New York, the same day
    expect({ next0400, onChange, pnlKept, next0930, atOpen, pnl: r.engine.ledger.pnl() }).toEqual({
      next0400: "2026-07-02T08:00:00.000Z",
      onChange: Number.NaN,
      pnlKept: -10,
      next0930: "2026-07-01T13:30:00.000Z",
      atOpen: -10,
      pnl: 0,
    });
  });
});

describe("limits from the shared block", () => {
  test("a write is taken whole by the next check", () => {
    const r = rig({ max_order_qty: 100, duplicate_window_ms: 0 });
    r.quote(0, 99.99, 100.01);
    const before = r.order("buy", 50, 100.01);
    r.limits.write(RiskConfig.parse({ max_order_qty: 10, max_orders_per_sec: 500, duplicate_window_ms: 0 }));
    const after = r.order("buy", 50, 100.01);
    expect({ before, after, limits: { qty: r.engine.limits.maxOrderQty, perSec: r.engine.limits.maxOrdersPerSec } }).toEqual({
      before: "ok",
      after: "max_order_qty",
      limits: { qty: 10, perSec: 500 },
    });
  });
});
