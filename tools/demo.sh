#!/usr/bin/env bash
# Set up (idempotent, fast when done), then run the dwmlir demo; args pass through.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
exec .venv/bin/dwmlir demo "$@"
