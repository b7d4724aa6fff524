#!/usr/bin/env bash
# A local PostgreSQL cluster on loopback, in a project-local data directory.
#   deploy/postgres.sh start|stop|kill|status|reset
# Settings: SAMORDNA_STATE_DIR (default <repo>/.local), PG_PORT (15432).
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$DEPLOY")"
STATE="${SAMORDNA_STATE_DIR:-$REPO/.local}"
PORT="${PG_PORT:-15432}"
HOME_DIR="$STATE/postgres"
DATA="$HOME_DIR/data"
SOCKETS="$HOME_DIR/sockets"
LOG="$STATE/logs/postgres.log"

bindir() {
  if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then pg_config --bindir; return; fi
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [[ -z "$newest" ]]; then
    echo "no PostgreSQL server binaries found; installing Debian's postgresql package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
    newest="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi
  echo "$newest"
}

BIN="$(bindir)"
as_owner() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
running() { [[ -f "$DATA/postmaster.pid" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

init() {
  mkdir -p "$HOME_DIR" "$SOCKETS" "$(dirname "$LOG")"
  touch "$LOG"
  chmod 755 "$STATE" "$HOME_DIR"
  if [[ $EUID -eq 0 ]]; then chown postgres: "$HOME_DIR" "$SOCKETS" "$LOG"; chmod o+rx "$(dirname "$LOG")"; fi
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    as_owner "$BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
}

start() {
  if running; then echo "postgres already running on 127.0.0.1:$PORT"; return; fi
  init
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-p $PORT -k $SOCKETS -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  if ! as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='samordna'" | grep -q 1; then
    as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres samordna
  fi
  echo "postgres serving on 127.0.0.1:$PORT (database samordna)"
}

stop() {
  if running; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; echo "postgres stopped"; else echo "postgres not running"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) if running; then as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null; fi ;;
  status) if running; then echo "postgres running"; else echo "postgres stopped"; exit 1; fi ;;
  reset) stop; rm -rf "$DATA" ;;
  *) echo "usage: $0 start|stop|kill|status|reset" >&2; exit 2 ;;
esac
