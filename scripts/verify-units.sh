#!/usr/bin/env bash
# Verifies the systemd units in systemd/ with `systemd-analyze verify`, and fails on ANY output:
# verify prints warnings (an unknown or misspelt directive, a bad value) and still exits 0.
#
# The units name /usr/local/bin/tradingd, and verify fails when an Exec*= binary is missing. So
# the units are checked unchanged, inside a throwaway root (`--root`): the unit files in its
# /etc/systemd/system, an executable stub at its /usr/local/bin/tradingd (verify only checks that
# the file is executable; it runs nothing), and a copy of the host's own system units, which the
# units' default dependencies (sysinit.target, network-online.target, ...) resolve against.
# The template is verified through an instance, tradingd@verify.service.
#
# Usage: scripts/verify-units.sh [DIR]      DIR holds tradingd.service and tradingd@.service
#                                          (default: systemd/); exit 0 and silent when clean
set -uo pipefail
cd "$(dirname "$0")/.."
units_dir=${1:-systemd}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "verify-units: systemd-analyze not found (apt-get install systemd)" >&2
  exit 2
fi
host_units=""
for d in /usr/lib/systemd/system /lib/systemd/system; do
  [ -f "$d/sysinit.target" ] && { host_units=$d; break; }
done
if [ -z "$host_units" ]; then
  echo "verify-units: no system units on this host (looked for sysinit.target in /usr/lib/systemd/system, /lib/systemd/system)" >&2
  exit 2
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/local/bin"
cp -r "$host_units" "$root/usr/lib/systemd/system"
printf '#!/bin/sh\nexit 0\n' >"$root/usr/local/bin/tradingd"
chmod 0755 "$root/usr/local/bin/tradingd"
cp "$units_dir/tradingd.service" "$units_dir/tradingd@.service" "$root/etc/systemd/system/" || exit 2

status=0
for unit in tradingd.service tradingd@verify.service; do
  out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --root="$root" "$unit" 2>&1)
  code=$?
  if [ "$code" -ne 0 ] || [ -n "$out" ]; then
    echo "verify-units: $unit: systemd-analyze verify exited $code$([ -n "$out" ] && echo ' and printed:')"
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  /'
    status=1
  fi
done
exit "$status"
