/**
 * `tradingd ctl COMMAND`: a command-line client of the daemon's HTTP API. It finds the daemon
 * and its token as the daemon does: the address from `http.listen` of `--config` (or the
 * embedded default, 127.0.0.1:8080; `--url` overrides), the token from `TRADINGD_API_TOKEN` or
 * the systemd credential `api_token`.
 *
 * | command | request |
 * |---|---|
 * | `status` | `GET /status` |
 * | `pause`, `resume`, `reduce`, `halt`, `flatten` | `POST /control/<command>` (`--reason` goes in the body) |
 * | `risk` | `GET /risk` |
 * | `risk KEY=VALUE ...` | `PUT /risk` with those keys (VALUE as JSON, else a string; `a.b=1` nests) |
 *
 * Exit codes: 0 done, 1 the daemon answered an error or could not be reached, 2 usage, 78 config.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import YAML from "yaml";
import { ConfigError, defaultConfig, parseConfigText } from "../config/load.ts";
import { parseListen } from "../config/schema.ts";
import { readApiToken } from "../http/token.ts";
import type { ApiIssue } from "../http/api-error.ts";
import type { StatusDocument } from "../http/status.ts";
import { VERSION } from "../version.ts";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./exit-codes.ts";

const ACTIONS = ["pause", "resume", "reduce", "halt", "flatten"] as const;
const COMMANDS = ["status", "risk", ...ACTIONS] as const;
type Command = (typeof COMMANDS)[number];
/** Long enough for a halt (the daemon waits up to 2 s for the execution worker). */
const TIMEOUT_MS = 10_000;

export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
}

/** `http.listen` of a config file, read without the rest of it (its `${VAR}`s need not be set here). */
function listenOf(file: string | undefined): string {
  if (file === undefined) return defaultConfig().http.listen;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) return parseConfigText(text, file).http.listen; // reports the syntax errors
  const tree = doc.toJS() as { http?: unknown } | null;
  return parseConfigText(YAML.stringify({ http: tree?.http ?? {} }), file).http.listen;
}

/** The URL the daemon listening on `listen` answers on (a wildcard address is reached on loopback). */
export function urlOfListen(listen: string): string {
  const { host, port } = parseListen(listen);
  const h = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${h.includes(":") ? `[${h}]` : h}:${port}`;
}

/** `a.b=1` → `{ a: { b: 1 } }`; a VALUE that is not JSON is a string. */
function riskBody(assignments: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const a of assignments) {
    const eq = a.indexOf("=");
    if (eq <= 0) throw new UsageError(`risk: expected KEY=VALUE, was "${a}"`, "ctl");
    const keys = a.slice(0, eq).split(".");
    const raw = a.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let at = body;
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[keys.at(-1)!] = value;
  }
  return body;
}

function statusText(s: StatusDocument): string {
  const positions = s.positions.map((x) => `${x.symbol} ${x.qty}`).join(", ") || "none";
  return [
    `trading ${s.trading_state}, ${s.ready ? "ready" : "not ready"}; mode ${s.mode}, feed ${s.feed.kind}, broker ${s.broker}, strategy ${s.strategy.name}; up ${s.uptime_seconds} s`,
    `orders ${s.counts.orders_submitted} submitted, ${s.counts.open_orders} open, ${s.counts.fills} fills, ${s.counts.risk_rejects} refused by risk`,
    `positions: ${positions}`,
    `risk day since ${s.risk_day.started_at ?? "(not started)"} (starts ${s.risk_day.starts_at}): P&L ${s.risk_day.day_pnl} USD, loss limit ${s.risk_day.daily_loss_limit || "off"}`,
  ].join("\n");
}

function limitsText(limits: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(limits).flatMap(([k, v]) =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? limitsText(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}: ${JSON.stringify(v)}`],
  );
}

export async function ctl(args: string[], io: CtlIo, usage: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: "string", short: "c" },
      url: { type: "string" },
      reason: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return io.out(usage), EXIT_OK;
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError("ctl needs a COMMAND", "ctl");
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`ctl: unknown command "${command}"`, "ctl");
  const cmd = command as Command;
  if (cmd !== "risk" && rest.length > 0) throw new UsageError(`ctl ${cmd} takes no arguments, got "${rest[0]}"`, "ctl");
  if (values.reason !== undefined && !(ACTIONS as readonly string[]).includes(cmd)) throw new UsageError(`--reason goes with ${ACTIONS.join(", ")}`, "ctl");
  if (values.url !== undefined && values.config !== undefined) throw new UsageError("give --url or --config, not both", "ctl");
  if (values.url !== undefined && !/^https?:\/\/[^/]+\/?$/.test(values.url)) throw new UsageError(`--url: expected http://HOST:PORT, was "${values.url}"`, "ctl");

  const base = (values.url ?? urlOfListen(listenOf(values.config))).replace(/\/$/, "");
  const token = readApiToken();
  const [method, path, body] =
    cmd === "status" ? ["GET", "/status", undefined]
    : cmd === "risk" ? (rest.length === 0 ? ["GET", "/risk", undefined] : ["PUT", "/risk", riskBody(rest)])
    : ["POST", `/control/${cmd}`, values.reason === undefined ? {} : { reason: values.reason }];

  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: {
        "User-Agent": `tradingd-ctl/${VERSION}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(token === null ? {} : { Authorization: `Bearer ${token.value}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      (e as Error).name === "TimeoutError" ? `no answer within ${TIMEOUT_MS / 1000} s`
      : code === "ECONNREFUSED" || code === "ConnectionRefused" ? "connection refused (is it running, and on that address?)"
      : (code ?? (e as Error).message);
    io.err(`tradingd ctl: cannot reach tradingd at ${base}: ${why}`);
    return EXIT_FAILURE;
  }
  const text = await res.text();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (!res.ok) {
    const e = (doc ?? {}) as { error?: string; errors?: ApiIssue[] };
    const lines = [`tradingd ctl: ${method} ${path}: ${res.status} ${e.error ?? text.trim()}`, ...(e.errors ?? []).map((i) => `  ${i.path}: ${i.message}`)];
    io.err(lines.join("\n"));
    return EXIT_FAILURE;
  }
  if (values.json || doc === undefined) return io.out(doc === undefined ? text : JSON.stringify(doc, null, 2)), EXIT_OK;
  if (cmd === "status") io.out(statusText(doc as StatusDocument));
  else if (cmd === "risk") io.out(limitsText(doc as Record<string, unknown>).join("\n"));
  else {
    const r = doc as { state: string; acknowledged?: boolean };
    io.out(r.acknowledged === undefined ? `trading ${r.state}` : `trading ${r.state}; the execution worker acknowledged (${cmd === "halt" ? "every open order cancelled" : "every order cancelled, every position closing"}): no order leaves now`);
  }
  return EXIT_OK;
}
