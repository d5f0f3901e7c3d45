"""The framework-neutral half of the importers: a layer graph in, fused blocks and weights out.

A frontend (``torch_fx``, ``onnx_graph``) turns a model into a list of ``Node`` in
execution order, with the weights as numpy arrays in the framework's own layout (PyTorch and
ONNX agree: conv weight ``(C*M, 1, k...)``, output channel ``c*M + m``, NC... activations)
and padding already resolved to ``(lo, hi)`` pairs. ``plan_layers`` finds every depthwise
conv and the chain after it that one dwmlir kernel can take (BatchNorm, activation, a 1x1
pointwise conv with its own BatchNorm and activation, a residual add after either), folds
BatchNorm into weights and biases, and returns one ``Layer`` per kernel: a ``BlockSpec``
plus its buffers in the kernel's layouts.

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
from ..spec import Activation, BlockSpec, ConvSpec, Epilogue, Expand, Pointwise
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
    """Every depthwise conv of ``nodes`` as a kernel named ``lib_<layer>``, with the 1x1
    expand conv before it and what follows it fused; ``outputs`` are the model's outputs
    (they must stay visible)."""
    calls: dict[str, int] = {}
    for n in nodes:  # a module called twice is two layers: name, then name:2
        calls[n.name] = calls.get(n.name, 0) + 1
        if calls[n.name] > 1:
            n.name = f"{n.name}:{calls[n.name]}"
    g = _Graph(nodes, outputs)
    layers: list[Layer] = []
    for n in nodes:
        if n.is_depthwise and n.name not in g.taken:
            layer = _plan_one(n, g, lib, {x.kernel for x in layers})
            g.taken.update(layer.fused)
            layers.append(layer)
    return layers


class _Graph:
    """Who reads and who writes each value, and which nodes a kernel already took."""

    def __init__(self, nodes: list[Node], outputs: set[str]) -> None:
        self.outputs = outputs
        self.users: dict[str, list[Node]] = {}
        self.producer: dict[str, Node] = {}
        for n in nodes:
            self.producer[n.output] = n
            for v in n.inputs:
                self.users.setdefault(v, []).append(n)
        self.taken: set[str] = set()

    def private(self, value: str) -> bool:
        """Whether ``value`` is read once and not returned, so a kernel may keep it inside."""
        us = self.users.get(value, [])
        return value not in self.outputs and len(us) == 1 and us[0].inputs.count(value) == 1

    def sole_user(self, value: str, kinds: tuple[str, ...]) -> Node | None:
        """The node that alone reads ``value``, if it is of ``kinds`` and free."""
        if not self.private(value):
            return None
        n = self.users[value][0]
        return n if n.kind in kinds and n.name not in self.taken else None

    def sole_producer(self, value: str, kinds: tuple[str, ...]) -> Node | None:
        """The free node of ``kinds`` that writes ``value``, if ``value`` has no other reader."""
        n = self.producer.get(value)
        if n is None or n.kind not in kinds or n.name in self.taken or not self.private(value):
            return None
        return n


@dataclass
class _Conv1x1:
    """A 1x1 conv (expand or pointwise) with its BatchNorm folded and its activation."""

    nodes: list[str]
    input: str
    weight: np.ndarray  # (COUT, CIN)
    bias: np.ndarray
    has_bias: bool
    activation: Activation

    @property
    def epilogue(self) -> Epilogue:
        return Epilogue(bias=self.has_bias, activation=self.activation)


def _conv1x1(conv: Node, bn: Node | None, act: Node | None) -> _Conv1x1:
    assert conv.weight is not None
    w = conv.weight.reshape(conv.weight.shape[0], -1).astype(np.float64)
    b = np.zeros(w.shape[0]) if conv.bias is None else conv.bias.astype(np.float64)
    if bn is not None:
        w, b = _fold(w, b, bn)
    names = [n.name for n in (conv, bn, act) if n is not None]
    has_bias = conv.bias is not None or bn is not None
    return _Conv1x1(names, conv.inputs[0], w, b, has_bias, act.activation if act else Activation())


def _expand_before(dw: Node, g: _Graph) -> _Conv1x1 | None:
    """The 1x1 conv (+ BatchNorm, activation) that alone feeds ``dw``, if there is one."""
    value = dw.inputs[0]
    act = g.sole_producer(value, ("act",))
    if act is not None:
        value = act.inputs[0]
    bn = g.sole_producer(value, ("bn",))
    if bn is not None:
        value = bn.inputs[0]
    conv = g.sole_producer(value, ("conv",))
    if (
        conv is None
        or not conv.is_pointwise
        or conv.dtype != "float32"
        or len(conv.in_shape) != len(dw.in_shape)
    ):
        return None
    return _conv1x1(conv, bn, act)


def _pointwise_after(value: str, cm: int, g: _Graph) -> tuple[_Conv1x1, str] | None:
    """The 1x1 conv from the ``cm`` depthwise channels (+ BatchNorm, activation) that alone
    reads ``value``, and the value it ends with."""
    pw = g.sole_user(value, ("conv",))
    if pw is None or not pw.is_pointwise or pw.dtype != "float32" or pw.weight.shape[1] != cm:
        return None
    value = pw.output
    bn = g.sole_user(value, ("bn",))
    if bn is not None:
        value = bn.output
    act = g.sole_user(value, ("act",))
    if act is not None:
        value = act.output
    return _conv1x1(pw, bn, act), value


def _plan_one(dw: Node, g: _Graph, lib: str, names: set[str]) -> Layer:
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
    assert dw.weight is not None
    n_ch, cm = dw.in_shape[1], dw.weight.shape[0]
    mult = cm // n_ch
    w = dw.weight.astype(np.float64)
    b = np.zeros(cm) if dw.bias is None else dw.bias.astype(np.float64)
    has_bias = dw.bias is not None
    fused = [dw.name]
    value = dw.output
    bn = g.sole_user(value, ("bn",))
    if bn is not None:
        w, b = _fold(w, b, bn)
        has_bias, value = True, bn.output
        fused.append(bn.name)
    act = g.sole_user(value, ("act",))
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
    block_input = dw.inputs[0]

    # Expand: a 1x1 conv that alone feeds the depthwise conv (MobileNetV2's inverted residual).
    ex = _expand_before(dw, g)
    expand = None
    if ex is not None:
        expand = Expand(ex.weight.shape[1], ex.epilogue)
        candidate = _try_block(conv, epi, None, expand)
        if candidate is not None:
            block = candidate
            fused = ex.nodes + fused
            block_input = ex.input
            weights["expand_filter"] = ex.weight.T.astype(np.float32)  # [CIN][C]
            if ex.has_bias:
                weights["expand_bias"] = ex.bias.astype(np.float32)
        else:
            expand = None

    found = _pointwise_after(value, cm, g)
    if found is not None:
        pw, pw_value = found
        cout = pw.weight.shape[0]
        candidate = _try_block(conv, epi, Pointwise(cout, pw.epilogue), expand)
        if candidate is not None:
            block, value = candidate, pw_value
            fused += pw.nodes
            weights["pw_filter"] = pw.weight.T.astype(np.float32)  # [C*M][COUT]
            if pw.has_bias:
                weights["pw_bias"] = pw.bias.astype(np.float32)
            add = g.sole_user(value, ("add",))
            if add is not None and len(add.inputs) == 2 and block_input in add.inputs:
                with_res = _try_block(conv, epi, Pointwise(cout, pw.epilogue), expand, residual=True)
                if with_res is not None:
                    block, value = with_res, add.output
                    fused.append(add.name)
    if block.pointwise is None:  # no 1x1 conv after: the input may be added to the layer itself
        add = g.sole_user(value, ("add",))
        if add is not None and len(add.inputs) == 2 and block_input in add.inputs:
            with_res = _try_block(conv, epi, None, expand, residual=True)
            if with_res is not None:
                block, value = with_res, add.output
                fused.append(add.name)
    names.add(kernel)
    return Layer(dw.name, tuple(fused), block_input, value, block, weights)


def _try_block(
    conv: ConvSpec, epi: Epilogue, pw: Pointwise | None, ex: Expand | None, residual: bool = False
) -> BlockSpec | None:
    """The block with these parts, or None if dwmlir does not fuse them (then the 1x1 conv or
    the add stays outside the kernel, as any other layer)."""
    try:
        return BlockSpec(conv, epi, pw, expand=ex, residual=residual)
    except UserError:
        return None


def _fold(w: np.ndarray, b: np.ndarray, bn: Node) -> tuple[np.ndarray, np.ndarray]:
    """BatchNorm after a conv, folded into it: w * s per output channel, b * s + t."""
    assert bn.scale is not None and bn.bias is not None
    s, t = bn.scale.astype(np.float64), bn.bias.astype(np.float64)
    return w * s.reshape(-1, *([1] * (w.ndim - 1))), b * s + t


# The C symbols an imported kernel KERNEL defines beside itself: KERNEL_part (the library),
# KERNEL_apply and KERNEL_<buffer> (the weights file).
_SYMBOL_SUFFIXES = (
    "_part",
    "_apply",
    *(f"_{b}" for b in ("expand_filter", "expand_bias", "filter", "bias", "requant_scale")),
    *(f"_{b}" for b in ("pw_filter", "pw_bias", "pw_requant_scale")),
)


def _clashes(name: str, taken: set[str]) -> bool:
    """Whether kernel ``name`` would define a C symbol that a kernel of ``taken`` defines (layers
    ``w`` and ``w_apply``: ``lib_w_apply`` is both a kernel and the first one's call)."""
    mine = {name, *(name + s for s in _SYMBOL_SUFFIXES)}
    return any(t in mine or any(t + s in mine for s in _SYMBOL_SUFFIXES) for t in taken)


def _kernel_name(lib: str, source: str, taken: set[str]) -> str:
    base = f"{lib}_{re.sub(r'[^A-Za-z0-9_]+', '_', source).strip('_')}"[: MAX_NAME_LENGTH - 8]
    name, i = base, 2
    while _clashes(name, taken):
        name, i = f"{base}_{i}", i + 1
    return name
