/**
 * `tradingd run`: binds HTTP, starts the pipeline, and stays up until a signal or a failure.
 *
 * HTTP is bound before any worker starts, so a port in use fails fast (exit 1) with nothing
 * started. SIGINT/SIGTERM: stop the feed, drain the rings, stop the workers, exit 0 (within the
 * supervisor's deadline, under two seconds); a second signal exits at once (exit 1). A worker
 * failure stops the rest and exits 1.
 *
 * The API token is read once, here (`readApiToken`); listening beyond loopback without one is a
 * configuration error (exit 78): the control API is never open by default.
 */
import type { Config } from "../config/schema.ts";
import { parseListen } from "../config/schema.ts";
import { Pipeline } from "../supervisor.ts";
import { createApp } from "../http/app.ts";
import { isLoopbackHost, readApiToken, TOKEN_CREDENTIAL, TOKEN_ENV } from "../http/token.ts";
import { ConfigError } from "../config/load.ts";
import { configureLog, logger } from "../log.ts";
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from "./exit-codes.ts";
import { applyHostPart, applyProcessPart, hostPartApplied, planTuning, revertHostPart, type ProcessTuning, type TuningPlan } from "../tuning/tuner.ts";
import { formatReport } from "../tuning/report.ts";
import type { TuneAction } from "../tuning/action.ts";
import { restoreRuntimeThreads, runtimeThreadsPart, type MovedThread } from "../tuning/runtime-threads.ts";
import { VERSION } from "../version.ts";
import { startSystemdIntegration } from "../systemd/watchdog.ts";
import type { SystemdIntegration } from "../systemd/watchdog.ts";

const log = logger("tradingd");

export interface RunOptions {
  config: Config;
  configDir: string;
  configSource: string;
  noTune: boolean;
  listen?: { host: string; port: number };
}

export async function runDaemon(opts: RunOptions): Promise<number> {
  const { config } = opts;
  configureLog(config.log.level, config.log.format);
  log.info(`tradingd ${VERSION} starting`, { config: opts.configSource, mode: config.mode, pid: process.pid, bun: Bun.version });

  const token = readApiToken();
  const { host, port } = opts.listen ?? parseListen(config.http.listen);
  if (token === null && !isLoopbackHost(host)) {
    const where = opts.listen ? "--listen" : "http.listen";
    throw new ConfigError(opts.configSource, [
      `${where}: ${host} is not a loopback address and no API token is configured: set ${TOKEN_ENV} or the systemd credential ${TOKEN_CREDENTIAL}, or listen on 127.0.0.1`,
    ]);
  }
  log.info(token ? `control API: bearer token from ${token.source}` : "control API: no token configured, the control routes refuse (403)");
  if (!token && config.http.metrics_require_token) log.warn("http.metrics_require_token is true but no API token is configured: /metrics refuses every scrape");

  // Plan first (reads only): a plan the interlocks refuse stops here, before anything changed.
  const tune = !opts.noTune && config.tuning.enabled;
  let plan: TuningPlan | null = null;
  if (!tune) log.info("host tuning skipped", { reason: opts.noTune ? "--no-tune" : "tuning.enabled is false" });
  else {
    plan = planTuning(config);
    if (plan.refusals.length > 0) {
      log.error(`the tuning plan is refused, nothing was changed:\n  ${plan.refusals.join("\n  ")}`);
      return EXIT_CONFIG;
    }
  }

  const pipeline = new Pipeline(config, { configDir: opts.configDir, threadPlan: plan?.threads ?? null, numaNode: plan?.numaNode ?? null });
  const app = createApp(pipeline, { token: token?.value ?? null });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname: host, port, fetch: app.fetch, development: false });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "EADDRINUSE" ? "the address is already in use (another tradingd, or set http.listen / --listen)" : (e as Error).message;
    log.error(`cannot listen on ${host}:${port}: ${why}`);
    return EXIT_FAILURE;
  }
  log.info(`http listening on ${server.url.href.replace(/\/$/, "")}`);

  let tuning: AppliedTuning | null = null;
  if (plan) {
    tuning = applyTuning(plan, config);
    pipeline.tuning.push(...tuning.actions);
  }

  const done = Promise.withResolvers<number>();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn(`${sig} again: exiting at once`);
      process.exit(EXIT_FAILURE);
    }
    log.info(`${sig} received: stopping (feed first, then draining the rings)`);
    done.resolve(EXIT_OK);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  pipeline.failed.then((e) => done.resolve(EXIT_FAILURE), () => {});

  let systemd: SystemdIntegration | null = null;
  try {
    await Promise.race([pipeline.start(), done.promise]);
    if (pipeline.isReady()) systemd = startSystemdIntegration(pipeline, log);
    if (tuning) {
      pipeline.tuning.push(...pipeline.threadTuning);
      // The workers are placed: the runtime's own threads leave their CPUs (runtime-threads.ts).
      if (pipeline.isReady()) {
        const rt = runtimeThreadsPart(tuning.plan.threads, pipeline.threads.map((t) => t.tid));
        tuning.runtimeThreads = rt.moved;
        pipeline.tuning.push(rt.action);
      }
      process.stderr.write(formatReport(pipeline.tuning));
      const failed = pipeline.tuning.filter((a) => a.status === "failed").length;
      log.info("host tuning done", { actions: pipeline.tuning.length, failed });
    }
  } catch (e) {
    log.error(`startup failed: ${(e as Error).message}`);
    done.resolve(EXIT_FAILURE);
  }
  const code = await done.promise;
  systemd?.stop();
  await pipeline.stop();
  server.stop(true);
  if (tuning) revertTuning(tuning);
  const failure = pipeline.failure;
  if (failure) log.error(`exiting with status 1: ${failure.message}`);
  else log.info("stopped", { status: code });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return failure ? EXIT_FAILURE : code;
}

interface AppliedTuning {
  plan: TuningPlan;
  actions: TuneAction[];
  process: ProcessTuning;
  /** This process wrote the host knobs, so it puts them back on exit. */
  revertHost: boolean;
  /** The runtime's threads moved to the housekeeping CPUs, put back on exit. */
  runtimeThreads: MovedThread[];
}

/**
 * The host part (when root; otherwise it is the unit's `ExecStartPre=+ tradingd tune
 * --apply-host`), then the process part. Threads tune themselves as they start.
 */
function applyTuning(plan: TuningPlan, config: Config): AppliedTuning {
  const actions: TuneAction[] = [];
  let revertHost = false;
  if (hostPartApplied(plan.roots)) {
    actions.push({ id: "host", scope: "host", target: plan.stateFile, desired: "host knobs", status: "unchanged", reason: "already applied by `tradingd tune --apply-host` (the state file exists); reverted by `tradingd tune --revert`" });
  } else if (process.getuid?.() === 0) {
    actions.push(...applyHostPart(plan));
    revertHost = true;
  } else {
    for (const w of plan.host) {
      actions.push(
        w.action.status === "planned"
          ? { ...w.action, status: "skipped", reason: "needs root", hint: "run `tradingd tune --apply-host` as root first (the unit's ExecStartPre=+ does)" }
          : w.action,
      );
    }
  }
  const proc = applyProcessPart(plan, config);
  actions.push(...proc.actions, ...plan.advice);
  return { plan, actions, process: proc, revertHost, runtimeThreads: [] };
}

function revertTuning(t: AppliedTuning): void {
  restoreRuntimeThreads(t.runtimeThreads);
  t.process.release();
  if (!t.revertHost) return;
  const actions = revertHostPart(t.plan.roots);
  const failed = actions.filter((a) => a.status === "failed");
  if (failed.length > 0) process.stderr.write(formatReport(actions, "host tuning revert"));
  log.info("host tuning reverted", { restored: actions.filter((a) => a.status === "applied").length, failed: failed.length });
}

