/**
 * The tradingd configuration schema: one zod schema per subsystem, composed into `Config`.
 *
 * Every object is strict (unknown keys are errors) and every key has a default, so an empty
 * document parses to the embedded default: dry run, synthetic feed, simulated broker, HTTP on
 * loopback. Units are in the field names (`_ms`, `_us`, `_per_sec`, `_bps`).
 *
 * Error messages are written for `daemon/config/load.ts`, which prints one line per issue as
 * `<dotted.path>: <message>, was <value>`; a leaf's message is therefore "expected <what>" and
 * never contains the input (the loader appends it unless the value is a secret or came from the
 * environment).
 *
 * @example
 * ```ts
 * import { Config } from "./schema.ts";
 * const cfg: Config = Config.parse({ mode: "paper" });
 * ```
 */
import { z } from "zod";

// ---------------------------------------------------------------------------------------------
// Leaf builders. Each takes a description and attaches it to the type check and to every range
// check, so any failure of the field reads "expected <description>".

const expected = (description: string) => ({ error: `expected ${description}` });

function integer(min: number, max: number, description: string) {
  const e = expected(description);
  return z.int(e).min(min, e).max(max, e);
}

const positiveInt = (description = "a positive integer") => integer(1, Number.MAX_SAFE_INTEGER, description);

function fraction(description = "a number from 0 to 1") {
  const e = expected(description);
  return z.number(e).min(0, e).max(1, e);
}

function positiveNumber(description = "a number > 0") {
  const e = expected(description);
  return z.number(e).gt(0, e);
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, expected(`one of ${values.join(", ")}`));
}

const bool = () => z.boolean(expected("true or false"));

const string = (description = "a string") => z.string(expected(description));

function nonEmptyString(description: string) {
  const e = expected(description);
  return z.string(e).min(1, e);
}

function powerOfTwo(min: number, max: number) {
  const e = expected(`a power of two from ${min} to ${max}`);
  return z
    .int(e)
    .min(min, e)
    .max(max, e)
    .refine((n) => (n & (n - 1)) === 0, e);
}

function url(protocols: readonly string[], description: string) {
  const e = expected(description);
  return z.string(e).refine((s) => {
    if (!URL.canParse(s)) return false;
    return protocols.includes(new URL(s).protocol);
  }, e);
}

/**
 * Marks an issue raised by a rule between fields: its message stands alone, and the loader does
 * not append the input (which zod sets to the whole object the rule ran on).
 */
export const RULE_ISSUE = { rule: true } as const;

// ---------------------------------------------------------------------------------------------
// HTTP listen address.

const LISTEN_RE = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;
const LISTEN_EXPECTED = "HOST:PORT (e.g. 127.0.0.1:8080)";

/** Parse `HOST:PORT` (IPv6 as `[::1]:8080`); returns null when malformed or the port is out of range. */
function tryParseListen(s: string): { host: string; port: number } | null {
  const m = LISTEN_RE.exec(s);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const ipv6 = m[1];
  if (ipv6 !== undefined && !ipv6.includes(":")) return null;
  return { host: ipv6 ?? m[2]!, port };
}

/**
 * Split an `http.listen` value into host and port. IPv6 hosts are returned without brackets, as
 * `Bun.serve({ hostname })` wants them.
 *
 * @example
 * ```ts
 * parseListen("127.0.0.1:8080"); // { host: "127.0.0.1", port: 8080 }
 * parseListen("[::1]:0");        // { host: "::1", port: 0 }
 * ```
 * @throws Error when `s` is not HOST:PORT with a port from 0 to 65535.
 */
export function parseListen(s: string): { host: string; port: number } {
  const parsed = tryParseListen(s);
  if (parsed === null) throw new Error(`expected ${LISTEN_EXPECTED}, was ${JSON.stringify(s)}`);
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Secrets.

const SECRET_KEYS = new Set(["api_key", "api_secret", "key_id", "secret_key", "token", "password"]);
/** Keys that match a secret pattern but hold no secret (a boolean flag about tokens). */
const NOT_SECRET_KEYS = new Set(["metrics_require_token"]);

/** True when a value under this key must never be printed (logs, errors, effective config). */
export function isSecretKey(key: PropertyKey): boolean {
  if (typeof key !== "string" || NOT_SECRET_KEYS.has(key)) return false;
  return SECRET_KEYS.has(key) || key.endsWith("_token");
}

// ---------------------------------------------------------------------------------------------
// Subsystems.

export const Mode = oneOf(["dry-run", "paper", "live"]);
export type Mode = z.infer<typeof Mode>;

const TICKER_RE = /^[A-Z][A-Z0-9.]{0,9}$/;
const TICKER_EXPECTED = "a ticker: A-Z first, then up to 9 of A-Z 0-9 . (e.g. BRK.B)";

export const Symbols = z
  .array(z.string(expected(TICKER_EXPECTED)).regex(TICKER_RE, expected(TICKER_EXPECTED)), expected("a list of tickers"))
  .min(1, expected("at least 1 symbol"))
  .max(4096, expected("at most 4096 symbols"))
  .superRefine((symbols, ctx) => {
    const first = new Map<string, number>();
    symbols.forEach((symbol, i) => {
      const at = first.get(symbol);
      if (at === undefined) first.set(symbol, i);
      else ctx.addIssue({ code: "custom", path: [i], input: symbol, message: `duplicate of symbols.${at}` });
    });
    // Also when some tickers are malformed, so that one run reports every problem.
  }, { when: (payload) => Array.isArray(payload.value) });
export type Symbols = z.infer<typeof Symbols>;

export const HttpConfig = z
  .strictObject({
    listen: z
      .string(expected(LISTEN_EXPECTED))
      .refine((s) => tryParseListen(s) !== null, expected(LISTEN_EXPECTED))
      .default("127.0.0.1:8080"),
    metrics_require_token: bool().default(false),
  })
  .prefault({});
export type HttpConfig = z.infer<typeof HttpConfig>;

export const LogConfig = z
  .strictObject({
    level: oneOf(["debug", "info", "warn", "error"]).default("info"),
    format: oneOf(["text", "json"]).default("text"),
  })
  .prefault({});
export type LogConfig = z.infer<typeof LogConfig>;

export const SyntheticFeedConfig = z
  .strictObject({
    seed: integer(0, 0xffff_ffff, "an integer from 0 to 4294967295").default(42),
    rate_events_per_sec: integer(1, 20_000_000, "an integer from 1 to 20000000").default(10_000),
    batch_max: integer(1, 4096, "an integer from 1 to 4096").default(128),
    trade_ratio: fraction().default(0.1),
    start_price: positiveNumber().default(100),
    volatility_bps: (() => {
      const e = expected("a number >= 0");
      return z.number(e).min(0, e);
    })().default(1),
    spread_bps: positiveNumber().default(2),
    max_events: integer(0, Number.MAX_SAFE_INTEGER, "an integer >= 0 (0 = no limit)").default(0),
  })
  .prefault({});
export type SyntheticFeedConfig = z.infer<typeof SyntheticFeedConfig>;

const POLYGON_CHANNELS = ["T", "Q", "A", "AM"] as const;

export const PolygonFeedConfig = z
  .strictObject({
    url: url(["ws:", "wss:"], "a ws:// or wss:// URL").default("wss://socket.polygon.io/stocks"),
    api_key: string().default(""),
    channels: z
      .array(oneOf(POLYGON_CHANNELS), expected(`a list of ${POLYGON_CHANNELS.join(", ")}`))
      .min(1, expected("at least 1 channel"))
      .refine((c) => new Set(c).size === c.length, expected("each channel at most once"))
      .prefault(["Q", "T"]),
    // Subscribe `<channel>.*` (every ticker) instead of the configured symbols; events for
    // symbols not configured are then counted and dropped quietly, not as bad input.
    all_symbols: bool().default(false),
    reconnect: z
      .strictObject({
        initial_ms: positiveInt().default(500),
        max_ms: positiveInt().default(30_000),
        multiplier: z.number(expected("a number >= 1")).min(1, expected("a number >= 1")).default(2),
        jitter: fraction().default(0.5),
      })
      .prefault({}),
    // After `max_connections` (another process holds the key): wait this long before trying again.
    max_connections_backoff_ms: positiveInt().default(60_000),
    // Our own guard: no auth reply within this long closes and reconnects.
    auth_timeout_ms: positiveInt().default(10_000),
    // Frames larger than this are dropped and counted (the official Go client kills the
    // connection at 1 MB).
    max_frame_bytes: integer(1024, 64 * 1024 * 1024, "an integer from 1024 to 67108864").default(1_000_000),
    // Log at most this many bad-input samples a minute (all are counted).
    bad_input_log_per_min: integer(0, 10_000, "an integer from 0 to 10000").default(10),
  })
  .prefault({});
export type PolygonFeedConfig = z.infer<typeof PolygonFeedConfig>;

export const ReplayFeedConfig = z
  .strictObject({
    // A file written with feed.record.
    file: string("a file path").default(""),
    // 1 = recorded pace, 2 = twice as fast, 0 = as fast as possible.
    speed: z.number(expected("a number >= 0")).min(0, expected("a number >= 0")).default(1),
    // Play the file again from the start when it ends.
    loop: bool().default(false),
  })
  .prefault({});
export type ReplayFeedConfig = z.infer<typeof ReplayFeedConfig>;

export const FeedConfig = z
  .strictObject({
    kind: oneOf(["synthetic", "polygon", "replay"]).default("synthetic"),
    stale_after_ms: positiveInt().default(5000),
    synthetic: SyntheticFeedConfig,
    polygon: PolygonFeedConfig,
    replay: ReplayFeedConfig,
    // Append every raw frame received (polygon) with its receive time to this file; "" = off.
    record: string("a file path").default(""),
  })
  .superRefine((f, ctx) => {
    if (f.kind === "replay" && f.replay.file === "") {
      ctx.addIssue({ code: "custom", path: ["replay", "file"], params: RULE_ISSUE, message: "required when feed.kind is replay" });
    }
    if (f.kind === "polygon" && f.polygon.api_key === "") {
      ctx.addIssue({ code: "custom", path: ["polygon", "api_key"], params: RULE_ISSUE, message: "required when feed.kind is polygon (use ${POLYGON_API_KEY} or the credential polygon_api_key)" });
    }
  })
  .prefault({});
export type FeedConfig = z.infer<typeof FeedConfig>;

const MODULE_RE = /\.(?:ts|mts|js|mjs)$/;

export const StrategyConfig = z
  .strictObject({
    name: oneOf(["threshold", "ema-cross", "module"]).default("threshold"),
    module: string("a path to a .ts or .js file").default(""),
    timer_interval_ms: positiveInt().default(1000),
    // Synthetic events run through a scratch copy of the strategy, the risk checks and the order
    // encoding before the daemon reports ready, so the JIT has compiled them; in layout single
    // with polygon or alpaca, the frame and order code too (at most 100,000 times); 0 = none.
    warmup_events: integer(0, 10_000_000, "an integer from 0 to 10000000").default(20_000),
    params: z.record(z.string(), z.unknown(), expected("a mapping")).prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.name === "module" && s.module === "") {
      ctx.addIssue({ code: "custom", path: ["module"], params: RULE_ISSUE, message: "required when strategy.name is module" });
    } else if (s.name !== "module" && s.module !== "") {
      ctx.addIssue({ code: "custom", path: ["module"], params: RULE_ISSUE, message: "must be empty unless strategy.name is module" });
    } else if (s.module !== "" && !MODULE_RE.test(s.module)) {
      ctx.addIssue({ code: "custom", path: ["module"], input: s.module, message: "expected a path to a .ts or .js file" });
    }
  })
  .prefault({});
export type StrategyConfig = z.infer<typeof StrategyConfig>;

export const SimBrokerConfig = z
  .strictObject({
    latency_us: integer(0, Number.MAX_SAFE_INTEGER, "an integer >= 0").default(50),
    fill_ratio: fraction().default(1),
    reject_if_no_quote: bool().default(true),
  })
  .prefault({});
export type SimBrokerConfig = z.infer<typeof SimBrokerConfig>;

export const AlpacaBrokerConfig = z
  .strictObject({
    base_url: url(["http:", "https:"], "an http:// or https:// URL").default("https://paper-api.alpaca.markets"),
    stream_url: url(["ws:", "wss:"], "a ws:// or wss:// URL").default("wss://paper-api.alpaca.markets/stream"),
    key_id: string().default(""),
    secret_key: string().default(""),
    live: bool().default(false),
    // Keep-alive connections for orders, opened and warmed before the first order.
    connections: integer(1, 8, "an integer from 1 to 8").default(2),
    // Keep each connection warm with GET /v2/clock this often; milliseconds.
    keep_warm_ms: positiveInt().default(15_000),
    // An order request with no answer after this long has an unknown outcome (looked up, never resent).
    request_timeout_ms: positiveInt().default(2_000),
    // Client-side request budget per minute, under Alpaca's 200 a minute per key (the keep-warm
    // requests of idle connections come on top: at most `connections` per keep_warm_ms).
    rate_limit_per_min: integer(1, 10_000, "an integer from 1 to 10000").default(185),
    reconnect: z
      .strictObject({
        initial_ms: positiveInt().default(250),
        max_ms: positiveInt().default(10_000),
        multiplier: z.number(expected("a number >= 1")).min(1, expected("a number >= 1")).default(2),
        jitter: fraction().default(0.5),
      })
      .prefault({}),
  })
  .prefault({});
export type AlpacaBrokerConfig = z.infer<typeof AlpacaBrokerConfig>;

export const BrokerConfig = z
  .strictObject({
    kind: oneOf(["sim", "alpaca"]).default("sim"),
    sim: SimBrokerConfig,
    alpaca: AlpacaBrokerConfig,
  })
  .prefault({});
export type BrokerConfig = z.infer<typeof BrokerConfig>;

const nonNegativeNumber = (description: string) => z.number(expected(description)).min(0, expected(description));

/**
 * Pre-trade risk limits (`daemon/risk/`). Money in USD, times in ms, prices in basis points.
 * A limit of 0 where "0 = off" is said turns that check off. Changeable at run time
 * (`Pipeline.setRiskLimits`); the order-rate limits are bounded because the rate windows keep one
 * timestamp per order allowed (8 bytes each).
 */
export const RiskConfig = z
  .strictObject({
    max_order_qty: positiveInt().default(1000),
    max_order_notional: positiveNumber("a positive number (USD)").default(100_000),
    max_position_qty: positiveInt().default(5000),
    // Σ |position| × last price across symbols, plus what the order could add.
    max_gross_exposure: positiveNumber("a positive number (USD)").default(1_000_000),
    max_open_orders: positiveInt().default(100),
    max_orders_per_sec: integer(1, 1_000_000, "an integer from 1 to 1000000").default(50),
    // Under Alpaca's 200 requests a minute per key (broker.alpaca.rate_limit_per_min).
    max_orders_per_min: integer(1, 1_000_000, "an integer from 1 to 1000000").default(180),
    // Fat-finger collar: a limit price at most this far from the touching side of the last NBBO.
    collar_bps: integer(0, 100_000, "an integer from 0 to 100000 (0 = off)").default(500),
    // Refuse an order when the symbol's last quote is older than this (or there is none).
    max_quote_age_ms: integer(0, 86_400_000, "an integer from 0 to 86400000 (0 = off)").default(2_000),
    // Realized + unrealized loss of the day at which trading is HALTED (USD, 0 = off).
    daily_loss_limit: nonNegativeNumber("a number >= 0 (USD, 0 = off)").default(10_000),
    // The risk day starts at this New York time ("HH:MM", 24 h; US pre-market opens at 04:00):
    // from then daily_loss_limit counts the new day's P&L (a halt by it stays until resumed).
    day_starts_at: z.string(expected('a time "HH:MM" (00:00 to 23:59, New York)')).regex(/^([01]\d|2[0-3]):[0-5]\d$/, expected('a time "HH:MM" (00:00 to 23:59, New York)')).default("04:00"),
    // Refuse an order with the same symbol, side and price as one sent this recently (0 = off).
    duplicate_window_ms: integer(0, 3_600_000, "an integer from 0 to 3600000 (0 = off)").default(500),
    // Refuse new orders while the feed is stale or disconnected (feed.stale_after_ms); false also
    // turns off the quote-age check (max_quote_age_ms).
    refuse_when_feed_stale: bool().default(true),
  })
  .prefault({});
export type RiskConfig = z.infer<typeof RiskConfig>;

export const RingsConfig = z
  .strictObject({
    market_data: z
      .strictObject({
        slots: powerOfTwo(64, 16_777_216).default(65_536),
        when_full: oneOf(["drop", "wait"]).default("drop"),
      })
      .prefault({}),
    // Order and execution-event rings always wait when full: dropping an order is never right.
    orders: z.strictObject({ slots: powerOfTwo(64, 1_048_576).default(4096) }).prefault({}),
    exec_events: z.strictObject({ slots: powerOfTwo(64, 1_048_576).default(4096) }).prefault({}),
  })
  .prefault({});
export type RingsConfig = z.infer<typeof RingsConfig>;

const ThreadWait = z
  .strictObject({
    wait: oneOf(["spin", "hybrid", "block"]).default("hybrid"),
    // hybrid: how long to poll before sleeping, in microseconds (spin polls for ever, block not at all).
    spin_us: integer(0, 1_000_000, "an integer from 0 to 1000000").default(50),
  })
  .prefault({});

export const ThreadsConfig = z
  .strictObject({
    // split: feed, strategy and execution on three threads; single: all on one thread (no hop on
    // the order path); auto: split with >= 4 CPUs allowed, else single (daemon/tuning/layout.ts).
    layout: oneOf(["auto", "split", "single"]).default("auto"),
    // In layout single, the one trading thread waits as `strategy` says.
    strategy: ThreadWait,
    // Layout single with polygon or alpaca: once idle this many microseconds, and as often while
    // idle, the trading thread runs a canned quote through its own frame parsing, the strategy's
    // warm-up instance with the risk checks, and the order's request and journal line (all on
    // scratch state: nothing is sent, journaled or published), so that code is still in the
    // CPU's caches when the next real quote comes (BENCHMARKS.md, "Comparison"). 0: off.
    keep_warm_us: integer(0, 1_000_000, "an integer from 0 to 1000000").default(1000),
    execution: ThreadWait,
  })
  .prefault({});
export type ThreadsConfig = z.infer<typeof ThreadsConfig>;

/** A thread's CPU: a number, `auto` (the tuner chooses), or `none` (not pinned). */
const cpu = () =>
  z
    .union([integer(0, 4095, "a CPU number from 0 to 4095"), z.literal("auto"), z.literal("none")], expected("a CPU number (0 to 4095), auto or none"))
    .default("auto");

const ThreadSched = z
  .strictObject({
    // auto: SCHED_FIFO 10 for a worker with a CPU of its own that does not spin, else SCHED_OTHER.
    policy: oneOf(["auto", "other", "fifo", "rr"]).default("auto"),
    priority: integer(1, 99, "an integer from 1 to 99").default(10),
  })
  .prefault({});

const keepOr = <T extends z.ZodType>(schema: T, description: string) => z.union([z.literal("keep"), schema], expected(`${description}, or keep`));

/** Host knobs (root only), after tuned's latency-performance and network-latency profiles. */
export const HostTuningConfig = z
  .strictObject({
    cpufreq_governor: keepOr(nonEmptyString("a cpufreq governor name"), "a cpufreq governor name").default("performance"),
    cpuidle_max_latency_us: keepOr(integer(0, 1_000_000, "an integer from 0 to 1000000"), "an integer from 0 to 1000000").default(1),
    cpu_dma_latency_us: keepOr(integer(0, 2_000_000_000, "an integer >= 0"), "an integer >= 0").default(0),
    transparent_hugepages: oneOf(["keep", "never", "madvise", "always"]).default("never"),
    vm_swappiness: keepOr(integer(0, 200, "an integer from 0 to 200"), "an integer from 0 to 200").default(10),
    kernel_numa_balancing: z.union([z.literal("keep"), z.literal(0), z.literal(1)], expected("0 or 1, or keep")).default(0),
    net_busy_poll_us: keepOr(integer(0, 1_000_000, "an integer from 0 to 1000000"), "an integer from 0 to 1000000").default(50),
    net_busy_read_us: keepOr(integer(0, 1_000_000, "an integer from 0 to 1000000"), "an integer from 0 to 1000000").default(50),
    net_rmem_max_bytes: keepOr(integer(4096, 2_147_483_647, "a byte count"), "a byte count").default(16_777_216),
    net_wmem_max_bytes: keepOr(integer(4096, 2_147_483_647, "a byte count"), "a byte count").default(16_777_216),
    rt_throttling: oneOf(["keep", "off"]).default("keep"),
    irq_affinity: oneOf(["keep", "move_off_hot_cpus"]).default("move_off_hot_cpus"),
  })
  .prefault({});
export type HostTuningConfig = z.infer<typeof HostTuningConfig>;

export const TuningConfig = z
  .strictObject({
    enabled: bool().default(true),
    cpus: z
      .strictObject({ main: cpu(), feed: cpu(), strategy: cpu(), execution: cpu() })
      .prefault({}),
    sched: z.strictObject({ main: ThreadSched, feed: ThreadSched, strategy: ThreadSched, execution: ThreadSched }).prefault({}),
    // mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): no page faults on the hot path, and no
    // paging-in of the runtime's address-space reservations (plain MCL_CURRENT: 20 s, 6.4 GB here).
    mlockall: bool().default(true),
    numa_node: z
      .union([integer(0, 1023, "a NUMA node number"), z.literal("auto"), z.literal("none")], expected("a NUMA node number, auto or none"))
      .default("auto"),
    host: HostTuningConfig,
    // Where the tuner reads and writes the host's knobs; tests point these at a temporary tree.
    roots: z
      .strictObject({
        sys: nonEmptyString("a directory path").default("/sys"),
        proc: nonEmptyString("a directory path").default("/proc"),
        dev: nonEmptyString("a directory path").default("/dev"),
      })
      .prefault({}),
    // Where the host part saves the originals it overwrote (for the revert). Root-only, and not the
    // daemon's runtime_dir: root writes back what this file names.
    state_dir: nonEmptyString("a directory path").default("/run/tradingd-tuning"),
  })
  .prefault({});
export type TuningConfig = z.infer<typeof TuningConfig>;

// ---------------------------------------------------------------------------------------------
// The whole document.

/** Threads whose CPU pinning is checked against spinning; the feed thread has no wait setting. */
const PINNED_THREADS = ["feed", "strategy", "execution"] as const;

export const Config = z
  .strictObject({
    mode: Mode.default("dry-run"),
    symbols: Symbols.prefault(["AAPL", "MSFT", "SPY", "QQQ"]),
    http: HttpConfig,
    log: LogConfig,
    feed: FeedConfig,
    strategy: StrategyConfig,
    broker: BrokerConfig,
    risk: RiskConfig,
    rings: RingsConfig,
    threads: ThreadsConfig,
    tuning: TuningConfig,
    runtime_dir: nonEmptyString("a directory path").default("/run/tradingd"),
    journal_path: nonEmptyString("a file path").default("./tradingd-journal.sqlite"),
    // full: every journal write reaches the disk before the order goes out (survives power loss;
    // ~200 µs a write here); normal: survives a crash of the process, not of the host (one line in
    // the journal's op log before the send, SQLite after: see journal/journal.ts).
    journal_sync: oneOf(["full", "normal"]).default("full"),
  })
  .superRefine((cfg, ctx) => {
    // Values are never quoted in these messages: they may have come from the environment.
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, params: RULE_ISSUE, message });

    if (cfg.mode === "live" && cfg.broker.kind !== "alpaca") {
      issue(["broker", "kind"], "must be alpaca when mode is live");
    }
    if (cfg.mode === "live" && !cfg.broker.alpaca.live) {
      issue(["broker", "alpaca", "live"], "must be true when mode is live");
    }
    if (cfg.mode !== "live" && cfg.broker.alpaca.live) {
      issue(["broker", "alpaca", "live"], "may be true only when mode is live");
    }
    if (cfg.mode === "dry-run" && cfg.broker.kind !== "sim") {
      issue(["broker", "kind"], "must be sim when mode is dry-run");
    }
    if (cfg.broker.kind === "alpaca") {
      const liveHost = /^(https|wss):\/\/api\.alpaca\.markets(\/|$)/;
      if (!cfg.broker.alpaca.live && liveHost.test(cfg.broker.alpaca.base_url)) {
        issue(["broker", "alpaca", "base_url"], "is Alpaca's live (real money) API: set mode: live and broker.alpaca.live: true to trade real money, or use https://paper-api.alpaca.markets");
      }
      if (!cfg.broker.alpaca.live && liveHost.test(cfg.broker.alpaca.stream_url)) {
        issue(["broker", "alpaca", "stream_url"], "is Alpaca's live (real money) stream: set mode: live and broker.alpaca.live: true, or use wss://paper-api.alpaca.markets/stream");
      }
      if (cfg.broker.alpaca.key_id === "") issue(["broker", "alpaca", "key_id"], "required when broker.kind is alpaca (use ${ALPACA_KEY_ID} or the credential alpaca_key_id)");
      if (cfg.broker.alpaca.secret_key === "") issue(["broker", "alpaca", "secret_key"], "required when broker.kind is alpaca (use ${ALPACA_SECRET_KEY} or the credential alpaca_secret_key)");
    }

    // A spinning thread owns its CPU: anything pinned beside it starves.
    const spins = (name: (typeof PINNED_THREADS)[number]) => name !== "feed" && cfg.threads[name].wait === "spin";
    PINNED_THREADS.forEach((b, j) => {
      for (const a of PINNED_THREADS.slice(0, j)) {
        const n = cfg.tuning.cpus[b];
        if (typeof n !== "number" || cfg.tuning.cpus[a] !== n || !(spins(a) || spins(b))) continue;
        const spinner = spins(b) ? b : a;
        issue(
          ["tuning", "cpus", b],
          spins(a) && spins(b)
            ? `two spinning threads on CPU ${n} (${a} and ${b}); give each spinning thread its own CPU`
            : `${b} shares CPU ${n} with ${a} while ${spinner} spins (threads.${spinner}.wait: spin); give the spinning thread its own CPU`,
        );
        break;
      }
    });
  });
export type Config = z.infer<typeof Config>;
