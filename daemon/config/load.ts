/**
 * Loading the config: read the file, parse YAML, substitute `${ENV_VAR}` references, validate with
 * the `Config` schema, deep-freeze.
 *
 * Every failure is a `ConfigError` (exit code 78, EX_CONFIG) whose message names the source and
 * lists one `<dotted.path>: <message>` line per problem. Secrets never reach the message: values
 * under secret keys (`api_key`, `*_token`, ...) and values that came from the environment are
 * described by type only.
 *
 * @example
 * ```ts
 * try {
 *   const cfg = loadConfigFile("/etc/tradingd/tradingd.yaml");
 *   console.log(Bun.YAML.stringify(redactConfig(cfg)));
 * } catch (err) {
 *   if (!(err instanceof ConfigError)) throw err;
 *   console.error(err.message);
 *   process.exit(err.exitCode);
 * }
 * ```
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { Config, isSecretKey, RULE_ISSUE } from "./schema.ts";

type Env = Record<string, string | undefined>;
type Path = readonly PropertyKey[];

/** The config could not be read, parsed or validated. `lines` holds one problem per line. */
export class ConfigError extends Error {
  /** EX_CONFIG from sysexits.h. */
  readonly exitCode = 78;
  readonly source: string;
  readonly lines: string[];

  /** With `header`, the message is `header:` then the lines indented; without, the lines alone. */
  constructor(source: string, lines: string[], header?: string) {
    super(header === undefined ? lines.join("\n") : `${header}:\n${lines.map((l) => `  ${l}`).join("\n")}`);
    this.name = "ConfigError";
    this.source = source;
    this.lines = lines;
  }
}

const errorIn = (source: string, lines: string[]) => new ConfigError(source, lines, `config error in ${source}`);

// ---------------------------------------------------------------------------------------------
// Public API.

let cachedDefault: Config | undefined;

/** The embedded default, what an empty document gives. Frozen; the same object on every call. */
export function defaultConfig(): Config {
  cachedDefault ??= deepFreeze(Config.parse({}));
  return cachedDefault;
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a component of the path is not a directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "file name too long",
};

/**
 * Read, parse and validate a config file.
 * @param env where `${NAME}` references are looked up; `process.env` by default.
 * @throws ConfigError
 */
export function loadConfigFile(path: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === undefined ? String(err) : `${READ_ERRORS[code] ?? (err as Error).message} (${code})`;
    throw new ConfigError(path, [`cannot read config file ${path}: ${reason}`]);
  }
  return parseConfigText(text, path, env);
}

/**
 * Parse and validate config text. An empty document gives the default config.
 * @param source names the text in error messages (a file path, "<stdin>", ...).
 * @throws ConfigError
 */
export function parseConfigText(text: string, source: string, env: Env = process.env): Config {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) throw errorIn(source, doc.errors.map(formatYamlError));

  const tree: unknown = doc.toJS() ?? {}; // an empty or comment-only document is null
  if (!isMapping(tree)) {
    // Describe a top-level scalar by type only: a secret file passed as --config must not be echoed.
    throw errorIn(source, [`(top level): expected a mapping of config sections, was ${typeOf(tree)}`]);
  }

  const substituted = substituteEnv(tree, env);
  if (substituted.errors.length > 0) throw errorIn(source, substituted.errors);

  const result = Config.safeParse(substituted.value, { reportInput: true, error: fallbackMessage });
  if (!result.success) {
    throw errorIn(source, result.error.issues.flatMap((issue) => formatIssue(issue, substituted.fromEnv)));
  }
  return deepFreeze(result.data);
}

/**
 * A copy of `cfg` with every non-empty secret (`api_key`, `key_id`, `secret_key`, `*_token`, ...,
 * at any depth, strategy params included) replaced by "***", for printing the effective config.
 * Empty secrets stay "" so that "not set" remains visible.
 */
export function redactConfig(cfg: unknown): unknown {
  return mapTree(cfg, [], (value, path) => {
    const key = path.at(-1);
    if (key === undefined || !isSecretKey(key)) return value;
    return value === "" ? "" : "***";
  });
}

// ---------------------------------------------------------------------------------------------
// Environment substitution.

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Substituted {
  value: unknown;
  errors: string[];
  /** Dotted path → the variables its value came from. Such values are never printed. */
  fromEnv: Map<string, string[]>;
}

/**
 * A systemd credential (`LoadCredential=name:…` in the unit): the file `name` (the variable's
 * name in lower case) in `$CREDENTIALS_DIRECTORY`, without its trailing newline.
 */
function readCredential(env: Env, name: string): string | undefined {
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) return undefined;
  try {
    return readFileSync(join(dir, name.toLowerCase()), "utf8").replace(/\r?\n$/, "");
  } catch {
    return undefined;
  }
}

/**
 * Replace `${NAME}` in every string value of the tree with `env[NAME]`, or else with the systemd
 * credential of that name in lower case; `$${` is a literal `${`.
 * Values stay strings (`"${QTY}"` is not re-read as a number).
 */
function substituteEnv(tree: unknown, env: Env): Substituted {
  const errors: string[] = [];
  const fromEnv = new Map<string, string[]>();
  const value = mapTree(tree, [], (v, path) => {
    const where = dotted(path);
    if (v instanceof Uint8Array) errors.push(`${where}: binary values (!!binary) are not supported`);
    if (typeof v !== "string" || !v.includes("${")) return v;
    let out = "";
    const names: string[] = [];
    for (let i = 0; i < v.length; ) {
      if (v.startsWith("$${", i)) {
        out += "${";
        i += 3;
      } else if (v.startsWith("${", i)) {
        const end = v.indexOf("}", i + 2);
        const name = end < 0 ? "" : v.slice(i + 2, end);
        if (!ENV_NAME_RE.test(name)) {
          errors.push(`${where}: malformed environment reference, expected \${NAME} (write $\${ for a literal \${)`);
          return v;
        }
        const found = env[name] ?? readCredential(env, name);
        if (found === undefined) {
          errors.push(
            `${where}: environment variable ${name} is not set` +
              (env.CREDENTIALS_DIRECTORY ? ` and there is no credential ${name.toLowerCase()} in $CREDENTIALS_DIRECTORY` : ""),
          );
        } else out += found;
        names.push(name);
        i = end + 1;
      } else {
        out += v[i++];
      }
    }
    if (names.length > 0) fromEnv.set(where, names);
    return out;
  });
  return { value, errors, fromEnv };
}

// ---------------------------------------------------------------------------------------------
// Error formatting.

function formatYamlError(err: YAML.YAMLError): string {
  // The yaml package appends " at line L, column C:" and a source excerpt; keep the first sentence.
  const message = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  const pos = err.linePos?.[0];
  return pos === undefined ? `YAML syntax error: ${message}` : `line ${pos.line}, column ${pos.col}: ${message}`;
}

/** Messages for issues whose schema has no message of its own (objects, mostly). */
const fallbackMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${EXPECTED_TYPE[issue.expected] ?? issue.expected}`;
    case "invalid_value":
      return `expected one of ${issue.values.map(String).join(", ")}`;
    case "too_small":
      return `expected ${issue.origin === "array" ? "at least" : issue.inclusive ? ">=" : ">"} ${issue.minimum}`;
    case "too_big":
      return `expected ${issue.origin === "array" ? "at most" : issue.inclusive ? "<=" : "<"} ${issue.maximum}`;
    default:
      return undefined;
  }
};

const EXPECTED_TYPE: Record<string, string> = {
  object: "a mapping",
  record: "a mapping",
  array: "a list",
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
};

function formatIssue(issue: z.core.$ZodIssue, fromEnv: Map<string, string[]>): string[] {
  const where = dotted(issue.path);
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(issue.path);
    return issue.keys.map((key) => {
      const hint = closest(key, known);
      return `${where}: unknown key ${JSON.stringify(key)}${hint === undefined ? "" : ` (did you mean ${JSON.stringify(hint)}?)`}`;
    });
  }
  const isRule = issue.code === "custom" && issue.params?.rule === RULE_ISSUE.rule;
  if (isRule || !("input" in issue)) return [`${where}: ${issue.message}`];

  const input = issue.input;
  const vars = fromEnv.get(where);
  let was: string;
  if (issue.path.some(isSecretKey)) was = `${typeOf(input)} (value not shown: secret)`;
  else if (vars !== undefined) was = `${typeOf(input)} (value not shown: from environment variable ${vars.join(", ")})`;
  else was = showValue(input);
  return [`${where}: ${issue.message}, was ${was}`];
}

function dotted(path: Path): string {
  return path.length === 0 ? "(top level)" : path.map(String).join(".");
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Uint8Array) return "binary data";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "boolean") return "a boolean";
  if (typeof v === "number" || typeof v === "bigint") return "a number";
  return `a ${typeof v}`;
}

function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return typeOf(v);
}

/** The keys the schema allows for the object at `path` (for "did you mean" hints). */
function knownKeys(path: Path): string[] {
  let schema: unknown = Config;
  for (const key of [...path, null]) {
    for (;;) {
      if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) schema = schema.unwrap();
      else break;
    }
    if (!(schema instanceof z.ZodObject)) return [];
    if (key === null) return Object.keys(schema.shape);
    schema = schema.shape[key as string];
  }
  return [];
}

/** The known key nearest to `key` by edit distance, if it is close enough to be a typo. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.min(2, Math.floor(key.length / 3)));
  for (const candidate of known) {
    const d = editDistance(key, candidate);
    if (d <= bestDistance) [best, bestDistance] = [candidate, d - 1];
  }
  return best;
}

/** Edit distance counting an insertion, deletion, substitution or swap of neighbours as 1. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}

// ---------------------------------------------------------------------------------------------
// Trees.

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * Copy a plain tree, applying `leaf` to every non-container value. Objects are rebuilt with
 * `Object.fromEntries`, which defines own properties: a YAML key `__proto__` stays a (rejected)
 * key and never becomes the prototype.
 */
function mapTree(v: unknown, path: PropertyKey[], leaf: (v: unknown, path: PropertyKey[]) => unknown): unknown {
  if (Array.isArray(v)) return v.map((item, i) => mapTree(item, [...path, i], leaf));
  if (isMapping(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, mapTree(item, [...path, k], leaf)]));
  }
  return leaf(v, path);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const item of Object.values(v)) deepFreeze(item);
  }
  return v;
}
