/**
 * The control routes: trading state, kill switch, flatten, risk limits. Each is audited (logged
 * and counted, `audit.ts`), needs the bearer token (`auth.ts`), and takes a JSON body of at most
 * `bodyLimitBytes`.
 *
 * | route | body | does | answer |
 * |---|---|---|---|
 * | `POST /control/pause` | `{"reason"?}` | PAUSED: no new order | 200 `{"state":"paused"}` |
 * | `POST /control/resume` | `{"reason"?}` | ACTIVE (409 after a strategy failure: restart) | 200 `{"state":"active"}` |
 * | `POST /control/reduce` | `{"reason"?}` | REDUCING: only orders that shrink a position | 200 `{"state":"reducing"}` |
 * | `POST /control/halt` | `{"reason"?}` | kill switch: HALTED, then every open order cancelled | 200 `{"state":"halted","acknowledged":true}` once the execution worker acted on it (no order leaves after); 503 if it did not |
 * | `POST /control/flatten` | `{"reason"?}` | HALTED, every order cancelled, every position closed at market | as halt |
 * | `PUT /risk` | some or all risk limits | merged onto the limits in force, validated, applied | 200 the limits in force |
 *
 * The body may be empty for the `POST`s. `PUT /risk` takes a partial document: the keys given
 * replace those in force (nested objects merge), the result is validated as a whole against the
 * `RiskConfig` schema, and nothing changes unless all of it is valid.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { Pipeline } from "../supervisor.ts";
import { RiskConfig } from "../config/schema.ts";
import { TradingState } from "../shm/control.ts";
import { ApiError, issuesOf } from "./api-error.ts";
import { audit, type ControlAction, type ControlActions } from "./audit.ts";
import type { AppEnv, Routes } from "./routes.ts";

const REASON_EXPECTED = { error: "expected a string of at most 200 characters" };
export const ControlBody = z.strictObject({ reason: z.string(REASON_EXPECTED).max(200, REASON_EXPECTED).optional() }, { error: "expected a JSON object" });
export type ControlBody = z.infer<typeof ControlBody>;

export interface ControlDeps {
  actions: ControlActions;
  /** The bearer-token middleware (refusing when no token is configured). */
  auth: MiddlewareHandler<AppEnv>;
  bodyLimitBytes: number;
}

/** The body as JSON; `whenEmpty` for an empty body (undefined: an empty body is an error). */
async function jsonBody(c: Context, whenEmpty?: unknown): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (whenEmpty !== undefined) return whenEmpty;
    throw new ApiError(400, "invalid body", [{ path: "(body)", message: "expected a JSON object, got an empty body" }]);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, "invalid body", [{ path: "(body)", message: `expected JSON: ${(e as Error).message}` }]);
  }
}

async function controlBody(c: Context<AppEnv>): Promise<ControlBody> {
  const r = ControlBody.safeParse(await jsonBody(c, {}));
  if (!r.success) throw new ApiError(400, "invalid body", issuesOf(r.error));
  if (r.data.reason !== undefined) c.set("auditDetail", `reason=${JSON.stringify(r.data.reason)}`);
  return r.data;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `next` onto `base`: plain objects merge key by key, anything else replaces. */
function merged(base: unknown, next: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(next)) return next;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(next)) Object.defineProperty(out, k, { value: merged(base[k], v), enumerable: true, writable: true, configurable: true });
  return out;
}

/** `a.b: 1 -> 2` for each leaf that differs. */
function changes(before: unknown, after: unknown, path = ""): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    return Object.keys(after).flatMap((k) => changes(before[k], after[k], path === "" ? k : `${path}.${k}`));
  }
  return before === after ? [] : [`${path}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`];
}

export function controlRoutes(routes: Routes, p: Pipeline, deps: ControlDeps): void {
  const limit = bodyLimit({
    maxSize: deps.bodyLimitBytes,
    onError: () => {
      throw new ApiError(413, `body larger than ${deps.bodyLimitBytes} bytes`);
    },
  });
  const control = (action: ControlAction) => [audit(deps.actions, action), deps.auth, limit] as const;

  const setState = (action: ControlAction, state: TradingState, name: string) =>
    routes.on("POST", `/control/${action}`, ...control(action), async (c) => {
      await controlBody(c);
      if (state === TradingState.ACTIVE && p.strategyFailure) {
        throw new ApiError(409, `cannot resume: the strategy failed in ${p.strategyFailure.callback} (${p.strategyFailure.message}); restart the daemon`);
      }
      p.setTradingState(state);
      return c.json({ state: name });
    });
  setState("pause", TradingState.PAUSED, "paused");
  setState("resume", TradingState.ACTIVE, "active");
  setState("reduce", TradingState.REDUCING, "reducing");

  const killSwitch = (action: "halt" | "flatten") =>
    routes.on("POST", `/control/${action}`, ...control(action), async (c) => {
      await controlBody(c);
      // Answer only once the execution worker acted on it: from then on no order leaves.
      const acknowledged = await (action === "halt" ? p.halt() : p.flatten());
      if (acknowledged) return c.json({ state: p.tradingStateName(), acknowledged: true });
      c.set("auditDetail", [c.get("auditDetail"), "the execution worker did not acknowledge"].filter(Boolean).join("; "));
      const what = action === "halt" ? "cancel every open order" : "cancel every order and close every position";
      return c.json(
        { state: p.tradingStateName(), acknowledged: false, error: `trading is halted, but the execution worker did not acknowledge (${what}): it is wedged or gone; see /readyz and the log` },
        503,
      );
    });
  killSwitch("halt");
  killSwitch("flatten");

  routes.on("PUT", "/risk", ...control("set_risk"), async (c) => {
    const body = await jsonBody(c);
    if (!isPlainObject(body)) throw new ApiError(400, "invalid body", [{ path: "(body)", message: 'expected a JSON object of risk limits (e.g. {"max_order_qty": 500})' }]);
    const before = p.riskLimits();
    const r = RiskConfig.safeParse(merged(before, body));
    if (!r.success) throw new ApiError(400, "invalid risk limits", issuesOf(r.error));
    const changed = changes(before, r.data);
    c.set("auditDetail", changed.length === 0 ? "no change" : changed.join("; "));
    if (changed.length > 0) p.setRiskLimits(r.data);
    return c.json(p.riskLimits());
  });
}
