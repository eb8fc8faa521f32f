/**
 * Helpers shared by the benches (`pipeline.bench.ts`, `tuning.bench.ts`): per-thread CPU time and
 * preemptions from procfs, medians, histogram deltas between two snapshots, formatting, and the
 * config the latency runs use.
 */
import { readFileSync } from "node:fs";
import { parseConfigText } from "../daemon/config/load.ts";
import type { Pipeline } from "../daemon/supervisor.ts";
export { CLK_TCK, cpuSeconds, delta, threadCpu, type HistogramDelta } from "../daemon/bench/measure.ts";

export const QUICK = process.env.BENCH_QUICK === "1";

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[s.length >> 1]!;
};
export const sleep = (ms: number) => Bun.sleep(ms);

/** Polls `cond` every 2 ms; false if it did not hold within `ms`. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(2);
  }
  return true;
}
export const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
export const us = (ns: number) => (Number.isFinite(ns) ? +(ns / 1e3).toFixed(2) : NaN);
export const fmtUs = (ns: number) => (Number.isFinite(ns) ? `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs` : "–");
export const fmtRate = (x: number) => `${(x / 1e6).toFixed(3)} M/s`;
export const ratio = (x: number, y: number) => +(x / y).toFixed(2);

/** Involuntary context switches of one thread (preempted while runnable), from its status file. */
export function preemptions(tid: number): number {
  const m = /^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(readFileSync(`/proc/self/task/${tid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

export function threadPreemptions(p: Pipeline): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of p.threads) if (t.name !== "main") out[t.name] = preemptions(t.tid);
  return out;
}

export const SYMBOLS4 = "[AAPL, MSFT, SPY, QQQ]";
export const SYMBOLS8 = "[AAPL, MSFT, SPY, QQQ, NVDA, AMZN, META, TSLA]";

export function config(yaml: string, source = "pipeline.bench") {
  return parseConfigText(yaml, source);
}

export type WaitMode = "spin" | "hybrid" | "block";

/**
 * The config of the tick-to-order latency runs: 8 symbols at `rate` events/s; `threshold` trades
 * AAPL on every quote of it (buy while under max_position, else sell), ~1,000 orders/s at 10,000
 * events/s; the other seven symbols are market-data load. `tuningYaml` is the `tuning:` value.
 * Thread layout `split` by default (the waits are the strategy's and the execution thread's; in
 * `single` the one thread waits as the strategy's says).
 */
export function orderOftenYaml(rate: number, waits: { strategy: WaitMode; execution: WaitMode }, tuningYaml = "{ enabled: false }", layout: "split" | "single" = "split"): string {
  return `
symbols: ${SYMBOLS8}
feed:
  synthetic: { seed: 7, rate_events_per_sec: ${rate}, batch_max: 128 }
strategy:
  name: threshold
  params: { buy_at_or_below: { AAPL: 1000000000 }, sell_at_or_above: { AAPL: 0.01 }, qty: 10, max_position: 100 }
broker:
  sim: { latency_us: 50 }
risk: { max_orders_per_sec: 100000, max_orders_per_min: 1000000, max_open_orders: 100, max_position_qty: 5000, duplicate_window_ms: 0, daily_loss_limit: 0 }
threads:
  layout: ${layout}
  strategy: { wait: ${waits.strategy} }
  execution: { wait: ${waits.execution} }
tuning: ${tuningYaml}
`;
}

/** A Worker fixture spoken to with request/answer messages (`{ type, … }`), answers in order. */
export interface Peer {
  worker: Worker;
  next(): Promise<any>;
  call(msg: unknown, expect: string): Promise<any>;
}

/** Starts the worker at `url`; a worker error ends the bench (exit 1) naming `bench`. */
export function peer(url: URL, bench: string): Peer {
  const worker = new Worker(url.href);
  const queue: any[] = [];
  let waiting: ((m: any) => void) | null = null;
  worker.onmessage = (e: MessageEvent) => {
    if (waiting) {
      const w = waiting;
      waiting = null;
      w(e.data);
    } else queue.push(e.data);
  };
  worker.onerror = (e) => {
    console.error(`${bench}: worker ${url.pathname} error: ${(e as ErrorEvent).message}`);
    process.exit(1);
  };
  const next = (): Promise<any> => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => (waiting = resolve)));
  return {
    worker,
    next,
    async call(msg: unknown, expect: string) {
      worker.postMessage(msg);
      const m = await next();
      if (m.type !== expect) throw new Error(`worker ${url.pathname}: expected ${expect}, got ${m.type}: ${m.message ?? ""}`);
      return m;
    },
  };
}
