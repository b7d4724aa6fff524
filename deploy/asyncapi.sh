#!/usr/bin/env bash
# The AsyncAPI CLI (@asyncapi/cli from npm, the version in deploy/asyncapi/package-lock.json),
# installed once into the state directory and used to validate docs/asyncapi.yaml.
#   deploy/asyncapi.sh install            npm ci into $SAMORDNA_STATE_DIR/asyncapi (again only if the lock changed)
#   deploy/asyncapi.sh validate [FILE]    asyncapi validate FILE (default docs/asyncapi.yaml)
# Settings: SAMORDNA_STATE_DIR (default <repo>/.local). Needs node and npm (Node 20 or newer).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${SAMORDNA_STATE_DIR:-$REPO/.local}"
HOME_DIR="$STATE/asyncapi"
CLI="$HOME_DIR/node_modules/.bin/asyncapi"
# no usage metrics sent from the suite or a CI run
export CI=true ASYNCAPI_METRICS_CONFIG_PATH="$HOME_DIR/analytics.json"

source "$REPO/deploy/lib.sh"

install() { npm_install "$HOME_DIR" "$REPO/deploy/asyncapi" "$CLI" "the AsyncAPI CLI"; }

case "${1:-}" in
    install) install ;;
    validate)
        install
        [ -f "$ASYNCAPI_METRICS_CONFIG_PATH" ] ||
            echo '{"analyticsEnabled":"false","infoMessageShown":"true"}' > "$ASYNCAPI_METRICS_CONFIG_PATH"
        "$CLI" validate "${2:-$REPO/docs/asyncapi.yaml}" --fail-severity=warn
        ;;
    *) echo "usage: $0 install|validate [FILE]" >&2; exit 2 ;;
esac
