/**
 * The command line: `tradingd run | check-config | tune | ctl | bench | fake-exchange | version | help`, parsed with
 * `node:util` `parseArgs` (strict: unknown options are usage errors, exit 2).
 */
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import { stringify } from "yaml";
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./exit-codes.ts";
import { USAGE } from "./help.ts";
import { VERSION } from "../version.ts";
import { ConfigError, defaultConfig, loadConfigFile, redactConfig } from "../config/load.ts";
import { parseListen, type Config } from "../config/schema.ts";
import { loadStrategy, StrategyLoadError } from "../strategy/load.ts";
import { runDaemon } from "./run.ts";
import { runTune, type TuneMode } from "./tune.ts";
import { ctl } from "./ctl.ts";
import { bench } from "./bench.ts";
import { fakeExchange } from "./fake-exchange.ts";
import { readRecording, RecordingFormatError } from "../feeds/replay/format.ts";

function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}
function err(text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : text + "\n");
}

/** Loads and validates the config and the strategy it names. Throws ConfigError. */
export async function loadEffectiveConfig(file: string | undefined): Promise<{ config: Config; configDir: string }> {
  const config = file === undefined ? defaultConfig() : loadConfigFile(file);
  const configDir = file === undefined ? process.cwd() : dirname(resolve(file));
  if (config.feed.kind === "replay") {
    const recording = resolve(configDir, config.feed.replay.file);
    try {
      readRecording(recording);
    } catch (e) {
      const why = e instanceof RecordingFormatError ? e.message : `cannot read ${recording}: ${(e as Error).message}`;
      throw new ConfigError(file ?? "(embedded default)", [`feed.replay.file: ${why}`]);
    }
  }
  try {
    await loadStrategy(config.strategy.name, config.strategy.module, config.strategy.params, configDir);
  } catch (e) {
    if (e instanceof StrategyLoadError) throw new ConfigError(file ?? "(embedded default)", e.message.split("\n"));
    throw e;
  }
  return { config, configDir };
}

async function checkConfig(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  if (values.help) return out(USAGE["check-config"]!), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError("check-config takes exactly one FILE", "check-config");
  const { config } = await loadEffectiveConfig(positionals[0]);
  out(`${positionals[0]}: ok`);
  out(stringify(redactConfig(config)));
  return EXIT_OK;
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: "string", short: "c" },
      "no-tune": { type: "boolean" },
      listen: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return out(USAGE.run!), EXIT_OK;
  if (positionals.length > 0) throw new UsageError(`run takes no arguments, got "${positionals[0]}"`, "run");
  let listen: { host: string; port: number } | undefined;
  if (values.listen !== undefined) {
    try {
      listen = parseListen(values.listen);
    } catch {
      throw new UsageError(`--listen: expected HOST:PORT (e.g. 127.0.0.1:8080), was "${values.listen}"`, "run");
    }
  }
  const { config, configDir } = await loadEffectiveConfig(values.config);
  return runDaemon({ config, configDir, noTune: values["no-tune"] === true, listen, configSource: values.config ?? "(embedded default)" });
}

async function tune(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: "string", short: "c" },
      plan: { type: "boolean" },
      "apply-host": { type: "boolean" },
      revert: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return out(USAGE.tune!), EXIT_OK;
  if (positionals.length > 0) throw new UsageError(`tune takes no arguments, got "${positionals[0]}"`, "tune");
  const modes = (["plan", "apply-host", "revert"] as const).filter((m) => values[m] === true);
  if (modes.length !== 1) throw new UsageError("tune needs exactly one of --plan, --apply-host, --revert", "tune");
  const { config } = await loadEffectiveConfig(values.config);
  return runTune(modes[0] as TuneMode, config, out, err);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "-h":
      case "--help":
        out(USAGE[""]!);
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      case "help": {
        const topic = rest[0] ?? "";
        if (!(topic in USAGE)) throw new UsageError(`no command "${topic}"`);
        out(USAGE[topic]!);
        return EXIT_OK;
      }
      case "version":
      case "--version":
        out(`tradingd ${VERSION} (bun ${Bun.version}, ${process.platform}-${process.arch})`);
        return EXIT_OK;
      case "run":
        return await run(rest);
      case "check-config":
        return await checkConfig(rest);
      case "tune":
        return await tune(rest);
      case "ctl":
        return await ctl(rest, { out, err }, USAGE.ctl!);
      case "bench":
        return await bench(rest, { out, err, tty: process.stderr.isTTY === true }, USAGE.bench!);
      case "fake-exchange":
        return await fakeExchange(rest, out, USAGE["fake-exchange"]!);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith?.("ERR_PARSE_ARGS")) {
      const cmd = e instanceof UsageError ? e.command : command ?? "";
      err(`tradingd: ${(e as Error).message}\n\n${USAGE[cmd] ?? USAGE[""]}`);
      return EXIT_USAGE;
    }
    if (e instanceof ConfigError) {
      err(e.message);
      return EXIT_CONFIG;
    }
    err(`tradingd: ${(e as Error).stack ?? String(e)}`);
    return EXIT_FAILURE;
  }
}
