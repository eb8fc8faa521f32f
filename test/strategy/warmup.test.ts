import { describe, expect, test } from "bun:test";
import { warmUp } from "../../daemon/strategy/warmup.ts";
import { defaultConfig, parseConfigText } from "../../daemon/config/load.ts";
import { createThreshold } from "../../daemon/strategy/builtins/threshold.ts";
import type { Strategy } from "../../daemon/strategy/api.ts";

describe("warm-up", () => {
  const cfg = defaultConfig();
  const symbols = cfg.symbols;

  test("runs the asked number of events through the strategy and sends orders through risk and encoding", () => {
    let quotes = 0;
    let fills = 0;
    const inner = createThreshold({ buy_at_or_below: 100.5, sell_at_or_above: 99.5, qty: 1, max_position: 5 });
    const counting: Strategy = {
      onStart: (ctx) => inner.onStart?.(ctx),
      onQuote: (q, ctx) => {
        quotes++;
        inner.onQuote?.(q, ctx);
      },
      onFill: () => {
        fills++;
      },
    };
    const r = warmUp(cfg, symbols, counting, 5000);
    expect(r.events).toBe(5000);
    expect(quotes).toBeGreaterThan(4000);
    expect(r.orders).toBeGreaterThan(10);
    expect(fills).toBe(r.orders);
    expect(r.error).toBeNull();
  });

  test("a strategy that throws during warm-up stops it and says why, without throwing", () => {
    let calls = 0;
    const r = warmUp(cfg, symbols, { onQuote: () => { if (++calls === 10) throw new Error("bad strategy"); } }, 5000);
    expect(r.error).toBe("bad strategy");
    expect(r.events).toBeLessThan(5000);
  });

  test("warm-up is scratch: a live pipeline counts only real events (see the pipeline test), and 0 turns it off", () => {
    expect(parseConfigText("strategy: {warmup_events: 0}", "<w>", {}).strategy.warmup_events).toBe(0);
    expect(cfg.strategy.warmup_events).toBe(20_000);
  });
});
