/**
 * The built-in strategies driven by a fake StrategyContext (orders recorded, positions and open
 * orders set by the test), and loadStrategy's built-in / user-module / error paths.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { z } from "zod";
import type { OrderSpec, QuoteView, Strategy, StrategyContext } from "../../daemon/strategy/api.ts";
import { createEmaCross } from "../../daemon/strategy/builtins/ema-cross.ts";
import { createThreshold } from "../../daemon/strategy/builtins/threshold.ts";
import { StrategyLoadError, loadStrategy } from "../../daemon/strategy/load.ts";

/** Records every submitted order (copied: strategies reuse their OrderSpec object). */
class FakeContext implements StrategyContext {
  readonly orders: OrderSpec[] = [];
  readonly positions: number[];
  readonly open: number[];
  lastReject = "";
  #nextId = 1;

  /** `fillAtOnce`: a submitted order fills whole at once (position moves, nothing stays open). */
  constructor(
    readonly symbols: readonly string[],
    readonly fillAtOnce = false,
  ) {
    this.positions = symbols.map(() => 0);
    this.open = symbols.map(() => 0);
  }
  symbolId(symbol: string): number {
    return this.symbols.indexOf(symbol);
  }
  submit(order: OrderSpec): number {
    this.orders.push({ ...order });
    if (this.fillAtOnce) this.positions[order.symbolId] = this.positions[order.symbolId]! + (order.side === "buy" ? order.qty : -order.qty);
    return this.#nextId++;
  }
  cancel(): boolean {
    return false;
  }
  cancelAll(): void {}
  position(symbolId: number): number {
    return this.positions[symbolId]!;
  }
  openOrders(symbolId: number): number {
    return symbolId < 0 ? this.open.reduce((a, b) => a + b, 0) : this.open[symbolId]!;
  }
  now(): number {
    return 0;
  }
  log(): void {}
  /** Orders since the last call. */
  take(): OrderSpec[] {
    return this.orders.splice(0);
  }
}

function quote(symbolId: number, bidPx: number, askPx: number, symbol = ""): QuoteView {
  return { symbolId, symbol, bidPx, askPx, bidSize: 100, askSize: 100, recvNs: 0 };
}

function started(strategy: Strategy, ctx: FakeContext): Strategy {
  strategy.onStart?.(ctx);
  return strategy;
}

const limit = (symbolId: number, side: "buy" | "sell", qty: number, limitPx: number, tif: OrderSpec["tif"] = "day"): OrderSpec => ({
  symbolId,
  side,
  qty,
  type: "limit",
  limitPx,
  tif,
});
/** threshold sends immediate-or-cancel limits at the touch. */
const ioc = (symbolId: number, side: "buy" | "sell", qty: number, limitPx: number) => limit(symbolId, side, qty, limitPx, "ioc");

describe("threshold", () => {
  test("buys qty at the ask once the ask is at or below the level, never above it", () => {
    const ctx = new FakeContext(["AAPL"]);
    const s = started(createThreshold({ buy_at_or_below: 99.9, qty: 100, max_position: 100 }), ctx);
    s.onQuote!(quote(0, 99.9, 99.95), ctx);
    const above = ctx.take();
    s.onQuote!(quote(0, 99.85, 99.9), ctx);
    expect({ above, atLevel: ctx.take() }).toEqual({ above: [], atLevel: [ioc(0, "buy", 100, 99.9)] });
  });

  test("sells qty at the bid once the bid is at or above the level and it holds the shares", () => {
    const ctx = new FakeContext(["AAPL"]);
    const s = started(createThreshold({ sell_at_or_above: 100.1 }), ctx);
    ctx.positions[0] = 100;
    s.onQuote!(quote(0, 100.09, 100.11), ctx);
    const below = ctx.take();
    s.onQuote!(quote(0, 100.1, 100.12), ctx);
    expect({ below, atLevel: ctx.take() }).toEqual({ below: [], atLevel: [ioc(0, "sell", 100, 100.1)] });
  });

  test("sends nothing while the symbol has an order open, on either side", () => {
    const ctx = new FakeContext(["AAPL"]);
    const s = started(createThreshold({}), ctx);
    ctx.open[0] = 1;
    s.onQuote!(quote(0, 99, 99.01), ctx);
    ctx.positions[0] = 100;
    s.onQuote!(quote(0, 101, 101.01), ctx);
    expect(ctx.take()).toEqual([]);
  });

  test("never sends a buy that could take the position past max_position; buys while there is a full qty of room", () => {
    const ctx = new FakeContext(["AAPL"]);
    const s = started(createThreshold({ qty: 100, max_position: 200 }), ctx);
    const after = (pos: number) => {
      ctx.positions[0] = pos;
      s.onQuote!(quote(0, 99, 99.01), ctx);
      return ctx.take().map((o) => (o.side === "buy" ? pos + o.qty : pos - o.qty));
    };
    const results = [0, 100, 101, 150, 200].map(after);
    expect({ results: results.slice(0, 2).concat([results[4]!]), withinLimit: results.flat().every((p) => p <= 200) }).toEqual({
      results: [[100], [200], []],
      withinLimit: true,
    });
  });

  test("long only by default: sells only shares it holds, never goes short", () => {
    const ctx = new FakeContext(["AAPL"]);
    const s = started(createThreshold({ qty: 100, max_position: 300 }), ctx);
    const sellsAt = (pos: number) => {
      ctx.positions[0] = pos;
      s.onQuote!(quote(0, 101, 101.01), ctx);
      return ctx.take().length;
    };
    expect([300, 100, 0, -100].map(sellsAt)).toEqual([1, 1, 0, 0]);
  });

  test("long only: a position smaller than qty (left by a partial ioc fill) is sold whole, not kept", () => {
    const ctx = new FakeContext(["AAPL"]);
    const s = started(createThreshold({ qty: 100, max_position: 100 }), ctx);
    ctx.positions[0] = 50;
    s.onQuote!(quote(0, 101, 101.01), ctx);
    expect(ctx.take()).toEqual([ioc(0, "sell", 50, 101)]);
  });

  test("allow_short: sells from flat and while short, never past -max_position", () => {
    const ctx = new FakeContext(["AAPL"]);
    const s = started(createThreshold({ qty: 100, max_position: 200, allow_short: true }), ctx);
    const after = (pos: number) => {
      ctx.positions[0] = pos;
      s.onQuote!(quote(0, 101, 101.01), ctx);
      return ctx.take().map((o) => (o.side === "buy" ? pos + o.qty : pos - o.qty));
    };
    const results = [0, -100, -150, -200].map(after);
    expect({ results: [results[0], results[1], results[3]], withinLimit: results.flat().every((p) => p >= -200) }).toEqual({
      results: [[-100], [-200], []],
      withinLimit: true,
    });
  });

  test("per-symbol level maps: each symbol trades at its own level; a symbol missing from a map never trades on that side", () => {
    const ctx = new FakeContext(["AAPL", "MSFT", "TSLA"]);
    const s = started(createThreshold({ buy_at_or_below: { AAPL: 150, MSFT: 300 }, sell_at_or_above: { AAPL: 160 }, max_position: 1000 }), ctx);
    s.onQuote!(quote(0, 149.99, 150), ctx); // AAPL at its buy level
    s.onQuote!(quote(1, 300.5, 300.6), ctx); // MSFT above its buy level
    s.onQuote!(quote(1, 299.9, 300), ctx); // MSFT at its buy level
    s.onQuote!(quote(2, 0.01, 0.02), ctx); // TSLA: no buy level at any price
    ctx.positions[0] = 100;
    ctx.positions[1] = 100;
    ctx.positions[2] = 100;
    s.onQuote!(quote(0, 160, 160.01), ctx); // AAPL: not a buy (ask > 150), a sell at 160
    s.onQuote!(quote(1, 1e6, 1e6 + 0.01), ctx); // MSFT: no sell level
    s.onQuote!(quote(2, 1e6, 1e6 + 0.01), ctx); // TSLA: no sell level
    expect(ctx.take()).toEqual([ioc(0, "buy", 100, 150), ioc(1, "buy", 100, 300), ioc(0, "sell", 100, 160)]);
  });

  test("params: unknown keys and non-positive levels or quantities are refused with a ZodError", () => {
    expect(() => createThreshold({ buy_below: 10 })).toThrow(z.ZodError);
    expect(() => createThreshold({ qty: 0 })).toThrow(z.ZodError);
    expect(() => createThreshold({ buy_at_or_below: { AAPL: -1 } })).toThrow(z.ZodError);
    expect(() => createThreshold({ allow_short: "yes" })).toThrow(z.ZodError);
  });
});

describe("ema-cross", () => {
  /** Mids: `flat` quotes at 100, then `up` quotes rising 1 each, then `down` quotes falling 1 each. */
  function mids(flat: number, up: number, down: number): number[] {
    const out: number[] = [];
    let m = 100;
    for (let k = 0; k < flat; k++) out.push(m);
    for (let k = 0; k < up; k++) out.push((m += 1));
    for (let k = 0; k < down; k++) out.push((m -= 1));
    return out;
  }

  /** Feeds the mids (spread 0.02) and returns, per order, the index of the quote that sent it. */
  function run(strategy: Strategy, ctx: FakeContext, series: number[], symbolId = 0): { at: number; order: OrderSpec }[] {
    const sent: { at: number; order: OrderSpec }[] = [];
    series.forEach((mid, at) => {
      strategy.onQuote!(quote(symbolId, mid - 0.01, mid + 0.01), ctx);
      for (const order of ctx.take()) sent.push({ at, order });
    });
    return sent;
  }

  test("sends nothing before `warmup` quotes (default slow_period), even on a strong trend", () => {
    const ctx = new FakeContext(["AAPL"], true);
    const s = started(createEmaCross({ fast_period: 2, slow_period: 5, qty: 10 }), ctx);
    const sent = run(s, ctx, mids(0, 8, 0));
    // The 5th quote (index 4) is the first that may trade.
    expect(sent.map((x) => x.at)).toEqual([4]);
  });

  test("an explicit warmup delays the first order to that quote", () => {
    const ctx = new FakeContext(["AAPL"], true);
    const s = started(createEmaCross({ fast_period: 2, slow_period: 5, qty: 10, warmup: 9 }), ctx);
    expect(run(s, ctx, mids(0, 12, 0)).map((x) => x.at)).toEqual([8]);
  });

  test("long only: buys qty at the ask on the up-cross, holds, and sells the whole position at the bid on the down-cross", () => {
    const ctx = new FakeContext(["AAPL"], true);
    const s = started(createEmaCross({ fast_period: 2, slow_period: 4, qty: 10 }), ctx);
    const sent = run(s, ctx, mids(6, 6, 8));
    expect({ sent, position: ctx.positions[0] }).toEqual({
      sent: [
        { at: 6, order: limit(0, "buy", 10, 101.01) },
        { at: 13, order: limit(0, "sell", 10, 103.99) },
      ],
      position: 0,
    });
  });

  test("allow_short: the down-cross takes a long position to -qty in one order", () => {
    const ctx = new FakeContext(["AAPL"], true);
    const s = started(createEmaCross({ fast_period: 2, slow_period: 4, qty: 10, allow_short: true }), ctx);
    // Warm up on a rising series so the first target is long.
    const sent = run(s, ctx, mids(0, 8, 8));
    expect({ sides: sent.map((x) => [x.order.side, x.order.qty]), position: ctx.positions[0] }).toEqual({
      sides: [
        ["buy", 10],
        ["sell", 20],
      ],
      position: -10,
    });
  });

  test("sends nothing while the symbol has an order open, and trades once it is done", () => {
    const ctx = new FakeContext(["AAPL"]);
    const s = started(createEmaCross({ fast_period: 2, slow_period: 4, qty: 10 }), ctx);
    ctx.open[0] = 1;
    const whileOpen = run(s, ctx, mids(4, 4, 0));
    ctx.open[0] = 0;
    s.onQuote!(quote(0, 110, 110.02), ctx);
    expect({ whileOpen, after: ctx.take() }).toEqual({ whileOpen: [], after: [limit(0, "buy", 10, 110.02)] });
  });

  test("keeps separate averages per symbol: one symbol's trend does not trade another", () => {
    const ctx = new FakeContext(["AAPL", "MSFT"], true);
    const s = started(createEmaCross({ fast_period: 2, slow_period: 4, qty: 10 }), ctx);
    const up = mids(0, 10, 0);
    up.forEach((mid, k) => {
      s.onQuote!(quote(0, mid - 0.01, mid + 0.01), ctx);
      s.onQuote!(quote(1, 50 - 0.01 - k, 50 + 0.01 - k), ctx); // MSFT falls: long only, stays flat
    });
    expect({ orders: ctx.take().map((o) => [o.symbolId, o.side]), positions: ctx.positions }).toEqual({ orders: [[0, "buy"]], positions: [10, 0] });
  });

  test("params: fast_period >= slow_period, unknown keys and non-integer periods are refused with a ZodError", () => {
    expect(() => createEmaCross({ fast_period: 10, slow_period: 10 })).toThrow("fast_period must be below slow_period");
    expect(() => createEmaCross({ fast_period: 10, slow_period: 5 })).toThrow(z.ZodError);
    expect(() => createEmaCross({ fast: 3 })).toThrow(z.ZodError);
    expect(() => createEmaCross({ fast_period: 1.5 })).toThrow(z.ZodError);
    expect(() => createEmaCross({ qty: -1 })).toThrow(z.ZodError);
  });
});

describe("loadStrategy", () => {
  const here = import.meta.dir;

  async function loadError(...args: Parameters<typeof loadStrategy>): Promise<{ name: string; message: string }> {
    try {
      await loadStrategy(...args);
    } catch (err) {
      return { name: (err as Error).name, message: (err as Error).message };
    }
    throw new Error("loadStrategy did not throw");
  }

  test.each(["threshold", "ema-cross"])("built-in %s loads by name with default params", async (name) => {
    const s = await loadStrategy(name, "", {}, here);
    expect({ onStart: typeof s.onStart, onQuote: typeof s.onQuote }).toEqual({ onStart: "function", onQuote: "function" });
  });

  test("an unknown name is a StrategyLoadError that names it", async () => {
    expect(await loadError("nope", "", {}, here)).toEqual({ name: "StrategyLoadError", message: 'strategy.name: unknown strategy "nope"' });
    expect(loadStrategy("nope", "", {}, here)).rejects.toBeInstanceOf(StrategyLoadError);
  });

  test("a user module, relative to the base dir, is imported and its factory gets the params", async () => {
    const s = (await loadStrategy("module", "./user-strategy-fixture.ts", { qty: 7 }, here)) as Strategy & { params: unknown };
    const ctx = new FakeContext(["AAPL"]);
    s.onQuote!(quote(0, 10, 10.01), ctx);
    expect({ params: s.params, orders: ctx.take() }).toEqual({
      params: { qty: 7 },
      orders: [{ symbolId: 0, side: "buy", qty: 7, type: "limit", limitPx: 10.01 }],
    });
  });

  test("a user module by absolute path loads whatever the base dir", async () => {
    const s = await loadStrategy("module", resolve(here, "user-strategy-fixture.ts"), {}, "/nonexistent");
    expect(typeof s.onQuote).toBe("function");
  });

  test("a module without a default-exported function says what it must export", async () => {
    const file = resolve(here, "../../daemon/strategy/builtins/threshold.ts"); // named exports only
    expect(await loadError("module", file, {}, here)).toEqual({
      name: "StrategyLoadError",
      message: `strategy.module: ${file} must default-export a factory function (params) => Strategy`,
    });
  });

  test("a module that does not exist names the resolved file", async () => {
    const err = await loadError("module", "./no-such-strategy.ts", {}, here);
    expect({ name: err.name, starts: err.message.startsWith(`strategy.module: cannot load ${resolve(here, "no-such-strategy.ts")}: `) }).toEqual({
      name: "StrategyLoadError",
      starts: true,
    });
  });

  test("a user factory that throws is reported with the strategy name", async () => {
    expect(await loadError("module", "./user-strategy-fixture.ts", { fail: true }, here)).toEqual({
      name: "StrategyLoadError",
      message: "strategy module: fixture refused its params",
    });
  });

  test("bad params give one `strategy.params.<key>: message` line per issue", async () => {
    expect(await loadError("threshold", "", { qty: -1, max_position: 0 }, here)).toEqual({
      name: "StrategyLoadError",
      message: ["strategy.params.qty: Too small: expected number to be >0", "strategy.params.max_position: Too small: expected number to be >0"].join("\n"),
    });
    expect((await loadError("ema-cross", "", { fast_period: 10, slow_period: 5 }, here)).message).toBe(
      "strategy.params.fast_period: fast_period must be below slow_period",
    );
    expect((await loadError("threshold", "", { buy_at_or_below: { AAPL: -1 } }, here)).message).toBe(
      "strategy.params.buy_at_or_below.AAPL: Too small: expected number to be >0",
    );
  });

  test("an unknown param key is reported on a strategy.params line that names the key", async () => {
    expect((await loadError("threshold", "", { bogus: 1 }, here)).message).toBe('strategy.params: unknown key "bogus"');
  });
});
