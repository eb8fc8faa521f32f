/**
 * Polygon frames → market-data records: scans each frame with the allocation-free scanner,
 * checks every event, writes the good ones into claimed ring slots, and publishes once per
 * frame. Also keeps the quote book, sequence gaps and bad-input counts.
 *
 * A frame that turns out not to be valid JSON half-way is dropped whole (its claims are taken
 * back), as `JSON.parse` would have rejected it. An event that is valid JSON but wrong (unknown
 * `ev`, missing or mistyped field, NaN or negative price or size, unknown symbol) is counted by
 * kind and dropped; the rest of the frame goes on. Status events are handed to the connection
 * client after the frame scanned clean. Bad input is logged at a bounded rate with a sample.
 *
 * Per frame, nothing allocates on the path of data events (status events and log samples do).
 */
import { FrameScanner, ScanError } from "./scanner.ts";
import { validateEvent, BadInput, BAD_INPUT_NAMES } from "./validate.ts";
import { Ev, PolygonEvent } from "./event.ts";
import { scratchFeedContext, type FeedContext } from "../../feeds/context.ts";
import { RecordKind, I_KIND, I_SYMBOL, I_A, I_B, F_TRECV, F_TPUB, F_P0, F_P1, F_P2, F_P3 } from "../../shm/records.ts";
import { nowNs } from "../../shm/clock.ts";
import { W_FEED_STALE } from "../../shm/control.ts";
import type { CounterIndex } from "../../metrics/block.ts";

/**
 * `Ev` and `RecordKind` values used per event, inlined: Bun inlines a const enum only within its
 * own file, and an imported `Ev.Q` is a property load (a switch on them is a chain of loads and
 * compares). Checked against the originals when the module loads.
 */
const enum Kind {
  T = 1,
  Q = 2,
  AM = 4,
  STATUS = 5,
}
const enum Rec {
  QUOTE = 1,
  TRADE = 2,
  BAR = 3,
  BAR_MINUTE = 4,
}
if (
  (Kind.T as number) !== Ev.T || (Kind.Q as number) !== Ev.Q || (Kind.AM as number) !== Ev.AM || (Kind.STATUS as number) !== Ev.STATUS ||
  (Rec.QUOTE as number) !== RecordKind.QUOTE || (Rec.TRADE as number) !== RecordKind.TRADE || (Rec.BAR as number) !== RecordKind.BAR || (Rec.BAR_MINUTE as number) !== RecordKind.BAR_MINUTE
)
  throw new Error("publisher.ts: inlined Ev / RecordKind values differ from event.ts / records.ts");

const MAX_STATUS_PER_FRAME = 16;
const INT32_MAX = 2147483647;

export interface PublisherOptions {
  allSymbols: boolean;
  maxFrameChars: number;
  badInputLogPerMin: number;
  /** A status event (rare; strings materialised). */
  onStatus(status: string, message: string): void;
  log(message: string): void;
}

export class PolygonPublisher {
  readonly scanner: FrameScanner;
  readonly #ctx: FeedContext;
  readonly #opt: PublisherOptions;
  readonly #ev = new PolygonEvent();
  readonly #slots: Int32Array;
  readonly #statusStart = new Int32Array(MAX_STATUS_PER_FRAME * 4);
  readonly #lastSeqT: Float64Array;
  readonly #lastSeqQ: Float64Array;
  /** Per symbol: the next event is the first since a reconnect. */
  readonly #afterReconnect: Uint8Array;
  readonly #badCounters: CounterIndex[];
  readonly #c;
  readonly #g;
  readonly #hPublish;
  readonly #drop: boolean;
  #logWindowStart = 0;
  #logged = 0;

  constructor(ctx: FeedContext, opt: PublisherOptions) {
    this.#ctx = ctx;
    this.#opt = opt;
    this.scanner = new FrameScanner(ctx.symbols, opt.maxFrameChars);
    this.#slots = new Int32Array(ctx.ring.slots);
    const n = ctx.symbols.length;
    this.#lastSeqT = new Float64Array(n).fill(-1);
    this.#lastSeqQ = new Float64Array(n).fill(-1);
    this.#afterReconnect = new Uint8Array(n);
    const m = ctx.metrics;
    this.#badCounters = BAD_INPUT_NAMES.map((name) => (name === "none" ? (-1 as CounterIndex) : m.counterIndex(`bad_input_${name}` as never)));
    this.#c = {
      quotes: m.counterIndex("md_quotes"),
      trades: m.counterIndex("md_trades"),
      bars: m.counterIndex("md_bars"),
      batches: m.counterIndex("md_batches"),
      dropped: m.counterIndex("md_dropped"),
      unsubscribed: m.counterIndex("md_unsubscribed_symbol"),
      frames: m.counterIndex("frames"),
      gaps: m.counterIndex("seq_gaps"),
    };
    this.#g = { lastEvent: m.gaugeIndex("last_event_ns"), stale: m.gaugeIndex("feed_stale") };
    this.#hPublish = m.histogram("feed_publish");
    this.#drop = ctx.config.rings.market_data.when_full === "drop";
  }

  /** No sequence number seen yet for any symbol (keep-warm's scratch publisher, at the end of its cycle). */
  forgetSequences(): void {
    this.#lastSeqQ.fill(-1);
    this.#lastSeqT.fill(-1);
  }

  /** The connection was re-established: the next sequence number per symbol may jump (a gap). */
  markReconnect(): void {
    this.#afterReconnect.fill(1);
  }

  #bad(reason: BadInput, frame: string, at: number): void {
    this.#ctx.metrics.add(this.#badCounters[reason]!, 1);
    const now = Date.now();
    if (now - this.#logWindowStart >= 60_000) {
      this.#logWindowStart = now;
      this.#logged = 0;
    }
    if (this.#logged < this.#opt.badInputLogPerMin) {
      this.#logged++;
      const from = Math.max(0, at - 40);
      this.#opt.log(`polygon feed: dropped bad input (${BAD_INPUT_NAMES[reason]}) at char ${at} of a ${frame.length}-char frame: …${JSON.stringify(frame.slice(from, from + 120))}…`);
    }
  }

  /** One WebSocket frame. */
  onFrame(frame: string, recvNs: number): void {
    const ctx = this.#ctx;
    const m = ctx.metrics;
    const ring = ctx.ring;
    const sc = this.scanner;
    const ev = this.#ev;
    m.add(this.#c.frames, 1);
    if (!sc.begin(frame)) {
      this.#bad(sc.error as number as BadInput, frame, 0);
      return;
    }
    let placed = 0;
    let statuses = 0;
    let dropped = 0;
    const i32 = ring.i32;
    const f64 = ring.f64;
    while (sc.next(ev)) {
      const kind = ev.ev as number;
      if (kind === Kind.STATUS) {
        if (statuses < MAX_STATUS_PER_FRAME) {
          const k = statuses++ * 4;
          this.#statusStart[k] = ev.statusStart;
          this.#statusStart[k + 1] = ev.statusEnd;
          this.#statusStart[k + 2] = ev.messageStart;
          this.#statusStart[k + 3] = ev.messageEnd;
        }
        continue;
      }
      const reason = validateEvent(ev, this.#opt.allSymbols);
      if (reason !== BadInput.NONE) {
        this.#bad(reason, frame, ev.symStart);
        continue;
      }
      const s = ev.symbolId;
      if (s < 0) {
        // Subscribed with `*`: a symbol we do not trade.
        m.add(this.#c.unsubscribed, 1);
        continue;
      }
      const slot = this.#drop ? ring.tryClaim() : ring.claimWait(ctx.stopRequested);
      if (slot < 0) {
        dropped++;
        continue;
      }
      const i = slot * 16;
      const f = slot * 8;
      i32[i + I_SYMBOL] = s;
      f64[f + F_TRECV] = recvNs;
      switch (kind) {
        case Kind.Q:
          i32[i + I_KIND] = Rec.QUOTE;
          i32[i + I_A] = ev.q === ev.q ? ev.q % INT32_MAX : 0;
          i32[i + I_B] = (ev.bx | 0) | ((ev.ax | 0) << 16);
          f64[f + F_P0] = ev.bp;
          f64[f + F_P1] = ev.ap;
          f64[f + F_P2] = ev.bs;
          f64[f + F_P3] = ev.as;
          this.#checkSeq(this.#lastSeqQ, s, ev.q);
          break;
        case Kind.T:
          i32[i + I_KIND] = Rec.TRADE;
          i32[i + I_A] = ev.q === ev.q ? ev.q % INT32_MAX : 0;
          i32[i + I_B] = ev.x | 0;
          f64[f + F_P0] = ev.p;
          f64[f + F_P1] = ev.s;
          f64[f + F_P2] = ev.t;
          f64[f + F_P3] = 0;
          this.#checkSeq(this.#lastSeqT, s, ev.q);
          break;
        default:
          i32[i + I_KIND] = kind === Kind.AM ? Rec.BAR_MINUTE : Rec.BAR;
          i32[i + I_A] = ev.v > INT32_MAX ? INT32_MAX : ev.v | 0;
          i32[i + I_B] = Math.floor(ev.s / 1000) | 0;
          f64[f + F_P0] = ev.o;
          f64[f + F_P1] = ev.h;
          f64[f + F_P2] = ev.l;
          f64[f + F_P3] = ev.c;
      }
      this.#slots[placed++] = slot;
    }
    if (sc.error !== ScanError.NONE) {
      // Not JSON after all: nothing of this frame may reach the strategy.
      ring.abandonClaims();
      this.#bad(sc.error as number as BadInput, frame, sc.errorOffset);
      // Layout single: a full ring may have run the strategy mid-frame (on what it had already
      // published); orders it placed then go out now, not at the loop's next wake-up.
      if (ctx.onPublished !== null) ctx.onPublished();
      return;
    }
    if (dropped > 0) {
      ring.countDrop(dropped);
      m.add(this.#c.dropped, dropped);
    }
    if (placed > 0) {
      const book = ctx.book;
      let quotes = 0;
      let trades = 0;
      for (let k = 0; k < placed; k++) {
        const slot = this.#slots[k]!;
        const i = slot * 16;
        const f = slot * 8;
        const kind = i32[i + I_KIND];
        if (kind === Rec.QUOTE) {
          book.writeQuote(i32[i + I_SYMBOL]!, f64[f + F_P0]!, f64[f + F_P1]!, f64[f + F_P2]!, f64[f + F_P3]!, recvNs);
          quotes++;
        } else if (kind === Rec.TRADE) {
          book.writeTrade(i32[i + I_SYMBOL]!, f64[f + F_P0]!, recvNs);
          trades++;
        }
      }
      const pub = nowNs();
      for (let k = 0; k < placed; k++) f64[this.#slots[k]! * 8 + F_TPUB] = pub;
      ring.publish();
      m.set(this.#g.lastEvent, recvNs);
      // Fresh again: the refusal goes before anyone decides on this frame.
      if (m.gauge(this.#g.stale) !== 0) {
        ctx.control.set(W_FEED_STALE, 0);
        m.set(this.#g.stale, 0);
      }
      // Layout single: the strategy and the order run here, before the bookkeeping below.
      if (ctx.onPublished !== null) ctx.onPublished();
      m.add(this.#c.batches, 1);
      m.add(this.#c.quotes, quotes);
      m.add(this.#c.trades, trades);
      m.add(this.#c.bars, placed - quotes - trades);
      this.#hPublish.recordN(pub - recvNs, placed);
    }
    for (let k = 0; k < statuses; k++) {
      const b = k * 4;
      const st = this.#statusStart[b]! >= 0 ? sc.stringAt(frame, this.#statusStart[b]!, this.#statusStart[b + 1]!) : "";
      const msg = this.#statusStart[b + 2]! >= 0 ? sc.stringAt(frame, this.#statusStart[b + 2]!, this.#statusStart[b + 3]!) : "";
      this.#opt.onStatus(st, msg);
    }
  }

  #checkSeq(last: Float64Array, s: number, q: number): void {
    if (q !== q) return;
    const prev = last[s]!;
    if (prev >= 0 && (q <= prev || (this.#afterReconnect[s] === 1 && q > prev + 1))) this.#ctx.metrics.add(this.#c.gaps, 1);
    this.#afterReconnect[s] = 0;
    last[s] = q;
  }
}

/**
 * Keep-warm for the frame path (`threads.keep_warm_us`, layout single): `warm()` runs a canned
 * one-quote frame through a second publisher over a scratch context (its own ring, quote book,
 * control and metric blocks) and empties the scratch ring. The code run is the live frame's
 * (scanner, checks, ring and book writes), so it stays in the CPU's caches between real frames;
 * nothing live is touched. Allocates nothing per call.
 */
export class FrameWarmer {
  readonly #publisher: PolygonPublisher;
  readonly #scratch: FeedContext;
  readonly #frames: string[];
  #next = 0;

  constructor(ctx: FeedContext, opt: PublisherOptions) {
    // A full scratch ring drops (never waits): keeping warm must never hold the thread up.
    const rings = { ...ctx.config.rings, market_data: { ...ctx.config.rings.market_data, when_full: "drop" as const } };
    const scratch = (this.#scratch = scratchFeedContext({ ...ctx.config, rings }, ctx.symbols));
    this.#publisher = new PolygonPublisher(scratch, { ...opt, onStatus: () => {}, log: () => {} });
    // A cycle of one-quote frames shaped as the vendor's quote event, over the first (at most 8)
    // symbols, with rising sequence numbers (the in-order path a live quote takes), built once.
    const syms = ctx.symbols.slice(0, 8);
    this.#frames =
      syms.length === 0
        ? []
        : Array.from({ length: 64 }, (_, k) => {
            const sym = syms[k % syms.length]!;
            return JSON.stringify([{ ev: "Q", sym, bx: 4, bp: 100, bs: 2, ax: 7, ap: 100.01 + (k % 100) / 100, as: 3, c: 0, i: [604], t: 1_700_000_000_000 + k, q: 1_000 + k, z: 3 }]);
          });
  }

  warm(): void {
    const frames = this.#frames;
    if (frames.length === 0) return;
    this.#publisher.onFrame(frames[this.#next]!, nowNs());
    this.#next = (this.#next + 1) % frames.length;
    if (this.#next === 0) this.#publisher.forgetSequences(); // the cycle starts again from its first numbers
    const ring = this.#scratch.ring;
    const n = ring.available();
    if (n > 0) ring.release(n);
  }

  /** The scratch side's counters: quotes published, dropped for want of room, sequence gaps seen. */
  scratchCounts(): { quotes: number; dropped: number; gaps: number } {
    const c = this.#scratch.metrics.readCounters();
    return { quotes: c.md_quotes, dropped: c.md_dropped, gaps: c.seq_gaps };
  }
}
