"""The eleven ``linalg.depthwise_conv_*`` named ops, described by their layouts.

Every later stage (IR builder, reference, header, harness) reads the operand layouts from
here instead of special-casing op names, so a new op is one table row.
"""

from __future__ import annotations

from dataclasses import dataclass

SPATIAL_LETTERS = "dhw"


@dataclass(frozen=True)
class OpInfo:
    """Operand layouts of one depthwise op, spelled as in its name (``nwc``, ``wc``)."""

    name: str
    input_layout: str
    filter_layout: str
    output_layout: str

    @property
    def rank(self) -> int:
        """Number of spatial dimensions (1, 2 or 3)."""
        return sum(ch in SPATIAL_LETTERS for ch in self.input_layout)

    @property
    def spatial(self) -> str:
        return "".join(ch for ch in self.input_layout if ch in SPATIAL_LETTERS)

    @property
    def channels_last(self) -> bool:
        return self.input_layout.endswith("c")

    @property
    def multiplier(self) -> bool:
        return "m" in self.filter_layout

    @property
    def quantized(self) -> bool:
        return self.name.endswith("_q")

    @property
    def plain_channels_last(self) -> bool:
        """Channels-last without multiplier or quantization: ``nwc_wc``, ``nhwc_hwc``, ``ndhwc_dhwc``."""
        return self.channels_last and not self.multiplier and not self.quantized

    @property
    def mlir_name(self) -> str:
        return f"linalg.{self.name}"


def _op(name: str) -> OpInfo:
    parts = name.split("_")
    inp, flt = parts[3], parts[4]
    out = inp + ("m" if "m" in flt else "")
    return OpInfo(name=name, input_layout=inp, filter_layout=flt, output_layout=out)


OPS: dict[str, OpInfo] = {
    info.name: info
    for info in map(
        _op,
        [
            "depthwise_conv_1d_nwc_wc",
            "depthwise_conv_1d_ncw_cw",
            "depthwise_conv_1d_nwc_wcm",
            "depthwise_conv_2d_nhwc_hwc",
            "depthwise_conv_2d_nchw_chw",
            "depthwise_conv_2d_nhwc_hwcm",
            "depthwise_conv_2d_nhwc_hwc_q",
            "depthwise_conv_2d_nhwc_hwcm_q",
            "depthwise_conv_3d_ndhwc_dhwc",
            "depthwise_conv_3d_ncdhw_cdhw",
            "depthwise_conv_3d_ndhwc_dhwcm",
        ],
    )
}

# Ops whose whole flow (rewrite, schedule, tests) is implemented: all of them. Kept as its own
# name so that validation and the CLI's help have one place to ask.
SUPPORTED_OPS: tuple[str, ...] = tuple(OPS)
