#!/usr/bin/env bash
# The browser tests render every Teams card with Microsoft's `adaptivecards` package (with the
# Teams host config its designer package ships, and markdown-it for the Markdown Teams reads),
# installed from the npm registry into tools/npm/node_modules at the versions package-lock.json
# pins. Test-only: the bot never loads them. Node.js and npm come from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/npm"
stamp=node_modules/.installed-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's nodejs and npm packages for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "npm is missing: install Debian's nodejs and npm packages" >&2
    exit 1
  fi
fi
echo "installing the Adaptive Cards renderer for the browser tests (npm ci in tools/npm)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
