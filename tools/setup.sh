#!/usr/bin/env bash
# Installs what dwmlir needs: Debian packages (LLVM/MLIR 22, qemu, aarch64 cross gcc), an aarch64
# sysroot with mlir-runner (to run SVE code under qemu-aarch64), and the Python venv in .venv.
# Idempotent: a second run only checks stamps and versions.
# Env: DWMLIR_SKIP_APT=1  never call apt (you bring LLVM 22, qemu and the sysroot yourself)
#      DWMLIR_AARCH64_SYSROOT=DIR  aarch64 sysroot location (default: .deps/aarch64-sysroot); the
#                         same variable tells dwmlir and the lit suite where it is
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
ARCH=$(uname -m)
SYSROOT=${DWMLIR_AARCH64_SYSROOT:-$ROOT/.deps/aarch64-sysroot}
SKIP_APT=${DWMLIR_SKIP_APT:-0}
LLVM_VER=1:22.1.8-1~deb12u1
LLVM_BIN=/usr/lib/llvm-22/bin

log() { echo "setup: $*"; }
warn() { echo "setup: warning: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }
[[ $SYSROOT == /* ]] || die "DWMLIR_AARCH64_SYSROOT must be an absolute path (got: $SYSROOT)"

# One setup at a time (check.sh and demo.sh may start concurrently).
mkdir -p "$ROOT/.deps"
exec 9>"$ROOT/.deps/.setup.lock"
flock 9

if [[ $SKIP_APT != 1 ]]; then
  if ! grep -qs '^VERSION_ID="12"' /etc/os-release || ! grep -qs '^ID=debian' /etc/os-release; then
    warn "not Debian 12: pinned packages may be missing (set DWMLIR_SKIP_APT=1 to bring your own LLVM 22)"
  fi
fi

SUDO=()
need_root() {
  if [[ $EUID -eq 0 ]]; then SUDO=()
  elif command -v sudo >/dev/null; then SUDO=(sudo)
  else die "need root (or sudo) to install Debian packages: rerun as root"; fi
}

# apt_ensure_lists PKG=VER...: run `apt-get update` only if apt does not know some pinned version.
apt_has() { [[ $(apt-cache show "$1" 2>/dev/null) == Package:* ]]; }  # show exits 0 on unknown versions
apt_ensure_lists() {
  local spec
  for spec in "$@"; do
    if ! apt_has "$spec"; then
      need_root
      log "apt-get update"
      "${SUDO[@]}" apt-get update -qq || die "apt-get update failed: check network/apt sources"
      break
    fi
  done
  for spec in "$@"; do
    apt_has "$spec" ||
      die "apt has no $spec: update the pin in tools/setup.sh (see apt-cache policy ${spec%%=*})"
  done
}

# ---- Python interpreter for the venv (only needed if .venv is missing or broken) ----------------
PY_OK='import sys, venv, ensurepip; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))'
PY=""
EXTRA_PKGS=()
if ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  for cand in /usr/bin/python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c "$PY_OK" 2>/dev/null; then PY=$cand; break; fi
  done
  if [[ -z $PY ]]; then
    # Debian's python3.11 lacks ensurepip until python3-venv is installed.
    [[ $SKIP_APT == 1 ]] && die "no Python 3.11/3.12 with venv+ensurepip: install one (or python3-venv)"
    EXTRA_PKGS+=(python3-venv=3.11.2-1+b1)
    PY=/usr/bin/python3.11
  fi
fi

# ---- Host Debian packages, pinned exactly -------------------------------------------------------
HOST_PKGS=(
  mlir-22-tools="$LLVM_VER" llvm-22="$LLVM_VER" clang-22="$LLVM_VER" lld-22="$LLVM_VER"
  cmake=3.25.1-1 ninja-build=1.11.1-2~deb12u1 gcc=4:12.2.0-3
  libglib2.0-dev=2.74.6-2+deb12u9 pkg-config=1.8.1-1  # to build QEMU for the cache model
)
if [[ $ARCH == aarch64 ]]; then
  # Native aarch64 (untested: no ARM hardware here): no cross compiler, no sysroot; the MLIR
  # runtime libs and pip wheels are aarch64 ones. SVE comes from the auxiliary vector
  # (AT_HWCAP bit 22); kernels run natively at the vector lengths the CPU offers and under
  # qemu-aarch64 at the others (or everywhere, on a CPU without SVE).
  hwcap=$(od -An -v -tu8 -w16 /proc/self/auxv | awk '$1 == 16 {print $2; exit}')  # AT_HWCAP
  if (( ${hwcap:-0} & (1 << 22) )); then
    log "native aarch64 with SVE (AT_HWCAP $hwcap): SVE kernels run without qemu"
  else
    log "native aarch64 without SVE (AT_HWCAP ${hwcap:-unknown}): SVE kernels run under qemu-aarch64"
  fi
  HOST_PKGS+=(libmlir-22-dev="$LLVM_VER" qemu-user=1:7.2+dfsg-7+deb12u18+b3)
else
  HOST_PKGS+=(qemu-user=1:7.2+dfsg-7+deb12u18+b3 gcc-aarch64-linux-gnu=4:12.2.0-3
              libc6-dev-arm64-cross=2.36-8cross1)
fi
HOST_PKGS+=("${EXTRA_PKGS[@]}")

if [[ $SKIP_APT == 1 ]]; then
  log "DWMLIR_SKIP_APT=1: not installing Debian packages"
else
  missing=()
  for spec in "${HOST_PKGS[@]}"; do
    have=$(dpkg-query -W -f='${Status}|${Version}' "${spec%%=*}" 2>/dev/null || true)
    [[ $have == "install ok installed|${spec#*=}" ]] || missing+=("$spec")
  done
  if ((${#missing[@]})); then
    need_root
    apt_ensure_lists "${missing[@]}"
    log "installing ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
      die "apt-get install failed (see above); a newer version installed? remove it or update the pins"
  else
    log "Debian packages: ok"
  fi
fi

# ---- aarch64 sysroot (x86_64 hosts only), extracted from pinned arm64 .debs ---------------------
SYSROOT_PKGS=(
  mlir-22-tools:arm64="$LLVM_VER" libmlir-22:arm64="$LLVM_VER" libllvm22:arm64="$LLVM_VER"
  libc6:arm64=2.36-9+deb12u14 libstdc++6:arm64=12.2.0-14+deb12u1 libgcc-s1:arm64=12.2.0-14+deb12u1
  libedit2:arm64=3.1-20221030-2 libffi8:arm64=3.4.4-1 libxml2:arm64=2.9.14+dfsg-1.3~deb12u6
  libz3-4:arm64=4.8.12-3.1 libzstd1:arm64=1.5.4+dfsg2-5 zlib1g:arm64=1:1.2.13.dfsg-1
  libbsd0:arm64=0.11.7-2 libmd0:arm64=1.0.4-2 libtinfo6:arm64=6.4-4
  libicu72:arm64=72.1-3+deb12u1 liblzma5:arm64=5.4.1-1+deb12u2
)
SYSROOT_FILES=(
  usr/lib/llvm-22/bin/mlir-runner usr/lib/llvm-22/lib/libmlir_c_runner_utils.so.22.1
  usr/lib/llvm-22/lib/libmlir_runner_utils.so.22.1 usr/lib/llvm-22/lib/libmlir_arm_runner_utils.so.22.1
)
STAMP_TEXT=$(printf '%s\n' "${SYSROOT_PKGS[@]}")

build_sysroot() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    need_root
    log "dpkg --add-architecture arm64"
    "${SUDO[@]}" dpkg --add-architecture arm64
  fi
  apt_ensure_lists "${SYSROOT_PKGS[@]}"
  local deb f
  rm -rf "$SYSROOT".tmp.*  # leftovers of an interrupted run (we hold the lock)
  dl=$(mktemp -d /tmp/dwmlir-debs.XXXXXX)
  tmp="$SYSROOT.tmp.$$"
  trap 'rm -rf "$dl" "$tmp"' EXIT  # dl, tmp: globals, so the trap still sees them
  chmod 777 "$dl"  # apt's _apt user must be able to write here
  log "downloading ${#SYSROOT_PKGS[@]} arm64 packages"
  (cd "$dl" && apt-get download -qq "${SYSROOT_PKGS[@]}") || die "apt-get download of arm64 packages failed"
  log "extracting into $SYSROOT"
  mkdir -p "$tmp"
  for deb in "$dl"/*.deb; do dpkg -x "$deb" "$tmp"; done
  for f in "${SYSROOT_FILES[@]}"; do [[ -e $tmp/$f ]] || die "sysroot lacks $f after extraction"; done
  echo "$STAMP_TEXT" >"$tmp/.dwmlir-stamp"
  rm -rf "$SYSROOT"
  mv "$tmp" "$SYSROOT"
  rm -rf "$dl"
  trap - EXIT
}

if [[ $ARCH != aarch64 ]]; then
  if [[ -f $SYSROOT/.dwmlir-stamp && $(cat "$SYSROOT/.dwmlir-stamp") == "$STAMP_TEXT" ]]; then
    log "aarch64 sysroot: ok ($SYSROOT)"
  elif [[ $SKIP_APT == 1 ]]; then
    [[ -x $SYSROOT/${SYSROOT_FILES[0]} ]] ||
      die "no aarch64 sysroot with mlir-runner at $SYSROOT: set DWMLIR_AARCH64_SYSROOT or unset DWMLIR_SKIP_APT"
    log "aarch64 sysroot: using $SYSROOT (not made by this script)"
  else
    mkdir -p "$(dirname "$SYSROOT")"
    build_sysroot
  fi
fi

# ---- Plain lib*.so names for the aarch64 MLIR runtime libraries (x86_64 hosts only) ------------
# Upstream's ArmSVE lit.local.cfg files load <dir>/libmlir_runner_utils.so (+ config.llvm_shlib_ext);
# Debian's arm64 packages ship only the versioned files (the links are in libmlir-22-dev).
if [[ $ARCH != aarch64 ]]; then
  for lib in "$SYSROOT"/usr/lib/llvm-22/lib/lib*.so.22.1; do
    link=${lib%.22.1}
    [[ -L $link || -e $link ]] || ln -s "$(basename "$lib")" "$link" ||
      die "cannot create $link (is $SYSROOT writable?)"
  done
fi

# ---- Python venv ---------------------------------------------------------------------------------
if [[ -n $PY ]]; then
  log "creating .venv with $PY"
  rm -rf .venv
  "$PY" -m venv .venv || die "could not create .venv with $PY: install python3-venv"
fi
PYPROJECT_HASH=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ -f .venv/.dwmlir-stamp && $(cat .venv/.dwmlir-stamp) == "$PYPROJECT_HASH" ]] &&
   .venv/bin/python -c 'import mlir.ir, dwmlir' 2>/dev/null; then
  log "python venv: ok"
else
  log "pip install -e '.[dev,frontends]' into .venv"
  rm -f .venv/.dwmlir-stamp
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,frontends]' ||
    die "pip install failed (see above): check PyPI access and pyproject.toml"
  .venv/bin/python -c 'import mlir.ir' || die "mlir python bindings do not import after install"
  for f in lit filecheck; do [[ -x .venv/bin/$f ]] || die ".venv/bin/$f missing after install"; done
  echo "$PYPROJECT_HASH" >.venv/.dwmlir-stamp
fi

# ---- Instruction-count qemu plugin (dwmlir.bench.icount): host cc, rebuilt only when its source changes
bash "$ROOT/tools/build-qemu-plugin.sh" || die "could not build the qemu instruction-count plugin (see above)"

# ---- Cache model (dwmlir.bench.cache): QEMU 10 with plugins, from source, once; then its plugin
bash "$ROOT/tools/build-qemu-cache.sh" || die "could not build QEMU and the cache-model plugin (see above)"

# ---- Self-check: mlir-runner runs for aarch64 with SVE --------------------------------------------
if [[ $ARCH == aarch64 ]]; then
  runner=("$LLVM_BIN/mlir-runner")
else
  command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 not found: install qemu-user (or unset DWMLIR_SKIP_APT)"
  runner=(qemu-aarch64 -L "$SYSROOT"
          -E "LD_LIBRARY_PATH=$SYSROOT/usr/lib/llvm-22/lib:$SYSROOT/usr/lib/aarch64-linux-gnu"
          -cpu max,sve-default-vector-length=32 "$SYSROOT/usr/lib/llvm-22/bin/mlir-runner")
fi
version=$("${runner[@]}" --version 2>&1) || die "mlir-runner self-check failed: $version"
log "self-check (mlir-runner, aarch64): $(grep -m1 -i version <<<"$version" | sed 's/^ *//')"
log "done"
