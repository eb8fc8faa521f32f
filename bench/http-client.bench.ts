/**
 * Order POST round trip over a keep-alive connection: Bun's `fetch` versus `Http1Connection`
 * (`daemon/net/http1.ts`, raw `Bun.connect` socket) with a `RequestTemplate`.
 *
 *   bun bench/http-client.bench.ts              # ~1 min; markdown table + one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/http-client.bench.ts   # smoke run (3 runs of 500 requests; figures rough)
 *
 * Method: a local Bun.serve answers POST /v2/orders (a ~150-byte JSON order, a new
 * client_order_id each time) with a fixed ~900-byte JSON like Alpaca's order response. Setups:
 * - `worker`: the server in a Worker thread (client and server on different threads, as with a
 *   real broker: the server's work does not run on the client's thread);
 * - `same-thread`: the server on the client's own thread and event loop;
 * - `worker-tls`: as `worker`, over TLS (a self-signed certificate made here with `openssl`;
 *   both clients verify it with `ca`); skipped if openssl is missing.
 * Per setup, both clients get WARMUP requests (not counted), then RUNS runs of N sequential
 * requests each, interleaved (fetch, raw, raw, fetch, fetch, raw, ...) so host noise hits both
 * alike. Each request is timed from the call to the parsed body (`await res.text()` for fetch, the
 * resolved `HttpResponse` for raw). For raw, "written" is from the call to the return of the
 * socket write (`Http1Connection.writtenAtNs`). Percentiles are exact (sorted samples) per run;
 * the figure is the median over runs. The server counts distinct client ports per client to show
 * that both really kept one connection alive.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Http1Connection, RequestTemplate } from "../daemon/net/http1.ts";
import { median, QUICK } from "./support.ts";

const RUNS = 3;
const N = QUICK ? 500 : 5000;
const WARMUP = QUICK ? 200 : 1000;

const HEADERS = {
  "APCA-API-KEY-ID": "PKTESTKEY0123456789AB",
  "APCA-API-SECRET-KEY": "secretsecretsecretsecretsecretsecretsecr",
  "Content-Type": "application/json",
};

/** ~900 bytes, the shape of an Alpaca order response. */
const ORDER_RESPONSE = JSON.stringify({
  id: "61e69015-8549-4bfd-b9c3-01e75843f47d",
  client_order_id: "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4",
  created_at: "2026-11-27T14:30:00.123456789Z",
  updated_at: "2026-11-27T14:30:00.123456789Z",
  submitted_at: "2026-11-27T14:30:00.120000000Z",
  filled_at: null,
  expired_at: null,
  canceled_at: null,
  failed_at: null,
  replaced_at: null,
  replaced_by: null,
  replaces: null,
  asset_id: "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
  symbol: "AAPL",
  asset_class: "us_equity",
  notional: null,
  qty: "10",
  filled_qty: "0",
  filled_avg_price: null,
  order_class: "",
  order_type: "limit",
  type: "limit",
  side: "buy",
  position_intent: "buy_to_open",
  time_in_force: "day",
  limit_price: "187.25",
  stop_price: null,
  status: "accepted",
  extended_hours: false,
  legs: null,
  trail_percent: null,
  trail_price: null,
  hwm: null,
  subtag: null,
  source: null,
  expires_at: "2026-11-27T21:00:00Z",
});

const orderBody = (i: number) =>
  `{"symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"day","limit_price":"187.25","client_order_id":"bench-${String(i).padStart(12, "0")}"}`;

// ---------------------------------------------------------------------------------------------
// server (in a worker, or on the main thread)

type ServerCmd = { kind: "start"; tls?: { cert: string; key: string } } | { kind: "ports" };

function startServer(tls?: { cert: string; key: string }) {
  const ports = new Map<string, Set<number>>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    async fetch(req, srv) {
      await req.text();
      const who = req.headers.get("x-client") ?? "?";
      let set = ports.get(who);
      if (set === undefined) ports.set(who, (set = new Set()));
      const ip = srv.requestIP(req);
      if (ip) set.add(ip.port);
      return new Response(ORDER_RESPONSE, { headers: { "Content-Type": "application/json" } });
    },
  });
  return { server, connections: () => Object.fromEntries([...ports].map(([k, v]) => [k, v.size])) };
}

function workerMain(): void {
  const self = globalThis as unknown as Worker;
  let s: ReturnType<typeof startServer> | null = null;
  self.onmessage = (e: MessageEvent<ServerCmd>) => {
    if (e.data.kind === "start") {
      s = startServer(e.data.tls);
      self.postMessage({ port: s.server.port });
    } else self.postMessage({ connections: s?.connections() ?? {} });
  };
}

function ask<T>(w: Worker, cmd: ServerCmd): Promise<T> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => resolve(e.data as T);
    w.onerror = (e) => reject(e.error ?? new Error(e.message));
    w.postMessage(cmd);
  });
}

// ---------------------------------------------------------------------------------------------
// clients

interface RunResult {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  written?: { p50: number; p99: number };
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summarize(rt: Float64Array, written?: Float64Array): RunResult {
  const s = rt.slice().sort();
  const r: RunResult = { p50: pct(s, 50), p99: pct(s, 99), p999: pct(s, 99.9), max: s[s.length - 1]! };
  if (written) {
    const w = written.slice().sort();
    r.written = { p50: pct(w, 50), p99: pct(w, 99) };
  }
  return r;
}

let seq = 0;

async function runFetch(url: string, n: number, ca?: string): Promise<RunResult> {
  const rt = new Float64Array(n);
  const headers = { ...HEADERS, "x-client": "fetch" };
  const init = (body: string): RequestInit & { tls?: { ca: string } } => (ca ? { method: "POST", headers, body, keepalive: true, tls: { ca } } : { method: "POST", headers, body, keepalive: true });
  for (let i = 0; i < n; i++) {
    const body = orderBody(seq++);
    const t0 = Bun.nanoseconds();
    const res = await fetch(url, init(body));
    const text = await res.text();
    rt[i] = Bun.nanoseconds() - t0;
    if (res.status !== 200 || text.length !== ORDER_RESPONSE.length) throw new Error(`fetch: ${res.status}`);
  }
  return summarize(rt);
}

async function runRaw(conn: Http1Connection, tpl: RequestTemplate, n: number): Promise<RunResult> {
  const rt = new Float64Array(n);
  const wr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const body = orderBody(seq++);
    const t0 = Bun.nanoseconds();
    const res = await conn.send(tpl.render(body));
    rt[i] = Bun.nanoseconds() - t0;
    wr[i] = conn.writtenAtNs - t0;
    if (res.status !== 200 || res.body.length !== ORDER_RESPONSE.length) throw new Error(`raw: ${res.status}`);
  }
  return summarize(rt, wr);
}

// ---------------------------------------------------------------------------------------------

type Setup = "worker" | "same-thread" | "worker-tls";

function makeCert(): { cert: string; key: string; dir: string } | null {
  const dir = mkdtempSync(join(tmpdir(), "http-bench-"));
  const r = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")],
    { stderr: "pipe" },
  );
  if (r.exitCode !== 0) return null;
  return { cert: readFileSync(join(dir, "c.pem"), "utf8"), key: readFileSync(join(dir, "k.pem"), "utf8"), dir };
}

async function benchSetup(setup: Setup, cert: { cert: string; key: string } | null) {
  const tls = setup === "worker-tls" ? cert! : undefined;
  let port: number;
  let worker: Worker | null = null;
  let local: ReturnType<typeof startServer> | null = null;
  if (setup === "same-thread") {
    local = startServer();
    port = local.server.port!;
  } else {
    worker = new Worker(new URL(import.meta.url));
    port = (await ask<{ port: number }>(worker, { kind: "start", tls })).port;
  }
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const url = `${origin}/v2/orders`;
  const conn = await Http1Connection.connect(origin, tls ? { tls: { ca: tls.cert } } : {});
  const tpl = new RequestTemplate({ origin, method: "POST", path: "/v2/orders", headers: { ...HEADERS, "x-client": "raw" } });
  try {
    await runFetch(url, WARMUP, tls?.cert);
    await runRaw(conn, tpl, WARMUP);
    const runs: { fetch: RunResult[]; raw: RunResult[] } = { fetch: [], raw: [] };
    for (let r = 0; r < RUNS; r++) {
      const order: Array<"fetch" | "raw"> = r % 2 === 0 ? ["fetch", "raw"] : ["raw", "fetch"];
      for (const c of order) {
        if (c === "fetch") runs.fetch.push(await runFetch(url, N, tls?.cert));
        else runs.raw.push(await runRaw(conn, tpl, N));
      }
    }
    const connections = local ? local.connections() : (await ask<{ connections: Record<string, number> }>(worker!, { kind: "ports" })).connections;
    return { runs, connections, noDelay: conn.noDelay };
  } finally {
    conn.close();
    local?.server.stop(true);
    worker?.terminate();
  }
}

const med = (rs: RunResult[], f: (r: RunResult) => number) => median(rs.map(f));
const fmt = (ns: number) => `${(ns / 1e3).toFixed(1)} µs`;

async function main(): Promise<void> {
  const t0 = performance.now();
  const cert = makeCert();
  const setups: Setup[] = cert ? ["worker", "same-thread", "worker-tls"] : ["worker", "same-thread"];
  const out: Record<string, unknown> = {};
  console.log(`\nOrder POST round trip (~150 B JSON out, ${ORDER_RESPONSE.length} B JSON back), keep-alive, loopback; median of ${RUNS} interleaved runs of ${N} requests\n`);
  console.log("| setup | client | p50 | p99 | p99.9 | max (worst run) | written p50 / p99 | fetch/raw p50 | fetch/raw p99 |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  try {
    for (const setup of setups) {
      const { runs, connections, noDelay } = await benchSetup(setup, cert);
      const m = (c: "fetch" | "raw") => ({
        p50: med(runs[c], (r) => r.p50),
        p99: med(runs[c], (r) => r.p99),
        p999: med(runs[c], (r) => r.p999),
        max: Math.max(...runs[c].map((r) => r.max)),
      });
      const f = m("fetch");
      const r = m("raw");
      const w = { p50: med(runs.raw, (x) => x.written!.p50), p99: med(runs.raw, (x) => x.written!.p99) };
      const r50 = f.p50 / r.p50;
      const r99 = f.p99 / r.p99;
      console.log(`| ${setup} | fetch | ${fmt(f.p50)} | ${fmt(f.p99)} | ${fmt(f.p999)} | ${fmt(f.max)} | – | **${r50.toFixed(2)}x** | **${r99.toFixed(2)}x** |`);
      console.log(`| ${setup} | Http1Connection | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.p999)} | ${fmt(r.max)} | ${fmt(w.p50)} / ${fmt(w.p99)} | 1x | 1x |`);
      out[setup] = {
        fetchNs: f,
        rawNs: r,
        rawWrittenNs: w,
        ratioFetchToRawP50: +r50.toFixed(2),
        ratioFetchToRawP99: +r99.toFixed(2),
        ratioFetchToRawP999: +(f.p999 / r.p999).toFixed(2),
        connectionsSeenByServer: connections,
        rawNoDelay: noDelay,
        allRuns: runs,
      };
    }
  } finally {
    if (cert) rmSync(cert.dir, { recursive: true, force: true });
  }
  console.log("\n(connections seen by the server per client, over warm-up and runs: " + setups.map((s) => `${s} ${JSON.stringify((out[s] as { connectionsSeenByServer: unknown }).connectionsSeenByServer)}`).join("; ") + ")");
  const json = {
    bench: "http-client",
    quick: QUICK,
    runs: RUNS,
    requestsPerRun: N,
    warmup: WARMUP,
    requestBytes: orderBody(0).length,
    responseBytes: ORDER_RESPONSE.length,
    setups: out,
    totalSeconds: +((performance.now() - t0) / 1e3).toFixed(1),
  };
  console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
}

if (Bun.isMainThread) await main();
else workerMain();
