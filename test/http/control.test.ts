import { describe, expect, spyOn, test } from "bun:test";
import crypto from "node:crypto";
import { Pipeline } from "../../daemon/supervisor.ts";
import { createApp } from "../../daemon/http/app.ts";
import { ControlActions } from "../../daemon/http/audit.ts";
import { renderMetrics } from "../../daemon/http/metrics.ts";
import { parseConfigText } from "../../daemon/config/load.ts";
import { TradingState } from "../../daemon/shm/control.ts";
import { configureLog } from "../../daemon/log.ts";

const TOKEN = "s3cret-token_0123456789abcdef";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const config = parseConfigText("symbols: [AAPL, MSFT]\n", "control.test", {});

/** An app on a pipeline that is never started (the routes only touch its shared memory). */
function fixture(token: string | null = TOKEN, yaml = "symbols: [AAPL, MSFT]\n") {
  const p = new Pipeline(parseConfigText(yaml, "control.test", {}));
  const actions = new ControlActions();
  return { p, actions, app: createApp(p, { token, actions, bodyLimitBytes: 1024 }) };
}

async function answer(res: Response) {
  return { status: res.status, body: res.headers.get("content-type")?.startsWith("application/json") ? await res.json() : await res.text() };
}

const CONTROL = ["pause", "resume", "reduce", "halt", "flatten"] as const;

describe("bearer token", () => {
  test("no token configured: control routes refuse (403) with or without a token sent; read routes stay open", async () => {
    const { app, p } = fixture(null);
    for (const action of CONTROL) {
      for (const headers of [{}, AUTH]) {
        expect(await answer(await app.request(`/control/${action}`, { method: "POST", headers }))).toEqual({
          status: 403,
          body: { error: "refused: no API token is configured (set TRADINGD_API_TOKEN or the systemd credential api_token)" },
        });
      }
    }
    expect((await app.request("/risk", { method: "PUT", body: '{"max_order_qty":1}' })).status).toBe(403);
    expect(p.tradingStateName()).toBe("active");
    for (const path of ["/healthz", "/status", "/orders", "/positions", "/risk", "/metrics"]) expect([path, (await app.request(path)).status]).toEqual([path, 200]);
  });

  test("a token configured: none or a wrong one is 401 with WWW-Authenticate, the right one passes", async () => {
    const { app, p } = fixture();
    const none = await app.request("/control/pause", { method: "POST" });
    expect([none.status, none.headers.get("www-authenticate"), await none.json()]).toEqual([401, 'Bearer realm="tradingd"', { error: "missing bearer token (Authorization: Bearer <token>)" }]);
    for (const wrong of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, "Bearer a", `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN} extra`]) {
      const res = await app.request("/control/pause", { method: "POST", headers: { Authorization: wrong } });
      expect([wrong, res.status]).toEqual([wrong, 401]);
    }
    expect(p.tradingStateName()).toBe("active");
    expect(await answer(await app.request("/control/pause", { method: "POST", headers: AUTH }))).toEqual({ status: 200, body: { state: "paused" } });
    expect(await answer(await app.request("/control/pause", { method: "POST", headers: { Authorization: `bearer  ${TOKEN}` } }))).toEqual({ status: 200, body: { state: "paused" } });
    expect(p.tradingStateName()).toBe("paused");
  });

  test("with a token, every route but /healthz, /readyz and (by default) /metrics needs it", async () => {
    const { app } = fixture();
    const statuses = async (headers: Record<string, string>) =>
      Object.fromEntries(await Promise.all(["/healthz", "/readyz", "/metrics", "/status", "/orders", "/positions", "/risk"].map(async (path) => [path, (await app.request(path, { headers })).status])));
    expect(await statuses({})).toEqual({ "/healthz": 200, "/readyz": 503, "/metrics": 200, "/status": 401, "/orders": 401, "/positions": 401, "/risk": 401 });
    expect(await statuses(AUTH)).toEqual({ "/healthz": 200, "/readyz": 503, "/metrics": 200, "/status": 200, "/orders": 200, "/positions": 200, "/risk": 200 });
  });

  test("http.metrics_require_token: /metrics needs the token (and refuses when none is configured)", async () => {
    const yaml = "symbols: [AAPL]\nhttp: { metrics_require_token: true }\n";
    const { app } = fixture(TOKEN, yaml);
    expect([(await app.request("/metrics")).status, (await app.request("/metrics", { headers: AUTH })).status]).toEqual([401, 200]);
    expect((await fixture(null, yaml).app.request("/metrics", { headers: AUTH })).status).toBe(403);
  });

  test("the token is compared with crypto.timingSafeEqual, on digests of equal length whatever was sent", async () => {
    const { app } = fixture();
    const spy = spyOn(crypto, "timingSafeEqual");
    try {
      for (const sent of [TOKEN, "x", "y".repeat(4096)]) await app.request("/status", { headers: { Authorization: `Bearer ${sent}` } });
      expect(spy).toHaveBeenCalledTimes(3);
      expect(spy.mock.calls.map(([a, b]) => [(a as Buffer).length, (b as Buffer).length])).toEqual([
        [32, 32],
        [32, 32],
        [32, 32],
      ]);
      expect(spy.mock.results.map((r) => r.value)).toEqual([true, false, false]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("control routes", () => {
  test("pause, reduce, resume set the trading state word", async () => {
    const { app, p } = fixture();
    const seen: string[] = [];
    for (const action of ["pause", "reduce", "resume"] as const) {
      const res = await app.request(`/control/${action}`, { method: "POST", headers: AUTH, body: JSON.stringify({ reason: "test" }) });
      seen.push(`${res.status} ${((await res.json()) as { state: string }).state} ${p.tradingStateName()}`);
    }
    expect(seen).toEqual(["200 paused paused", "200 reducing reducing", "200 active active"]);
  });

  test("halt and flatten answer 503 (state halted, not acknowledged) when the execution worker does not answer", async () => {
    for (const action of ["halt", "flatten"]) {
      const { app, p } = fixture();
      const res = await answer(await app.request(`/control/${action}`, { method: "POST", headers: AUTH }));
      expect([res.status, (res.body as { state: string }).state, (res.body as { acknowledged: boolean }).acknowledged, p.tradingStateName()]).toEqual([503, "halted", false, "halted"]);
    }
  });

  test("resume after a strategy failure is refused (409): the strategy must be restarted", async () => {
    const { app, p } = fixture();
    p.setTradingState(TradingState.HALTED);
    p.strategyFailure = { message: "boom", stack: "", callback: "onQuote", atMs: 0 };
    expect(await answer(await app.request("/control/resume", { method: "POST", headers: AUTH }))).toEqual({
      status: 409,
      body: { error: "cannot resume: the strategy failed in onQuote (boom); restart the daemon" },
    });
    expect(p.tradingStateName()).toBe("halted");
  });

  test("PUT /risk merges the keys given onto the limits in force; GET /risk shows them", async () => {
    const { app, p } = fixture();
    const before = p.riskLimits();
    const res = await answer(await app.request("/risk", { method: "PUT", headers: AUTH, body: JSON.stringify({ max_order_qty: 7, max_open_orders: 3 }) }));
    expect(res).toEqual({ status: 200, body: { ...before, max_order_qty: 7, max_open_orders: 3 } });
    expect(p.riskLimits()).toEqual({ ...before, max_order_qty: 7, max_open_orders: 3 });
    expect(await answer(await app.request("/risk", { headers: AUTH }))).toEqual({ status: 200, body: p.riskLimits() });
  });

  test("PUT /risk moves the risk day's start (New York HH:MM); a time that is not one is refused and changes nothing", async () => {
    const { app, p } = fixture();
    const put = async (body: unknown) => answer(await app.request("/risk", { method: "PUT", headers: AUTH, body: JSON.stringify(body) }));
    const moved = await put({ day_starts_at: "09:30" });
    const refused = await put({ day_starts_at: "9:30" });
    expect({ moved: moved.status, refused, now: p.riskLimits().day_starts_at }).toEqual({
      moved: 200,
      refused: { status: 400, body: { error: "invalid risk limits", errors: [{ path: "day_starts_at", message: 'expected a time "HH:MM" (00:00 to 23:59, New York)' }] } },
      now: "09:30",
    });
  });
});

describe("bad requests: 400 with the path of each problem, nothing changed", () => {
  const bodyError = (message: string) => ({ status: 400, body: { error: "invalid body", errors: [{ path: "(body)", message }] } });

  for (const action of CONTROL) {
    test(`POST /control/${action}`, async () => {
      const { app, p } = fixture();
      const post = async (body: string) => answer(await app.request(`/control/${action}`, { method: "POST", headers: AUTH, body }));
      expect(await post('{"reason": 5, "force": true}')).toEqual({
        status: 400,
        body: {
          error: "invalid body",
          errors: [
            { path: "reason", message: "expected a string of at most 200 characters" },
            { path: "force", message: "unknown key" },
          ],
        },
      });
      expect(await post(JSON.stringify({ reason: "x".repeat(201) }))).toEqual({ status: 400, body: { error: "invalid body", errors: [{ path: "reason", message: "expected a string of at most 200 characters" }] } });
      expect(await post("[1]")).toEqual(bodyError("expected a JSON object"));
      expect(await post("halt now")).toMatchObject({ status: 400, body: { errors: [{ path: "(body)" }] } });
      expect(p.tradingStateName()).toBe("active");
    });
  }

  test("PUT /risk", async () => {
    const { app, p } = fixture();
    const before = p.riskLimits();
    const put = async (body: string) => answer(await app.request("/risk", { method: "PUT", headers: AUTH, body }));
    expect(await put('{"max_order_qty": -1, "max_order_notional": "lots", "max_open_orders": 2.5, "max_orders": 3}')).toEqual({
      status: 400,
      body: {
        error: "invalid risk limits",
        errors: [
          { path: "max_order_qty", message: "expected a positive integer" },
          { path: "max_order_notional", message: "expected a positive number (USD)" },
          { path: "max_open_orders", message: "expected a positive integer" },
          { path: "max_orders", message: "unknown key" },
        ],
      },
    });
    expect(await put('{"refuse_when_feed_stale": "no"}')).toEqual({ status: 400, body: { error: "invalid risk limits", errors: [{ path: "refuse_when_feed_stale", message: "expected true or false" }] } });
    expect(await put("")).toEqual(bodyError("expected a JSON object, got an empty body"));
    expect(await put("[]")).toEqual(bodyError('expected a JSON object of risk limits (e.g. {"max_order_qty": 500})'));
    expect(await put("7")).toEqual(bodyError('expected a JSON object of risk limits (e.g. {"max_order_qty": 500})'));
    expect(await put("{max_order_qty: 1}")).toMatchObject({ status: 400, body: { errors: [{ path: "(body)" }] } });
    expect(await put('{"__proto__": {"max_order_qty": 1}}')).toEqual({ status: 400, body: { error: "invalid risk limits", errors: [{ path: "__proto__", message: "unknown key" }] } });
    expect(p.riskLimits()).toEqual(before);
  });

  test("GET /orders query", async () => {
    const { app } = fixture();
    expect(await answer(await app.request("/orders?status=closed&limit=0&sort=id", { headers: AUTH }))).toEqual({
      status: 400,
      body: {
        error: "invalid query",
        errors: [
          { path: "status", message: "expected open or all" },
          { path: "limit", message: "expected an integer from 1 to 10000" },
          { path: "sort", message: "unknown key" },
        ],
      },
    });
    expect((await app.request("/orders?limit=abc", { headers: AUTH })).status).toBe(400);
    expect(await answer(await app.request("/orders?status=all&limit=5", { headers: AUTH }))).toEqual({ status: 200, body: { total: 0, orders: [] } });
  });
});

describe("unknown routes, wrong methods, large bodies", () => {
  test("an unknown path is 404 (the token is not asked first)", async () => {
    const { app } = fixture();
    for (const [method, path] of [
      ["GET", "/nope"],
      ["POST", "/control/stop"],
      ["POST", "/control"],
    ] as const) {
      expect(await answer(await app.request(path, { method }))).toEqual({ status: 404, body: { error: `no route ${method} ${path}` } });
    }
  });

  test("a known path with another method is 405 with Allow", async () => {
    const { app } = fixture();
    const allow = async (method: string, path: string) => {
      const res = await app.request(path, { method, headers: AUTH });
      return [path, res.status, res.headers.get("allow")];
    };
    expect(await allow("GET", "/control/halt")).toEqual(["/control/halt", 405, "POST"]);
    expect(await allow("PUT", "/control/pause")).toEqual(["/control/pause", 405, "POST"]);
    expect(await allow("DELETE", "/risk")).toEqual(["/risk", 405, "GET, HEAD, PUT"]);
    expect(await allow("POST", "/risk")).toEqual(["/risk", 405, "GET, HEAD, PUT"]);
    expect(await allow("POST", "/orders")).toEqual(["/orders", 405, "GET, HEAD"]);
    expect(await allow("PUT", "/positions")).toEqual(["/positions", 405, "GET, HEAD"]);
  });

  test("a body over the limit is 413, by Content-Length or by what arrives", async () => {
    const { app, p } = fixture();
    expect(await answer(await app.request("/risk", { method: "PUT", headers: AUTH, body: JSON.stringify({ max_order_qty: 5, pad: "x".repeat(2000) }) }))).toEqual({
      status: 413,
      body: { error: "body larger than 1024 bytes" },
    });
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode(" ".repeat(512)));
        c.close();
      },
    });
    const chunked = await app.request("/control/pause", { method: "POST", headers: AUTH, body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(p.tradingStateName()).toBe("active");
  });
});

describe("audit", () => {
  test("every control request is counted by action and result in /metrics", async () => {
    const { app } = fixture();
    const post = (path: string, headers: Record<string, string>, body?: string) => app.request(path, { method: "POST", headers, body });
    await post("/control/pause", AUTH);
    await post("/control/pause", AUTH);
    await post("/control/pause", {});
    await post("/control/pause", AUTH, '{"reason": 1}');
    await post("/control/halt", AUTH); // not started: not acknowledged
    await app.request("/risk", { method: "PUT", headers: { Authorization: "Bearer wrong" }, body: "{}" });
    await app.request("/risk", { method: "PUT", headers: AUTH, body: '{"max_order_qty": 9}' });
    const text = await (await app.request("/metrics")).text();
    const counted = text.split("\n").filter((l) => l.startsWith("tradingd_control_actions_total{") && !l.endsWith(" 0"));
    expect(counted).toEqual([
      'tradingd_control_actions_total{action="pause",result="ok"} 2',
      'tradingd_control_actions_total{action="pause",result="invalid"} 1',
      'tradingd_control_actions_total{action="pause",result="unauthorized"} 1',
      'tradingd_control_actions_total{action="halt",result="failed"} 1',
      'tradingd_control_actions_total{action="set_risk",result="ok"} 1',
      'tradingd_control_actions_total{action="set_risk",result="unauthorized"} 1',
    ]);
    expect(text).toContain("# TYPE tradingd_control_actions_total counter");
    expect(text).toContain('tradingd_control_actions_total{action="flatten",result="ok"} 0');
  });

  test("each control request is logged with who (the peer's address), what, when and the result", async () => {
    const { app } = fixture();
    const lines: string[] = [];
    const spy = spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    configureLog("info", "text");
    // What Bun.serve passes as the second argument of fetch: the server, with requestIP.
    const server = { requestIP: () => ({ address: "10.1.2.3", family: "IPv4", port: 40123 }) };
    try {
      await app.request("/control/halt", { method: "POST", headers: { ...AUTH, "User-Agent": "drill/1" }, body: '{"reason":"fire drill"}' }, server);
      await app.request("/risk", { method: "PUT", headers: AUTH, body: '{"max_order_qty": 9}' }, server);
      await app.request("/control/pause", { method: "POST" }, server);
    } finally {
      configureLog("error", "text"); // as test/support/setup.ts leaves it
      spy.mockRestore();
    }
    const control = lines.filter((l) => l.includes(" control: "));
    expect(control).toHaveLength(3);
    expect(control[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z warn control: control halt: failed action=halt result=failed status=503 remote=10\.1\.2\.3:40123 user_agent=drill\/1 started=\S+ duration_ms=[\d.]+ detail="reason=\\"fire drill\\"; the execution worker did not acknowledge"\n$/);
    expect(control[1]).toContain('info control: control set_risk: ok action=set_risk result=ok status=200 remote=10.1.2.3:40123');
    expect(control[1]).toContain('detail="max_order_qty: 1000 -> 9"');
    expect(control[2]).toContain('warn control: control pause: unauthorized action=pause result=unauthorized status=401 remote=10.1.2.3:40123');
    expect(control[2]).toContain('error="missing bearer token (Authorization: Bearer <token>)"');
  });
});

test("renderMetrics without the control actions leaves the family out", () => {
  expect(renderMetrics(new Pipeline(config))).not.toContain("tradingd_control_actions_total");
});
