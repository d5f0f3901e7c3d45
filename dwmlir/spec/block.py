"""``BlockSpec``: a depthwise layer and the parts fused after it, validated in one place.

A block is a small chain of layers, not a conv with flags: the depthwise conv (a
``ConvSpec``), then an epilogue on its accumulators (bias, activation, int8
requantization). The IR builder, the rewrites, the header, the C driver and the reference
all read the chain and the C ABI (``BlockSpec.args``) from here.

The chain, in data-flow order: an optional 1x1 ``Expand`` (CIN block-input channels to the
conv's C, with its bias and activation), the depthwise conv (a ``ConvSpec``, whose input is
the expanded tensor), its ``Epilogue``, an optional 1x1 ``Pointwise`` with its own
epilogue, and last the residual add of the block's input (``BlockSpec.residual``).
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field

from ..errors import UserError
from .conv import DTYPES, MAX_ELEMENTS, ConvSpec, _int_tuple, parse_shape
from .ops import OPS

ACTIVATIONS: tuple[str, ...] = ("none", "relu", "relu6", "clamp:LO:HI", "silu", "hardswish")
INT8_MIN, INT8_MAX = -128, 127
FLOAT_DTYPES: tuple[str, ...] = ("f32", "f16", "bf16")  # the float element types every part takes
# Said where the block is validated and where the options build it (an explicit zero point 0).
_PW_INT8_ONLY = "--pointwise-output-zp and --pointwise-output-scale apply to int8 blocks (*_q ops)"


@dataclass(frozen=True)
class Activation:
    """``none``, ``relu``, ``relu6``, ``clamp`` (with ``lo``/``hi``), ``silu`` or ``hardswish``."""

    kind: str = "none"
    lo: float = 0.0
    hi: float = 0.0

    @staticmethod
    def parse(text: str) -> Activation:
        text = text.strip()
        if text in ("none", "relu", "relu6", "silu", "hardswish"):
            return Activation(text)
        m = re.fullmatch(r"clamp:([^:]+):([^:]+)", text)
        if m:
            try:
                lo, hi = float(m.group(1)), float(m.group(2))
            except ValueError:
                lo = hi = math.nan
            if math.isfinite(lo) and math.isfinite(hi) and lo <= hi:
                return Activation("clamp", lo, hi)
            raise UserError(f"bad activation '{text}': clamp:LO:HI needs finite numbers with LO <= HI")
        raise UserError(f"unknown activation '{text}': choose one of {', '.join(ACTIVATIONS)}")

    def __str__(self) -> str:
        return f"clamp:{self.lo:g}:{self.hi:g}" if self.kind == "clamp" else self.kind


def relu6_bound(scale: float) -> int:
    """6.0 in the int8 steps of ``scale``, as TFLite's ``CalculateActivationRangeQuantized``
    places it: the float32 quotient rounded half away from zero (``std::round``), not to
    even (6 / 2.4 is 2.5 in float32: 3 steps, not 2)."""
    q = _f32(6.0 / _f32(scale))  # a quotient of float32s rounded once to float32
    return int(math.copysign(math.floor(abs(q) + 0.5), q))


def _f32(x: float) -> float:
    """``x`` rounded to float32 (beyond its range: infinity)."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


@dataclass(frozen=True)
class Epilogue:
    """What happens to each accumulator before it is stored, in this order.

    ``bias``: add a per-output-channel bias. ``activation``: a float activation, or for a
    requantized output the matching int8 clamp. ``requantize``: int32 accumulator times a
    per-channel float32 scale, rounded to nearest-even, plus ``output_zp``, saturated to
    int8 (TFLite/XNNPACK "fp32" requantization). ``output_scale`` is needed only to place
    int8 ``relu6``'s upper bound (``relu6_bound``: zp + round(6 / output_scale), as TFLite
    rounds it).
    """

    bias: bool = False
    activation: Activation = field(default_factory=Activation)
    requantize: bool = False
    output_zp: int = 0
    output_scale: float | None = None

    @property
    def empty(self) -> bool:
        return not (self.bias or self.requantize or self.activation.kind != "none")

    def int8_bounds(self) -> tuple[int, int]:
        """The int8 output range the activation leaves after requantization."""
        act, zp = self.activation, self.output_zp
        if act.kind == "relu":
            return max(INT8_MIN, zp), INT8_MAX
        if act.kind == "relu6":
            assert self.output_scale is not None
            return max(INT8_MIN, zp), min(INT8_MAX, zp + relu6_bound(self.output_scale))
        if act.kind == "clamp":
            return int(act.lo), int(act.hi)
        return INT8_MIN, INT8_MAX

    def describe(self) -> str:
        parts = ["bias"] if self.bias else []
        if self.activation.kind != "none":
            parts.append(str(self.activation))
        if self.requantize:
            parts.append(f"requantize to i8 (output zero point {self.output_zp})")
        return ", ".join(parts)


@dataclass(frozen=True)
class Pointwise:
    """A 1x1 conv after the depthwise layer: C*M channels to ``cout``, with its own bias and
    activation (an ``Epilogue``; int8 blocks requantize again)."""

    cout: int
    epilogue: Epilogue = field(default_factory=Epilogue)

    def describe(self) -> str:
        parts = [f"pointwise {self.cout}"]
        if not self.epilogue.empty:
            parts.append(self.epilogue.describe())
        return ", ".join(parts)


@dataclass(frozen=True)
class Expand:
    """A 1x1 conv before the depthwise layer (the inverted residual's expansion): ``cin``
    block-input channels to the conv's C, then its own bias and activation (an ``Epilogue``
    without requantization). Padding pads the expanded tensor with zeros."""

    cin: int
    epilogue: Epilogue = field(default_factory=Epilogue)

    def describe(self) -> str:
        parts = [f"expand {self.cin}"]
        if not self.epilogue.empty:
            parts.append(self.epilogue.describe())
        return ", ".join(parts)


@dataclass(frozen=True)
class KernelArg:
    """One argument of the C ABI: a buffer (``shape``) or an ``int32_t`` scalar (``shape=None``)."""

    name: str
    dtype: str
    shape: tuple[int, ...] | None
    layout: str = ""
    doc: str = ""
    dynamic: str = ""  # letters of ``layout`` whose size is given at run time

    @property
    def is_size(self) -> bool:
        """A run-time size (``int64_t``), after the pointers."""
        return self.dtype == "i64"

    @property
    def c_type(self) -> str:
        return DTYPES[self.dtype][0]

    @property
    def is_buffer(self) -> bool:
        return self.shape is not None

    @property
    def np_dtype(self) -> str:
        return DTYPES[self.dtype][1]

    @property
    def bytes(self) -> int:
        assert self.shape is not None
        return math.prod(self.shape) * DTYPES[self.dtype][2] // 8


@dataclass(frozen=True)
class BlockSpec:
    """A depthwise conv and the layers fused around it: expand before, epilogue and
    pointwise after."""

    conv: ConvSpec
    epilogue: Epilogue = field(default_factory=Epilogue)
    pointwise: Pointwise | None = None
    expand: Expand | None = None
    # The chain's last link: the block's input added to its output, after the pointwise
    # conv's epilogue, or after the depthwise layer's in a block without one.
    residual: bool = False

    def __post_init__(self) -> None:
        if self.expand is not None:
            self._validate_expand(self.expand)
        self._validate()
        if self.pointwise is not None:
            self._validate_pointwise(self.pointwise)  # the residual's kind among its checks
        elif self.residual:
            self._validate_residual_kind()
        if self.residual:
            self._validate_residual_shapes()

    @property
    def in_channels(self) -> int:
        """Channels of the block's input: CIN with an expand stage, else the conv's C."""
        return self.expand.cin if self.expand is not None else self.conv.channels

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of the block's input (the conv's, with CIN channels after an expand stage)."""
        conv = self.conv
        if self.expand is None:
            return conv.input_shape
        shape = list(conv.input_shape)
        shape[conv.info.input_layout.index("c")] = self.expand.cin
        return tuple(shape)

    @property
    def name(self) -> str:
        return self.conv.name

    @property
    def adds_input_to_depthwise(self) -> bool:
        """Whether the residual is added to the depthwise layer's result (no pointwise conv
        after it); else, if any, to the pointwise conv's."""
        return self.residual and self.pointwise is None

    @property
    def out_channels(self) -> int:
        """Output channels of the depthwise layer (C * M)."""
        return self.conv.channels * self.conv.multiplier

    @property
    def dw_dtype(self) -> str:
        """Element type of the depthwise layer's result (after its epilogue). Before a bf16
        block's pointwise conv it stays in its f32 accumulators: only the block's output is
        rounded to ``--out-dtype bf16``."""
        if self.epilogue.requantize:
            return "i8"
        if self.pointwise is not None:
            return self.conv.acc_dtype
        return self.conv.out_dtype

    @property
    def out_dtype(self) -> str:
        return "i8" if self.epilogue.requantize else self.conv.out_dtype

    @property
    def dw_shape(self) -> tuple[int, ...]:
        """Shape of the depthwise layer's output (before a pointwise conv)."""
        return self.conv.output_shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        if self.pointwise is None:
            return self.conv.output_shape
        conv, cout = self.conv, self.pointwise.cout  # the multiplier folds into COUT
        if conv.info.channels_last:
            return (conv.batch, *conv.out_spatial, cout)
        return (conv.batch, cout, *conv.out_spatial)

    @property
    def output_layout(self) -> str:
        return self.conv.info.input_layout if self.pointwise else self.conv.info.output_layout

    @property
    def out_np_dtype(self) -> str:
        return DTYPES[self.out_dtype][1]

    @property
    def out_bits(self) -> int:
        return DTYPES[self.out_dtype][2]

    @property
    def out_c_type(self) -> str:
        return DTYPES[self.out_dtype][0]

    @property
    def bias_dtype(self) -> str:
        return self.conv.acc_dtype  # i32 for quantized ops, f32 for bf16, else the op's type

    @property
    def args(self) -> tuple[KernelArg, ...]:
        """The C ABI in order: ``(input, [expand_filter, [expand_bias,]] filter, [input_zp,
        filter_zp,] [bias,] [requant_scale,] [pw_filter, [pw_bias,] [pw_requant_scale,]] output)``."""
        conv, epi, info = self.conv, self.epilogue, self.conv.info
        dyn = "".join(conv.dynamic)
        out: list[KernelArg] = [
            KernelArg("input", conv.dtype, self.input_shape, info.input_layout, dynamic=dyn)
        ]
        ex = self.expand
        if ex is not None:
            out.append(
                KernelArg(
                    "expand_filter",
                    conv.dtype,
                    (ex.cin, conv.channels),
                    "[CIN][C]",
                    "row-major, C contiguous",
                )
            )
            if ex.epilogue.bias:
                out.append(KernelArg("expand_bias", conv.acc_dtype, (conv.channels,), "c", "one per channel"))
        out.append(KernelArg("filter", conv.dtype, conv.filter_shape, info.filter_layout))
        if info.quantized:
            out += [KernelArg("input_zp", "i32", None), KernelArg("filter_zp", "i32", None)]
        channel = "c*M+m, one per output channel" if info.multiplier else "one per channel"
        if epi.bias:
            out.append(KernelArg("bias", self.bias_dtype, (self.out_channels,), "c", channel))
        if epi.requantize:
            out.append(KernelArg("requant_scale", "f32", (self.out_channels,), "c", channel))
        pw = self.pointwise
        if pw is not None:
            # The TF convention for channels-last ops, PyTorch's for channels-first ones.
            if info.channels_last:
                shape, layout, doc = (self.out_channels, pw.cout), "[C*M][COUT]", "row-major, COUT contiguous"
            else:
                shape, layout, doc = (pw.cout, self.out_channels), "[COUT][C]", "row-major, C contiguous"
            out.append(KernelArg("pw_filter", conv.dtype, shape, layout, doc))
            if pw.epilogue.bias:
                out.append(KernelArg("pw_bias", conv.acc_dtype, (pw.cout,), "c", "one per output channel"))
            if pw.epilogue.requantize:
                out.append(KernelArg("pw_requant_scale", "f32", (pw.cout,), "c", "one per output channel"))
        out.append(KernelArg("output", self.out_dtype, self.output_shape, self.output_layout, dynamic=dyn))
        # One int64_t per run-time size, after the pointers, in the input's dim order.
        out += [KernelArg(letter, "i64", None, doc="run-time size") for letter in conv.dynamic]
        return tuple(out)

    @property
    def buffers(self) -> tuple[KernelArg, ...]:
        return tuple(a for a in self.args if a.is_buffer)

    @property
    def has_part(self) -> bool:
        """Whether the kernel also gets ``NAME_part(..., part, parts)``, one share of its work
        for a thread: a run of output channels, or of pixel tiles after a pointwise stage
        (which needs every channel of a pixel). An expand stage carries its window from tile
        to tile, so those blocks have none."""
        return self.expand is None

    @property
    def inputs(self) -> tuple[KernelArg, ...]:
        """The buffers the kernel reads: input, filter, then the block's own in ABI order.

        This is the order operands are passed around in Python (``run``, ``reference``); the
        C call order is ``args`` (an expand stage's weights come before the filter there).
        """
        read = self.buffers[:-1]
        first = [a for a in read if a.name in ("input", "filter")]
        return (*first, *(a for a in read if a.name not in ("input", "filter")))

    def named_params(self, params) -> dict:
        """The block's own buffers (expand and pointwise weights, biases, scales) by name, from
        ``params`` given in ABI order after input and filter."""
        return dict(zip([a.name for a in self.inputs[2:]], params, strict=True))

    @property
    def after_depthwise(self) -> list[str]:
        """What follows the depthwise epilogue, as descriptions say it: the pointwise conv
        (``pointwise 8, bias, residual``), or a residual alone (``residual``)."""
        if self.pointwise is not None:
            return [self.pointwise.describe() + (", residual" if self.residual else "")]
        return ["residual"] if self.residual else []

    def describe(self) -> str:
        parts = [p for p in (self.epilogue.describe(),) if p] + self.after_depthwise
        text = self.conv.describe() + (f" then {'; '.join(parts)}" if parts else "")
        return f"{self.expand.describe()} then {text}" if self.expand is not None else text

    # -- validation ----------------------------------------------------------------------------
    def _validate(self) -> None:
        conv, epi = self.conv, self.epilogue
        if conv.is_dynamic and (self.pointwise is not None or self.expand is not None):
            what, flag = (
                ("pointwise", "--pointwise") if self.pointwise is not None else ("expand", "--expand")
            )
            raise UserError(
                f"a fused {what} conv with run-time sizes ({','.join(conv.dynamic)}) is not supported "
                f"yet: give static sizes, or drop {flag} and run the 1x1 conv separately"
            )
        q = conv.info.quantized
        act = epi.activation
        if epi.requantize and not q:
            raise UserError(
                f"--requantize applies to the quantized ops (*_q) only: {conv.op} has a "
                f"{conv.out_dtype} output, not an int32 accumulator"
            )
        if not epi.requantize and (epi.output_zp or epi.output_scale is not None):
            raise UserError("--output-zp and --output-scale apply only with --requantize")
        if not -128 <= epi.output_zp <= 127:
            raise UserError(f"output zero point {epi.output_zp} is outside the i8 range -128..127")
        if epi.output_scale is not None and act.kind != "relu6":
            raise UserError(
                "--output-scale places int8 relu6's upper bound and nothing else: drop it, or use "
                f"--activation relu6 (the activation is {act})"
            )
        if act.kind == "none":
            return
        if q and not epi.requantize:
            raise UserError(
                f"--activation {act} on {conv.op} needs --requantize: the activation of a quantized "
                "op is applied as the int8 output clamp"
            )
        if not q and conv.dtype not in FLOAT_DTYPES:
            raise UserError(f"--activation applies to float ops (f32, f16, bf16), not to {conv.dtype}")
        if epi.requantize:
            self._validate_int8_activation()

    def _validate_int8_activation(self) -> None:
        epi, act = self.epilogue, self.epilogue.activation
        if act.kind in ("silu", "hardswish"):
            raise UserError(
                f"--activation {act} has no int8 form: with --requantize use relu, relu6 or clamp:LO:HI"
            )
        if act.kind == "relu6":
            scale = epi.output_scale
            if scale is None or not math.isfinite(scale) or scale <= 0:
                raise UserError(
                    "int8 relu6 needs the output's scale to place 6.0: add --output-scale S (S > 0), "
                    "or give the int8 bounds with --activation clamp:LO:HI"
                )
        if act.kind == "clamp" and not (
            act.lo == int(act.lo) and act.hi == int(act.hi) and INT8_MIN <= act.lo <= act.hi <= INT8_MAX
        ):
            raise UserError(
                f"--activation {act} with --requantize gives int8 output bounds: use integers "
                "-128 <= LO <= HI <= 127"
            )

    def _validate_expand(self, ex: Expand) -> None:
        conv = self.conv
        info = conv.info
        if not info.channels_last:
            raise UserError(
                f"--expand applies to channels-last ops: {conv.op} is channels-first (expand weights "
                "[CIN][C] read channels-last pixels); use the matching channels-last op"
            )
        if info.quantized or conv.dtype not in FLOAT_DTYPES:
            raise UserError(_expand_not_float(conv.op, conv.dtype))
        if ex.cin < 1:
            raise UserError(f"--expand needs a positive number of input channels, got {ex.cin}")
        if ex.epilogue.requantize or ex.epilogue.output_zp or ex.epilogue.output_scale is not None:
            raise UserError("the expand conv of a float block does not requantize (no zero point or scale)")
        if math.prod(self.input_shape) > MAX_ELEMENTS or ex.cin * conv.channels > MAX_ELEMENTS:
            raise UserError("the expand filter or block input has more than 2^31-1 elements: split the layer")

    def _validate_pointwise(self, pw: Pointwise) -> None:
        conv = self.conv
        if pw.cout < 1:
            raise UserError(f"--pointwise needs a positive number of output channels, got {pw.cout}")
        q = conv.info.quantized
        if conv.dtype not in FLOAT_DTYPES and not q:
            raise UserError(
                f"--pointwise applies to float ops (f32, f16, bf16) and int8 *_q ops, not to {conv.dtype}"
            )
        if q and not (self.epilogue.requantize and pw.epilogue.requantize):
            raise UserError(
                "--pointwise after a *_q op multiplies int8 by int8: it needs --requantize (its scales "
                "are 'pw_requant_scale', one per output channel)"
            )
        if not q and pw.epilogue.requantize:
            raise UserError("the pointwise conv of a float block does not requantize")
        if not q and (pw.epilogue.output_zp or pw.epilogue.output_scale is not None):
            raise UserError(_PW_INT8_ONLY)
        if q and pw.epilogue.output_scale is not None and pw.epilogue.activation.kind != "relu6":
            raise UserError(
                "--pointwise-output-scale places the int8 pointwise relu6's upper bound and nothing "
                f"else: drop it, or use --pointwise-activation relu6 (it is {pw.epilogue.activation})"
            )
        if q:
            BlockSpec(conv, pw.epilogue)  # its int8 activation and zero point, checked as the depthwise one's
        if self.residual:  # before the sizes: an int8 residual is the more basic problem
            self._validate_residual_kind()
        if self.out_channels * pw.cout > MAX_ELEMENTS or math.prod(self.output_shape) > MAX_ELEMENTS:
            raise UserError("the pointwise filter or output has more than 2^31-1 elements: split the layer")

    def _validate_residual_kind(self) -> None:
        """The block's input added to its output: a float block. After a pointwise conv the
        pixels of either layout line up; without one, the depthwise code adds the input on
        channels-last ops with static sizes."""
        conv = self.conv
        if self.pointwise is not None:
            if conv.info.quantized:
                raise UserError(
                    "--residual applies to float blocks (int8 needs a requantized add), not to *_q ops"
                )
            return
        if conv.dtype not in FLOAT_DTYPES or not conv.info.channels_last:
            raise UserError(
                "--residual without --pointwise applies to channels-last float ops (f32, f16, bf16), not to "
                f"{conv.op} {conv.dtype} (after --pointwise COUT it applies to every float op)"
            )
        if conv.is_dynamic:
            raise UserError(
                f"a fused residual with run-time sizes ({','.join(conv.dynamic)}) is not supported yet: "
                "give static sizes, or drop --residual and add the input to the output yourself"
            )

    def _validate_residual_shapes(self) -> None:
        """The block's output has its input's pixels and channels (COUT after a pointwise
        conv, else C*M)."""
        conv, pw = self.conv, self.pointwise
        if pw is not None:
            out_channels, need = pw.cout, f"--pointwise {self.in_channels}"
        else:
            out_channels, need = self.out_channels, f"C*M = {self.in_channels} output channels"
        if (
            conv.in_spatial != conv.out_spatial
            or out_channels != self.in_channels
            or conv.batch != self.output_shape[0]
        ):
            raise UserError(
                "--residual adds the block's input to its output, so the shapes must match: stride 1, "
                f"'same' padding and {need} (got input "
                f"{'x'.join(map(str, self.input_shape))}, output {'x'.join(map(str, self.output_shape))})"
            )


def _expand_not_float(op: str, dtype: str) -> str:
    """The refusal of ``--expand`` on ``op``: why it does not apply, and what to do."""
    q = OPS[op].quantized
    why = "int8 expansion needs its own requantization" if q else "it is built for f32, f16 and bf16"
    fix = "run the 1x1 conv separately"
    return f"--expand applies to float ops (f32, f16, bf16), not to {op} {dtype}: {why}; {fix}"


def expand_conv_input(op: str, input_shape: object, filter_shape: object, cin: int | None) -> object:
    """The depthwise conv's input shape when ``--input`` gives the block's input: with an
    expand stage (``cin``), the same pixels with the filter's C channels."""
    if cin is None or op not in OPS:
        return input_shape  # ConvSpec reports an unknown op
    info = OPS[op]
    if info.quantized:  # before its channels: the expand stage does not apply at all
        raise UserError(_expand_not_float(op, "i8"))
    if not info.channels_last:
        raise UserError(
            f"--expand applies to channels-last ops: {op} is channels-first (expand weights "
            "[CIN][C] read channels-last pixels); use the matching channels-last op"
        )
    x = _int_tuple(input_shape, "input shape", None, lambda t, _: parse_shape(t, "input"))
    f = _int_tuple(filter_shape, "filter shape", None, lambda t, _: parse_shape(t, "filter"))
    if len(x) != len(info.input_layout) or len(f) != len(info.filter_layout):
        return x  # ConvSpec names the rank mismatch
    got = x[info.input_layout.index("c")]
    if got != cin:
        raise UserError(
            f"--expand {cin} but the input has {got} channels: with --expand, --input gives the block's "
            f"input (CIN = {got}) and --filter the depthwise conv's C channels"
        )
    shape = list(x)
    shape[info.input_layout.index("c")] = f[info.filter_layout.index("c")]
    return tuple(shape)


def block_from_options(
    conv: ConvSpec,
    bias: bool = False,
    activation: str = "none",
    requantize: bool = False,
    output_zp: int | None = None,
    output_scale: float | None = None,
    pointwise: int | None = None,
    pointwise_bias: bool = False,
    pointwise_activation: str = "none",
    residual: bool = False,
    pointwise_output_zp: int | None = None,
    pointwise_output_scale: float | None = None,
    expand: int | None = None,
    expand_bias: bool = False,
    expand_activation: str = "none",
) -> BlockSpec:
    """A block from the CLI's flags or a batch config's keys (one parser for both).

    With ``expand``, ``conv`` is the depthwise layer (C channels): build its input shape
    with ``expand_conv_input``."""
    epi = Epilogue(
        bias=bias,
        activation=Activation.parse(activation),
        requantize=requantize,
        output_zp=0 if output_zp is None else output_zp,
        output_scale=output_scale,
    )
    if output_zp is not None and not requantize:
        raise UserError("--output-zp and --output-scale apply only with --requantize")
    pw = None
    if pointwise is not None:
        # After a requantized (int8) depthwise layer the 1x1 conv is int8 too and requantizes
        # again, by default to the same output zero point.
        q = requantize and conv.info.quantized
        if not q and (pointwise_output_zp is not None or pointwise_output_scale is not None):
            raise UserError(_PW_INT8_ONLY)
        pw_epi = Epilogue(
            bias=pointwise_bias,
            activation=Activation.parse(pointwise_activation),
            requantize=q,
            output_zp=(epi.output_zp if pointwise_output_zp is None else pointwise_output_zp) if q else 0,
            output_scale=pointwise_output_scale,
        )
        pw = Pointwise(pointwise, pw_epi)
    elif (
        pointwise_bias
        or pointwise_activation != "none"
        or pointwise_output_zp is not None
        or pointwise_output_scale is not None
    ):
        given = [
            f
            for f, on in (
                ("--pointwise-bias", pointwise_bias),
                ("--pointwise-activation", pointwise_activation != "none"),
                ("--pointwise-output-zp", pointwise_output_zp is not None),
                ("--pointwise-output-scale", pointwise_output_scale is not None),
            )
            if on
        ]
        raise UserError(f"{' and '.join(given)} need{'s' if len(given) == 1 else ''} --pointwise COUT")
    ex = None
    if expand is not None:
        ex = Expand(expand, Epilogue(bias=expand_bias, activation=Activation.parse(expand_activation)))
    elif expand_bias or expand_activation != "none":
        raise UserError("--expand-bias and --expand-activation need --expand CIN")
    return BlockSpec(conv, epi, pw, ex, residual=residual)


def as_block(spec: ConvSpec | BlockSpec) -> BlockSpec:
    """A bare conv is a block with nothing fused."""
    return spec if isinstance(spec, BlockSpec) else BlockSpec(spec)
