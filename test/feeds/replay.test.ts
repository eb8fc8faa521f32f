import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRecording, FrameRecorder, RecordingFormatError } from "../../daemon/feeds/replay/format.ts";
import { Pipeline } from "../../daemon/supervisor.ts";
import { parseConfigText } from "../../daemon/config/load.ts";
import { waitUntil } from "../support/wait.ts";

const SAMPLE = join(import.meta.dir, "../fixtures/polygon/sample.tdrec");

describe("recording format", () => {
  test("what the recorder writes reads back frame for frame, receive times included", () => {
    const file = join(mkdtempSync(join(tmpdir(), "tradingd-rec-")), "x.tdrec");
    const rec = new FrameRecorder(file, "ws://example/stocks");
    rec.write('[{"ev":"Q"}]', 1.5e18);
    rec.write("[é]", 1.6e18);
    rec.close();
    const r = readRecording(file);
    expect({ source: r.header.source, frames: r.frames, truncated: r.truncated }).toEqual({
      source: "ws://example/stocks",
      frames: [
        { recvUnixNs: 1.5e18, frame: '[{"ev":"Q"}]' },
        { recvUnixNs: 1.6e18, frame: "[é]" },
      ],
      truncated: false,
    });
  });

  test("a record cut short by a crash is dropped and flagged; the rest reads", () => {
    const dir = mkdtempSync(join(tmpdir(), "tradingd-rec-"));
    const file = join(dir, "cut.tdrec");
    copyFileSync(SAMPLE, file);
    const whole = readRecording(file).frames.length;
    truncateSync(file, readFileSync(file).length - 5);
    const r = readRecording(file);
    expect([r.frames.length, r.truncated]).toEqual([whole - 1, true]);
  });

  test("a file that is not a recording says so", () => {
    const file = join(mkdtempSync(join(tmpdir(), "tradingd-rec-")), "not.tdrec");
    writeFileSync(file, "hello world, not a recording");
    expect(() => readRecording(file)).toThrow(new RecordingFormatError(`${file}: not a tradingd recording (no TDRECv01 magic)`));
  });
});

describe("replay feed", () => {
  test("the shipped sample (recorded from the fake) plays through the same path: every event reaches the strategy", async () => {
    const p = new Pipeline(parseConfigText(`symbols: [AAPL, MSFT]\nfeed: { kind: replay, replay: { file: ${SAMPLE}, speed: 0 } }\nstrategy: { warmup_events: 0 }\n`, "replay.test", {}));
    try {
      await p.start();
      await waitUntil(() => p.feedMetrics.readCounters().md_quotes + p.feedMetrics.readCounters().md_trades + p.feedMetrics.readCounters().md_bars === 1000, "1,000 events replayed");
      const s = p.strategyMetrics.readCounters();
      await waitUntil(() => p.strategyMetrics.readCounters().md_quotes + p.strategyMetrics.readCounters().md_trades === 1000, "the strategy to take them all");
      expect(s.md_quotes).toBeGreaterThan(0);
      const bad = Object.entries(p.feedMetrics.readCounters()).filter(([k, v]) => k.startsWith("bad_input_") && v > 0);
      expect(bad).toEqual([]);
      expect(p.book.read(0) && p.book.read(1)).toBe(true);
    } finally {
      await p.stop();
    }
  });
});
