/**
 * The synthetic feed's loop (feed worker): a seeded random market at a configured rate.
 *
 * Pacing: events are due at `rate` per second from the start; each turn
 * produces what is due (at most `batch_max`), stamps the batch with one receive time, and
 * publishes it. Between batches it spins when the next event is due within 20 µs
 * (`SPIN_BELOW_NS`) and otherwise sleeps (`Atomics.wait` with a timeout) until 10 µs before it is
 * due. So above ~50,000 events/s (events under 20 µs apart) the feed never sleeps and uses a
 * whole core whatever the rate, and a batch holds what came due during one turn (about one
 * event at 1 M/s, measured). Past the rate it can reach, it produces full batches back to back.
 *
 * Full market-data ring: `drop` counts the event as dropped (the quote book still moves);
 * `wait` waits for the consumer (measured by the ring).
 */
import { W_FEED_DONE } from "../../shm/control.ts";
import { F_TPUB, RecordKind } from "../../shm/records.ts";
import { SyntheticMarket } from "./generator.ts";
import { nowNs } from "../../shm/clock.ts";
import type { FeedContext } from "../context.ts";

const SPIN_BELOW_NS = 20_000;
/** Longest single sleep, so a slow feed still writes its heartbeat and sees a stop request. */
const MAX_SLEEP_MS = 250;

export function runSyntheticFeed(ctx: FeedContext, ready: () => void): void {
  const cfg = ctx.config;
  const syn = cfg.feed.synthetic;
  const { control, ring, doorbell, book, stopRequested } = ctx;
  const m = ctx.metrics;
  const cQuotes = m.counterIndex("md_quotes");
  const cTrades = m.counterIndex("md_trades");
  const cBatches = m.counterIndex("md_batches");
  const cDropped = m.counterIndex("md_dropped");
  const cTurns = m.counterIndex("loop_turns");
  const gHeartbeat = m.gaugeIndex("heartbeat_ns");
  const hPublish = m.histogram("feed_publish");
  // A generated market is always "connected" and never stale.
  m.set(m.gaugeIndex("feed_connected"), 1);
  m.set(m.gaugeIndex("feed_state"), 3);

  const market = new SyntheticMarket({
    seed: syn.seed,
    symbols: ctx.symbols.length,
    tradeRatio: syn.trade_ratio,
    startPrice: syn.start_price,
    volatilityBps: syn.volatility_bps,
    spreadBps: syn.spread_bps,
  });
  const drop = cfg.rings.market_data.when_full === "drop";
  const rate = syn.rate_events_per_sec;
  const batchMax = syn.batch_max;
  const maxEvents = syn.max_events;
  const slots = new Int32Array(batchMax);
  // Records the drop policy cannot place are generated into this scratch slot.
  const scratchI32 = new Int32Array(16);
  const scratchF64 = new Float64Array(8);
  const sleepWord = new Int32Array(new SharedArrayBuffer(4));

  ready();
  const start = nowNs();
  let produced = 0;
  let turns = 0;
  let lastBeat = 0;
  while (!stopRequested()) {
    if (maxEvents > 0 && produced >= maxEvents) break;
    const now = nowNs();
    if ((++turns & 1023) === 0) m.add(cTurns, 1024);
    // Proof of life for the systemd watchdog: at least once a second, even when idle.
    if (now - lastBeat >= 1e9) {
      lastBeat = now;
      m.set(gHeartbeat, now);
    }
    let due = Math.floor(((now - start) * rate) / 1e9) - produced;
    if (due <= 0) {
      const wait = start + ((produced + 1) * 1e9) / rate - now;
      if (wait > SPIN_BELOW_NS) Atomics.wait(sleepWord, 0, 0, Math.min(MAX_SLEEP_MS, (wait - SPIN_BELOW_NS / 2) / 1e6));
      continue;
    }
    if (due > batchMax) due = batchMax;
    if (maxEvents > 0 && due > maxEvents - produced) due = maxEvents - produced;
    let placed = 0;
    for (let k = 0; k < due; k++) {
      const slot = drop ? ring.tryClaim() : ring.claimWait(stopRequested);
      let kind: number;
      if (slot < 0) {
        if (!drop) break; // shutting down while waiting
        kind = market.next(scratchI32, scratchF64, 0, 0, now);
        ring.countDrop(1);
        m.add(cDropped, 1);
      } else {
        kind = market.next(ring.i32, ring.f64, slot * 16, slot * 8, now);
        ring.f64[slot * 8 + F_TPUB] = now; // overwritten with the publish time below
        slots[placed++] = slot;
      }
      if (kind === RecordKind.QUOTE) {
        book.writeQuote(market.lastSymbol, market.p0, market.p1, market.p2, market.p3, now);
        m.add(cQuotes, 1);
      } else {
        book.writeTrade(market.lastSymbol, market.p0, now);
        m.add(cTrades, 1);
      }
    }
    produced += due;
    const pub = nowNs();
    for (let k = 0; k < placed; k++) ring.f64[slots[k]! * 8 + F_TPUB] = pub;
    ring.publish();
    m.add(cBatches, 1);
    if (placed > 0) hPublish.recordN(pub - now, placed);
  }
  control.set(W_FEED_DONE, 1);
  doorbell.ring();
}
