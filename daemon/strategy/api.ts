/**
 * The strategy API: what a user implements in their own `.ts` file and loads with
 * `strategy.module: ./path.ts` (in the compiled binary too).
 *
 * ```ts
 * // my-strategy.ts
 * import type { Strategy, StrategyContext, QuoteView } from "tradingd/strategy";
 * export default function create(params: Record<string, unknown>): Strategy {
 *   return {
 *     onQuote(q: QuoteView, ctx: StrategyContext) {
 *       if (q.askPx < 100 && ctx.position(q.symbolId) === 0) ctx.submit({ symbolId: q.symbolId, side: "buy", qty: 10, type: "limit", limitPx: q.askPx });
 *     },
 *   };
 * }
 * ```
 *
 * The module's default export is a factory taking the config's `strategy.params`. All
 * callbacks run on the strategy worker's thread, one at a time. The view objects passed to the
 * callbacks are reused for every event (no allocation per tick): read them during the call, and
 * copy what you keep. A callback that throws stops the strategy and halts trading; the daemon
 * stays up for an operator to inspect.
 *
 * The factory is called twice when `strategy.warmup_events` > 0 (the default): the second
 * instance is the warm-up's. It gets synthetic events on scratch state (its orders go nowhere;
 * its `onStop` is never called) before trading starts and, in thread layout single with keep-warm
 * (`threads.keep_warm_us`, on by default), one event whenever the thread has been idle that long,
 * for the whole run. So share no mutable module-level state between instances, and keep side
 * effects (files, sockets, console output) out of the callbacks, or set `warmup_events: 0`
 * (no second instance; keep-warm then warms tradingd's own code only).
 *
 * Only `import type` from tradingd: the module is loaded by itself at run time.
 */

export type SideName = "buy" | "sell";
export type OrderTypeName = "market" | "limit" | "stop" | "stop_limit";
export type TimeInForceName = "day" | "gtc" | "ioc" | "fok";

export interface QuoteView {
  readonly symbolId: number;
  readonly symbol: string;
  readonly bidPx: number;
  readonly askPx: number;
  readonly bidSize: number;
  readonly askSize: number;
  /** Process-clock nanoseconds the tick was received. */
  readonly recvNs: number;
}

export interface TradeView {
  readonly symbolId: number;
  readonly symbol: string;
  readonly price: number;
  readonly size: number;
  readonly recvNs: number;
}

export interface FillView {
  readonly orderId: number;
  readonly symbolId: number;
  readonly symbol: string;
  readonly side: SideName;
  readonly qty: number;
  readonly price: number;
  /** Quantity still open on the order after this fill. */
  readonly leavesQty: number;
}

export interface OrderUpdateView {
  readonly orderId: number;
  readonly symbolId: number;
  readonly symbol: string;
  readonly status: "accepted" | "rejected" | "canceled" | "expired";
  /** For rejects: why (a broker or risk reason name). */
  readonly reason: string;
}

export interface OrderSpec {
  symbolId: number;
  side: SideName;
  qty: number;
  type?: OrderTypeName;
  limitPx?: number;
  stopPx?: number;
  tif?: TimeInForceName;
}

export interface StrategyContext {
  /** Configured symbols; a symbol's index is its id. */
  readonly symbols: readonly string[];
  symbolId(symbol: string): number;
  /**
   * Sends an order through the pre-trade risk checks. Returns the order id (> 0), or 0 when
   * risk refused it (then `lastReject` says why). Never throws for a refused order.
   */
  submit(order: OrderSpec): number;
  /** Asks to cancel an open order. Returns false if the order is unknown or already done. */
  cancel(orderId: number): boolean;
  cancelAll(): void;
  /** Filled position (signed shares) in a symbol. */
  position(symbolId: number): number;
  /** Number of orders sent and not yet done for a symbol (all symbols: -1). */
  openOrders(symbolId: number): number;
  readonly lastReject: string;
  /** Process-clock nanoseconds. */
  now(): number;
  log(message: string): void;
}

export interface Strategy {
  onStart?(ctx: StrategyContext): void;
  onQuote?(quote: QuoteView, ctx: StrategyContext): void;
  onTrade?(trade: TradeView, ctx: StrategyContext): void;
  onFill?(fill: FillView, ctx: StrategyContext): void;
  onOrderUpdate?(update: OrderUpdateView, ctx: StrategyContext): void;
  /** Every `strategy.timer_interval_ms`. */
  onTimer?(nowNs: number, ctx: StrategyContext): void;
  onStop?(ctx: StrategyContext): void;
}

export type StrategyFactory = (params: Readonly<Record<string, unknown>>) => Strategy;
