"""Native aarch64 execution: SVE found in the auxiliary vector, vector length set per process.

Linux lets a process choose its SVE vector length (``prctl(PR_SVE_SET_VL)``, any length the
hardware supports up to its maximum) and pass it on across ``exec``. So on an SVE machine a
kernel runs natively at each vector length the CPU offers; other lengths go to qemu.
``python -m dwmlir.toolchain.native BITS -- PROGRAM ARGS...`` is the launcher that does it.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

AT_NULL, AT_HWCAP = 0, 16
HWCAP_SVE = 1 << 22  # arch/arm64/include/uapi/asm/hwcap.h
PR_SVE_SET_VL, PR_SVE_GET_VL = 50, 51  # include/uapi/linux/prctl.h
PR_SVE_VL_LEN_MASK = 0xFFFF
PR_SVE_VL_INHERIT = 1 << 17


def parse_auxv(data: bytes) -> dict[int, int]:
    """``/proc/self/auxv`` as {type: value}: native-endian 64-bit pairs up to AT_NULL."""
    entries: dict[int, int] = {}
    for key, value in struct.iter_unpack("=QQ", data[: len(data) // 16 * 16]):
        if key == AT_NULL:
            break
        entries[key] = value
    return entries


def has_sve(auxv: bytes) -> bool:
    return bool(parse_auxv(auxv).get(AT_HWCAP, 0) & HWCAP_SVE)


@functools.cache
def host_has_sve() -> bool:
    """Whether this (aarch64) machine runs SVE code natively."""
    try:
        return has_sve(Path("/proc/self/auxv").read_bytes())
    except OSError:
        return False


def _prctl(option: int, arg: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0)
    if result < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result


def set_vector_bits(bits: int) -> None:
    """Make this process (and what it execs) use SVE vectors of exactly ``bits`` bits."""
    got = (_prctl(PR_SVE_SET_VL, bits // 8 | PR_SVE_VL_INHERIT) & PR_SVE_VL_LEN_MASK) * 8
    if got != bits:
        raise OSError(f"this CPU cannot run SVE at {bits} bits (the kernel offered {got})")


@functools.cache
def native_vector_bits() -> tuple[int, ...]:
    """The SVE vector lengths this CPU offers, probed in a child so ours stays unchanged."""
    if not host_has_sve():
        return ()
    # Imported here: the launcher below must start fast, and the target package loads MLIR.
    from ..target import SVE_VECTOR_BITS

    found = []
    for bits in SVE_VECTOR_BITS:
        pid = os.fork()
        if pid == 0:
            try:
                set_vector_bits(bits)
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            found.append(bits)
    return tuple(found)


def launcher(bits: int) -> list[str]:
    """Command prefix that runs an aarch64 program natively at ``bits``."""
    return [sys.executable, "-m", "dwmlir.toolchain.native", str(bits), "--"]


def main(argv: Sequence[str]) -> int:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        print("usage: python -m dwmlir.toolchain.native BITS -- PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    try:
        set_vector_bits(int(argv[0]))
    except OSError as exc:
        print(f"dwmlir: error: {exc}", file=sys.stderr)
        return 2
    os.execvp(argv[2], list(argv[2:]))
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
