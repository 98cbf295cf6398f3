# scripts/lib/apt.sh — sourced by the scripts that need Debian packages.
#
#   apt_install PKG...    install the PKGs that dpkg does not list as installed
#
# Prints one line per install on stderr ("installing musl-tools (log: …)") and keeps apt's own
# output in that log, shown (its tail) only when the install fails. `apt-get update` runs only
# when needed: when the machine has no package lists yet, or when an install fails (stale lists
# name versions the mirror no longer has). Waits for another apt/dpkg run to release its lock.
# Returns non-zero after one `error:` line when the packages cannot be installed.
# Callers decide what is missing by the command they need (`command -v musl-gcc`), so a tool
# installed some other way is never installed twice.

# The log of the last apt_install, for callers that want to point at it.
APT_LOG=""

# Is PKG installed (dpkg's view)?
apt_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

apt_install() {
  local missing=() p
  for p in "$@"; do apt_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  if ! command -v apt-get >/dev/null; then
    printf 'error: %s missing and this is not a Debian/Ubuntu host (no apt-get): install them with your package manager and rerun\n' "${missing[*]}" >&2
    return 1
  fi
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      printf 'error: %s missing and installing needs root: run `sudo apt-get install -y %s` and rerun\n' "${missing[*]}" "${missing[*]}" >&2
      return 1
    fi
  fi
  APT_LOG=$(mktemp "${TMPDIR:-/tmp}/mosaic-apt.XXXXXX.log")
  printf 'installing %s (log: %s)\n' "${missing[*]}" "$APT_LOG" >&2
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
  local install=("${apt[@]}" install -y --no-install-recommends "${missing[@]}")
  # No package lists at all (a fresh container image): update first.
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    "${apt[@]}" update >>"$APT_LOG" 2>&1 || { apt_failed update "${missing[*]}"; return 1; }
    "${install[@]}" >>"$APT_LOG" 2>&1 || { apt_failed install "${missing[*]}"; return 1; }
    return 0
  fi
  "${install[@]}" >>"$APT_LOG" 2>&1 && return 0
  # Perhaps stale lists: refresh them and try once more.
  printf '\n--- apt-get install failed; apt-get update and retry ---\n' >>"$APT_LOG"
  "${apt[@]}" update >>"$APT_LOG" 2>&1 || { apt_failed update "${missing[*]}"; return 1; }
  "${install[@]}" >>"$APT_LOG" 2>&1 || { apt_failed install "${missing[*]}"; return 1; }
}

# apt_failed STEP PACKAGES: the end of the log and one error line for the step that failed.
apt_failed() {
  local why
  why=$(grep '^E:' "$APT_LOG" | tail -n 1 | sed 's/^E: *//')
  tail -n 15 "$APT_LOG" | sed 's/^/    /' >&2
  printf 'error: apt-get %s of %s failed%s (full log: %s); check access to the Debian mirror, or install them by hand, and rerun\n' \
    "$1" "$2" "${why:+: $why}" "$APT_LOG" >&2
}
