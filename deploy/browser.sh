#!/usr/bin/env bash
# What the browser tests need: Debian's chromium, driven by the Python playwright package.
#   deploy/browser.sh            installs chromium if /usr/bin/chromium is missing; idempotent, no prompts
# Playwright's own browser download is never used (`playwright install` fetches from a CDN);
# the tests launch /usr/bin/chromium through playwright's executable_path instead.
set -euo pipefail

CHROMIUM="${SAMORDNA_CHROMIUM:-/usr/bin/chromium}"

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NEEDS="the browser tests (tests/browser) need Debian's chromium at $CHROMIUM;"
NEEDS+=" install it with: apt-get update && apt-get install -y chromium"
apt_install chromium "no chromium at $CHROMIUM; installing Debian's chromium package" chromium
[[ -x "$CHROMIUM" ]] || fail "the chromium package installed, but $CHROMIUM is still missing"
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
