/**
 * One tuning action and how it ended: the unit of the tuner's plan and of its report.
 *
 * Every action is planned, then ends as exactly one of:
 * - `applied`: changed, and the original value saved for the revert;
 * - `unchanged`: already as wanted, nothing written;
 * - `skipped`: not done, with `reason` (no privilege, not present on this host, `keep` in config,
 *   `--no-tune`, …);
 * - `failed`: tried and the kernel refused, with `errno` (name) and a `hint` saying what to do;
 * - `advice`: cannot be changed at run time; `hint` gives the exact fix (kernel command line,
 *   ethtool, systemctl), `reason` says what was seen.
 */
export type ActionStatus = "planned" | "applied" | "unchanged" | "skipped" | "failed" | "advice";

/** Which part does it: root-only host knobs, the whole process, one thread. */
export type ActionScope = "host" | "process" | "thread";

export interface TuneAction {
  /** Stable id, used as a metric label: `host.cpufreq_governor.cpu2`, `thread.feed.affinity`. */
  id: string;
  scope: ActionScope;
  /** What is changed, e.g. a file path or `tid 1234`. */
  target: string;
  /** The value wanted, as text. */
  desired: string;
  /** The value found before (when read). */
  before?: string;
  status: ActionStatus;
  reason?: string;
  /** errno name for failures (`EPERM`). */
  errno?: string;
  hint?: string;
}

/** A value to write back on exit (or by `tradingd tune --revert` after a crash). */
export interface SavedValue {
  /** Absolute path of the file written. */
  path: string;
  /** Its content before tradingd wrote it. */
  original: string;
  /** The action that wrote it. */
  id: string;
}
