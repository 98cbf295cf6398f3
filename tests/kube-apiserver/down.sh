#!/usr/bin/env bash
# down.sh DIR: stops the API server and etcd started by up.sh DIR.
# The API server goes first (its shutdown stalls when etcd is already gone),
# then etcd: SIGTERM, wait up to 10 s, then SIGKILL. Idempotent: fine when
# nothing runs. Only PIDs from DIR/*.pid whose command line mentions DIR are
# signalled, so a recycled PID is never hit.
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: down.sh DIR"
[ -d "$1" ] || exit 0
DIR=$(cd "$1" && pwd)

alive() { # pid -> true when running and not a zombie
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  local state
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$state" != Z ] && [ "$state" != X ]
}
ours() { # pid -> true when its command line refers to DIR
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR/"
}

stop() { # name
  local f="$DIR/$1.pid" pid deadline
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    if alive "$pid"; then
      echo "down.sh: $1 (pid $pid) did not stop within 10 s of SIGTERM, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
      alive "$pid" && die "$1 (pid $pid) survived SIGKILL"
    fi
  fi
  rm -f "$f"
}

stop apiserver
stop etcd
