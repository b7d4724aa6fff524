#!/usr/bin/env bash
# A local PostgreSQL cluster on 127.0.0.1, in a project-local data directory.
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

find_bindir() {
  if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then pg_config --bindir; return; fi
  find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1
}

BIN="$(find_bindir)"

install_postgres() {
  echo "no PostgreSQL server binaries found; installing Debian's postgresql package" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
  BIN="$(find_bindir)"
}

as_owner() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# The port it was started on (the fourth line of postmaster.pid), which PG_PORT may not be now.
serving_port() { sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || echo "$PORT"; }
running() { [[ -n "$BIN" && -f "$DATA/postmaster.pid" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

init() {
  mkdir -p "$HOME_DIR" "$SOCKETS" "$(dirname "$LOG")"
  touch "$LOG"
  chmod 755 "$STATE" "$HOME_DIR" "$(dirname "$LOG")"
  if [[ $EUID -eq 0 ]]; then
    chown postgres: "$HOME_DIR" "$SOCKETS" "$LOG"
    # mkdtemp and pytest's tmp_path make 0700 directories, which the postgres user cannot enter.
    if ! as_owner test -w "$HOME_DIR"; then
      echo "the postgres user cannot reach $HOME_DIR: every directory above it needs o+x" >&2
      exit 1
    fi
  fi
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    as_owner "$BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
}

start() {
  [[ -n "$BIN" ]] || install_postgres
  if running; then echo "postgres already running on 127.0.0.1:$(serving_port)"; return; fi
  init
  if ! as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $PORT -k $SOCKETS -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null; then
    echo "postgres did not start; the end of $LOG:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  local psql=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc)
  if [[ -z "$(as_owner "${psql[@]}" "SELECT 1 FROM pg_database WHERE datname = 'samordna'")" ]]; then
    as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres samordna
  fi
  echo "postgres serving on 127.0.0.1:$PORT (database samordna)"
}

stop() {
  if running; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; echo "postgres stopped"; else echo "postgres not running"; fi
}

# A crash, for fault tests: immediate mode quits without a checkpoint, so the next start
# recovers from the WAL. (SIGKILL on the postmaster alone would leave its children holding
# the shared memory, and a new postmaster would refuse to start until they exit.)
crash() {
  if running; then as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null; echo "postgres killed"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) crash ;;
  status) if running; then echo "postgres running on 127.0.0.1:$(serving_port)"; else echo "postgres stopped"; exit 1; fi ;;
  reset) stop; rm -rf "$DATA"; echo "postgres data removed" ;;
  *) echo "usage: $0 start|stop|kill|status|reset" >&2; exit 2 ;;
esac
