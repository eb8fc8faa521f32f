/**
 * Worker fixture for test/risk/limits-block.test.ts: the limits block's single writer (main's
 * role in the daemon), switching between two self-consistent sets as fast as it can until told
 * to stop.
 *
 * Write k = 1, 2, …: every numeric limit is `BASE × (odd k ? 1 : 3)`, and refuse_when_feed_stale
 * is true exactly in the ×1 set, day_starts_at 04:00 in the ×1 set and 12:00 in the other. A
 * reader that ever holds fields of both sets read a torn change.
 *
 * Control words (Int32 over `controlSab`): [0] STOP, set by main to end the run; [1] WRITES, the
 * writer's last k (published with Atomics.store so main can wait for progress).
 */
import type { RiskConfig } from "../../daemon/config/schema.ts";
import { RiskLimitsBlock } from "../../daemon/risk/limits-block.ts";

declare const self: Worker;

const C_STOP = 0;
const C_WRITES = 1;

/** The ×1 set; the other set is every number × 3 and refuse_when_feed_stale false. */
export const BASE = {
  max_order_qty: 100,
  max_order_notional: 10_000,
  max_position_qty: 1_000,
  max_gross_exposure: 100_000,
  max_open_orders: 10,
  max_orders_per_sec: 20,
  max_orders_per_min: 120,
  collar_bps: 100,
  max_quote_age_ms: 1_000,
  daily_loss_limit: 5_000,
  duplicate_window_ms: 100,
  refuse_when_feed_stale: true,
  day_starts_at: "04:00",
} as const satisfies RiskConfig;

export function scaled(k: 1 | 3): RiskConfig {
  const out: Record<string, number | boolean | string> = {};
  for (const [key, v] of Object.entries(BASE)) out[key] = typeof v === "number" ? v * k : typeof v === "boolean" ? k === 1 : k === 1 ? "04:00" : "12:00";
  return out as unknown as RiskConfig;
}

export type WriterRequest = { limitsSab: SharedArrayBuffer; controlSab: SharedArrayBuffer };
export type WriterResult = { writes: number };

if (!Bun.isMainThread) {
  self.onmessage = (e: MessageEvent<WriterRequest>) => {
    const block = new RiskLimitsBlock(e.data.limitsSab);
    const control = new Int32Array(e.data.controlSab);
    const sets = [scaled(1), scaled(3)] as const;
    let k = 0;
    while (Atomics.load(control, C_STOP) === 0) {
      k++;
      block.write(sets[k & 1 ? 0 : 1]);
      if ((k & 63) === 0) Atomics.store(control, C_WRITES, k); // progress for main to wait on
    }
    Atomics.store(control, C_WRITES, k);
    self.postMessage({ writes: k } satisfies WriterResult);
  };
}
