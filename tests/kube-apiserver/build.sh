#!/usr/bin/env bash
# build.sh: builds (or finds in the cache) Mosaic's test Kubernetes API server
# and etcd from Debian sid's packages, without touching the system's apt
# configuration.
#
# stdout on success, exactly:
#   APISERVER=<abs path>
#   ETCD=<abs path>
# Progress goes to stderr. On failure: one "error: ..." line, non-zero exit.
#
# Cache: ${MOSAIC_CACHE:-$HOME/.cache/mosaic}/kube-apiserver
#   apt/          private apt state (sid sources.list, lists, pkgcache)
#   debs/         downloaded .debs
#   root/<K>/     the .debs unpacked with dpkg -x (K = hash of the .deb versions)
#   gocache/      Go build cache
#   build/<KEY>/  GOPATH used for the build (sources + generated openapi)
#   out/<KEY>/    kube-apiserver + etcd; KEY = sha256(sorted "Package Version"
#                 list) + hash of the Go sources. A hit here is the fast path:
#                 no network, no Go toolchain.
set -euo pipefail

# Bump when the build recipe changes in a way that changes the binary.
RECIPE=2

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${MOSAIC_CACHE:-$HOME/.cache/mosaic}/kube-apiserver
LOCK="$HERE/versions.lock"
PKGLIST="$HERE/debs.txt"

log() { echo "build.sh: $*" >&2; }
die() { STEP=""; echo "error: $*" >&2; exit 1; }
STEP="starting"
# shellcheck disable=SC2154 # rc is assigned inside the trap
trap 'rc=$?; [ $rc -ne 0 ] && [ -n "${STEP:-}" ] && echo "error: build.sh failed while ${STEP} (exit $rc); see the messages above" >&2; exit $rc' EXIT

[ -f "$PKGLIST" ] || die "missing $PKGLIST"
mapfile -t PKGS < <(grep -v '^\s*#' "$PKGLIST" | awk 'NF{print $1}' | sort -u)

sha() { sha256sum | cut -c1-16; }

# Hash of everything that goes into the binary apart from the .debs.
src_hash() {
  (
    cd "$HERE"
    echo "recipe=$RECIPE"
    for f in $(ls ./*.go go.mod | sort); do echo "== $f"; cat "$f"; done
  ) | sha
}

# "pkg ver" lines of the lock, when it covers exactly the package list.
locked_versions() {
  [ -f "$LOCK" ] || return 1
  local names
  names=$(awk 'NF==2{print $1}' "$LOCK" | sort -u)
  [ "$names" = "$(printf '%s\n' "${PKGS[@]}")" ] || return 1
  awk 'NF==2' "$LOCK" | sort -u
}

emit() {
  STEP=""
  echo "APISERVER=$1/kube-apiserver"
  echo "ETCD=$1/etcd"
  exit 0
}

# Host tools up.sh needs: install the missing ones from the system's own
# (bookworm) sources; never upgrades anything that is already installed.
ensure_host_packages() {
  local missing=() t
  for t in openssl curl; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  STEP="installing missing host packages: ${missing[*]}"
  # shellcheck source=scripts/lib/apt.sh
  source "$HERE/../../scripts/lib/apt.sh"
  apt_install "${missing[@]}" || die "cannot install ${missing[*]} (see above)"
}
ensure_host_packages

SRC_HASH=$(src_hash)

# ---- fast path: cached binaries for the locked versions -----------------
if LOCKED=$(locked_versions); then
  KEY="$(printf '%s\n' "$LOCKED" | sha)-$SRC_HASH"
  if [ -x "$CACHE/out/$KEY/kube-apiserver" ] && [ -x "$CACHE/out/$KEY/etcd" ]; then
    emit "$CACHE/out/$KEY"
  fi
fi

# ---- slow path ----------------------------------------------------------
mkdir -p "$CACHE"
exec 9>"$CACHE/build.lock"
STEP="waiting for the build lock $CACHE/build.lock"
flock 9

STEP="checking host tools"
for tool in apt-get apt-cache dpkg-deb sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool not found; this script needs a Debian host (apt, dpkg)"
done

APT="$CACHE/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$CACHE/debs"
echo 'deb http://deb.debian.org/debian sid main' >"$APT/sources.list"
APTO=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache"
  -o "Dir::Etc::preferencesparts=-" -o "Dir::Etc::preferences=/dev/null"
  -o "APT::Sandbox::User=root" -o "Acquire::Languages=none" -q)

deb_file() { # pkg ver -> path of an already downloaded .deb, if any
  local v=${2//:/%3a}
  compgen -G "$CACHE/debs/${1}_${v}_*.deb" | head -n1
}

missing_of() { # reads "pkg ver" lines, prints the ones without a .deb
  while read -r p v; do [ -n "$(deb_file "$p" "$v")" ] || echo "$p $v"; done
}

APT_UPDATED=0
apt_update() {
  [ $APT_UPDATED = 1 ] && return 0
  STEP="updating the private sid package lists ($APT)"
  log "apt-get update (private sid lists)"
  apt-get "${APTO[@]}" update >"$APT/update.log" 2>&1 ||
    { tail -n 5 "$APT/update.log" >&2; die "apt-get update for sid failed; check network access to deb.debian.org (log: $APT/update.log)"; }
  APT_UPDATED=1
}

download() { # "pkg=ver" args
  (cd "$CACHE/debs" && apt-get "${APTO[@]}" download "$@") >"$APT/download.log" 2>&1
}

sid_versions() {
  apt-cache "${APTO[@]}" show --no-all-versions "${PKGS[@]}" 2>/dev/null |
    awk '/^Package: /{p=$2} /^Version: /{print p, $2}' | sort -u
}

VERSIONS=""
if [ -n "${LOCKED:-}" ]; then
  MISSING=$(printf '%s\n' "$LOCKED" | missing_of)
  if [ -z "$MISSING" ]; then
    VERSIONS=$LOCKED
    log "all locked .debs are cached; no download needed"
  else
    apt_update
    STEP="downloading the locked .debs"
    log "downloading $(printf '%s\n' "$MISSING" | wc -l) locked .debs"
    # shellcheck disable=SC2046 # one argument per package is intended
    if download $(printf '%s\n' "$MISSING" | awk '{print $1"="$2}'); then
      VERSIONS=$LOCKED
    else
      echo "warning: some versions in $LOCK are no longer in sid; building with sid's current versions and updating versions.lock" >&2
    fi
  fi
else
  echo "warning: $LOCK is missing or does not match debs.txt; building with sid's current versions and writing versions.lock" >&2
fi

if [ -z "$VERSIONS" ]; then
  apt_update
  STEP="resolving sid's current versions"
  VERSIONS=$(sid_versions)
  got=$(printf '%s\n' "$VERSIONS" | awk 'NF==2{print $1}' | sort -u)
  if [ "$got" != "$(printf '%s\n' "${PKGS[@]}")" ]; then
    die "sid lacks some packages of debs.txt: $(comm -23 <(printf '%s\n' "${PKGS[@]}") <(printf '%s\n' "$got") | tr '\n' ' ')- the package list needs updating"
  fi
  MISSING=$(printf '%s\n' "$VERSIONS" | missing_of)
  if [ -n "$MISSING" ]; then
    STEP="downloading sid's .debs"
    log "downloading $(printf '%s\n' "$MISSING" | wc -l) .debs from sid"
    # shellcheck disable=SC2046 # one argument per package is intended
    download $(printf '%s\n' "$MISSING" | awk '{print $1"="$2}') ||
      { tail -n 5 "$APT/download.log" >&2; die "apt-get download from sid failed (log: $APT/download.log); retry later, sid may be mid-upload"; }
  fi
fi

DEBS=()
while read -r p v; do
  f=$(deb_file "$p" "$v")
  [ -n "$f" ] || die "downloaded .deb for $p $v not found in $CACHE/debs"
  DEBS+=("$f")
done <<<"$VERSIONS"

DEBKEY=$(printf '%s\n' "$VERSIONS" | sha)
KEY="$DEBKEY-$SRC_HASH"
OUT="$CACHE/out/$KEY"

# Kubernetes version reported by /version: v1.<minor>.<patch> of k8s.io/apiserver 0.<minor>.<patch>.
APISERVER_VER=$(printf '%s\n' "$VERSIONS" | awk '$1=="golang-k8s-apiserver-dev"{print $2}')
KUBE_VERSION="v1.$(echo "$APISERVER_VER" | sed -E 's/^([0-9]+:)?0\.([0-9]+)\.([0-9]+).*/\2.\3/')"
[[ "$KUBE_VERSION" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "cannot derive the Kubernetes version from golang-k8s-apiserver-dev $APISERVER_VER"

write_lock() {
  if [ "$(cat "$LOCK" 2>/dev/null)" != "$VERSIONS" ]; then
    printf '%s\n' "$VERSIONS" >"$LOCK.tmp" && mv "$LOCK.tmp" "$LOCK"
    echo "warning: wrote new versions to $LOCK; commit it" >&2
  fi
}

if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ]; then
  write_lock
  emit "$OUT"
fi

# ---- unpack ---------------------------------------------------------------
ROOT="$CACHE/root/$DEBKEY"
if [ ! -f "$ROOT/.complete" ]; then
  STEP="unpacking the .debs into $ROOT"
  log "unpacking ${#DEBS[@]} .debs"
  rm -rf "$ROOT" "$ROOT.tmp"
  mkdir -p "$ROOT.tmp"
  for f in "${DEBS[@]}"; do dpkg-deb -x "$f" "$ROOT.tmp" || die "dpkg-deb -x $f failed"; done
  touch "$ROOT.tmp/.complete"
  mv "$ROOT.tmp" "$ROOT"
fi
GOROOT_DIR=$(ls -d "$ROOT"/usr/lib/go-1.* 2>/dev/null | sort -V | tail -n1)
[ -x "$GOROOT_DIR/bin/go" ] || die "no Go toolchain in $ROOT/usr/lib/go-1.*; is golang-1.NN-go in debs.txt?"
[ -x "$ROOT/usr/bin/etcd" ] || die "no etcd in $ROOT/usr/bin; is etcd-server in debs.txt?"

# ---- build ----------------------------------------------------------------
BUILD="$CACHE/build/$KEY"
PKGDIR="$BUILD/gopath/src/mosaic.local/kubeapiserver"
rm -rf "$BUILD"
mkdir -p "$PKGDIR/openapi" "$CACHE/gocache" "$CACHE/tools/$DEBKEY"
cp "$HERE"/*.go "$HERE/go.mod" "$PKGDIR/"

export GOROOT="$GOROOT_DIR" GOPATH="$BUILD/gopath:$ROOT/usr/share/gocode" GO111MODULE=off \
  GOTOOLCHAIN=local GOPROXY=off GOFLAGS='' GOENV=off GOTELEMETRY=off CGO_ENABLED=0 \
  GOCACHE="$CACHE/gocache" PATH="$GOROOT_DIR/bin:$PATH"

OPENAPI_GEN="$CACHE/tools/$DEBKEY/openapi-gen"
if [ ! -x "$OPENAPI_GEN" ]; then
  STEP="building openapi-gen"
  log "building openapi-gen"
  go build -o "$OPENAPI_GEN.tmp" k8s.io/kube-openapi/cmd/openapi-gen >&2
  mv "$OPENAPI_GEN.tmp" "$OPENAPI_GEN"
fi

STEP="generating OpenAPI definitions"
log "generating OpenAPI definitions"
: >"$BUILD/header.txt"
(cd "$PKGDIR" && "$OPENAPI_GEN" --output-dir "$PKGDIR/openapi" \
  --output-pkg mosaic.local/kubeapiserver/openapi --output-file zz_generated.openapi.go \
  --go-header-file "$BUILD/header.txt" --report-filename "$BUILD/openapi-violations.txt" \
  k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/batch/v1 k8s.io/api/autoscaling/v1 k8s.io/api/autoscaling/v2 \
  k8s.io/api/coordination/v1 k8s.io/api/rbac/v1 k8s.io/api/policy/v1 k8s.io/api/networking/v1 \
  k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime \
  k8s.io/apimachinery/pkg/util/intstr k8s.io/apimachinery/pkg/api/resource \
  k8s.io/apimachinery/pkg/version) >"$BUILD/openapi-gen.log" 2>&1 ||
  { tail -n 20 "$BUILD/openapi-gen.log" >&2; die "openapi-gen failed (log: $BUILD/openapi-gen.log)"; }

STEP="compiling kube-apiserver (go build)"
log "compiling kube-apiserver $KUBE_VERSION with $(go version | awk '{print $3}') (cold: about 2 minutes)"
LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
mkdir -p "$OUT.tmp"
(cd "$PKGDIR" && go build -trimpath -ldflags "$LDFLAGS" -o "$OUT.tmp/kube-apiserver" .) >&2 ||
  die "go build of the API server failed (sources: $HERE, GOPATH: $GOPATH); if sid moved, the Go code may need adapting to the new k8s.io API"
cp "$ROOT/usr/bin/etcd" "$OUT.tmp/etcd"
STEP="checking the built binaries"
"$OUT.tmp/etcd" --version >/dev/null || die "the unpacked etcd does not run on this host"
printf '%s\n' "$VERSIONS" >"$OUT.tmp/versions.txt"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
write_lock

# The Go build cache and the unpacked roots are GiBs; the .debs can be unpacked again.
# Drop them unless asked to keep them (MOSAIC_KEEP_GOCACHE=1 when editing the Go code).
if [ "${MOSAIC_KEEP_GOCACHE:-0}" != 1 ]; then
  rm -rf "$CACHE/gocache" "$ROOT" "$BUILD"
fi

# Keep the cache bounded: drop build dirs, unpacked roots and outputs of other keys.
for d in "$CACHE"/build/* "$CACHE"/root/* "$CACHE"/tools/* "$CACHE"/out/*; do
  [ -e "$d" ] || continue
  case "$d" in */"$KEY" | */"$DEBKEY") continue ;; esac
  # Keep other binaries (other source revisions may still use them); drop big trees.
  case "$d" in "$CACHE"/out/*) continue ;; esac
  rm -rf "$d"
done
log "built $OUT"
emit "$OUT"
