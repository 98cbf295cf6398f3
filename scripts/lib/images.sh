# scripts/lib/images.sh — sourced by scripts/release for `--images`: build and push the images
# Mosaic runs, and pin what was pushed in manifests/images.lock.
#
#   release_images PUSH_REGISTRY PUBLISH_AS ENGINE_MODE
#
# The webhook image: scripts/webhook-image-context (static musl build), `docker build`, pushed
# as PUSH_REGISTRY/mosaic-webhook:<version>. The engine image, by ENGINE_MODE:
#   upstream  the lock's engine tag (docker:28-dind) pulled again, its digest re-read (the
#             multi-arch index digest Docker Hub serves for that tag today)
#   debian    scripts/engine-image (Debian's dockerd, no Docker Hub), pushed as
#             PUSH_REGISTRY/mosaic-engine:<version>
#   keep      the lock's engine reference as it is (a release of the webhook alone, from a
#             machine that cannot reach the engine's registry; the pin is not re-read)
# Each digest is the one the registry answered to the push (`docker push`'s `digest:` line) or
# the pull, never one computed here. The lock names the images under PUBLISH_AS (default
# PUSH_REGISTRY): push to a staging registry, then copy the images to PUBLISH_AS by digest
# (`skopeo copy --all --preserve-digests`, `crane copy`), which keeps the digests. Then
# `cargo xtask gen` renders manifests/ from the lock; commit both before tagging the release.

images_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The digest the registry answered to `docker push REF`.
images_push() {
  local out digest
  out=$(docker push "$1" 2>&1) || { printf '%s\n' "$out" | tail -n 5 >&2; images_die "docker push $1 failed (see above): docker login to its registry and rerun"; }
  digest=$(printf '%s\n' "$out" | sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' | tail -n1)
  [[ -n $digest ]] || images_die "docker push $1 printed no digest"
  echo "$digest"
}

release_images() {
  local push=$1 publish=$2 engine_mode=$3 root version lock ctx webhook engine old_engine repo digest
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
  lock=$root/manifests/images.lock
  # shellcheck source=scripts/lib/apt.sh
  source "$root/scripts/lib/apt.sh"
  command -v docker >/dev/null || apt_install docker.io || exit 1
  docker version >/dev/null 2>&1 ||
    images_die "cannot reach a Docker engine${DOCKER_HOST:+ at $DOCKER_HOST}: start one (systemctl start docker, or scripts/stack up and its DOCKER_HOST) and rerun"

  ctx=$("$root/scripts/webhook-image-context" --webhook-only) || exit 1
  docker build --build-arg "VERSION=$version" -t "$push/mosaic-webhook:$version" "$ctx" >&2 ||
    images_die "docker build of the webhook image failed"
  digest=$(images_push "$push/mosaic-webhook:$version")
  webhook="$publish/mosaic-webhook:$version@$digest"
  echo "webhook image: $webhook" >&2

  old_engine=$(awk '$1 == "engine" { print $2 }' "$lock")
  case $engine_mode in
    upstream)
      repo=${old_engine%@*}
      [[ -n $repo ]] || images_die "$lock names no engine image to re-resolve: give --engine-from-debian"
      docker pull -q "$repo" >/dev/null || images_die "docker pull $repo failed: this machine must reach its registry"
      digest=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$repo" | sed -n 's/.*@\(sha256:[0-9a-f]\{64\}\)$/\1/p' | head -n1)
      [[ -n $digest ]] || images_die "the engine has no registry digest for $repo after pulling it"
      engine="$repo@$digest"
      [[ $engine == "$old_engine" ]] || echo "note: $repo moved: $old_engine -> $engine" >&2
      ;;
    keep)
      [[ -n $old_engine ]] || images_die "$lock names no engine image to keep"
      engine=$old_engine
      echo "note: engine image kept as the lock pins it, not re-read: $engine" >&2
      ;;
    debian)
      "$root/scripts/engine-image" "$push/mosaic-engine:$version" >/dev/null || exit 1
      digest=$(images_push "$push/mosaic-engine:$version")
      engine="$publish/mosaic-engine:$version@$digest"
      ;;
    *) images_die "unknown engine mode $engine_mode" ;;
  esac
  echo "engine image: $engine" >&2

  { grep '^#' "$lock"; printf 'webhook  %s\nengine   %s\n' "$webhook" "$engine"; } >"$lock.new"
  mv "$lock.new" "$lock"
  (cd "$root" && cargo xtask gen && RUST_BACKTRACE=0 cargo xtask check) >&2 ||
    images_die "rendering manifests/ from the new lock failed (see above)"
  echo "Wrote $lock and manifests/: commit them, then tag v$version" >&2
  [[ $publish == "$push" ]] ||
    echo "Copy the images from $push to $publish keeping their digests (skopeo copy --all --preserve-digests docker://$push/mosaic-webhook:$version docker://$publish/mosaic-webhook:$version)" >&2
}
