#!/bin/sh
# Makes sure a Chromium for the canvas e2e test exists at $CHROMIUM (default /usr/bin/chromium).
# Installs it with apt-get when running as root on a system that has apt-get; otherwise says why
# it cannot. Exit 0 when Chromium is there (already or after installing), 1 otherwise.
set -u
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: found $CHROMIUM"
  exit 0
fi
if [ "$CHROMIUM" != "/usr/bin/chromium" ]; then
  echo "ensure-chromium: $CHROMIUM is missing; apt-get installs only /usr/bin/chromium, so install it yourself (or unset CHROMIUM)." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and this system has no apt-get; install Chromium yourself (or set CHROMIUM=/path/to/chromium)." >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: $CHROMIUM is missing; installing it needs root: run 'sudo apt-get update && sudo apt-get install -y chromium' (or set CHROMIUM=/path/to/chromium)." >&2
  exit 1
fi

echo "ensure-chromium: $CHROMIUM is missing; installing with apt-get (this can take a few minutes)..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update; then
  echo "ensure-chromium: 'apt-get update' failed (no network or no package sources?)." >&2
  exit 1
fi
if ! apt-get install -y --no-install-recommends chromium; then
  echo "ensure-chromium: 'apt-get install chromium' failed (is there a 'chromium' package for this distribution? Ubuntu ships only a snap stub)." >&2
  exit 1
fi
if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: installed $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing." >&2
exit 1
