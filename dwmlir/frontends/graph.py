"""The framework-neutral half of the importers: a layer graph in, fused blocks and weights out.

A frontend (``torch_fx``, ``onnx_graph``) turns a model into a list of ``Node`` in
execution order, with the weights as numpy arrays in the framework's own layout (PyTorch and
ONNX agree: conv weight ``(C*M, 1, k...)``, output channel ``c*M + m``, NC... activations)
and padding already resolved to ``(lo, hi)`` pairs. ``plan_layers`` finds every depthwise
conv and the chain after it that one dwmlir kernel can take (BatchNorm, activation, a 1x1
pointwise conv with its own BatchNorm and activation, a residual add), folds BatchNorm into
weights and biases, and returns one ``Layer`` per kernel: a ``BlockSpec`` plus its buffers in
the kernel's layouts.

Kernels are channels-last (``nhwc_hwc``, ``nhwc_hwcm``, ...): that is dwmlir's tuned path
(register-blocked rows; the channels-first ops are scalable along W, which short rows do not
fill), the only family with multiplier ops, and the one the fused residual (and the expand
conv) take. Weights are transposed here, once; activations are transposed by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from ..spec import Activation, BlockSpec, ConvSpec, Epilogue, Pointwise
from ..spec.names import MAX_NAME_LENGTH

# (spatial rank, multiplier?) -> op
_OPS = {
    (1, False): "depthwise_conv_1d_nwc_wc",
    (1, True): "depthwise_conv_1d_nwc_wcm",
    (2, False): "depthwise_conv_2d_nhwc_hwc",
    (2, True): "depthwise_conv_2d_nhwc_hwcm",
    (3, False): "depthwise_conv_3d_ndhwc_dhwc",
    (3, True): "depthwise_conv_3d_ndhwc_dhwcm",
}


@dataclass
class Node:
    """One framework op. ``kind``: conv, bn, act, add or other (anything dwmlir does not take).

    Shapes are the framework's (N, C, spatial...). conv: ``weight`` (O, I/groups, k...),
    optional ``bias``; bn: ``y = x * scale + bias`` per channel; act: ``activation``.
    ``problem``: why this conv cannot become a kernel if it is depthwise (e.g. reflect padding).
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    output: str
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    dtype: str = "float32"
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    scale: np.ndarray | None = None
    groups: int = 1
    strides: tuple[int, ...] = ()
    dilations: tuple[int, ...] = ()
    padding: tuple[tuple[int, int], ...] = ()
    activation: Activation | None = None
    problem: str | None = None

    @property
    def is_depthwise(self) -> bool:
        return (
            self.kind == "conv"
            and len(self.in_shape) >= 3
            and self.weight is not None
            and self.groups == self.in_shape[1]
        )

    @property
    def is_pointwise(self) -> bool:
        """A 1x1 conv over all channels that keeps the pixels (stride 1, no padding)."""
        return (
            self.kind == "conv"
            and self.weight is not None
            and self.groups == 1
            and all(k == 1 for k in self.weight.shape[2:])
            and all(s == 1 for s in self.strides)
            and all(p == (0, 0) for p in self.padding)
            and self.problem is None
        )


@dataclass(frozen=True)
class Layer:
    """One imported kernel: the framework nodes it replaces and its buffers.

    ``input``/``output``: the framework values it reads and produces (channels-first).
    ``weights``: the kernel's buffers after input, by ABI name, in the kernel's layouts.
    """

    source: str
    fused: tuple[str, ...]
    input: str
    output: str
    block: BlockSpec
    weights: dict[str, np.ndarray] = field(repr=False)

    @property
    def kernel(self) -> str:
        return self.block.name


def c_name(text: str) -> str:
    """A C identifier from a framework name (``features.1.conv.0`` -> ``features_1_conv_0``)."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "layer"
    return name if not name[0].isdigit() else f"l{name}"


def default_name(text: str) -> str:
    """A library name from a model's class or file name; ``_net`` appended if that alone is not
    a usable name (``double.onnx``: ``double`` is a C keyword)."""
    from ..spec import name_problem

    name = c_name(text).lower()
    return name if name_problem(name) is None else f"{name}_net"


def plan_layers(nodes: list[Node], outputs: set[str], lib: str) -> list[Layer]:
    """Every depthwise conv of ``nodes`` as a kernel named ``lib_<layer>``, with what follows
    it fused; ``outputs`` are the model's outputs (they must stay visible)."""
    calls: dict[str, int] = {}
    for n in nodes:  # a module called twice is two layers: name, then name:2
        calls[n.name] = calls.get(n.name, 0) + 1
        if calls[n.name] > 1:
            n.name = f"{n.name}:{calls[n.name]}"
    users: dict[str, list[Node]] = {}
    for n in nodes:
        for v in n.inputs:
            users.setdefault(v, []).append(n)
    taken: set[str] = set()
    layers = []
    for n in nodes:
        if n.is_depthwise and n.name not in taken:
            layer = _plan_one(n, users, outputs, lib, {x.kernel for x in layers})
            taken.update(layer.fused)
            layers.append(layer)
    return layers


def _plan_one(dw: Node, users: dict[str, list[Node]], outputs: set[str], lib: str, names: set[str]) -> Layer:
    if dw.problem:
        raise UserError(f"layer {dw.name}: {dw.problem}")
    if dw.dtype != "float32":
        raise UserError(
            f"layer {dw.name}: dwmlir imports float32 models, this layer is {dw.dtype}: convert the "
            "model with .float() (int8 models go through dwmlir compile --dtype i8)"
        )
    rank = len(dw.in_shape) - 2
    if not 1 <= rank <= 3:
        raise UserError(f"layer {dw.name}: a {rank}-D depthwise conv: dwmlir takes 1-D, 2-D and 3-D")

    def sole_user(value: str, kinds: tuple[str, ...]) -> Node | None:
        """The node that alone reads ``value`` (which is not a model output), if of ``kinds``."""
        us = users.get(value, [])
        if value in outputs or len(us) != 1 or us[0].kind not in kinds or us[0].inputs.count(value) != 1:
            return None
        return us[0]

    n_ch, cm = dw.in_shape[1], dw.weight.shape[0]
    mult = cm // n_ch
    w = dw.weight.astype(np.float64)
    b = np.zeros(cm) if dw.bias is None else dw.bias.astype(np.float64)
    has_bias = dw.bias is not None
    fused = [dw.name]
    value = dw.output
    bn = sole_user(value, ("bn",))
    if bn is not None:
        w, b = _fold(w, b, bn)
        has_bias, value = True, bn.output
        fused.append(bn.name)
    act = sole_user(value, ("act",))
    activation = Activation()
    if act is not None:
        activation, value = act.activation, act.output
        fused.append(act.name)
    epi = Epilogue(bias=has_bias, activation=activation)

    kernel = _kernel_name(lib, dw.name, names)
    in_shape = (dw.in_shape[0], *dw.in_shape[2:], n_ch)
    # (C*M, 1, k...) -> (k..., C, M): output channel c*M + m, the ABI's order too.
    taps = w.reshape(n_ch, mult, *w.shape[2:])
    flt = np.moveaxis(taps, (0, 1), (-2, -1))
    flt = flt if mult > 1 else flt[..., 0]
    conv = ConvSpec(
        _OPS[rank, mult > 1],
        in_shape,
        flt.shape,
        strides=dw.strides,
        dilations=dw.dilations,
        padding=dw.padding,
        name=kernel,
    )
    weights = {"filter": flt.astype(np.float32)}
    if has_bias:
        weights["bias"] = b.astype(np.float32)
    block = BlockSpec(conv, epi)

    pw = sole_user(value, ("conv",))
    if pw is not None and pw.is_pointwise and pw.dtype == "float32" and pw.weight.shape[1] == cm:
        pw_fused = [pw.name]
        pw_value = pw.output
        pw_w = pw.weight.reshape(pw.weight.shape[0], cm).astype(np.float64)
        pw_b = np.zeros(pw_w.shape[0]) if pw.bias is None else pw.bias.astype(np.float64)
        pw_has_bias = pw.bias is not None
        pw_bn = sole_user(pw_value, ("bn",))
        if pw_bn is not None:
            pw_w, pw_b = _fold(pw_w, pw_b, pw_bn)
            pw_has_bias, pw_value = True, pw_bn.output
            pw_fused.append(pw_bn.name)
        pw_act = sole_user(pw_value, ("act",))
        pw_activation = Activation()
        if pw_act is not None:
            pw_activation, pw_value = pw_act.activation, pw_act.output
            pw_fused.append(pw_act.name)
        pw_epi = Epilogue(bias=pw_has_bias, activation=pw_activation)
        candidate = _try_block(conv, epi, Pointwise(pw_w.shape[0], pw_epi))
        if candidate is not None:
            block, value = candidate, pw_value
            fused += pw_fused
            weights["pw_filter"] = pw_w.T.astype(np.float32)  # [C*M][COUT]
            if pw_has_bias:
                weights["pw_bias"] = pw_b.astype(np.float32)
            add = sole_user(value, ("add",))
            if add is not None and len(add.inputs) == 2 and dw.inputs[0] in add.inputs:
                with_res = _try_block(conv, epi, Pointwise(pw_w.shape[0], pw_epi, residual=True))
                if with_res is not None:
                    block, value = with_res, add.output
                    fused.append(add.name)
    names.add(kernel)
    return Layer(dw.name, tuple(fused), dw.inputs[0], value, block, weights)


def _try_block(conv: ConvSpec, epi: Epilogue, pw: Pointwise) -> BlockSpec | None:
    """The block with this pointwise part, or None if dwmlir does not fuse it (then the 1x1
    conv stays outside the kernel, as any other layer)."""
    try:
        return BlockSpec(conv, epi, pw)
    except UserError:
        return None


def _fold(w: np.ndarray, b: np.ndarray, bn: Node) -> tuple[np.ndarray, np.ndarray]:
    """BatchNorm after a conv, folded into it: w * s per output channel, b * s + t."""
    assert bn.scale is not None and bn.bias is not None
    s, t = bn.scale.astype(np.float64), bn.bias.astype(np.float64)
    return w * s.reshape(-1, *([1] * (w.ndim - 1))), b * s + t


def _kernel_name(lib: str, source: str, taken: set[str]) -> str:
    base = f"{lib}_{re.sub(r'[^A-Za-z0-9_]+', '_', source).strip('_')}"[: MAX_NAME_LENGTH - 8]
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name
