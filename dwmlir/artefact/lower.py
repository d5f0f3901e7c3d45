"""``dwmlir lower``: our rewrites, schedules and pipeline on a user's own module.

The module holds functions on tensors with linalg depthwise convs and, around them, fills,
our foldable pads and elementwise linalg ops. Depthwise convs get the same treatment as in
``compile``; every other all-parallel linalg op is tiled and vectorized with a scalable
innermost dim. Anything else is named with its location (exit 2): scalar fallback is a bug.
"""

from __future__ import annotations

import re

from mlir import ir

from ..errors import UserError
from ..ir.epilogue import EXPAND_ATTR, POINTWISE_ATTR
from ..ir.walk import find_ops
from ..pipeline import lower_vector, run_bundle, set_vscale_range, to_llvm
from ..rewrite import DEFAULT_VECTORIZER, VectorShape
from ..rewrite.blocked import NO_LSR_ATTR
from ..rewrite.decompose import _dynamic_channels_only_1d as dynamic_channels_only_1d
from ..rewrite.decompose import has_runtime_sizes
from ..schedule import Plan, apply_schedule, build_schedule
from ..spec import OPS
from ..target import Target
from ..toolchain import run
from .compile import backend_flags, llc_command, lsr_for, misched_for, optimize_llvm_ir, translate_module
from .limits import check_code_size, rewrite_within_limit

EW_ATTR = "dwmlir.elementwise"
BUFFERIZE_BOUNDARIES = (
    "canonicalize,cse,eliminate-empty-tensors,"
    "one-shot-bufferize{bufferize-function-boundaries=1 "
    "function-boundary-type-conversion=identity-layout-map},"
    "cse,canonicalize"
)


def _where(loc: ir.Location, source: str) -> str:
    """A location as the user wrote it, ``FILE:LINE:COL``: the parser calls every buffer "-"."""
    text = str(loc)
    m = re.fullmatch(r'loc\("-":(\d+):(\d+)\)', text)
    if m:
        return f"{source}:{m[1]}:{m[2]}"
    return text.replace('loc("-":', f'loc("{source}":', 1)


def parse_module(text: str, source: str) -> ir.Module:
    try:
        return ir.Module.parse(text)
    except ir.MLIRError as exc:
        diags = exc.error_diagnostics
        first = (
            f"{_where(diags[0].location, source)}: {_one_line(diags[0].message)}"
            if diags
            else _one_line(str(exc))
        )
        raise UserError(f"malformed MLIR in {source}: {first}") from None


def _one_line(text: str, limit: int = 160) -> str:
    """A diagnostic on one line (some quote a whole multi-line op), cut at ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 4] + " ..."


def _dynamic_dims_problem(op: ir.Operation, vectorizer: str) -> str | None:
    """Why dwmlir cannot lower ``op``'s dynamic sizes, or None.

    Batch and spatial sizes of the input and output may be dynamic (the rewrites compute the
    border segments and block loops at run time); filter sizes and channel dims must be
    static, except the channel dim of a 1-D nwc_wc, which upstream's vectorizer takes.
    """
    if dynamic_channels_only_1d(op):
        return None
    info = next(i for i in OPS.values() if i.mlir_name == op.name)
    for what, layout, value in (
        ("input", info.input_layout, op.operands[0]),
        ("filter", info.filter_layout, op.operands[1]),
        ("output", info.output_layout, op.operands[len(op.operands) - 1]),
    ):
        t = ir.RankedTensorType(value.type)
        for i, letter in enumerate(layout):
            if not t.is_dynamic_dim(i):
                continue
            if what == "filter":
                return f"the filter's dim '{letter}' (dim {i}) is dynamic; filter sizes must be static"
            if letter in "cm":
                return (
                    f"the {what}'s channel dim '{letter}' (dim {i}) is dynamic; channel counts must be "
                    "static (a dynamic channel dim is supported only for linalg.depthwise_conv_1d_nwc_wc)"
                )
            if vectorizer != DEFAULT_VECTORIZER:
                return (
                    f"the {what}'s dim '{letter}' (dim {i}) is dynamic; --vectorizer {vectorizer} needs "
                    f"static sizes (use --vectorizer {DEFAULT_VECTORIZER})"
                )
    return None


def _check_convs(convs: list[ir.Operation], source: str, vectorizer: str = DEFAULT_VECTORIZER) -> None:
    """What dwmlir's rewrites take: convs on ranked tensors, static filters and channels
    (except for the channel dim of a 1-D nwc_wc), with one element type throughout (except
    the quantized ops)."""
    for op in convs:
        where = _where(op.location, source)
        types = [v.type for v in op.operands if isinstance(v.type, ir.ShapedType)]
        if not all(isinstance(t, ir.RankedTensorType) for t in types):
            raise UserError(
                f"cannot lower {op.name} at {where}: dwmlir lowers convs on tensors, not memrefs "
                "(it bufferizes them itself); pass tensors and return the result"
            )
        problem = _dynamic_dims_problem(op, vectorizer)
        if problem is not None:
            raise UserError(f"cannot lower {op.name} at {where}: {problem}")
        elements = [str(ir.RankedTensorType(t).element_type) for t in types[:3]]
        if not op.name.endswith("_q") and len(set(elements)) > 1:
            raise UserError(
                f"cannot lower {op.name} at {where}: element types {', '.join(elements)} differ; dwmlir "
                "lowers convs with one element type (i8 inputs with an i32 output: the *_q ops)"
            )


def _elementwise_plans(module: ir.Module, target: Target, source: str) -> list[tuple[int, Plan]]:
    """Tag every remaining all-parallel linalg op and plan it; refuse anything else."""
    plans: list[tuple[int, Plan]] = []
    for op in find_ops(module, lambda o: o.name.startswith("linalg.") and "dwmlir.row" not in o.attributes):
        if op.name in ("linalg.yield", "linalg.index"):
            continue
        iterators = op.attributes["iterator_types"] if "iterator_types" in op.attributes else None
        out_t = op.results[0].type if len(op.results) else None
        static = isinstance(out_t, ir.RankedTensorType) and out_t.has_static_shape
        parallel = op.name == "linalg.fill" or (
            iterators is not None and all("parallel" in str(it) for it in iterators)
        )
        if not (static and parallel) and op.name not in _NAMED_ELEMENTWISE:
            raise UserError(
                f"cannot lower {op.name} at {_where(op.location, source)}: dwmlir lowers linalg depthwise "
                "convs and the fills, pads and elementwise ops around them, on static shapes"
            )
        if not static:
            raise UserError(
                f"cannot lower {op.name} at {_where(op.location, source)}: dynamic shapes are not supported"
            )
        shape = list(out_t.shape)
        bits = out_t.element_type.width
        lanes = target.lanes(bits)
        inner = [lanes] if target.scalable else min(lanes, shape[-1] if shape else lanes)
        sizes = (*([1] * (len(shape) - 1)), inner) if shape else ()
        tag = len(plans)
        op.attributes[EW_ATTR] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), tag)
        plans.append((tag, Plan(tile=sizes, vector=sizes)))
    return plans


_NAMED_ELEMENTWISE = {
    f"linalg.{n}" for n in ("add", "sub", "mul", "div", "max", "min", "exp", "abs", "copy", "map")
}


def _lsr(op: ir.Operation) -> bool:
    """``compile.lsr_for`` for a conv of a parsed module: its output's W (channels-last ops:
    the dim before channels) or None when a size is known only at run time."""
    attr = op.attributes["strides"] if "strides" in op.attributes else None
    strides = [int(v) for v in ir.DenseIntElementsAttr(attr)] if attr is not None else [1]
    out_w = None if has_runtime_sizes(op) else ir.ShapedType(op.operands[-1].type).shape[-2]
    return lsr_for(op.name.removeprefix("linalg."), strides, out_w)


def _machine_scheduler(module: ir.Module, convs: list[ir.Operation], target: Target) -> bool:
    """``compile.machine_scheduler`` for a parsed module: off where a fused GEMM (a 1x1 conv
    tagged by ``dwmlir gen``) runs on f32 convs on SVE."""
    gemms = find_ops(module, lambda o: POINTWISE_ATTR in o.attributes or EXPAND_ATTR in o.attributes)
    dtypes = {str(ir.ShapedType(c.operands[0].type).element_type) for c in convs}
    return misched_for(bool(gemms), dtypes.pop() if len(dtypes) == 1 else "mixed", target)


def lower_module(
    text: str, source: str, target: Target, cpu: str | None, emit: str, vectorizer: str = DEFAULT_VECTORIZER
) -> bytes:
    """Return the chosen stage of ``text`` lowered for ``target``: mlir, llvm, asm or obj."""
    with ir.Context(), ir.Location.unknown():
        module = parse_module(text, source)
        convs = find_ops(module, lambda o: o.name.startswith("linalg.depthwise_conv_"))
        if not convs:
            raise UserError(
                f"no linalg.depthwise_conv_* op in {source}: dwmlir lower compiles modules with "
                "depthwise convs"
            )
        _check_convs(convs, source, vectorizer)
        lsr = all(_lsr(c) for c in convs)
        misched = _machine_scheduler(module, convs, target)
        module, rows = rewrite_within_limit(
            module,
            lambda: parse_module(text, source),
            VectorShape(target.vector_bits, target.scalable),
            vectorizer,
            any(has_runtime_sizes(c) for c in convs),
        )
        if find_ops(module, lambda o: o.name == "func.func" and NO_LSR_ATTR in o.attributes):
            lsr = False  # bands of rows (blocked.bands_without_lsr)
        for pad in find_ops(module, lambda o: o.name == "tensor.pad"):
            raise UserError(
                f"cannot lower tensor.pad at {_where(pad.location, source)}: only pads feeding a depthwise "
                "conv with its neutral value (zero, or the input zero point) are supported"
            )
        extra = _elementwise_plans(module, target, source)
        schedule = build_schedule(rows, None, 32, target, extra=[(EW_ATTR, tag, plan) for tag, plan in extra])
        apply_schedule(module, schedule)
        left = find_ops(module, lambda o: o.name.startswith("linalg.") and o.name not in ("linalg.yield",))
        if left:
            raise UserError(f"cannot vectorize {left[0].name} at {_where(left[0].location, source)}")
        check_code_size(module, f"the module of {source}")  # before the long part
        for fragment in (BUFFERIZE_BOUNDARIES, lower_vector(target), to_llvm(target, bare_pointers=False)):
            run_bundle(module, fragment)
        set_vscale_range(module, target)
        module.operation.verify()
        if emit == "mlir":
            return str(module).encode()
        ll = translate_module(module)
    ll = optimize_llvm_ir(ll, target, cpu)
    if emit == "llvm":
        return ll
    kind = "asm" if emit == "asm" else "obj"
    return run(
        [*llc_command(target, cpu, backend_flags(lsr, misched)), f"-filetype={kind}", "-", "-o", "-"],
        input=ll,
        what="llc",
    ).stdout
