# CMake toolchain file: cross-compile for aarch64 Linux with Debian's aarch64-linux-gnu-gcc
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross) and run what you build under qemu-aarch64 with a
# chosen SVE vector length (CMAKE_CROSSCOMPILING_EMULATOR: ctest, add_custom_command).
#
#   cmake -G Ninja -DCMAKE_TOOLCHAIN_FILE=$(dwmlir --cmake-dir)/aarch64-linux-gnu.cmake \
#         -DDWMLIR_SVE_VECTOR_BITS=512 ...
#
# Cache variables:
#   DWMLIR_SVE_VECTOR_BITS  128..2048, a multiple of 128 (default 256): qemu's
#                           -cpu max,sve-default-vector-length=<bits/8>
#   DWMLIR_QEMU_AARCH64     the emulator (default: qemu-aarch64 on PATH); not used on aarch64 hosts
#   DWMLIR_CROSS_ROOT       the target's libc (default /usr/aarch64-linux-gnu): qemu's -L and
#                           CMAKE_FIND_ROOT_PATH

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

# -DCMAKE_C_COMPILER=... (and CXX, ASM) on the command line win.
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
endif()
if(NOT CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)  # g++-aarch64-linux-gnu, for C++ projects
endif()
if(NOT CMAKE_ASM_COMPILER)
  set(CMAKE_ASM_COMPILER "${CMAKE_C_COMPILER}")
endif()

set(DWMLIR_CROSS_ROOT "/usr/aarch64-linux-gnu" CACHE PATH "aarch64 libc root (qemu -L, CMAKE_FIND_ROOT_PATH)")
set(CMAKE_FIND_ROOT_PATH "${DWMLIR_CROSS_ROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # build tools run on the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)    # dwmlir's own package is a host one

set(DWMLIR_SVE_VECTOR_BITS 256 CACHE STRING "SVE vector length qemu-aarch64 emulates, in bits (128..2048)")
if(NOT DWMLIR_SVE_VECTOR_BITS MATCHES "^[0-9]+$" OR DWMLIR_SVE_VECTOR_BITS LESS 128
   OR DWMLIR_SVE_VECTOR_BITS GREATER 2048)
  message(FATAL_ERROR "DWMLIR_SVE_VECTOR_BITS=${DWMLIR_SVE_VECTOR_BITS}: give a multiple of 128 from 128 to 2048")
endif()
math(EXPR _dwmlir_vl_rem "${DWMLIR_SVE_VECTOR_BITS} % 128")
if(NOT _dwmlir_vl_rem EQUAL 0)
  message(FATAL_ERROR "DWMLIR_SVE_VECTOR_BITS=${DWMLIR_SVE_VECTOR_BITS}: give a multiple of 128 from 128 to 2048")
endif()
math(EXPR _dwmlir_vl_bytes "${DWMLIR_SVE_VECTOR_BITS} / 8")

if(NOT CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  find_program(DWMLIR_QEMU_AARCH64 qemu-aarch64 DOC "Emulator for the aarch64 programs this build runs")
  if(NOT DWMLIR_QEMU_AARCH64)
    message(FATAL_ERROR "qemu-aarch64 not found: install qemu-user (Debian) or set -DDWMLIR_QEMU_AARCH64=/path/to/qemu-aarch64")
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR
      "${DWMLIR_QEMU_AARCH64};-cpu;max,sve-default-vector-length=${_dwmlir_vl_bytes};-L;${DWMLIR_CROSS_ROOT}")
endif()
unset(_dwmlir_vl_rem)
unset(_dwmlir_vl_bytes)
