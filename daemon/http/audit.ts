/**
 * The control actions' trail: every request to a control route (pause, resume, reduce, halt,
 * flatten, set_risk) is logged (who, what, when, result) and counted by action and result in
 * `tradingd_control_actions_total`, the refused ones too. Main thread; allocates per request.
 *
 * | result | answers |
 * |---|---|
 * | ok | 2xx |
 * | invalid | 400 (bad body), 413 (body too large) |
 * | unauthorized | 401 (no or wrong token), 403 (no token configured) |
 * | refused | 409 (not possible now, e.g. resume after the strategy failed) |
 * | failed | 5xx (e.g. the execution worker did not acknowledge a halt) |
 *
 * @example
 * const actions = new ControlActions();
 * app.post("/control/halt", audit(actions, "halt"), requireToken({ token }), handler);
 * // in the handler: c.set("auditDetail", "reason=\"drill\"");
 */
import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/bun";
import { logger } from "../log.ts";

const log = logger("control");

export const CONTROL_ACTIONS = ["pause", "resume", "reduce", "halt", "flatten", "set_risk"] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];
export const CONTROL_RESULTS = ["ok", "invalid", "unauthorized", "refused", "failed"] as const;
export type ControlResult = (typeof CONTROL_RESULTS)[number];

/** What a handler may add to its action's log line (`c.set("auditDetail", ...)`). */
export type AuditVariables = { auditDetail: string };

export function resultOf(status: number): ControlResult {
  if (status < 300) return "ok";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 409) return "refused";
  if (status < 500) return "invalid";
  return "failed";
}

export class ControlActions {
  readonly #counts = new Map<string, number>();

  record(action: ControlAction, result: ControlResult): void {
    const key = `${action} ${result}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  count(action: ControlAction, result: ControlResult): number {
    return this.#counts.get(`${action} ${result}`) ?? 0;
  }

  /** Every action × result, zeros included (so a rate() sees the first one). */
  samples(): { labels: { action: string; result: string }; value: number }[] {
    return CONTROL_ACTIONS.flatMap((action) => CONTROL_RESULTS.map((result) => ({ labels: { action, result }, value: this.count(action, result) })));
  }
}

/** The peer's address and port, from Bun's `server.requestIP` (unknown under `app.request()`). */
function remoteOf(c: Context): string {
  try {
    const { remote } = getConnInfo(c);
    if (remote.address === undefined) return "unknown";
    return remote.addressType === "IPv6" ? `[${remote.address}]:${remote.port}` : `${remote.address}:${remote.port}`;
  } catch {
    return "unknown";
  }
}

/** Outermost middleware of a control route: logs and counts the answer, whatever it was. */
export function audit(actions: ControlActions, action: ControlAction): MiddlewareHandler<{ Variables: AuditVariables }> {
  return async function audit(c, next) {
    const started = performance.now();
    const startedAt = new Date().toISOString();
    await next();
    const status = c.res.status;
    const result = resultOf(status);
    actions.record(action, result);
    const fields = {
      action,
      result,
      status,
      remote: remoteOf(c),
      user_agent: c.req.header("user-agent"),
      started: startedAt,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      detail: c.get("auditDetail"),
      error: c.error?.message,
    };
    const message = `control ${action}: ${result}`;
    if (result === "ok") log.info(message, fields);
    else log.warn(message, fields);
  };
}
