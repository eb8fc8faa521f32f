import { describe, expect, test } from "bun:test";
import {
  OrderRateWindow,
  RISK_REASON_NAMES,
  RiskReason,
  checkBroker,
  checkDailyLoss,
  checkDuplicate,
  checkFeedFresh,
  checkGrossExposure,
  checkOrderRatePerMin,
  checkPriceCollar,
  checkQuoteAge,
  checkOpenOrders,
  checkOrderNotional,
  checkOrderQty,
  checkOrderRate,
  checkOrderShape,
  checkPosition,
  checkTradingState,
  type RiskLimits,
} from "../../daemon/risk/checks.ts";
import { DuplicateGuard } from "../../daemon/risk/duplicate-guard.ts";
import { TradingState } from "../../daemon/shm/control.ts";

const LIMITS: RiskLimits = Object.freeze({
  maxOrderQty: 1_000,
  maxOrderNotional: 50_000,
  maxPositionQty: 2_000,
  maxGrossExposure: 1_000_000,
  maxOpenOrders: 10,
  maxOrdersPerSec: 5,
  maxOrdersPerMin: 180,
  collarBps: 500,
  maxQuoteAgeMs: 2_000,
  dailyLossLimit: 10_000,
  duplicateWindowMs: 500,
  refuseWhenFeedStale: true,
  dayStartMin: 240,
});

const name = (r: RiskReason) => RISK_REASON_NAMES[r];

describe("limit checks pass at the limit and refuse one past it", () => {
  test("max_order_qty: qty equal to the limit passes, one share more is refused", () => {
    expect([checkOrderQty(1_000, LIMITS), checkOrderQty(1_001, LIMITS), checkOrderQty(1_000.5, LIMITS)].map(name)).toEqual([
      "ok",
      "max_order_qty",
      "max_order_qty",
    ]);
  });

  test("max_order_notional: qty × price equal to the limit passes, a cent more is refused", () => {
    expect([checkOrderNotional(500, 100, LIMITS), checkOrderNotional(500, 100.01, LIMITS), checkOrderNotional(501, 100, LIMITS)].map(name)).toEqual([
      "ok",
      "max_order_notional",
      "max_order_notional",
    ]);
  });

  test("max_position counts the position, the open orders on the same side and the order itself", () => {
    expect(
      [
        checkPosition(1_500, 400, 100, LIMITS), // long 1500 + 400 open + 100 = 2000
        checkPosition(1_500, 400, 101, LIMITS),
        checkPosition(-1_500, -400, -100, LIMITS), // short side: the same bound on |position|
        checkPosition(-1_500, -400, -101, LIMITS),
        checkPosition(2_000, 0, -100, LIMITS), // at the limit, a reducing order passes
        checkPosition(2_500, 0, -400, LIMITS), // over the limit, reducing but still over: refused
      ].map(name),
    ).toEqual(["ok", "max_position", "ok", "max_position", "ok", "max_position"]);
  });

  test("max_open_orders: with limit-1 orders open one more passes; with limit open it is refused", () => {
    expect([checkOpenOrders(9, LIMITS), checkOpenOrders(10, LIMITS), checkOpenOrders(0, LIMITS)].map(name)).toEqual(["ok", "max_open_orders", "ok"]);
  });

  test("max_orders_per_sec: with limit-1 sent in the window one more passes; with limit sent it is refused", () => {
    expect([checkOrderRate(4, LIMITS), checkOrderRate(5, LIMITS), checkOrderRate(0, LIMITS)].map(name)).toEqual(["ok", "order_rate", "ok"]);
  });

  test("max_orders_per_min: with limit-1 sent in the minute one more passes; with limit sent it is refused", () => {
    expect([checkOrderRatePerMin(179, LIMITS), checkOrderRatePerMin(180, LIMITS)].map(name)).toEqual(["ok", "order_rate_per_min"]);
  });

  test("price collar (500 bps): a buy 5 % above or below the ask passes, a cent further is refused; market orders and unquoted symbols pass", () => {
    const off = { ...LIMITS, collarBps: 0 };
    expect(
      [
        checkPriceCollar(105, 100, LIMITS),
        checkPriceCollar(105.01, 100, LIMITS),
        checkPriceCollar(95, 100, LIMITS),
        checkPriceCollar(94.99, 100, LIMITS),
        checkPriceCollar(0, 100, LIMITS), // market order
        checkPriceCollar(1000, 0, LIMITS), // no quote: the stale-quote check decides
        checkPriceCollar(1000, 100, off),
      ].map(name),
    ).toEqual(["ok", "price_collar", "ok", "price_collar", "ok", "ok", "ok"]);
  });

  test("quote age: a quote exactly max_quote_age_ms old passes, 1 ns older or none at all is refused; 0 or refuse_when_feed_stale false turns it off", () => {
    const MS = 1e6;
    expect(
      [
        checkQuoteAge(true, 2_000 * MS, LIMITS),
        checkQuoteAge(true, 2_000 * MS + 1, LIMITS),
        checkQuoteAge(false, 0, LIMITS),
        checkQuoteAge(false, 0, { ...LIMITS, maxQuoteAgeMs: 0 }),
        checkQuoteAge(true, 1e15, { ...LIMITS, refuseWhenFeedStale: false }),
      ].map(name),
    ).toEqual(["ok", "stale_quote", "stale_quote", "ok", "ok"]);
  });

  test("gross exposure: what the order can add, on top of Σ|position| × price, may reach the limit but not pass it; shrinking orders always pass", () => {
    const G = { ...LIMITS, maxGrossExposure: 100_000 };
    expect(
      [
        checkGrossExposure(90_000, 0, 0, 100, 100, G), // +10,000: exactly the limit
        checkGrossExposure(90_000, 0, 0, 100, 100.01, G),
        checkGrossExposure(85_000, 50, 50, 100, 100, G), // long 50 + 50 open + 100: adds (200-50) × 100
        checkGrossExposure(85_000, 50, 50, 101, 100, G),
        checkGrossExposure(85_000, -50, -50, -100, 100, G), // the short side alike
        checkGrossExposure(85_000, -50, -50, -101, 100, G),
        checkGrossExposure(500_000, 1_000, 0, -400, 100, G), // over the limit, but reducing: passes
        checkGrossExposure(500_000, 1_000, 0, -2_500, 100, G), // through zero to short 1500: grows, refused
      ].map(name),
    ).toEqual(["ok", "max_gross_exposure", "ok", "max_gross_exposure", "ok", "max_gross_exposure", "ok", "max_gross_exposure"]);
  });

  test("daily loss (10,000): a loss a cent short of the limit passes, the limit itself is refused; 0 is off", () => {
    expect(
      [checkDailyLoss(-9_999.99, LIMITS), checkDailyLoss(-10_000, LIMITS), checkDailyLoss(-10_000.01, LIMITS), checkDailyLoss(5_000, LIMITS), checkDailyLoss(-1e9, { ...LIMITS, dailyLossLimit: 0 })].map(
        name,
      ),
    ).toEqual(["ok", "daily_loss", "daily_loss", "ok", "ok"]);
  });

  test("duplicate (500 ms): the same order 1 ns short of the window is refused, at the window it passes; never sent passes", () => {
    const MS = 1e6;
    expect(
      [
        checkDuplicate(0, 500 * MS - 1, LIMITS),
        checkDuplicate(0, 500 * MS, LIMITS),
        checkDuplicate(Number.NEGATIVE_INFINITY, 0, LIMITS),
        checkDuplicate(0, 1, { ...LIMITS, duplicateWindowMs: 0 }),
      ].map(name),
    ).toEqual(["duplicate_order", "ok", "ok", "ok"]);
  });

  test("order shape: qty must be positive and finite, price non-negative (0 = market) and finite", () => {
    const cases: [number, number][] = [
      [100, 10],
      [0.5, 0],
      [0, 10],
      [-1, 10],
      [Number.NaN, 10],
      [Number.POSITIVE_INFINITY, 10],
      [100, -0.01],
      [100, Number.NaN],
      [100, Number.POSITIVE_INFINITY],
    ];
    expect(cases.map(([q, p]) => name(checkOrderShape(q, p)))).toEqual(["ok", "ok", ...Array(7).fill("invalid_order")]);
  });

  test("every reason code has a name", () => {
    expect(RISK_REASON_NAMES.length as number).toBe(RiskReason.ORDER_RING_FULL + 1);
    expect(RISK_REASON_NAMES[RiskReason.ORDER_RING_FULL]).toBe("order_ring_full");
    expect(RISK_REASON_NAMES[RiskReason.STALE_DATA]).toBe("stale_data");
  });

  test("the broker must be reconciled and have request budget left", () => {
    expect([checkBroker(false, 100), checkBroker(true, 0), checkBroker(true, 1)]).toEqual([RiskReason.BROKER_NOT_READY, RiskReason.BROKER_BUDGET, RiskReason.OK]);
  });

  test("a stale feed refuses new orders with stale_data; a fresh one passes", () => {
    expect([checkFeedFresh(true), checkFeedFresh(false)]).toEqual([RiskReason.STALE_DATA, RiskReason.OK]);
  });
});

describe("trading-state gate", () => {
  const ORDERS: [string, number, number][] = [
    ["long 100, sell 50", 100, -50],
    ["long 100, sell 100", 100, -100],
    ["long 100, sell 150", 100, -150],
    ["long 100, buy 10", 100, 10],
    ["short 100, buy 50", -100, 50],
    ["short 100, buy 100", -100, 100],
    ["short 100, buy 150", -100, 150],
    ["short 100, sell 10", -100, -10],
    ["flat, buy 10", 0, 10],
    ["flat, sell 10", 0, -10],
  ];

  const gate = (state: TradingState) => Object.fromEntries(ORDERS.map(([label, pos, qty]) => [label, name(checkTradingState(state, pos, qty))]));

  test("ACTIVE lets every order through", () => {
    expect(Object.values(gate(TradingState.ACTIVE))).toEqual(Array(ORDERS.length).fill("ok"));
  });

  test("PAUSED refuses every order, reducing ones too", () => {
    expect(Object.values(gate(TradingState.PAUSED))).toEqual(Array(ORDERS.length).fill("paused"));
  });

  test("HALTED refuses every order, reducing ones too", () => {
    expect(Object.values(gate(TradingState.HALTED))).toEqual(Array(ORDERS.length).fill("halted"));
  });

  test("REDUCING lets only orders that shrink |position| without going through zero; flat refuses everything", () => {
    expect(gate(TradingState.REDUCING)).toEqual({
      "long 100, sell 50": "ok",
      "long 100, sell 100": "ok",
      "long 100, sell 150": "reducing_only",
      "long 100, buy 10": "reducing_only",
      "short 100, buy 50": "ok",
      "short 100, buy 100": "ok",
      "short 100, buy 150": "reducing_only",
      "short 100, sell 10": "reducing_only",
      "flat, buy 10": "reducing_only",
      "flat, sell 10": "reducing_only",
    });
  });
});

describe("OrderRateWindow", () => {
  const SEC = 1_000_000_000;
  const MS = 1_000_000;

  test("counts sends strictly less than one second old; a send exactly one second old has left the window", () => {
    const w = new OrderRateWindow(10);
    w.record(0);
    w.record(500 * MS);
    w.record(900 * MS);
    expect([w.countSince(900 * MS), w.countSince(SEC - 1), w.countSince(SEC), w.countSince(1500 * MS - 1), w.countSince(1500 * MS), w.countSince(1900 * MS)]).toEqual([
      3, 3, 2, 2, 1, 0,
    ]);
  });

  test("the window slides: after the old sends age out, new sends count from zero again", () => {
    const w = new OrderRateWindow(4);
    for (let k = 0; k < 4; k++) w.record(k * 1000);
    const full = w.countSince(4000);
    const aged = w.countSince(10 * SEC);
    w.record(10 * SEC);
    w.record(10 * SEC + 1);
    expect({ full, aged, after: w.countSince(10 * SEC + 2) }).toEqual({ full: 4, aged: 0, after: 2 });
  });

  test("more sends than capacity: the count saturates at capacity and the oldest kept are the most recent", () => {
    const w = new OrderRateWindow(3);
    for (let k = 0; k < 7; k++) w.record(k * 100 * MS); // 0, 0.1 … 0.6 s; keeps 0.4, 0.5, 0.6
    expect([w.countSince(600 * MS), w.countSince(1400 * MS), w.countSince(1500 * MS), w.countSince(1600 * MS)]).toEqual([3, 2, 1, 0]);
  });

  test("a custom window length is honoured", () => {
    const w = new OrderRateWindow(8);
    w.record(0);
    w.record(100);
    expect([w.countSince(150, 100), w.countSince(199, 100), w.countSince(200, 100)]).toEqual([1, 1, 0]);
  });

  test("ensureCapacity keeps the sends in the window, oldest first, and the count goes past the old capacity", () => {
    const w = new OrderRateWindow(3);
    for (let k = 0; k < 5; k++) w.record(k * 100 * MS); // keeps 0.2, 0.3, 0.4 s
    w.ensureCapacity(6);
    for (let k = 5; k < 8; k++) w.record(k * 100 * MS);
    expect({ capacity: w.capacity, all: w.countSince(700 * MS), at1_45s: w.countSince(1450 * MS) }).toEqual({ capacity: 6, all: 6, at1_45s: 3 });
  });

  test("with the capacity the strategy runtime uses (max_orders_per_sec + 1), the rate check refuses the (limit+1)-th send in a second", () => {
    const w = new OrderRateWindow(LIMITS.maxOrdersPerSec + 1);
    const verdicts: string[] = [];
    for (let k = 0; k < 8; k++) {
      const now = k * 100 * MS;
      const r = checkOrderRate(w.countSince(now), LIMITS);
      verdicts.push(name(r));
      if (r === RiskReason.OK) w.record(now);
    }
    // At 1.0 s the first send (at 0) has aged out, so one more passes.
    const at1s = name(checkOrderRate(w.countSince(SEC), LIMITS));
    expect({ verdicts, at1s }).toEqual({ verdicts: ["ok", "ok", "ok", "ok", "ok", "order_rate", "order_rate", "order_rate"], at1s: "ok" });
  });
});

describe("DuplicateGuard", () => {
  test("returns the newest matching send not before the bound; a match older than the bound is not found", () => {
    const g = new DuplicateGuard(4);
    g.record(0, true, 100, 10);
    g.record(0, false, 100, 20); // other side
    g.record(1, true, 100, 30); // other symbol
    g.record(0, true, 100, 40);
    expect([g.lastSent(0, true, 100), g.lastSent(0, true, 100, 41), g.lastSent(0, true, 100.01), g.lastSent(0, false, 100, 15), g.lastSent(0, false, 100, 21)]).toEqual([
      40,
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      20,
      Number.NEGATIVE_INFINITY,
    ]);
  });

  test("keeps only the last `capacity` sends: the oldest is forgotten once the ring wraps", () => {
    const g = new DuplicateGuard(4);
    for (let k = 0; k < 5; k++) g.record(0, true, 100 + k, k); // 100 (the first) is overwritten
    expect([g.lastSent(0, true, 100), g.lastSent(0, true, 101), g.lastSent(0, true, 104)]).toEqual([Number.NEGATIVE_INFINITY, 1, 4]);
  });
});
