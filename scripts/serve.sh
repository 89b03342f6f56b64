#!/usr/bin/env bash
# The web app on a fresh machine: set up, build, then `hires serve` (arguments are passed on,
# e.g. scripts/serve.sh --port 9000 --open). Open the address it prints.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" >&2
exec "$root/build/hires" serve "$@"
