/**
 * `GET /orders` and `GET /positions`: the execution worker's order table and positions, with
 * symbols and names instead of ids. Main thread; allocates per request.
 *
 * `/orders?status=open|all&limit=N`: the latest `limit` orders (default 100, at most 10000), open
 * ones only by default; `total` counts every order that matched.
 */
import { z } from "zod";
import type { Pipeline } from "../supervisor.ts";
import { ORDER_STATUS_NAMES, isTerminal } from "../shm/order-table.ts";
import { REJECT_REASONS, SIDE_NAMES, TIF_NAMES, TYPE_NAMES, flagsSide, flagsTif, flagsType } from "../shm/records.ts";

const LIMIT_EXPECTED = { error: "expected an integer from 1 to 10000" };

export const OrdersQuery = z.strictObject({
  status: z.enum(["open", "all"], { error: "expected open or all" }).default("open"),
  limit: z.coerce.number(LIMIT_EXPECTED).int(LIMIT_EXPECTED).min(1, LIMIT_EXPECTED).max(10_000, LIMIT_EXPECTED).default(100),
});
export type OrdersQuery = z.infer<typeof OrdersQuery>;

const round2 = (x: number) => Math.round(x * 100) / 100;

export function ordersDocument(p: Pipeline, query: OrdersQuery) {
  const matching = p.table.orders().filter((o) => query.status === "all" || !isTerminal(o.status));
  return {
    total: matching.length,
    orders: matching.slice(-query.limit).map((o) => ({
      order_id: o.orderId,
      symbol: p.symbols[o.symbolId] ?? null,
      side: SIDE_NAMES[flagsSide(o.flags)] || null,
      type: TYPE_NAMES[flagsType(o.flags)] || null,
      tif: TIF_NAMES[flagsTif(o.flags)] || null,
      qty: o.qty,
      limit_price: o.limitPx === 0 ? null : o.limitPx,
      status: ORDER_STATUS_NAMES[o.status] ?? "unknown",
      reject_reason: o.rejectReason === 0 ? null : (REJECT_REASONS[o.rejectReason] ?? String(o.rejectReason)),
      filled_qty: o.filledQty,
      avg_fill_price: o.filledQty === 0 ? null : o.avgFillPx,
    })),
  };
}
export type OrdersDocument = ReturnType<typeof ordersDocument>;

/** Every symbol that has traded (a fill) since the start. */
export function positionsDocument(p: Pipeline) {
  return {
    positions: p.table
      .positions(p.symbols.length)
      .filter((r) => r.fills > 0 || r.qty !== 0)
      .map((r) => ({
        symbol: p.symbols[r.symbolId]!,
        qty: r.qty,
        avg_price: r.avgPx,
        realized_pnl: round2(r.realizedPnl),
        bought_qty: r.boughtQty,
        sold_qty: r.soldQty,
        fills: r.fills,
        last_fill_price: r.fills === 0 ? null : r.lastFillPx,
      })),
  };
}
export type PositionsDocument = ReturnType<typeof positionsDocument>;
