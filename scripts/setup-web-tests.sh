#!/usr/bin/env bash
# Installs what the web app's browser tests need (Debian 12): Debian's chromium, Node.js with npm,
# and the npm package playwright-core (pinned in tests/web/package-lock.json) that drives it.
# Called by scripts/test.sh; `hires serve` itself needs none of this.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
if ((${#packages[@]})); then
  "$root/scripts/apt-install.sh" setup-web-tests "${packages[@]}"
fi
cd "$root/tests/web"
if [ ! -f node_modules/playwright-core/package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
