"""The eleven ``linalg.depthwise_conv_*`` named ops, described by their layouts.

Every later stage (IR builder, reference, header, harness) reads the operand layouts from
here instead of special-casing op names, so a new op is one table row.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError

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

# Operand layouts a user can name with --layout; the first of each rank is the default.
LAYOUTS: tuple[str, ...] = ("nwc", "nhwc", "ndhwc", "ncw", "nchw", "ncdhw")


def infer_op(
    input_shape: tuple[int, ...],
    filter_shape: tuple[int, ...],
    layout: str | None = None,
    dtype: str = "f32",
    op: str | None = None,
) -> str:
    """The op that shapes, layout and element type imply, so users need not spell op names.

    The input rank gives the spatial rank (channels-last unless ``layout`` says otherwise); a
    filter with one dim more than the plain filter has a channel multiplier (``*m``); i8 with a
    channels-last 2-D layout is quantized (``*_q``). An explicit ``op`` wins, but must agree
    with ``layout``.
    """
    if layout is not None and layout not in LAYOUTS:
        raise UserError(f"unknown layout '{layout}': choose one of {', '.join(LAYOUTS)}")
    if op is not None:
        if layout is not None and op in OPS and OPS[op].input_layout != layout:
            raise UserError(
                f"--op {op} takes the '{OPS[op].input_layout}' layout, not --layout {layout}: "
                "drop one of the two"
            )
        return op
    if layout is None:
        layout = next((lay for lay in LAYOUTS if len(lay) == len(input_shape)), None)
        if layout is None:
            raise UserError(
                f"input shape {'x'.join(map(str, input_shape))} has rank {len(input_shape)}: a depthwise "
                "conv input has rank 3, 4 or 5 (batch, channels and 1 to 3 spatial dims)"
            )
    elif len(input_shape) != len(layout):
        raise UserError(
            f"input shape {'x'.join(map(str, input_shape))} has rank {len(input_shape)} but --layout "
            f"{layout} needs rank {len(layout)}"
        )
    spatial = len(layout) - 2
    multiplier = len(filter_shape) == spatial + 2
    if len(filter_shape) != spatial + 1 and not multiplier:
        raise UserError(
            f"filter shape {'x'.join(map(str, filter_shape))} has rank {len(filter_shape)} but a "
            f"{spatial}-D depthwise filter has rank {spatial + 1} ({spatial + 2} with a channel multiplier)"
        )
    # i8 is for the quantized ops; where there is none (1-D, 3-D, channels-first), the plain op's
    # validation says so.
    quantized = dtype == "i8" and any(i.quantized and i.input_layout == layout for i in OPS.values())
    candidates = [
        info
        for info in OPS.values()
        if (info.input_layout, info.multiplier, info.quantized) == (layout, multiplier, quantized)
    ]
    if not candidates:
        raise UserError(
            f"no depthwise op has a channel multiplier in layout {layout}: use a channels-last layout "
            f"({', '.join(lay for lay in LAYOUTS if lay.endswith('c'))}) or a rank-{spatial + 1} filter"
        )
    return candidates[0].name
