#!/usr/bin/env bash
# up.sh DIR: starts etcd + Mosaic's test kube-apiserver in the background.
#
#   DIR/etcd/                 etcd data (wiped on every start)
#   DIR/pki/                  CA, serving and client (O=system:masters) certs, all X.509 v3
#   DIR/etcd.log, DIR/apiserver.log
#   DIR/audit.log             the audit log (JSON lines, level Metadata, every request: user,
#                             impersonated user, verb, resource, namespace, name, response
#                             code), policy in DIR/audit-policy.yaml; rotated at 100 MB
#   DIR/etcd.pid, DIR/apiserver.pid
#   DIR/kubeconfig            context "mosaic-test", namespace default, embedded certs
#
# stdout on success, exactly: KUBECONFIG=<DIR>/kubeconfig
# Stop with down.sh DIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { echo "up.sh: $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: up.sh DIR"
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
READY_TIMEOUT=${MOSAIC_KUBE_READY_TIMEOUT:-60}

alive() { # pid -> true when running and not a zombie
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  local state
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$state" != Z ] && [ "$state" != X ]
}
for f in apiserver etcd; do
  if [ -f "$DIR/$f.pid" ] && alive "$(cat "$DIR/$f.pid")"; then
    die "$f is already running for $DIR (pid $(cat "$DIR/$f.pid")); run down.sh $DIR first"
  fi
done

command -v openssl >/dev/null || die "openssl not found; install it (apt-get install -y --no-install-recommends openssl)"
command -v curl >/dev/null || die "curl not found; install it (apt-get install -y --no-install-recommends curl)"

BUILD_OUT=$("$HERE/build.sh") || die "build.sh failed (see above)"
APISERVER=$(sed -n 's/^APISERVER=//p' <<<"$BUILD_OUT")
ETCD=$(sed -n 's/^ETCD=//p' <<<"$BUILD_OUT")
[ -x "$APISERVER" ] && [ -x "$ETCD" ] || die "build.sh did not report usable binaries: $BUILD_OUT"

# ---- certificates (generated once per DIR) --------------------------------
PKI="$DIR/pki"
if [ ! -f "$PKI/.complete" ]; then
  rm -rf "$PKI"
  mkdir -p "$PKI"
  (
    cd "$PKI"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=mosaic-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.crt
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >client.ext
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/O=system:masters/CN=mosaic-admin"
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out client.crt
    touch .complete
  ) >"$DIR/pki.log" 2>&1 || { cat "$DIR/pki.log" >&2; die "generating certificates with openssl failed"; }
fi

# ---- ports ------------------------------------------------------------------
free_ports() { # n -> n distinct free loopback ports
  if command -v python3 >/dev/null; then
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
  else
    local out=() p
    while [ ${#out[@]} -lt "$1" ]; do
      p=$((20000 + RANDOM % 30000))
      [[ " ${out[*]} " == *" $p "* ]] && continue
      (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
      out+=("$p")
    done
    echo "${out[*]}"
  fi
}

tail_logs() {
  for f in etcd apiserver; do
    [ -f "$DIR/$f.log" ] || continue
    echo "---- last lines of $DIR/$f.log ----" >&2
    tail -n 25 "$DIR/$f.log" >&2
  done
}

stop_started() {
  "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true
}

CURL=(curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key")

# Every request at level Metadata (no bodies: Secrets never reach the log), once, when its
# response started or completed.
cat >"$DIR/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
EOF

# A start attempt fails early if a port got taken between choosing and binding.
start_once() {
  read -r ETCD_CLIENT ETCD_PEER API_PORT < <(free_ports 3)
  rm -rf "$DIR/etcd" "$DIR"/audit*.log
  : >"$DIR/etcd.log"
  : >"$DIR/apiserver.log"
  setsid "$ETCD" --name mosaic --data-dir "$DIR/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "mosaic=http://127.0.0.1:$ETCD_PEER" \
    --log-level warn </dev/null >"$DIR/etcd.log" 2>&1 &
  echo $! >"$DIR/etcd.pid"
  # The API server retries etcd on its own, so both start at once.
  setsid "$APISERVER" --etcd-servers "http://127.0.0.1:$ETCD_CLIENT" \
    --bind-address 127.0.0.1 --secure-port "$API_PORT" --cert-dir "$PKI" \
    --tls-cert-file "$PKI/server.crt" --tls-private-key-file "$PKI/server.key" \
    --client-ca-file "$PKI/ca.crt" \
    --audit-policy-file "$DIR/audit-policy.yaml" --audit-log-path "$DIR/audit.log" \
    --audit-log-maxsize 100 --audit-log-maxbackup 1 </dev/null >"$DIR/apiserver.log" 2>&1 &
  echo $! >"$DIR/apiserver.pid"

  local deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    if "${CURL[@]}" "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1; then
      return 0
    fi
    alive "$(cat "$DIR/etcd.pid")" || { echo "etcd exited" >&2; return 1; }
    alive "$(cat "$DIR/apiserver.pid")" || { echo "the API server exited" >&2; return 1; }
    [ $SECONDS -lt $deadline ] || { echo "not ready after ${READY_TIMEOUT}s" >&2; return 2; }
    sleep 0.1 # polling interval
  done
}

START=$SECONDS
ok=""
for attempt in 1 2 3; do
  set +e
  start_once
  rc=$?
  set -e
  [ $rc -eq 0 ] && { ok=1; break; }
  # Retry only when a port was stolen between choosing and binding.
  if [ $rc -eq 1 ] && grep -qiE 'address already in use' "$DIR/etcd.log" "$DIR/apiserver.log"; then
    log "port clash, retrying (attempt $attempt)"
    stop_started
    continue
  fi
  break
done
if [ -z "$ok" ]; then
  tail_logs
  stop_started
  die "the API server did not become ready (logs: $DIR/etcd.log, $DIR/apiserver.log)"
fi
# The PID files must name the servers themselves (down.sh signals them).
[ "$(readlink "/proc/$(cat "$DIR/etcd.pid")/exe")" = "$ETCD" ] &&
  [ "$(readlink "/proc/$(cat "$DIR/apiserver.pid")/exe")" = "$APISERVER" ] ||
  { stop_started; die "PID files in $DIR do not point at etcd/kube-apiserver (setsid forked?)"; }
echo "127.0.0.1:$API_PORT etcd=127.0.0.1:$ETCD_CLIENT" >"$DIR/endpoints"

b64() { base64 -w0 <"$1"; }
umask 077
cat >"$DIR/kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mosaic-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: mosaic-test
  user:
    client-certificate-data: $(b64 "$PKI/client.crt")
    client-key-data: $(b64 "$PKI/client.key")
contexts:
- name: mosaic-test
  context:
    cluster: mosaic-test
    user: mosaic-test
    namespace: default
current-context: mosaic-test
EOF
mv "$DIR/kubeconfig.tmp" "$DIR/kubeconfig"
log "ready in $((SECONDS - START))s at https://127.0.0.1:$API_PORT (pids: apiserver $(cat "$DIR/apiserver.pid"), etcd $(cat "$DIR/etcd.pid"))"
echo "KUBECONFIG=$DIR/kubeconfig"
