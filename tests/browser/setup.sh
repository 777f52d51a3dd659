#!/usr/bin/env bash
# What the browser tests (tests/api/browser.rs) need: Debian's Chromium and the npm packages
# pinned in package-lock.json (playwright-core drives Chromium; axe-core checks each page).
set -euo pipefail
cd "$(dirname "$0")"
if ! [ -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
command -v npm >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
}
npm ci --no-audit --no-fund
