import { describe, expect, test } from "bun:test";
import { RiskConfig } from "../../daemon/config/schema.ts";
import { RiskLimitsBlock, emptyRiskLimits, riskLimitsOf } from "../../daemon/risk/limits-block.ts";
import { RiskEngine } from "../../daemon/risk/engine.ts";
import { RISK_REASON_NAMES, type RiskLimits } from "../../daemon/risk/checks.ts";
import { ControlBlock, W_BROKER_BUDGET, W_BROKER_READY } from "../../daemon/shm/control.ts";
import { QuoteBook } from "../../daemon/shm/quote-book.ts";
import { BASE, scaled, type WriterRequest, type WriterResult } from "./limits-writer-fixture.ts";

const C_STOP = 0;
const C_WRITES = 1;

describe("RiskLimitsBlock in one thread", () => {
  test("a block created from the config reads back as the config, in the checks' names and as config keys", () => {
    const cfg = RiskConfig.parse({ max_order_qty: 7, collar_bps: 0, refuse_when_feed_stale: false, daily_loss_limit: 1234.5, day_starts_at: "09:05" });
    const block = RiskLimitsBlock.create(cfg);
    const other = new RiskLimitsBlock(block.sab); // another thread's view of the same memory
    const into = emptyRiskLimits();
    other.read(into);
    expect({ limits: into, config: other.toConfig() }).toEqual({ limits: riskLimitsOf(cfg), config: cfg });
  });

  test("the sequence is even after every write and moves by 2", () => {
    const block = RiskLimitsBlock.create(RiskConfig.parse({}));
    const seqs = [block.seq()];
    block.write(scaled(3));
    seqs.push(block.seq());
    block.write(scaled(3)); // the same values still count as a write
    seqs.push(block.seq());
    expect({ seqs, readAt: block.read(emptyRiskLimits()) }).toEqual({ seqs: [2, 4, 6], readAt: 6 });
  });
});

/** Which set `l` is from (1 or 3), or 0 when its fields come from both (a torn read). */
function setOf(l: RiskLimits): 0 | 1 | 3 {
  const k = l.maxOrderQty / BASE.max_order_qty;
  if (k !== 1 && k !== 3) return 0;
  const whole =
    l.maxOrderNotional === BASE.max_order_notional * k &&
    l.maxPositionQty === BASE.max_position_qty * k &&
    l.maxGrossExposure === BASE.max_gross_exposure * k &&
    l.maxOpenOrders === BASE.max_open_orders * k &&
    l.maxOrdersPerSec === BASE.max_orders_per_sec * k &&
    l.maxOrdersPerMin === BASE.max_orders_per_min * k &&
    l.collarBps === BASE.collar_bps * k &&
    l.maxQuoteAgeMs === BASE.max_quote_age_ms * k &&
    l.dailyLossLimit === BASE.daily_loss_limit * k &&
    l.duplicateWindowMs === BASE.duplicate_window_ms * k &&
    l.refuseWhenFeedStale === (k === 1) &&
    l.dayStartMin === (k === 1 ? 240 : 720);
  return whole ? k : 0;
}

describe("RiskLimitsBlock across threads", () => {
  test("a writer worker switching between two limit sets while main checks 100,000 orders: every check sees one whole set", async () => {
    const block = RiskLimitsBlock.create(scaled(1));
    const control = new ControlBlock();
    control.set(W_BROKER_READY, 1);
    control.set(W_BROKER_BUDGET, 1_000);
    const book = QuoteBook.create(1);
    const engine = new RiskEngine({ symbols: 1, limits: block, control, book });
    const words = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(new URL("./limits-writer-fixture.ts", import.meta.url));
    const done = new Promise<WriterResult>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<WriterResult>) => resolve(e.data);
      worker.onerror = (e) => reject(e.error ?? new Error(e.message));
    });
    worker.postMessage({ limitsSab: block.sab, controlSab: words.buffer as SharedArrayBuffer } satisfies WriterRequest);
    while (Atomics.load(words, C_WRITES) < 1_000) await Bun.sleep(1); // the writer is hammering

    // 150 shares: over max_order_qty in the ×1 set (100), inside every limit of the ×3 set.
    const seen = { 1: 0, 3: 0, torn: 0, wrongVerdict: 0 };
    const writesBefore = Atomics.load(words, C_WRITES);
    for (let n = 0; n < 100_000; n++) {
      const now = performance.now() * 1e6;
      book.writeQuote(0, 99.99, 100.01, 100, 100, now);
      const verdict = RISK_REASON_NAMES[engine.check(0, true, 150, 100.01, 0, 0, now)];
      const k = setOf(engine.limits);
      if (k === 0) seen.torn++;
      else seen[k]++;
      if (verdict !== (k === 1 ? "max_order_qty" : "ok")) seen.wrongVerdict++;
    }
    const writesDuring = Atomics.load(words, C_WRITES) - writesBefore;
    Atomics.store(words, C_STOP, 1);
    const { writes } = await done;
    worker.terminate();
    expect({ torn: seen.torn, wrongVerdict: seen.wrongVerdict, sawBothSets: seen[1] > 0 && seen[3] > 0, writerBusy: writesDuring > 1_000 && writes > writesDuring }).toEqual({
      torn: 0,
      wrongVerdict: 0,
      sawBothSets: true,
      writerBusy: true,
    });
  });
});
