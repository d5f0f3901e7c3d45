#!/usr/bin/env bash
# Builds the instruction-counting QEMU plugin (tools/qemu-plugin/insn_count.c) into
# .deps/qemu-plugin/libinsn_count.so with the host C compiler ($CC, default cc).
# Idempotent: does nothing when the library is newer than its source and this script.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/tools/qemu-plugin/insn_count.c
OUT_DIR=$ROOT/.deps/qemu-plugin
OUT=$OUT_DIR/libinsn_count.so

if [[ -f $OUT && $OUT -nt $SRC && $OUT -nt ${BASH_SOURCE[0]} ]]; then
  echo "build-qemu-plugin: ok ($OUT)"
  exit 0
fi
CC=${CC:-cc}
command -v "$CC" >/dev/null ||
  { echo "build-qemu-plugin: error: no host C compiler '$CC': install gcc (or set CC)" >&2; exit 1; }

mkdir -p "$OUT_DIR"
tmp=$(mktemp "$OUT_DIR/.libinsn_count.XXXXXX.so")
trap 'rm -f "$tmp"' EXIT
"$CC" -shared -fPIC -O2 -Wall -Wextra -Werror -o "$tmp" "$SRC" ||
  { echo "build-qemu-plugin: error: compiling $SRC failed (see above)" >&2; exit 1; }
chmod 644 "$tmp"
mv -f "$tmp" "$OUT"  # atomic: a concurrent qemu never loads a half-written library
trap - EXIT
echo "build-qemu-plugin: built $OUT"
