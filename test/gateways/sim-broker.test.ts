/**
 * SimBroker against a real OrderTable and QuoteBook. Time is an argument (`nowNs`), so every
 * test steps it by hand: no clocks, no sleeps.
 */
import { describe, expect, test } from "bun:test";
import { SimBroker, type SimBrokerOptions } from "../../daemon/gateways/sim/broker.ts";
import { ORDER_STATUS_NAMES, OrderStatus, OrderTable, type OrderRow } from "../../daemon/shm/order-table.ts";
import { QuoteBook } from "../../daemon/shm/quote-book.ts";
import { OrderType, RecordKind, REJECT_REASONS, Side, SIDE_NAMES, TimeInForce, packOrderFlags } from "../../daemon/shm/records.ts";

const LATENCY_NS = 1_000;
const SYMBOLS = 2;

type ExecEvent = {
  kind: RecordKind;
  symbolId: number;
  orderId: number;
  b: number;
  lastQty: number;
  lastPx: number;
  cumQty: number;
  leaves: number;
  tickRecvNs: number;
};

const KIND_NAMES: Partial<Record<RecordKind, string>> = {
  [RecordKind.ACK]: "ACK",
  [RecordKind.FILL]: "FILL",
  [RecordKind.REJECT]: "REJECT",
  [RecordKind.CANCELED]: "CANCELED",
  [RecordKind.EXPIRED]: "EXPIRED",
};

/** One line per event, so a whole session compares with one toEqual and diffs readably. */
function describeEvent(e: ExecEvent): string {
  const head = `${KIND_NAMES[e.kind]} #${e.orderId} ${SIDE_NAMES[e.b & 0xf]}`;
  switch (e.kind) {
    case RecordKind.ACK:
      return `${head} leaves ${e.leaves}`;
    case RecordKind.FILL:
      return `${head} ${e.lastQty}@${e.lastPx} cum ${e.cumQty} leaves ${e.leaves}`;
    case RecordKind.REJECT:
      return `${head} ${REJECT_REASONS[e.b >> 8]}`;
    default:
      return `${head} cum ${e.cumQty} leaves ${e.leaves}`;
  }
}

function setup(options: Partial<SimBrokerOptions> = {}, capacity = 16) {
  const table = OrderTable.create(capacity, SYMBOLS);
  const book = QuoteBook.create(SYMBOLS);
  const events: ExecEvent[] = [];
  const broker = new SimBroker(
    table,
    book,
    { latencyNs: LATENCY_NS, fillRatio: 1, rejectIfNoQuote: true, symbols: SYMBOLS, ...options },
    (kind, symbolId, orderId, b, lastQty, lastPx, cumQty, leaves, tickRecvNs) =>
      events.push({ kind, symbolId, orderId, b, lastQty, lastPx, cumQty, leaves, tickRecvNs }),
  );
  return {
    table,
    book,
    broker,
    events,
    /** Events emitted since the last call, as lines. */
    drain(): string[] {
      return events.splice(0).map(describeEvent);
    },
    status(orderId: number): string {
      const row = table.orders().find((r) => r.orderId === orderId);
      return row ? ORDER_STATUS_NAMES[row.status] : "absent";
    },
  };
}

const flags = (side: Side, type: OrderType, tif: TimeInForce = TimeInForce.DAY) => packOrderFlags(side, type, tif);
const BUY_LIMIT = flags(Side.BUY, OrderType.LIMIT);
const SELL_LIMIT = flags(Side.SELL, OrderType.LIMIT);
const BUY_MARKET = flags(Side.BUY, OrderType.MARKET);
const SELL_MARKET = flags(Side.SELL, OrderType.MARKET);

/** Checks that every FILL's cum qty grows by its last qty and leaves = qty - cum; returns problems. */
function execInconsistencies(events: readonly ExecEvent[], qtyOf: (orderId: number) => number): string[] {
  const cum = new Map<number, number>();
  const problems: string[] = [];
  for (const e of events) {
    const qty = qtyOf(e.orderId);
    const before = cum.get(e.orderId) ?? 0;
    if (e.kind === RecordKind.ACK && (e.cumQty !== 0 || e.leaves !== qty)) problems.push(`ACK #${e.orderId}: cum ${e.cumQty} leaves ${e.leaves}`);
    if (e.kind === RecordKind.FILL) {
      if (e.cumQty !== before + e.lastQty) problems.push(`FILL #${e.orderId}: cum ${e.cumQty} after ${before} + ${e.lastQty}`);
      if (e.leaves !== qty - e.cumQty) problems.push(`FILL #${e.orderId}: leaves ${e.leaves} for cum ${e.cumQty} of ${qty}`);
      if (!(e.lastQty > 0)) problems.push(`FILL #${e.orderId}: last qty ${e.lastQty}`);
      cum.set(e.orderId, e.cumQty);
    }
    if (e.kind === RecordKind.CANCELED && (e.cumQty !== before || e.leaves !== 0)) problems.push(`CANCELED #${e.orderId}: cum ${e.cumQty} leaves ${e.leaves}`);
  }
  return problems;
}

describe("SimBroker rejects at once", () => {
  test.each([
    ["symbol id past the configured symbols", SYMBOLS, BUY_LIMIT, 100, 10, 0, "unknown_symbol"],
    ["negative symbol id", -1, BUY_LIMIT, 100, 10, 0, "unknown_symbol"],
    ["quantity 0", 0, BUY_LIMIT, 0, 10, 0, "invalid_quantity"],
    ["negative quantity", 0, BUY_LIMIT, -5, 10, 0, "invalid_quantity"],
    ["NaN quantity", 0, BUY_LIMIT, Number.NaN, 10, 0, "invalid_quantity"],
    ["infinite quantity", 0, BUY_LIMIT, Number.POSITIVE_INFINITY, 10, 0, "invalid_quantity"],
    ["limit price 0", 0, BUY_LIMIT, 100, 0, 0, "invalid_price"],
    ["negative limit price", 0, SELL_LIMIT, 100, -1, 0, "invalid_price"],
    ["NaN limit price", 0, BUY_LIMIT, 100, Number.NaN, 0, "invalid_price"],
    ["stop price 0 on a stop order", 0, flags(Side.BUY, OrderType.STOP), 100, 0, 0, "invalid_price"],
    ["limit price 0 on a stop_limit order", 0, flags(Side.BUY, OrderType.STOP_LIMIT), 100, 0, 10, "invalid_price"],
  ] as const)("%s is rejected as %s without a table entry or a pending action", (_name, symbolId, orderFlags, qty, limitPx, stopPx, reason) => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    const entry = s.broker.newOrder(7, symbolId, orderFlags, qty, limitPx, stopPx, 123, 0);
    expect({ entry, events: s.drain(), orders: s.table.orders(), next: s.broker.nextDueNs() }).toEqual({
      entry: -1,
      events: [`REJECT #7 ${SIDE_NAMES[orderFlags & 0xf]} ${reason}`],
      orders: [],
      next: Number.POSITIVE_INFINITY,
    });
  });

  test("a reject carries the order's tick receive time", () => {
    const s = setup();
    s.broker.newOrder(7, 0, BUY_LIMIT, 0, 10, 0, 4242, 0);
    expect(s.events.map((e) => e.tickRecvNs)).toEqual([4242]);
  });

  test("reject_if_no_quote: an order for a symbol with no quote yet is rejected as no_quote", () => {
    const s = setup({ rejectIfNoQuote: true });
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1); // symbol 0 has a quote, symbol 1 has none
    expect(s.broker.newOrder(1, 1, BUY_MARKET, 100, 0, 0, 0, 0)).toBe(-1);
    expect(s.drain()).toEqual(["REJECT #1 buy no_quote"]);
  });

  test("without reject_if_no_quote an order with no quote is acknowledged, rests, and fills on the first quote", () => {
    const s = setup({ rejectIfNoQuote: false });
    expect(s.broker.newOrder(1, 1, BUY_MARKET, 100, 0, 0, 0, 0)).toBeGreaterThanOrEqual(0);
    s.broker.poll(LATENCY_NS);
    const beforeQuote = { events: s.drain(), status: s.status(1), open: s.broker.openOrders() };
    s.book.writeQuote(1, 20, 20.05, 500, 500, 2);
    s.broker.poll(LATENCY_NS + 1);
    expect({ beforeQuote, afterQuote: s.drain(), status: s.status(1) }).toEqual({
      beforeQuote: { events: ["ACK #1 buy leaves 100"], status: "new", open: 1 },
      afterQuote: ["FILL #1 buy 100@20.05 cum 100 leaves 0"],
      status: "filled",
    });
  });
});

describe("SimBroker acknowledgement latency", () => {
  test("nothing is emitted before latency has passed; at the due time ACK comes, then FILL", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    const sentNs = 5_000;
    s.broker.newOrder(1, 0, BUY_MARKET, 100, 0, 0, 4_000, sentNs);
    const due = s.broker.nextDueNs();
    s.broker.poll(sentNs + LATENCY_NS - 1);
    const early = { events: s.drain(), status: s.status(1), open: s.broker.openOrders() };
    s.broker.poll(sentNs + LATENCY_NS);
    expect({ due, early, atDue: s.drain(), status: s.status(1), next: s.broker.nextDueNs(), open: s.broker.openOrders() }).toEqual({
      due: sentNs + LATENCY_NS,
      early: { events: [], status: "pending_new", open: 1 },
      atDue: ["ACK #1 buy leaves 100", "FILL #1 buy 100@10.02 cum 100 leaves 0"],
      status: "filled",
      next: Number.POSITIVE_INFINITY,
      open: 0,
    });
  });

  test("exec events carry the tick receive time of the order", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_MARKET, 100, 0, 0, 777, 0);
    s.broker.poll(LATENCY_NS);
    expect(s.events.map((e) => [KIND_NAMES[e.kind], e.tickRecvNs, e.symbolId])).toEqual([
      ["ACK", 777, 0],
      ["FILL", 777, 0],
    ]);
  });
});

describe("SimBroker fills against the quote book", () => {
  test.each([
    ["marketable buy limit", BUY_LIMIT, 10.05, "FILL #1 buy 100@10.02 cum 100 leaves 0"],
    ["buy limit exactly at the ask", BUY_LIMIT, 10.02, "FILL #1 buy 100@10.02 cum 100 leaves 0"],
    ["marketable sell limit", SELL_LIMIT, 9.95, "FILL #1 sell 100@10 cum 100 leaves 0"],
    ["sell limit exactly at the bid", SELL_LIMIT, 10, "FILL #1 sell 100@10 cum 100 leaves 0"],
    ["market buy", BUY_MARKET, 0, "FILL #1 buy 100@10.02 cum 100 leaves 0"],
    ["market sell", SELL_MARKET, 0, "FILL #1 sell 100@10 cum 100 leaves 0"],
  ] as const)("%s fills at the touch (bid 10 / ask 10.02), not at its limit", (_name, orderFlags, limitPx, fill) => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, orderFlags, 100, limitPx, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    expect(s.drain().slice(1)).toEqual([fill]);
  });

  test("a non-marketable limit rests through a quote that does not cross it and fills at the quote that does", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_LIMIT, 100, 9.99, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    const acked = { events: s.drain(), status: s.status(1), open: s.broker.openOrders() };
    s.book.writeQuote(0, 9.98, 10.0, 500, 500, 2);
    s.broker.poll(LATENCY_NS + 1);
    const notCrossed = { events: s.drain(), status: s.status(1) };
    s.book.writeQuote(0, 9.96, 9.98, 500, 500, 3);
    s.broker.poll(LATENCY_NS + 2);
    expect({ acked, notCrossed, crossed: s.drain(), status: s.status(1), open: s.broker.openOrders() }).toEqual({
      acked: { events: ["ACK #1 buy leaves 100"], status: "new", open: 1 },
      notCrossed: { events: [], status: "new" },
      crossed: ["FILL #1 buy 100@9.98 cum 100 leaves 0"],
      status: "filled",
      open: 0,
    });
  });

  test("a resting sell limit fills at the bid once the bid reaches it", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, SELL_LIMIT, 100, 10.05, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    s.drain();
    s.book.writeQuote(0, 10.06, 10.08, 500, 500, 2);
    s.broker.poll(LATENCY_NS + 1);
    expect(s.drain()).toEqual(["FILL #1 sell 100@10.06 cum 100 leaves 0"]);
  });

  test("a quote on another symbol does not fill a resting order", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.book.writeQuote(1, 20, 20.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_LIMIT, 100, 9.99, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    s.drain();
    s.book.writeQuote(1, 9, 9.5, 500, 500, 2);
    s.broker.poll(LATENCY_NS + 1);
    expect({ events: s.drain(), status: s.status(1) }).toEqual({ events: [], status: "new" });
  });

  test("fill_ratio 0.5: partial fills sum to the order quantity; status goes partially_filled until the last fill", () => {
    const s = setup({ fillRatio: 0.5 });
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_MARKET, 100, 0, 0, 0, 0);
    let now = LATENCY_NS;
    s.broker.poll(now);
    const statuses: string[] = [s.status(1)];
    for (let quote = 0; quote < 50 && s.status(1) !== "filled"; quote++) {
      s.book.writeQuote(0, 10, 10.02, 500, 500, ++now);
      s.broker.poll(now);
      statuses.push(s.status(1));
    }
    const fills = s.events.filter((e) => e.kind === RecordKind.FILL);
    const distinct = statuses.filter((st, i) => st !== statuses[i - 1]);
    expect({
      filled: fills.reduce((sum, e) => sum + e.lastQty, 0),
      partial: fills.length > 1,
      lastLeaves: fills.at(-1)?.leaves,
      distinct,
      problems: execInconsistencies(s.events, () => 100),
      row: s.table.orders()[0]?.filledQty,
      open: s.broker.openOrders(),
    }).toEqual({ filled: 100, partial: true, lastLeaves: 0, distinct: ["partially_filled", "filled"], problems: [], row: 100, open: 0 });
  });

  test("fill_ratio 0.5 fills half of what is left once per quote: 50 at the ack, then 25 at the next quote", () => {
    const s = setup({ fillRatio: 0.5 });
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_MARKET, 100, 0, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    const atAck = s.drain();
    s.broker.poll(LATENCY_NS + 1); // same quote: nothing new to fill against
    const sameQuote = s.drain();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 2);
    s.broker.poll(LATENCY_NS + 2);
    expect({ atAck, sameQuote, nextQuote: s.drain() }).toEqual({
      atAck: ["ACK #1 buy leaves 100", "FILL #1 buy 50@10.02 cum 50 leaves 50"],
      sameQuote: [],
      nextQuote: ["FILL #1 buy 25@10.02 cum 75 leaves 25"],
    });
  });
});

describe("SimBroker time in force", () => {
  test("ioc that is not marketable is canceled right after its ack and never rests", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, flags(Side.BUY, OrderType.LIMIT, TimeInForce.IOC), 100, 9.9, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    const events = s.drain();
    s.book.writeQuote(0, 9.8, 9.85, 500, 500, 2);
    s.broker.poll(LATENCY_NS + 1);
    expect({ events, later: s.drain(), status: s.status(1), open: s.broker.openOrders() }).toEqual({
      events: ["ACK #1 buy leaves 100", "CANCELED #1 buy cum 0 leaves 0"],
      later: [],
      status: "canceled",
      open: 0,
    });
  });

  test("ioc with fill_ratio 0.5 fills what it can at once and cancels the rest", () => {
    const s = setup({ fillRatio: 0.5 });
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, flags(Side.SELL, OrderType.MARKET, TimeInForce.IOC), 100, 0, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    expect({ events: s.drain(), status: s.status(1) }).toEqual({
      events: ["ACK #1 sell leaves 100", "FILL #1 sell 50@10 cum 50 leaves 50", "CANCELED #1 sell cum 50 leaves 0"],
      status: "canceled",
    });
  });

  test("fok larger than the displayed size is canceled with nothing filled", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 50, 1);
    s.broker.newOrder(1, 0, flags(Side.BUY, OrderType.MARKET, TimeInForce.FOK), 100, 0, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    expect(s.drain()).toEqual(["ACK #1 buy leaves 100", "CANCELED #1 buy cum 0 leaves 0"]);
  });

  test("fok within the displayed size fills whole", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 100, 1);
    s.broker.newOrder(1, 0, flags(Side.BUY, OrderType.MARKET, TimeInForce.FOK), 100, 0, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    expect(s.drain()).toEqual(["ACK #1 buy leaves 100", "FILL #1 buy 100@10.02 cum 100 leaves 0"]);
  });

  test("fok that is not marketable is canceled", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, flags(Side.BUY, OrderType.LIMIT, TimeInForce.FOK), 100, 10.01, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    expect(s.drain()).toEqual(["ACK #1 buy leaves 100", "CANCELED #1 buy cum 0 leaves 0"]);
  });

  test("fok never fills partially, whatever fill_ratio (all or nothing)", () => {
    const s = setup({ fillRatio: 0.5 });
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, flags(Side.BUY, OrderType.MARKET, TimeInForce.FOK), 100, 0, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    const partialFills = s.events.filter((e) => e.kind === RecordKind.FILL && e.lastQty !== 100).map(describeEvent);
    expect({ partialFills, status: s.status(1) }).toEqual({ partialFills: [], status: expect.stringMatching(/^(filled|canceled)$/) });
  });
});

describe("SimBroker cancels", () => {
  function withRestingBuy(orderId = 1) {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(orderId, 0, BUY_LIMIT, 100, 9.9, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    s.drain();
    return s;
  }

  test("cancel of a resting order emits CANCELED after latency, frees it, and a later crossing quote fills nothing", () => {
    const s = withRestingBuy();
    const t = 10_000;
    s.broker.cancel(1, t);
    s.broker.poll(t + LATENCY_NS - 1);
    const early = { events: s.drain(), status: s.status(1) };
    s.broker.poll(t + LATENCY_NS);
    const atDue = { events: s.drain(), status: s.status(1), open: s.broker.openOrders() };
    s.book.writeQuote(0, 9.8, 9.85, 500, 500, 2);
    s.broker.poll(t + LATENCY_NS + 1);
    expect({ early, atDue, later: s.drain() }).toEqual({
      early: { events: [], status: "new" },
      atDue: { events: ["CANCELED #1 buy cum 0 leaves 0"], status: "canceled", open: 0 },
      later: [],
    });
  });

  test("a canceled order frees its table slot for an order id that maps to the same slot", () => {
    const s = withRestingBuy(1);
    s.broker.cancel(1, 0);
    s.broker.poll(2 * LATENCY_NS);
    s.drain();
    // Capacity 16: order 17 maps to the slot order 1 held.
    expect(s.broker.newOrder(17, 0, BUY_LIMIT, 10, 9.9, 0, 0, 3 * LATENCY_NS)).toBe(1);
  });

  test("an order id whose slot holds a live order is rejected as order_table_full", () => {
    const s = withRestingBuy(1);
    expect(s.broker.newOrder(17, 0, BUY_LIMIT, 10, 9.9, 0, 0, 0)).toBe(-1);
    expect(s.drain()).toEqual(["REJECT #17 buy order_table_full"]);
  });

  test("cancel of a partially filled order reports the filled quantity as cum", () => {
    const s = setup({ fillRatio: 0.5 });
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_LIMIT, 100, 10.02, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    const cumBefore = s.table.orders()[0]!.filledQty;
    s.drain();
    s.broker.cancel(1, LATENCY_NS);
    s.broker.poll(2 * LATENCY_NS);
    expect(s.drain()).toEqual([`CANCELED #1 buy cum ${cumBefore} leaves 0`]);
  });

  test("cancel of a filled order emits nothing and leaves it filled", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_MARKET, 100, 0, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    s.drain();
    s.broker.cancel(1, LATENCY_NS);
    s.broker.poll(2 * LATENCY_NS);
    expect({ events: s.drain(), status: s.status(1) }).toEqual({ events: [], status: "filled" });
  });

  test("openOrders counts a resting order once while its cancel is in flight", () => {
    const s = withRestingBuy();
    s.broker.cancel(1, LATENCY_NS);
    expect(s.broker.openOrders()).toBe(1);
  });

  test("cancelAll cancels every resting order on every symbol after latency", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.book.writeQuote(1, 20, 20.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_LIMIT, 100, 9.9, 0, 0, 0);
    s.broker.newOrder(2, 0, SELL_LIMIT, 100, 10.5, 0, 0, 0);
    s.broker.newOrder(3, 1, BUY_LIMIT, 100, 19.9, 0, 0, 0);
    s.broker.poll(LATENCY_NS);
    s.drain();
    const openBefore = s.broker.openOrders();
    s.broker.cancelAll(LATENCY_NS);
    s.broker.poll(2 * LATENCY_NS - 1);
    const early = s.drain();
    s.broker.poll(2 * LATENCY_NS);
    expect({ openBefore, early, canceled: s.drain().sort(), statuses: [1, 2, 3].map(s.status), open: s.broker.openOrders() }).toEqual({
      openBefore: 3,
      early: [],
      canceled: ["CANCELED #1 buy cum 0 leaves 0", "CANCELED #2 sell cum 0 leaves 0", "CANCELED #3 buy cum 0 leaves 0"],
      statuses: ["canceled", "canceled", "canceled"],
      open: 0,
    });
  });

  test("cancelAll also cancels an order sent but not yet acknowledged", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_LIMIT, 100, 9.9, 0, 0, 0);
    s.broker.cancelAll(1);
    s.broker.poll(10 * LATENCY_NS);
    expect({ events: s.drain(), status: s.status(1), open: s.broker.openOrders() }).toEqual({
      events: ["ACK #1 buy leaves 100", "CANCELED #1 buy cum 0 leaves 0"],
      status: "canceled",
      open: 0,
    });
  });

  test("a cancel arriving while the pending queue is full does not drop another order's acknowledgement", () => {
    const s = setup({}, 2); // pending queue holds `capacity` = 2 actions
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, BUY_LIMIT, 100, 9.9, 0, 0, 0);
    s.broker.newOrder(2, 0, BUY_LIMIT, 100, 9.9, 0, 0, 0);
    s.broker.cancel(2, 0);
    s.broker.poll(10 * LATENCY_NS);
    const events = s.drain();
    expect({ ackedOrder1: events.includes("ACK #1 buy leaves 100"), status1: s.status(1), status2: s.status(2) }).toEqual({
      ackedOrder1: true,
      status1: "new",
      status2: "canceled",
    });
  });
});

describe("SimBroker stop orders", () => {
  test("a buy stop waits until the ask reaches the stop, then fills at the ask as a market order", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, flags(Side.BUY, OrderType.STOP), 100, 0, 10.1, 0, 0);
    s.broker.poll(LATENCY_NS);
    const acked = s.drain();
    s.book.writeQuote(0, 10.06, 10.08, 500, 500, 2);
    s.broker.poll(LATENCY_NS + 1);
    const below = s.drain();
    s.book.writeQuote(0, 10.1, 10.12, 500, 500, 3);
    s.broker.poll(LATENCY_NS + 2);
    expect({ acked, below, triggered: s.drain(), limitInTable: s.table.orders()[0]!.limitPx }).toEqual({
      acked: ["ACK #1 buy leaves 100"],
      below: [],
      triggered: ["FILL #1 buy 100@10.12 cum 100 leaves 0"],
      limitInTable: 0,
    });
  });

  test("a sell stop triggers when the bid falls to the stop and fills at the bid", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, flags(Side.SELL, OrderType.STOP), 100, 0, 9.9, 0, 0);
    s.broker.poll(LATENCY_NS);
    s.drain();
    s.book.writeQuote(0, 9.91, 9.93, 500, 500, 2);
    s.broker.poll(LATENCY_NS + 1);
    const above = s.drain();
    s.book.writeQuote(0, 9.88, 9.9, 500, 500, 3);
    s.broker.poll(LATENCY_NS + 2);
    expect({ above, triggered: s.drain() }).toEqual({ above: [], triggered: ["FILL #1 sell 100@9.88 cum 100 leaves 0"] });
  });

  test("a stop already through its price at the ack fills at once", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, flags(Side.BUY, OrderType.STOP), 100, 0, 10.01, 0, 0);
    s.broker.poll(LATENCY_NS);
    expect(s.drain()).toEqual(["ACK #1 buy leaves 100", "FILL #1 buy 100@10.02 cum 100 leaves 0"]);
  });

  test("a triggered buy stop_limit above its limit rests, then fills when the ask comes back to the limit", () => {
    const s = setup();
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    s.broker.newOrder(1, 0, flags(Side.BUY, OrderType.STOP_LIMIT), 100, 10.12, 10.1, 0, 0);
    s.broker.poll(LATENCY_NS);
    s.drain();
    s.book.writeQuote(0, 10.13, 10.15, 500, 500, 2); // triggers (ask >= stop) but ask > limit
    s.broker.poll(LATENCY_NS + 1);
    const triggeredNotMarketable = { events: s.drain(), status: s.status(1) };
    s.book.writeQuote(0, 10.09, 10.11, 500, 500, 3); // below the stop again, within the limit
    s.broker.poll(LATENCY_NS + 2);
    expect({ triggeredNotMarketable, filled: s.drain() }).toEqual({
      triggeredNotMarketable: { events: [], status: "new" },
      filled: ["FILL #1 buy 100@10.11 cum 100 leaves 0"],
    });
  });
});

describe("SimBroker positions in the order table", () => {
  test("adds average in, reducing realizes P&L on the average, flipping through zero restarts the average at the fill", () => {
    const s = setup();
    let now = 0;
    let orderId = 0;
    const trade = (side: Side, qty: number, px: number) => {
      // Put the touch at `px` on the side the order takes.
      if (side === Side.BUY) s.book.writeQuote(0, px - 0.01, px, 1000, 1000, now);
      else s.book.writeQuote(0, px, px + 0.01, 1000, 1000, now);
      s.broker.newOrder(++orderId, 0, side === Side.BUY ? BUY_MARKET : SELL_MARKET, qty, 0, 0, 0, now);
      now += LATENCY_NS;
      s.broker.poll(now);
      const p = s.table.positions(SYMBOLS)[0]!;
      return { qty: p.qty, avgPx: p.avgPx, realizedPnl: p.realizedPnl, boughtQty: p.boughtQty, soldQty: p.soldQty, fills: p.fills, lastFillPx: p.lastFillPx };
    };
    const steps = [trade(Side.BUY, 100, 10), trade(Side.BUY, 100, 12), trade(Side.SELL, 150, 13), trade(Side.SELL, 100, 9)];
    const quantities = new Map([[1, 100], [2, 100], [3, 150], [4, 100]]);
    expect({ steps, problems: execInconsistencies(s.events, (id) => quantities.get(id)!), otherSymbol: s.table.position(1) }).toEqual({
      steps: [
        { qty: 100, avgPx: 10, realizedPnl: 0, boughtQty: 100, soldQty: 0, fills: 1, lastFillPx: 10 },
        { qty: 200, avgPx: 11, realizedPnl: 0, boughtQty: 200, soldQty: 0, fills: 2, lastFillPx: 12 },
        { qty: 50, avgPx: 11, realizedPnl: 300, boughtQty: 200, soldQty: 150, fills: 3, lastFillPx: 13 },
        { qty: -50, avgPx: 9, realizedPnl: 200, boughtQty: 200, soldQty: 250, fills: 4, lastFillPx: 9 },
      ],
      problems: [],
      otherSymbol: 0,
    });
  });

  test("the order row keeps quantity, limit, times, filled quantity and the volume-weighted average fill price", () => {
    const s = setup({ fillRatio: 0.5 });
    s.book.writeQuote(0, 10, 10.02, 500, 500, 1);
    const sentNs = 66;
    s.broker.newOrder(1, 0, BUY_LIMIT, 100, 10.1, 0, 55, sentNs);
    let now = sentNs + LATENCY_NS;
    s.broker.poll(now);
    for (let k = 1; k < 50 && s.status(1) !== "filled"; k++) {
      s.book.writeQuote(0, 10 + k * 0.01, 10.02 + k * 0.01, 500, 500, ++now);
      s.broker.poll(now);
    }
    const fills = s.events.filter((e) => e.kind === RecordKind.FILL);
    const vwap = fills.reduce((a, e) => a + e.lastQty * e.lastPx, 0) / 100;
    const rows: OrderRow[] = s.table.orders();
    expect({ fillPrices: new Set(fills.map((e) => e.lastPx)).size > 1, rows: rows.map((r) => ({ ...r, avgFillPx: Math.abs(r.avgFillPx - vwap) < 1e-9 })) }).toEqual({
      fillPrices: true,
      rows: [
        {
          orderId: 1,
          symbolId: 0,
          flags: BUY_LIMIT,
          status: OrderStatus.FILLED,
          rejectReason: 0,
          qty: 100,
          limitPx: 10.1,
          filledQty: 100,
          avgFillPx: true,
          tickRecvNs: 55,
          sentNs,
        },
      ],
    });
  });
});
