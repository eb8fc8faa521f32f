/**
 * The Polygon/Massive stocks WebSocket control protocol as the fake speaks it
 * (`/work/shared/protocols/PROTOCOLS.md` §A.3–A.6, the official spec `polygon-websocket-spec.json`,
 * and the official PG-PY mock server `test_websocket/mock_server.py`).
 *
 * Every server frame is a JSON array; each control reply is its own one-element frame. Texts
 * below are copied from the sources named beside them; the ones no source gives are marked ours.
 */

/** The `status` values of `{"ev":"status"}` events (spec enums, plus `connected` and our `error`). */
export type PolygonStatus =
  | "connected"
  | "auth_success"
  | "auth_failed"
  | "auth_timeout"
  | "auth_required"
  | "success"
  | "error"
  | "max_connections"
  | "force_disconnect"
  | "slow_consumer";

export const STATUS_MESSAGES = {
  /** Docs, PG-PY mock, MS-POLY. (The spec's ConnectEvent example says `"status":"success"`; every other source says `connected`.) */
  connected: "Connected Successfully",
  /** Spec AuthEvent example; client-jvm checks this exact text. */
  authSuccess: "authenticated",
  /** MS-POLY. */
  authFailed: "authentication failed",
  /** MS-POLY. The timeout length is undocumented. */
  authTimeout: "No authentication request received.",
  /** Ours: the spec allows `status:"auth_required"` but no source gives its text. */
  authRequired: "authentication required",
  /** Spec DisconnectEvent example, MS-POLY. */
  maxConnections: "Maximum number of connections exceeded.",
} as const;

/** Close codes the fake uses. */
export const CLOSE_NORMAL = 1000;
/** Sent after `max_connections` [observed, unofficial]. */
export const CLOSE_POLICY_VIOLATION = 1008;

/** One status event as a whole frame, compact like the real server: `[{"ev":"status",...}]`. */
export function statusFrame(status: PolygonStatus | string, message: string): string {
  return JSON.stringify([{ ev: "status", status, message }]);
}

export const CONNECTED_FRAME = statusFrame("connected", STATUS_MESSAGES.connected);
export const AUTH_SUCCESS_FRAME = statusFrame("auth_success", STATUS_MESSAGES.authSuccess);
export const AUTH_FAILED_FRAME = statusFrame("auth_failed", STATUS_MESSAGES.authFailed);
export const AUTH_TIMEOUT_FRAME = statusFrame("auth_timeout", STATUS_MESSAGES.authTimeout);
export const AUTH_REQUIRED_FRAME = statusFrame("auth_required", STATUS_MESSAGES.authRequired);
export const MAX_CONNECTIONS_FRAME = statusFrame("max_connections", STATUS_MESSAGES.maxConnections);

/** `subscribed to: T.AAPL` (spec SubscribeEvent example, MS-POLY, PG-PY mock): one frame per param. */
export function subscribedFrame(param: string): string {
  return statusFrame("success", `subscribed to: ${param}`);
}

/** `unsubscribed to: T.AAPL` (spec UnsubscribeEvent example, PG-PY mock): one frame per param. */
export function unsubscribedFrame(param: string): string {
  return statusFrame("success", `unsubscribed to: ${param}`);
}

/** A client message the fake understands: `{"action":"auth"|"subscribe"|"unsubscribe","params":"..."}`. */
export type ClientAction = { action: "auth" | "subscribe" | "unsubscribe"; params: string };

/**
 * Parses one client text frame. Returns the action, or the text of our `status:"error"` reply
 * (the real server's error texts are not in any source; these are ours).
 */
export function parseClientMessage(text: string): ClientAction | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: "malformed message: not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { error: "malformed message: expected a JSON object" };
  }
  const { action, params } = value as { action?: unknown; params?: unknown };
  if (action !== "auth" && action !== "subscribe" && action !== "unsubscribe") {
    return { error: `unknown action: ${typeof action === "string" ? action : JSON.stringify(action ?? null)}` };
  }
  if (typeof params !== "string") return { error: `malformed message: params of ${action} must be a string` };
  return { action, params };
}

/** `<CHANNEL>.<TICKER>` or `<CHANNEL>.*`: channel in capitals, ticker anything without spaces or commas. */
const SUBSCRIPTION = /^[A-Z]+\.(\*|[^\s,*]+)$/;

/**
 * Splits `"T.AAPL, Q.MSFT,AM.*"` into trimmed params (empty ones skipped). Each is valid or
 * goes to `invalid` (answered with our `error` status).
 */
export function splitParams(params: string): { valid: string[]; invalid: string[] } {
  const valid: string[] = [];
  const invalid: string[] = [];
  for (const raw of params.split(",")) {
    const p = raw.trim();
    if (p === "") continue;
    (SUBSCRIPTION.test(p) ? valid : invalid).push(p);
  }
  return { valid, invalid };
}

/**
 * One connection's subscriptions (`T.AAPL`, `T.*`), indexed by channel so matching an event
 * allocates nothing. Status events match every set.
 */
export class SubscriptionSet {
  /** The params as subscribed, in order (`T.AAPL`, `Q.*`). */
  readonly params = new Set<string>();
  #wildcard = new Set<string>();
  #symbols = new Map<string, Set<string>>();

  add(param: string): void {
    this.params.add(param);
    const dot = param.indexOf(".");
    const channel = param.slice(0, dot);
    const ticker = param.slice(dot + 1);
    if (ticker === "*") {
      this.#wildcard.add(channel);
      return;
    }
    let set = this.#symbols.get(channel);
    if (!set) this.#symbols.set(channel, (set = new Set()));
    set.add(ticker);
  }

  delete(param: string): void {
    this.params.delete(param);
    const dot = param.indexOf(".");
    const channel = param.slice(0, dot);
    const ticker = param.slice(dot + 1);
    if (ticker === "*") this.#wildcard.delete(channel);
    else this.#symbols.get(channel)?.delete(ticker);
  }

  /** Whether event `ev` for `sym` is wanted. No allocation. */
  wants(ev: string, sym: unknown): boolean {
    if (ev === "status") return true;
    if (this.#wildcard.has(ev)) return true;
    return typeof sym === "string" && this.#symbols.get(ev)?.has(sym) === true;
  }
}
