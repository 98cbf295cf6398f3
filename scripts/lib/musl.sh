# scripts/lib/musl.sh — sourced by scripts/release and scripts/webhook-image-context.
#
#   musl_build PKG...     static (musl) release build of the workspace packages PKG
#
# Adds the Rust target and installs musl-tools (ring's C code needs musl-gcc) when missing, then
# builds in one shared target dir, $MUSL_TARGET_DIR (target/image unless CARGO_TARGET_DIR says
# otherwise), so the release and the webhook image never build the same dependencies twice.
# The binaries land in $MUSL_BIN_DIR. Cargo's progress goes to stderr. Returns non-zero after
# one `error:` line on failure.

MUSL_TARGET=x86_64-unknown-linux-musl
MUSL_TARGET_DIR=${CARGO_TARGET_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/image}
MUSL_BIN_DIR=$MUSL_TARGET_DIR/$MUSL_TARGET/release

musl_build() {
  if ! rustup target list --installed 2>/dev/null | grep -qx "$MUSL_TARGET"; then
    echo "adding the Rust target $MUSL_TARGET (rustup)" >&2
    rustup target add "$MUSL_TARGET" >/dev/null 2>&1 ||
      { echo "error: rustup target add $MUSL_TARGET failed: run it by hand to see why" >&2; return 1; }
  fi
  # shellcheck source=scripts/lib/apt.sh
  source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
  command -v musl-gcc >/dev/null || apt_install musl-tools || return 1
  local p args=()
  for p in "$@"; do args+=(-p "$p"); done
  echo "building $* for $MUSL_TARGET (release; cold: several minutes)" >&2
  CARGO_TARGET_DIR="$MUSL_TARGET_DIR" cargo build --release --locked --target "$MUSL_TARGET" "${args[@]}" ||
    { echo "error: the static (musl) release build of $* failed (see above)" >&2; return 1; }
  for p in "$@"; do
    local bin=$MUSL_BIN_DIR/$p
    [[ ! -e $bin ]] || ! command -v file >/dev/null || file "$bin" | grep -q 'statically linked\|static-pie linked' ||
      { echo "error: $bin is not statically linked" >&2; return 1; }
  done
}
