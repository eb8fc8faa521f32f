/**
 * The HTTP face of the daemon (Hono on Bun.serve; loopback by default).
 *
 * | route | token | answer |
 * |---|---|---|
 * | `GET /healthz` | never | 200 `ok` while the process serves HTTP |
 * | `GET /readyz` | never | 200 when every worker is ready and nothing failed (the strategy included); 503 with the reason |
 * | `GET /metrics` | if `http.metrics_require_token` | Prometheus text format 0.0.4 |
 * | `GET /status` | if one is configured | JSON: mode, uptime, threads and CPUs, rings, counts, positions, latency |
 * | `GET /orders?status=open\|all&limit=N` | if one is configured | JSON: the latest orders (`orders.ts`) |
 * | `GET /positions` | if one is configured | JSON: positions of the symbols that traded |
 * | `GET /risk` | if one is configured | JSON: the risk limits in force |
 * | `PUT /risk`, `POST /control/{pause,resume,reduce,halt,flatten}` | always | see `control.ts` |
 *
 * "If one is configured": with no token the read-only routes are open (and `tradingd run`
 * listens on loopback only); the control routes need the token and refuse (403) without one.
 * A wrong or missing token is 401. Errors are JSON `{"error": ..., "errors"?: [{path, message}]}`;
 * an unknown path is 404, a known path with another method 405 with `Allow`.
 *
 * @example
 * const app = createApp(pipeline, { token: readApiToken()?.value ?? null });
 * const res = await app.request("/control/halt", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { Pipeline } from "../supervisor.ts";
import { renderMetrics } from "./metrics.ts";
import { statusDocument } from "./status.ts";
import { CONTENT_TYPE } from "../metrics/prometheus.ts";
import { ApiError, issuesOf } from "./api-error.ts";
import { requireToken } from "./auth.ts";
import { ControlActions } from "./audit.ts";
import { controlRoutes } from "./control.ts";
import { OrdersQuery, ordersDocument, positionsDocument } from "./orders.ts";
import { Routes, type AppEnv } from "./routes.ts";
import { logger } from "../log.ts";

const log = logger("http");

export interface AppOptions {
  /** The bearer token of the API (`readApiToken()`); null or absent: none configured. */
  token?: string | null;
  /** Where control actions are counted (for `/metrics`); a fresh one by default. */
  actions?: ControlActions;
  /** Largest request body accepted (413 above); 16 KiB by default. */
  bodyLimitBytes?: number;
}

export function createApp(p: Pipeline, options: AppOptions = {}): Hono<AppEnv> {
  const token = options.token ?? null;
  const actions = options.actions ?? new ControlActions();
  const app = new Hono<AppEnv>();
  const routes = new Routes(app);
  const read = requireToken({ token, openWithoutToken: true });

  routes.on("GET", "/healthz", async (c) => c.text("ok\n"));
  routes.on("GET", "/readyz", async (c) => {
    const feed = p.feedProblem() ?? p.brokerProblem();
    if (p.isReady() && !p.strategyFailure && !feed) return c.text("ready\n");
    const reason = feed && p.isReady()
      ? feed
      : p.strategyFailure
      ? `strategy failed in ${p.strategyFailure.callback}: ${p.strategyFailure.message}; trading is halted`
      : p.failure ? `failed: ${p.failure.message}` : p.stopping ? "stopping" : `starting: waiting for ${p.threads.filter((t) => !t.ready).map((t) => t.name).join(", ")}`;
    return c.text(`not ready: ${reason}\n`, 503);
  });
  const metrics: MiddlewareHandler<AppEnv> = async (c) => c.body(renderMetrics(p, actions), 200, { "Content-Type": CONTENT_TYPE });
  if (p.config.http.metrics_require_token) routes.on("GET", "/metrics", requireToken({ token }), metrics);
  else routes.on("GET", "/metrics", metrics);
  routes.on("GET", "/status", read, async (c) => c.json(statusDocument(p)));
  routes.on("GET", "/orders", read, async (c) => {
    const q = OrdersQuery.safeParse(c.req.query());
    if (!q.success) throw new ApiError(400, "invalid query", issuesOf(q.error, "(query)"));
    return c.json(ordersDocument(p, q.data));
  });
  routes.on("GET", "/positions", read, async (c) => c.json(positionsDocument(p)));
  routes.on("GET", "/risk", read, async (c) => c.json(p.riskLimits()));
  controlRoutes(routes, p, { actions, auth: requireToken({ token }), bodyLimitBytes: options.bodyLimitBytes ?? 16 * 1024 });
  routes.methodNotAllowed();

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body(), err.status, err.headers);
    log.error(`${c.req.method} ${c.req.path}: ${err.message}`);
    return c.json({ error: err.message }, 500);
  });
  return app;
}
