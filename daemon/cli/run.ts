/**
 * `tradingd run`: binds HTTP, starts the pipeline, and stays up until a signal or a failure.
 *
 * HTTP is bound before any worker starts, so a port in use fails fast (exit 1) with nothing
 * started. SIGINT/SIGTERM: stop the feed, drain the rings, stop the workers, exit 0 (within the
 * supervisor's deadline, under two seconds); a second signal exits at once (exit 1). A worker
 * failure stops the rest and exits 1.
 */
import type { Config } from "../config/schema.ts";
import { parseListen } from "../config/schema.ts";
import { Pipeline } from "../supervisor.ts";
import { createApp } from "../http/app.ts";
import { configureLog, logger } from "../log.ts";
import { EXIT_FAILURE, EXIT_OK } from "./exit-codes.ts";
import { VERSION } from "../version.ts";

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

  if (opts.noTune || !config.tuning.enabled) log.info("host tuning skipped", { reason: opts.noTune ? "--no-tune" : "tuning.enabled is false" });
  else log.warn("host tuning is not built into this version yet: nothing on the host was changed (use --no-tune to silence this)");

  const pipeline = new Pipeline(config, { configDir: opts.configDir });
  const app = createApp(pipeline);
  const { host, port } = opts.listen ?? parseListen(config.http.listen);
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

  try {
    await Promise.race([pipeline.start(), done.promise]);
  } catch (e) {
    log.error(`startup failed: ${(e as Error).message}`);
    done.resolve(EXIT_FAILURE);
  }
  const code = await done.promise;
  await pipeline.stop();
  server.stop(true);
  const failure = pipeline.failure;
  if (failure) log.error(`exiting with status 1: ${failure.message}`);
  else log.info("stopped", { status: code });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return failure ? EXIT_FAILURE : code;
}
