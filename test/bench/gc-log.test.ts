import { describe, expect, test } from "bun:test";
import { GcLog } from "../../daemon/bench/gc-log.ts";

// Lines as JavaScriptCore 1.4.5 (Bun) wrote them with BUN_JSC_logGC=1, two heaps interleaved.
const SAMPLE = `[GC<0x59707ff8118>: starting 0.050095ms]
Requesting GC because bytes allocated this cycle: 8400193 exceed bytes allowed: 8388608 normal bytes: 8333845 oversized bytes: 66348 last oversized: 66348
[GC<0x59707ff8118>: START M 8282kb => EdenCollection, a=0kb hf=0.000 mu=0.600 v=0kb (C:0 M:0 P1:0) o=0 b=0 i#1:N<CsMsrShDMsm(0)SrbBcs> 959+0 p=1.350800ms (max 1.350800)...]
[GC<0x59707ff8118>: M a=117kb hf=0.036 mu=0.579 v=1350kb (C:877 M:0 P1:473) o=1 b=5 0+5 p=0.309830ms (max 1.350800)...]
[GC<0x5970d600118>: START M 1584kb => FullCollection, a=0kb hf=0.000 mu=0.600 v=0kb (C:0 M:0 P1:0) o=0 b=0 i#1:N<CsMsrShDMsm(0)SrbBcs> 448+0 [GC<0x59710600118>: starting 0.011146ms]
GC END!
[GC<0x59710600118>: START M 1024kb => EdenCollection, a=0kb p=12.138599ms (max 12.138599), cycle 1.108705ms END]
soak 10s: 100008 ev/s, rss 82.4 MB
`;

describe("GcLog: JavaScriptCore's GC log, summarised", () => {
  test("counts collections by kind and every stop-the-world pause; other lines pass through", () => {
    const log = new GcLog();
    const other = log.feed(SAMPLE);
    expect(log.summary()).toEqual({ collections: 3, eden: 2, full: 1, pauses: 3, maxPauseMs: 12.138599, totalPauseMs: 1.3508 + 0.30983 + 12.138599, over10ms: 1 });
    expect(other).toBe("soak 10s: 100008 ev/s, rss 82.4 MB\n");
  });

  test("a line cut across two chunks is read once, whole", () => {
    const log = new GcLog();
    const cut = SAMPLE.indexOf("p=0.3098");
    expect(log.feed(SAMPLE.slice(0, cut + 4)) + log.feed(SAMPLE.slice(cut + 4))).toBe("soak 10s: 100008 ev/s, rss 82.4 MB\n");
    expect(log.summary().pauses).toBe(3);
  });
});
