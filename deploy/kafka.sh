#!/usr/bin/env bash
# Apache Kafka on 127.0.0.1 in KRaft combined mode (each node a broker and a controller),
# assembled from Maven Central through deploy/pom.xml: one node by default, or a cluster.
#   deploy/kafka.sh start|stop|status|reset     every node
#   deploy/kafka.sh kill [NODE]                 SIGKILL every node, or one (fault tests)
#   deploy/kafka.sh start NODE                  start one node again (after a kill)
#   deploy/kafka.sh pause|resume [NODE]         SIGSTOP / SIGCONT (fault tests: a hung broker)
#   deploy/kafka.sh classpath                   the jars (Kafka's Java client among them), for a Java client
# Settings: SAMORDNA_STATE_DIR (default <repo>/.local), KAFKA_PORT (19092), KAFKA_NODES (1),
# KAFKA_HEAP (-Xmx512m -Xms256m), KAFKA_JAVA_OPTS (-XX:TieredStopAtLevel=1: the JIT's quick
# compiler only; measured in docs/performance.md, "The Kafka node's JIT"), KAFKA_RETENTION_CHECK_MS (300000: how often the broker deletes
# segments past their topic's retention; the tests lower it). Node N listens for clients on
# KAFKA_PORT + 2(N-1) and for its controller quorum on the port after that. KAFKA_TLS_PORT (unset: none) adds a SASL_SSL listener,
# node N on KAFKA_TLS_PORT + N - 1, with a certificate for 127.0.0.1 signed by a local CA made once
# in $STATE/kafka/tls/ (clients trust ca.crt there: SAMORDNA_KAFKA_CA_FILE).
#
# Authentication is always on: clients use SASL/SCRAM-SHA-512 on the client listener, the
# controllers SASL/PLAIN among themselves; the StandardAuthorizer refuses whatever no ACL allows.
# The broker's own users and an administrator (samordna-admin) are made when the storage is
# formatted; their passwords are generated once into $STATE/kafka/credentials.env (mode 600),
# and $STATE/kafka/admin.properties configures Kafka's own CLI tools as the administrator.
# Users and ACLs of the services come from deploy/access.py.
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$DEPLOY")"
STATE="${SAMORDNA_STATE_DIR:-$REPO/.local}"
PORT="${KAFKA_PORT:-19092}"
NODES="${KAFKA_NODES:-1}"
TLS_PORT="${KAFKA_TLS_PORT:-}"
read -ra HEAP <<< "${KAFKA_HEAP:--Xmx512m -Xms256m}"
read -ra JAVA_TUNING <<< "${KAFKA_JAVA_OPTS--XX:TieredStopAtLevel=1}"
HOME_DIR="$STATE/kafka"
CREDENTIALS="$HOME_DIR/credentials.env"
ADMIN_PROPERTIES="$HOME_DIR/admin.properties"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/samordna"
MECHANISM=SCRAM-SHA-512
ADMIN_USER=samordna-admin
BROKER_USER=samordna-broker
CONTROLLER_USER=samordna-controller
TLS_DIR="$HOME_DIR/tls"

# ---- nodes ----------------------------------------------------------------------------
client_port() { echo $((PORT + 2 * ($1 - 1))); }
controller_port() { echo $((PORT + 2 * ($1 - 1) + 1)); }
node_dir() { echo "$HOME_DIR/node-$1"; }
config() { echo "$(node_dir "$1")/server.properties"; }
pid_file() { echo "$(node_dir "$1")/kafka.pid"; }
log_of() { echo "$STATE/logs/kafka-$1.log"; }
pid() { cat "$(pid_file "$1")" 2>/dev/null || true; }
all_nodes() { seq 1 "$NODES"; }

# A live node of this state dir. Checking the command line, not just `kill -0`, guards against
# a pid reused since a crash, and against a killed broker still a zombie (PID 1 may not reap).
alive() { [[ -n "$1" ]] && grep -qaF -- "$2" "/proc/$1/cmdline" 2>/dev/null; }
running() { alive "$(pid "$1")" "$(config "$1")"; }

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

# ---- the broker's software --------------------------------------------------------------
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

logging() { echo "-Dlog4j2.configurationFile=$DEPLOY/log4j2.properties -Dsamordna.kafka.log=$(log_of "$1")"; }

# ---- credentials and configuration --------------------------------------------------------
new_password() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

ensure_credentials() {
  [[ -s "$CREDENTIALS" ]] && return
  mkdir -p "$HOME_DIR"
  (
    umask 077
    {
      echo "KAFKA_ADMIN_USER=$ADMIN_USER"
      echo "KAFKA_ADMIN_PASSWORD=$(new_password)"
      echo "KAFKA_BROKER_PASSWORD=$(new_password)"
      echo "KAFKA_CONTROLLER_PASSWORD=$(new_password)"
    } > "$CREDENTIALS"
  )
}

load_credentials() {
  # shellcheck source=/dev/null
  source "$CREDENTIALS"
}

write_admin_properties() {
  (
    umask 077
    cat > "$ADMIN_PROPERTIES" <<PROPS
# Kafka's CLI tools as the administrator, e.g.
#   kafka-acls.sh --bootstrap-server 127.0.0.1:$PORT --command-config $ADMIN_PROPERTIES --list
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN_USER" password="$KAFKA_ADMIN_PASSWORD";
PROPS
  )
}

# ---- the optional TLS listener ------------------------------------------------------------
tls_port() { echo $((TLS_PORT + $1 - 1)); }

# A local CA and one broker certificate for 127.0.0.1 and localhost (every node listens there),
# in a PKCS#12 keystore whose password is kept in credentials.env. Made once per state dir.
ensure_tls() {
  [[ -n "$TLS_PORT" && ! -s "$TLS_DIR/broker.p12" ]] || return 0
  command -v openssl >/dev/null || { echo "openssl is needed for KAFKA_TLS_PORT" >&2; exit 1; }
  mkdir -p "$TLS_DIR"
  (
    umask 077
    cd "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
      -subj "/CN=Samordna local Kafka CA" -keyout ca.key -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
      -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
      -extfile broker.ext -out broker.crt 2>/dev/null
    grep -q '^KAFKA_TLS_KEYSTORE_PASSWORD=' "$CREDENTIALS" || echo "KAFKA_TLS_KEYSTORE_PASSWORD=$(new_password)" >> "$CREDENTIALS"
    load_credentials  # in this subshell; start() loads them again for the node's settings
    openssl pkcs12 -export -name broker -in broker.crt -inkey broker.key -certfile ca.crt \
      -passout "pass:$KAFKA_TLS_KEYSTORE_PASSWORD" -out broker.p12
    rm -f broker.csr broker.ext ca.srl
    chmod 644 ca.crt
  )
}

tls_properties() {  # the SASL_SSL listener's own settings
  [[ -n "$TLS_PORT" ]] || return 0
  cat <<PROPS
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$KAFKA_TLS_KEYSTORE_PASSWORD
listener.name.sasl_ssl.ssl.key.password=$KAFKA_TLS_KEYSTORE_PASSWORD
PROPS
}

voters() {
  local n out=()
  for n in $(all_nodes); do out+=("$n@127.0.0.1:$(controller_port "$n")"); done
  (IFS=,; echo "${out[*]}")
}

write_config() {  # node
  local n="$1" replicas=$((NODES < 3 ? NODES : 3)) min_isr=$((NODES < 2 ? 1 : 2))
  local clients="SASL://127.0.0.1:$(client_port "$1")" protocols="SASL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
  if [[ -n "$TLS_PORT" ]]; then
    clients+=",SASL_SSL://127.0.0.1:$(tls_port "$n")"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  (
    umask 077
    cat > "$(config "$n")" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
listeners=$clients,CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=$clients
listener.security.protocol.map=$protocols
inter.broker.listener.name=SASL
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=$MECHANISM
sasl.mechanism.inter.broker.protocol=$MECHANISM
listener.name.sasl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$BROKER_USER" password="$KAFKA_BROKER_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$CONTROLLER_USER" password="$KAFKA_CONTROLLER_PASSWORD" user_$CONTROLLER_USER="$KAFKA_CONTROLLER_PASSWORD";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$BROKER_USER;User:$CONTROLLER_USER;User:$ADMIN_USER
log.dirs=$(node_dir "$n")/data
num.partitions=6
default.replication.factor=$replicas
min.insync.replicas=$min_isr
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=$replicas
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$min_isr
log.retention.hours=72
log.retention.check.interval.ms=${KAFKA_RETENTION_CHECK_MS:-300000}
$(tls_properties)
PROPS
  )
}

# Each node's storage is formatted once, with the same cluster id and the SCRAM users the
# brokers and the administrator need before any ACL exists.
format_once() {  # classpath, node, cluster id
  [[ -f "$(node_dir "$2")/data/meta.properties" ]] && return
  # shellcheck disable=SC2046
  java $(logging "$2") -cp "$1" kafka.tools.StorageTool format -t "$3" -c "$(config "$2")" -g \
    --add-scram "$MECHANISM=[name=$BROKER_USER,password=$KAFKA_BROKER_PASSWORD]" \
    --add-scram "$MECHANISM=[name=$ADMIN_USER,password=$KAFKA_ADMIN_PASSWORD]" \
    >>"$(log_of "$2").out"
}

cluster_id() {  # classpath
  local file="$HOME_DIR/cluster.id"
  if [[ ! -s "$file" ]]; then
    # shellcheck disable=SC2046
    java $(logging 1) -cp "$1" kafka.tools.StorageTool random-uuid | tail -n 1 > "$file"
  fi
  cat "$file"
}

# A state dir holds one shape of cluster: its node count is fixed when it is first started.
check_shape() {
  local file="$HOME_DIR/nodes"
  if [[ -d "$HOME_DIR/data" ]]; then  # a broker of an older layout, without authentication
    echo "removing $HOME_DIR/data: broker data from before authentication was on" >&2
    rm -rf "$HOME_DIR/data" "$HOME_DIR/server.properties" "$HOME_DIR/kafka.pid"
  fi
  if [[ -s "$file" && "$(cat "$file")" != "$NODES" ]]; then
    echo "$STATE holds a $(cat "$file")-node Kafka, not $NODES: use KAFKA_NODES=$(cat "$file"), another SAMORDNA_STATE_DIR, or reset" >&2
    exit 1
  fi
  mkdir -p "$HOME_DIR"
  echo "$NODES" > "$file"
}

# ---- start, stop, kill ----------------------------------------------------------------------
fail() {  # node, message
  local log
  log="$(log_of "$1")"
  echo "kafka node $1: $2; the end of $log:" >&2
  tail -n 30 "$log" >&2 || true
  [[ -s "$log.out" ]] && { echo "--- $log.out:" >&2; tail -n 20 "$log.out" >&2; }
  exit 1
}

launch() {  # classpath, node
  local n="$2" p port log
  p="$(pid "$n")"
  # A node killed just now may still be exiting (its command line is gone, but not yet its ports).
  if [[ -n "$p" && "$(cat "/proc/$p/comm" 2>/dev/null)" == java ]]; then wait_gone "$p" 10 || true; fi
  for port in "$(client_port "$n")" "$(controller_port "$n")" ${TLS_PORT:+"$(tls_port "$n")"}; do
    if port_in_use "$port"; then echo "port $port on 127.0.0.1 is taken by another process" >&2; exit 1; fi
  done
  log="$(log_of "$n")"
  mkdir -p "$(node_dir "$n")/data" "$(dirname "$log")"
  # Keep the previous run's log (a crash is explained there); each start begins a fresh one.
  [[ -f "$log" ]] && mv -f "$log" "$log.1"
  : > "$log.out"  # the JVM's own stdout and stderr (crashes, out of memory)
  write_config "$n"
  format_once "$1" "$n" "$(cluster_id "$1")"
  # shellcheck disable=SC2046
  setsid nohup java "${HEAP[@]}" "${JAVA_TUNING[@]}" -Djava.awt.headless=true $(logging "$n") -cp "$1" kafka.Kafka "$(config "$n")" \
    >>"$log.out" 2>&1 < /dev/null &
  echo $! > "$(pid_file "$n")"
}

wait_until_serving() {  # node
  local n="$1" i
  for ((i = 0; i < 180; i++)); do
    # Not `running`: until the child has exec'd java its command line is still this script's.
    if exited "$(pid "$n")"; then fail "$n" "exited during start"; fi
    if grep -q "Kafka Server started" "$(log_of "$n")" 2>/dev/null && port_in_use "$(client_port "$n")"; then
      echo "kafka node $n serving on 127.0.0.1:$(client_port "$n") (pid $(pid "$n"))"
      return
    fi
    sleep 0.5
  done
  fail "$n" "did not start within 90 s"
}

start() {  # [node]
  local nodes=("$@") n cp started=()
  [[ $# -gt 0 ]] || mapfile -t nodes < <(all_nodes)
  command -v java >/dev/null || { echo "java (17 or newer) is needed" >&2; exit 1; }
  check_shape
  ensure_credentials
  ensure_tls
  load_credentials
  write_admin_properties
  cp=""
  # Every node is launched before any is waited for: a node serves only once a quorum is up.
  for n in "${nodes[@]}"; do
    if running "$n"; then echo "kafka node $n already running on 127.0.0.1:$(client_port "$n") (pid $(pid "$n"))"; continue; fi
    [[ -n "$cp" ]] || cp="$(classpath)"
    launch "$cp" "$n"
    started+=("$n")
  done
  for n in "${started[@]}"; do wait_until_serving "$n"; done
}

stop() {
  local n p pids=()
  # Every node at once: one that is left alone without a controller quorum cannot shut down cleanly.
  for n in $(all_nodes); do
    p="$(pid "$n")"
    if alive "$p" "$(config "$n")"; then kill -TERM "$p"; pids+=("$n:$p"); else rm -f "$(pid_file "$n")"; fi
  done
  for entry in "${pids[@]}"; do
    n="${entry%%:*}" p="${entry#*:}"
    if ! wait_gone "$p" 30; then
      echo "kafka node $n did not stop within 30 s; killing it" >&2
      kill -KILL "$p" 2>/dev/null || true
      wait_gone "$p" 10 || true
    fi
    rm -f "$(pid_file "$n")"
  done
  echo "kafka stopped"
}

# A crash, for fault tests: no clean shutdown. Waits until the process is gone, so that an
# immediate start does not collide with the dying node's ports and lock file.
crash() {  # [node]
  local nodes=("$@") n p
  [[ $# -gt 0 ]] || mapfile -t nodes < <(all_nodes)
  for n in "${nodes[@]}"; do
    p="$(pid "$n")"
    if alive "$p" "$(config "$n")"; then kill -KILL "$p"; wait_gone "$p" 10 || true; echo "kafka node $n killed"; fi
    rm -f "$(pid_file "$n")"
  done
}

# A hung broker, for fault tests: SIGSTOP keeps its connections open and answers nothing, so
# the clients' requests stay in flight until they time out (SIGCONT, or a kill, ends it).
signal_nodes() {  # STOP|CONT [node]
  local sig="$1" nodes n p
  shift
  nodes=("$@")
  [[ $# -gt 0 ]] || mapfile -t nodes < <(all_nodes)
  for n in "${nodes[@]}"; do
    p="$(pid "$n")"
    if alive "$p" "$(config "$n")"; then kill "-$sig" "$p"; echo "kafka node $n sent SIG$sig"; fi
  done
}

status() {
  local n down=0
  for n in $(all_nodes); do
    if running "$n"; then
      echo "kafka node $n running on 127.0.0.1:$(client_port "$n") (pid $(pid "$n"))"
    else
      echo "kafka node $n stopped"; down=1
    fi
  done
  return "$down"
}

reset() {
  stop
  rm -rf "$HOME_DIR"
  echo "kafka data and credentials removed"
}

action="${1:-}"
shift || true
case "$action" in
  start) start "$@" ;;
  stop) stop ;;
  kill) crash "$@" ;;
  pause) signal_nodes STOP "$@" ;;
  resume) signal_nodes CONT "$@" ;;
  status) status ;;
  reset) reset ;;
  classpath) classpath ;;
  *) echo "usage: $0 start [NODE]|stop|kill [NODE]|pause [NODE]|resume [NODE]|status|reset|classpath" >&2; exit 2 ;;
esac
