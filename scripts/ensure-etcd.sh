#!/bin/sh
# Makes sure an etcd server binary exists for the etcd coordinator tests (test/etcd/*), at $ETCD
# (default: `etcd` on PATH, else /usr/bin/etcd). Installs Debian's etcd-server with apt-get when
# running as root on a system that has apt-get; otherwise says why it cannot. Prints the path of
# the binary on the last line of stdout. Exit 0 when etcd is there (already or after installing),
# 1 otherwise. Mirrors scripts/ensure-chromium.sh.
set -u
found() {
  if [ -n "${ETCD:-}" ]; then
    [ -x "$ETCD" ] && echo "$ETCD" && return 0
    return 1
  fi
  command -v etcd 2>/dev/null && return 0
  [ -x /usr/bin/etcd ] && echo /usr/bin/etcd && return 0
  return 1
}

if BIN=$(found); then
  echo "ensure-etcd: found $BIN" >&2
  echo "$BIN"
  exit 0
fi
if [ -n "${ETCD:-}" ]; then
  echo "ensure-etcd: $ETCD is missing; apt-get installs only /usr/bin/etcd, so install it yourself (or unset ETCD)." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-etcd: etcd is missing and this system has no apt-get; install etcd 3.4+ yourself (or set ETCD=/path/to/etcd)." >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-etcd: etcd is missing; installing it needs root: run 'sudo apt-get update && sudo apt-get install -y etcd-server' (or set ETCD=/path/to/etcd)." >&2
  exit 1
fi

echo "ensure-etcd: etcd is missing; installing etcd-server with apt-get (this can take a minute)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update >&2; then
  echo "ensure-etcd: 'apt-get update' failed (no network or no package sources?)." >&2
  exit 1
fi
# --no-install-recommends: the package must not start a system-wide etcd service we did not ask for.
if ! apt-get install -y --no-install-recommends etcd-server >&2; then
  echo "ensure-etcd: 'apt-get install etcd-server' failed (is there an 'etcd-server' package for this distribution?)." >&2
  exit 1
fi
if BIN=$(found); then
  echo "ensure-etcd: installed $BIN ($("$BIN" --version 2>/dev/null | head -n 1 || echo 'version unknown'))" >&2
  echo "$BIN"
  exit 0
fi
echo "ensure-etcd: apt-get finished but no etcd binary is on PATH or at /usr/bin/etcd." >&2
exit 1
