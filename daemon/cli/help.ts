/** Help texts of the command line. */
export const USAGE: Record<string, string> = {
  "": `tradingd: a low-latency US-equities trading daemon

Usage:
  tradingd run [--config FILE] [--no-tune] [--listen HOST:PORT]
  tradingd check-config FILE
  tradingd tune --plan | --apply-host | --revert [--config FILE]
  tradingd ctl status | pause | resume | reduce | halt | flatten | risk [KEY=VALUE ...]
  tradingd version
  tradingd help [COMMAND]

With no config, \`run\` starts the embedded default: a dry run on the synthetic feed and the
simulated broker, HTTP on 127.0.0.1:8080.

Exit codes: 0 ok, 1 failure, 2 usage error, 78 configuration error.
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
  version: `Usage: tradingd version

Prints the tradingd version and the Bun runtime it was built with.`,
  help: `Usage: tradingd help [COMMAND]

Prints the usage of tradingd or of one command.`,
};
