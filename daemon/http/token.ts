/**
 * The bearer token of the control API, read once at startup, and its constant-time comparison.
 *
 * Where it comes from, first found wins (the daemon and `tradingd ctl` read it alike):
 *
 * | source | how |
 * |---|---|
 * | `TRADINGD_API_TOKEN` | environment variable (empty = not set) |
 * | `$CREDENTIALS_DIRECTORY/api_token` | systemd credential (`LoadCredential=api_token:…`), surrounding whitespace trimmed |
 *
 * No token: the control routes refuse (403) and the daemon listens on loopback only.
 *
 * @example
 * const token = readApiToken();                  // at startup; throws ConfigError
 * const expected = tokenDigest(token!.value);
 * tokenMatches(expected, "from the request");    // crypto.timingSafeEqual on two SHA-256 digests
 */
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config/load.ts";

export const TOKEN_ENV = "TRADINGD_API_TOKEN";
export const TOKEN_CREDENTIAL = "api_token";
/** RFC 6750 b64token: what fits in `Authorization: Bearer <token>`. */
const TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface ApiToken {
  value: string;
  /** Where it was read, for the log (never the value). */
  source: string;
}

/**
 * The configured token, or null when there is none.
 * @throws ConfigError when the credential file exists but cannot be read, or a token is empty or
 * has characters a bearer token cannot carry.
 */
export function readApiToken(env: Record<string, string | undefined> = process.env): ApiToken | null {
  const fromEnv = env[TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return checked(fromEnv, `environment variable ${TOKEN_ENV}`);
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) return null;
  const file = join(dir, TOKEN_CREDENTIAL);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new ConfigError(file, [`cannot read the API token credential ${file}: ${code ?? (e as Error).message}`]);
  }
  return checked(text.trim(), `credential ${TOKEN_CREDENTIAL}`);
}

function checked(value: string, source: string): ApiToken {
  if (!TOKEN_RE.test(value)) {
    // The value itself is never printed.
    throw new ConfigError(source, [`${source}: the API token is empty or has characters a bearer token cannot carry (use A-Z a-z 0-9 - . _ ~ + /, e.g. \`openssl rand -hex 32\`)`]);
  }
  return { value, source };
}

/** SHA-256 of a token: both sides of a comparison have the same length, whatever was sent. */
export function tokenDigest(token: string): Buffer {
  return crypto.createHash("sha256").update(token, "utf8").digest();
}

/** Constant time in the length and content of `given` (`crypto.timingSafeEqual` on digests). */
export function tokenMatches(expected: Buffer, given: string): boolean {
  return crypto.timingSafeEqual(expected, tokenDigest(given));
}

/** True for 127.0.0.0/8, ::1 and localhost: addresses only this host can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^(?:0{1,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
}
