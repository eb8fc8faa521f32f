import { LatencyHistogram, type HistogramSnapshot } from "./histogram.ts";

/**
 * One thread's metrics in one SharedArrayBuffer.
 *
 * Roles: the worker that owns the block is its ONLY writer and writes with plain stores (`add`,
 * `set`, `histogram(...).record`); the main thread only reads (`read*`), to serve `/metrics` and
 * `/status`. Nothing is published with Atomics: a scrape may see a value one update old, never a
 * value from another writer. Hot-path methods (`add`, `set`, `counter`, `gauge`, and the
 * histograms' `record`) allocate nothing and send no message; name lookups and `read*` allocate
 * and belong to startup and the reader.
 *
 * Layout, in f64 words, fixed by the `BlockLayout` that both sides import:
 *
 * | words                                  | contents                                      |
 * |----------------------------------------|-----------------------------------------------|
 * | 0 .. C                                 | counters, in `layout.counters` order           |
 * | C .. C+G                               | gauges, in `layout.gauges` order               |
 * | C+G + k·LatencyHistogram.WORDS, each k | histogram k of `layout.histograms`             |
 *
 * Counters and gauges are f64: exact integers up to 2^53.
 *
 * @example
 * const FeedMetrics = defineLayout({
 *   counters: ["md_events", "md_drops"],
 *   gauges: ["md_ring_depth"],
 *   histograms: ["frame_parse"],
 * });
 * const block = MetricsBlock.create(FeedMetrics);        // main thread, passes block.sab on
 * const writer = new MetricsBlock(FeedMetrics, sab);     // in the worker
 * const events = writer.counterIndex("md_events");       // once, at startup
 * writer.add(events, 100);                               // hot path
 */
export interface BlockLayout {
  readonly counters: readonly string[];
  readonly gauges: readonly string[];
  readonly histograms: readonly string[];
}

declare const counterBrand: unique symbol;
declare const gaugeBrand: unique symbol;
/** A word index that `counterIndex` returned; keeps counters and gauges apart at compile time. */
export type CounterIndex = number & { readonly [counterBrand]: true };
export type GaugeIndex = number & { readonly [gaugeBrand]: true };

export type CounterName<L extends BlockLayout> = L["counters"][number];
export type GaugeName<L extends BlockLayout> = L["gauges"][number];
export type HistogramName<L extends BlockLayout> = L["histograms"][number];

/**
 * Checks that every name is unique within the layout, freezes it, and keeps the literal name
 * types (so `counterIndex("typo")` fails to compile).
 */
export function defineLayout<const L extends BlockLayout>(layout: L): L {
  const seen = new Set<string>();
  for (const name of [...layout.counters, ...layout.gauges, ...layout.histograms]) {
    if (seen.has(name)) throw new Error(`metrics layout: duplicate name "${name}"`);
    seen.add(name);
  }
  return Object.freeze({
    counters: Object.freeze([...layout.counters]),
    gauges: Object.freeze([...layout.gauges]),
    histograms: Object.freeze([...layout.histograms]),
  }) as unknown as L;
}

/** f64 words a block with this layout needs. */
export function blockWords(layout: BlockLayout): number {
  return layout.counters.length + layout.gauges.length + layout.histograms.length * LatencyHistogram.WORDS;
}

export class MetricsBlock<L extends BlockLayout> {
  /** A zeroed block for `layout`; hand `sab` to the worker that will write it. */
  static create<L extends BlockLayout>(layout: L): MetricsBlock<L> {
    return new MetricsBlock(layout, new SharedArrayBuffer(blockWords(layout) * 8));
  }

  readonly layout: L;
  readonly sab: SharedArrayBuffer;
  readonly f64: Float64Array;
  readonly #histograms: readonly LatencyHistogram[];

  constructor(layout: L, sab: SharedArrayBuffer) {
    const bytes = blockWords(layout) * 8;
    if (sab.byteLength !== bytes) {
      throw new RangeError(`metrics block: layout needs ${bytes} bytes, buffer has ${sab.byteLength}`);
    }
    this.layout = layout;
    this.sab = sab;
    this.f64 = new Float64Array(sab);
    const base = layout.counters.length + layout.gauges.length;
    this.#histograms = layout.histograms.map(
      (_, k) => new LatencyHistogram(this.f64, base + k * LatencyHistogram.WORDS),
    );
  }

  /** Startup: resolve a counter name to its word index. */
  counterIndex(name: CounterName<L>): CounterIndex {
    const i = this.layout.counters.indexOf(name);
    if (i < 0) throw new Error(`metrics block: no counter "${name}"`);
    return i as CounterIndex;
  }

  /** Startup: resolve a gauge name to its word index. */
  gaugeIndex(name: GaugeName<L>): GaugeIndex {
    const i = this.layout.gauges.indexOf(name);
    if (i < 0) throw new Error(`metrics block: no gauge "${name}"`);
    return (this.layout.counters.length + i) as GaugeIndex;
  }

  /** Startup: the histogram view for a name (the same object on every call). */
  histogram(name: HistogramName<L>): LatencyHistogram {
    const k = this.layout.histograms.indexOf(name);
    if (k < 0) throw new Error(`metrics block: no histogram "${name}"`);
    return this.#histograms[k];
  }

  /** Hot path, writer only. */
  add(counter: CounterIndex, n = 1): void {
    this.f64[counter] += n;
  }

  /** Hot path, writer only. */
  set(gauge: GaugeIndex, v: number): void {
    this.f64[gauge] = v;
  }

  /** Hot path; either side. */
  counter(counter: CounterIndex): number {
    return this.f64[counter];
  }

  /** Hot path; either side. */
  gauge(gauge: GaugeIndex): number {
    return this.f64[gauge];
  }

  /** Reader side; allocates. */
  readCounters(): Record<CounterName<L>, number> {
    const out: Record<string, number> = {};
    this.layout.counters.forEach((name, i) => (out[name] = this.f64[i]));
    return out;
  }

  /** Reader side; allocates. */
  readGauges(): Record<GaugeName<L>, number> {
    const out: Record<string, number> = {};
    const base = this.layout.counters.length;
    this.layout.gauges.forEach((name, i) => (out[name] = this.f64[base + i]));
    return out;
  }

  /** Reader side; allocates. */
  readHistograms(): Record<HistogramName<L>, HistogramSnapshot> {
    const out: Record<string, HistogramSnapshot> = {};
    this.layout.histograms.forEach((name, k) => (out[name] = this.#histograms[k].snapshot()));
    return out;
  }
}
