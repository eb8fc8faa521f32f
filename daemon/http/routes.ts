/**
 * The route table of the app: registers each route on the Hono app and remembers the methods of
 * each path, so that a known path asked with another method is 405 with an `Allow` header (and
 * only an unknown path is 404).
 *
 * @example
 * const routes = new Routes(app);
 * routes.on("GET", "/status", handler);
 * routes.on("PUT", "/risk", auth, handler);
 * routes.methodNotAllowed(); // after the last route
 */
import type { Hono, MiddlewareHandler } from "hono";
import type { AuditVariables } from "./audit.ts";

export type AppEnv = { Variables: AuditVariables };
export type Method = "GET" | "POST" | "PUT";
type Handler = MiddlewareHandler<AppEnv>;

export class Routes {
  readonly #app: Hono<AppEnv>;
  readonly #methods = new Map<string, Method[]>();

  constructor(app: Hono<AppEnv>) {
    this.#app = app;
  }

  on(method: Method, path: string, ...handlers: [Handler, ...Handler[]]): void {
    this.#app.on(method, path, ...handlers);
    const known = this.#methods.get(path);
    if (known) known.push(method);
    else this.#methods.set(path, [method]);
  }

  /** A 405 route for every path registered so far; call it after the last `on`. */
  methodNotAllowed(): void {
    for (const [path, methods] of this.#methods) {
      const allow = methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
      this.#app.all(path, (c) => c.json({ error: `method ${c.req.method} not allowed on ${path}` }, 405, { Allow: allow }));
    }
  }
}
