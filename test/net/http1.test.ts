/**
 * Http1Connection, ResponseParser, RequestTemplate and ConnectionPool against servers we control:
 * a raw `Bun.listen` TCP server (to write chunked, split, malformed and closing responses byte
 * for byte) and `Bun.serve` (plain and TLS, with certificates made here by `openssl`). No sleeps:
 * every wait is for a condition; every port is 0.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatHeaders, Http1Connection, HttpError, RequestTemplate, ResponseParser } from "../../daemon/net/http1.ts";
import { ConnectionPool } from "../../daemon/net/pool.ts";
import { waitUntil } from "../support/wait.ts";

// ---------------------------------------------------------------------------------------------
// a raw TCP server

interface Req {
  conn: number;
  method: string;
  path: string;
  head: string;
  body: string;
}
interface ConnState {
  id: number;
  buf: string;
}
type RawSocket = Bun.Socket<ConnState>;
interface RawServer {
  url: string;
  port: number;
  requests: Req[];
  opened: number;
  closed: number;
  sockets: Map<number, RawSocket>;
  /** Most requests that arrived in one read (> 1 would mean the client pipelined). */
  maxPerRead: number;
  stop(): void;
}

/** A TCP server that parses requests (head + Content-Length body) and lets `onRequest` answer with raw bytes. */
function rawServer(onRequest: (s: RawSocket, req: Req) => void, onOpen?: (s: RawSocket) => void): RawServer {
  let ids = 0;
  const srv: RawServer = {
    url: "",
    port: 0,
    requests: [],
    opened: 0,
    closed: 0,
    sockets: new Map(),
    maxPerRead: 0,
    stop: () => listener.stop(true),
  };
  const listener = Bun.listen<ConnState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { id: ++ids, buf: "" };
        s.setNoDelay(true);
        srv.opened++;
        srv.sockets.set(s.data.id, s);
        onOpen?.(s);
      },
      data(s, d) {
        s.data.buf += d.toString("latin1");
        let inThisRead = 0;
        for (;;) {
          const end = s.data.buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          if (++inThisRead > srv.maxPerRead) srv.maxPerRead = inThisRead;
          const head = s.data.buf.slice(0, end);
          const m = /content-length:\s*(\d+)/i.exec(head);
          const len = m ? Number(m[1]) : 0;
          if (s.data.buf.length < end + 4 + len) return;
          const body = s.data.buf.slice(end + 4, end + 4 + len);
          s.data.buf = s.data.buf.slice(end + 4 + len);
          const [method, path] = head.split(" ");
          const req = { conn: s.data.id, method: method!, path: path!, head, body };
          srv.requests.push(req);
          onRequest(s, req);
        }
      },
      close(s) {
        srv.closed++;
        srv.sockets.delete(s.data.id);
      },
    },
  });
  srv.port = listener.port;
  srv.url = `http://127.0.0.1:${listener.port}`;
  return srv;
}

const ok = (body: string, extra = "") => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

async function rejection(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HttpError);
    return e as HttpError;
  }
  throw new Error("expected a rejection");
}

/** Writes `parts` one per client read: each next part only after the client has read the previous. */
async function writeSplit(s: RawSocket, conn: Http1Connection, parts: string[]): Promise<void> {
  for (const part of parts) {
    const before = conn.reads;
    s.write(part);
    await waitUntil(() => conn.reads > before || !conn.open || !conn.busy, "client read the part");
  }
}

// ---------------------------------------------------------------------------------------------

describe("RequestTemplate", () => {
  test("prepared head, only Content-Length and body vary (UTF-8 byte length)", () => {
    const t = new RequestTemplate({
      origin: "https://paper-api.alpaca.markets",
      method: "POST",
      path: "/v2/orders",
      headers: { "APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s", "Content-Type": "application/json" },
    });
    expect(t.render('{"a":1}')).toBe(
      "POST /v2/orders HTTP/1.1\r\nHost: paper-api.alpaca.markets\r\nAPCA-API-KEY-ID: k\r\nAPCA-API-SECRET-KEY: s\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
    );
    expect(t.render('"é"')).toContain("Content-Length: 4\r\n\r\n\"é\"");
    expect(t.render()).toEndWith("Content-Length: 0\r\n\r\n");
    const g = new RequestTemplate({ origin: "http://127.0.0.1:8080", method: "GET", path: "/v2/clock" });
    expect(g.render()).toBe("GET /v2/clock HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
  });

  test("rejects header injection and client-owned headers", () => {
    expect(() => formatHeaders({ "X-A": "a\r\nX-B: b" })).toThrow(TypeError);
    expect(() => formatHeaders({ "Bad Name": "x" })).toThrow(TypeError);
    expect(() => formatHeaders({ "Content-Length": "3" })).toThrow(TypeError);
    expect(() => new RequestTemplate({ origin: "http://x", method: "GET", path: "/a b" })).toThrow(TypeError);
    expect(formatHeaders([["A", "1"], ["B", "2"]])).toBe("A: 1\r\nB: 2\r\n");
  });
});

describe("ResponseParser (byte by byte)", () => {
  const feed = (text: string, head = false, step = 1) => {
    const p = new ResponseParser();
    p.reset(head);
    const bytes = Buffer.from(text);
    let state: "more" | "done" = "more";
    for (let i = 0; i < bytes.length; i += step) {
      expect(state).toBe("more");
      p.push(bytes.subarray(i, i + step));
      state = p.parse();
    }
    return { p, state };
  };

  test("Content-Length body split at every byte", () => {
    const body = '{"id":"é€"}';
    const { p, state } = feed(ok(body, "X-Dup: a\r\nx-dup: b\r\n"));
    expect(state).toBe("done");
    expect(p.result().status).toBe(200);
    expect(p.result().body).toBe(body);
    expect(p.result().headers.get("x-dup")).toBe("a, b");
    expect(p.result().headers.get("content-type")).toBe("application/json");
  });

  test("chunked with extensions and trailers, UTF-8 split across chunks, at every split size", () => {
    const euro = Buffer.from("€"); // 3 bytes: 1 in the first chunk, 2 in the second
    const wire = Buffer.concat([
      Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
      Buffer.from("3;name=value;x\r\nab"),
      euro.subarray(0, 1),
      Buffer.from("\r\n4 ; ext\r\n"),
      euro.subarray(1),
      Buffer.from("cd\r\n"),
      Buffer.from("0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n"),
    ]);
    for (const step of [1, 2, 7, wire.length]) {
      const p = new ResponseParser();
      p.reset(false);
      let state: "more" | "done" = "more";
      for (let i = 0; i < wire.length; i += step) {
        expect(state).toBe("more");
        p.push(wire.subarray(i, i + step));
        state = p.parse();
      }
      expect(state).toBe("done");
      expect(p.result().body).toBe("ab€cd");
      expect(p.buffered).toBe(0);
    }
  });

  test("no body for 204, 304 and HEAD whatever the headers say", () => {
    expect(feed("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n").state).toBe("done");
    expect(feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").state).toBe("done");
    const h = feed("HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n", true);
    expect(h.state).toBe("done");
    expect(h.p.result().body).toBe("");
  });

  test("interim 1xx responses are skipped", () => {
    const { p, state } = feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok("{}"), false, 5);
    expect(state).toBe("done");
    expect(p.result().status).toBe(200);
    expect(p.result().headers.has("link")).toBe(false);
  });

  test("malformed responses throw protocol errors", () => {
    const bad = (text: string, p = new ResponseParser(1024)) => {
      p.reset(false);
      p.push(Buffer.from(text));
      expect(() => p.parse()).toThrow(HttpError);
    };
    bad("HTTP/2 200 OK\r\n\r\n");
    bad("HTTP/1.1 20 OK\r\n\r\n");
    bad("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
    bad("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
    bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n");
    bad("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n");
    bad("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n");
    bad("HTTP/1.1 101 Switching Protocols\r\n\r\n");
    bad(`HTTP/1.1 200 OK\r\nX: ${"a".repeat(2000)}`); // head over the 1 KiB limit, unterminated
  });
});


// ---------------------------------------------------------------------------------------------

const ORDER_JSON = JSON.stringify({
  id: "61e69015-8549-4bfd-b9c3-01e75843f47d",
  client_order_id: "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4",
  symbol: "AAPL",
  status: "accepted",
});

/** The scripted server most connection tests share: the path says how to answer. */
function scriptedServer() {
  const held: RawSocket[] = [];
  const srv = rawServer((s, r) => {
    const path = r.path;
    if (path.startsWith("/n/")) s.write(ok(`{"n":${path.slice(3)}}`));
    else if (path === "/ok") s.write(ok(ORDER_JSON));
    else if (path === "/echo") s.write(ok(JSON.stringify({ method: r.method, body: r.body })));
    else if (path === "/hold") held.push(s);
    else if (path === "/close-now") s.end();
    else if (path === "/close-mid") {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":`);
      s.end();
    } else if (path === "/close-mid-chunked") {
      s.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
      s.end();
    } else if (path === "/conn-close") {
      s.write(ok("{}", "Connection: close\r\n"));
      s.end();
    } else if (path === "/http10") s.write("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    else if (path === "/http10-ka") s.write("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi");
    else if (path === "/until-close") {
      s.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstreamed ");
      s.write("until close");
      s.end();
    } else if (path === "/interim") s.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + ok("{}"));
    else if (path === "/trailing") s.write(ok("{}") + "HTTP/1.1 200 OK\r\n");
    else if (path === "/204") s.write("HTTP/1.1 204 No Content\r\n\r\n");
    else if (path === "/304") s.write("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n");
    else if (path === "/head") s.write("HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n");
    else if (path === "/chunked") s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nabcd\r\n2\r\nef\r\n0\r\nT: 1\r\n\r\n");
    else if (path === "/bad-status") s.write("HTTP/1.1 2x0 OK\r\n\r\n");
    else if (path === "/bad-chunk") s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    else s.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  return { srv, held };
}

describe("Http1Connection against a raw TCP server", () => {
  let srv: RawServer;
  let held: RawSocket[];
  beforeAll(() => ({ srv, held } = scriptedServer()));
  afterAll(() => srv.stop());

  /** The server-side connection id of the last request to `path`. */
  const connIdOf = (path: string) => srv.requests.findLast((r) => r.path === path)!.conn;

  test("1,000 sequential requests on one connection (keep-alive), TCP_NODELAY set", async () => {
    const own = rawServer((s, r) => s.write(ok(`{"n":${r.path.slice(3)}}`)));
    const c = await Http1Connection.connect(own.url);
    try {
      expect(c.noDelay).toBe(true);
      for (let i = 0; i < 1000; i++) {
        const res = await c.request("GET", `/n/${i}`);
        expect(res.status).toBe(200);
        expect(res.body).toBe(`{"n":${i}}`);
      }
      expect(own.opened).toBe(1);
      expect(own.requests.length).toBe(1000);
      expect(c.open).toBe(true);
      expect(c.completed).toBe(1000);
    } finally {
      c.close();
      own.stop();
    }
  });

  test("a Content-Length response split across many reads, then a chunked one split mid-line", async () => {
    const c = await Http1Connection.connect(srv.url);
    try {
      const wire = ok(ORDER_JSON);
      const n = held.length;
      let p = c.request("GET", "/hold");
      await waitUntil(() => held.length > n, "request arrived");
      const parts: string[] = [];
      for (let i = 0; i < wire.length; i += 9) parts.push(wire.slice(i, i + 9));
      const reads = c.reads;
      await writeSplit(held.at(-1)!, c, parts);
      expect((await p).body).toBe(ORDER_JSON);
      expect(c.reads - reads).toBe(parts.length);

      p = c.request("GET", "/hold");
      await waitUntil(() => held.length > n + 1, "request arrived");
      await writeSplit(held.at(-1)!, c, ["HTTP/1.1 200 OK\r\nTransfer-", "Encoding: chunked\r\n\r", "\n1", "a;ext=1\r", "\n0123456789", "abcdefghijklmnop\r", "\n0\r\nTrailer-A: x\r\n", "\r\n"]);
      expect((await p).body).toBe("0123456789abcdefghijklmnop");
      expect(c.open).toBe(true);
      expect((await c.request("GET", "/ok")).body).toBe(ORDER_JSON);
      expect(connIdOf("/ok")).toBe(srv.requests.findLast((r) => r.path === "/hold")!.conn);
    } finally {
      c.close();
    }
  });

  test("several responses in one read: interim 100 and 103 then the final one", async () => {
    const c = await Http1Connection.connect(srv.url);
    try {
      const r = await c.request("GET", "/interim");
      expect(r.status).toBe(200);
      expect(r.body).toBe("{}");
      expect(c.open).toBe(true);
      expect((await c.request("GET", "/chunked")).body).toBe("abcdef");
      expect(connIdOf("/chunked")).toBe(connIdOf("/interim"));
    } finally {
      c.close();
    }
  });

  test("bytes after a complete response: the response is delivered, the connection is closed", async () => {
    const c = await Http1Connection.connect(srv.url);
    let reason = "";
    c.onclose = (_c, r) => (reason = r);
    const r = await c.request("GET", "/trailing");
    expect(r.body).toBe("{}");
    expect(c.open).toBe(false);
    expect(reason).toContain("bytes after the response");
    const e = await rejection(c.request("GET", "/ok"));
    expect(e.code).toBe("closed");
    expect(e.maybeSent).toBe(false);
  });

  test("unsolicited bytes on an idle connection close it", async () => {
    const c = await Http1Connection.connect(srv.url);
    const n = held.length;
    const p = c.request("GET", "/hold");
    await waitUntil(() => held.length > n, "request arrived");
    held.at(-1)!.write(ok("{}"));
    await p;
    expect(c.open).toBe(true);
    held.at(-1)!.write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
    await waitUntil(() => !c.open, "connection closed");
  });

  test("204, 304 and HEAD have no body; the connection is reused after them", async () => {
    const c = await Http1Connection.connect(srv.url);
    try {
      expect((await c.request("GET", "/204")).status).toBe(204);
      const r304 = await c.request("GET", "/304");
      expect(r304.status).toBe(304);
      expect(r304.body).toBe("");
      const h = await c.request("HEAD", "/head");
      expect(h.status).toBe(200);
      expect(h.headers.get("content-length")).toBe("900");
      expect(h.body).toBe("");
      expect((await c.request("GET", "/ok")).body).toBe(ORDER_JSON);
      const ids = new Set(["/204", "/304", "/head", "/ok"].map((p) => connIdOf(p)));
      expect(ids.size).toBe(1);
    } finally {
      c.close();
    }
  });

  test("POST bodies carry Content-Length (bytes); POST without a body sends Content-Length: 0", async () => {
    const c = await Http1Connection.connect(srv.url);
    try {
      const r = await c.request("POST", "/echo", "Content-Type: application/json\r\n", '{"q":"é"}');
      expect(JSON.parse(r.body)).toEqual({ method: "POST", body: Buffer.from('{"q":"é"}').toString("latin1") });
      expect(srv.requests.at(-1)!.head).toContain("Content-Length: 10");
      await c.request("POST", "/echo");
      expect(srv.requests.at(-1)!.head).toContain("Content-Length: 0");
      expect(srv.requests.at(-1)!.head).toContain(`Host: 127.0.0.1:${srv.port}`);
      await expect(c.request("GET", "/a b")).rejects.toThrow(TypeError);
      await expect(c.request("GET", "/a", "X: 1")).rejects.toThrow(TypeError);
    } finally {
      c.close();
    }
  });

  test("Connection: close from the server: delivered, then not reused", async () => {
    const c = await Http1Connection.connect(srv.url);
    let closes = 0;
    c.onclose = () => closes++;
    const r = await c.request("GET", "/conn-close");
    expect(r.status).toBe(200);
    expect(r.headers.get("connection")).toBe("close");
    expect(c.open).toBe(false);
    expect(closes).toBe(1);
    const e = await rejection(c.request("GET", "/ok"));
    expect(e.code).toBe("closed");
    expect(e.maybeSent).toBe(false);
  });

  test("HTTP/1.0 is reused only with Connection: keep-alive", async () => {
    const c = await Http1Connection.connect(srv.url);
    expect((await c.request("GET", "/http10-ka")).body).toBe("hi");
    expect(c.open).toBe(true);
    const id = connIdOf("/http10-ka");
    expect((await c.request("GET", "/http10")).body).toBe("hi");
    expect(c.open).toBe(false);
    await waitUntil(() => !srv.sockets.has(id), "server saw the client close");
  });

  test("no Content-Length, no chunked: the body runs until the server closes", async () => {
    const c = await Http1Connection.connect(srv.url);
    const r = await c.request("GET", "/until-close");
    expect(r.body).toBe("streamed until close");
    expect(c.open).toBe(false);
  });

  test("server closes mid-response or before responding: closed, maybeSent true", async () => {
    for (const path of ["/close-mid", "/close-mid-chunked", "/close-now"]) {
      const c = await Http1Connection.connect(srv.url);
      const e = await rejection(c.request("POST", path, "", '{"symbol":"AAPL"}'));
      expect(e.code).toBe("closed");
      expect(e.maybeSent).toBe(true);
      expect(c.open).toBe(false);
    }
  });

  test("server closes an idle connection: open turns false, the next request is rejected unsent", async () => {
    const c = await Http1Connection.connect(srv.url);
    await c.request("GET", "/ok");
    const id = connIdOf("/ok");
    let reason = "";
    c.onclose = (_c, r) => (reason = r);
    srv.sockets.get(id)!.end();
    await waitUntil(() => !c.open, "client saw the close");
    expect(reason).toContain("closed by the server");
    const e = await rejection(c.request("POST", "/echo", "", "{}"));
    expect(e.code).toBe("closed");
    expect(e.maybeSent).toBe(false);
  });

  test("timeouts: in flight → timeout, maybeSent true, connection closed; queued → timeout or closed, maybeSent false", async () => {
    const c = await Http1Connection.connect(srv.url);
    const first = c.request("GET", "/hold", "", undefined, 5_000);
    const queuedShort = c.request("GET", "/ok", "", undefined, 30);
    const e1 = await rejection(queuedShort);
    expect(e1.code).toBe("timeout");
    expect(e1.maybeSent).toBe(false);
    expect(c.open).toBe(true);
    c.close();
    const e0 = await rejection(first);
    expect(e0.code).toBe("closed");
    expect(e0.maybeSent).toBe(true);

    const d = await Http1Connection.connect(srv.url);
    const inflight = d.request("GET", "/hold", "", undefined, 40);
    const behind = d.request("GET", "/ok", "", undefined, 5_000);
    const e2 = await rejection(inflight);
    expect(e2.code).toBe("timeout");
    expect(e2.maybeSent).toBe(true);
    expect(d.open).toBe(false);
    const e3 = await rejection(behind);
    expect(e3.code).toBe("closed");
    expect(e3.maybeSent).toBe(false);
  });

  test("malformed responses: protocol error, maybeSent true, connection closed", async () => {
    for (const path of ["/bad-status", "/bad-chunk"]) {
      const c = await Http1Connection.connect(srv.url);
      const e = await rejection(c.request("GET", path));
      expect(e.code).toBe("protocol");
      expect(e.maybeSent).toBe(true);
      expect(c.open).toBe(false);
    }
  });

  test("concurrent calls are queued FIFO on one connection, never pipelined", async () => {
    const own = rawServer((s, r) => s.write(ok(`{"n":${r.path.slice(3)}}`)));
    const c = await Http1Connection.connect(own.url);
    try {
      const ps = Array.from({ length: 50 }, (_, i) => c.request("GET", `/n/${i}`));
      expect(c.busy).toBe(true);
      expect(c.queued).toBe(49);
      const rs = await Promise.all(ps);
      expect(rs.map((r) => JSON.parse(r.body).n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(own.requests.map((r) => r.path)).toEqual(Array.from({ length: 50 }, (_, i) => `/n/${i}`));
      expect(own.maxPerRead).toBe(1);
      expect(own.opened).toBe(1);
    } finally {
      c.close();
      own.stop();
    }
  });

  test("connect errors: refused → connect; no TLS handshake → timeout", async () => {
    const gone = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = gone.port;
    gone.stop(true);
    const e = await rejection(Http1Connection.connect(`http://127.0.0.1:${port}`));
    expect(e.code).toBe("connect");
    expect(e.maybeSent).toBe(false);

    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const t = await rejection(Http1Connection.connect(`https://127.0.0.1:${silent.port}`, { connectTimeoutMs: 50 }));
      expect(t.code).toBe("timeout");
      expect(t.maybeSent).toBe(false);
    } finally {
      silent.stop(true);
    }
    await expect(Http1Connection.connect("ftp://x")).rejects.toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------

describe("Http1Connection against Bun.serve", () => {
  let dir: string;
  let cert: string;
  let key: string;
  let otherCert: string;
  let otherKey: string;
  const handler = async (req: Request) => {
    const url = new URL(req.url);
    if (url.pathname === "/v2/orders" && req.method === "POST") {
      const order = (await req.json()) as Record<string, unknown>;
      return Response.json({ ...JSON.parse(ORDER_JSON), symbol: order.symbol, qty: order.qty });
    }
    if (url.pathname === "/chunked") {
      // Parts written on later turns of the event loop, so Bun cannot know the length: chunked.
      const enc = new TextEncoder();
      const turn = () => new Promise((r) => setImmediate(r));
      return new Response(
        new ReadableStream({
          async pull(c) {
            await turn();
            c.enqueue(enc.encode("part1-"));
            await turn();
            c.enqueue(enc.encode("part2"));
            c.close();
          },
        }),
      );
    }
    return Response.json({ timestamp: "2026-11-27T09:30:00-05:00", is_open: true });
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "http1-tls-"));
    const make = (name: string, cn: string, san: string) => {
      const r = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${cn}`, "-addext", `subjectAltName=${san}`, "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`)], { stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
      return [readFileSync(join(dir, `${name}.crt`), "utf8"), readFileSync(join(dir, `${name}.key`), "utf8")] as const;
    };
    [cert, key] = make("local", "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
    [otherCert, otherKey] = make("other", "other.test", "DNS:other.test");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const orderTpl = (origin: string) =>
    new RequestTemplate({ origin, method: "POST", path: "/v2/orders", headers: { "APCA-API-KEY-ID": "key", "APCA-API-SECRET-KEY": "secret", "Content-Type": "application/json" } });

  test("plain: template POSTs, GET, a chunked (streamed) body, 300 sequential", async () => {
    using server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
    const origin = `http://127.0.0.1:${server.port}`;
    const c = await Http1Connection.connect(origin);
    try {
      const tpl = orderTpl(origin);
      for (let i = 0; i < 300; i++) {
        const r = await c.send(tpl.render(JSON.stringify({ symbol: "AAPL", qty: String(i), side: "buy", type: "market", time_in_force: "day" })));
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body).qty).toBe(String(i));
      }
      expect(JSON.parse((await c.request("GET", "/v2/clock")).body).is_open).toBe(true);
      const ch = await c.request("GET", "/chunked");
      expect(ch.headers.get("transfer-encoding")).toBe("chunked");
      expect(ch.body).toBe("part1-part2");
      expect(c.open).toBe(true);
    } finally {
      c.close();
    }
  });

  test("TLS: verified with the CA; without it, or for another host name, HttpError tls", async () => {
    using server = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert, key }, fetch: handler });
    const origin = `https://127.0.0.1:${server.port}`;

    const noCa = await rejection(Http1Connection.connect(origin));
    expect(noCa.code).toBe("tls");
    expect(noCa.maybeSent).toBe(false);
    expect(noCa.message).toMatch(/self.signed|SELF_SIGNED/i);

    const c = await Http1Connection.connect(origin, { tls: { ca: cert } });
    try {
      expect(c.tls).toBe(true);
      expect(c.noDelay).toBe(true);
      const tpl = orderTpl(origin);
      for (let i = 0; i < 50; i++) {
        const r = await c.send(tpl.render(JSON.stringify({ symbol: "MSFT", qty: String(i) })));
        expect(JSON.parse(r.body)).toMatchObject({ symbol: "MSFT", qty: String(i), status: "accepted" });
      }
      expect((await c.request("GET", "/chunked")).body).toBe("part1-part2");
    } finally {
      c.close();
    }

    const insecure = await Http1Connection.connect(origin, { tls: { rejectUnauthorized: false } });
    expect((await insecure.request("GET", "/v2/clock")).status).toBe(200);
    insecure.close();
  });

  test("TLS: the host name is checked (certificate for other.test)", async () => {
    using server = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert: otherCert, key: otherKey }, fetch: handler });
    const origin = `https://127.0.0.1:${server.port}`;
    const e = await rejection(Http1Connection.connect(origin, { tls: { ca: otherCert } }));
    expect(e.code).toBe("tls");
    expect(e.message).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
    const c = await Http1Connection.connect(origin, { tls: { ca: otherCert, serverName: "other.test" } });
    expect((await c.request("GET", "/v2/clock")).status).toBe(200);
    c.close();
  });
});

// ---------------------------------------------------------------------------------------------

describe("ConnectionPool", () => {
  /** A server that answers /v2/clock (unless `holdClock`) and POST /v2/orders, and records, per connection, whether a business request came before an answered clock. */
  function brokerServer(opts: { holdClock?: boolean; closeOnClock?: boolean } = {}) {
    const verifiedConns = new Set<number>();
    const heldClocks: RawSocket[] = [];
    let violations = 0;
    const srv = rawServer((s, r) => {
      if (r.path === "/v2/clock") {
        if (opts.closeOnClock) return void s.end();
        if (opts.holdClock) return void heldClocks.push(s);
        verifiedConns.add(r.conn);
        s.write(ok('{"is_open":true}'));
      } else {
        if (!verifiedConns.has(r.conn)) violations++;
        s.write(ok(ORDER_JSON));
      }
    });
    return {
      srv,
      heldClocks,
      verifiedConns,
      violations: () => violations,
      releaseClocks() {
        for (const s of heldClocks.splice(0)) {
          verifiedConns.add(s.data.id);
          s.write(ok('{"is_open":true}'));
        }
      },
    };
  }
  const clocks = (srv: RawServer) => srv.requests.filter((r) => r.path === "/v2/clock").length;

  test("verifies N connections with GET /v2/clock before any order; orders go to verified connections", async () => {
    const b = brokerServer({ holdClock: true });
    const pool = new ConnectionPool({ origin: b.srv.url, size: 2, warmIntervalMs: 60_000 });
    try {
      await waitUntil(() => b.heldClocks.length === 2, "both warm requests arrived");
      expect(pool.verified).toBe(0);
      const e = await rejection(pool.request("POST", "/v2/orders", "", "{}"));
      expect(e.code).toBe("connect");
      expect(e.maybeSent).toBe(false);
      b.releaseClocks();
      await pool.ready(2);
      const tpl = new RequestTemplate({ origin: b.srv.url, method: "POST", path: "/v2/orders", headers: { "Content-Type": "application/json" } });
      const rs = await Promise.all([pool.send(tpl.render('{"a":1}')), pool.send(tpl.render('{"a":2}')), pool.send(tpl.render('{"a":3}'))]);
      expect(rs.every((r) => r.status === 200)).toBe(true);
      const orderConns = new Set(b.srv.requests.filter((r) => r.path === "/v2/orders").map((r) => r.conn));
      expect(orderConns.size).toBe(2); // spread over both idle connections
      expect(b.violations()).toBe(0);
    } finally {
      pool.close();
      b.srv.stop();
    }
  });

  test("reconnects in the background when a connection closes, and verifies the new one first", async () => {
    const b = brokerServer();
    const events: string[] = [];
    const pool = new ConnectionPool({ origin: b.srv.url, size: 2, warmIntervalMs: 60_000, onEvent: (e) => events.push(e.kind) });
    try {
      await pool.ready();
      expect(b.srv.opened).toBe(2);
      const [id] = b.srv.sockets.keys();
      b.srv.sockets.get(id!)!.end();
      await waitUntil(() => b.srv.opened === 3 && pool.verified === 2, "a third connection opened and verified");
      expect(events.filter((k) => k === "closed").length).toBe(1);
      expect(events.filter((k) => k === "verified").length).toBe(3);
      for (let i = 0; i < 20; i++) expect((await pool.request("POST", "/v2/orders", "", "{}")).status).toBe(200);
      expect(b.violations()).toBe(0);
      expect(pool.stats.closes).toBe(1);
    } finally {
      pool.close();
      b.srv.stop();
    }
  });

  test("keeps idle connections warm with the cheap request at the interval", async () => {
    const b = brokerServer();
    const pool = new ConnectionPool({ origin: b.srv.url, size: 2, warmIntervalMs: 20 });
    try {
      await pool.ready();
      await waitUntil(() => clocks(b.srv) >= 8, "repeated warm requests");
      expect(b.srv.opened).toBe(2); // same connections, kept alive
      expect(pool.warmStatus).toEqual([200, 200]);
    } finally {
      pool.close();
      b.srv.stop();
    }
  });

  test("a server that closes on the warm request is never used; reconnects back off", async () => {
    const b = brokerServer({ closeOnClock: true });
    const pool = new ConnectionPool({ origin: b.srv.url, size: 1, backoff: { initialMs: 5, maxMs: 20, multiplier: 2, jitter: 0 } });
    try {
      await waitUntil(() => pool.stats.connects >= 4, "several reconnect attempts");
      expect(pool.verified).toBe(0);
      const e = await rejection(pool.request("POST", "/v2/orders", "", "{}"));
      expect(e.code).toBe("connect");
      expect(b.srv.requests.some((r) => r.path === "/v2/orders")).toBe(false);
    } finally {
      pool.close();
      b.srv.stop();
    }
  });
});
