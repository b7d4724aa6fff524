#!/usr/bin/env bash
# A single-node Apache Kafka on 127.0.0.1: KRaft combined mode (broker and controller in one
# process), assembled from Maven Central through deploy/pom.xml.
#   deploy/kafka.sh start|stop|kill|status|reset
# Settings: SAMORDNA_STATE_DIR (default <repo>/.local), KAFKA_PORT (19092),
# KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_HEAP (-Xmx512m -Xms256m).
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$DEPLOY")"
STATE="${SAMORDNA_STATE_DIR:-$REPO/.local}"
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
read -ra HEAP <<< "${KAFKA_HEAP:--Xmx512m -Xms256m}"
HOME_DIR="$STATE/kafka"
DATA="$HOME_DIR/data"
CONFIG="$HOME_DIR/server.properties"
PID_FILE="$HOME_DIR/kafka.pid"
LOG="$STATE/logs/kafka.log"
OUT="$LOG.out"  # the JVM's own stdout and stderr (crashes, out of memory)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/samordna"
LOGGING=(-Dlog4j2.configurationFile="$DEPLOY/log4j2.properties" -Dsamordna.kafka.log="$LOG")

pid() { cat "$PID_FILE" 2>/dev/null || true; }

# A live broker of this state dir. Checking the command line, not just `kill -0`, guards against
# a pid reused since a crash, and against a killed broker still a zombie (PID 1 may not reap).
alive() { [[ -n "$1" ]] && grep -qaF -- "$CONFIG" "/proc/$1/cmdline" 2>/dev/null; }
running() { alive "$(pid)"; }

# Gone, or a zombie that is only waiting to be reaped: then its ports and data dir lock are free.
# A killed JVM's main thread turns zombie while its other threads still hold them; hence the
# thread count. (Its command line is empty even earlier, so `alive` is no test for this.)
exited() {
  [[ -e "/proc/$1" ]] || return 0
  local threads=("/proc/$1/task/"*)
  [[ ${#threads[@]} -le 1 && "$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)" =~ ^[ZX]?$ ]]
}

wait_gone() {  # pid, seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do exited "$1" && return 0; sleep 0.1; done
  return 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

all_jars_exist() {
  local jars jar
  IFS=: read -ra jars < "$1" || true  # the file has no final newline
  for jar in "${jars[@]}"; do [[ -f "$jar" ]] || return 1; done
}

# The runtime classpath, resolved by Maven once per content of pom.xml and then read from the
# cache: later starts need neither network nor mvn, as long as every jar is still in ~/.m2.
classpath() {
  local file tmp output
  file="$CACHE/kafka-classpath-$(sha256sum "$DEPLOY/pom.xml" | cut -c1-16).txt"
  if [[ -s "$file" ]] && all_jars_exist "$file"; then cat "$file"; return; fi
  command -v mvn >/dev/null || { echo "mvn is needed once to fetch the Kafka broker" >&2; exit 1; }
  echo "resolving the Kafka broker from Maven Central (once)..." >&2
  mkdir -p "$CACHE"
  tmp="$(mktemp "$file.XXXXXX")"
  # Maven's output only on failure (quiet mode still prints stray colour codes).
  if ! output="$(mvn -B -q -f "$DEPLOY/pom.xml" dependency:build-classpath -Dmdep.outputFile="$tmp" 2>&1)"; then
    echo "$output" >&2; rm -f "$tmp"; exit 1
  fi
  mv "$tmp" "$file"
  cat "$file"
}

write_config() {
  cat > "$CONFIG" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=6
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
log.retention.hours=72
PROPS
}

# KRaft storage is formatted once. --standalone makes this node the only voter of the dynamic
# controller quorum (it goes with controller.quorum.bootstrap.servers); -g: already formatted is fine.
format_once() {
  [[ -f "$DATA/meta.properties" ]] && return
  local cluster_id
  cluster_id="$(java "${LOGGING[@]}" -cp "$1" kafka.tools.StorageTool random-uuid | tail -n 1)"
  java "${LOGGING[@]}" -cp "$1" kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG" --standalone -g >>"$OUT"
}

wait_until_serving() {
  local i
  for ((i = 0; i < 120; i++)); do
    # Not `running`: until the child has exec'd java its command line is still this script's.
    if exited "$(pid)"; then fail "kafka exited during start"; fi
    if grep -q "Kafka Server started" "$LOG" 2>/dev/null && port_in_use "$PORT"; then
      echo "kafka serving on 127.0.0.1:$PORT (pid $(pid))"
      return
    fi
    sleep 0.5
  done
  fail "kafka did not start within 60 s"
}

fail() {
  echo "$1; the end of $LOG:" >&2
  tail -n 30 "$LOG" >&2 || true
  [[ -s "$OUT" ]] && { echo "--- $OUT:" >&2; tail -n 20 "$OUT" >&2; }
  exit 1
}

start() {
  if running; then echo "kafka already running on 127.0.0.1:$PORT (pid $(pid))"; return; fi
  command -v java >/dev/null || { echo "java (17 or newer) is needed" >&2; exit 1; }
  local p port cp
  p="$(pid)"
  # A broker killed just now may still be exiting (its command line is gone, but not yet its ports).
  if [[ -n "$p" && "$(cat "/proc/$p/comm" 2>/dev/null)" == java ]]; then wait_gone "$p" 10 || true; fi
  for port in "$PORT" "$CONTROLLER_PORT"; do
    if port_in_use "$port"; then echo "port $port on 127.0.0.1 is taken by another process" >&2; exit 1; fi
  done
  cp="$(classpath)"
  mkdir -p "$DATA" "$(dirname "$LOG")"
  # Keep the previous run's log (a crash is explained there); each start begins a fresh one.
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  : > "$OUT"
  write_config
  format_once "$cp"
  setsid nohup java "${HEAP[@]}" -Djava.awt.headless=true "${LOGGING[@]}" -cp "$cp" kafka.Kafka "$CONFIG" \
    >>"$OUT" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  wait_until_serving
}

stop() {
  local p
  p="$(pid)"
  if ! alive "$p"; then rm -f "$PID_FILE"; echo "kafka not running"; return; fi
  kill -TERM "$p"
  if ! wait_gone "$p" 30; then
    echo "kafka did not stop within 30 s; killing it" >&2
    kill -KILL "$p" 2>/dev/null || true
    wait_gone "$p" 10 || true
  fi
  rm -f "$PID_FILE"
  echo "kafka stopped"
}

# A crash, for fault tests: no clean shutdown. Waits until the process is gone, so that an
# immediate start does not collide with the dying broker's ports and lock file.
crash() {
  local p
  p="$(pid)"
  if alive "$p"; then kill -KILL "$p"; wait_gone "$p" 10 || true; echo "kafka killed"; fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) crash ;;
  status) if running; then echo "kafka running on 127.0.0.1:$PORT (pid $(pid))"; else echo "kafka stopped"; exit 1; fi ;;
  reset) stop; rm -rf "$DATA"; echo "kafka data removed" ;;
  *) echo "usage: $0 start|stop|kill|status|reset" >&2; exit 2 ;;
esac
