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

fail() {
  echo "deploy/browser.sh: $1" >&2
  echo "deploy/browser.sh: the browser tests (tests/browser) need Debian's chromium at $CHROMIUM;" \
       "install it with: apt-get update && apt-get install -y chromium" >&2
  exit 1
}

if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || fail "not root and no sudo, so chromium cannot be installed here"
  SUDO=(sudo -n)
else
  SUDO=()
fi

echo "no chromium at $CHROMIUM; installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q >&2 || fail "apt-get update failed"
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium >&2 || fail "apt-get install chromium failed"
[[ -x "$CHROMIUM" ]] || fail "the chromium package installed, but $CHROMIUM is still missing"
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
