import { expect, test } from "bun:test";
import { parseConfigText } from "../../../daemon/config/load.ts";
import { scratchFeedContext } from "../../../daemon/feeds/context.ts";
import { FrameWarmer } from "../../../daemon/gateways/polygon/publisher.ts";

test("FrameWarmer (keep-warm): canned quotes go through a scratch publisher, in sequence, its ring emptied each time (so it never fills), and the live context is not touched", () => {
  // Live rings that wait when full: the scratch ring drops instead (it must never hold the thread up).
  const config = parseConfigText(`symbols: [AAPL, MSFT]\nrings: { market_data: { slots: 64, when_full: wait } }\n`, "frame-warmer.test", {});
  const live = scratchFeedContext(config, config.symbols);
  const warmer = new FrameWarmer(live, { allSymbols: false, maxFrameChars: 1_000_000, badInputLogPerMin: 10, onStatus: () => {}, log: () => {} });
  for (let k = 0; k < 1_000; k++) warmer.warm();
  // Every canned frame is a valid quote, published on the scratch side, none dropped, none out of sequence.
  expect(warmer.scratchCounts()).toEqual({ quotes: 1_000, dropped: 0, gaps: 0 });
  expect(live.ring.available()).toBe(0);
  expect(live.metrics.readCounters().frames).toBe(0);
  expect(live.metrics.readCounters().md_quotes).toBe(0);
  expect(live.book.read(0)).toBe(false);
  expect(live.book.read(1)).toBe(false);
});
