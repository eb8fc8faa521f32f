/**
 * The tuning report: a table a person can read (printed at startup and by `tradingd tune`),
 * and the same actions as Prometheus samples (one gauge per action and result).
 */
import type { ActionStatus, TuneAction } from "./action.ts";
import type { MetricFamily } from "../metrics/prometheus.ts";

const STATUS_ORDER: readonly ActionStatus[] = ["failed", "advice", "applied", "unchanged", "skipped", "planned"];

function cell(s: string | undefined, width: number): string {
  const t = s ?? "";
  return t.length > width ? t.slice(0, width - 1) + "…" : t.padEnd(width);
}

/** One line per action: status, id, target, desired, then why / hint. */
export function formatReport(actions: readonly TuneAction[], title = "host tuning"): string {
  if (actions.length === 0) return `${title}: nothing to do\n`;
  const counts = STATUS_ORDER.map((s) => [s, actions.filter((a) => a.status === s).length] as const).filter(([, n]) => n > 0);
  const idW = Math.min(44, Math.max(...actions.map((a) => a.id.length)));
  const wantW = Math.min(28, Math.max(7, ...actions.map((a) => a.desired.length)));
  let out = `${title}: ${counts.map(([s, n]) => `${n} ${s}`).join(", ")}\n`;
  out += `  ${"STATUS".padEnd(9)} ${"ACTION".padEnd(idW)} ${"WANTED".padEnd(wantW)} ${"WAS".padEnd(14)} DETAIL\n`;
  for (const a of actions) {
    const detail = [a.errno, a.reason, a.hint ? `fix: ${a.hint}` : undefined].filter(Boolean).join("; ");
    out += `  ${a.status.padEnd(9)} ${cell(a.id, idW)} ${cell(a.desired, wantW)} ${cell(a.before, 14)} ${detail}\n`;
  }
  return out;
}

/** `tradingd_tuning_action{action,status} 1` for every action. */
export function tuningMetricFamily(actions: readonly TuneAction[]): MetricFamily {
  return {
    name: "tradingd_tuning_action",
    help: "One series per tuning action, labelled with how it ended (applied, unchanged, skipped, failed, advice).",
    type: "gauge",
    samples: actions.map((a) => ({ labels: { action: a.id, status: a.status }, value: 1 })),
  };
}
