/**
 * The shared control block: the words every worker reads each loop turn.
 *
 * One SharedArrayBuffer of Int32 words. The main thread is the only writer of the words marked
 * "main"; each worker is the only writer of its own words. Every access is an Atomics load or
 * store (seq-cst), so a change made by main is seen by a worker on its next loop turn.
 *
 * | i32 word | name | writer | meaning |
 * |---|---|---|---|
 * | 0 | `TRADING` | main (and the strategy worker, to halt on a loss limit or a strategy crash) | TradingState |
 * | 1 | `STOP_FEED` | main | 1: the feed worker stops producing and exits its loop |
 * | 2 | `STOP_STRATEGY` | main | 1: the strategy worker drains the market-data ring and exits |
 * | 3 | `STOP_EXECUTION` | main | 1: the execution worker drains the order ring and exits |
 * | 4 | `FEED_DONE` | feed | 1: the feed has produced its last record (a bounded synthetic feed, or stopped) |
 * | 5 | `STRATEGY_FAILED` | strategy | 1: the user strategy threw; trading is halted |
 * | 6 | `CONTROL_SEQ` | main | incremented on every change made by main (workers may cache on it) |
 * | 7 | `FEED_STALE` | feed | 1: subscribed but no event for `feed.stale_after_ms`, or not connected: risk refuses new orders |
 * | 8 | `BROKER_READY` | execution | 1: the broker is reconciled with the journal and orders may go out (the sim broker: at once) |
 * | 9 | `BROKER_BUDGET` | execution | requests left in the broker's rate budget (risk refuses an order when 0) |
 * | 10 | `CANCEL_ALL_SEQ` | main | incremented to ask the execution worker to cancel every open order (kill switch) |
 * | 11 | `FLATTEN_SEQ` | main | incremented to ask the execution worker to cancel everything and close every position |
 * | 12 | `CANCEL_ALL_ACK` | execution | the last CANCEL_ALL_SEQ it acted on: every order it sends after this store saw the halt |
 * | 13 | `FLATTEN_ACK` | execution | the last FLATTEN_SEQ it acted on |
 * | 14 | `RISK_HALT` | strategy | the RiskReason (`risk/checks.ts`) for which risk set TRADING to HALTED (daily_loss), 0 none; main clears it when the operator sets another state |
 */

export const enum TradingState {
  ACTIVE = 0,
  PAUSED = 1,
  REDUCING = 2,
  HALTED = 3,
}
export const TRADING_STATE_NAMES = ["active", "paused", "reducing", "halted"] as const;

export const W_TRADING = 0;
export const W_STOP_FEED = 1;
export const W_STOP_STRATEGY = 2;
export const W_STOP_EXECUTION = 3;
export const W_FEED_DONE = 4;
export const W_STRATEGY_FAILED = 5;
export const W_CONTROL_SEQ = 6;
export const W_FEED_STALE = 7;
export const W_BROKER_READY = 8;
export const W_BROKER_BUDGET = 9;
export const W_CANCEL_ALL_SEQ = 10;
export const W_FLATTEN_SEQ = 11;
export const W_CANCEL_ALL_ACK = 12;
export const W_FLATTEN_ACK = 13;
export const W_RISK_HALT = 14;
const WORDS = 16;

export class ControlBlock {
  readonly words: Int32Array;
  constructor(readonly sab: SharedArrayBuffer = new SharedArrayBuffer(WORDS * 4)) {
    this.words = new Int32Array(sab);
  }
  get(word: number): number {
    return Atomics.load(this.words, word);
  }
  /** Publishes a control change (seq-cst store), then bumps the sequence. */
  set(word: number, value: number): void {
    Atomics.store(this.words, word, value);
    Atomics.add(this.words, W_CONTROL_SEQ, 1);
  }
  tradingState(): TradingState {
    return Atomics.load(this.words, W_TRADING) as TradingState;
  }
  tradingStateName(): string {
    return TRADING_STATE_NAMES[this.tradingState()] ?? "unknown";
  }
}
