/**
 * Bearer-token middleware. A missing or wrong token is 401; with no token configured the route
 * refuses (403) unless it is one that may be open then (read-only routes: the daemon listens on
 * loopback only when it has no token, `tradingd run` sees to that).
 *
 * @example
 * app.post("/control/halt", requireToken({ token }), handler);
 * app.get("/status", requireToken({ token, openWithoutToken: true }), handler);
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./api-error.ts";
import { TOKEN_CREDENTIAL, TOKEN_ENV, tokenDigest, tokenMatches } from "./token.ts";

export interface RequireTokenOptions {
  /** The configured token, or null when there is none. */
  token: string | null;
  /** With no token configured, let the request through instead of refusing it. */
  openWithoutToken?: boolean;
}

const BEARER_RE = /^Bearer +([^\s]+) *$/i;

export function requireToken(options: RequireTokenOptions): MiddlewareHandler {
  const expected = options.token === null ? null : tokenDigest(options.token);
  const open = options.openWithoutToken === true;
  return async function requireToken(c, next) {
    if (expected === null) {
      if (open) return next();
      throw new ApiError(403, `refused: no API token is configured (set ${TOKEN_ENV} or the systemd credential ${TOKEN_CREDENTIAL})`);
    }
    const m = BEARER_RE.exec(c.req.header("authorization") ?? "");
    if (m === null) throw new ApiError(401, "missing bearer token (Authorization: Bearer <token>)", [], { "WWW-Authenticate": 'Bearer realm="tradingd"' });
    if (!tokenMatches(expected, m[1]!)) throw new ApiError(401, "wrong bearer token", [], { "WWW-Authenticate": 'Bearer realm="tradingd", error="invalid_token"' });
    await next();
  };
}
