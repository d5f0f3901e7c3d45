"""ONNX import: each graph node becomes a framework-neutral ``Node``; onnxruntime runs the model
to capture every layer's input and output for the check.

Takes ``Conv`` (``group`` == channels is depthwise; ``pads`` are all begins then all ends,
``auto_pad`` SAME_UPPER/SAME_LOWER/VALID), ``BatchNormalization``, ``Relu``, ``Clip`` (0..6 is
ReLU6), ``HardSwish``, ``Sigmoid`` then ``Mul`` of the same value (SiLU) and ``Add``.
``torch.onnx.export`` folds BatchNorm into the convs and writes ReLU6 as ``Clip``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..spec import Activation, check_name
from .graph import Node, default_name, plan_layers
from .model import ImportedModel, build_model


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise UserError(
            "dwmlir import needs onnx: pip install -e '.[frontends]' (tools/setup.sh does)"
        ) from None
    return onnx


def load_model(path: str | os.PathLike[str]) -> Any:
    """The checked, shape-inferred ONNX model at ``path``; any problem is a one-line UserError."""
    onnx = _onnx()
    path = Path(path)
    try:
        path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    try:
        model = onnx.load(str(path))  # with its external data files (NAME.onnx.data), if any
        onnx.checker.check_model(model)
        if not model.graph.node:
            raise ValueError("the graph has no nodes")
        return onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:  # noqa: BLE001 - protobuf, checker and inference errors alike
        text = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise UserError(
            f"{path} is not a valid ONNX model ({text}): export it again, e.g. with torch.onnx.export"
        ) from None


# TensorProto element types that a depthwise conv may come in, by number.
_ELEM_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16", 3: "int8", 6: "int32"}


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _check_conv(label: str, w: np.ndarray, b: np.ndarray | None, groups: int, in_shape, kernel) -> None:
    """A Conv's weight and bias fit its input: ``onnx.checker`` lets a (C, 2, k, k) weight of
    a group=C conv through, which onnxruntime then refuses (and dwmlir would misread)."""
    cin = in_shape[1] if len(in_shape) > 1 else None
    want = f"(O, {cin // groups if cin and groups > 0 else 'C/group'}, {', '.join(map(str, kernel))})"
    bad = (
        groups < 1
        or w.ndim != 2 + len(kernel)
        or tuple(w.shape[2:]) != tuple(kernel)
        or w.shape[0] % groups
        or (cin is not None and w.shape[1] * groups != cin)
    )
    if bad:
        raise UserError(
            f"Conv {label}: weight {'x'.join(map(str, w.shape))} does not fit {cin} input channels in "
            f"{groups} groups (expected {want}, O a multiple of {groups}): fix the model"
        )
    if b is not None and b.shape != (w.shape[0],):
        raise UserError(
            f"Conv {label}: bias has {b.size} values for {w.shape[0]} output channels "
            f"(shape {'x'.join(map(str, b.shape)) or 'scalar'}): fix the model"
        )


def _pads(attrs: dict, in_spatial: tuple[int, ...], kernel: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    strides = attrs.get("strides", [1] * len(kernel))
    dil = attrs.get("dilations", [1] * len(kernel))
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pairs = []
        for i, k, s, d in zip(in_spatial, kernel, strides, dil, strict=True):
            total = max((math.ceil(i / s) - 1) * s + d * (k - 1) + 1 - i, 0)
            small, big = total // 2, total - total // 2
            pairs.append((small, big) if auto == "SAME_UPPER" else (big, small))
        return tuple(pairs)
    if auto == "VALID":
        return tuple((0, 0) for _ in kernel)
    pads = list(attrs.get("pads", [0] * 2 * len(kernel)))
    r = len(kernel)
    return tuple((pads[i], pads[i + r]) for i in range(r))


def _nodes(model: Any) -> tuple[list[Node], set[str], str, tuple[int, ...]]:
    from onnx import numpy_helper

    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and "value" in _attrs(n):
            consts[n.output[0]] = numpy_helper.to_array(_attrs(n)["value"])
    shapes: dict[str, tuple[int, ...]] = {}
    dtypes: dict[str, int] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        t = vi.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
        shapes[vi.name], dtypes[vi.name] = dims, t.elem_type
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        raise UserError(
            f"dwmlir imports models with one input, this one has {len(inputs)}: export the part of the "
            "model after its inputs meet, or import each branch on its own"
        )
    x_name = inputs[0].name
    x_shape = shapes[x_name]
    if 0 in x_shape:
        raise UserError(
            f"model input '{x_name}' has an empty dim ({'x'.join(map(str, x_shape))}): export it with "
            "an example input of at least one element per dim"
        )
    if any(d < 1 for d in x_shape):
        dims = "x".join(str(d) if d > 0 else "?" for d in x_shape)
        raise UserError(
            f"model input '{x_name}' has dynamic dims ({dims}): export it with a fixed input shape"
        )
    # SiLU: x * Sigmoid(x); the Sigmoid is dropped when the Mul is its only reader.
    readers: dict[str, int] = {}
    for n in g.node:
        for v in n.input:
            readers[v] = readers.get(v, 0) + 1
    sigmoid_of = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Sigmoid"}
    dropped: set[str] = set()
    silu: dict[int, str] = {}
    for i, n in enumerate(g.node):
        if n.op_type == "Mul" and len(n.input) == 2:
            a, b = n.input
            for x, s in ((a, b), (b, a)):
                if sigmoid_of.get(s) == x and readers.get(s) == 1:
                    silu[i] = x
                    dropped.add(s)
    float_type = 1  # TensorProto.FLOAT
    out: list[Node] = []
    alias: dict[str, str] = {}
    for i, n in enumerate(g.node):
        if n.op_type == "Constant" or (n.op_type == "Sigmoid" and n.output[0] in dropped):
            continue
        ins = tuple(alias.get(v, v) for v in n.input if v and v not in consts)
        y = n.output[0]
        base = dict(
            inputs=ins,
            output=y,
            in_shape=shapes.get(ins[0], ()) if ins else (),
            out_shape=shapes.get(y, ()),
            dtype=_ELEM_TYPES.get(dtypes.get(y, float_type), "non-float"),
        )
        attrs = _attrs(n)
        op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
        if i in silu:
            out.append(
                Node(n.name or y, "act", **{**base, "inputs": (silu[i],)}, activation=Activation("silu"))
            )
        elif op in ("Identity", "Dropout") and len(ins) == 1:
            alias[y] = ins[0]
        elif op == "Conv" and len(n.input) >= 2 and n.input[1] not in consts:
            out.append(
                Node(
                    n.name or y,
                    "conv",
                    **base,
                    weight=np.zeros((1, 1)),
                    groups=int(attrs.get("group", 1)),
                    problem="its weights are computed at run time: dwmlir imports Conv weights that are "
                    "initializers or Constant nodes",
                )
            )
        elif op == "Conv":
            w = consts[n.input[1]]
            b = consts.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            in_shape = base["in_shape"]
            kernel = tuple(attrs.get("kernel_shape", w.shape[2:]))
            name = n.input[1].removesuffix(".weight") if n.input[1] else n.name
            _check_conv(n.name or y, w, b, int(attrs.get("group", 1)), in_shape, kernel)
            out.append(
                Node(
                    name or n.name or y,
                    "conv",
                    **base,
                    weight=w,
                    bias=b,
                    groups=int(attrs.get("group", 1)),
                    strides=tuple(attrs.get("strides", [1] * len(kernel))),
                    dilations=tuple(attrs.get("dilations", [1] * len(kernel))),
                    padding=_pads(attrs, tuple(in_shape[2:]), kernel) if in_shape else (),
                )
            )
        elif op == "BatchNormalization" and all(v in consts for v in n.input[1:5]):
            gamma, beta, mean, var = (consts[v].astype(np.float64) for v in n.input[1:5])
            channels = base["in_shape"][1] if len(base["in_shape"]) > 1 else None
            params = (gamma, beta, mean, var)
            if channels is not None and any(p.shape != (channels,) for p in params):
                got = ", ".join("x".join(map(str, p.shape)) or "scalar" for p in params)
                raise UserError(
                    f"BatchNormalization {n.name or y}: its scale, bias, mean and variance need "
                    f"{channels} values each (one per channel), got {got}: fix the model"
                )
            scale = gamma / np.sqrt(var + float(attrs.get("epsilon", 1e-5)))
            out.append(Node(n.name or y, "bn", **base, scale=scale, bias=beta - mean * scale))
        elif op in ("Relu", "HardSwish") and len(ins) == 1:
            kind = {"Relu": "relu", "HardSwish": "hardswish"}[op]
            out.append(Node(n.name or y, "act", **base, activation=Activation(kind)))
        elif op == "Clip" and len(ins) == 1 and _clip(n, attrs, consts) is not None:
            out.append(Node(n.name or y, "act", **base, activation=_clip(n, attrs, consts)))
        elif op == "Add" and len(ins) == 2:
            out.append(Node(n.name or y, "add", **base))
        else:
            out.append(Node(n.name or y, "other", **base))
    return out, {o.name for o in g.output}, x_name, x_shape


def _clip(n: Any, attrs: dict, consts: dict) -> Activation | None:
    """Clip as an activation: (0, 6) is ReLU6, (0, inf) ReLU, finite bounds a clamp."""

    def bound(idx: int, attr: str, default: float) -> float | None:
        if len(n.input) > idx and n.input[idx]:
            v = consts.get(n.input[idx])
            return None if v is None else float(np.asarray(v).reshape(-1)[0])
        return float(attrs.get(attr, default))

    lo, hi = bound(1, "min", -math.inf), bound(2, "max", math.inf)
    if lo is None or hi is None:
        return None
    if (lo, hi) == (0.0, 6.0):
        return Activation("relu6")
    if lo == 0.0 and hi == math.inf:
        return Activation("relu")
    if math.isfinite(lo) and math.isfinite(hi) and lo <= hi:
        return Activation("clamp", lo, hi)
    return None


def import_onnx(
    path: str | os.PathLike[str],
    target: str = "aarch64-sve",
    out_dir: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    cpu: str | None = None,
    jobs: int | None = None,
) -> ImportedModel:
    """See :func:`dwmlir.import_onnx`."""
    model = load_model(path)
    lib = check_name(name if name is not None else default_name(Path(path).stem), "model name")
    nodes, outputs, x_name, x_shape = _nodes(model)
    layers = plan_layers(nodes, outputs, lib)
    example = np.random.default_rng(0).standard_normal(x_shape).astype(np.float32)

    def capture(x: Any, names: list[str]) -> dict[str, np.ndarray]:
        return _capture(model, x_name, np.asarray(x, dtype=np.float32), names)

    return build_model(
        layers,
        lib=lib,
        framework="ONNX",
        source=Path(path).name,
        target=target,
        cpu=cpu,
        out_dir=out_dir,
        jobs=jobs,
        capture=capture,
        example_input=example,
    )


def _capture(model: Any, x_name: str, x: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Every value in ``names`` when onnxruntime runs ``model`` on ``x``."""
    import onnx

    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError("checking an ONNX import needs onnxruntime: pip install -e '.[frontends]'") from None
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    wanted = [n for n in dict.fromkeys(names) if n != x_name]
    for v in wanted:
        if v not in have:
            m.graph.output.append(onnx.helper.make_tensor_value_info(v, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.log_severity_level = 4  # fatal only: its errors reach the user as our one line
    opts.intra_op_num_threads = 1
    try:
        sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        got = sess.run(wanted, {x_name: x})
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own errors (versions, ops)
        text = " ".join(str(exc).split())[:200]
        raise UserError(f"onnxruntime cannot run the model to check it: {text}") from None
    return {x_name: x, **dict(zip(wanted, got, strict=True))}
