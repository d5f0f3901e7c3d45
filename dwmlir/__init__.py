"""dwmlir: depthwise convolutions to scalable-vector ARM SVE code with MLIR.

The Python API, in four names (each has a docstring with an example)::

    import dwmlir

    spec = dwmlir.ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 112, 112, 32), (3, 3, 32),
                           strides=2, padding=1, name="dw")   # torch-style padding=1: 1:1
    kernel = dwmlir.compile(spec, target="aarch64-sve", out_dir="build")
    kernel.paths["dw.h"], kernel.object            # files written, and every file's bytes
    runs = dwmlir.run(spec, vector_bits=[128, 512])   # under qemu, checked against numpy
    out = dwmlir.reference(spec, x, w)               # the numpy reference alone

- ``ConvSpec(op, input_shape, filter_shape, strides, dilations, dtype, name, padding,
  input_zp, filter_zp)``: one depthwise conv, validated once. Ints broadcast over the spatial
  dims; shapes, strides and padding also take the command line's strings ("1x9x9x4", "2,2",
  "same", "1:1,1:1").
- ``compile(spec, target, out_dir)`` -> ``CompiledKernel`` (``files``, ``paths``,
  ``object``, ``header``, ``assembly``).
- ``run(spec, input, filter, target=..., vector_bits=..., modes=...)`` -> list of ``KernelRun``.
- ``reference(spec, input, filter)`` -> numpy array; ``random_operands(spec, seed)``.
- ``BlockSpec(conv, Epilogue(bias=True, activation=Activation.parse("relu6")),
  Pointwise(cout, Epilogue(...)), Expand(cin, Epilogue(...)), residual=False)``: a depthwise
  conv (whose input is C channels) with a fused epilogue, 1x1 conv after and expand 1x1 conv
  before (the block's input then has CIN channels); ``residual=True`` adds the block's input
  to its output (after the 1x1 conv, or the depthwise layer without one); ``compile``,
  ``run`` and ``reference`` take it too, its extra buffers (expand_filter, expand_bias, bias,
  requant_scale, pw_filter, pw_bias) after input and filter.
- ``from_torch(module, example_input, target, out_dir)`` and ``import_onnx(path, target,
  out_dir)``: every depthwise conv of a PyTorch module or ONNX model, with the BatchNorm,
  activation and 1x1 conv after it fused, compiled into one library, a header and the weights
  as C source; the returned ``ImportedModel`` runs the layers under qemu and ``.check()``
  compares each with the framework.

Bad input raises ``UserError`` with a one-line message that says how to fix it. Every stage is
also importable on its own (``from dwmlir.artefact import compile_spec``, ``from dwmlir.run
import run_on_data``), one folder per stage, data moving one way:
spec -> ir -> schedule -> pipeline -> target/toolchain -> artefact -> run. The attributes
``dwmlir.run`` and ``dwmlir.reference`` stay the functions above even after the stage packages
of the same names are imported.
"""

import sys
import types

__version__ = "0.1.0"

# Light imports only: MLIR and numpy load when compile/run/reference are first called, so
# `dwmlir --help` does not pay for them.
from .api import CompiledKernel, KernelRun, compile, random_operands, reference, run  # noqa: E402
from .errors import UserError  # noqa: E402
from .frontends import from_torch, import_onnx  # noqa: E402
from .spec import Activation, BlockSpec, ConvSpec, Epilogue, Expand, Pointwise  # noqa: E402


class _Package(types.ModuleType):
    """Importing the stage packages dwmlir/run/ and dwmlir/reference/ sets the package attributes
    of the same names; this keeps them the façade functions (``from dwmlir.run import ...``
    still finds the stage package in sys.modules)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in ("run", "reference") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "Activation",
    "BlockSpec",
    "ConvSpec",
    "Epilogue",
    "Expand",
    "Pointwise",
    "CompiledKernel",
    "KernelRun",
    "UserError",
    "compile",
    "from_torch",
    "import_onnx",
    "random_operands",
    "reference",
    "run",
]
