import { describe, expect, test } from "bun:test";
import { SyntheticMarket, type SyntheticParams } from "../../daemon/feeds/synthetic/generator.ts";
import { F_P0, F_P1, F_P2, F_P3, F_TRECV, I_A, I_B, I_KIND, I_SYMBOL, RecordKind } from "../../daemon/shm/records.ts";

const PARAMS: SyntheticParams = Object.freeze({ seed: 42, symbols: 5, tradeRatio: 0.3, startPrice: 100, volatilityBps: 5, spreadBps: 2 });
const SLOT_I32 = 16;
const SLOT_F64 = 8;

/** `count` events written into consecutive 64-byte slots of one buffer. */
function generate(params: SyntheticParams, count: number): { i32: Int32Array; f64: Float64Array } {
  const buf = new ArrayBuffer(count * 64);
  const i32 = new Int32Array(buf);
  const f64 = new Float64Array(buf);
  const market = new SyntheticMarket(params);
  for (let k = 0; k < count; k++) market.next(i32, f64, k * SLOT_I32, k * SLOT_F64, k);
  return { i32, f64 };
}

/** Index of the first record whose 64 bytes differ, or -1. */
function firstDifference(a: Int32Array, b: Int32Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return Math.floor(i / SLOT_I32);
  return -1;
}

const NO_PROBLEMS = Object.freeze({
  crossedOrLocked: 0,
  offGrid: 0,
  nonPositiveSize: 0,
  tradeOutsideQuote: 0,
  sequenceGaps: 0,
  fieldsMismatch: 0,
  unknownKind: 0,
});

const onCentGrid = (px: number) => Math.abs(px * 100 - Math.round(px * 100)) < 1e-6;

describe("SyntheticMarket reproducibility", () => {
  test("the same seed gives byte-identical first 10,000 records", () => {
    const a = generate(PARAMS, 10_000);
    const b = generate(PARAMS, 10_000);
    expect({ firstDifference: firstDifference(a.i32, b.i32), nonEmpty: a.i32[I_KIND] !== 0 }).toEqual({ firstDifference: -1, nonEmpty: true });
  });

  test("a different seed gives a different sequence from the first records on", () => {
    const a = generate(PARAMS, 10_000);
    const b = generate({ ...PARAMS, seed: 43 }, 10_000);
    expect(firstDifference(a.i32, b.i32)).toBeGreaterThanOrEqual(0);
    expect(firstDifference(a.i32, b.i32)).toBeLessThan(10);
  });
});

describe("SyntheticMarket invariants over 200,000 events", () => {
  const EVENTS = 200_000;

  function audit(params: SyntheticParams) {
    const market = new SyntheticMarket(params);
    const i32 = new Int32Array(SLOT_I32);
    const f64 = new Float64Array(i32.buffer);
    // The constructor's starting quote is the book before the first event.
    const bid = Float64Array.from(market.bid);
    const ask = Float64Array.from(market.ask);
    const lastSeq = new Int32Array(params.symbols);
    const perSymbol = new Array<number>(params.symbols).fill(0);
    const problems = { ...NO_PROBLEMS };
    let trades = 0;
    for (let k = 0; k < EVENTS; k++) {
      const kind = market.next(i32, f64, 0, 0, 1_000 + k);
      const s = i32[I_SYMBOL]!;
      perSymbol[s]!++;
      if (i32[I_A] !== lastSeq[s]! + 1) problems.sequenceGaps++;
      lastSeq[s] = i32[I_A]!;
      if (
        kind !== i32[I_KIND] ||
        market.lastKind !== kind ||
        market.lastSymbol !== s ||
        i32[I_B] !== 0 ||
        f64[F_TRECV] !== 1_000 + k ||
        f64[F_P0] !== market.p0 ||
        f64[F_P1] !== market.p1
      )
        problems.fieldsMismatch++;
      if (kind === RecordKind.QUOTE) {
        const b = f64[F_P0]!;
        const a = f64[F_P1]!;
        if (!(b < a)) problems.crossedOrLocked++;
        if (!onCentGrid(b) || !onCentGrid(a)) problems.offGrid++;
        if (!(f64[F_P2]! > 0) || !(f64[F_P3]! > 0)) problems.nonPositiveSize++;
        bid[s] = b;
        ask[s] = a;
      } else if (kind === RecordKind.TRADE) {
        trades++;
        const px = f64[F_P0]!;
        if (!onCentGrid(px)) problems.offGrid++;
        if (!(f64[F_P1]! > 0)) problems.nonPositiveSize++;
        if (px < bid[s]! || px > ask[s]!) problems.tradeOutsideQuote++;
      } else problems.unknownKind++;
    }
    return { problems, tradeFraction: trades / EVENTS, perSymbol, market };
  }

  test("quotes are never crossed or locked, prices sit on the cent grid, sizes are positive, trades print within the quote, sequences have no gaps", () => {
    expect(audit(PARAMS).problems).toEqual(NO_PROBLEMS);
  });

  test.each([0.05, 0.3, 0.7])("trade_ratio %p: the trade fraction is within one percentage point of it", (tradeRatio) => {
    const { tradeFraction } = audit({ ...PARAMS, tradeRatio, seed: 7 });
    expect(Math.abs(tradeFraction - tradeRatio)).toBeLessThan(0.01);
  });

  test("every symbol gets events, in roughly equal shares", () => {
    const { perSymbol } = audit({ ...PARAMS, symbols: 8 });
    const share = EVENTS / 8;
    expect(perSymbol.map((n) => Math.abs(n - share) < share * 0.05)).toEqual(Array(8).fill(true));
  });

  test("a high-volatility, wide-spread run keeps the same invariants", () => {
    expect(audit({ ...PARAMS, seed: 99, volatilityBps: 50, spreadBps: 25, startPrice: 3 }).problems).toEqual(NO_PROBLEMS);
  });

  test("zero volatility keeps every mid, bid and ask where they started", () => {
    const params = { ...PARAMS, volatilityBps: 0 };
    const start = new SyntheticMarket(params);
    const { problems, market } = audit(params);
    expect({
      mids: Array.from(market.mid),
      bids: Array.from(market.bid),
      asks: Array.from(market.ask),
      problems,
    }).toEqual({ mids: Array.from(start.mid), bids: Array.from(start.bid), asks: Array.from(start.ask), problems: NO_PROBLEMS });
  });
});
