/**
 * Which thread layout runs (`threads.layout`):
 *
 * - `split`: the feed, strategy and execution stages on three workers. Each hot stage can have a
 *   CPU of its own (pinned when tuned), so a busy feed never delays the strategy; it needs the
 *   cores for it, and every tick crosses two thread hops on its way to an order.
 * - `single`: the three stages on one worker (`workers/single.ts`): no hop between socket and
 *   order request, one hot thread to place. The lower latency on a small host (BENCHMARKS.md,
 *   "Comparison"); its throughput is one core's.
 * - `auto` (the default): `split` when this process may run on at least 4 CPUs (one per hot stage
 *   plus one for main, the OS and interrupts), `single` otherwise.
 */
import type { Config } from "../config/schema.ts";

export type ThreadLayout = "split" | "single";

/** CPUs `auto` needs for `split`: the three hot stages plus housekeeping. */
export const SPLIT_MIN_CPUS = 4;

export function resolveLayout(config: Config, allowedCpus: readonly number[]): { layout: ThreadLayout; reason: string } {
  const want = config.threads.layout;
  if (want !== "auto") return { layout: want, reason: `threads.layout: ${want}` };
  return allowedCpus.length >= SPLIT_MIN_CPUS
    ? { layout: "split", reason: `auto: ${allowedCpus.length} CPUs allowed (>= ${SPLIT_MIN_CPUS}: a CPU per hot stage and one for housekeeping)` }
    : { layout: "single", reason: `auto: ${allowedCpus.length} CPU${allowedCpus.length === 1 ? "" : "s"} allowed (< ${SPLIT_MIN_CPUS}: too few for a CPU per hot stage)` };
}
