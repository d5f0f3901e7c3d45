"""The standard benchmark set: real layer shapes, each as a valid-padding conv.

Every kernel is run with valid padding on the padded input (SAME layers included): that keeps
one C ABI for dwmlir and the baselines (the baselines take valid padding only), the same output
shape and the same inner work; only the border taps that SAME padding skips are computed
(on zeros). Instructions per output element is the number that matters, so layers whose qemu
run would be slow are run on a smaller spatial size, and the report says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UserError
from ..spec import ConvSpec

OP_1D, OP_2D, OP_3D = (
    "depthwise_conv_1d_nwc_wc",
    "depthwise_conv_2d_nhwc_hwc",
    "depthwise_conv_3d_ndhwc_dhwc",
)
# MobileNetV2 at 224x224: the depthwise layers' input H=W, channels and stride (3x3, SAME).
MOBILENET_V2 = (
    (112, 32, 1),
    (112, 96, 2),
    (56, 144, 1),
    (56, 144, 2),
    (28, 192, 1),
    (28, 192, 2),
    (14, 384, 1),
    (14, 576, 1),
    (14, 576, 2),
    (7, 960, 1),
)
# Above this many output elements a layer is run on a smaller spatial size, to bound qemu time.
# None of today's layers reaches it: the largest (112x112x32, 401k outputs) counts in 0.4 s.
MAX_OUTPUTS = 1_000_000


@dataclass(frozen=True)
class BenchKernel:
    spec: ConvSpec
    family: str  # "2d-3x3", "1d-k7", "1d-k31", "3d-3x3x3"
    layer: str  # the layer it stands for
    note: str = ""  # how the run differs from the layer, if it does

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def outputs(self) -> int:
        n = 1
        for d in self.spec.output_shape:
            n *= d
        return n


def _mobilenet(size: int, channels: int, stride: int) -> BenchKernel:
    name = f"mnv2_{size}x{size}x{channels}_s{stride}"
    layer = f"MobileNetV2 depthwise {size}x{size}x{channels} 3x3 stride {stride} SAME"
    same = ConvSpec(OP_2D, (1, size, size, channels), (3, 3, channels), (stride, stride), padding="same")
    out_h, out_w = same.out_spatial
    note = "valid on the SAME-padded input"
    while out_h * out_w * channels > MAX_OUTPUTS:
        out_h, out_w = out_h // 2, out_w // 2
        note = f"run at {out_h}x{out_w} outputs of {same.out_spatial[0]}x{same.out_spatial[1]}, valid"
    in_h, in_w = ((o - 1) * stride + 3 for o in (out_h, out_w))
    spec = ConvSpec(OP_2D, (1, in_h, in_w, channels), (3, 3, channels), (stride, stride), name=name)
    return BenchKernel(spec, "2d-3x3", layer, note)


def _conv1d(taps: int, channels: int, width: int = 128) -> BenchKernel:
    spec = ConvSpec(OP_1D, (1, width + taps - 1, channels), (taps, channels), name=f"c1d_k{taps}_c{channels}")
    return BenchKernel(spec, f"1d-k{taps}", f"1-D depthwise K={taps}, C={channels}, {width} outputs")


def _conv2d_s2(size: int, channels: int) -> BenchKernel:
    """A 2-D 3x3 stride-2 valid conv on a size x size input (issue 12's stride-2 figure)."""
    name = f"c2d_{size}x{size}x{channels}_s2"
    spec = ConvSpec(OP_2D, (1, size, size, channels), (3, 3, channels), (2, 2), name=name)
    return BenchKernel(spec, "2d-3x3", f"2-D depthwise 3x3 stride 2, input {size}x{size}x{channels}, valid")


def _conv3d(channels: int, out: int = 8) -> BenchKernel:
    size = out + 2
    name = f"c3d_3x3x3_c{channels}" if out == 8 else f"c3d_3x3x3_{size}x{size}x{size}x{channels}"
    spec = ConvSpec(OP_3D, (1, size, size, size, channels), (3, 3, 3, channels), name=name)
    return BenchKernel(spec, "3d-3x3x3", f"3-D depthwise 3x3x3, C={channels}, {out}x{out}x{out} outputs")


def full_set() -> list[BenchKernel]:
    return [
        *(_mobilenet(*layer) for layer in MOBILENET_V2),
        _conv2d_s2(57, 32),
        *(_conv1d(7, c) for c in (64, 256, 768)),
        *(_conv1d(31, c) for c in (64, 256, 768)),
        *(_conv3d(c) for c in (32, 64, 128, 256)),
        _conv3d(64, out=16),
    ]


def quick_set() -> list[BenchKernel]:
    """Small kernels, one per ACLE baseline kind; C=48 puts a channel tail at 1024/2048 bits."""
    return [
        BenchKernel(
            ConvSpec(OP_1D, (1, 70, 64), (7, 64), name="q_1d_k7_c64"), "1d-k7", "1-D K=7, C=64, 64 outputs"
        ),
        BenchKernel(
            ConvSpec(OP_2D, (1, 10, 10, 32), (3, 3, 32), name="q_2d_s1_c32"),
            "2d-3x3",
            "2-D 3x3 stride 1, 8x8x32 outputs",
        ),
        BenchKernel(
            ConvSpec(OP_2D, (1, 17, 17, 48), (3, 3, 48), (2, 2), name="q_2d_s2_c48"),
            "2d-3x3",
            "2-D 3x3 stride 2, 8x8x48 outputs",
        ),
        BenchKernel(
            ConvSpec(OP_3D, (1, 6, 6, 6, 32), (3, 3, 3, 32), name="q_3d_c32"),
            "3d-3x3x3",
            "3-D 3x3x3, 4x4x4x32 outputs",
        ),
    ]


def select(names: Sequence[str] | None, quick: bool) -> list[BenchKernel]:
    """The quick or full set, or the named kernels from either (in the order given)."""
    if not names:
        return quick_set() if quick else full_set()
    known = {k.name: k for k in (*quick_set(), *full_set())}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(f"unknown benchmark kernel '{unknown[0]}': see 'dwmlir bench --list' for the names")
    return [known[n] for n in dict.fromkeys(names)]
