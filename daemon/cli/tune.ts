/**
 * `tradingd tune --plan | --apply-host | --revert [--config FILE]`.
 *
 * - `--plan`: prints what `run` would do on this host, changing nothing.
 * - `--apply-host`: the root-only host part only (the unit's `ExecStartPre=+`): writes the knobs
 *   and saves the originals in `tuning.state_dir`.
 * - `--revert`: writes the saved originals back (the unit's `ExecStopPost=+`, or by hand after a
 *   crash). Nothing saved: nothing to do.
 *
 * Exit: 0 done (single knobs that could not be changed are reported, not fatal); 78 the plan is
 * refused by an interlock or the config is wrong; 1 not root for --apply-host, or a revert that
 * left something not restored.
 */
import type { Config } from "../config/schema.ts";
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from "./exit-codes.ts";
import { applyHostPart, planActions, planTuning, revertHostPart, hostRoots } from "../tuning/tuner.ts";
import { formatReport } from "../tuning/report.ts";

export type TuneMode = "plan" | "apply-host" | "revert";

export function runTune(mode: TuneMode, config: Config, out: (s: string) => void, err: (s: string) => void): number {
  if (mode === "revert") {
    const actions = revertHostPart(hostRoots(config));
    out(actions.length === 0 ? `nothing to revert: no state file in ${config.tuning.state_dir}\n` : formatReport(actions, "host tuning revert"));
    return actions.some((a) => a.status === "failed") ? EXIT_FAILURE : EXIT_OK;
  }
  const plan = planTuning(config);
  if (plan.refusals.length > 0) {
    err(`tradingd: the tuning plan is refused:\n  ${plan.refusals.join("\n  ")}\n`);
    if (mode === "plan") out(formatReport(planActions(plan, config), "tuning plan (refused)"));
    return EXIT_CONFIG;
  }
  if (mode === "plan") {
    out(formatReport(planActions(plan, config), "tuning plan (nothing changed)"));
    return EXIT_OK;
  }
  if (process.getuid?.() !== 0) {
    err("tradingd: tune --apply-host writes sysfs and procfs knobs and needs root (the unit runs it as ExecStartPre=+)\n");
    return EXIT_FAILURE;
  }
  const actions = applyHostPart(plan);
  out(formatReport([...actions, ...plan.advice], "host tuning"));
  return EXIT_OK;
}
