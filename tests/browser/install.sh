#!/usr/bin/env bash
# Install what the real-browser tests need, only what is missing (safe to run again):
#   - Debian's Chromium, a CJK font (Chinese must render) and a colour-emoji font (👍/👎);
#   - axe-core, pinned in package-lock.json, via `npm ci` into tests/browser/node_modules.
# Playwright's own browser download (`playwright install`) is deliberately not used.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then packages+=(cjk-font); fi
if ! fc-list 2>/dev/null | grep -qi emoji; then packages+=(fonts-noto-color-emoji); fi

if [ ${#packages[@]} -gt 0 ]; then
  as_root apt-get update
  # fonts-noto-cjk where the release has it, fonts-wqy-zenhei otherwise.
  cjk=fonts-noto-cjk
  apt-cache show "$cjk" >/dev/null 2>&1 || cjk=fonts-wqy-zenhei
  packages=("${packages[@]/cjk-font/$cjk}")
  [ -x /usr/bin/chromium ] || packages+=("$cjk")
  echo "installing: ${packages[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
fi

# npm ci only when axe-core is absent or not the version package-lock.json pins.
axe_matches_lock() {
  (cd "$here" && node -e '
    const want = require("./package-lock.json").packages["node_modules/axe-core"].version;
    const have = require("./node_modules/axe-core/package.json").version;
    process.exit(want === have ? 0 : 1);' 2>/dev/null)
}
if [ ! -f "$here/node_modules/axe-core/axe.min.js" ] || ! axe_matches_lock; then
  echo "installing axe-core (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund)
fi
echo "browser test dependencies are in place"
