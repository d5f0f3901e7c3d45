#!/usr/bin/env bash
# Builds what the cache model (dwmlir.bench.cache) runs on:
#   .deps/qemu-cache/bin/qemu-aarch64        QEMU 10.0.2, aarch64-linux-user, TCG plugins on
#   .deps/qemu-cache/include/qemu-plugin.h   its plugin API header
#   .deps/qemu-plugin/libcache_model.so      tools/qemu-plugin/cache_model.c built against it
#
# Why build QEMU: Debian 12's qemu-user 7.2 hides SVE vector loads and stores from plugins, and
# the qemu-user of bookworm-backports (10.0) is linked statically, without plugin support. The
# source is Debian's own upstream tarball of 10.0.2 (bookworm-backports, trixie), pinned by
# SHA-256; meson and pycotap come pinned from PyPI into a private venv. Only the aarch64 user-mode
# emulator is built (about 3 minutes on 2 cores, once). Idempotent: each step is skipped when its
# stamp matches.
#
# Env: DWMLIR_PYTHON  Python >= 3.9 with venv (default .venv/bin/python, else python3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=$ROOT/.deps
PREFIX=$DEPS/qemu-cache
PLUGIN_SRC=$ROOT/tools/qemu-plugin/cache_model.c
PLUGIN=$DEPS/qemu-plugin/libcache_model.so

QEMU_VERSION=10.0.2
TARBALL=qemu_${QEMU_VERSION}+ds.orig.tar.xz
SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
SHA1=0da721835b445ce31e3d69631ac878ebe218a6af  # snapshot.debian.org names files by SHA-1
URLS=(
  "http://deb.debian.org/debian/pool/main/q/qemu/$TARBALL"
  "https://snapshot.debian.org/file/$SHA1"
)
PY_PINS=(meson==1.8.2 pycotap==1.3.1)
CONFIGURE_FLAGS=(
  --target-list=aarch64-linux-user --enable-plugins --disable-system --disable-tools
  --disable-docs --disable-rust --disable-download --disable-install-blobs --disable-werror
)
STAMP_TEXT="$SHA256 ${PY_PINS[*]} ${CONFIGURE_FLAGS[*]}"

log() { echo "build-qemu-cache: $*"; }
die() { echo "build-qemu-cache: error: $*" >&2; exit 1; }

build_qemu() {
  command -v pkg-config >/dev/null && pkg-config --exists 'glib-2.0 >= 2.66' ||
    die "glib 2.66+ development files not found: install libglib2.0-dev (tools/setup.sh does)"
  command -v ninja >/dev/null || die "ninja not found: install ninja-build (tools/setup.sh does)"
  local py=${DWMLIR_PYTHON:-}
  [[ -n $py ]] || { [[ -x $ROOT/.venv/bin/python ]] && py=$ROOT/.venv/bin/python; } || py=python3
  local work
  work=$(mktemp -d "$DEPS/.qemu-cache-build.XXXXXX")
  trap 'rm -rf "$work"' EXIT

  local url ok=0
  for url in "${URLS[@]}"; do
    log "downloading $TARBALL from $url"
    if "$py" - "$url" "$work/$TARBALL" "$SHA256" <<'EOF'
import hashlib, sys, urllib.request
url, dest, want = sys.argv[1:]
with urllib.request.urlopen(url, timeout=120) as r, open(dest, "wb") as f:
    h = hashlib.sha256()
    while chunk := r.read(1 << 20):
        h.update(chunk)
        f.write(chunk)
if h.hexdigest() != want:
    sys.exit(f"SHA-256 {h.hexdigest()} is not the pinned {want}")
EOF
    then ok=1; break; fi
  done
  ((ok)) || die "could not download $TARBALL with SHA-256 $SHA256 (network?)"

  log "creating the build venv (${PY_PINS[*]})"
  "$py" -m venv "$work/venv" || die "could not create a venv with $py: install python3-venv"
  "$work/venv/bin/python" -m pip install -q --disable-pip-version-check "${PY_PINS[@]}" ||
    die "pip install ${PY_PINS[*]} failed: check PyPI access"

  log "configuring QEMU $QEMU_VERSION (aarch64-linux-user, plugins)"
  # Python's lzma, not tar -J: a fresh Debian 12 has no xz-utils. The tarball is checksummed.
  "$py" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$work/$TARBALL" "$work" ||
    die "could not unpack $TARBALL"
  local src=$work/qemu-$QEMU_VERSION
  mkdir "$src/build"
  (cd "$src/build" && PATH=$work/venv/bin:$PATH \
    ../configure --python="$work/venv/bin/python" "${CONFIGURE_FLAGS[@]}" >"$work/configure.log" 2>&1) ||
    { tail -20 "$work/configure.log" >&2; die "QEMU configure failed (log above)"; }
  log "building qemu-aarch64 (a few minutes, once)"
  (cd "$src/build" && PATH=$work/venv/bin:$PATH ninja qemu-aarch64 >"$work/ninja.log" 2>&1) ||
    { tail -20 "$work/ninja.log" >&2; die "QEMU build failed (log above)"; }

  local tmp=$PREFIX.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp/bin" "$tmp/include"
  cp "$src/build/qemu-aarch64" "$tmp/bin/"
  cp "$src/include/qemu/qemu-plugin.h" "$tmp/include/"
  "$tmp/bin/qemu-aarch64" -h | grep -- '-plugin' >/dev/null || die "the built qemu-aarch64 has no -plugin option"
  echo "$STAMP_TEXT" >"$tmp/.dwmlir-stamp"
  rm -rf "$PREFIX"
  mv "$tmp" "$PREFIX"
  rm -rf "$work"
  trap - EXIT
  log "built $PREFIX/bin/qemu-aarch64"
}

mkdir -p "$DEPS"
if [[ -f $PREFIX/.dwmlir-stamp && $(cat "$PREFIX/.dwmlir-stamp") == "$STAMP_TEXT" ]]; then
  log "QEMU $QEMU_VERSION with plugins: ok ($PREFIX)"
else
  rm -rf "$DEPS"/.qemu-cache-build.* "$PREFIX".tmp.*  # leftovers of an interrupted run
  build_qemu
fi

# The plugin: rebuilt when its source, this script or the QEMU header is newer.
if [[ -f $PLUGIN && $PLUGIN -nt $PLUGIN_SRC && $PLUGIN -nt ${BASH_SOURCE[0]} &&
      $PLUGIN -nt $PREFIX/include/qemu-plugin.h ]]; then
  log "cache-model plugin: ok ($PLUGIN)"
  exit 0
fi
CC=${CC:-cc}
mkdir -p "$(dirname "$PLUGIN")"
tmp=$(mktemp "$(dirname "$PLUGIN")/.libcache_model.XXXXXX.so")
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2046  # pkg-config prints several flags
"$CC" -shared -fPIC -O2 -Wall -Wextra -Werror $(pkg-config --cflags glib-2.0) -I "$PREFIX/include" \
  -o "$tmp" "$PLUGIN_SRC" || die "compiling $PLUGIN_SRC failed (see above)"
chmod 644 "$tmp"
mv -f "$tmp" "$PLUGIN"
trap - EXIT
log "built $PLUGIN"
