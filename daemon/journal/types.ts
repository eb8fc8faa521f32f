/**
 * What the order journal stores and returns. Field names follow Alpaca's order object
 * (PROTOCOLS.md §B.3–B.4) in camelCase; times are Unix milliseconds (`…AtMs`).
 */

export type OrderSide = "buy" | "sell";
export type OrderTypeName = "market" | "limit" | "stop" | "stop_limit";
export type TimeInForceName = "day" | "gtc" | "opg" | "cls" | "ioc" | "fok";

/** The broker's final word on an order, or ours: `not_found` = the broker has no such order. */
export type TerminalState = "filled" | "canceled" | "expired" | "rejected" | "replaced" | "not_found";

/**
 * The journal's state of an order. It only moves forward, in this order of rank:
 *
 * | rank | state | meaning | at startup |
 * |---|---|---|---|
 * | 0 | `intent` | journaled, maybe written to the socket, maybe not | in doubt: look up |
 * | 1 | `sent` | the request was written to the socket, no answer yet | in doubt: look up |
 * | 2 | `unknown` | timeout, reset or 5xx: the outcome is unknown | in doubt: look up |
 * | 3 | `not_found` | a look-up found no such order at the broker | settled (nothing to do) |
 * | 4 | `accepted` | the broker has it (an ack, a status, or a fill said so) | open: compare with the broker's open orders |
 * | 5 | `filled` `canceled` `expired` `rejected` `replaced` | terminal | settled |
 *
 * `not_found` ranks below `accepted` because a look-up that misses can race the order's own
 * arrival at the broker: later positive evidence from the broker (an ack, a fill, a terminal
 * status) beats the absence of evidence. Among the rank-5 states the first one recorded stays.
 */
export type OrderState = "intent" | "sent" | "unknown" | "accepted" | TerminalState;

export const STATE_RANK: Readonly<Record<OrderState, number>> = Object.freeze({
  intent: 0,
  sent: 1,
  unknown: 2,
  not_found: 3,
  accepted: 4,
  filled: 5,
  canceled: 5,
  expired: 5,
  rejected: 5,
  replaced: 5,
});

/** The order as it is about to be sent: `recordIntent` writes it before any byte goes out. */
export interface OrderIntent {
  /** From `OrderJournal.newClientOrderId(localOrderId)`. */
  clientOrderId: string;
  /** The strategy worker's order id (the order ring's `orderId`). */
  localOrderId: number;
  symbol: string;
  side: OrderSide;
  type: OrderTypeName;
  timeInForce: TimeInForceName;
  qty: number;
  limitPrice?: number | null;
  stopPrice?: number | null;
  createdAtMs: number;
  /** The decimal strings as sent on the wire (`"0.5"`), when the gateway has them. */
  qtyDecimal?: string | null;
  limitPriceDecimal?: string | null;
  stopPriceDecimal?: string | null;
}

/** A fill's decimal strings as the broker sent them (`qty`, `price` of a trade_updates fill). */
export interface FillDecimals {
  qty: string;
  price: string;
}

export interface JournalOrder {
  clientOrderId: string;
  /** The run (daemon start) that journaled the order. */
  runId: string;
  localOrderId: number;
  symbol: string;
  side: OrderSide;
  type: OrderTypeName;
  timeInForce: TimeInForceName;
  qty: number;
  limitPrice: number | null;
  stopPrice: number | null;
  qtyDecimal: string | null;
  limitPriceDecimal: string | null;
  stopPriceDecimal: string | null;
  createdAtMs: number;
  state: OrderState;
  brokerOrderId: string | null;
  /** The broker's last status string that moved the state (`new`, `partially_filled`, ...). */
  brokerStatus: string | null;
  sentAtMs: number | null;
  acceptedAtMs: number | null;
  terminalAtMs: number | null;
  /** Why the order is `unknown`, or why it ended (`recordTerminal`'s reason). */
  reason: string | null;
  filledQty: number;
  /** Quantity-weighted mean of the fills; null before the first. */
  avgFillPrice: number | null;
  updatedAtMs: number;
}

export interface JournalEvent {
  /** Increases with every event in the file: the order events were written in. */
  seq: number;
  clientOrderId: string;
  /** The run that wrote the event. */
  runId: string;
  kind: string;
  /** When it happened, as the caller says (the broker's time, or ours). */
  atMs: number;
  /** When the journal wrote it (this host's wall clock). */
  recordedAtMs: number;
  /** The order's state after the event. */
  state: OrderState;
  /** True when the event arrived after a later state (a late ack after a fill, say): written, not applied. */
  stale: boolean;
  detail: Record<string, unknown>;
}
