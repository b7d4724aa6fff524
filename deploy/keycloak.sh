#!/usr/bin/env bash
# Keycloak, the organisations' identity provider of the local stack and of the browser tests, on
# 127.0.0.1, from the keycloak-quarkus-dist zip on Maven Central.
#   deploy/keycloak.sh start|stop|status|reset
# Settings: SAMORDNA_STATE_DIR (default <repo>/.local), KEYCLOAK_STATE_DIR (default <state>/keycloak),
# KEYCLOAK_PORT (18800; its management port, /health/ready, is the next one), KEYCLOAK_HEAP
# (-Xmx768m -Xms256m), KEYCLOAK_JAVA_OPTS (default: the client compiler only, which
# starts a small server faster on few cores), KEYCLOAK_JAVA_HOME (Keycloak 26 needs Java 21 or newer; default: the
# installed Temurin 25).
#
# The distribution is fetched once by Maven into ~/.m2 and built once (`kc.sh build`, which takes
# a minute) into ~/.cache/samordna/keycloak-<version>-<options>; every start after that is
# `start --optimized`. Its database is a file (H2, `dev-file`) in the state dir: enough for a demo
# and the tests, not for production (there: --db=postgres). The bootstrap administrator's password
# is generated once into <keycloak state>/admin.env (mode 600). Realms, clients and demo users are
# made by deploy/keycloak_realms.py through the admin REST API, idempotently.
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$DEPLOY")"
STATE="${SAMORDNA_STATE_DIR:-$REPO/.local}"
HOME_DIR="${KEYCLOAK_STATE_DIR:-$STATE/keycloak}"
PORT="${KEYCLOAK_PORT:-18800}"
MANAGEMENT_PORT=$((PORT + 1))
read -ra HEAP <<< "${KEYCLOAK_HEAP:--Xmx768m -Xms256m}"
JAVA_TUNING="${KEYCLOAK_JAVA_OPTS:--XX:TieredStopAtLevel=1}"
VERSION=26.7.3
ARTIFACT="org.keycloak:keycloak-quarkus-dist:$VERSION:zip"
ZIP="${HOME}/.m2/repository/org/keycloak/keycloak-quarkus-dist/$VERSION/keycloak-quarkus-dist-$VERSION.zip"
BUILD_OPTIONS=(--db=dev-file --cache=local --health-enabled=true)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/samordna"
INSTALL="$CACHE/keycloak-$VERSION-$(echo "${BUILD_OPTIONS[*]}" | sha256sum | cut -c1-12)"
ADMIN_ENV="$HOME_DIR/admin.env"
PID_FILE="$HOME_DIR/keycloak.pid"
LOG="$HOME_DIR/keycloak.log"
START_SECONDS=300  # the first start creates the database: on a busy two-core machine, a minute or more

find_java() {
  local candidate
  for candidate in "${KEYCLOAK_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 \
      /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
    [[ -n "$candidate" && -x "$candidate/bin/java" ]] && { echo "$candidate"; return; }
  done
  echo "Keycloak $VERSION needs Java 21 or newer: set KEYCLOAK_JAVA_HOME" >&2
  exit 1
}

export JAVA_HOME
JAVA_HOME="$(find_java)"

install() {
  [[ -x "$INSTALL/bin/kc.sh" ]] && return
  if [[ ! -s "$ZIP" ]]; then
    command -v mvn >/dev/null || { echo "mvn is needed once to fetch Keycloak" >&2; exit 1; }
    echo "fetching Keycloak $VERSION from Maven Central (once)..." >&2
    mvn -B -q dependency:get -Dartifact="$ARTIFACT" -Dtransitive=false >&2
  fi
  echo "building Keycloak $VERSION (once; about a minute)..." >&2
  mkdir -p "$CACHE"
  local tmp
  tmp="$(mktemp -d "$CACHE/keycloak-build.XXXXXX")"
  unzip -q "$ZIP" -d "$tmp"
  "$tmp/keycloak-$VERSION/bin/kc.sh" build "${BUILD_OPTIONS[@]}" > "$tmp/build.log" 2>&1 \
    || { cat "$tmp/build.log" >&2; rm -rf "$tmp"; exit 1; }
  rm -rf "$INSTALL"
  mv "$tmp/keycloak-$VERSION" "$INSTALL"
  rm -rf "$tmp"
}

new_password() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

ensure_admin() {
  [[ -s "$ADMIN_ENV" ]] && return
  mkdir -p "$HOME_DIR"
  (umask 077; { echo "KEYCLOAK_ADMIN_USER=samordna-admin"; echo "KEYCLOAK_ADMIN_PASSWORD=$(new_password)"; } > "$ADMIN_ENV")
}

pid() { cat "$PID_FILE" 2>/dev/null || true; }
# Our Keycloak, not a pid reused since a crash: its command line names this state dir's database.
running() { local p; p="$(pid)"; [[ -n "$p" ]] && grep -qaF -- "$HOME_DIR/h2" "/proc/$p/cmdline" 2>/dev/null; }
ready() { curl -sf "http://127.0.0.1:$MANAGEMENT_PORT/health/ready" >/dev/null 2>&1; }

start() {
  if running; then echo "keycloak already running on http://127.0.0.1:$PORT"; return; fi
  install
  ensure_admin
  # shellcheck source=/dev/null
  source "$ADMIN_ENV"
  mkdir -p "$HOME_DIR/h2"
  local began=$SECONDS
  KC_BOOTSTRAP_ADMIN_USERNAME="$KEYCLOAK_ADMIN_USER" KC_BOOTSTRAP_ADMIN_PASSWORD="$KEYCLOAK_ADMIN_PASSWORD" \
  JAVA_OPTS_KC_HEAP="${HEAP[*]}" JAVA_OPTS_APPEND="$JAVA_TUNING" \
  setsid "$INSTALL/bin/kc.sh" start --optimized \
    --db-url="jdbc:h2:file:$HOME_DIR/h2/keycloakdb;NON_KEYWORDS=VALUE" \
    --http-enabled=true --http-host=127.0.0.1 --http-port="$PORT" --http-management-port="$MANAGEMENT_PORT" \
    --hostname-strict=false --log=file --log-file="$LOG" >> "$LOG.out" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  local i
  for ((i = 0; i < START_SECONDS * 5; i++)); do
    if ready; then echo "keycloak serving on http://127.0.0.1:$PORT (ready after $((SECONDS - began)) s)"; return; fi
    if ! running; then break; fi
    sleep 0.2
  done
  echo "keycloak did not become ready; the end of $LOG:" >&2
  tail -n 30 "$LOG" "$LOG.out" >&2 2>/dev/null || true
  stop >&2
  exit 1
}

stop() {
  if ! running; then echo "keycloak not running"; rm -f "$PID_FILE"; return; fi
  local p i
  p="$(pid)"
  kill -- "-$p" 2>/dev/null || kill "$p"
  for ((i = 0; i < 300; i++)); do [[ -e "/proc/$p" ]] || break; sleep 0.1; done
  [[ -e "/proc/$p" ]] && kill -9 -- "-$p" 2>/dev/null
  rm -f "$PID_FILE"
  echo "keycloak stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running && ready; then echo "keycloak running on http://127.0.0.1:$PORT"; else echo "keycloak stopped"; exit 1; fi ;;
  reset) stop; rm -rf "$HOME_DIR"; echo "keycloak data removed" ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
