/**
 * The synthetic feed: a seeded random market at a configured rate. `SyntheticSource` is the
 * non-blocking part (one `turn` produces what is due); `runSyntheticFeed` is the feed worker's
 * loop around it (thread layout `split`); the single trading thread calls `turn` itself.
 *
 * Pacing: events are due at `rate` per second from the start; each turn
 * produces what is due (at most `batch_max`), stamps the batch with one receive time, and
 * publishes it. Between batches the feed worker spins when the next event is due within 20 µs
 * (`SPIN_BELOW_NS`) and otherwise sleeps (`Atomics.wait` with a timeout) until 10 µs before it is
 * due. So above ~50,000 events/s (events under 20 µs apart) the feed never sleeps and uses a
 * whole core whatever the rate, and a batch holds what came due during one turn (about one
 * event at 1 M/s, measured). Past the rate it can reach, it produces full batches back to back.
 *
 * Full market-data ring: `drop` counts the event as dropped (the quote book still moves);
 * `wait` waits for the consumer (measured by the ring).
 */
import type { CounterIndex, GaugeIndex } from "../../metrics/block.ts";
import { F_TPUB, RecordKind } from "../../shm/records.ts";
import { SyntheticMarket } from "./generator.ts";
import { nowNs } from "../../shm/clock.ts";
import type { FeedContext } from "../context.ts";
import { markFeedDone, runPacedSource, type PacedSource } from "../source.ts";
import type { LatencyHistogram } from "../../metrics/histogram.ts";

const SPIN_BELOW_NS = 20_000;
/** Longest single sleep, so a slow feed still writes its heartbeat and sees a stop request. */
const MAX_SLEEP_MS = 250;

export class SyntheticSource implements PacedSource {
  readonly #ctx: FeedContext;
  readonly #market: SyntheticMarket;
  readonly #drop: boolean;
  readonly #rate: number;
  readonly #batchMax: number;
  readonly #maxEvents: number;
  readonly #slots: Int32Array;
  // Records the drop policy cannot place are generated into this scratch slot.
  readonly #scratchI32 = new Int32Array(16);
  readonly #scratchF64 = new Float64Array(8);
  readonly #c: { quotes: CounterIndex; trades: CounterIndex; batches: CounterIndex; dropped: CounterIndex; turns: CounterIndex };
  readonly #gHeartbeat: GaugeIndex;
  readonly #hPublish: LatencyHistogram;
  #start = 0;
  #produced = 0;
  #turns = 0;
  #lastBeat = 0;

  constructor(ctx: FeedContext) {
    this.#ctx = ctx;
    const cfg = ctx.config;
    const syn = cfg.feed.synthetic;
    const m = ctx.metrics;
    this.#c = { quotes: m.counterIndex("md_quotes"), trades: m.counterIndex("md_trades"), batches: m.counterIndex("md_batches"), dropped: m.counterIndex("md_dropped"), turns: m.counterIndex("loop_turns") };
    this.#gHeartbeat = m.gaugeIndex("heartbeat_ns");
    this.#hPublish = m.histogram("feed_publish");
    // A generated market is always "connected" and never stale.
    m.set(m.gaugeIndex("feed_connected"), 1);
    m.set(m.gaugeIndex("feed_state"), 3);
    this.#market = new SyntheticMarket({
      seed: syn.seed,
      symbols: ctx.symbols.length,
      tradeRatio: syn.trade_ratio,
      startPrice: syn.start_price,
      volatilityBps: syn.volatility_bps,
      spreadBps: syn.spread_bps,
    });
    this.#drop = cfg.rings.market_data.when_full === "drop";
    this.#rate = syn.rate_events_per_sec;
    this.#batchMax = syn.batch_max;
    this.#maxEvents = syn.max_events;
    this.#slots = new Int32Array(this.#batchMax);
  }

  /** Starts the clock the pacing counts from. */
  begin(): void {
    this.#start = nowNs();
  }

  /** `feed.synthetic.max_events` produced (never with 0 = unbounded). */
  exhausted(): boolean {
    return this.#maxEvents > 0 && this.#produced >= this.#maxEvents;
  }

  /** When the next event is due (CLOCK_MONOTONIC ns). */
  nextDueNs(): number {
    return this.#start + ((this.#produced + 1) * 1e9) / this.#rate;
  }

  /** Produces and publishes what is due at `now` (at most one batch). Returns whether it did. */
  turn(now: number): boolean {
    const m = this.#ctx.metrics;
    if ((++this.#turns & 1023) === 0) m.add(this.#c.turns, 1024);
    // Proof of life for the systemd watchdog: at least once a second, even when idle.
    if (now - this.#lastBeat >= 1e9) {
      this.#lastBeat = now;
      m.set(this.#gHeartbeat, now);
    }
    if (this.exhausted()) return false;
    let due = Math.floor(((now - this.#start) * this.#rate) / 1e9) - this.#produced;
    if (due <= 0) return false;
    if (due > this.#batchMax) due = this.#batchMax;
    if (this.#maxEvents > 0 && due > this.#maxEvents - this.#produced) due = this.#maxEvents - this.#produced;
    const { ring, book, stopRequested } = this.#ctx;
    const market = this.#market;
    const slots = this.#slots;
    const drop = this.#drop;
    const c = this.#c;
    let placed = 0;
    for (let k = 0; k < due; k++) {
      const slot = drop ? ring.tryClaim() : ring.claimWait(stopRequested);
      let kind: number;
      if (slot < 0) {
        if (!drop) break; // shutting down while waiting
        kind = market.next(this.#scratchI32, this.#scratchF64, 0, 0, now);
        ring.countDrop(1);
        m.add(c.dropped, 1);
      } else {
        kind = market.next(ring.i32, ring.f64, slot * 16, slot * 8, now);
        ring.f64[slot * 8 + F_TPUB] = now; // overwritten with the publish time below
        slots[placed++] = slot;
      }
      if (kind === RecordKind.QUOTE) {
        book.writeQuote(market.lastSymbol, market.p0, market.p1, market.p2, market.p3, now);
        m.add(c.quotes, 1);
      } else {
        book.writeTrade(market.lastSymbol, market.p0, now);
        m.add(c.trades, 1);
      }
    }
    this.#produced += due;
    const pub = nowNs();
    for (let k = 0; k < placed; k++) ring.f64[slots[k]! * 8 + F_TPUB] = pub;
    ring.publish();
    m.add(c.batches, 1);
    if (placed > 0) this.#hPublish.recordN(pub - now, placed);
    return true;
  }

  /** The feed is done (max_events produced, or stopping): tell the strategy. */
  done(): void {
    markFeedDone(this.#ctx);
  }
}

export function runSyntheticFeed(ctx: FeedContext, ready: () => void): void {
  runPacedSource(ctx, new SyntheticSource(ctx), ready, SPIN_BELOW_NS, MAX_SLEEP_MS);
}
