#!/usr/bin/env bash
# Set up (idempotent, fast when done), then run the lit test suite; args replace the default `test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
# The official test command never lets an execution test be skipped for a missing tool.
export DWMLIR_REQUIRE_SVE_TESTS=1
if (($#)); then exec .venv/bin/lit -sv "$@"; else exec .venv/bin/lit -sv test; fi
