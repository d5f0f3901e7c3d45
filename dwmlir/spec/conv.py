"""``ConvSpec``: one depthwise convolution, validated once, read by every stage."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field

from ..errors import UserError
from .names import check_name
from .ops import OPS, SUPPORTED_OPS, OpInfo

# Element types: name -> (C type, numpy dtype name, bits).
DTYPES: dict[str, tuple[str, str, int]] = {
    "f32": ("float", "float32", 32),
    "f16": ("_Float16", "float16", 16),
    # bf16 has no C or numpy type everywhere: buffers hold its bit patterns (the top half of
    # the IEEE float32 with the same sign and exponent), as uint16_t / numpy uint16.
    "bf16": ("uint16_t", "uint16", 16),
    "i32": ("int32_t", "int32", 32),
    "i8": ("int8_t", "int8", 8),
    "i64": ("int64_t", "int64", 64),  # run-time sizes in the C ABI; not an element type
}
SUPPORTED_DTYPES: tuple[str, ...] = ("f32", "f16", "bf16", "i32", "i8")
# Output element types a spec may ask for, per input type (the first is the default): bf16
# accumulates in f32 and stores f32, or rounds to bf16 (nearest-even) on the store.
OUT_DTYPES: dict[str, tuple[str, ...]] = {"bf16": ("f32", "bf16")}
# Quantized ops take i8 input and filter and accumulate into an i32 output.
QUANTIZED_DTYPE = "i8"

Padding = tuple[tuple[int, int], ...]

# Keeps every buffer addressable with 32-bit element offsets in the generated code and harness.
MAX_ELEMENTS = 2**31 - 1
# Quantized accumulation: |x - zx| <= 255 and |w - zw| <= 255, so an i32 accumulator holds
# any sum of at most (2^31 - 1) // 255^2 = 33025 taps exactly (a 181x181 2-D filter).
MAX_QUANTIZED_TAPS = (2**31 - 1) // (255 * 255)


# A size given at run time: ``?`` in a shape string, ``None`` or -1 in a tuple.
DYNAMIC = -1
# The dims that may be given at run time: the batch and the spatial dims of the input.
DYNAMIC_LETTERS = "ndhw"


def parse_shape(text: str, what: str) -> tuple[int, ...]:
    """Parse ``1x1030x64`` into a tuple of positive ints; ``?`` (a run-time size) is -1."""
    parts = text.strip().split("x")
    if not text.strip() or not all(re.fullmatch(r"[0-9]+|\?", p) for p in parts):
        raise UserError(f"malformed {what} shape '{text}': write sizes joined by 'x', e.g. 1x1030x64")
    dims = tuple(DYNAMIC if p == "?" else int(p) for p in parts)
    if any(d == 0 for d in dims):
        raise UserError(f"{what} shape '{text}' has a zero size: every dimension must be >= 1")
    return dims


def parse_padding(text: str) -> str | Padding | int:
    """``valid``, ``same`` (resolved once shapes are known), or one ``LO:HI`` or torch-style
    symmetric ``P`` (= ``P:P``) per spatial dim; a lone ``P`` (an int) pads every spatial dim."""
    text = text.strip()
    if text in ("valid", "same"):
        return text
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    items = text.split(",")
    if not all(re.fullmatch(r"[0-9]+(:[0-9]+)?", p.strip()) for p in items):
        raise UserError(
            f"malformed padding '{text}': write valid, same, P (P:P on every spatial dim), or LO:HI "
            "or P per spatial dim joined by ',', e.g. 1:1,2:2 or 1,2"
        )
    pairs = (p.strip().split(":") for p in items)
    return tuple((int(p[0]), int(p[-1])) for p in pairs)


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME: output ceil(size / stride), the odd extra row at the high end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def parse_int_list(text: str, what: str, example: str = "2,2") -> tuple[int, ...]:
    """Parse ``2,2`` (strides, dilations; ``example`` for the error) into a tuple of ints
    (sign checked later)."""
    parts = text.strip().split(",")
    if not text.strip() or not all(re.fullmatch(r"-?[0-9]+", p.strip()) for p in parts):
        raise UserError(f"malformed {what} '{text}': write integers joined by ',', e.g. {example}")
    return tuple(int(p) for p in parts)


def _show(value: object) -> str:
    """A short one-line repr for error messages."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:37] + "..."


def _as_int(value: object, what: str) -> int:
    # bool is an Integral too, but strides=True is a mistake, not a 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UserError(f"{what} must be an integer, got {_show(value)}")
    return int(value)


def _int_tuple(value: object, what: str, rank: int | None, parse) -> tuple[int, ...]:
    """Strings as on the command line, a list or tuple of ints, or (with ``rank``) one int for
    every spatial dim: ``2`` or ``"2"`` (as ``--padding 1`` and PyTorch's ``stride=2``)."""
    if value is None:
        return ()
    if isinstance(value, str):
        parsed = parse(value, what)
        return parsed * rank if rank is not None and len(parsed) == 1 else parsed
    if rank is not None and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * rank
    if isinstance(value, (list, tuple)):
        if what == "input shape":  # None or -1: a size given at run time
            return tuple(
                DYNAMIC if v is None or v == "?" else _as_int(v, f"each value of {what}") for v in value
            )
        return tuple(_as_int(v, f"each value of {what}") for v in value)
    each = "an int, " if rank is not None else ""
    raise UserError(f"{what} must be {each}a list or tuple of ints or a string, got {_show(value)}")


def _padding_value(value: object, rank: int) -> str | Padding:
    """``padding`` as users write it: "same", "1:1,2:2", "1", 1, (1, 2) (torch: symmetric per dim)
    or ((lo, hi), ...)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = parse_padding(value)
        if isinstance(value, str):
            return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return ((int(value), int(value)),) * rank
    if isinstance(value, (list, tuple)):
        pairs = []
        for item in value:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                pairs.append((_as_int(item[0], "padding"), _as_int(item[1], "padding")))
            else:
                pairs.append((_as_int(item, "padding"),) * 2)
        return tuple(pairs)
    raise UserError(
        f"padding must be valid, same, an int, or one int or (lo, hi) per dim, got {_show(value)}"
    )


@dataclass(frozen=True)
class ConvSpec:
    """A depthwise convolution: op, operand shapes, strides, dilations, element type, name."""

    op: str
    input_shape: tuple[int, ...]
    filter_shape: tuple[int, ...]
    strides: tuple[int, ...] = ()
    dilations: tuple[int, ...] = ()
    dtype: str = "f32"
    name: str = "dwconv"
    # () or "valid": none; "same"; or one (lo, hi) per spatial dim. Also accepted, and made one of
    # those: an int P (P:P on every dim), one int or (lo, hi) per dim, or a string as on the CLI.
    padding: str | Padding | int = ()
    input_zp: int = 0  # quantized ops only: subtracted from every input element
    filter_zp: int = 0  # quantized ops only: subtracted from every filter element
    # Input dims given at run time (letters of n, d, h, w, or "n,w"); ``?`` in the input shape
    # adds its dim. Their sizes in ``input_shape`` are an example (the smallest valid one for
    # ``?``), used to run the kernel; the kernel takes the real ones as int64_t arguments.
    dynamic: tuple[str, ...] | str = ()
    # The output's element type: "" for the default (i32 for quantized ops, f32 for bf16, else
    # ``dtype``); "bf16" rounds a bf16 conv's f32 accumulators to bf16 (nearest-even).
    out_dtype: str = ""
    info: OpInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.op, str) or self.op not in OPS:
            raise UserError(f"unknown op {_show(self.op)}: choose one of {', '.join(OPS)}")
        info = OPS[self.op]
        object.__setattr__(self, "info", info)
        r = info.rank
        self._coerce(r)
        if not self.strides:
            object.__setattr__(self, "strides", (1,) * r)
        if not self.dilations:
            object.__setattr__(self, "dilations", (1,) * r)
        unknown = self._mark_dynamic()
        self._validate(unknown)

    def _mark_dynamic(self) -> list[int]:
        """Canonical ``dynamic`` (input layout order); returns the positions written ``?``, whose
        sizes are set to 1 until ``_validate`` picks the smallest valid one."""
        layout = self.info.input_layout
        dyn = self.dynamic
        if isinstance(dyn, str):
            dyn = tuple(p.strip() for p in dyn.split(",") if p.strip())
        if not isinstance(dyn, (tuple, list)) or not all(isinstance(d, str) for d in dyn):
            raise UserError(f"dynamic must be dim letters such as 'n,w', got {_show(self.dynamic)}")
        for letter in dyn:
            if letter not in layout or letter not in DYNAMIC_LETTERS:
                allowed = ",".join(ch for ch in layout if ch in DYNAMIC_LETTERS)
                what = "channels stay static" if letter in "cm" else f"{self.op} has no dim '{letter}'"
                raise UserError(
                    f"dim '{letter}' cannot be dynamic ({what}): choose among {allowed} (the input's dims)"
                )
        shape = self.input_shape
        unknown = [i for i, v in enumerate(shape) if v == DYNAMIC]
        if len(shape) == len(layout):
            for i in unknown:
                if layout[i] not in DYNAMIC_LETTERS:
                    raise UserError(
                        f"input dim '{layout[i]}' cannot be '?': channels stay static; only "
                        f"{','.join(ch for ch in layout if ch in DYNAMIC_LETTERS)} can be given at run time"
                    )
            dyn = (*dyn, *(layout[i] for i in unknown))
            object.__setattr__(self, "input_shape", tuple(1 if v == DYNAMIC else v for v in shape))
        if any(v == DYNAMIC for v in self.filter_shape):
            raise UserError("filter sizes stay static: write every filter size, without '?'")
        object.__setattr__(self, "dynamic", tuple(ch for ch in layout if ch in dyn))
        return unknown

    def _coerce(self, rank: int) -> None:
        """Natural Python values (ints, lists, CLI strings) to the canonical tuples."""
        setattr_ = object.__setattr__
        for what in ("input", "filter"):
            shape = getattr(self, f"{what}_shape")
            parse = lambda text, _, what=what: parse_shape(text, what)  # noqa: E731
            setattr_(self, f"{what}_shape", _int_tuple(shape, f"{what} shape", None, parse))
        setattr_(self, "strides", _int_tuple(self.strides, "strides", rank, parse_int_list))
        setattr_(self, "dilations", _int_tuple(self.dilations, "dilations", rank, parse_int_list))
        setattr_(self, "padding", _padding_value(self.padding, rank))
        setattr_(self, "input_zp", _as_int(self.input_zp, "input zero point"))
        setattr_(self, "filter_zp", _as_int(self.filter_zp, "filter zero point"))
        for what, value in (("dtype", self.dtype), ("name", self.name), ("out_dtype", self.out_dtype)):
            if not isinstance(value, str):
                raise UserError(f"{what} must be a string, got {_show(value)}")

    # -- derived sizes -------------------------------------------------------------------------
    def _dim(self, layout: str, shape: tuple[int, ...], letter: str) -> int:
        return shape[layout.index(letter)]

    @property
    def batch(self) -> int:
        return self._dim(self.info.input_layout, self.input_shape, "n")

    @property
    def channels(self) -> int:
        return self._dim(self.info.input_layout, self.input_shape, "c")

    @property
    def multiplier(self) -> int:
        return self._dim(self.info.filter_layout, self.filter_shape, "m") if self.info.multiplier else 1

    @property
    def in_spatial(self) -> tuple[int, ...]:
        return tuple(self._dim(self.info.input_layout, self.input_shape, s) for s in self.info.spatial)

    @property
    def kernel(self) -> tuple[int, ...]:
        return tuple(self._dim(self.info.filter_layout, self.filter_shape, s) for s in self.info.spatial)

    @property
    def padded_spatial(self) -> tuple[int, ...]:
        return tuple(i + lo + hi for i, (lo, hi) in zip(self.in_spatial, self.padding, strict=True))

    @property
    def padded_input_shape(self) -> tuple[int, ...]:
        sizes = dict(zip(self.info.spatial, self.padded_spatial, strict=True))
        return tuple(sizes.get(ch, d) for ch, d in zip(self.info.input_layout, self.input_shape, strict=True))

    @property
    def has_padding(self) -> bool:
        return any(lo or hi for lo, hi in self.padding)

    @property
    def out_spatial(self) -> tuple[int, ...]:
        return tuple(
            (i - d * (k - 1) - 1) // s + 1
            for i, k, s, d in zip(self.padded_spatial, self.kernel, self.strides, self.dilations, strict=True)
        )

    @property
    def output_shape(self) -> tuple[int, ...]:
        sizes = dict(zip(self.info.spatial, self.out_spatial, strict=True))
        sizes.update(n=self.batch, c=self.channels, m=self.multiplier)
        return tuple(sizes[ch] for ch in self.info.output_layout)

    @property
    def acc_dtype(self) -> str:
        """Element type of the accumulators (the linalg op's output): i32 for quantized ops,
        f32 for bf16, else ``dtype``."""
        if self.info.quantized:
            return "i32"
        return "f32" if self.dtype == "bf16" else self.dtype

    @property
    def c_type(self) -> str:
        return DTYPES[self.dtype][0]

    @property
    def out_c_type(self) -> str:
        return DTYPES[self.out_dtype][0]

    @property
    def np_dtype(self) -> str:
        return DTYPES[self.dtype][1]

    @property
    def out_np_dtype(self) -> str:
        return DTYPES[self.out_dtype][1]

    @property
    def in_bits(self) -> int:
        return DTYPES[self.dtype][2]

    @property
    def acc_bits(self) -> int:
        return DTYPES[self.acc_dtype][2]

    @property
    def out_bits(self) -> int:
        return DTYPES[self.out_dtype][2]

    # -- validation ----------------------------------------------------------------------------
    def _validate(self, unknown: tuple[int, ...] | list[int] = ()) -> None:
        info = self.info
        if self.op not in SUPPORTED_OPS:
            raise UserError(
                f"op '{self.op}' is not supported yet: supported ops are {', '.join(SUPPORTED_OPS)}"
            )
        if self.dtype not in DTYPES or self.dtype not in SUPPORTED_DTYPES:
            raise UserError(
                f"unknown element type '{self.dtype}': choose one of {', '.join(SUPPORTED_DTYPES)}"
            )
        if info.quantized and self.dtype == "bf16":
            raise UserError(
                f"bf16 applies to the non-quantized ops: {self.op} takes i8 input and filter (i32 "
                "output); use --dtype i8, or the op without _q for bf16"
            )
        if info.quantized and self.dtype != QUANTIZED_DTYPE:
            raise UserError(
                f"{self.op} takes i8 input and filter (i32 output): use --dtype i8, not '{self.dtype}'"
            )
        if not info.quantized and self.dtype == QUANTIZED_DTYPE:
            raise UserError(f"i8 is for the quantized ops (*_q); {self.op} takes f32, f16, bf16 or i32")
        self._resolve_out_dtype()
        if not info.quantized and (self.input_zp or self.filter_zp):
            raise UserError(f"zero points apply only to the quantized ops (*_q), not to {self.op}")
        for what, zp in (("input", self.input_zp), ("filter", self.filter_zp)):
            if not -128 <= zp <= 127:
                raise UserError(f"{what} zero point {zp} is outside the i8 range -128..127")
        check_name(self.name)
        for what, layout, shape in (
            ("input", info.input_layout, self.input_shape),
            ("filter", info.filter_layout, self.filter_shape),
        ):
            if len(shape) != len(layout):
                raise UserError(
                    f"{what} shape {'x'.join(map(str, shape))} has rank {len(shape)} but "
                    f"{self.op} takes a rank-{len(layout)} {what} in layout '{layout}'"
                )
            if any(d < 1 for d in shape):
                raise UserError(f"{what} shape has a size < 1: every dimension must be >= 1")
        fc = self._dim(info.filter_layout, self.filter_shape, "c")
        if fc != self.channels:
            raise UserError(
                f"channel mismatch: input has {self.channels} channels but filter has {fc}; "
                "a depthwise filter needs one column per input channel"
            )
        for what, vals in (("strides", self.strides), ("dilations", self.dilations)):
            if len(vals) != info.rank:
                raise UserError(
                    f"{what} has {len(vals)} values but {self.op} has {info.rank} spatial dims: "
                    f"give one per dim, e.g. --{what} {','.join(['1'] * info.rank)}, or one for every dim"
                )
            if any(v < 1 for v in vals):
                raise UserError(f"{what} must be >= 1, got {','.join(map(str, vals))}")
        self._check_dynamic_padding()
        self._resolve_padding()
        self._example_sizes(unknown)
        for what, values in (
            ("strides", self.strides),
            ("dilations", self.dilations),
            ("padded input sizes", self.padded_spatial),
        ):
            if max(values) >= 2**63:  # they become 64-bit attributes and index arithmetic
                raise UserError(
                    f"{what} {','.join(map(str, values))} do not fit in 64 bits (>= 2^63): use smaller values"
                )
        for letter, i, k, d in zip(
            info.spatial, self.padded_spatial, self.kernel, self.dilations, strict=True
        ):
            span = d * (k - 1) + 1
            if span > i:
                padded = " (padded)" if self.has_padding else ""
                raise UserError(
                    f"kernel larger than input along '{letter}': dilated kernel spans {span} but "
                    f"input{padded} has {i}; use a smaller kernel or dilation, a larger input, or padding"
                )
        for what, shape in (
            ("input", self.input_shape),
            ("filter", self.filter_shape),
            ("output", self.output_shape),
        ):
            if math.prod(shape) > MAX_ELEMENTS:
                raise UserError(
                    f"{what} has {math.prod(shape)} elements, more than the supported 2^31-1: "
                    "split the convolution into smaller batches or tiles"
                )

        taps = math.prod(self.kernel)
        if info.quantized and taps > MAX_QUANTIZED_TAPS:
            raise UserError(
                f"{taps} filter taps can overflow the i32 accumulator of {self.op} (at most "
                f"{MAX_QUANTIZED_TAPS} taps of 255 * 255 fit in 2^31-1): split the filter and add the results"
            )

    def _resolve_out_dtype(self) -> None:
        """``out_dtype`` "" -> the default; anything else must be one the input type allows."""
        allowed = OUT_DTYPES.get(self.dtype, (self.acc_dtype,))
        if self.out_dtype in ("", allowed[0]):
            object.__setattr__(self, "out_dtype", allowed[0])
            return
        if self.out_dtype in allowed:
            return
        if len(allowed) > 1:
            raise UserError(
                f"--out-dtype {self.out_dtype} is not an output type of {self.dtype}: choose "
                f"{' or '.join(allowed)}"
            )
        raise UserError(
            f"--out-dtype {self.out_dtype} applies to bf16 convs (f32 or bf16 output); an {self.dtype} "
            f"{self.op} has an {allowed[0]} output: drop --out-dtype"
        )

    def _check_dynamic_padding(self) -> None:
        """SAME padding depends on the input size when the stride is > 1: not for a dynamic dim."""
        if self.padding != "same":
            return
        for letter, s in zip(self.info.spatial, self.strides, strict=True):
            if letter in self.dynamic and s > 1:
                raise UserError(
                    f"same padding with stride {s} along dynamic dim '{letter}' depends on its size: "
                    "give the padding as LO:HI (padding stays static)"
                )

    def _example_sizes(self, unknown: tuple[int, ...] | list[int]) -> None:
        """A ``?`` size becomes the smallest that gives an output (1 for the batch)."""
        if not unknown:
            return
        layout, shape = self.info.input_layout, list(self.input_shape)
        for i in unknown:
            j = self.info.spatial.find(layout[i])
            if j >= 0:
                (lo, hi), k, d = self.padding[j], self.kernel[j], self.dilations[j]
                shape[i] = max(1, d * (k - 1) + 1 - lo - hi)
        object.__setattr__(self, "input_shape", tuple(shape))

    # -- run-time sizes ------------------------------------------------------------------------
    @property
    def is_dynamic(self) -> bool:
        return bool(self.dynamic)

    def output_shape_for(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output shape for a concrete input shape (sizes < 1 mean an empty output)."""
        spatial = [input_shape[self.info.input_layout.index(s)] for s in self.info.spatial]
        out = [
            (i + lo + hi - d * (k - 1) - 1) // s + 1
            for i, (lo, hi), k, s, d in zip(
                spatial, self.padding, self.kernel, self.strides, self.dilations, strict=True
            )
        ]
        sizes = dict(zip(self.info.spatial, out, strict=True))
        sizes.update(n=input_shape[self.info.input_layout.index("n")], c=self.channels, m=self.multiplier)
        return tuple(sizes[ch] for ch in self.info.output_layout)

    def at(self, input_shape: tuple[int, ...]) -> ConvSpec:
        """The static spec this kernel computes for a concrete input shape (its dynamic dims
        set, the others as compiled)."""
        shape = tuple(int(v) for v in input_shape)
        for i, ch in enumerate(self.info.input_layout):
            if ch not in self.dynamic and shape[i] != self.input_shape[i]:
                raise UserError(
                    f"input dim '{ch}' is static ({self.input_shape[i]}) in {self.name}, got {shape[i]}"
                )
        return ConvSpec(
            self.op,
            shape,
            self.filter_shape,
            self.strides,
            self.dilations,
            self.dtype,
            self.name,
            self.padding,
            self.input_zp,
            self.filter_zp,
            out_dtype=self.out_dtype,
        )

    def output_formulas(self) -> list[tuple[str, str]]:
        """(output dim, C expression) of each output size that depends on a dynamic dim."""
        out = []
        for letter, (lo, hi), k, s, d in zip(
            self.info.spatial, self.padding, self.kernel, self.strides, self.dilations, strict=True
        ):
            if letter in self.dynamic:
                extra = lo + hi - (d * (k - 1) + 1)
                if s == 1:
                    extra += 1
                term = letter if not extra else f"{letter} + {extra}" if extra > 0 else f"{letter} - {-extra}"
                out.append((f"o{letter}", f"({term}) / {s} + 1" if s > 1 else term))
        return out

    def _resolve_padding(self) -> None:
        r = self.info.rank
        pad = self.padding
        if pad in ((), "valid"):
            pad = ((0, 0),) * r
        elif pad == "same":
            pad = tuple(
                same_padding(i, k, s, d)
                for i, k, s, d in zip(self.in_spatial, self.kernel, self.strides, self.dilations, strict=True)
            )
        elif isinstance(pad, str):
            raise UserError(f"unknown padding '{pad}': use valid, same, or LO:HI per spatial dim")
        if len(pad) != r:
            raise UserError(
                f"padding has {len(pad)} LO:HI pairs but {self.op} has {r} spatial dims: give one per "
                f"dim, e.g. --padding {','.join(['1:1'] * r)}"
            )
        if any(lo < 0 or hi < 0 for lo, hi in pad):
            raise UserError("padding must be >= 0 on both sides")
        object.__setattr__(self, "padding", tuple((int(lo), int(hi)) for lo, hi in pad))

    def describe(self) -> str:
        """One-line human description, used in headers and tables."""
        x = lambda t: "x".join(map(str, t))  # noqa: E731
        dyn = set(self.dynamic)
        ins = "x".join(
            "?" if ch in dyn else str(v)
            for ch, v in zip(self.info.input_layout, self.input_shape, strict=True)
        )
        outs = "x".join(
            "?" if ch in dyn else str(v)
            for ch, v in zip(self.info.output_layout, self.output_shape, strict=True)
        )
        return (
            f"{self.op} {self.dtype} input {ins} ({self.info.input_layout}) "
            f"filter {x(self.filter_shape)} ({self.info.filter_layout}) "
            f"output {outs} ({self.info.output_layout}) "
            f"strides {','.join(map(str, self.strides))} dilations {','.join(map(str, self.dilations))}"
            + (f" padding {','.join(f'{lo}:{hi}' for lo, hi in self.padding)}" if self.has_padding else "")
            + (f" zero points {self.input_zp},{self.filter_zp}" if self.info.quantized else "")
            + (f" output {self.out_dtype}" if self.dtype == "bf16" else "")
        )
