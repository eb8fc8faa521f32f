import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { ConfigError, defaultConfig, loadConfigFile, parseConfigText, redactConfig } from "../../daemon/config/load.ts";
import { Config, parseListen } from "../../daemon/config/schema.ts";

const EXAMPLE = join(import.meta.dir, "../../config/tradingd.example.yaml");
const EXAMPLE_ENV = {
  POLYGON_API_KEY: "pk-example-0001",
  ALPACA_KEY_ID: "AKEXAMPLE0001",
  ALPACA_SECRET_KEY: "sk-example-0001",
};

const tmp = mkdtempSync(join(tmpdir(), "tradingd-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The ConfigError thrown for `text`; fails the test when none is thrown. */
function errorOf(text: string, env: Record<string, string | undefined> = {}): ConfigError {
  try {
    parseConfigText(text, "/etc/tradingd/tradingd.yaml", env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}

/** The problem lines for `text`. */
const linesOf = (text: string, env: Record<string, string | undefined> = {}) => errorOf(text, env).lines;

/** Every key path of a plain tree, as dotted strings (lists and records count as leaves). */
function keyPaths(tree: unknown, prefix = ""): string[] {
  if (typeof tree !== "object" || tree === null || Array.isArray(tree)) return [prefix];
  const entries = Object.entries(tree);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([k, v]) => keyPaths(v, prefix === "" ? k : `${prefix}.${k}`));
}

describe("example file", () => {
  test("validates with the environment variables it references set", () => {
    const cfg = loadConfigFile(EXAMPLE, EXAMPLE_ENV);
    expect(cfg.feed.polygon.api_key).toBe("pk-example-0001");
    expect(cfg.broker.alpaca.key_id).toBe("AKEXAMPLE0001");
    expect(cfg.broker.alpaca.secret_key).toBe("sk-example-0001");
  });

  test("shows every key of the schema, each at its default value", () => {
    const raw = YAML.parse(readFileSync(EXAMPLE, "utf8"));
    expect(keyPaths(raw).sort()).toEqual(keyPaths(defaultConfig()).sort());

    const cfg = loadConfigFile(EXAMPLE, EXAMPLE_ENV);
    const expected = structuredClone(defaultConfig()) as Config;
    expected.feed.polygon.api_key = EXAMPLE_ENV.POLYGON_API_KEY;
    expected.broker.alpaca.key_id = EXAMPLE_ENV.ALPACA_KEY_ID;
    expected.broker.alpaca.secret_key = EXAMPLE_ENV.ALPACA_SECRET_KEY;
    expect(cfg).toEqual(expected);
  });

  test("without its environment variables, each unset variable is named with its path", () => {
    expect(linesOf(readFileSync(EXAMPLE, "utf8"))).toEqual([
      "feed.polygon.api_key: environment variable POLYGON_API_KEY is not set",
      "broker.alpaca.key_id: environment variable ALPACA_KEY_ID is not set",
      "broker.alpaca.secret_key: environment variable ALPACA_SECRET_KEY is not set",
    ]);
  });
});

describe("defaults", () => {
  test("an empty document gives the embedded default: dry run, synthetic feed, sim broker, loopback HTTP", () => {
    const cfg = parseConfigText("", "<empty>", {});
    expect({
      mode: cfg.mode,
      symbols: cfg.symbols,
      http: cfg.http,
      log: cfg.log,
      feed_kind: cfg.feed.kind,
      synthetic: cfg.feed.synthetic,
      polygon_channels: cfg.feed.polygon.channels,
      strategy: cfg.strategy,
      broker_kind: cfg.broker.kind,
      sim: cfg.broker.sim,
      alpaca_live: cfg.broker.alpaca.live,
      risk: cfg.risk,
      rings: cfg.rings,
      threads: cfg.threads,
      tuning: cfg.tuning,
      runtime_dir: cfg.runtime_dir,
      journal_path: cfg.journal_path,
      journal_sync: cfg.journal_sync,
    }).toEqual({
      mode: "dry-run",
      symbols: ["AAPL", "MSFT", "SPY", "QQQ"],
      http: { listen: "127.0.0.1:8080", metrics_require_token: false },
      log: { level: "info", format: "text" },
      feed_kind: "synthetic",
      synthetic: {
        seed: 42,
        rate_events_per_sec: 10_000,
        batch_max: 128,
        trade_ratio: 0.1,
        start_price: 100,
        volatility_bps: 1,
        spread_bps: 2,
        max_events: 0,
      },
      polygon_channels: ["Q", "T"],
      strategy: { name: "threshold", module: "", timer_interval_ms: 1000, warmup_events: 20_000, params: {} },
      broker_kind: "sim",
      sim: { latency_us: 50, fill_ratio: 1, reject_if_no_quote: true },
      alpaca_live: false,
      risk: {
        max_order_qty: 1000,
        max_order_notional: 100_000,
        max_position_qty: 5000,
        max_gross_exposure: 1_000_000,
        max_open_orders: 100,
        max_orders_per_sec: 50,
        max_orders_per_min: 180,
        collar_bps: 500,
        max_quote_age_ms: 2_000,
        daily_loss_limit: 10_000,
        duplicate_window_ms: 500,
        refuse_when_feed_stale: true,
        day_starts_at: "04:00",
      },
      rings: { market_data: { slots: 65_536, when_full: "drop" }, orders: { slots: 4096 }, exec_events: { slots: 4096 } },
      threads: {
        layout: "auto",
        strategy: { wait: "hybrid", spin_us: 50 },
        keep_warm_us: 1000,
        execution: { wait: "hybrid", spin_us: 50 },
      },
      tuning: {
        enabled: true,
        cpus: { main: "auto", feed: "auto", strategy: "auto", execution: "auto" },
        sched: {
          main: { policy: "auto", priority: 10 },
          feed: { policy: "auto", priority: 10 },
          strategy: { policy: "auto", priority: 10 },
          execution: { policy: "auto", priority: 10 },
        },
        mlockall: true,
        numa_node: "auto",
        host: {
          cpufreq_governor: "performance",
          cpuidle_max_latency_us: 1,
          cpu_dma_latency_us: 0,
          transparent_hugepages: "never",
          vm_swappiness: 10,
          kernel_numa_balancing: 0,
          net_busy_poll_us: 50,
          net_busy_read_us: 50,
          net_rmem_max_bytes: 16_777_216,
          net_wmem_max_bytes: 16_777_216,
          rt_throttling: "keep",
          irq_affinity: "move_off_hot_cpus",
        },
        roots: { sys: "/sys", proc: "/proc", dev: "/dev" },
        state_dir: "/run/tradingd-tuning",
      },
      runtime_dir: "/run/tradingd",
      journal_path: "./tradingd-journal.sqlite",
      journal_sync: "full",
    });
  });

  test("comment-only and {} documents equal the empty one, and defaultConfig()", () => {
    const empty = parseConfigText("", "<empty>", {});
    expect(parseConfigText("# nothing here\n", "<c>", {})).toEqual(empty);
    expect(parseConfigText("{}", "<c>", {})).toEqual(empty);
    expect(defaultConfig()).toEqual(empty);
    expect(Config.parse({})).toEqual(empty);
  });

  test("a partial section keeps the defaults of its other keys", () => {
    const cfg = parseConfigText("feed: {synthetic: {seed: 7}}\nrings: {market_data: {when_full: wait}}", "<p>", {});
    expect(cfg.feed.synthetic).toEqual({ ...defaultConfig().feed.synthetic, seed: 7 });
    expect(cfg.rings.market_data).toEqual({ slots: 65_536, when_full: "wait" });
  });

  test("default objects are not shared between parses", () => {
    const a = Config.parse({});
    const b = Config.parse({});
    expect(a.symbols).not.toBe(b.symbols);
    expect(a.strategy.params).not.toBe(b.strategy.params);
  });
});

describe("result is deep-frozen", () => {
  test("assignment throws in strict mode, at every depth", () => {
    const cfg = parseConfigText("strategy: {params: {band: {upper: 1}}}", "<f>", {});
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(() => {
      (cfg as { mode: string }).mode = "live";
    }).toThrow(TypeError);
    expect(() => {
      cfg.risk.max_order_qty = 1;
    }).toThrow(TypeError);
    expect(() => {
      cfg.symbols.push("TSLA");
    }).toThrow(TypeError);
    expect(() => {
      (cfg.strategy.params.band as { upper: number }).upper = 2;
    }).toThrow(TypeError);
    expect(Object.isFrozen(defaultConfig().tuning.cpus)).toBe(true);
  });
});

describe("ConfigError", () => {
  test("has exit code 78, the source in its header, and the problem lines indented", () => {
    const err = errorOf("risk: {max_order_qty: -5}\nlog: {level: loud}");
    expect(err).toBeInstanceOf(Error);
    expect(err.exitCode).toBe(78);
    expect(err.lines).toEqual([
      "log.level: expected one of debug, info, warn, error, was \"loud\"",
      "risk.max_order_qty: expected a positive integer, was -5",
    ]);
    expect(err.message).toBe(
      "config error in /etc/tradingd/tradingd.yaml:\n" +
        "  log.level: expected one of debug, info, warn, error, was \"loud\"\n" +
        "  risk.max_order_qty: expected a positive integer, was -5",
    );
  });
});

describe("schema errors: one line per issue, <dotted.path>: <message>", () => {
  test("the documented examples", () => {
    expect(linesOf("risk: {max_order_qty: -5}")).toEqual(["risk.max_order_qty: expected a positive integer, was -5"]);
    expect(linesOf("http: {listen: localhost}")).toEqual([
      'http.listen: expected HOST:PORT (e.g. 127.0.0.1:8080), was "localhost"',
    ]);
    expect(linesOf("feed: {kind: foo}")).toEqual(['feed.kind: expected one of synthetic, polygon, replay, was "foo"']);
    expect(linesOf("strategy: {paramz: {}}")).toEqual(['strategy: unknown key "paramz" (did you mean "params"?)']);
  });

  test("unknown keys at top level and nested, each with its path", () => {
    expect(linesOf("moed: live\ncolour: red\nrings: {orders: {slots: 64, when_full: drop}}")).toEqual([
      'rings.orders: unknown key "when_full"',
      '(top level): unknown key "moed" (did you mean "mode"?)',
      '(top level): unknown key "colour"',
    ]);
  });

  test("a YAML key __proto__ is an unknown key, not a prototype", () => {
    expect(linesOf("__proto__: {mode: live}")).toEqual(['(top level): unknown key "__proto__"']);
  });

  test("wrong types", () => {
    expect(
      linesOf(
        [
          "http: 5",
          "log: [info]",
          "risk: null",
          "symbols: AAPL",
          "strategy: {timer_interval_ms: '1000', params: [1]}",
          "tuning: {mlockall: yes}",
          "feed: {synthetic: {trade_ratio: {}}}",
        ].join("\n"),
      ),
    ).toEqual([
      "symbols: expected a list of tickers, was \"AAPL\"",
      "http: expected a mapping, was 5",
      "log: expected a mapping, was a list",
      "feed.synthetic.trade_ratio: expected a number from 0 to 1, was a mapping",
      'strategy.timer_interval_ms: expected a positive integer, was "1000"',
      "strategy.params: expected a mapping, was a list",
      "risk: expected a mapping, was null",
      'tuning.mlockall: expected true or false, was "yes"',
    ]);
  });

  test("out of range", () => {
    expect(
      linesOf(
        [
          "feed:",
          "  stale_after_ms: 0",
          "  synthetic: {seed: 4294967296, rate_events_per_sec: 20000001, batch_max: 1.5, start_price: 0, volatility_bps: -1, max_events: -1}",
          "broker: {sim: {fill_ratio: 1.01, latency_us: -1}}",
          "risk: {max_order_notional: -1, max_open_orders: 0}",
          "rings: {market_data: {slots: 100}, orders: {slots: 2097152}, exec_events: {slots: 32}}",
          "threads: {strategy: {spin_us: 1000001}}",
          "tuning: {cpus: {main: -2}}",
          "runtime_dir: ''",
        ].join("\n"),
      ),
    ).toEqual([
      "feed.stale_after_ms: expected a positive integer, was 0",
      "feed.synthetic.seed: expected an integer from 0 to 4294967295, was 4294967296",
      "feed.synthetic.rate_events_per_sec: expected an integer from 1 to 20000000, was 20000001",
      "feed.synthetic.batch_max: expected an integer from 1 to 4096, was 1.5",
      "feed.synthetic.start_price: expected a number > 0, was 0",
      "feed.synthetic.volatility_bps: expected a number >= 0, was -1",
      "feed.synthetic.max_events: expected an integer >= 0 (0 = no limit), was -1",
      "broker.sim.latency_us: expected an integer >= 0, was -1",
      "broker.sim.fill_ratio: expected a number from 0 to 1, was 1.01",
      "risk.max_order_notional: expected a positive number (USD), was -1",
      "risk.max_open_orders: expected a positive integer, was 0",
      "rings.market_data.slots: expected a power of two from 64 to 16777216, was 100",
      "rings.orders.slots: expected a power of two from 64 to 1048576, was 2097152",
      "rings.exec_events.slots: expected a power of two from 64 to 1048576, was 32",
      "threads.strategy.spin_us: expected an integer from 0 to 1000000, was 1000001",
      "tuning.cpus.main: expected a CPU number from 0 to 4095, was -2",
      'runtime_dir: expected a directory path, was ""',
    ]);
  });

  test("YAML .inf and .nan are not numbers", () => {
    expect(linesOf("feed: {synthetic: {start_price: .inf, spread_bps: .nan}}")).toEqual([
      "feed.synthetic.start_price: expected a number > 0, was Infinity",
      "feed.synthetic.spread_bps: expected a number > 0, was NaN",
    ]);
  });

  test("bad enum values", () => {
    expect(
      linesOf("mode: backtest\nlog: {format: xml}\nbroker: {kind: ib}\nthreads: {execution: {wait: sleep}}\nrings: {market_data: {when_full: block}}"),
    ).toEqual([
      'mode: expected one of dry-run, paper, live, was "backtest"',
      'log.format: expected one of text, json, was "xml"',
      'broker.kind: expected one of sim, alpaca, was "ib"',
      'rings.market_data.when_full: expected one of drop, wait, was "block"',
      'threads.execution.wait: expected one of spin, hybrid, block, was "sleep"',
    ]);
  });

  test("symbols: array indices in the path, bad tickers, duplicates at the duplicate's index, size", () => {
    expect(linesOf("symbols: [AAPL, MSFT, aapl, SPY, MSFT, TOOLONGTICKER, 42]")).toEqual([
      'symbols.2: expected a ticker: A-Z first, then up to 9 of A-Z 0-9 . (e.g. BRK.B), was "aapl"',
      'symbols.5: expected a ticker: A-Z first, then up to 9 of A-Z 0-9 . (e.g. BRK.B), was "TOOLONGTICKER"',
      "symbols.6: expected a ticker: A-Z first, then up to 9 of A-Z 0-9 . (e.g. BRK.B), was 42",
      'symbols.4: duplicate of symbols.1, was "MSFT"',
    ]);
    expect(linesOf("symbols: []")).toEqual(["symbols: expected at least 1 symbol, was a list"]);
    const many = Array.from({ length: 4097 }, (_, i) => `S${i}`);
    expect(linesOf(`symbols: [${many.join(", ")}]`)).toEqual(["symbols: expected at most 4096 symbols, was a list"]);
    expect(parseConfigText("symbols: [BRK.B, SPY]", "<s>", {}).symbols).toEqual(["BRK.B", "SPY"]);
  });

  test("URLs and polygon channels", () => {
    expect(
      linesOf(
        "feed: {polygon: {url: 'https://socket.polygon.io', channels: [Q, Q, X]}}\nbroker: {alpaca: {base_url: 'not a url', stream_url: 'http://x'}}",
      ),
    ).toEqual([
      'feed.polygon.url: expected a ws:// or wss:// URL, was "https://socket.polygon.io"',
      'feed.polygon.channels.2: expected one of T, Q, A, AM, was "X"',
      'broker.alpaca.base_url: expected an http:// or https:// URL, was "not a url"',
      'broker.alpaca.stream_url: expected a ws:// or wss:// URL, was "http://x"',
    ]);
    expect(linesOf("feed: {polygon: {channels: [Q, Q]}}")).toEqual([
      "feed.polygon.channels: expected each channel at most once, was a list",
    ]);
  });

  test("strategy.module is required for name module and forbidden otherwise", () => {
    expect(linesOf("strategy: {name: module}")).toEqual(["strategy.module: required when strategy.name is module"]);
    expect(linesOf("strategy: {module: ./s.ts}")).toEqual(["strategy.module: must be empty unless strategy.name is module"]);
    expect(linesOf("strategy: {name: module, module: ./s.py}")).toEqual([
      'strategy.module: expected a path to a .ts or .js file, was "./s.py"',
    ]);
    expect(parseConfigText("strategy: {name: module, module: ./s.ts}", "<s>", {}).strategy.module).toBe("./s.ts");
  });
});

describe("cross-field rules", () => {
  test("mode live requires broker.kind alpaca and broker.alpaca.live true", () => {
    expect(linesOf("mode: live")).toEqual([
      "broker.kind: must be alpaca when mode is live",
      "broker.alpaca.live: must be true when mode is live",
    ]);
    expect(linesOf("mode: live\nbroker: {kind: alpaca, alpaca: {key_id: k, secret_key: s}}")).toEqual(["broker.alpaca.live: must be true when mode is live"]);
    const live = parseConfigText("mode: live\nbroker: {kind: alpaca, alpaca: {live: true, key_id: k, secret_key: s}}", "<l>", {});
    expect([live.mode, live.broker.kind, live.broker.alpaca.live]).toEqual(["live", "alpaca", true]);
  });

  test("broker.alpaca.live true requires mode live", () => {
    expect(linesOf("mode: paper\nbroker: {kind: alpaca, alpaca: {live: true, key_id: k, secret_key: s}}")).toEqual([
      "broker.alpaca.live: may be true only when mode is live",
    ]);
  });

  test("mode dry-run requires broker.kind sim; paper allows either", () => {
    expect(linesOf("broker: {kind: alpaca, alpaca: {key_id: k, secret_key: s}}")).toEqual(["broker.kind: must be sim when mode is dry-run"]);
    expect(parseConfigText("mode: paper\nbroker: {kind: alpaca, alpaca: {key_id: k, secret_key: s}}", "<p>", {}).broker.kind).toBe("alpaca");
    expect(parseConfigText("mode: paper", "<p>", {}).broker.kind).toBe("sim");
  });

  test("alpaca needs its keys, and the live (real money) URLs need mode live and broker.alpaca.live", () => {
    expect(linesOf("mode: paper\nbroker: {kind: alpaca}")).toEqual([
      "broker.alpaca.key_id: required when broker.kind is alpaca (use ${ALPACA_KEY_ID} or the credential alpaca_key_id)",
      "broker.alpaca.secret_key: required when broker.kind is alpaca (use ${ALPACA_SECRET_KEY} or the credential alpaca_secret_key)",
    ]);
    expect(linesOf("mode: paper\nbroker: {kind: alpaca, alpaca: {key_id: k, secret_key: s, base_url: 'https://api.alpaca.markets'}}")).toEqual([
      "broker.alpaca.base_url: is Alpaca's live (real money) API: set mode: live and broker.alpaca.live: true to trade real money, or use https://paper-api.alpaca.markets",
    ]);
  });

  test("two spinning threads may not share a CPU", () => {
    expect(
      linesOf("threads: {strategy: {wait: spin}, execution: {wait: spin}}\ntuning: {cpus: {strategy: 3, execution: 3}}"),
    ).toEqual(["tuning.cpus.execution: two spinning threads on CPU 3 (strategy and execution); give each spinning thread its own CPU"]);
  });

  test("a spinning thread may not share its CPU with the feed thread", () => {
    expect(linesOf("threads: {strategy: {wait: spin}}\ntuning: {cpus: {feed: 2, strategy: 2}}")).toEqual([
      "tuning.cpus.strategy: strategy shares CPU 2 with feed while strategy spins (threads.strategy.wait: spin); give the spinning thread its own CPU",
    ]);
  });

  test("shared CPUs are fine for non-spinning threads, and auto or none is never a conflict here", () => {
    const ok = [
      "tuning: {cpus: {feed: 1, strategy: 1, execution: 1}}",
      "threads: {strategy: {wait: spin}, execution: {wait: spin}}\ntuning: {cpus: {main: 0, feed: 0, strategy: auto, execution: none}}",
      "threads: {strategy: {wait: spin}, execution: {wait: spin}}\ntuning: {cpus: {main: 0, feed: 1, strategy: 2, execution: 3}}",
    ];
    for (const text of ok) expect(() => parseConfigText(text, "<cpu>", {})).not.toThrow();
  });
});

describe("YAML and document shape", () => {
  test("a syntax error gives its line and column", () => {
    expect(linesOf("mode: paper\nsymbols: [AAPL, MSFT\nlog: {level: info}\n")).toEqual([
      "line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
  });

  test("a duplicate key is a YAML error with its line", () => {
    expect(linesOf("mode: paper\nlog: {}\nmode: live\n")).toEqual(["line 3, column 1: Map keys must be unique"]);
  });

  test("the top level must be a mapping: not a list, not a scalar", () => {
    expect(linesOf("- mode: paper\n")).toEqual(["(top level): expected a mapping of config sections, was a list"]);
    expect(linesOf("paper\n")).toEqual(["(top level): expected a mapping of config sections, was a string"]);
    expect(linesOf("42\n")).toEqual(["(top level): expected a mapping of config sections, was a number"]);
  });

  test("a top-level scalar is never echoed (it may be a secret file passed as the config)", () => {
    expect(errorOf("sk-live-9f8e7d6c\n").message).not.toContain("sk-live");
  });

  test("binary values are rejected", () => {
    expect(linesOf("strategy: {params: {blob: !!binary aGVsbG8=}}")).toEqual([
      "strategy.params.blob: binary values (!!binary) are not supported",
    ]);
  });
});

describe("reading the file", () => {
  test("a missing file", () => {
    const err = (() => {
      try {
        loadConfigFile("/x/y.yaml", {});
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe("cannot read config file /x/y.yaml: no such file (ENOENT)");
    expect((err as ConfigError).lines).toEqual(["cannot read config file /x/y.yaml: no such file (ENOENT)"]);
    expect((err as ConfigError).exitCode).toBe(78);
  });

  test("a directory given as the file", () => {
    expect(() => loadConfigFile(tmp, {})).toThrow(`cannot read config file ${tmp}: is a directory (EISDIR)`);
  });

  test("a path through a regular file", () => {
    const file = join(tmp, "plain.yaml");
    writeFileSync(file, "mode: paper\n");
    expect(() => loadConfigFile(join(file, "x.yaml"), {})).toThrow(
      `cannot read config file ${file}/x.yaml: a component of the path is not a directory (ENOTDIR)`,
    );
  });

  // root reads files whatever their mode, so chmod 000 proves nothing there.
  test.skipIf(process.getuid?.() === 0)("an unreadable file (chmod 000; skipped as root, which can read it anyway)", () => {
    const file = join(tmp, "unreadable.yaml");
    writeFileSync(file, "mode: paper\n");
    chmodSync(file, 0o000);
    expect(() => loadConfigFile(file, {})).toThrow(`cannot read config file ${file}: permission denied (EACCES)`);
  });

  test("errors in a file name the file in the header", () => {
    const file = join(tmp, "bad.yaml");
    writeFileSync(file, "risk:\n  max_order_qty: -5\n");
    expect(() => loadConfigFile(file, {})).toThrow(
      `config error in ${file}:\n  risk.max_order_qty: expected a positive integer, was -5`,
    );
  });

  test("a valid file loads", () => {
    const file = join(tmp, "good.yaml");
    writeFileSync(file, "mode: paper\nsymbols: [SPY]\n");
    const cfg = loadConfigFile(file, {});
    expect([cfg.mode, cfg.symbols]).toEqual(["paper", ["SPY"]]);
  });
});

describe("systemd credentials", () => {
  test("an unset ${NAME} is read from $CREDENTIALS_DIRECTORY/name (lower case), trailing newline dropped", () => {
    const dir = mkdtempSync(join(tmpdir(), "tradingd-creds-"));
    try {
      writeFileSync(join(dir, "polygon_api_key"), "pk-from-credential\n");
      const cfg = parseConfigText("feed: {polygon: {api_key: \"${POLYGON_API_KEY}\"}}", "<cred>", { CREDENTIALS_DIRECTORY: dir });
      expect(cfg.feed.polygon.api_key).toBe("pk-from-credential");
      // The environment wins over a credential.
      expect(parseConfigText("feed: {polygon: {api_key: \"${POLYGON_API_KEY}\"}}", "<cred>", { CREDENTIALS_DIRECTORY: dir, POLYGON_API_KEY: "env" }).feed.polygon.api_key).toBe("env");
      expect(linesOf("broker: {alpaca: {key_id: \"${ALPACA_KEY_ID}\"}}", { CREDENTIALS_DIRECTORY: dir })).toEqual([
        "broker.alpaca.key_id: environment variable ALPACA_KEY_ID is not set and there is no credential alpaca_key_id in $CREDENTIALS_DIRECTORY",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("environment substitution", () => {
  test("${NAME} is replaced in every string value, lists and records included", () => {
    const cfg = parseConfigText(
      "feed: {polygon: {api_key: '${KEY}'}}\nsymbols: ['${SYM}', QQQ]\njournal_path: '${DIR}/journal-${ID}.sqlite'\nstrategy: {params: {note: 'x${SYM}'}}",
      "<env>",
      { KEY: "k-123", SYM: "SPY", DIR: "/var/lib/tradingd", ID: "7" },
    );
    expect({
      api_key: cfg.feed.polygon.api_key,
      symbols: cfg.symbols,
      journal_path: cfg.journal_path,
      note: cfg.strategy.params.note,
    }).toEqual({
      api_key: "k-123",
      symbols: ["SPY", "QQQ"],
      journal_path: "/var/lib/tradingd/journal-7.sqlite",
      note: "xSPY",
    });
  });

  test("a variable set to the empty string counts as set", () => {
    expect(parseConfigText("feed: {polygon: {api_key: '${KEY}'}}", "<env>", { KEY: "" }).feed.polygon.api_key).toBe("");
  });

  test("an unset variable is an error naming the variable and the path", () => {
    expect(linesOf("feed:\n  polygon:\n    api_key: ${POLYGON_API_KEY}\nsymbols: [SPY, '${SYM2}']")).toEqual([
      "feed.polygon.api_key: environment variable POLYGON_API_KEY is not set",
      "symbols.1: environment variable SYM2 is not set",
    ]);
  });

  test("$${ is a literal ${, and a lone $ is left alone", () => {
    const cfg = parseConfigText("journal_path: '$${HOME}/a$b-${X}'", "<env>", { HOME: "/root", X: "1" });
    expect(cfg.journal_path).toBe("${HOME}/a$b-1");
  });

  test("a malformed reference is an error", () => {
    const expected = ["journal_path: malformed environment reference, expected ${NAME} (write $${ for a literal ${)"];
    expect(linesOf("journal_path: 'a${'")).toEqual(expected);
    expect(linesOf("journal_path: 'a${}'")).toEqual(expected);
    expect(linesOf("journal_path: '${A-B}'")).toEqual(expected);
  });

  test("substituted values stay strings", () => {
    expect(linesOf("risk: {max_order_qty: '${QTY}'}", { QTY: "500" })).toEqual([
      "risk.max_order_qty: expected a positive integer, was a string (value not shown: from environment variable QTY)",
    ]);
  });

  test("keys are not substituted", () => {
    expect(linesOf("'${K}': 1", { K: "mode" })).toEqual(['(top level): unknown key "${K}"']);
  });

  test("process.env is the default environment", () => {
    process.env.TRADINGD_CONFIG_TEST_LEVEL = "debug";
    try {
      expect(parseConfigText("log: {level: '${TRADINGD_CONFIG_TEST_LEVEL}'}", "<env>").log.level).toBe("debug");
    } finally {
      delete process.env.TRADINGD_CONFIG_TEST_LEVEL;
    }
  });
});

describe("secrets never printed", () => {
  test("a secret field of the wrong type: the path, not the value", () => {
    const err = errorOf("feed: {polygon: {api_key: 918273645}}\nbroker: {alpaca: {secret_key: [sk-list-value]}}");
    expect(err.lines).toEqual([
      "feed.polygon.api_key: expected a string, was a number (value not shown: secret)",
      "broker.alpaca.secret_key: expected a string, was a list (value not shown: secret)",
    ]);
    expect(err.message).not.toContain("918273645");
    expect(err.message).not.toContain("sk-list-value");
  });

  test("a value from the environment is never echoed, whatever its key", () => {
    const err = errorOf("http: {listen: '${LISTEN}'}\nlog: {level: '${LEVEL}'}", {
      LISTEN: "hunter2-listen",
      LEVEL: "hunter2-level",
    });
    expect(err.lines).toEqual([
      "http.listen: expected HOST:PORT (e.g. 127.0.0.1:8080), was a string (value not shown: from environment variable LISTEN)",
      "log.level: expected one of debug, info, warn, error, was a string (value not shown: from environment variable LEVEL)",
    ]);
    expect(err.message).not.toContain("hunter2");
  });

  test("an error beside a secret does not echo the secret", () => {
    const err = errorOf("feed: {polygon: {api_key: pk-secret-777, url: 'http://x', extra: 1}}\nstrategy: {name: module, params: {auth_token: tok-777}}");
    expect(err.lines).toEqual([
      'feed.polygon.url: expected a ws:// or wss:// URL, was "http://x"',
      'feed.polygon: unknown key "extra"',
      "strategy.module: required when strategy.name is module",
    ]);
    expect(err.message).not.toContain("777");
  });

  test("redactConfig replaces every non-empty secret with ***, at any depth", () => {
    const cfg = parseConfigText(
      "mode: paper\nfeed: {polygon: {api_key: pk}}\nbroker: {alpaca: {key_id: id, secret_key: ''}}\nhttp: {metrics_require_token: true}\nstrategy: {params: {password: pw, session_token: st, nested: {token: t}, window: 5}}",
      "<r>",
      {},
    );
    const redacted = redactConfig(cfg) as Config;
    expect({
      api_key: redacted.feed.polygon.api_key,
      key_id: redacted.broker.alpaca.key_id,
      secret_key: redacted.broker.alpaca.secret_key,
      metrics_require_token: redacted.http.metrics_require_token,
      params: redacted.strategy.params,
    }).toEqual({
      api_key: "***",
      key_id: "***",
      secret_key: "",
      metrics_require_token: true,
      params: { password: "***", session_token: "***", nested: { token: "***" }, window: 5 },
    });
    expect(cfg.feed.polygon.api_key).toBe("pk"); // a copy: the config itself is untouched
    expect(JSON.stringify(redacted)).not.toMatch(/"pk"|"id"|"pw"|"st"|"t"/);
  });
});

describe("parseListen", () => {
  test("splits host and port; IPv6 in brackets comes back without them", () => {
    expect(["127.0.0.1:8080", "0.0.0.0:0", "localhost:65535", "[::1]:8080", "[::]:9"].map(parseListen)).toEqual([
      { host: "127.0.0.1", port: 8080 },
      { host: "0.0.0.0", port: 0 },
      { host: "localhost", port: 65535 },
      { host: "::1", port: 8080 },
      { host: "::", port: 9 },
    ]);
  });

  test("rejects a missing port, a port out of range, bare IPv6 and empty hosts", () => {
    for (const bad of ["localhost", "127.0.0.1:65536", "::1:8080", ":8080", "[]:80", "[1.2.3.4]:80", "host:-1", "a b:80"]) {
      expect(() => parseListen(bad)).toThrow(`expected HOST:PORT (e.g. 127.0.0.1:8080), was ${JSON.stringify(bad)}`);
    }
  });
});
