/**
 * Fixed-size binary records carried by the rings: one 64-byte slot each.
 *
 * A slot is seen as 16 Int32 words and, over the same bytes, 8 Float64 words:
 *
 * | bytes | i32 word | f64 word | field (all kinds) |
 * |---|---|---|---|
 * | 0–3   | 0 | 0 (lo) | `kind` (RecordKind) |
 * | 4–7   | 1 | 0 (hi) | `symbolId` (index into the configured symbol list) |
 * | 8–11  | 2 | 1 (lo) | `a`: kind-specific integer |
 * | 12–15 | 3 | 1 (hi) | `b`: kind-specific integer |
 * | 16–23 | — | 2 | `tRecvNs`: process-clock time the originating tick was received |
 * | 24–31 | — | 3 | `tPubNs`: process-clock time the producer published this record |
 * | 32–63 | — | 4–7 | `p0..p3`: kind-specific doubles |
 *
 * Per kind (prices and sizes are f64; fractional shares exist):
 *
 * | kind | a | b | p0 | p1 | p2 | p3 |
 * |---|---|---|---|---|---|---|
 * | QUOTE | sequence (low 31 bits) | bid exchange \| ask exchange<<16 | bid price | ask price | bid size | ask size |
 * | TRADE | sequence | exchange | price | size | SIP time (Unix ms) | — |
 * | BAR, BAR_MINUTE | volume (saturating at 2^31-1) | window start (Unix s) | open | high | low | close |
 * | ORDER_NEW | orderId | side \| type<<4 \| tif<<8 | qty | limit price | stop price | — |
 * | ORDER_CANCEL | orderId | — | — | — | — | — |
 * | ORDER_CANCEL_ALL | — | — | — | — | — | — |
 * | ACK, FILL, REJECT, CANCELED, EXPIRED | orderId | side \| reason<<8 | last qty | last price | cum qty | leaves qty |
 * | POSITION | — | — | signed quantity | average price | — | — |
 * | RECONCILED | — | — | the account's P&L of the day at the broker, USD | — | — | — |
 *
 * Sizes are as the source sends them (Polygon's quote sizes are in round lots, per its spec).
 *
 * `tRecvNs` travels with every record that a tick causes, so the execution worker can report
 * tick-to-order latency. Everything here is an index constant or a function of numbers: nothing
 * allocates.
 */

export const enum RecordKind {
  QUOTE = 1,
  TRADE = 2,
  BAR = 3,
  BAR_MINUTE = 4,
  ORDER_NEW = 10,
  ORDER_CANCEL = 11,
  ORDER_CANCEL_ALL = 12,
  ACK = 20,
  FILL = 21,
  REJECT = 22,
  CANCELED = 23,
  EXPIRED = 24,
  /** Sets the strategy's position in a symbol (after reconciliation at startup): p0 = signed qty, p1 = average price. */
  POSITION = 25,
  /**
   * Startup reconciliation is done (every POSITION record came before it); p0 = the account's
   * P&L so far today at the broker, USD. The strategy's risk lets orders through only after it.
   */
  RECONCILED = 26,
}

// Int32 word offsets within a slot.
export const I_KIND = 0;
export const I_SYMBOL = 1;
export const I_A = 2;
export const I_B = 3;
// Float64 word offsets within a slot.
export const F_TRECV = 2;
export const F_TPUB = 3;
export const F_P0 = 4;
export const F_P1 = 5;
export const F_P2 = 6;
export const F_P3 = 7;

export const enum Side {
  BUY = 1,
  SELL = 2,
}

export const enum OrderType {
  MARKET = 1,
  LIMIT = 2,
  STOP = 3,
  STOP_LIMIT = 4,
}

export const enum TimeInForce {
  DAY = 1,
  GTC = 2,
  IOC = 3,
  FOK = 4,
}

/** Reasons carried in reject records (and counted by name in /metrics). */
export const REJECT_REASONS = [
  "none",
  "unknown_symbol",
  "no_quote",
  "invalid_quantity",
  "invalid_price",
  "insufficient_liquidity",
  "unknown_order",
  "too_many_open_orders",
  "order_table_full",
  "broker_rejected",
  "not_sent",
  "rate_limited",
  "broker_not_ready",
  "halted",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
export const enum Reject {
  NONE = 0,
  UNKNOWN_SYMBOL = 1,
  NO_QUOTE = 2,
  INVALID_QUANTITY = 3,
  INVALID_PRICE = 4,
  INSUFFICIENT_LIQUIDITY = 5,
  UNKNOWN_ORDER = 6,
  TOO_MANY_OPEN_ORDERS = 7,
  ORDER_TABLE_FULL = 8,
  BROKER_REJECTED = 9,
  NOT_SENT = 10,
  RATE_LIMITED = 11,
  BROKER_NOT_READY = 12,
  HALTED = 13,
}

/** Order ids the execution worker makes itself (flatten), apart from the strategy's (from 1). */
export const BROKER_ORDER_ID_BASE = 1 << 30;

export function packOrderFlags(side: Side, type: OrderType, tif: TimeInForce): number {
  return side | (type << 4) | (tif << 8);
}
export function flagsSide(flags: number): Side {
  return (flags & 0xf) as Side;
}
export function flagsType(flags: number): OrderType {
  return ((flags >> 4) & 0xf) as OrderType;
}
export function flagsTif(flags: number): TimeInForce {
  return ((flags >> 8) & 0xf) as TimeInForce;
}

export const SIDE_NAMES = ["", "buy", "sell"] as const;
export const TYPE_NAMES = ["", "market", "limit", "stop", "stop_limit"] as const;
export const TIF_NAMES = ["", "day", "gtc", "ioc", "fok"] as const;

/** The words of a ring slot (an `SpscRing`'s data views). */
export interface SlotWords {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
}

/**
 * Writes an exec-event record (ACK, FILL, REJECT, CANCELED, EXPIRED) into `slot`; the caller
 * claimed it and publishes. `b` = side | reason<<8. No allocation.
 */
export function writeExecRecord(
  ring: SlotWords,
  slot: number,
  kind: RecordKind,
  symbolId: number,
  orderId: number,
  b: number,
  lastQty: number,
  lastPx: number,
  cumQty: number,
  leavesQty: number,
  tickRecvNs: number,
  pubNs: number,
): void {
  const i = slot * 16;
  const f = slot * 8;
  ring.i32[i + I_KIND] = kind;
  ring.i32[i + I_SYMBOL] = symbolId;
  ring.i32[i + I_A] = orderId;
  ring.i32[i + I_B] = b;
  ring.f64[f + F_TRECV] = tickRecvNs;
  ring.f64[f + F_TPUB] = pubNs;
  ring.f64[f + F_P0] = lastQty;
  ring.f64[f + F_P1] = lastPx;
  ring.f64[f + F_P2] = cumQty;
  ring.f64[f + F_P3] = leavesQty;
}
