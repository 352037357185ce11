#!/usr/bin/env bash
# Installs Debian's `chromium` package when /usr/bin/chromium is missing (idempotent).
# Why: the run inspector's end-to-end tests drive a real headless browser through playwright-core,
# and no browser may be downloaded from elsewhere; Debian's package is the one source we trust here.
set -euo pipefail

CHROMIUM="${MEND_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "mend: $CHROMIUM is missing and installing it needs root (apt-get install chromium)" >&2
  exit 1
fi

echo "mend: installing Debian's chromium package (for the run inspector's browser tests)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
"$CHROMIUM" --version >&2
