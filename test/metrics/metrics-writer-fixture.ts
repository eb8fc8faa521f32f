// Worker fixture: owns a metrics block the test created and writes a fixed workload into it.
// The test runs the same `writeWorkload` on a block of its own and compares what it reads.
import { defineLayout, MetricsBlock } from "../../daemon/metrics/block.ts";

declare const self: Worker;

export const WRITER_LAYOUT = defineLayout({
  counters: ["md_events", "md_drops"],
  gauges: ["md_ring_depth"],
  histograms: ["frame_parse", "tick_to_order"],
});

/** Done flag: Int32Array word 0 of the second buffer, set with Atomics.store after the writes. */
export interface WriterStart {
  readonly metrics: SharedArrayBuffer;
  readonly done: SharedArrayBuffer;
  readonly records: number;
}

export function writeWorkload(block: MetricsBlock<typeof WRITER_LAYOUT>, records: number): void {
  const events = block.counterIndex("md_events");
  const drops = block.counterIndex("md_drops");
  const depth = block.gaugeIndex("md_ring_depth");
  const parse = block.histogram("frame_parse");
  const tickToOrder = block.histogram("tick_to_order");
  let x = 0x9e3779b9; // xorshift32, seeded
  for (let i = 0; i < records; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = (x >>> 0) / 4294967296;
    block.add(events);
    if ((i & 1023) === 0) block.add(drops, 2);
    block.set(depth, i & 255);
    parse.record(100 * 10 ** (u * 3)); // 100 ns .. 100 µs
    tickToOrder.record(u * 200_000 - 1_000); // about 0.5% negative: clock noise, clamped to 0
  }
}

if (!Bun.isMainThread) {
  self.onmessage = (event: MessageEvent<WriterStart>) => {
    const { metrics, done, records } = event.data;
    writeWorkload(new MetricsBlock(WRITER_LAYOUT, metrics), records);
    // Publishes every plain store above: the reader's Atomics.load of this word sees them all.
    Atomics.store(new Int32Array(done), 0, 1);
    postMessage("done");
  };
}
