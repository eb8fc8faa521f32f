/**
 * What every feed implementation in the feed worker works with: the market-data ring (this
 * thread is its only producer), the quote book (only writer), its metric block (only writer),
 * and the control block. Built once per worker from the init message.
 */
import type { WorkerInit } from "../workers/protocol.ts";
import type { Config } from "../config/schema.ts";
import { SpscRing } from "../shm/ring.ts";
import { Doorbell } from "../shm/doorbell.ts";
import { ControlBlock, W_STOP_FEED } from "../shm/control.ts";
import { QuoteBook } from "../shm/quote-book.ts";
import { MetricsBlock } from "../metrics/block.ts";
import { FeedMetrics } from "../metrics/layouts.ts";
import { gettid, schedGetcpu } from "../../ffi/libc.ts";

export interface FeedContext {
  config: Config;
  configDir: string;
  symbols: readonly string[];
  ring: SpscRing;
  doorbell: Doorbell;
  book: QuoteBook;
  control: ControlBlock;
  metrics: MetricsBlock<typeof FeedMetrics>;
  /** Prebound: true once main asked the feed to stop. */
  stopRequested: () => boolean;
  /**
   * Called after each publish of an event-driven feed (polygon), when set: the single trading
   * thread (layout `single`) runs the strategy and execution stages there, on the frame's turn.
   */
  onPublished: (() => void) | null;
  /**
   * Set by an event-driven feed (polygon): runs its frame code once on canned input and scratch
   * state (keep-warm; layout single's driver calls it while idle). Null: nothing to warm.
   */
  warm: (() => void) | null;
}

/**
 * A context over scratch memory (its own ring, quote book, control and metric blocks), for
 * running the feed's code on canned input without touching the live one (keep-warm).
 */
export function scratchFeedContext(config: Config, symbols: readonly string[], slots = 64): FeedContext {
  const control = new ControlBlock();
  return {
    config,
    configDir: "",
    symbols,
    ring: SpscRing.create(slots),
    doorbell: Doorbell.create(),
    book: QuoteBook.create(symbols.length),
    control,
    metrics: MetricsBlock.create(FeedMetrics),
    stopRequested: () => false,
    onPublished: null,
    warm: null,
  };
}

export function feedContext(init: WorkerInit): FeedContext {
  const ring = new SpscRing(init.mdRing, init.config.rings.market_data.slots);
  const doorbell = new Doorbell(init.strategyDoorbell);
  ring.attachDoorbell(doorbell);
  const control = new ControlBlock(init.control);
  const metrics = new MetricsBlock(FeedMetrics, init.metrics.feed);
  metrics.set(metrics.gaugeIndex("thread_id"), gettid());
  metrics.set(metrics.gaugeIndex("thread_cpu"), schedGetcpu());
  return {
    config: init.config,
    configDir: init.configDir,
    symbols: init.symbols,
    ring,
    doorbell,
    book: new QuoteBook(init.quoteBook, init.symbols.length),
    control,
    metrics,
    stopRequested: () => Atomics.load(control.words, W_STOP_FEED) !== 0,
    onPublished: null,
    warm: null,
  };
}
