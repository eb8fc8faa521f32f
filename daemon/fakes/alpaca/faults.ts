/**
 * Faults armed by tests and answered by the server: each for the next `count` requests (default
 * 1), optionally only those matching `method` and `path` (exact pathname, or a RegExp on it).
 */

export interface RequestMatch {
  /** Upper case, e.g. `"POST"`. Any method if absent. */
  method?: string;
  /** Exact pathname (`"/v2/orders"`) or a pattern on it. Any path if absent. */
  path?: string | RegExp;
  /** How many matching requests the fault applies to. Default 1. */
  count?: number;
}

export interface FailureSpec extends RequestMatch {
  status: number;
  /** Default: the status's usual body (see `FakeAlpacaServer.failNext`). An object is JSON-encoded. */
  body?: string | object;
  /** Extra or overriding response headers. */
  headers?: Record<string, string>;
}

export interface DelaySpec extends RequestMatch {
  ms: number;
}

export class FaultQueue<T extends RequestMatch> {
  #armed: { spec: T; left: number }[] = [];

  add(spec: T): void {
    this.#armed.push({ spec, left: spec.count ?? 1 });
  }

  /** The first armed fault matching the request, used up by one; or null. */
  take(method: string, path: string): T | null {
    for (let i = 0; i < this.#armed.length; i++) {
      const armed = this.#armed[i]!;
      if (!matches(armed.spec, method, path)) continue;
      if (--armed.left <= 0) this.#armed.splice(i, 1);
      return armed.spec;
    }
    return null;
  }

  get pending(): number {
    return this.#armed.reduce((n, a) => n + a.left, 0);
  }

  clear(): void {
    this.#armed = [];
  }
}

function matches(spec: RequestMatch, method: string, path: string): boolean {
  if (spec.method !== undefined && spec.method.toUpperCase() !== method) return false;
  if (spec.path === undefined) return true;
  return typeof spec.path === "string" ? spec.path === path : spec.path.test(path);
}
