#!/usr/bin/env bash
# Real Apache Kafka broker (single-node KRaft) for development and tests,
# fetched from Maven Central because no release tarball can be downloaded here.
#   bash scripts/kafka.sh start|stop|status|reset
# Broker: 127.0.0.1:9092. State: .kafka/ (data, logs, pid). Jars: .cache/kafka/.
# KAFKA_HEAP overrides the JVM heap flags (default "-Xms256m -Xmx512m").
set -euo pipefail

KAFKA_VERSION=4.4.0
HOST=127.0.0.1
PORT=9092
START_TIMEOUT=90
STOP_TIMEOUT=30
READY_LINE='Kafka Server started'   # "[KafkaRaftServer nodeId=1] Kafka Server started"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF_SRC=$ROOT/scripts/kafka
STATE=$ROOT/.kafka
LOGS=$STATE/logs
DATA=$STATE/data
PIDFILE=$STATE/kafka.pid
LIBS=$ROOT/.cache/kafka/libs-$KAFKA_VERSION
MARKER=$LIBS/.complete

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "kafka: $*"; }

# Pid of the broker we started, if it is still alive. Checking the cmdline
# guards against a recycled pid belonging to some unrelated process.
our_pid() {
  local pid
  [[ -f $PIDFILE ]] || return 1
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

# A real Kafka round trip (ApiVersions v0) over bash's /dev/tcp, so no client is
# needed. An open port alone proves nothing: it may be some other server, or a
# broker that accepts connections but does not serve requests yet.
answers() {
  local reply
  reply=$(timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT &&
      printf '\x00\x00\x00\x0d\x00\x12\x00\x00\x00\x00\x00\x01\x00\x03kcs' >&3 &&
      head -c 10 <&3" 2>/dev/null | od -An -tx1 | tr -d ' \n') || true
  # bytes 4..9: correlation id 1, error code 0
  [[ ${reply:8:12} == 000000010000 ]]
}

fetch_libs() {
  [[ -f $MARKER ]] && return 0
  local t0
  t0=$(now)
  mkdir -p "$(dirname "$LIBS")"
  rm -rf "$LIBS" "$LIBS".tmp.*   # no marker = leftovers of an interrupted fetch
  FETCH_TMP=$LIBS.tmp.$$
  trap 'rm -rf "$FETCH_TMP"' EXIT
  # Output to a file: Maven 3.8 prints stray colour codes even with -q -B.
  if ! mvn -B -q -Dstyle.color=never -f "$CONF_SRC/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -Dlibs.dir="$FETCH_TMP" >"$LIBS.fetch.log" 2>&1; then
    cat "$LIBS.fetch.log"; log "fetching $KAFKA_VERSION libraries with Maven failed"; exit 1
  fi
  touch "$FETCH_TMP/.complete"
  # rename is atomic: an interrupted fetch never leaves a cache that looks complete
  mv -T "$FETCH_TMP" "$LIBS"
  trap - EXIT
  rm -f "$LIBS.fetch.log"
  log "fetched $KAFKA_VERSION libraries in $(since "$t0")s"
}

kafka_java() { java -cp "$LIBS/*" "$@"; }

start() {
  local pid t0
  if pid=$(our_pid) && answers; then
    log "already running (pid $pid) on $HOST:$PORT"; return 0
  fi
  if [[ -z ${pid:-} ]] && answers; then
    log "$HOST:$PORT already answers but is not ours (no live $PIDFILE); using it"; return 0
  fi
  if [[ -n ${pid:-} ]]; then
    # Ours but not answering: still starting (another 'start') or wedged.
    wait_ready "$pid" "$(now)" && { log "already running (pid $pid) on $HOST:$PORT"; return 0; }
    return 1
  fi

  fetch_libs
  t0=$(now)
  mkdir -p "$LOGS" "$DATA"
  { cat "$CONF_SRC/server.properties"; echo; echo "log.dirs=$DATA"; } >"$STATE/server.properties"

  # The cluster id is made once and kept, so 'reset' + reformat keeps the same id.
  [[ -s $STATE/cluster-id ]] || kafka_java kafka.tools.StorageTool random-uuid >"$STATE/cluster-id"
  # Static quorum (controller.quorum.voters) => format WITHOUT --standalone.
  # Skipping it when already formatted saves a JVM start on every warm start.
  if [[ ! -f $DATA/meta.properties ]]; then
    kafka_java kafka.tools.StorageTool format -t "$(<"$STATE/cluster-id")" \
      -c "$STATE/server.properties" --ignore-formatted >"$LOGS/format.log" 2>&1 \
      || { cat "$LOGS/format.log"; log "storage format failed"; exit 1; }
  fi

  # A fresh server.log so the readiness grep only sees this run's lines.
  [[ -f $LOGS/server.log ]] && mv -f "$LOGS/server.log" "$LOGS/server.previous.log"
  rm -f "$PIDFILE"
  # log4j2's own shutdown hook would close the log before Kafka's shutdown hook has
  # finished, losing the last lines of a controlled shutdown.
  # setsid: the broker outlives the shell/test runner that started it (own session,
  # no SIGHUP/SIGINT from the terminal). The inner bash writes its own pid then
  # execs java, so the pid file holds java's pid whatever setsid does.
  # shellcheck disable=SC2086,SC2016  # KAFKA_HEAP is a list of flags; $$ is for the inner bash
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
    java ${KAFKA_HEAP:--Xms256m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOGS" -Dlog4j2.configurationFile="$CONF_SRC/log4j2.properties" \
    -Dlog4j2.shutdownHookEnabled=false \
    -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" \
    >"$LOGS/stdout.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 50); do [[ -s $PIDFILE ]] && break; sleep 0.1; done
  [[ -s $PIDFILE ]] || { cat "$LOGS/stdout.log"; log "could not launch java"; exit 1; }
  pid=$(<"$PIDFILE")

  wait_ready "$pid" "$t0" || return 1
  log "started $KAFKA_VERSION on $HOST:$PORT (pid $pid) in $(since "$t0")s"
}

# Ready = the broker logged its final start-up line AND answers a request.
wait_ready() {
  local pid=$1 t0=$2
  while awk -v a="$t0" -v b="$(now)" -v l="$START_TIMEOUT" 'BEGIN { exit !(b - a < l) }'; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker (pid $pid) died during start-up; errors from $LOGS/server.log:"
      # The shutdown after a fatal error logs hundreds of lines; the cause is in the ERRORs.
      grep -E -A1 '^\[[^]]*\] (ERROR|FATAL)|^Caused by' "$LOGS/server.log" 2>/dev/null \
        | grep -Ev '^\s+at |^--$' | head -n 12 || true
      cat "$LOGS/stdout.log" 2>/dev/null || true
      rm -f "$PIDFILE"
      return 1
    fi
    grep -q "$READY_LINE" "$LOGS/server.log" 2>/dev/null && answers && return 0
    sleep 0.2
  done
  log "broker (pid $pid) not ready after ${START_TIMEOUT}s; see $LOGS/server.log"
  tail -n 30 "$LOGS/server.log" 2>/dev/null || true
  return 1
}

stop() {
  local pid t0
  if ! pid=$(our_pid); then
    rm -f "$PIDFILE"; log "not running"; return 0
  fi
  t0=$(now)
  kill -TERM "$pid"   # SIGTERM = controlled shutdown (clean logs, no recovery next start)
  for _ in $(seq $((STOP_TIMEOUT * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "no exit after ${STOP_TIMEOUT}s, sending SIGKILL to pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid) in $(since "$t0")s"
}

status() {
  local pid
  if pid=$(our_pid); then
    if answers; then log "running (pid $pid) on $HOST:$PORT"; else log "starting (pid $pid), not answering yet"; fi
    return 0
  fi
  if answers; then log "not started by us, but $HOST:$PORT answers (another broker)"; return 0; fi
  log "not running"; return 1
}

main() {
  if [[ ${1:-} =~ ^(start|stop|reset)$ ]]; then
    # One start/stop/reset at a time (parallel test runners may all call start).
    # fd 9 is closed for the broker itself (9>&- above) so it doesn't hold the lock.
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w $((START_TIMEOUT + 60)) 9 || { log "could not get $STATE/.lock"; exit 1; }
  fi
  case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    reset) stop; rm -rf "$DATA"; log "data deleted ($DATA); next start is a fresh broker" ;;
    *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
  esac
}

main "$@"
