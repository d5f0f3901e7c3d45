"""PyTorch import: ``torch.fx`` traces the module, each node becomes a framework-neutral ``Node``.

torch.fx keeps the module hierarchy (``call_module`` nodes name ``features.3.conv.1``), so
every kernel is named after the layer it replaces and the weights are read straight from the
modules. ``ShapeProp`` on the example input gives every value's shape.
"""

from __future__ import annotations

import contextlib
import io
import operator
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..spec import Activation, check_name
from .graph import Node, default_name, plan_layers
from .model import ImportedModel, build_model


def _torch() -> Any:
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError:
        raise UserError(
            "dwmlir.from_torch needs torch: pip install -e '.[frontends]' (tools/setup.sh does)"
        ) from None
    return torch


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _conv_padding(mod: Any) -> tuple[tuple[int, int], ...]:
    """torch's padding as (lo, hi) pairs: ints are symmetric, 'same' puts the odd one high."""
    k, d = mod.kernel_size, mod.dilation
    if mod.padding == "valid":
        return tuple((0, 0) for _ in k)
    if mod.padding == "same":
        return tuple((t // 2, t - t // 2) for t in (di * (ki - 1) for ki, di in zip(k, d, strict=True)))
    return tuple((p, p) for p in mod.padding)


def _activation_module(torch: Any, mod: Any) -> Activation | None:
    nn = torch.nn
    if isinstance(mod, nn.ReLU):
        return Activation("relu")
    if isinstance(mod, nn.ReLU6):
        return Activation("relu6")
    if isinstance(mod, nn.Hardtanh):  # ReLU6 is one; any other bounds are a clamp
        lo, hi = float(mod.min_val), float(mod.max_val)
        return Activation("relu6") if (lo, hi) == (0.0, 6.0) else Activation("clamp", lo, hi)
    if isinstance(mod, nn.SiLU):
        return Activation("silu")
    if isinstance(mod, nn.Hardswish):
        return Activation("hardswish")
    return None


def _activation_function(torch: Any, node: Any) -> Activation | None:
    F = torch.nn.functional
    target = node.target
    if node.op == "call_method":
        return {"relu": Activation("relu"), "relu_": Activation("relu")}.get(target)
    if target in (F.relu, torch.relu, torch.relu_):
        return Activation("relu")
    if target is F.relu6:
        return Activation("relu6")
    if target is F.silu:
        return Activation("silu")
    if target is F.hardswish:
        return Activation("hardswish")
    if target is F.hardtanh:
        lo = node.kwargs.get("min_val", node.args[1] if len(node.args) > 1 else -1.0)
        hi = node.kwargs.get("max_val", node.args[2] if len(node.args) > 2 else 1.0)
        if isinstance(lo, int | float) and isinstance(hi, int | float):
            lo, hi = float(lo), float(hi)
            return Activation("relu6") if (lo, hi) == (0.0, 6.0) else Activation("clamp", lo, hi)
    return None


def _nodes(torch: Any, gm: Any) -> tuple[list[Node], set[str]]:
    nn = torch.nn
    alias: dict[str, str] = {}
    out: list[Node] = []
    outputs: set[str] = set()

    def value(n: Any) -> str:
        return alias.get(n.name, n.name)

    for n in gm.graph.nodes:
        if n.op == "placeholder" or n.op == "get_attr":
            continue
        if n.op == "output":
            outputs.update(value(a) for a in n.all_input_nodes)
            continue
        meta = n.meta.get("tensor_meta")
        ins = tuple(value(a) for a in n.all_input_nodes)
        first = n.all_input_nodes[0].meta.get("tensor_meta") if n.all_input_nodes else None
        in_shape = tuple(first.shape) if first is not None and hasattr(first, "shape") else ()
        out_shape = tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else ()
        dtype = str(meta.dtype).removeprefix("torch.") if meta is not None and hasattr(meta, "dtype") else ""
        base = dict(inputs=ins, output=n.name, in_shape=in_shape, out_shape=out_shape, dtype=dtype)
        if n.op == "call_module":
            mod = gm.get_submodule(n.target)
            name = str(n.target)
            if isinstance(mod, nn.Identity | nn.Dropout | nn.Dropout1d | nn.Dropout2d | nn.Dropout3d):
                alias[n.name] = ins[0]
                continue
            if isinstance(mod, nn.Conv1d | nn.Conv2d | nn.Conv3d) and type(mod).__name__.startswith("Conv"):
                problem = None
                if mod.padding_mode != "zeros":
                    problem = (
                        f"padding_mode='{mod.padding_mode}' is not supported: dwmlir pads with zeros "
                        "(use padding_mode='zeros', or pad before the conv)"
                    )
                bias = None if mod.bias is None else _np(mod.bias)
                out.append(
                    Node(
                        name,
                        "conv",
                        **base,
                        weight=_np(mod.weight),
                        bias=bias,
                        groups=mod.groups,
                        strides=tuple(mod.stride),
                        dilations=tuple(mod.dilation),
                        padding=_conv_padding(mod),
                        problem=problem,
                    )
                )
                continue
            if (
                isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d)
                and mod.track_running_stats
                and mod.running_mean is not None
            ):
                inv = 1.0 / np.sqrt(_np(mod.running_var).astype(np.float64) + mod.eps)
                g = _np(mod.weight).astype(np.float64) if mod.affine else 1.0
                b = _np(mod.bias).astype(np.float64) if mod.affine else 0.0
                scale = g * inv
                shift = b - _np(mod.running_mean).astype(np.float64) * scale
                out.append(Node(name, "bn", **base, scale=np.asarray(scale), bias=np.asarray(shift)))
                continue
            act = _activation_module(torch, mod)
            out.append(Node(name, "act" if act else "other", **base, activation=act))
            continue
        name = n.name
        act = _activation_function(torch, n) if n.op in ("call_function", "call_method") else None
        if act is not None and len(ins) == 1:
            out.append(Node(name, "act", **base, activation=act))
        elif (
            n.op == "call_function"
            and n.target in (operator.add, torch.add)
            and len(ins) == 2
            and not n.kwargs
        ):
            out.append(Node(name, "add", **base))
        elif n.op == "call_method" and n.target in ("contiguous",) and len(ins) == 1:
            alias[n.name] = ins[0]
        else:
            out.append(Node(name, "other", **base))
    return out, outputs


def from_torch(
    module: Any,
    example_input: Any,
    target: str = "aarch64-sve",
    out_dir: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    cpu: str | None = None,
    jobs: int | None = None,
) -> ImportedModel:
    """See :func:`dwmlir.from_torch`."""
    torch = _torch()
    from torch.fx.passes.shape_prop import ShapeProp

    if not isinstance(module, torch.nn.Module):
        raise UserError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    if module.training:
        raise UserError(
            f"{type(module).__name__} is in training mode: call .eval() first (BatchNorm folds its "
            "running statistics, which only eval mode uses)"
        )
    x = _as_tensor(torch, example_input)
    lib = check_name(name if name is not None else default_name(type(module).__name__), "model name")
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as exc:  # noqa: BLE001 - any tracing failure is the model's
        raise UserError(
            f"cannot trace {type(module).__name__} with torch.fx: {_first_line(exc)}; make forward free of "
            "data-dependent control flow"
        ) from None
    try:
        # ShapeProp prints the failing node's traceback to stderr before raising: the error
        # reaches the user as one line below.
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm).propagate(x)
    except Exception as exc:  # noqa: BLE001 - ShapeProp wraps the module's own error
        why = _first_line(exc.__cause__ or exc)
        raise UserError(
            f"{type(module).__name__} fails on the example input of shape {tuple(x.shape)}: {why}"
        ) from None
    nodes, outputs = _nodes(torch, gm)
    layers = plan_layers(nodes, outputs, lib)

    def capture(inp: Any, names: list[str]) -> dict[str, np.ndarray]:
        return _capture(torch, gm, _as_tensor(torch, inp), set(names))

    return build_model(
        layers,
        lib=lib,
        framework="PyTorch",
        source=type(module).__name__,
        target=target,
        cpu=cpu,
        out_dir=None if out_dir is None else Path(out_dir),
        jobs=jobs,
        capture=capture,
        example_input=x,
    )


def _as_tensor(torch: Any, x: Any) -> Any:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise UserError(f"the example input must be a torch.Tensor or numpy array, got {type(x).__name__}")
    return x


def _capture(torch: Any, gm: Any, x: Any, wanted: set[str]) -> dict[str, np.ndarray]:
    """The values of the graph's nodes named ``wanted`` when the module runs on ``x``."""
    seen: dict[str, np.ndarray] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            result = super().run_node(n)
            if n.name in wanted and isinstance(result, torch.Tensor):
                seen[n.name] = _np(result).copy()
            return result

    with torch.no_grad():
        Recorder(gm).run(x)
    return seen
