import { describe, expect, test } from "bun:test";
import { LatencyHistogram, type HistogramSnapshot } from "../../daemon/metrics/histogram.ts";
import {
  DEFAULT_LE_BOUNDS_NS,
  formatExactSeconds,
  formatValue,
  histogramFamilySamples,
  renderPrometheus,
  type MetricFamily,
} from "../../daemon/metrics/prometheus.ts";

function snapshotOf(values: readonly number[]): HistogramSnapshot {
  const h = new LatencyHistogram(new Float64Array(LatencyHistogram.WORDS), 0);
  for (const v of values) h.record(v);
  return h.snapshot();
}

/** 2000 latencies spread geometrically from 100 ns to ~40 ms, fractional. */
const SPREAD = Array.from({ length: 2000 }, (_, i) => 100 * 1.0065 ** i);

function sampleFamilies(): MetricFamily[] {
  return [
    {
      name: "tradingd_md_events_total",
      help: "Market-data events parsed.",
      type: "counter",
      samples: [
        { labels: { thread: "feed" }, value: 1200 },
        { labels: { thread: "replay" }, value: 0 },
      ],
    },
    { name: "tradingd_md_ring_depth_records", help: "Records waiting in the md ring.", type: "gauge", samples: [{ value: 17 }] },
    {
      name: "tradingd_tick_to_order_seconds",
      help: "Quote received to order request sent.",
      type: "histogram",
      samples: histogramFamilySamples([
        { labels: { thread: "strategy" }, snapshot: snapshotOf(SPREAD) },
        { labels: { thread: "execution" }, snapshot: snapshotOf([]) },
      ]),
    },
  ];
}

describe("renderPrometheus", () => {
  test("a small exposition renders exactly, HELP and TYPE once per family, le at exact boundaries", () => {
    const text = renderPrometheus([
      { name: "tradingd_md_events_total", help: "Market-data events parsed.", type: "counter", samples: [{ labels: { thread: "feed" }, value: 3 }] },
      { name: "tradingd_clock_offset_seconds", help: "Venue clock minus ours.", type: "gauge", samples: [{ value: -0.000125 }] },
      {
        name: "tradingd_frame_parse_seconds",
        help: "One WebSocket frame parsed.",
        type: "histogram",
        samples: histogramFamilySamples([{ labels: { thread: "feed" }, snapshot: snapshotOf([500, 1024, 1025, 3000]) }], [1024, 2048]),
      },
    ]);
    expect(text).toEqual(
      [
        "# HELP tradingd_md_events_total Market-data events parsed.",
        "# TYPE tradingd_md_events_total counter",
        'tradingd_md_events_total{thread="feed"} 3',
        "# HELP tradingd_clock_offset_seconds Venue clock minus ours.",
        "# TYPE tradingd_clock_offset_seconds gauge",
        "tradingd_clock_offset_seconds -0.000125",
        "# HELP tradingd_frame_parse_seconds One WebSocket frame parsed.",
        "# TYPE tradingd_frame_parse_seconds histogram",
        'tradingd_frame_parse_seconds_bucket{thread="feed",le="1.024e-06"} 2',
        'tradingd_frame_parse_seconds_bucket{thread="feed",le="2.048e-06"} 3',
        'tradingd_frame_parse_seconds_bucket{thread="feed",le="+Inf"} 4',
        'tradingd_frame_parse_seconds_sum{thread="feed"} 0.000005549',
        'tradingd_frame_parse_seconds_count{thread="feed"} 4',
        "",
      ].join("\n"),
    );
  });

  test("label values escape backslash, quote and newline; HELP escapes backslash and newline", () => {
    const text = renderPrometheus([
      { name: "x_total", help: 'a\\b\nc "q"', type: "counter", samples: [{ labels: { path: 'C:\\dir\n"x"' }, value: 1 }] },
    ]);
    expect(text).toEqual('# HELP x_total a\\\\b\\nc "q"\n# TYPE x_total counter\nx_total{path="C:\\\\dir\\n\\"x\\""} 1\n');
  });

  test("numbers: integers plain, floats round-trip, NaN and ±Inf as Prometheus writes them", () => {
    expect([0, -0, 42, 2 ** 53, 0.1, 1 / 3, 1.5e-9, NaN, Infinity, -Infinity].map(formatValue)).toEqual([
      "0", "0", "42", "9007199254740992", "0.1", "0.3333333333333333", "1.5e-9", "NaN", "+Inf", "-Inf",
    ]);
  });

  test("le strings are exact decimals of the ns boundary, in Go %g style", () => {
    expect([128, 1024, 131072, 1_000_000_000, 2 ** 34].map(formatExactSeconds)).toEqual([
      "1.28e-07", "1.024e-06", "0.000131072", "1", "17.179869184",
    ]);
    for (const ns of DEFAULT_LE_BOUNDS_NS) {
      const text = formatExactSeconds(ns);
      const [mantissa, exponent = "0"] = text.split("e");
      const [whole, fraction = ""] = mantissa.split(".");
      // digits × 10^(exponent - fraction length) seconds == ns × 10^-9, checked in integers
      const shift = Number(exponent) - fraction.length + 9;
      const digits = BigInt(whole + fraction);
      const value = shift >= 0 ? digits * 10n ** BigInt(shift) : digits / 10n ** BigInt(-shift);
      expect(shift >= 0 || digits % 10n ** BigInt(-shift) === 0n).toBe(true);
      expect(value).toBe(BigInt(ns));
    }
  });

  test("bad names, counters without _total, and le outside bucket boundaries are refused", () => {
    const counter = (name: string, labels = {}): MetricFamily => ({ name, help: "h", type: "counter", samples: [{ labels, value: 1 }] });
    expect(() => renderPrometheus([counter("tradingd_events")])).toThrow(/must end in _total/);
    expect(() => renderPrometheus([counter("9lives_total")])).toThrow(/bad metric name/);
    expect(() => renderPrometheus([counter("a_total", { "bad-name": "x" })])).toThrow(/bad label name/);
    expect(() => renderPrometheus([counter("a_total", { le: "1" })])).toThrow(/reserved/);
    expect(() => renderPrometheus([counter("a_total"), counter("a_total")])).toThrow(/appears twice/);
    expect(() => histogramFamilySamples([], [1000])).toThrow(/not a histogram bucket boundary/);
    expect(() => histogramFamilySamples([], [2048, 1024])).toThrow(/must increase/);
  });
});

describe("histogramFamilySamples", () => {
  test("le boundaries increase, cumulative counts never decrease and are exact, _count equals +Inf", () => {
    const snapshot = snapshotOf([...SPREAD, 0, -3, 1e11]);
    const samples = histogramFamilySamples([{ labels: { thread: "strategy" }, snapshot }]);
    const buckets = samples.filter((s) => s.suffix === "_bucket");
    const le = buckets.map((s) => s.labels!.le);
    expect(le).toEqual([...DEFAULT_LE_BOUNDS_NS.map(formatExactSeconds), "+Inf"]);
    const bounds = le.slice(0, -1).map(Number);
    expect(bounds.every((b, i) => i === 0 || b > bounds[i - 1])).toBe(true);
    const counts = buckets.map((s) => s.value);
    expect(counts.every((c, i) => i === 0 || c >= counts[i - 1])).toBe(true);
    // Exact: each cumulative count equals the number of recorded values <= the boundary.
    const recorded = [...SPREAD, 0, 0, 1e11];
    expect(counts.slice(0, -1)).toEqual(DEFAULT_LE_BOUNDS_NS.map((ns) => recorded.filter((v) => v <= ns).length));
    const count = samples.find((s) => s.suffix === "_count")!.value;
    expect(count).toBe(counts.at(-1)!);
    expect(count).toBe(recorded.length);
    expect(samples.find((s) => s.suffix === "_sum")!.value).toBeCloseTo(snapshot.sumNs / 1e9, 12);
  });
});

describe.skipIf(!Bun.which("promtool"))("promtool (Debian package prometheus; skipped when not installed)", () => {
  test("promtool check metrics accepts the rendered exposition with no lint problems", async () => {
    await using proc = Bun.spawn(["promtool", "check", "metrics"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    proc.stdin.write(renderPrometheus(sampleFamilies()));
    await proc.stdin.end();
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect({ exitCode, output: stdout + stderr }).toEqual({ exitCode: 0, output: "" });
  });

  test("promtool does flag a counter without _total (the check is not vacuous)", async () => {
    await using proc = Bun.spawn(["promtool", "check", "metrics"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    proc.stdin.write("# HELP foo_bytes x\n# TYPE foo_bytes counter\nfoo_bytes 1\n");
    await proc.stdin.end();
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect(exitCode).not.toBe(0);
    expect(stdout + stderr).toContain('should have "_total" suffix');
  });
});
