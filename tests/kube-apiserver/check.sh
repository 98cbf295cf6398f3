#!/usr/bin/env bash
# check.sh DIR: kubectl checks against a server started by up.sh DIR.
# Prints "ok"/"FAIL" per check; exits non-zero when any check fails.
# Uses a fresh namespace per run, so it can be rerun against the same server.
set -euo pipefail

[ $# -eq 1 ] || { echo "error: usage: check.sh DIR" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
export KUBECONFIG="$DIR/kubeconfig"
[ -f "$KUBECONFIG" ] || { echo "error: $KUBECONFIG not found; run up.sh $DIR first" >&2; exit 2; }
KUBECTL=${KUBECTL:-kubectl}
NS="check-$(date +%s)-$RANDOM"
WORK=$(mktemp -d)
WATCH_PID=""
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

k() { "$KUBECTL" --request-timeout=20s "$@" 2> >(grep -v 'version difference between client' >&2); }
fail() { echo "$*" >&2; return 1; }
eq() { [ "$1" = "$2" ] || fail "expected '$2', got '$1'"; }
has() { grep -qF -- "$2" <<<"$1" || fail "expected output to contain '$2', got: $1"; }
# poll CMD... until it succeeds or 30 s pass
poll() {
  local deadline=$((SECONDS + 30))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for: $*"
    sleep 0.1
  done
}

FAILED=()
PASSED=0
check() {
  local name=$1
  shift
  set +e
  (set -e; "$@") >"$WORK/out" 2>&1
  local rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    echo "ok   $name"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $name"
    sed 's/^/     | /' "$WORK/out" | tail -n 20
    FAILED+=("$name")
  fi
}

# ---- checks -------------------------------------------------------------------

c_version() {
  v=$(k version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')
  [[ "$v" == v1.36.* ]] || fail "server version $v"
}
c_health() {
  eq "$(k get --raw /readyz)" ok
  eq "$(k get --raw /healthz)" ok
}
c_api_resources() {
  out=$(k api-resources --no-headers)
  for r in pods services endpoints events secrets configmaps serviceaccounts nodes namespaces \
    persistentvolumeclaims persistentvolumes deployments replicasets jobs leases customresourcedefinitions; do
    grep -qE "^$r " <<<"$out" || fail "api-resources lacks $r"
  done
}
c_default_namespaces() {
  for n in default kube-system kube-public kube-node-lease; do k get namespace "$n" -o name; done
}
c_create_namespace() {
  k create namespace "$NS"
  eq "$(k get ns "$NS" -o jsonpath='{.status.phase}')" Active
}
c_create_in_missing_namespace() {
  if out=$(k -n "no-such-ns-$RANDOM" create configmap x 2>&1); then fail "created in a missing namespace"; fi
  has "$out" "not found"
}
c_create_deployment() {
  k -n "$NS" create deployment web --image=nginx:1.0
  eq "$(k -n "$NS" get deploy web -o jsonpath='{.metadata.generation}')" 1
}
c_set_image() {
  k -n "$NS" set image deployment/web nginx=nginx:2.0
  eq "$(k -n "$NS" get deploy web -o jsonpath='{.spec.template.spec.containers[0].image} {.metadata.generation}')" "nginx:2.0 2"
}
c_scale() {
  k -n "$NS" scale deployment/web --replicas=3
  eq "$(k -n "$NS" get deploy web -o jsonpath='{.spec.replicas}')" 3
  eq "$(k -n "$NS" get --raw "/apis/apps/v1/namespaces/$NS/deployments/web/scale" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d["spec"]["replicas"])')" "Scale 3"
}
c_status_subresource() {
  k -n "$NS" patch deployment web --subresource=status --type=merge -p '{"status":{"replicas":5,"observedGeneration":7}}'
  eq "$(k -n "$NS" get deploy web -o jsonpath='{.status.replicas}')" 5
  # spec changes through /status are ignored
  k -n "$NS" patch deployment web --subresource=status --type=merge -p '{"spec":{"replicas":9}}'
  eq "$(k -n "$NS" get deploy web -o jsonpath='{.spec.replicas}')" 3
  # status is kept on main-resource updates
  k -n "$NS" patch deployment web --type=merge -p '{"status":{"replicas":1},"metadata":{"labels":{"x":"y"}}}'
  eq "$(k -n "$NS" get deploy web -o jsonpath='{.status.replicas} {.metadata.labels.x}')" "5 y"
}
c_pod_pending() {
  k -n "$NS" run pod1 --image=busybox --restart=Never
  eq "$(k -n "$NS" get pod pod1 -o jsonpath='{.status.phase}')" Pending
}
ssa_deploy() { # manager container image
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
  namespace: $NS
spec:
  selector:
    matchLabels: {app: ssa}
  template:
    metadata:
      labels: {app: ssa}
    spec:
      containers:
      - name: $2
        image: $3
EOF
}
c_ssa_conflict_and_merge() {
  ssa_deploy a main img-a:1 | k apply --server-side --field-manager=manager-a -f -
  if out=$(ssa_deploy b main img-b:1 | k apply --server-side --field-manager=manager-b -f - 2>&1); then
    fail "conflicting apply by a second manager succeeded: $out"
  fi
  has "$out" "conflict"
  has "$out" 'manager-a'
  # a different container merges by name (list-map key "name")
  ssa_deploy b sidecar img-side:1 | k apply --server-side --field-manager=manager-b -f -
  eq "$(k -n "$NS" get deploy ssa -o jsonpath='{range .spec.template.spec.containers[*]}{.name}={.image},{end}')" "main=img-a:1,sidecar=img-side:1,"
  has "$(k -n "$NS" get deploy ssa -o yaml --show-managed-fields)" 'k:{"name":"main"}'
  # --force-conflicts takes the field over
  ssa_deploy b main img-b:2 | k apply --server-side --field-manager=manager-b --force-conflicts -f -
  eq "$(k -n "$NS" get deploy ssa -o jsonpath='{.spec.template.spec.containers[?(@.name=="main")].image}')" img-b:2
}
c_ssa_conflict_http_409() {
  code=$(python3 - "$KUBECONFIG" "$NS" <<'EOF'
import base64, json, ssl, sys, tempfile, urllib.request, urllib.error
import re
kc = open(sys.argv[1]).read()
def field(name):
    return re.search(r"^\s*%s: (\S+)" % name, kc, re.M).group(1)
server = field("server")
d = tempfile.mkdtemp()
paths = {}
for n in ("certificate-authority-data", "client-certificate-data", "client-key-data"):
    p = f"{d}/{n}"
    open(p, "wb").write(base64.b64decode(field(n)))
    paths[n] = p
ctx = ssl.create_default_context(cafile=paths["certificate-authority-data"])
ctx.load_cert_chain(paths["client-certificate-data"], paths["client-key-data"])
body = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "ssa", "namespace": sys.argv[2]},
  "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "img-c:1"}]}}}}).encode()
req = urllib.request.Request(f"{server}/apis/apps/v1/namespaces/{sys.argv[2]}/deployments/ssa?fieldManager=manager-c",
  data=body, method="PATCH", headers={"Content-Type": "application/apply-patch+yaml"})
try:
    urllib.request.urlopen(req, context=ctx)
    print("200")
except urllib.error.HTTPError as e:
    st = json.load(e)
    print(e.code, st.get("reason"), st["details"]["causes"][0].get("reason"))
EOF
)
  eq "$code" "409 Conflict FieldManagerConflict"
}
c_watch() {
  k -n "$NS" create configmap w0 --from-literal=a=0
  k -n "$NS" label configmap w0 watch=yes
  # kubectl itself must be the background job, so that kill hits it.
  "$KUBECTL" -n "$NS" get configmaps -l watch=yes -w --output-watch-events >"$WORK/watch" 2>"$WORK/watch.err" &
  WATCH_PID=$!
  trap 'kill "$WATCH_PID" 2>/dev/null || true' EXIT # this check runs in a subshell
  poll grep -qE "^ADDED +w0 " "$WORK/watch"
  k -n "$NS" create configmap w1 --from-literal=a=1
  k -n "$NS" label configmap w1 watch=yes
  poll grep -qE "^ADDED +w1 " "$WORK/watch"
  k -n "$NS" annotate configmap w1 touched=yes
  poll grep -qE "^MODIFIED +w1 " "$WORK/watch"
  k -n "$NS" delete configmap w1
  poll grep -qE "^DELETED +w1 " "$WORK/watch"
  kill "$WATCH_PID" 2>/dev/null || true
  WATCH_PID=""
}
c_stale_resource_version() {
  k -n "$NS" create configmap stale --from-literal=a=1
  k -n "$NS" get configmap stale -o yaml >"$WORK/stale.yaml"
  k -n "$NS" patch configmap stale --type=merge -p '{"data":{"a":"2"}}'
  sed -i 's/a: "1"/a: "3"/' "$WORK/stale.yaml"
  if out=$(k replace -f "$WORK/stale.yaml" 2>&1); then fail "stale replace succeeded"; fi
  has "$out" "Conflict"
  has "$out" "the object has been modified"
}
crd() {
  cat <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.check.mosaic.test
spec:
  group: check.mosaic.test
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, enum: [red, blue]}
          status:
            type: object
            properties:
              ready: {type: boolean}
EOF
}
widget() { # name size [extra spec yaml]
  printf 'apiVersion: check.mosaic.test/v1\nkind: Widget\nmetadata: {name: %s, namespace: %s}\nspec: {size: %s%s}\n' "$1" "$NS" "$2" "${3:-}"
}
c_crd_established() {
  crd | k apply -f -
  k wait --for=condition=Established --timeout=30s crd/widgets.check.mosaic.test
  poll k -n "$NS" get widgets
  has "$(k get --raw /apis)" '"check.mosaic.test"'
  has "$(k api-resources --api-group=check.mosaic.test)" "widgets"
}
c_cr_crud() {
  widget w1 3 | k apply -f -
  eq "$(k -n "$NS" get widget w1 -o jsonpath='{.spec.size}')" 3
  out=$(k -n "$NS" get wdg w1)
  has "$out" "SIZE"
  k -n "$NS" patch widget w1 --type=merge -p '{"spec":{"size":4}}'
  eq "$(k -n "$NS" get widget w1 -o jsonpath='{.spec.size} {.metadata.generation}')" "4 2"
  k -n "$NS" patch widget w1 --subresource=status --type=merge -p '{"status":{"ready":true}}'
  eq "$(k -n "$NS" get widget w1 -o jsonpath='{.status.ready}')" true
  widget w1 5 | k apply --server-side --field-manager=other --force-conflicts -f -
  eq "$(k -n "$NS" get widget w1 -o jsonpath='{.spec.size} {.status.ready}')" "5 true"
  k -n "$NS" delete widget w1
}
c_cr_schema_rejects() {
  if out=$(widget bad '"big"' | k apply -f - 2>&1); then fail "wrong type accepted"; fi
  has "$out" "Invalid"
  if out=$(widget bad 0 | k apply -f - 2>&1); then fail "minimum not enforced"; fi
  has "$out" "should be greater than or equal to 1"
  if out=$(widget bad 2 ', color: green' | k apply -f - 2>&1); then fail "enum not enforced"; fi
  has "$out" "Unsupported value"
  if out=$(widget bad 2 ', nope: 1' | k apply --validate=strict -f - 2>&1); then fail "unknown field accepted"; fi
  has "$out" 'unknown field "spec.nope"'
  # the raw status code is 422
  printf '{"apiVersion":"check.mosaic.test/v1","kind":"Widget","metadata":{"name":"bad"},"spec":{"size":"big"}}' >"$WORK/bad.json"
  out=$(k create --raw "/apis/check.mosaic.test/v1/namespaces/$NS/widgets" -f "$WORK/bad.json" 2>&1 || true)
  has "$out" "Invalid"
}
c_explain() {
  has "$(k explain deployment.spec.replicas)" "replicas"
  poll k explain widget.spec.size
}
c_client_side_apply() {
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csa, namespace: %s}\ndata: {a: "1"}\n' "$NS" | k apply -f -
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csa, namespace: %s}\ndata: {b: "2"}\n' "$NS" | k apply -f -
  eq "$(k -n "$NS" get cm csa -o jsonpath='{.data}')" '{"b":"2"}'
}
c_cleanup() {
  k delete crd widgets.check.mosaic.test
  k delete namespace "$NS"
}

check "server version is v1.36.x" c_version
check "/readyz and /healthz" c_health
check "api-resources lists all served resources" c_api_resources
check "default namespaces exist" c_default_namespaces
check "create namespace" c_create_namespace
check "create in a missing namespace is NotFound" c_create_in_missing_namespace
check "create deployment" c_create_deployment
check "set image bumps generation" c_set_image
check "scale via /scale" c_scale
check "patch --subresource=status" c_status_subresource
check "pod status.phase Pending on create" c_pod_pending
check "server-side apply: conflict + merge by container name" c_ssa_conflict_and_merge
check "server-side apply: raw 409 FieldManagerConflict" c_ssa_conflict_http_409
check "get -w --output-watch-events" c_watch
check "stale resourceVersion replace is Conflict" c_stale_resource_version
check "client-side apply" c_client_side_apply
check "CRD apply + Established + discovery" c_crd_established
check "CR create/patch/status/SSA + printer column" c_cr_crud
check "CR rejected by schema" c_cr_schema_rejects
check "kubectl explain (built-in and CRD)" c_explain
check "cleanup" c_cleanup

echo "passed: $PASSED, failed: ${#FAILED[@]}"
if [ ${#FAILED[@]} -gt 0 ]; then
  printf 'failed check: %s\n' "${FAILED[@]}"
  exit 1
fi
