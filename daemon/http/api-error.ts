/**
 * The one error of the HTTP API: a status from a closed set and a message, with the problems
 * of a request (`{ path, message }` each) when it was malformed. Thrown by middleware and
 * handlers; `createApp`'s error handler turns it into `{"error": ..., "errors": [...]}`.
 *
 * @example
 * throw new ApiError(400, "invalid body", [{ path: "max_order_qty", message: "expected a positive integer" }]);
 */
import type { z } from "zod";

export type ApiStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 503;

export interface ApiIssue {
  /** Dotted path into the body or query (`limits.max_order_qty`, `symbols.0`); `(body)` for the whole. */
  path: string;
  message: string;
}

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: ApiStatus,
    message: string,
    readonly issues: readonly ApiIssue[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** The JSON body of the answer. */
  body(): { error: string; errors?: readonly ApiIssue[] } {
    return this.issues.length === 0 ? { error: this.message } : { error: this.message, errors: this.issues };
  }
}

/** One `{ path, message }` per zod issue; an unknown key is one issue per key, at that key. */
export function issuesOf(error: z.ZodError, root = "(body)"): ApiIssue[] {
  return error.issues.flatMap((issue) => {
    const at = (path: readonly PropertyKey[]) => (path.length === 0 ? root : path.map(String).join("."));
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ path: at([...issue.path, key]), message: "unknown key" }));
    return [{ path: at(issue.path), message: issue.message }];
  });
}
