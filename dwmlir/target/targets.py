"""Code-generation targets: triple, CPU features and the vector-length assumption.

* ``aarch64-sve``: vector-length agnostic SVE (any VL from 128 to 2048 bits), the default.
* ``aarch64-sve-vls{128..2048}``: vector-length specific: LLVM is told the exact VL through
  ``vscale_range(n, n)`` and specializes the code; the kernel checks the VL on entry and
  aborts with a message on a CPU with another VL.
* ``aarch64-sve2``: as ``aarch64-sve`` with SVE2 instructions allowed.
* ``aarch64-neon``: fixed 128-bit Advanced SIMD vectors, for cores without SVE.
* ``host``: x86-64 with AVX2 and FMA (x86-64-v3), for fast checks on the build machine.
* ``host-avx512``: x86-64 with AVX-512 (x86-64-v4), 512-bit vectors, on a build machine that
  has them (the widest vectors the host's PyTorch uses there too).
"""

from __future__ import annotations

import dataclasses
import functools
import platform
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError


@dataclass(frozen=True)
class Target:
    """Where the kernel runs. ``scalable`` targets get ``vector<[N]x...>`` vectors."""

    name: str
    triple: str
    mattr: str
    scalable: bool
    vector_bits: int  # minimum (scalable) or exact vector register width in bits
    vscale_range: tuple[int, int] | None  # LLVM vscale_range: (min, max) multiples of 128 bits
    description: str
    arch: str = "aarch64"  # "aarch64" or "x86_64": how objects are linked and run
    default_cpu: str | None = None
    cpu_flags: tuple[str, ...] = ()  # what /proc/cpuinfo must list for a host (x86-64) target

    def lanes(self, element_bits: int) -> int:
        """Lanes per vector at the minimum vector length (times vscale if scalable)."""
        return self.vector_bits // element_bits

    @property
    def is_sve(self) -> bool:
        return self.scalable

    @property
    def fixed_vl_bits(self) -> int | None:
        """The one SVE vector length a vector-length-specific build runs at."""
        if self.scalable and self.vscale_range and self.vscale_range[0] == self.vscale_range[1]:
            return 128 * self.vscale_range[0]
        return None

    @property
    def vl_assumption(self) -> str:
        if self.fixed_vl_bits:
            return (
                f"vector-length specific: SVE vectors of exactly {self.fixed_vl_bits} bits "
                "(aborts with a message on another vector length)"
            )
        if self.scalable and self.vscale_range:
            lo, hi = self.vscale_range
            return f"vector-length agnostic: any SVE vector length from {128 * lo} to {128 * hi} bits"
        return f"fixed {self.vector_bits}-bit vectors"


# Every SVE vector length a kernel is built for, run at and checked at.
SVE_VECTOR_BITS: tuple[int, ...] = (128, 256, 512, 1024, 2048)


def _sve(name: str, mattr: str, vrange: tuple[int, int], description: str) -> Target:
    return Target(name, "aarch64-unknown-linux-gnu", mattr, True, 128, vrange, description)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        _sve("aarch64-sve", "+sve", (1, 16), "AArch64 with SVE, vector-length agnostic (128 to 2048 bits)"),
        *(
            _sve(
                f"aarch64-sve-vls{bits}",
                "+sve",
                (bits // 128, bits // 128),
                f"AArch64 SVE at exactly {bits} bits",
            )
            for bits in SVE_VECTOR_BITS
        ),
        _sve("aarch64-sve2", "+sve2", (1, 16), "AArch64 with SVE2, vector-length agnostic"),
        Target(
            name="aarch64-neon",
            triple="aarch64-unknown-linux-gnu",
            mattr="+neon",
            scalable=False,
            vector_bits=128,
            vscale_range=None,
            description="AArch64 Advanced SIMD (NEON), fixed 128-bit vectors, for cores without SVE",
        ),
        Target(
            name="host",
            triple="x86_64-unknown-linux-gnu",
            mattr="+avx2,+fma",
            scalable=False,
            vector_bits=256,
            vscale_range=None,
            description="x86-64 with AVX2 and FMA (x86-64-v3), the build machine",
            arch="x86_64",
            default_cpu="x86-64-v3",
            cpu_flags=("avx2", "fma"),
        ),
        Target(
            name="host-avx512",
            triple="x86_64-unknown-linux-gnu",
            mattr="+avx512f,+avx512vl,+avx512bw,+avx512dq,+avx2,+fma",
            scalable=False,
            vector_bits=512,
            vscale_range=None,
            description="x86-64 with AVX-512 (x86-64-v4), 512-bit vectors, the build machine",
            arch="x86_64",
            default_cpu="x86-64-v4",
            cpu_flags=("avx512f", "avx512vl", "avx512bw", "avx512dq", "avx2", "fma"),
        ),
    ]
}
DEFAULT_TARGET = "aarch64-sve"
BF16_FEATURE = "+bf16"


def for_dtype(target: Target, dtype: str) -> Target:
    """``target`` with the CPU features a kernel of element type ``dtype`` needs.

    bf16 kernels need BF16 (``+bf16``: Neoverse V1 and later, Graviton3, Grace), which
    only the SVE targets take on: the feature is added per kernel, so f32 kernels keep
    running on SVE cores without it (A64FX).
    """
    if dtype != "bf16":
        return target
    if not target.scalable:
        raise UserError(
            f"bf16 is built for the SVE targets only, not for {target.name}: use --target aarch64-sve "
            "(or aarch64-sve-vlsN, aarch64-sve2), or --dtype f32"
        )
    if BF16_FEATURE in target.mattr.split(","):
        return target
    return dataclasses.replace(target, mattr=f"{target.mattr},{BF16_FEATURE}")


def get_target(name: str) -> Target:
    try:
        target = TARGETS[name]
    except KeyError:
        raise UserError(f"unknown target '{name}': choose one of {', '.join(TARGETS)}") from None
    if target.arch == "x86_64" and platform.machine() not in ("x86_64", "AMD64"):
        raise UserError(
            f"target '{name}' is x86-64 but this machine is {platform.machine()}: use an aarch64 target"
        )
    if target.arch == "x86_64" and not _runs_here(target):
        other = " or ".join(f"--target {t}" for t in host_targets()) or "an aarch64 target"
        missing = [f for f in target.cpu_flags if f not in host_cpu_flags()]
        lacks = f"lacks {', '.join(missing)}" if host_cpu_flags() else "has unknown flags (no /proc/cpuinfo)"
        raise UserError(f"target '{name}' runs on this machine's CPU, which {lacks}: use {other}")
    return target


def _runs_here(target: Target) -> bool:
    """Whether this CPU has ``target``'s flags; where they are unknown, only ``host`` runs (as
    before the flags were checked)."""
    flags = host_cpu_flags()
    return set(target.cpu_flags) <= flags if flags else target.name == "host"


@functools.cache
def host_cpu_flags() -> frozenset[str]:
    """The CPU feature flags of this (Linux) machine, from /proc/cpuinfo; empty if unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def host_targets() -> list[str]:
    """The x86-64 targets this machine runs, widest vectors first (none off x86-64)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return []
    ok = [t for t in TARGETS.values() if t.arch == "x86_64" and _runs_here(t)]
    return [t.name for t in sorted(ok, key=lambda t: -t.vector_bits)]
