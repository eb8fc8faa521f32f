import { bucketIndex, bucketUpperBoundNs, type HistogramSnapshot } from "./histogram.ts";

/**
 * Prometheus text exposition format 0.0.4 (`Content-Type: text/plain; version=0.0.4`).
 *
 * Conventions checked at render time (they are what `promtool check metrics` lints): metric
 * names carry their base unit, counters end in `_total`, latency histograms are in seconds and
 * end in `_seconds`. Main thread only; everything here allocates.
 *
 * @example
 * renderPrometheus([
 *   { name: "tradingd_md_events_total", help: "Market-data events parsed.", type: "counter",
 *     samples: [{ labels: { thread: "feed" }, value: 1200 }] },
 * ]);
 * // # HELP tradingd_md_events_total Market-data events parsed.
 * // # TYPE tradingd_md_events_total counter
 * // tradingd_md_events_total{thread="feed"} 1200
 */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram";
export type Labels = Readonly<Record<string, string>>;

/** One line. `suffix` is set only on histogram lines (`_bucket` lines carry an `le` label). */
export interface Sample {
  readonly suffix?: "_bucket" | "_sum" | "_count";
  readonly labels?: Labels;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

/** One labelled histogram series, e.g. `{ labels: { thread: "feed" }, snapshot }`. */
export interface HistogramSeries {
  readonly labels?: Labels;
  readonly snapshot: HistogramSnapshot;
}

/**
 * Default exported `le` boundaries: every power of two from 2^7 ns (128 ns) to 2^34 ns (~17.2 s).
 * Each is an internal bucket boundary, so the cumulative counts are exact, not interpolated.
 */
export const DEFAULT_LE_BOUNDS_NS: readonly number[] = Object.freeze(
  Array.from({ length: 34 - 7 + 1 }, (_, k) => 2 ** (7 + k)),
);

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const names = new Set<string>();
  let out = "";
  for (const family of families) {
    checkFamily(family);
    if (names.has(family.name)) throw new Error(`prometheus: family "${family.name}" appears twice`);
    names.add(family.name);
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) {
      out += `${family.name}${sample.suffix ?? ""}${renderLabels(sample.labels)} ${formatValue(sample.value)}\n`;
    }
  }
  return out;
}

/**
 * The `_bucket`, `_sum` and `_count` samples of a latency histogram family, in seconds, for one or
 * more labelled series. `leBoundsNs` must be increasing and each one a bucket boundary of
 * `LatencyHistogram` (powers of two from 8 ns up are); the `+Inf` bucket is always added and equals
 * `_count`.
 */
export function histogramFamilySamples(
  series: readonly HistogramSeries[],
  leBoundsNs: readonly number[] = DEFAULT_LE_BOUNDS_NS,
): Sample[] {
  const le = leBoundsNs.map((ns, j) => {
    if (!isBucketBoundary(ns)) throw new Error(`prometheus: le ${ns} ns is not a histogram bucket boundary`);
    if (j > 0 && ns <= leBoundsNs[j - 1]) throw new Error("prometheus: le boundaries must increase");
    return formatExactSeconds(ns);
  });
  const samples: Sample[] = [];
  for (const { labels = {}, snapshot } of series) {
    if ("le" in labels) throw new Error('prometheus: "le" is reserved for histogram buckets');
    const { buckets } = snapshot;
    let cumulative = 0;
    let j = 0;
    for (let i = 0; i < buckets.length; i++) {
      // Emit each boundary below this bucket's upper bound before adding the bucket: buckets are
      // (lower, upper], so a boundary equal to `upper` includes this bucket.
      const upper = snapshot.upperBoundNs(i);
      for (; j < leBoundsNs.length && leBoundsNs[j] < upper; j++) {
        samples.push({ suffix: "_bucket", labels: { ...labels, le: le[j] }, value: cumulative });
      }
      cumulative += buckets[i];
    }
    for (; j < leBoundsNs.length; j++) {
      samples.push({ suffix: "_bucket", labels: { ...labels, le: le[j] }, value: cumulative });
    }
    samples.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: snapshot.count });
    samples.push({ suffix: "_sum", labels, value: snapshot.sumNs / 1e9 });
    samples.push({ suffix: "_count", labels, value: snapshot.count });
  }
  return samples;
}

/** Integers plain, other finite numbers in the shortest form that reads back exactly. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v); // shortest round-trip; integers below 1e21 have no exponent; -0 prints "0"
}

/**
 * An integer count of nanoseconds as an exact decimal number of seconds, in Go's `%g` style
 * (what client_golang prints): 1024 → "1.024e-06", 131072 → "0.000131072", 2^34 → "17.179869184".
 */
export function formatExactSeconds(ns: number): string {
  if (!Number.isSafeInteger(ns) || ns <= 0) throw new RangeError(`expected a positive integer of ns, got ${ns}`);
  const digits = String(ns);
  const exponent = digits.length - 1 - 9; // seconds = d.ddd × 10^exponent
  const mantissa = digits.replace(/0+$/, "");
  if (exponent < -4 || exponent >= 6) {
    const fraction = mantissa.length > 1 ? `.${mantissa.slice(1)}` : "";
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa[0]}${fraction}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (exponent < 0) return `0.${"0".repeat(-exponent - 1)}${mantissa}`;
  const whole = digits.slice(0, exponent + 1);
  const fraction = mantissa.slice(exponent + 1);
  return fraction.length > 0 ? `${whole}.${fraction}` : whole;
}

function isBucketBoundary(ns: number): boolean {
  return Number.isSafeInteger(ns) && ns > 0 && bucketUpperBoundNs(bucketIndex(ns)) === ns;
}

function checkFamily(family: MetricFamily): void {
  if (!METRIC_NAME.test(family.name)) throw new Error(`prometheus: bad metric name "${family.name}"`);
  if (family.type === "counter" && !family.name.endsWith("_total")) {
    throw new Error(`prometheus: counter "${family.name}" must end in _total`);
  }
  if (family.type === "histogram" && !family.name.endsWith("_seconds")) {
    throw new Error(`prometheus: histogram "${family.name}" must be in seconds and end in _seconds`);
  }
  for (const sample of family.samples) {
    if ((sample.suffix !== undefined) !== (family.type === "histogram")) {
      throw new Error(`prometheus: "${family.name}": only histogram samples take a suffix, and all of them do`);
    }
    for (const name of Object.keys(sample.labels ?? {})) {
      if (!LABEL_NAME.test(name) || name.startsWith("__")) {
        throw new Error(`prometheus: "${family.name}": bad label name "${name}"`);
      }
      if (name === "le" && sample.suffix !== "_bucket") {
        throw new Error(`prometheus: "${family.name}": "le" is reserved for histogram buckets`);
      }
    }
  }
}

function renderLabels(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}
