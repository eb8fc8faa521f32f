/**
 * A small HTTP/1.1 client connection on `Bun.connect`, for the order path: one persistent
 * keep-alive connection (plain or TLS), requests written as one prepared string
 * (`RequestTemplate`), TCP_NODELAY set so that a small request never waits for Nagle.
 *
 * Why not `fetch`: `bench/http-client.bench.ts` measures both in the same run. Order POST
 * (~150 B out, ~860 B back) on a keep-alive loopback connection, server on another thread, three
 * invocations on the 2-vCPU VM: p50 fetch 56-120 µs vs this client 31-35 µs (fetch/raw 1.8-3.6x),
 * p99 1.1-6x; over TLS p50 66-88 vs 35-54 µs (1.6-1.9x); server on the same thread 1.75-2.1x.
 * The price is this file.
 *
 * Scope, on purpose:
 * - One request at a time per connection, no pipelining. Concurrent calls are QUEUED in FIFO
 *   order (each written once the previous response is complete); a queued request that times out
 *   is removed and rejected with `maybeSent: false`. The pool (`pool.ts`) hands business requests
 *   to idle connections, so queueing only happens when every connection is busy.
 * - Responses: status line + headers (strict CRLF), then a body framed per RFC 9112 §6.3: none for
 *   HEAD, 1xx, 204 and 304; `Transfer-Encoding: chunked` (chunk extensions ignored, trailers read
 *   and dropped); `Content-Length`; else read until the server closes. Interim 1xx responses
 *   (100 Continue, 103 Early Hints) are skipped; 101 is a protocol error (we never ask to switch).
 * - Keep-alive: HTTP/1.1 unless the response says `Connection: close`; HTTP/1.0 only with
 *   `Connection: keep-alive`. A connection that is not kept alive is closed as soon as the response
 *   is complete, and `open` turns false before the caller's promise resolves.
 * - Bytes from the server that belong to no request (after a complete response, or while idle)
 *   mean the two sides disagree about framing: the connection is closed (the response that was
 *   complete is still delivered).
 * - Failures reject with `HttpError`: `closed` (the server closed or reset the connection before
 *   the response was complete, or the connection was closed locally), `timeout`, `protocol`
 *   (malformed or oversized response; the connection is closed), `connect`, `tls` (handshake or
 *   certificate verification failed). `maybeSent` is true once any byte of the request was handed
 *   to the kernel: the order may have reached the broker, so its outcome is unknown and must be
 *   reconciled (e.g. by client_order_id), never blindly resent.
 * - A timed-out request closes the connection (its late response would otherwise be read as the
 *   next request's).
 * - TLS: certificate chain and host name are verified by Bun (`rejectUnauthorized` defaults to
 *   true; the host name check gives ERR_TLS_CERT_ALTNAME_INVALID). `ca` replaces the default
 *   trust store (for tests or a private CA). SNI is the URL's host name (not sent for an IP).
 *
 * Bodies are decoded as UTF-8 strings; the client is for small JSON bodies (limits below).
 */

export type HttpErrorCode = "closed" | "timeout" | "protocol" | "connect" | "tls";

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  /** true when the request may have reached the server (bytes were written): the caller must treat the outcome as unknown */
  readonly maybeSent: boolean;
  constructor(code: HttpErrorCode, message: string, maybeSent: boolean) {
    super(message);
    this.name = "HttpError";
    this.code = code;
    this.maybeSent = maybeSent;
  }
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Map<string, string>;
  body: string;
}

export interface Http1ConnectOptions {
  /** TCP connect plus TLS handshake; on expiry the attempt fails with code "timeout". Default 10 s. */
  connectTimeoutMs?: number;
  tls?: {
    /** PEM; replaces the default trust store. */
    ca?: string;
    /** Default true: certificate chain and host name are checked. */
    rejectUnauthorized?: boolean;
    /** SNI and the name the certificate is checked against; default the URL's host name. */
    serverName?: string;
  };
  /** Used by `request`/`send` when no timeout is given. Default 10 s; 0 means none. */
  requestTimeoutMs?: number;
  /** Largest response head (status line + headers). Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Largest response body. Default 16 MiB. */
  maxBodyBytes?: number;
}

// ---------------------------------------------------------------------------------------------
// request construction

const CRLF = "\r\n";
const BAD_PATH = /[\s\x00-\x1f\x7f]/;
const BAD_HEADER_VALUE = /[\r\n\x00]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function hostOf(url: URL): string {
  return url.host; // includes a non-default port, as the Host header wants
}

/** Formats header lines (CRLF-terminated) once, validating names and values against injection. */
export function formatHeaders(headers: Record<string, string> | Iterable<[string, string]>): string {
  const entries = Symbol.iterator in headers ? [...(headers as Iterable<[string, string]>)] : Object.entries(headers);
  let out = "";
  for (const [name, value] of entries) {
    if (!TOKEN.test(name)) throw new TypeError(`bad header name ${JSON.stringify(name)}`);
    if (BAD_HEADER_VALUE.test(value)) throw new TypeError(`bad value for header ${name}`);
    const lower = name.toLowerCase();
    if (lower === "host" || lower === "content-length" || lower === "transfer-encoding") {
      throw new TypeError(`header ${name} is set by the client, not the template`);
    }
    out += `${name}: ${value}${CRLF}`;
  }
  return out;
}

/**
 * A request prepared once: method, path, Host and the fixed headers (auth keys, content type)
 * are one string; `render(body)` appends only Content-Length and the body. No header map is built
 * per request.
 *
 * ```ts
 * const tpl = new RequestTemplate({ origin: "https://paper-api.alpaca.markets", method: "POST", path: "/v2/orders",
 *   headers: { "APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret, "Content-Type": "application/json" } });
 * const res = await conn.send(tpl.render(JSON.stringify(order)));
 * ```
 */
export class RequestTemplate {
  readonly method: string;
  readonly path: string;
  /** true for HEAD: the response has no body whatever its headers say. */
  readonly head: boolean;
  readonly #prefix: string; // "... headers ...Content-Length: "
  readonly #noBody: string; // the whole request when there is no body

  constructor(o: { origin: string; method: string; path: string; headers?: Record<string, string> | Iterable<[string, string]> }) {
    if (!TOKEN.test(o.method)) throw new TypeError(`bad method ${JSON.stringify(o.method)}`);
    if (!o.path.startsWith("/") || BAD_PATH.test(o.path)) throw new TypeError(`bad path ${JSON.stringify(o.path)}`);
    const url = new URL(o.origin);
    this.method = o.method;
    this.path = o.path;
    this.head = o.method === "HEAD";
    const start = `${o.method} ${o.path} HTTP/1.1${CRLF}Host: ${hostOf(url)}${CRLF}${formatHeaders(o.headers ?? {})}`;
    this.#prefix = `${start}Content-Length: `;
    const needsLength = o.method === "POST" || o.method === "PUT" || o.method === "PATCH";
    this.#noBody = needsLength ? `${start}Content-Length: 0${CRLF}${CRLF}` : `${start}${CRLF}`;
  }

  /** The whole request: the prepared head, Content-Length (bytes, UTF-8) and `body`. */
  render(body?: string): string {
    if (body === undefined) return this.#noBody;
    return this.#prefix + Buffer.byteLength(body) + "\r\n\r\n" + body;
  }
}

// ---------------------------------------------------------------------------------------------
// response parser

const enum St {
  Head = 0,
  Fixed = 1,
  ChunkSize = 2,
  ChunkData = 3,
  Trailers = 4,
  UntilClose = 5,
  Done = 6,
}

const CR = 13;
const LF = 10;

/**
 * Incremental HTTP/1.1 response parser over a growable byte buffer. `push(bytes)` appends;
 * `parse()` advances and returns "more" (needs bytes), "done" (response ready in `result()`), or
 * throws HttpError("protocol"). `closed()` ends a read-until-close body.
 */
export class ResponseParser {
  #buf: Buffer = Buffer.allocUnsafe(4096);
  #r = 0; // read position
  #w = 0; // write position
  #st: St = St.Head;
  #head = false; // request was HEAD
  #scan = 0; // where the search for the end of the head resumes
  #status = 0;
  #headers = new Map<string, string>();
  #keepAlive = true;
  #remaining = 0; // Fixed: body bytes left; ChunkData: chunk bytes left
  #parts: Buffer[] = []; // chunked body pieces
  #partBytes = 0;
  #body = "";
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;

  constructor(maxHeaderBytes = 64 * 1024, maxBodyBytes = 16 * 1024 * 1024) {
    this.maxHeaderBytes = maxHeaderBytes;
    this.maxBodyBytes = maxBodyBytes;
  }

  /** Starts a new response; bytes already buffered (none, normally) are kept. */
  reset(head: boolean): void {
    this.#st = St.Head;
    this.#head = head;
    this.#scan = this.#r;
    this.#status = 0;
    this.#headers = new Map();
    this.#keepAlive = true;
    this.#parts = [];
    this.#partBytes = 0;
    this.#body = "";
  }

  /** Buffered bytes not yet consumed. */
  get buffered(): number {
    return this.#w - this.#r;
  }

  /** Whether a response head has been parsed and the body is read until the connection closes. */
  get untilClose(): boolean {
    return this.#st === St.UntilClose;
  }

  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  push(data: Uint8Array): void {
    const n = data.length;
    if (this.#w + n > this.#buf.length) {
      const live = this.#w - this.#r;
      const shift = this.#r; // compaction moves everything down by #r
      if (live + n > this.#buf.length) {
        const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, live + n));
        this.#buf.copy(next, 0, this.#r, this.#w);
        this.#buf = next;
      } else {
        this.#buf.copy(this.#buf, 0, this.#r, this.#w);
      }
      this.#r = 0;
      this.#w = live;
      this.#scan -= shift;
      if (this.#scan < 0) this.#scan = 0;
    }
    this.#buf.set(data, this.#w);
    this.#w += n;
  }

  #protocol(msg: string): never {
    throw new HttpError("protocol", msg, true);
  }

  /** Index of the LF ending the line that starts at `from`, checking the CR before it; -1 if none yet. */
  #lineEnd(from: number, limit: number, what: string): number {
    const i = this.#buf.indexOf(LF, from);
    if (i < 0 || i >= this.#w) {
      if (this.#w - from > limit) this.#protocol(`${what} longer than ${limit} bytes`);
      return -1;
    }
    if (i === from || this.#buf[i - 1] !== CR) this.#protocol(`${what} not terminated by CRLF`);
    return i;
  }

  parse(): "more" | "done" {
    for (;;) {
      switch (this.#st) {
        case St.Head: {
          // Find CRLF CRLF.
          const buf = this.#buf;
          let end = -1;
          let i = this.#scan;
          for (;;) {
            i = buf.indexOf(LF, i);
            if (i < 0 || i >= this.#w) break;
            if (i - this.#r >= 3 && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) {
              end = i + 1;
              break;
            }
            i++;
          }
          if (end < 0) {
            if (this.#w - this.#r > this.maxHeaderBytes) this.#protocol(`response head longer than ${this.maxHeaderBytes} bytes`);
            this.#scan = Math.max(this.#r, this.#w - 3);
            return "more";
          }
          if (end - this.#r > this.maxHeaderBytes) this.#protocol(`response head longer than ${this.maxHeaderBytes} bytes`);
          const text = buf.toString("latin1", this.#r, end - 4);
          this.#r = end;
          this.#scan = end;
          if (this.#onHead(text)) continue; // interim 1xx: parse the next head
          break;
        }
        case St.Fixed: {
          if (this.#w - this.#r < this.#remaining) return "more";
          this.#body = this.#buf.toString("utf8", this.#r, this.#r + this.#remaining);
          this.#r += this.#remaining;
          this.#st = St.Done;
          break;
        }
        case St.ChunkSize: {
          const e = this.#lineEnd(this.#r, 4096, "chunk size line");
          if (e < 0) return "more";
          const line = this.#buf.toString("latin1", this.#r, e - 1);
          this.#r = e + 1;
          // chunk-size [ BWS ";" chunk-ext ], hex digits only
          let j = 0;
          let size = 0;
          while (j < line.length) {
            const c = line.charCodeAt(j);
            const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
            if (d < 0) break;
            size = size * 16 + d;
            if (size > this.maxBodyBytes) this.#protocol(`chunk of more than ${this.maxBodyBytes} bytes`);
            j++;
          }
          if (j === 0) this.#protocol(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
          const rest = line.slice(j).trimStart();
          if (rest !== "" && rest[0] !== ";") this.#protocol(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
          if (size === 0) {
            this.#st = St.Trailers;
          } else {
            if (this.#partBytes + size > this.maxBodyBytes) this.#protocol(`body longer than ${this.maxBodyBytes} bytes`);
            this.#remaining = size;
            this.#st = St.ChunkData;
          }
          break;
        }
        case St.ChunkData: {
          if (this.#w - this.#r < this.#remaining + 2) return "more";
          const end = this.#r + this.#remaining;
          if (this.#buf[end] !== CR || this.#buf[end + 1] !== LF) this.#protocol("chunk data not followed by CRLF");
          this.#parts.push(Buffer.from(this.#buf.subarray(this.#r, end)));
          this.#partBytes += this.#remaining;
          this.#r = end + 2;
          this.#st = St.ChunkSize;
          break;
        }
        case St.Trailers: {
          const e = this.#lineEnd(this.#r, this.maxHeaderBytes, "trailer line");
          if (e < 0) return "more";
          const empty = e === this.#r + 1;
          this.#r = e + 1; // trailer fields are read and dropped
          if (empty) {
            this.#body = this.#parts.length === 1 ? this.#parts[0]!.toString("utf8") : Buffer.concat(this.#parts).toString("utf8");
            this.#parts = [];
            this.#st = St.Done;
          }
          break;
        }
        case St.UntilClose: {
          // The body is #r..#w; #r stays put until the server closes.
          if (this.#w - this.#r > this.maxBodyBytes) this.#protocol(`body longer than ${this.maxBodyBytes} bytes`);
          return "more";
        }
        case St.Done:
          return "done";
      }
    }
  }

  /** The server closed: completes a read-until-close body. Returns false if the response is incomplete. */
  closed(): boolean {
    if (this.#st === St.Done) return true;
    if (this.#st !== St.UntilClose) return false;
    this.#body = this.#buf.toString("utf8", this.#r, this.#w);
    this.#r = this.#w;
    this.#st = St.Done;
    return true;
  }

  result(): HttpResponse {
    return { status: this.#status, headers: this.#headers, body: this.#body };
  }

  /** Parses one head; returns true if it was an interim (1xx) response to skip. */
  #onHead(text: string): boolean {
    const eol = text.indexOf(CRLF);
    const statusLine = eol < 0 ? text : text.slice(0, eol);
    // HTTP-version SP status-code SP [reason-phrase]
    if (statusLine.length < 12 || !statusLine.startsWith("HTTP/1.") || statusLine[8] !== " " || (statusLine.length > 12 && statusLine[12] !== " ")) {
      this.#protocol(`bad status line ${JSON.stringify(statusLine.slice(0, 60))}`);
    }
    const minor = statusLine.charCodeAt(7) - 48;
    const status = Number(statusLine.slice(9, 12));
    if ((minor !== 0 && minor !== 1) || !/^[1-9]\d\d$/.test(statusLine.slice(9, 12))) {
      this.#protocol(`bad status line ${JSON.stringify(statusLine.slice(0, 60))}`);
    }
    const headers = new Map<string, string>();
    let pos = eol < 0 ? text.length : eol + 2;
    while (pos < text.length) {
      let next = text.indexOf(CRLF, pos);
      if (next < 0) next = text.length;
      const line = text.slice(pos, next);
      pos = next + 2;
      const c0 = line.charCodeAt(0);
      if (c0 === 32 || c0 === 9) this.#protocol("obsolete header line folding");
      const colon = line.indexOf(":");
      if (colon <= 0) this.#protocol(`bad header line ${JSON.stringify(line.slice(0, 60))}`);
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) this.#protocol(`bad header name ${JSON.stringify(name.slice(0, 60))}`);
      const lower = name.toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers.get(lower);
      headers.set(lower, prev === undefined ? value : `${prev}, ${value}`);
    }
    if (status < 200) {
      if (status === 101) this.#protocol("101 Switching Protocols was not asked for");
      return true; // 100 Continue, 102, 103 Early Hints: the final response follows
    }
    this.#status = status;
    this.#headers = headers;
    const conn = headers.get("connection")?.toLowerCase();
    const tokens = conn === undefined ? [] : conn.split(",").map((t) => t.trim());
    this.#keepAlive = minor === 1 ? !tokens.includes("close") : tokens.includes("keep-alive");

    const te = headers.get("transfer-encoding");
    const cl = headers.get("content-length");
    if (this.#head || status === 204 || status === 304) {
      this.#st = St.Done;
    } else if (te !== undefined) {
      const codings = te.toLowerCase().split(",").map((t) => t.trim());
      if (codings[codings.length - 1] === "chunked") {
        this.#st = St.ChunkSize;
        if (codings.length > 1) this.#protocol(`unsupported transfer-encoding ${te}`);
      } else {
        this.#startUntilClose();
      }
      if (cl !== undefined) this.#keepAlive = false; // RFC 9112 §6.3: TE wins; do not reuse
    } else if (cl !== undefined) {
      const vals = cl.split(",").map((v) => v.trim());
      if (!vals.every((v) => /^\d{1,15}$/.test(v) && v === vals[0])) this.#protocol(`bad content-length ${JSON.stringify(cl)}`);
      const n = Number(vals[0]);
      if (n > this.maxBodyBytes) this.#protocol(`body of ${n} bytes is over ${this.maxBodyBytes}`);
      this.#remaining = n;
      this.#st = n === 0 ? St.Done : St.Fixed;
      if (n === 0) this.#body = "";
    } else {
      this.#startUntilClose();
    }
    return false;
  }

  #startUntilClose(): void {
    this.#keepAlive = false;
    this.#st = St.UntilClose;
  }
}

// ---------------------------------------------------------------------------------------------
// connection

interface Pending {
  raw: string;
  head: boolean;
  written: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: (r: HttpResponse) => void;
  reject: (e: HttpError) => void;
}

type Sock = Bun.Socket<Http1Connection>;

const HANDLERS: Bun.SocketHandler<Http1Connection, "buffer"> = {
  binaryType: "buffer",
  open(s) {
    s.data.onOpen(s);
  },
  handshake(s, success, err) {
    s.data.onHandshake(s, success, err);
  },
  data(s, d) {
    s.data.onData(d);
  },
  drain(s) {
    s.data.onDrain();
  },
  close(s, err) {
    s.data.onClose(err);
  },
  error(s, err) {
    s.data.onError(err);
  },
  connectError(s, err) {
    s.data.onError(err);
  },
};

export class Http1Connection {
  /** The origin this connection is to (`https://host:port`). */
  readonly origin: string;
  /** Host header value. */
  readonly host: string;
  readonly tls: boolean;
  /** Bun.nanoseconds() when the last request's write call returned (all bytes handed to the kernel, or the first part of a partial write). */
  writtenAtNs = 0;
  /** Bun.nanoseconds() of the last request start or response completion. */
  lastActivityNs = 0;
  /** Requests completed on this connection. */
  completed = 0;
  /** Socket reads (data callbacks) so far; tests use it to split a response across reads. */
  reads = 0;
  /** Called once when the connection closes, for any reason (`pool.ts` reconnects on it). */
  onclose: ((conn: Http1Connection, reason: string) => void) | null = null;

  #socket: Sock | null = null;
  #ready: PromiseWithResolvers<void> | null = Promise.withResolvers<void>();
  #open = false;
  #closed = false;
  #parser: ResponseParser;
  #current: Pending | null = null;
  #queue: Pending[] = [];
  #out: Uint8Array | null = null; // unwritten rest of a partial write
  #requestTimeoutMs: number;
  #noDelay = false;

  private constructor(url: URL, opts: Http1ConnectOptions) {
    this.origin = url.origin;
    this.host = hostOf(url);
    this.tls = url.protocol === "https:";
    this.#parser = new ResponseParser(opts.maxHeaderBytes, opts.maxBodyBytes);
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /**
   * Opens a connection (TCP, TCP_NODELAY, and for https the TLS handshake with verification).
   * Rejects with HttpError "connect", "tls" or "timeout" (maybeSent false).
   */
  static async connect(url: string, opts: Http1ConnectOptions = {}): Promise<Http1Connection> {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`not an http(s) URL: ${url}`);
    if (u.pathname !== "/" || u.search !== "") throw new TypeError(`give the origin only, not a path: ${url}`);
    const conn = new Http1Connection(u, opts);
    const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
    const port = Number(u.port || (conn.tls ? 443 : 80));
    const isIp = /^[\d.]+$/.test(hostname) || hostname.includes(":");
    let tls: Bun.TLSOptions | undefined;
    if (conn.tls) {
      tls = { rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true };
      if (opts.tls?.ca !== undefined) tls.ca = opts.tls.ca;
      const serverName = opts.tls?.serverName ?? (isIp ? undefined : hostname);
      if (serverName !== undefined) tls.serverName = serverName;
    }
    const ready = conn.#ready!;
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => conn.#failConnect(new HttpError("timeout", `connect to ${conn.origin}: not connected within ${timeoutMs} ms`, false)), timeoutMs);
    let sockP: Promise<Sock>;
    try {
      sockP = Bun.connect<Http1Connection>({ hostname, port, tls, data: conn, socket: HANDLERS });
    } catch (e) {
      clearTimeout(timer);
      throw new HttpError("connect", `connect to ${conn.origin}: ${(e as Error).message}`, false);
    }
    sockP.then(
      (socket) => {
        if (conn.#closed) {
          socket.terminate(); // timed out or failed meanwhile
          return;
        }
        conn.onOpen(socket);
        if (!conn.tls) conn.#readyNow(); // TLS: ready in the handshake handler
      },
      (e: Error) => conn.#failConnect(new HttpError("connect", `connect to ${conn.origin}: ${e.message}`, false)),
    );
    try {
      await ready.promise;
      return conn;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Connected (and TLS verified), not closed, and not known to be closing. */
  get open(): boolean {
    return this.#open;
  }

  /** A request is in flight or queued. */
  get busy(): boolean {
    return this.#current !== null;
  }

  /** Requests waiting behind the one in flight. */
  get queued(): number {
    return this.#queue.length;
  }

  /** TCP_NODELAY was set successfully on the socket. */
  get noDelay(): boolean {
    return this.#noDelay;
  }

  /**
   * One request; `headers` are pre-formatted lines, each CRLF-terminated (e.g. `formatHeaders`),
   * without Host or Content-Length (added here). Queued behind a request in flight.
   */
  request(method: string, path: string, headers = "", body?: string, timeoutMs?: number): Promise<HttpResponse> {
    if (!TOKEN.test(method)) return Promise.reject(new TypeError(`bad method ${JSON.stringify(method)}`));
    if (!path.startsWith("/") || BAD_PATH.test(path)) return Promise.reject(new TypeError(`bad path ${JSON.stringify(path)}`));
    if (headers !== "" && !headers.endsWith(CRLF)) return Promise.reject(new TypeError("headers must be CRLF-terminated lines"));
    let raw = `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\n${headers}`;
    if (body !== undefined) raw += "Content-Length: " + Buffer.byteLength(body) + "\r\n\r\n" + body;
    else if (method === "POST" || method === "PUT" || method === "PATCH") raw += "Content-Length: 0\r\n\r\n";
    else raw += CRLF;
    return this.send(raw, timeoutMs, method === "HEAD");
  }

  /**
   * Sends a whole prepared request (`RequestTemplate.render`). `head` must be true for a HEAD
   * request (its response has no body). Queued behind a request in flight.
   */
  send(raw: string, timeoutMs = this.#requestTimeoutMs, head = false): Promise<HttpResponse> {
    if (!this.#open) return Promise.reject(new HttpError("closed", `connection to ${this.origin} is closed`, false));
    const { promise, resolve, reject } = Promise.withResolvers<HttpResponse>();
    const p: Pending = { raw, head, written: false, timer: undefined, resolve, reject };
    if (this.#current === null) this.#start(p);
    else this.#queue.push(p);
    // After the write: the order goes out first, its timer (ms-scale) a moment later.
    if (timeoutMs > 0) p.timer = setTimeout(() => this.#onTimeout(p, timeoutMs), timeoutMs);
    return promise;
  }

  /** Closes the connection; a request in flight rejects with "closed" (maybeSent as written), queued ones with maybeSent false. */
  close(): void {
    this.#teardown("closed locally", "closed", true);
  }

  // -- internals ------------------------------------------------------------------------------

  #readyNow(): void {
    if (this.#closed || this.#ready === null) return;
    this.#open = true;
    this.lastActivityNs = Bun.nanoseconds();
    const r = this.#ready;
    this.#ready = null;
    r.resolve();
  }

  #failConnect(err: HttpError): void {
    if (this.#ready === null) return;
    const r = this.#ready;
    this.#ready = null;
    this.#closed = true;
    this.#socket?.terminate();
    r.reject(err);
  }

  #start(p: Pending): void {
    this.#current = p;
    const s = this.#socket!;
    const raw = p.raw;
    const n = s.write(raw);
    // The response parser is reset after the write, off the order's path: the answer is read
    // only from the socket's data callback, on a later turn of the event loop.
    this.writtenAtNs = this.lastActivityNs = Bun.nanoseconds();
    this.#parser.reset(p.head);
    if (n > 0) p.written = true;
    // n === raw.length is the common case; the byte length differs only for non-ASCII text.
    if (n < raw.length || n < Buffer.byteLength(raw)) {
      const bytes = Buffer.from(raw);
      if (n < bytes.length) this.#out = bytes.subarray(Math.max(0, n));
    }
  }

  onDrain(): void {
    const out = this.#out;
    if (out === null || this.#socket === null) return;
    const n = this.#socket.write(out);
    if (n > 0 && this.#current !== null) this.#current.written = true;
    this.#out = n >= out.length ? null : out.subarray(Math.max(0, n));
  }

  onOpen(s: Sock): void {
    if (this.#socket === null) {
      this.#socket = s;
      this.#noDelay = s.setNoDelay(true);
    }
  }

  onHandshake(s: Sock, success: boolean, err: Error | null): void {
    this.onOpen(s);
    if (success) this.#readyNow();
    else this.#failConnect(new HttpError("tls", `TLS to ${this.origin}: ${err?.message ?? "handshake failed"}${(err as { code?: string } | null)?.code ? ` (${(err as { code?: string }).code})` : ""}`, false));
  }

  onData(d: Buffer): void {
    this.reads++;
    const p = this.#current;
    if (p === null) {
      // Bytes that answer no request: framing is lost (or a 408 before an idle close).
      this.#teardown("unsolicited bytes from the server", "protocol", false);
      return;
    }
    const parser = this.#parser;
    parser.push(d);
    let state: "more" | "done";
    try {
      state = parser.parse();
    } catch (e) {
      this.#teardown((e as Error).message, "protocol", false);
      return;
    }
    if (state === "done") this.#complete(p);
  }

  #complete(p: Pending): void {
    const parser = this.#parser;
    const res = parser.result();
    if (p.timer !== undefined) clearTimeout(p.timer);
    this.#current = null;
    this.completed++;
    this.lastActivityNs = Bun.nanoseconds();
    const reuse = parser.keepAlive && parser.buffered === 0 && this.#out === null;
    if (!reuse) {
      const reason = parser.buffered > 0 ? "bytes after the response" : "server does not keep the connection alive";
      this.#teardown(reason, "closed", false);
    }
    p.resolve(res);
    const next = this.#queue.shift();
    if (next !== undefined && this.#open) this.#start(next);
  }

  #onTimeout(p: Pending, ms: number): void {
    p.timer = undefined;
    if (p !== this.#current) {
      const i = this.#queue.indexOf(p);
      if (i >= 0) this.#queue.splice(i, 1);
      p.reject(new HttpError("timeout", `${this.origin}: no response within ${ms} ms (still queued, not sent)`, false));
      return;
    }
    this.#current = null;
    p.reject(new HttpError("timeout", `${this.origin}: no response within ${ms} ms`, p.written));
    this.#teardown("request timed out", "closed", false);
  }

  onClose(err?: Error): void {
    if (this.#ready !== null) {
      this.#failConnect(new HttpError(this.tls ? "tls" : "connect", `connection to ${this.origin} closed during setup${err ? `: ${err.message}` : ""}`, false));
      return;
    }
    const p = this.#current;
    if (p !== null && err === undefined && this.#parser.closed()) {
      this.#complete(p); // a read-until-close body is complete; not kept alive, so #complete tears down
      return;
    }
    this.#teardown(`closed by the server${err ? `: ${err.message}` : ""}`, "closed", false);
  }

  onError(err: Error): void {
    if (this.#ready !== null) {
      this.#failConnect(new HttpError(this.tls ? "tls" : "connect", `connection to ${this.origin}: ${err.message}`, false));
      return;
    }
    this.#teardown(`socket error: ${err.message}`, "closed", false);
  }

  /** Closes the socket once and fails whatever is in flight or queued. */
  #teardown(reason: string, code: HttpErrorCode, local: boolean): void {
    const first = !this.#closed;
    this.#closed = true;
    this.#open = false;
    this.#out = null;
    // Take what is pending before closing the socket: end()/terminate() call the close handler
    // synchronously, which re-enters here.
    const p = this.#current;
    this.#current = null;
    const q = this.#queue;
    this.#queue = [];
    if (first && this.#socket !== null) {
      if (local) this.#socket.end();
      else this.#socket.terminate();
    }
    if (p !== null) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(new HttpError(code, `${this.origin}: ${reason} before the response was complete`, p.written));
    }
    for (const x of q) {
      if (x.timer !== undefined) clearTimeout(x.timer);
      x.reject(new HttpError("closed", `${this.origin}: ${reason} (request was queued, not sent)`, false));
    }
    if (first) {
      const cb = this.onclose;
      this.onclose = null;
      cb?.(this, reason);
    }
  }
}
