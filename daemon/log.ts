/**
 * The daemon's log: one line per event on stderr, as text (`2026-11-27T09:31:54.123Z info
 * supervisor: message key=value`) or JSON (`log.format: json`, one object per line, for
 * journald and log shippers). Not for the hot path: workers log only on rare events.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let minRank = RANK.info;
let json = false;

export function configureLog(level: LogLevel, format: "text" | "json"): void {
  minRank = RANK[level];
  json = format === "json";
}

export type LogFields = Record<string, string | number | boolean | null | undefined>;

function write(level: LogLevel, component: string, message: string, fields?: LogFields): void {
  if (RANK[level] < minRank) return;
  const time = new Date().toISOString();
  let line: string;
  if (json) {
    line = JSON.stringify({ time, level, component, message, ...fields });
  } else {
    line = `${time} ${level} ${component}: ${message}`;
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : v}`;
  }
  process.stderr.write(line + "\n");
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function logger(component: string): Logger {
  return {
    debug: (m, f) => write("debug", component, m, f),
    info: (m, f) => write("info", component, m, f),
    warn: (m, f) => write("warn", component, m, f),
    error: (m, f) => write("error", component, m, f),
  };
}
