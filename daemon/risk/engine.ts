/**
 * The pre-trade risk engine: runs the checks of `checks.ts` on every order the strategy submits,
 * in the strategy worker, before the order ring, and keeps the state they need incrementally
 * (positions, P&L of the day and gross exposure in `RiskLedger`, the per-second and per-minute
 * order windows, the recent orders of `DuplicateGuard`), so no check loops over symbols or orders.
 *
 * Gates, in order (the first that refuses gives the reason; trading state before the throttle,
 * after NautilusTrader's risk engine):
 *
 * | # | check | reason |
 * |---|---|---|
 * | 1 | trading state: HALTED / PAUSED refuse, REDUCING only shrinking orders | halted, paused, reducing_only |
 * | 2 | daily loss (realized + unrealized ≤ −daily_loss_limit; also HALTS trading) | daily_loss |
 * | 3 | feed not stale (FEED_STALE, when refuse_when_feed_stale) | stale_data |
 * | 4 | broker reconciled (BROKER_READY, and with Alpaca this worker has applied the RECONCILED record: the broker's positions and day P&L), with request budget | broker_not_ready, broker_budget |
 * | 5 | order shape (qty > 0, finite prices) | invalid_order |
 * | 6 | max_order_qty | max_order_qty |
 * | 7 | max_order_notional (limit price, or the touch for a market order) | max_order_notional |
 * | 8 | price collar against the last NBBO (collar_bps) | price_collar |
 * | 9 | quote age (max_quote_age_ms) | stale_quote |
 * | 10 | max_position_qty (position + open orders on the side + order) | max_position |
 * | 11 | max_gross_exposure | max_gross_exposure |
 * | 12 | max_open_orders | max_open_orders |
 * | 13 | max_orders_per_sec, then max_orders_per_min | order_rate, order_rate_per_min |
 * | 14 | duplicate (same symbol, side, price within duplicate_window_ms) | duplicate_order |
 *
 * The daily loss is also checked whenever the P&L moves (a fill, or a quote of a symbol with a
 * position): at the limit the engine sets TRADING to HALTED, RISK_HALT to the reason, and calls
 * `onHalt` (the worker tells main, once per halt). The day's P&L starts again at 0 at each start
 * of a trading day (`newDay`: `day_starts_at`, New York time, trading-day.ts); a halt stays.
 *
 * Limits: read from the shared `RiskLimitsBlock` into `limits` when its sequence has moved, at
 * the start of a check (or of a loss check), so every check of one order sees one whole set.
 *
 * Strategy worker only. `check`, `onSent`, `onFill`, `onQuote`, `setPosition` allocate nothing;
 * a change of the limits that raises an order-rate limit grows that window's ring (allocates once).
 */
import {
  RiskReason,
  OrderRateWindow,
  checkTradingState,
  checkDailyLoss,
  checkFeedFresh,
  checkBroker,
  checkOrderShape,
  checkOrderQty,
  checkOrderNotional,
  checkPriceCollar,
  checkQuoteAge,
  checkPosition,
  checkGrossExposure,
  checkOpenOrders,
  checkOrderRate,
  checkOrderRatePerMin,
  checkDuplicate,
  type RiskLimits,
} from "./checks.ts";
import { RiskLedger } from "./ledger.ts";
import { lastDayStartMs, nextDayStartMs } from "./trading-day.ts";
import { DuplicateGuard } from "./duplicate-guard.ts";
import { emptyRiskLimits, type RiskLimitsBlock } from "./limits-block.ts";
import { TradingState, W_BROKER_BUDGET, W_BROKER_READY, W_FEED_STALE, W_RISK_HALT, W_TRADING, type ControlBlock } from "../shm/control.ts";
import type { QuoteBook } from "../shm/quote-book.ts";

const MINUTE_NS = 60e9;

export interface RiskEngineParts {
  symbols: number;
  limits: RiskLimitsBlock;
  control: ControlBlock;
  /** The last NBBO per symbol (collar, quote age, the price of a market order). */
  book: QuoteBook;
  /** Risk has just halted trading (rare: once per halt). */
  onHalt?: (reason: RiskReason, pnl: number, limit: number) => void;
  /**
   * The broker reconciles at startup (Alpaca): no order passes until this engine has applied its
   * RECONCILED record (`reconciled`), whatever BROKER_READY says, so the first orders are checked
   * against the broker's positions and day P&L, not against nothing. Default false.
   */
  awaitReconciled?: boolean;
}

export class RiskEngine {
  /** The limits of the current check (this thread's copy of the shared block). */
  readonly limits: RiskLimits = emptyRiskLimits();
  readonly ledger: RiskLedger;
  readonly #block: RiskLimitsBlock;
  readonly #control: ControlBlock;
  readonly #book: QuoteBook;
  readonly #onHalt: ((reason: RiskReason, pnl: number, limit: number) => void) | undefined;
  readonly #perSec = new OrderRateWindow(1);
  readonly #perMin = new OrderRateWindow(1);
  readonly #recent = new DuplicateGuard();
  #seq = -1;

  constructor(p: RiskEngineParts) {
    this.ledger = new RiskLedger(p.symbols);
    this.#block = p.limits;
    this.#control = p.control;
    this.#book = p.book;
    this.#onHalt = p.onHalt;
    this.#reconciled = !p.awaitReconciled;
    this.refreshLimits();
  }

  #reconciled: boolean;

  /** Signed position per symbol id. */
  get positions(): Float64Array {
    return this.ledger.positions;
  }

  /** Takes the shared limits if they changed since the last copy (one atomic load if not). */
  refreshLimits(): void {
    if (this.#block.seq() === this.#seq) return;
    const l = this.limits;
    this.#seq = this.#block.read(l);
    this.#perSec.ensureCapacity(l.maxOrdersPerSec + 1);
    this.#perMin.ensureCapacity(l.maxOrdersPerMin + 1);
  }

  /**
   * The verdict on one order: `RiskReason.OK` or why not. `openSameSide`: the quantity of the
   * symbol's open orders on the order's side (unsigned); `openTotal`: open orders, all symbols;
   * `limitPx`: 0 for a market or stop order, NaN for a limit order without a price.
   */
  check(s: number, buy: boolean, qty: number, limitPx: number, openSameSide: number, openTotal: number, nowNs: number): RiskReason {
    this.refreshLimits();
    const l = this.limits;
    const words = this.#control.words;
    const position = this.ledger.positions[s]!;
    const signed = buy ? qty : -qty;
    const state = checkTradingState(Atomics.load(words, W_TRADING) as TradingState, position, signed);
    if (state !== RiskReason.OK) return state;
    if (checkDailyLoss(this.ledger.pnl(), l) !== RiskReason.OK) {
      this.#halt(RiskReason.DAILY_LOSS);
      return RiskReason.DAILY_LOSS;
    }
    const early =
      checkFeedFresh(l.refuseWhenFeedStale && Atomics.load(words, W_FEED_STALE) === 1) ||
      checkBroker(this.#reconciled && Atomics.load(words, W_BROKER_READY) === 1, Atomics.load(words, W_BROKER_BUDGET)) ||
      checkOrderShape(qty, limitPx) ||
      checkOrderQty(qty, l);
    if (early !== RiskReason.OK) return early;
    const book = this.#book;
    const quoted = book.read(s) && book.recvNs > 0;
    const touch = quoted ? (buy ? book.askPx : book.bidPx) : 0;
    const px = limitPx > 0 ? limitPx : touch;
    const open = buy ? openSameSide : -openSameSide;
    return (
      checkOrderNotional(qty, px, l) ||
      checkPriceCollar(limitPx, touch, l) ||
      checkQuoteAge(quoted, nowNs - book.recvNs, l) ||
      checkPosition(position, open, signed, l) ||
      checkGrossExposure(this.ledger.grossExposure(), position, open, signed, px, l) ||
      checkOpenOrders(openTotal, l) ||
      checkOrderRate(this.#perSec.countSince(nowNs), l) ||
      checkOrderRatePerMin(this.#perMin.countSince(nowNs, MINUTE_NS), l) ||
      checkDuplicate(l.duplicateWindowMs > 0 ? this.#recent.lastSent(s, buy, limitPx, nowNs - l.duplicateWindowMs * 1e6) : Number.NEGATIVE_INFINITY, nowNs, l)
    );
  }

  #dayStartMin = -1;
  #dayStartedMs = Number.NaN;
  #nextDayMs = Number.POSITIVE_INFINITY;

  /** When this risk day started (UTC ms): the first `newDay` call, or the last day start it passed. */
  get dayStartedMs(): number {
    return this.#dayStartedMs;
  }

  /** When the next risk day starts (UTC ms; +Infinity before the first `newDay`). */
  get nextDayMs(): number {
    return this.#nextDayMs;
  }

  /**
   * The risk day, by the wall clock `nowMs` (UTC ms): once a trading day has started since the
   * last call (`day_starts_at`, New York), the ledger's P&L starts again at 0 (positions are kept,
   * at their marks) and the P&L of the day that ended is returned; otherwise NaN. Several days
   * passed at once (a host asleep) are one reset. The first call starts the first day (the
   * daemon's start). A change of `day_starts_at` takes effect from the next start, after a start
   * already due under the old one is taken. A wall clock stepped back before the day's start
   * moves the next start back with it (nothing is reset). A halt stays: trading resumes only
   * when the operator says. About once a second, not on the order path (allocates a little).
   */
  newDay(nowMs: number): number {
    this.refreshLimits();
    const start = this.limits.dayStartMin;
    if (this.#dayStartMin < 0) {
      this.#dayStartMin = start;
      this.#dayStartedMs = nowMs;
      this.#nextDayMs = nextDayStartMs(nowMs, start);
      return Number.NaN;
    }
    if (nowMs < this.#dayStartedMs) {
      // The clock went back (a step by NTP, a VM restored): the next start is reckoned from now.
      this.#dayStartedMs = lastDayStartMs(nowMs, this.#dayStartMin);
      this.#nextDayMs = nextDayStartMs(nowMs, this.#dayStartMin);
    }
    let ended = Number.NaN;
    if (nowMs >= this.#nextDayMs) {
      ended = this.ledger.pnl();
      this.ledger.resetDay();
      this.#dayStartedMs = lastDayStartMs(nowMs, this.#dayStartMin);
    }
    if (start !== this.#dayStartMin || !Number.isNaN(ended)) {
      this.#dayStartMin = start;
      this.#nextDayMs = nextDayStartMs(nowMs, start);
    }
    return ended;
  }

  /** An order that passed went out: it counts in the rate windows and the duplicate guard. */
  onSent(s: number, buy: boolean, limitPx: number, nowNs: number): void {
    this.#perSec.record(nowNs);
    this.#perMin.record(nowNs);
    this.#recent.record(s, buy, limitPx, nowNs);
  }

  /** A fill of `signedQty` (buy > 0) at `price`. */
  onFill(s: number, signedQty: number, price: number): void {
    this.ledger.fill(s, signedQty, price);
    this.#watchLoss();
  }

  /** A quote: its mid is the symbol's new mark. */
  onQuote(s: number, bidPx: number, askPx: number): void {
    const mid = bidPx > 0 && askPx > 0 ? (bidPx + askPx) * 0.5 : bidPx > 0 ? bidPx : askPx;
    if (this.ledger.mark(s, mid)) this.#watchLoss();
  }

  /**
   * Startup reconciliation is applied (the broker's positions came before, by `setPosition`):
   * orders may pass from now on. `dayPnl`, the account's P&L so far today at the broker, is
   * added to the ledger's (a restart in the middle of a day keeps the morning's loss), and the
   * loss limit is checked at once.
   */
  reconciled(dayPnl: number): void {
    if (Number.isFinite(dayPnl)) this.ledger.addDayPnl(dayPnl);
    this.#reconciled = true;
    this.#watchLoss();
  }

  /** The broker's position (reconciliation at startup): no P&L. */
  setPosition(s: number, qty: number): void {
    this.ledger.setPosition(s, qty);
  }

  #watchLoss(): void {
    this.refreshLimits();
    if (checkDailyLoss(this.ledger.pnl(), this.limits) !== RiskReason.OK) this.#halt(RiskReason.DAILY_LOSS);
  }

  #halt(reason: RiskReason): void {
    const c = this.#control;
    if (c.tradingState() === TradingState.HALTED) return;
    c.set(W_RISK_HALT, reason); // why, first: main reads it once it sees HALTED
    c.set(W_TRADING, TradingState.HALTED); // publishes the halt (seq-cst store): no order passes after this
    this.#onHalt?.(reason, this.ledger.pnl(), this.limits.dailyLossLimit);
  }
}
