#!/usr/bin/env bash
# build.sh: builds (or finds in the cache) the Kubernetes 1.20 control plane and kubelet of
# Mosaic's real test cluster from Debian bookworm's `kubernetes` source package (upstream
# v1.20.2, complete with vendor/), with bookworm's Go 1.19, plus bookworm's etcd 3.4. Nothing
# is fetched from outside Debian's archive, and the system's apt configuration is not touched.
#
# stdout on success, exactly one line per binary:
#   KUBE_APISERVER=… KUBE_CONTROLLER_MANAGER=… KUBE_SCHEDULER=… KUBELET=… ETCD=…
# Progress goes to stderr. On failure: one "error: ..." line, non-zero exit.
#
# Cache: ${MOSAIC_CACHE:-$HOME/.cache/mosaic}/kube-cluster
#   apt/, debs/   private bookworm apt state and the downloaded .debs and sources
#   out/<KEY>/    the binaries; KEY = hash of the "package version" list + RECIPE. A hit is the
#                 fast path: no network, no Go toolchain.
# The build tree (about 2.4 GB: sources, Go toolchain, Go cache) is removed once the binaries
# are cached; MOSAIC_KEEP_BUILD=1 keeps it.
set -euo pipefail

# Bump when the build recipe changes in a way that changes the binaries.
RECIPE=2
SUITE=bookworm
WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${MOSAIC_CACHE:-$HOME/.cache/mosaic}/kube-cluster
LOCK="$HERE/versions.lock"
PKGLIST="$HERE/debs.txt"

log() { echo "build.sh: $*" >&2; }
die() { STEP=""; echo "error: $*" >&2; exit 1; }
STEP="starting"
# shellcheck disable=SC2154 # rc is assigned inside the trap
trap 'rc=$?; [ $rc -ne 0 ] && [ -n "${STEP:-}" ] && echo "error: build.sh failed while ${STEP} (exit $rc); see the messages above" >&2; exit $rc' EXIT

[ -f "$PKGLIST" ] || die "missing $PKGLIST"
mapfile -t PKGS < <(grep -v '^\s*#' "$PKGLIST" | awk 'NF{print $1}' | sort -u)
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet etcd)

sha() { sha256sum | cut -c1-16; }

# "pkg ver" lines of the lock, when it covers exactly the package list.
locked_versions() {
  [ -f "$LOCK" ] || return 1
  local names
  names=$(awk 'NF==2{print $1}' "$LOCK" | sort -u)
  [ "$names" = "$(printf '%s\n' "${PKGS[@]}")" ] || return 1
  awk 'NF==2' "$LOCK" | sort -u
}

complete() { local b; for b in "${BINS[@]}"; do [ -x "$1/$b" ] || return 1; done; }

emit() {
  STEP=""
  echo "KUBE_APISERVER=$1/kube-apiserver"
  echo "KUBE_CONTROLLER_MANAGER=$1/kube-controller-manager"
  echo "KUBE_SCHEDULER=$1/kube-scheduler"
  echo "KUBELET=$1/kubelet"
  echo "ETCD=$1/etcd"
  exit 0
}

key_of() { { echo "recipe=$RECIPE"; printf '%s\n' "$1"; } | sha; }

# ---- fast path: cached binaries for the locked versions -----------------
if LOCKED=$(locked_versions); then
  KEY=$(key_of "$LOCKED")
  complete "$CACHE/out/$KEY" && emit "$CACHE/out/$KEY"
fi

# ---- slow path ----------------------------------------------------------
mkdir -p "$CACHE"
exec 9>"$CACHE/build.lock"
STEP="waiting for the build lock $CACHE/build.lock"
flock 9
# Another build may have finished while we waited.
if [ -n "${LOCKED:-}" ] && complete "$CACHE/out/$KEY"; then emit "$CACHE/out/$KEY"; fi

STEP="checking host tools"
for tool in apt-get apt-cache dpkg-deb dpkg-source sha256sum flock make; do
  command -v "$tool" >/dev/null || die "$tool not found; this script needs a Debian host (apt, dpkg-dev, make)"
done

APT="$CACHE/apt"
DEBS_DIR="$CACHE/debs"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$DEBS_DIR"
printf '%s\n' "deb http://deb.debian.org/debian $SUITE main" "deb-src http://deb.debian.org/debian $SUITE main" >"$APT/sources.list"
APTO=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache"
  -o "Dir::Etc::preferencesparts=-" -o "Dir::Etc::preferences=/dev/null"
  -o "APT::Sandbox::User=root" -o "Acquire::Languages=none" -q)

STEP="updating the private $SUITE package lists ($APT)"
log "apt-get update (private $SUITE lists)"
apt-get "${APTO[@]}" update >"$APT/update.log" 2>&1 ||
  { tail -n 5 "$APT/update.log" >&2; die "apt-get update for $SUITE failed; check network access to deb.debian.org (log: $APT/update.log)"; }

current_versions() {
  local p
  for p in "${PKGS[@]}"; do
    case $p in
      src:*) apt-cache "${APTO[@]}" showsrc "${p#src:}" 2>/dev/null | awk -v p="$p" '/^Version: /{print p, $2}' | sort -V -k2 | tail -n1 ;;
      *) apt-cache "${APTO[@]}" show --no-all-versions "$p" 2>/dev/null | awk '/^Package: /{n=$2} /^Version: /{print n, $2}' ;;
    esac
  done | sort -u
}

fetch() { # "pkg ver" lines on stdin -> downloads into $DEBS_DIR
  local p v
  while read -r p v; do
    case $p in
      src:*) (cd "$DEBS_DIR" && apt-get "${APTO[@]}" source --download-only "${p#src:}=$v") ;;
      *) compgen -G "$DEBS_DIR/${p}_${v//:/%3a}_*.deb" >/dev/null || (cd "$DEBS_DIR" && apt-get "${APTO[@]}" download "$p=$v") ;;
    esac
  done >>"$APT/download.log" 2>&1
}

VERSIONS=""
if [ -n "${LOCKED:-}" ]; then
  STEP="downloading the locked packages"
  log "downloading the locked packages"
  if printf '%s\n' "$LOCKED" | fetch; then
    VERSIONS=$LOCKED
  else
    echo "warning: some versions in $LOCK are no longer in $SUITE; building with the current versions and updating versions.lock" >&2
  fi
else
  echo "warning: $LOCK is missing or does not match debs.txt; building with $SUITE's current versions and writing versions.lock" >&2
fi
if [ -z "$VERSIONS" ]; then
  STEP="resolving $SUITE's current versions"
  VERSIONS=$(current_versions)
  got=$(printf '%s\n' "$VERSIONS" | awk 'NF==2{print $1}' | sort -u)
  [ "$got" = "$(printf '%s\n' "${PKGS[@]}")" ] ||
    die "$SUITE lacks some packages of debs.txt: $(comm -23 <(printf '%s\n' "${PKGS[@]}") <(printf '%s\n' "$got") | tr '\n' ' ')"
  STEP="downloading $SUITE's packages"
  printf '%s\n' "$VERSIONS" | fetch || { tail -n 5 "$APT/download.log" >&2; die "downloading from $SUITE failed (log: $APT/download.log)"; }
fi

KEY=$(key_of "$VERSIONS")
OUT="$CACHE/out/$KEY"
write_lock() {
  if [ "$(cat "$LOCK" 2>/dev/null)" != "$VERSIONS" ]; then
    printf '%s\n' "$VERSIONS" >"$LOCK.tmp" && mv "$LOCK.tmp" "$LOCK"
    echo "warning: wrote new versions to $LOCK; commit it" >&2
  fi
}
if complete "$OUT"; then write_lock; emit "$OUT"; fi

# ---- unpack ---------------------------------------------------------------
BUILD="$CACHE/build/$KEY"
rm -rf "$BUILD"
mkdir -p "$BUILD/root" "$BUILD/gocache"
STEP="unpacking the .debs"
while read -r p v; do
  case $p in
    src:*)
      dsc=$(compgen -G "$DEBS_DIR/${p#src:}_${v#*:}.dsc" | head -n1)
      [ -n "$dsc" ] || die "the .dsc of ${p#src:} $v is not in $DEBS_DIR"
      log "unpacking the ${p#src:} $v source (upstream tree with Debian's patches)"
      dpkg-source --no-check -x "$dsc" "$BUILD/src" >"$BUILD/unpack.log" 2>&1 ||
        { tail -n 5 "$BUILD/unpack.log" >&2; die "dpkg-source -x $dsc failed"; } ;;
    *) dpkg-deb -x "$(compgen -G "$DEBS_DIR/${p}_${v//:/%3a}_*.deb" | head -n1)" "$BUILD/root" ;;
  esac
done <<<"$VERSIONS"
GOROOT_DIR=$(ls -d "$BUILD"/root/usr/lib/go-1.* 2>/dev/null | sort -V | tail -n1)
[ -x "$GOROOT_DIR/bin/go" ] || die "no Go toolchain in $BUILD/root/usr/lib/go-1.*; is golang-1.NN-go in debs.txt?"
[ -x "$BUILD/root/usr/bin/etcd" ] || die "no etcd in $BUILD/root/usr/bin; is etcd-server in debs.txt?"
[ -f "$BUILD/src/cmd/kubelet/kubelet.go" ] || die "the kubernetes source tree has no cmd/kubelet"

# The vendored reflect2 1.0.1 breaks under Go >= 1.18 (the API server dies with SIGSEGV in
# UnsafeMapType.UnsafeIterate on its first custom-resource create); 1.0.2 from bookworm fixes it.
R2="$BUILD/root/usr/share/gocode/src/github.com/modern-go/reflect2"
[ -f "$R2/reflect2.go" ] || die "no reflect2 sources in $R2; is golang-github-modern-go-reflect2-dev in debs.txt?"
rm -rf "$BUILD/src/vendor/github.com/modern-go/reflect2"
cp -r "$R2" "$BUILD/src/vendor/github.com/modern-go/reflect2"
rm -f "$BUILD/src/vendor/github.com/modern-go/reflect2/go.mod" "$BUILD/src/vendor/github.com/modern-go/reflect2/go.sum"

# ---- build ----------------------------------------------------------------
UPSTREAM=$(printf '%s\n' "$VERSIONS" | awk '$1=="src:kubernetes"{print $2}' | sed -E 's/^([0-9]+:)?//; s/.*really//; s/-[^-]*$//')
[[ "$UPSTREAM" =~ ^1\.[0-9]+\.[0-9]+$ ]] || die "cannot derive the upstream version from src:kubernetes $(printf '%s\n' "$VERSIONS" | grep src:kubernetes)"
MINOR=$(cut -d. -f2 <<<"$UPSTREAM")
cat >"$BUILD/version.env" <<V
KUBE_GIT_COMMIT=''
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_VERSION='v$UPSTREAM'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='$MINOR'
V
STEP="compiling Kubernetes v$UPSTREAM (make WHAT=...)"
log "compiling Kubernetes v$UPSTREAM with $("$GOROOT_DIR/bin/go" version | awk '{print $3}') (cold: 6 minutes on 2 idle cores, 15 to 20 on busy ones)"
(
  cd "$BUILD/src"
  export GOROOT="$GOROOT_DIR" PATH="$GOROOT_DIR/bin:$BUILD/root/usr/bin:$PATH" \
    LD_LIBRARY_PATH="$BUILD/root/usr/lib/x86_64-linux-gnu" GOPROXY=off GOFLAGS=-mod=vendor \
    GOCACHE="$BUILD/gocache" GOPATH="$BUILD/gopath" CGO_ENABLED=0 KUBE_GIT_VERSION_FILE="$BUILD/version.env" \
    KUBE_VERBOSE=0
  make WHAT="$WHAT"
) >"$BUILD/make.log" 2>&1 || { tail -n 30 "$BUILD/make.log" >&2; die "make of Kubernetes failed (log: $BUILD/make.log)"; }

STEP="collecting the binaries"
BIN="$BUILD/src/_output/bin"
[ -x "$BIN/kubelet" ] || BIN=$(dirname "$(find "$BUILD/src/_output" -type f -name kubelet -perm -u+x | head -n1)")
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do
  cp "$BIN/$b" "$OUT.tmp/$b" || die "make produced no $b in $BIN"
done
cp "$BUILD/root/usr/bin/etcd" "$OUT.tmp/etcd"
"$OUT.tmp/kubelet" --version >&2 || die "the built kubelet does not run on this host"
"$OUT.tmp/etcd" --version >/dev/null || die "the unpacked etcd does not run on this host"
printf '%s\n' "$VERSIONS" >"$OUT.tmp/versions.txt"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
write_lock

# The build tree is about 2.4 GB; the cached .debs and sources can be unpacked again.
if [ "${MOSAIC_KEEP_BUILD:-0}" != 1 ]; then rm -rf "$BUILD"; fi
# Keep the cache bounded: other keys' build trees and binaries (an older recipe or versions).
for d in "$CACHE"/build/* "$CACHE"/out/*; do
  [ -e "$d" ] || continue
  case "$d" in "$BUILD" | "$OUT") continue ;; esac
  rm -rf "$d"
done
log "built $OUT"
emit "$OUT"
