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
LOCK="$REPO/deploy/axe/package-lock.json"
SCRIPT="$HOME_DIR/node_modules/axe-core/axe.min.js"

install() {
    if [ -f "$SCRIPT" ] && cmp -s "$LOCK" "$HOME_DIR/package-lock.json"; then
        return
    fi
    command -v npm >/dev/null || { echo "npm is needed for axe-core (apt-get install nodejs npm)" >&2; exit 1; }
    mkdir -p "$HOME_DIR"
    cp "$REPO/deploy/axe/package.json" "$LOCK" "$HOME_DIR/"
    (cd "$HOME_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
}

case "${1:-}" in
    install) install ;;
    path) install; echo "$SCRIPT" ;;
    *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
