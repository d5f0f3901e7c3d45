"""Framework importers: PyTorch (``from_torch``) and ONNX (``import_onnx``).

Each frontend (``torch_fx``, ``onnx_graph``) turns a model into framework-neutral ``Node``s;
``graph.plan_layers`` maps them to fused ``BlockSpec``s with their weights; ``model.build_model``
writes one library, a header and the weights as C source, and returns a callable
``ImportedModel``. Frontends sit above ``spec/`` and never reach into the rewrites. Nothing
heavy (numpy, torch, onnx) loads until a function is called, so ``import dwmlir`` stays fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import ImportedModel


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
    """Compile every depthwise conv of a PyTorch module, with what follows it fused.

    The module is traced with ``torch.fx`` and run on ``example_input`` (which fixes every
    shape). Each ``Conv1d/2d/3d`` with ``groups == in_channels`` (``out_channels = M *
    in_channels`` included) becomes one kernel, with a following BatchNorm folded into its
    weights and bias, a following ReLU, ReLU6, Hardtanh, SiLU or Hardswish, then a following
    1x1 conv (with its BatchNorm and activation, and a residual add of the block's input)
    fused in; a 1x1 conv (with its BatchNorm and activation) that alone feeds the depthwise
    conv becomes the fused expand stage (MobileNetV2's inverted residual is one kernel).
    Padding (ints, ``'same'``, ``'valid'``), stride and dilation map exactly. The kernels are
    channels-last: weights are transposed at import, and the returned model transposes
    activations. Everything else (the stem, squeeze-excite, pooling, linear layers) stays in
    PyTorch.

    Writes ``libNAME.a``, ``NAME.h``, ``NAME_weights.c`` and ``NAME.json`` into ``out_dir``
    (if given). Returns an :class:`ImportedModel`: call it to run the compiled layers under
    qemu, or ``.check()`` to compare each with the module's own output.

    Example::

        >>> import torch, dwmlir
        >>> net = torch.nn.Sequential(
        ...     torch.nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False),
        ...     torch.nn.BatchNorm2d(16), torch.nn.ReLU6(), torch.nn.Conv2d(16, 24, 1)).eval()
        >>> m = dwmlir.from_torch(net, torch.randn(1, 16, 20, 20), out_dir="build/net", name="net")
        >>> print(m.summary())
        kernel  op                              output  fused
        net_0   depthwise_conv_2d_nhwc_hwc  1x20x20x24  dw bias, relu6; pointwise 24, bias
        >>> sorted(m.paths)
        ['libnet.a', 'net.h', 'net.json', 'net_weights.c']
        >>> out = m(torch.randn(1, 16, 20, 20))   # each layer under qemu, in torch's layout
        >>> out["0"].shape
        (1, 24, 20, 20)
        >>> [(c.vector_bits, c.ok) for c in m.check(vector_bits=[128, 512])]
        [(128, True), (512, True)]
    """
    from .torch_fx import from_torch as impl

    return impl(module, example_input, target, out_dir, name=name, cpu=cpu, jobs=jobs)


def import_onnx(
    path: str | os.PathLike[str],
    target: str = "aarch64-sve",
    out_dir: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    cpu: str | None = None,
    jobs: int | None = None,
) -> ImportedModel:
    """Compile every depthwise ``Conv`` of an ONNX model, with what follows it fused.

    What ``dwmlir import model.onnx -o DIR`` does. A ``Conv`` with ``group`` equal to its
    input channels becomes one kernel, with a following ``BatchNormalization`` folded in, a
    following ``Relu``, ``Clip``, ``HardSwish`` or ``Sigmoid``-``Mul`` (SiLU), then a
    following 1x1 ``Conv`` (with its BatchNorm and activation, and an ``Add`` of the block's
    input) fused; a 1x1 ``Conv`` (with its BatchNorm and activation) that alone feeds the
    depthwise conv becomes the fused expand stage. The model's input shape must be static.
    Writes ``libNAME.a``, ``NAME.h``, ``NAME_weights.c`` and ``NAME.json`` into ``out_dir``
    (if given); ``name`` defaults to the file's stem. Returns an :class:`ImportedModel`; its
    ``check()`` runs each layer under qemu and compares it with onnxruntime.

    Example (a model exported from PyTorch; ``dwmlir import dw1d.onnx -o build/dw1d --check``
    does the same from the command line)::

        >>> import contextlib, io, torch, dwmlir
        >>> net = torch.nn.Sequential(torch.nn.Conv1d(8, 8, 5, padding=2, groups=8), torch.nn.SiLU())
        >>> with contextlib.redirect_stdout(io.StringIO()):  # the exporter's progress lines
        ...     _ = torch.onnx.export(net.eval(), (torch.randn(1, 8, 30),), "dw1d.onnx", dynamo=True,
        ...                           external_data=False)
        >>> m = dwmlir.import_onnx("dw1d.onnx", out_dir="build/dw1d")
        >>> print(m.summary())
        kernel  op                          output  fused
        dw1d_0  depthwise_conv_1d_nwc_wc  1x30x8  dw bias, silu
        >>> [(c.vector_bits, c.ok) for c in m.check(vector_bits=[128, 512])]
        [(128, True), (512, True)]
    """
    from .onnx_graph import import_onnx as impl

    return impl(path, target, out_dir, name=name, cpu=cpu, jobs=jobs)


def __getattr__(name: str) -> Any:
    """``ImportedModel``, ``LayerCheck``, ``Layer``, ``Node`` and ``plan_layers``, loaded on first use."""
    if name in ("ImportedModel", "LayerCheck"):
        from . import model

        return getattr(model, name)
    if name in ("Layer", "Node", "plan_layers"):
        from . import graph

        return getattr(graph, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ImportedModel", "Layer", "LayerCheck", "Node", "from_torch", "import_onnx", "plan_layers"]
