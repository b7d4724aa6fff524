#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, broker+controller) on loopback, assembled from Maven Central.
#   deploy/kafka.sh start|stop|kill|status|reset
# Settings: SAMORDNA_STATE_DIR (default <repo>/.local), KAFKA_PORT (19092),
# KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_HEAP (-Xmx512m -Xms256m).
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$DEPLOY")"
STATE="${SAMORDNA_STATE_DIR:-$REPO/.local}"
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
HEAP="${KAFKA_HEAP:--Xmx512m -Xms256m}"
HOME_DIR="$STATE/kafka"
DATA="$HOME_DIR/data"
PID_FILE="$HOME_DIR/kafka.pid"
LOG="$STATE/logs/kafka.log"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/samordna"

running() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

# The classpath is resolved once per pom.xml and reused: a second start needs no network.
classpath() {
  local hash cp_file
  hash="$(sha256sum "$DEPLOY/pom.xml" | cut -c1-16)"
  cp_file="$CACHE/kafka-classpath-$hash.txt"
  if [[ -s "$cp_file" ]] && tr ':' '\n' < "$cp_file" | while read -r jar; do [[ -f "$jar" ]] || exit 1; done; then
    cat "$cp_file"; return
  fi
  mkdir -p "$CACHE"
  echo "resolving the Kafka broker from Maven Central (once)..." >&2
  mvn -B -q -f "$DEPLOY/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file.tmp" >&2
  mv "$cp_file.tmp" "$cp_file"
  cat "$cp_file"
}

write_config() {
  mkdir -p "$DATA" "$(dirname "$LOG")"
  cat > "$HOME_DIR/server.properties" <<PROPS
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
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
}

wait_until_serving() {
  for _ in $(seq 1 120); do
    if ! running; then echo "kafka exited during start; last log lines:" >&2; tail -n 30 "$LOG" >&2; exit 1; fi
    if grep -q "Kafka Server started" "$LOG" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      echo "kafka serving on 127.0.0.1:$PORT"; return
    fi
    sleep 0.5
  done
  echo "kafka did not start within 60 s; last log lines:" >&2; tail -n 30 "$LOG" >&2; exit 1
}

start() {
  if running; then echo "kafka already running on 127.0.0.1:$PORT (pid $(cat "$PID_FILE"))"; return; fi
  local cp
  cp="$(classpath)"
  write_config
  if [[ ! -f "$DATA/meta.properties" ]]; then
    java -cp "$cp" -Dlog4j2.configurationFile="$DEPLOY/log4j2.properties" -Dsamordna.kafka.log="$LOG" \
      kafka.tools.StorageTool format -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
      -c "$HOME_DIR/server.properties" --standalone -g >/dev/null
  fi
  : > "$LOG"
  # shellcheck disable=SC2086
  setsid nohup java $HEAP -Dlog4j2.configurationFile="$DEPLOY/log4j2.properties" -Dsamordna.kafka.log="$LOG" \
    -cp "$cp" kafka.Kafka "$HOME_DIR/server.properties" >>"$LOG.out" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  wait_until_serving
}

stop() {
  if ! running; then rm -f "$PID_FILE"; echo "kafka not running"; return; fi
  local pid; pid="$(cat "$PID_FILE")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$PID_FILE"; echo "kafka stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) if running; then kill -KILL "$(cat "$PID_FILE")"; rm -f "$PID_FILE"; fi ;;
  status) if running; then echo "kafka running (pid $(cat "$PID_FILE"))"; else echo "kafka stopped"; exit 1; fi ;;
  reset) stop; rm -rf "$DATA" ;;
  *) echo "usage: $0 start|stop|kill|status|reset" >&2; exit 2 ;;
esac
