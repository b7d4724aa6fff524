#!/usr/bin/env bash
# axe-core (from npm, the version in deploy/axe/package-lock.json), installed once into the state
# directory; the browser tests inject its axe.min.js into every page (tests/browser/test_accessibility.py).
#   deploy/axe.sh install    npm ci into $SAMORDNA_STATE_DIR/axe (again only if the lock changed)
#   deploy/axe.sh path       prints the path of axe.min.js (installing first if needed)
# Settings: SAMORDNA_STATE_DIR (default <repo>/.local). Needs node and npm.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${SAMORDNA_STATE_DIR:-$REPO/.local}"
HOME_DIR="$STATE/axe"
SCRIPT="$HOME_DIR/node_modules/axe-core/axe.min.js"

source "$REPO/deploy/lib.sh"

install() { npm_install "$HOME_DIR" "$REPO/deploy/axe" "$SCRIPT" "axe-core"; }

case "${1:-}" in
    install) install ;;
    path) install; echo "$SCRIPT" ;;
    *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
