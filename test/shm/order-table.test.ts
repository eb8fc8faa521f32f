import { describe, expect, test } from "bun:test";
import { ORDER_STATUS_NAMES, OrderStatus, OrderTable, isTerminal } from "../../daemon/shm/order-table.ts";
import { OrderType, Side, TimeInForce, packOrderFlags } from "../../daemon/shm/records.ts";

const BUY = packOrderFlags(Side.BUY, OrderType.LIMIT, TimeInForce.DAY);
const SELL = packOrderFlags(Side.SELL, OrderType.LIMIT, TimeInForce.DAY);

const statusNames = (t: OrderTable) => t.orders().map((r) => [r.orderId, ORDER_STATUS_NAMES[r.status]]);

describe("OrderTable capacity", () => {
  test.each([0, -4, 3, 6, 12, 1000, 2.5, Number.NaN])("capacity %p is rejected with a RangeError", (capacity) => {
    expect(() => OrderTable.create(capacity, 1)).toThrow(RangeError);
  });

  test.each([1, 2, 8, 1024])("capacity %p (a power of two) is accepted and empty", (capacity) => {
    const t = OrderTable.create(capacity, 1);
    expect({ capacity: t.capacity, mask: t.mask, orders: t.orders() }).toEqual({ capacity, mask: capacity - 1, orders: [] });
  });
});

describe("OrderTable orders", () => {
  test("insert puts an order at id & (capacity-1) as pending_new with every field readable", () => {
    const t = OrderTable.create(8, 2);
    const e = t.insert(13, 1, SELL, 250, 10.5, 111, 222);
    expect({ e, status: t.statusAt(e), row: t.orders() }).toEqual({
      e: 5,
      status: OrderStatus.PENDING_NEW,
      row: [
        { orderId: 13, symbolId: 1, flags: SELL, status: OrderStatus.PENDING_NEW, rejectReason: 0, qty: 250, limitPx: 10.5, filledQty: 0, avgFillPx: 0, tickRecvNs: 111, sentNs: 222 },
      ],
    });
  });

  test("a live order in the slot refuses another id (-1); once terminal the slot is reusable", () => {
    const t = OrderTable.create(8, 1);
    const e = t.insert(1, 0, BUY, 100, 10, 0, 0);
    const verdicts: Record<string, number> = {};
    for (const st of [OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED]) {
      t.setStatus(e, st);
      verdicts[ORDER_STATUS_NAMES[st]] = t.entryFor(9);
    }
    verdicts.ownId = t.entryFor(1);
    verdicts.insertWhileLive = t.insert(9, 0, BUY, 5, 10, 0, 0);
    expect({ verdicts, stillThere: statusNames(t) }).toEqual({
      verdicts: { pending_new: -1, new: -1, partially_filled: -1, ownId: 1, insertWhileLive: -1 },
      stillThere: [[1, "partially_filled"]],
    });
  });

  test.each([OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED])(
    "a slot whose order is terminal (status %p) takes a new id, with fill fields and reject reason reset",
    (terminal) => {
      const t = OrderTable.create(8, 1);
      const e = t.insert(1, 0, BUY, 100, 10, 0, 0);
      t.applyFill(e, 0, 40, 10, 0);
      t.setStatus(e, terminal, 3);
      const reused = t.insert(9, 0, SELL, 7, 11, 1, 2);
      expect({ isTerminal: isTerminal(terminal), reused, rows: t.orders() }).toEqual({
        isTerminal: true,
        reused: 1,
        rows: [{ orderId: 9, symbolId: 0, flags: SELL, status: OrderStatus.PENDING_NEW, rejectReason: 0, qty: 7, limitPx: 11, filledQty: 0, avgFillPx: 0, tickRecvNs: 1, sentNs: 2 }],
      });
    },
  );

  test("an empty slot is free for any id that maps to it", () => {
    const t = OrderTable.create(4, 1);
    expect([t.entryFor(2), t.entryFor(6), t.entryFor(1026)]).toEqual([2, 2, 2]);
  });

  test("orders() lists by order id, not by slot", () => {
    const t = OrderTable.create(8, 1);
    for (const id of [15, 9, 4, 2]) t.insert(id, 0, BUY, 1, 1, 0, 0); // slots 7, 1, 4, 2
    expect(t.orders().map((r) => r.orderId)).toEqual([2, 4, 9, 15]);
  });

  test("setStatus keeps the reject reason beside the status", () => {
    const t = OrderTable.create(4, 1);
    const e = t.insert(1, 0, BUY, 1, 1, 0, 0);
    t.setStatus(e, OrderStatus.REJECTED, 4);
    const row = t.orders()[0]!;
    expect({ status: row.status, reason: row.rejectReason, statusAt: t.statusAt(e) }).toEqual({ status: OrderStatus.REJECTED, reason: 4, statusAt: OrderStatus.REJECTED });
  });

  test("applyFill accumulates filled quantity and the volume-weighted average price; filled when it reaches qty", () => {
    const t = OrderTable.create(4, 1);
    const e = t.insert(1, 0, BUY, 100, 11, 0, 0);
    t.applyFill(e, 0, 25, 10, 1);
    const first = { status: ORDER_STATUS_NAMES[t.statusAt(e)], filled: t.filledAt(e) };
    t.applyFill(e, 0, 75, 11, 2);
    const row = t.orders()[0]!;
    expect({ first, status: ORDER_STATUS_NAMES[row.status], filled: row.filledQty, avg: row.avgFillPx }).toEqual({
      first: { status: "partially_filled", filled: 25 },
      status: "filled",
      filled: 100,
      avg: 10.75,
    });
  });

  test("a second OrderTable over the same buffers (another thread's view) sees the same orders and positions", () => {
    const t = OrderTable.create(8, 2);
    const e = t.insert(3, 1, BUY, 10, 5, 0, 0);
    t.applyFill(e, 1, 10, 5, 0);
    const view = new OrderTable(t.ordersSab, t.positionsSab, 8);
    expect({ orders: view.orders(), positions: view.positions(2) }).toEqual({ orders: t.orders(), positions: t.positions(2) });
  });
});

describe("OrderTable positions", () => {
  function trade(t: OrderTable, symbolId: number, signedQty: number, px: number) {
    const id = t.orders().length + 1;
    const e = t.insert(id, symbolId, signedQty > 0 ? BUY : SELL, Math.abs(signedQty), px, 0, 0);
    t.applyFill(e, symbolId, signedQty, px, id * 10);
    const { qty, avgPx, realizedPnl } = t.positions(symbolId + 1)[symbolId]!;
    return { qty, avgPx, realizedPnl };
  }

  test("long: buys average in, a partial sell realizes on the average, a sell through zero restarts the average at its price", () => {
    const t = OrderTable.create(16, 1);
    expect([trade(t, 0, 100, 10), trade(t, 0, 100, 12), trade(t, 0, -150, 13), trade(t, 0, -100, 9)]).toEqual([
      { qty: 100, avgPx: 10, realizedPnl: 0 },
      { qty: 200, avgPx: 11, realizedPnl: 0 },
      { qty: 50, avgPx: 11, realizedPnl: 300 },
      { qty: -50, avgPx: 9, realizedPnl: 200 },
    ]);
  });

  test("short: sells average in, a buy realizes (avg - px) per share, a buy through zero restarts the average", () => {
    const t = OrderTable.create(16, 1);
    expect([trade(t, 0, -100, 10), trade(t, 0, -100, 8), trade(t, 0, 50, 7), trade(t, 0, 200, 10)]).toEqual([
      { qty: -100, avgPx: 10, realizedPnl: 0 },
      { qty: -200, avgPx: 9, realizedPnl: 0 },
      { qty: -150, avgPx: 9, realizedPnl: 100 },
      { qty: 50, avgPx: 10, realizedPnl: -50 },
    ]);
  });

  test("closing exactly to flat zeroes the average and keeps the realized P&L; bought, sold, fills and last fill are counted", () => {
    const t = OrderTable.create(16, 2);
    trade(t, 1, 30, 20);
    trade(t, 1, -30, 21.5);
    expect(t.positions(2)).toEqual([
      { symbolId: 0, qty: 0, avgPx: 0, realizedPnl: 0, boughtQty: 0, soldQty: 0, fills: 0, lastFillPx: 0 },
      { symbolId: 1, qty: 0, avgPx: 0, realizedPnl: 45, boughtQty: 30, soldQty: 30, fills: 2, lastFillPx: 21.5 },
    ]);
    expect(t.position(1)).toBe(0);
  });
});
