/**
 * The HTTP face of the daemon (Hono on Bun.serve; loopback by default).
 *
 * | route | answer |
 * |---|---|
 * | `GET /healthz` | 200 `ok` while the process serves HTTP |
 * | `GET /readyz` | 200 when every worker is ready and nothing failed (the strategy included); 503 with the reason |
 * | `GET /status` | JSON: mode, uptime, threads and CPUs, rings, counts, positions, latency |
 * | `GET /metrics` | Prometheus text format 0.0.4 |
 *
 * Control routes (pause, resume, halt, flatten, risk limits) come with issue 6.
 *
 * @example
 * const app = createApp(pipeline);
 * const res = await app.request("/readyz");
 */
import { Hono } from "hono";
import type { Pipeline } from "../supervisor.ts";
import { renderMetrics } from "./metrics.ts";
import { statusDocument } from "./status.ts";
import { CONTENT_TYPE } from "../metrics/prometheus.ts";

export function createApp(p: Pipeline): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok\n"));
  app.get("/readyz", (c) => {
    const feed = p.feedProblem() ?? p.brokerProblem();
    if (p.isReady() && !p.strategyFailure && !feed) return c.text("ready\n");
    const reason = feed && p.isReady()
      ? feed
      : p.strategyFailure
      ? `strategy failed in ${p.strategyFailure.callback}: ${p.strategyFailure.message}; trading is halted`
      : p.failure ? `failed: ${p.failure.message}` : p.stopping ? "stopping" : `starting: waiting for ${p.threads.filter((t) => !t.ready).map((t) => t.name).join(", ")}`;
    return c.text(`not ready: ${reason}\n`, 503);
  });
  app.get("/status", (c) => c.json(statusDocument(p)));
  app.get("/metrics", (c) => c.body(renderMetrics(p), 200, { "Content-Type": CONTENT_TYPE }));
  // A known path asked with another method: 405 with the methods it takes.
  for (const path of ["/healthz", "/readyz", "/status", "/metrics"]) {
    app.all(path, (c) => c.json({ error: `method ${c.req.method} not allowed on ${path}` }, 405, { Allow: "GET, HEAD" }));
  }
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => c.json({ error: err.message }, 500));
  return app;
}
