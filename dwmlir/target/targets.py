"""Code-generation targets: triple, CPU features and the vector-length assumption."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True)
class Target:
    """Where the kernel runs. ``scalable`` targets get ``vector<[N]x...>`` channel vectors."""

    name: str
    triple: str
    mattr: str
    scalable: bool
    vector_bits: int  # minimum (scalable) or exact vector register width in bits
    vscale_range: tuple[int, int] | None  # LLVM vscale_range: (min, max) multiples of 128 bits
    description: str

    def lanes(self, element_bits: int) -> int:
        """Channel lanes per vector at the minimum vector length (times vscale if scalable)."""
        return self.vector_bits // element_bits

    @property
    def vl_assumption(self) -> str:
        if self.scalable and self.vscale_range:
            lo, hi = self.vscale_range
            return f"vector-length agnostic: any SVE vector length from {128 * lo} to {128 * hi} bits"
        return f"fixed {self.vector_bits}-bit vectors"


TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        Target(
            name="aarch64-sve",
            triple="aarch64-unknown-linux-gnu",
            mattr="+sve",
            scalable=True,
            vector_bits=128,
            vscale_range=(1, 16),
            description="AArch64 with SVE, vector-length agnostic (128 to 2048 bits)",
        ),
    ]
}
DEFAULT_TARGET = "aarch64-sve"


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise UserError(f"unknown target '{name}': choose one of {', '.join(TARGETS)}") from None
