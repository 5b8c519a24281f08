#!/usr/bin/env bash
# Installs (once) and starts (if not running) Apache TinkerPop Gremlin Server with TinkerGraph,
# bound to 127.0.0.1 only, from the Maven Central jars at the version of the installed
# gremlinpython, so client and server speak the same protocol. Prints the ws:// URL last.
#
# Environment:
#   TWINFLOW_GREMLIN_PORT     port to listen on (default 18182)
#   TWINFLOW_GREMLIN_VERSION  TinkerPop version (default: the installed gremlinpython's)
#   TWINFLOW_CACHE_DIR        cache root (default ~/.cache/twinflow-studio)
#   PYTHON                    interpreter used to read gremlinpython's version (default python3)
# Usage: scripts/services/gremlin-server.sh [start|stop|status]
set -euo pipefail

action="${1:-start}"
port="${TWINFLOW_GREMLIN_PORT:-18182}"
python="${PYTHON:-python3}"
client_version="$("$python" -c \
  'import importlib.metadata as m; print(m.version("gremlinpython"))')"
cache_root="${TWINFLOW_CACHE_DIR:-$HOME/.cache/twinflow-studio}"
central="https://repo.maven.apache.org/maven2/org/apache/tinkerpop"

log_msg() { echo "gremlin-server.sh: $*" >&2; }

# The server release matching the client: the same version when Maven Central has it, else
# the newest release of the same major.minor line (the wire protocol is fixed within a minor
# line, and gremlinpython patch releases sometimes reach PyPI before the jars reach Central).
resolve_version() {
  local want="$1" line metadata
  if [[ -f "$cache_root/gremlin-server-$want/lib/.complete" ]]; then
    echo "$want"
    return
  fi
  line="${want%.*}"
  metadata="$(curl -fsSL -m 60 "$central/gremlin-server/maven-metadata.xml")" || {
    # Offline: an installed release of the same line will do.
    local cached
    cached="$(ls -d "$cache_root/gremlin-server-$line".*/lib/.complete 2>/dev/null \
      | sed -e "s|.*/gremlin-server-||" -e "s|/lib/.complete||" | sort -t. -k3,3n | tail -n 1)"
    echo "${cached:-$want}"
    return
  }
  if grep -q "<version>$want</version>" <<<"$metadata"; then
    echo "$want"
    return
  fi
  local best
  best="$(grep -o "<version>${line//./\\.}\.[0-9]*</version>" <<<"$metadata" \
    | sed -e 's/<[^>]*>//g' | sort -t. -k3,3n | tail -n 1)"
  if [[ -z "$best" ]]; then
    log_msg "no Gremlin Server $line.x on Maven Central for gremlinpython $want"
    exit 1
  fi
  log_msg "gremlin-server $want is not on Maven Central; using $best (same $line line)"
  echo "$best"
}

version="${TWINFLOW_GREMLIN_VERSION:-$(resolve_version "$client_version")}"
home="$cache_root/gremlin-server-$version"
lib="$home/lib"
conf="$home/conf/gremlin-server-$port.yaml"
pidfile="$home/run/gremlin-server-$port.pid"
log="$home/run/gremlin-server-$port.log"
url="ws://127.0.0.1:$port/gremlin"
cmdline_pattern="GremlinServer $conf"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Answers once the server accepts a WebSocket handshake and evaluates a traversal.
answers() {
  "$python" - "$url" <<'EOF' >/dev/null 2>&1
import sys
from gremlin_python.driver.client import Client
client = Client(sys.argv[1], "g")
try:
    client.submit("g.inject(1)").all().result(timeout=5)
finally:
    client.close()
EOF
}


install() {
  if [[ -f "$lib/.complete" ]]; then
    return
  fi
  command -v java >/dev/null || { log_msg "java not found on PATH"; exit 1; }
  command -v mvn >/dev/null || { log_msg "mvn (Apache Maven) not found on PATH"; exit 1; }
  log_msg "installing Gremlin Server $version into $home"
  mkdir -p "$home/build" "$lib"
  cat >"$home/build/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.twinflow</groupId>
  <artifactId>gremlin-server-deps</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.tinkerpop</groupId>
      <artifactId>gremlin-server</artifactId>
      <version>$version</version>
    </dependency>
    <dependency>
      <groupId>org.apache.tinkerpop</groupId>
      <artifactId>tinkergraph-gremlin</artifactId>
      <version>$version</version>
    </dependency>
    <dependency>
      <groupId>org.apache.tinkerpop</groupId>
      <artifactId>gremlin-groovy</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
EOF
  mvn -q -B -f "$home/build/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime >&2
  touch "$lib/.complete"
}

write_config() {
  mkdir -p "$home/conf" "$home/run"
  cat >"$home/conf/tinkergraph-empty.properties" <<'EOF'
gremlin.graph=org.apache.tinkerpop.gremlin.tinkergraph.structure.TinkerGraph
gremlin.tinkergraph.vertexIdManager=ANY
gremlin.tinkergraph.edgeIdManager=ANY
EOF
  cat >"$home/conf/empty-sample.groovy" <<'EOF'
def globals = [:]
globals << [g : traversal().withEmbedded(graph).withStrategies(ReferenceElementStrategy)]
EOF
  cat >"$conf" <<EOF
host: 127.0.0.1
port: $port
evaluationTimeout: 60000
graphs: {
  graph: $home/conf/tinkergraph-empty.properties}
scriptEngines: {
  gremlin-groovy: {
    plugins: { org.apache.tinkerpop.gremlin.server.jsr223.GremlinServerGremlinPlugin: {},
               org.apache.tinkerpop.gremlin.tinkergraph.jsr223.TinkerGraphGremlinPlugin: {},
               org.apache.tinkerpop.gremlin.jsr223.ImportGremlinPlugin: {
                 classImports: [java.lang.Math], methodImports: [java.lang.Math#*]},
               org.apache.tinkerpop.gremlin.jsr223.ScriptFileGremlinPlugin: {
                 files: [$home/conf/empty-sample.groovy]}}}}
serializers:
  - { className: org.apache.tinkerpop.gremlin.util.ser.GraphBinaryMessageSerializerV1 }
  - { className: org.apache.tinkerpop.gremlin.util.ser.GraphSONMessageSerializerV3 }
  - { className: org.apache.tinkerpop.gremlin.util.ser.GraphSONMessageSerializerV2 }
metrics: {
  slf4jReporter: {enabled: false}}
strictTransactionManagement: false
maxInitialLineLength: 4096
maxHeaderSize: 8192
maxChunkSize: 8192
maxContentLength: 65536000
maxAccumulationBufferComponents: 1024
resultIterationBatchSize: 64
EOF
}

start() {
  install
  write_config
  if pid="$(running_pid)"; then
    log_msg "already running (pid $pid)"
  else
    if answers; then
      log_msg "port $port already answers Gremlin but not from $conf; using it"
      echo "$url"
      return
    fi
    log_msg "starting on 127.0.0.1:$port (log: $log)"
    # setsid: the server outlives this script and the shell that ran it.
    setsid java -Xms256m -Xmx1g -cp "$lib/*" \
      org.apache.tinkerpop.gremlin.server.GremlinServer "$conf" >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  service_wait 120 1 server
}

service_main "$action"
