/** Help texts of the command line. */
export const USAGE: Record<string, string> = {
  "": `tradingd: a low-latency US-equities trading daemon

Usage:
  tradingd run [--config FILE] [--no-tune] [--listen HOST:PORT]
  tradingd check-config FILE
  tradingd tune --plan | --apply-host | --revert [--config FILE]
  tradingd ctl status | pause | resume | reduce | halt | flatten | risk [KEY=VALUE ...]
  tradingd bench [--seconds N] [--rate N] [--feed synthetic|polygon] [--broker sim|alpaca] [--json] [--max-p99-us N] [--no-tune]
  tradingd fake-exchange [--polygon-port N] [--alpaca-port N] [--host HOST] [--rate N] [--symbols A,B]
  tradingd version
  tradingd help [COMMAND]

With no config, \`run\` starts the embedded default: a dry run on the synthetic feed and the
simulated broker, HTTP on 127.0.0.1:8080.

Exit codes: 0 ok, 1 failure, 2 usage error, 3 a bench budget exceeded, 78 configuration error.
Run \`tradingd help COMMAND\` for a command's options.`,
  run: `Usage: tradingd run [--config FILE] [--no-tune] [--listen HOST:PORT]

Starts the daemon: feed, strategy and execution workers, and the HTTP API
(/healthz, /readyz, /metrics, /status, /orders, /positions, /risk, /control/...).

The API token (control routes; the rest when one is set) comes from TRADINGD_API_TOKEN or the
systemd credential api_token. Without one the control routes refuse, and listening anywhere
but loopback is a configuration error (exit 78).

Options:
  -c, --config FILE       YAML configuration (default: the embedded dry-run default)
      --no-tune           do not tune the host (CPU pinning, mlockall, sysfs knobs)
      --listen HOST:PORT  HTTP address, overriding http.listen (port 0 picks a free port)
  -h, --help              this text

SIGINT or SIGTERM stops the feed, drains the rings and exits 0; a second signal exits at once.`,
  "check-config": `Usage: tradingd check-config FILE

Validates FILE (YAML) and the strategy parameters in it, prints the effective configuration
with secrets hidden, and exits 0; on an error prints each problem with its path and exits 78.`,
  tune: `Usage: tradingd tune --plan | --apply-host | --revert [--config FILE]

Host tuning without running the daemon. \`run\` tunes at startup by itself (unless --no-tune);
these are for a look beforehand and for systemd, which runs the root-only part apart.

  --plan        print what \`run\` would do on this host (CPUs, policies, knobs, advice);
                changes nothing
  --apply-host  root only: write the sysfs/procfs knobs, saving the originals in
                tuning.state_dir (the unit's ExecStartPre=+)
  --revert      write the saved originals back (the unit's ExecStopPost=+; by hand after a
                crash); nothing saved, nothing to do
  -c, --config FILE   YAML configuration (default: the embedded default)

Exit codes: 0 done, 1 not root for --apply-host or a revert left something, 78 the plan is
refused by a safety interlock or the config is wrong.`,
  ctl: `Usage: tradingd ctl COMMAND [--config FILE | --url URL] [--reason TEXT] [--json]

A client of the daemon's HTTP API, finding it as the daemon does: the address from http.listen
in FILE (default: the embedded 127.0.0.1:8080), the token from TRADINGD_API_TOKEN or the
systemd credential api_token.

Commands:
  status                 trading state, readiness, counts, positions
  pause | resume         no new orders / trade again (not after a strategy failure)
  reduce                 only orders that shrink a position
  halt                   kill switch: halted, every open order cancelled; returns once the
                         execution worker acknowledged (no order leaves after)
  flatten                halted, every order cancelled, every position closed at market
  risk                   the risk limits in force
  risk KEY=VALUE ...     change some limits (e.g. risk max_order_qty=500)

Options:
  -c, --config FILE   the daemon's YAML configuration (only http.listen is read)
      --url URL       the daemon's address (http://HOST:PORT) instead of --config
      --reason TEXT   logged with a pause, resume, reduce, halt or flatten
      --json          print the daemon's JSON answer as it is
  -h, --help          this text

Exit codes: 0 done, 1 the daemon refused or answered an error (or could not be reached),
2 usage error, 78 configuration error.`,
  bench: `Usage: tradingd bench [--seconds N] [--rate EVENTS_PER_SEC] [--feed synthetic|polygon]
                      [--broker sim|alpaca] [--json] [--max-p99-us N] [--no-tune]

Runs the real pipeline (the daemon's feed, strategy and execution stages, in the thread layout
\`run\` would use here: threads.layout auto) for a set time on this host and reports the latency of each stage from the daemon's own histograms, so a host can
be measured (and gated) with the binary alone. Nothing is traded: \`synthetic\` and \`sim\` are
in process; \`polygon\` and \`alpaca\` are the fakes (as \`tradingd fake-exchange\` serves them),
started inside this process on a thread of their own (not the supervisor's main thread; its
CPU is reported as \`fakes\`) on free loopback ports and reached over real WebSocket and HTTP.
The strategy is \`threshold\` ordering AAPL on every quote of it (~7.5 % of the events; the other
seven symbols are market-data load), with the risk limits raised for the run; the journal is a
temporary file (journal_sync normal).

Tuned vs untuned: when the process may tune (root, or RLIMIT_RTPRIO > 0, or RLIMIT_MEMLOCK
unlimited) and --no-tune is not given, the measurement runs twice, untuned then tuned (a fresh
pipeline each), and prints the tuned run's table and tuned / untuned ratios of tick_to_order p50
and p99 (below 1: tuning helps). Tuned is the process and thread parts of \`run\`'s tuning only
(mlockall, the thread plan's CPU affinity and scheduling policy); no host knob is written (the
plan reads a temporary copy of the files it needs; cpu_dma_latency is kept; run
\`tradingd tune --apply-host\` first to measure a tuned host). Between and after the runs memory is
unlocked and every thread is put back on all CPUs under SCHED_OTHER. Otherwise it runs untuned
only and says why. --max-p99-us is checked on the tuned run when there is one.

Stages (µs; p50, p90, p99, p99.9, max): feed_publish, md_hop (feed → strategy ring),
decision, order_hop (strategy → execution ring), tick_to_order (tick in → order request
written, end to end), exec_hop, tick_to_ack (tick in → broker ack). Percentiles come from the
daemon's log-linear histograms (8 sub-buckets per power of two: the upper bound of a bucket is
reported, at most 12.5 % above the true value). Also: events/s, orders/s, CPU per thread
(utime+stime from /proc; stages sharing a thread are one entry), RSS, the main thread's JS heap
(bun:jsc heapStats), and garbage collection of every thread: the command runs itself again with
JavaScriptCore's GC log on (BUN_JSC_logGC=1, which can only be set at start) and counts its
collections and stop-the-world pauses (longest, total, over 10 ms).

Coordinated omission: the synthetic feed is paced by schedule and stamps each event with the
time it was due, so a late consumer's queueing delay is in the latency, not hidden from it;
that is the correction (no separate paced request generator is needed).

Options:
      --seconds N         measured time after a 1 s warm-up (default 10)
      --rate N            events a second from the feed (default 10000)
      --feed KIND         synthetic (default) or polygon (the fake, over WebSocket)
      --broker KIND       sim (default) or alpaca (the fake, over HTTP and WebSocket)
      --json              one JSON document on stdout instead of the table
      --max-p99-us N      exit 3 when tick_to_order p99 is above N µs
  -h, --help              this text

Progress goes to stderr: one updating line on a terminal, a line a second otherwise.
Exit codes: 0 done, 1 failure (or no order went out), 2 usage error, 3 budget exceeded.`,
  "fake-exchange": `Usage: tradingd fake-exchange [--polygon-port N] [--alpaca-port N] [--host HOST]
                              [--rate EVENTS_PER_SEC] [--symbols AAPL,MSFT]

Serves the fake Polygon stocks WebSocket and the fake Alpaca trading API (REST and the
trade_updates stream) for integration tests, until SIGINT or SIGTERM (exit 0). The Polygon fake
streams seeded, paced quotes and trades to its subscribers; every quote is also the Alpaca
fake's top of book, so market orders fill at the prices the feed shows. Prints one line per
server:

  polygon ws://HOST:PORT/stocks key=KEY
  alpaca http://HOST:PORT stream ws://HOST:PORT/stream key_id=KEY_ID secret_key=SECRET

Options:
      --polygon-port N    Polygon port (default 0: any free port)
      --alpaca-port N     Alpaca port (default 0: any free port)
      --host HOST         address to listen on (default 127.0.0.1)
      --rate N            events a second streamed (default 1000)
      --symbols A,B       tickers (default AAPL,MSFT)
  -h, --help              this text`,
  version: `Usage: tradingd version

Prints the tradingd version and the Bun runtime it was built with.`,
  help: `Usage: tradingd help [COMMAND]

Prints the usage of tradingd or of one command.`,
};
