#!/usr/bin/env bash
# Install what the real-browser tests need, only when it is missing (safe to run again):
#   - Debian's Chromium and a CJK font, so Chinese text renders in screenshots;
#   - axe-core from package-lock.json (npm ci) into tests/browser/node_modules.
# Playwright's own browser download (`playwright install`) is deliberately not used.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium and a CJK font (apt)"
  sudo_if_needed apt-get update
  font=fonts-noto-cjk
  if ! apt-cache show "$font" >/dev/null 2>&1; then font=fonts-wqy-zenhei; fi
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium "$font"
fi

if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "installing a CJK font (apt)"
  sudo_if_needed apt-get update
  font=fonts-noto-cjk
  if ! apt-cache show "$font" >/dev/null 2>&1; then font=fonts-wqy-zenhei; fi
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$font"
fi

if [ ! -f "$here/node_modules/axe-core/axe.min.js" ] || ! cmp -s "$here/package-lock.json" "$here/node_modules/.package-lock.json" 2>/dev/null; then
  echo "installing axe-core (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund)
fi
echo "browser test dependencies are in place"
