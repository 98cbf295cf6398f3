# scripts/lib/browser.sh — sourced by scripts/test (and by hand before the UI's browser tests).
#
#   browser_install       install Debian's headless Chromium and its WebDriver when missing
#
# plugin/tests/it/ui_browser.rs drives `chromedriver` (Debian's chromium-driver) over WebDriver; it
# finds both on PATH. Returns non-zero after one `error:` line when they cannot be installed.

browser_install() {
  # shellcheck source=scripts/lib/apt.sh
  source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  ((${#missing[@]})) || return 0
  apt_install "${missing[@]}" || return 1
  command -v chromedriver >/dev/null ||
    { echo "error: chromium-driver is installed but chromedriver is not on PATH (expected /usr/bin/chromedriver)" >&2; return 1; }
}
