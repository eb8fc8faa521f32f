/**
 * A seeded, reproducible stream of Polygon stocks events (T, Q, A, AM), field for field per the
 * spec (`PROTOCOLS.md` §A.5): integer Unix-ms timestamps, `i` of a trade a string, `c` of a trade
 * left off when there are no conditions, `trfi`/`trft` only on TRF prints, `otc` never (listed
 * names only).
 *
 * Sequence numbers: every T and Q takes `q` from one counter shared by all symbols, so `q` is
 * increasing and unique per ticker and not consecutive per ticker, as the spec says, and a `q`
 * seen by a consumer names the event exactly (the bench maps records back to frames with it).
 * A and AM have no `q` but use a number of the same counter.
 *
 * The same seed, symbols, kinds and clock readings give the same events. Allocates the event
 * objects it returns (it is a test and bench tool, not hot-path code).
 */

export type PolygonKind = "T" | "Q" | "A" | "AM";

export interface TradeEvent {
  ev: "T";
  sym: string;
  i: string;
  x: number;
  p: number;
  s: number;
  c?: number[];
  t: number;
  q: number;
  z: number;
  trfi?: number;
  trft?: number;
}

export interface QuoteEvent {
  ev: "Q";
  sym: string;
  bx: number;
  bp: number;
  bs: number;
  ax: number;
  ap: number;
  as: number;
  c: number;
  i?: number[];
  t: number;
  q: number;
  z: number;
}

export interface AggregateEvent {
  ev: "A" | "AM";
  sym: string;
  v: number;
  av: number;
  op: number;
  vw: number;
  o: number;
  c: number;
  h: number;
  l: number;
  a: number;
  z: number;
  s: number;
  e: number;
  otc?: boolean;
}

export type PolygonMarketEvent = TradeEvent | QuoteEvent | AggregateEvent;

export interface PolygonMarketOptions {
  symbols: readonly string[];
  /** Default 1. */
  seed?: number;
  /** Default `["T", "Q"]`. */
  kinds?: readonly PolygonKind[];
  /** Relative weights of the kinds asked for. Default Q 60, T 38, A 1.5, AM 0.5. */
  weights?: Partial<Record<PolygonKind, number>>;
  /** Wall clock in Unix ms for `t`, `s`, `e` (default `Date.now`); pass a fixed one for exact output. */
  clockMs?: () => number;
  /** Sequence number of the first event (default 1). */
  firstSeq?: number;
  /** Share of trades that are TRF prints (`x` 4, `trfi`, `trft`). Default 0.1. */
  trfRatio?: number;
}

const DEFAULT_WEIGHTS: Record<PolygonKind, number> = { Q: 60, T: 38, A: 1.5, AM: 0.5 };
/** Lit exchange ids (Polygon's stocks exchange list; 4 is FINRA ADF / TRF, kept for TRF prints). */
const EXCHANGES = [1, 2, 3, 7, 8, 9, 10, 11, 12, 15, 17, 18, 19, 21];
/** FINRA TRF ids: 201 NYSE TRF, 202 Nasdaq TRF Carteret, 203 Nasdaq TRF Chicago. */
const TRF_IDS = [201, 202, 203];
/** The indicator of the spec's quote example. */
const QUOTE_INDICATOR = 604;

interface SymbolState {
  sym: string;
  tape: number;
  mid: number;
  spreadCents: number;
  tradeId: number;
  lastT: number;
  open: number;
  dayVolume: number;
  dayNotional: number;
  lastSecondStart: number;
  lastMinuteStart: number;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

export class PolygonMarket {
  /** Sequence number the next event takes. */
  seq: number;
  readonly kinds: readonly PolygonKind[];
  #state: number;
  #symbols: SymbolState[];
  #cumulative: number[];
  #clockMs: () => number;
  #trfRatio: number;

  constructor(options: PolygonMarketOptions) {
    if (options.symbols.length === 0) throw new Error("PolygonMarket needs at least one symbol");
    this.#state = (options.seed ?? 1) >>> 0 || 0x9e3779b9;
    this.seq = options.firstSeq ?? 1;
    this.kinds = options.kinds ?? ["T", "Q"];
    this.#clockMs = options.clockMs ?? Date.now;
    this.#trfRatio = options.trfRatio ?? 0.1;
    const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
    let sum = 0;
    this.#cumulative = this.kinds.map((k) => (sum += weights[k]));
    this.#cumulative = this.#cumulative.map((w) => w / sum);
    this.#symbols = options.symbols.map((sym) => {
      const mid = round2(10 + this.#uniform() * 490);
      return {
        sym,
        tape: 1 + Math.floor(this.#uniform() * 3),
        mid,
        spreadCents: 1 + Math.floor(this.#uniform() * 3),
        tradeId: 1 + Math.floor(this.#uniform() * 10_000),
        lastT: 0,
        open: mid,
        dayVolume: 0,
        dayNotional: 0,
        lastSecondStart: 0,
        lastMinuteStart: 0,
      };
    });
  }

  /** The next `n` events (one frame's worth). */
  batch(n: number): PolygonMarketEvent[] {
    const out = new Array<PolygonMarketEvent>(n);
    for (let k = 0; k < n; k++) out[k] = this.next();
    return out;
  }

  next(): PolygonMarketEvent {
    const s = this.#symbols[Math.floor(this.#uniform() * this.#symbols.length)]!;
    const u = this.#uniform();
    let kind = this.kinds[this.kinds.length - 1]!;
    for (let k = 0; k < this.kinds.length; k++) {
      if (u < this.#cumulative[k]!) {
        kind = this.kinds[k]!;
        break;
      }
    }
    const seq = this.seq++;
    // Mid walks about 2 bps a step, never below a dollar.
    s.mid = Math.max(1, s.mid * (1 + 0.0002 * this.#normal()));
    const t = (s.lastT = Math.max(s.lastT, Math.floor(this.#clockMs())));
    switch (kind) {
      case "T":
        return this.#trade(s, t, seq);
      case "Q":
        return this.#quote(s, t, seq);
      default:
        return this.#aggregate(s, t, kind);
    }
  }

  #bidAsk(s: SymbolState): [number, number] {
    const bid = round2(s.mid - s.spreadCents / 200);
    return [bid, round2(bid + s.spreadCents / 100)];
  }

  #trade(s: SymbolState, t: number, q: number): TradeEvent {
    const [bid, ask] = this.#bidAsk(s);
    const trf = this.#uniform() < this.#trfRatio;
    const where = this.#uniform();
    let p = where < 0.4 ? bid : where < 0.8 ? ask : round2((bid + ask) / 2);
    // TRF prints are often sub-penny price improvement.
    if (trf && this.#uniform() < 0.5) p = round4((bid + ask) / 2 + 0.0025);
    const size = this.#uniform() < 0.3 ? 1 + Math.floor(this.#uniform() * 99) : 100 * (1 + Math.floor(this.#uniform() * 10));
    s.dayVolume += size;
    s.dayNotional += size * p;
    // Conditions: 14 intermarket sweep, 37 odd lot, 41 trade-through exempt.
    const conditions: number[] = [];
    if (this.#uniform() < 0.2) conditions.push(14);
    if (size < 100) conditions.push(37);
    if (this.#uniform() < 0.2) conditions.push(41);
    const e: TradeEvent = {
      ev: "T",
      sym: s.sym,
      i: String(s.tradeId++),
      x: trf ? 4 : EXCHANGES[Math.floor(this.#uniform() * EXCHANGES.length)]!,
      p,
      s: size,
      t,
      q,
      z: s.tape,
    };
    if (conditions.length > 0) e.c = conditions;
    if (trf) {
      e.trfi = TRF_IDS[Math.floor(this.#uniform() * TRF_IDS.length)]!;
      e.trft = t - 1 - Math.floor(this.#uniform() * 5);
    }
    return e;
  }

  #quote(s: SymbolState, t: number, q: number): QuoteEvent {
    const [bid, ask] = this.#bidAsk(s);
    const e: QuoteEvent = {
      ev: "Q",
      sym: s.sym,
      bx: EXCHANGES[Math.floor(this.#uniform() * EXCHANGES.length)]!,
      bp: bid,
      bs: 1 + Math.floor(this.#uniform() * 20),
      ax: EXCHANGES[Math.floor(this.#uniform() * EXCHANGES.length)]!,
      ap: ask,
      as: 1 + Math.floor(this.#uniform() * 20),
      c: 0,
      t,
      q,
      z: s.tape,
    };
    if (this.#uniform() < 0.05) e.i = [QUOTE_INDICATOR];
    return e;
  }

  #aggregate(s: SymbolState, t: number, ev: "A" | "AM"): AggregateEvent {
    const width = ev === "A" ? 1_000 : 60_000;
    // The window that just closed; later than the last one sent for this symbol.
    let start = Math.floor(t / width) * width - width;
    const last = ev === "A" ? s.lastSecondStart : s.lastMinuteStart;
    if (start <= last) start = last + width;
    if (ev === "A") s.lastSecondStart = start;
    else s.lastMinuteStart = start;
    const o = round2(s.mid * (1 + 0.0005 * this.#normal()));
    const c = round2(s.mid);
    const h = round2(Math.max(o, c) * (1 + 0.0003 * this.#uniform()));
    const l = round2(Math.min(o, c) * (1 - 0.0003 * this.#uniform()));
    const trades = 1 + Math.floor(this.#uniform() * 20);
    const v = trades * (1 + Math.floor(this.#uniform() * 300));
    const vw = round4(l + (h - l) * this.#uniform());
    s.dayVolume += v;
    s.dayNotional += v * vw;
    return {
      ev,
      sym: s.sym,
      v,
      av: s.dayVolume,
      op: s.open,
      vw,
      o,
      c,
      h,
      l,
      a: round4(s.dayNotional / s.dayVolume),
      z: Math.round(v / trades),
      s: start,
      e: start + width,
    };
  }

  /** mulberry32: uniform in [0, 1). */
  #uniform(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller). */
  #normal(): number {
    const u = 1 - this.#uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#uniform());
  }
}
