# REQUIRES: qemu-aarch64, aarch64-cc
# RUN: rm -rf %t && mkdir -p %t
# RUN: %PYTHON %s %t 2>/dev/null | FileCheck %s
# dwmlir.from_torch and dwmlir.import_onnx: exported and lazy, every docstring example runs as
# written, and every bad input is a one-line dwmlir.UserError that says what to do.

import doctest
import os
import pydoc
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

import dwmlir
import dwmlir.frontends

TMP = Path(sys.argv[1])


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


# CHECK-LABEL: TEST: test_exported
# CHECK-NEXT: from_torch(module: 'Any', example_input: 'Any', target: 'str' = 'aarch64-sve', out_dir: 'str | os.PathLike[str] | None' = None, *, name: 'str | None' = None, cpu: 'str | None' = None, jobs: 'int | None' = None) -> 'ImportedModel'
# CHECK-NEXT: import_onnx(path: 'str | os.PathLike[str]', target: 'str' = 'aarch64-sve', out_dir: 'str | os.PathLike[str] | None' = None, *, name: 'str | None' = None, cpu: 'str | None' = None, jobs: 'int | None' = None) -> 'ImportedModel'
# CHECK-NEXT: examples: from_torch import_onnx
# CHECK-NEXT: loaded: []
@run
def test_exported():
    page = pydoc.render_doc(dwmlir, renderer=pydoc.plaintext)
    for name in ("from_torch(", "import_onnx("):
        print(next(line.strip() for line in page.splitlines() if line.strip().startswith(name)))
    print(
        "examples:", *[f.__name__ for f in (dwmlir.from_torch, dwmlir.import_onnx) if "Example" in f.__doc__]
    )
    code = "import sys, dwmlir; print([m for m in ('torch', 'onnx', 'numpy') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    print("loaded:", out.strip())


# CHECK-LABEL: TEST: test_docstring_examples
# CHECK-NEXT: TestResults(failed=0, attempted=14)
@run
def test_docstring_examples():
    os.chdir(TMP)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    print(doctest.testmod(dwmlir.frontends, extraglobs={"dwmlir": dwmlir}, optionflags=flags))


def dw(c=8, **kw):
    return nn.Conv2d(c, c, 3, groups=c, **kw)


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = dw(padding=1)

    def forward(self, x):
        return self.conv(x) if x.sum() > 0 else x


def error(f):
    try:
        f()
    except dwmlir.UserError as exc:
        print(f"UserError: {exc}")
        return
    print("no error")


x8 = torch.randn(1, 8, 10, 10)


# CHECK-LABEL: TEST: test_bad_input
# CHECK-NEXT: UserError: Sequential is in training mode: call .eval() first (BatchNorm folds its running statistics, which only eval mode uses)
# CHECK-NEXT: UserError: layer 1: padding_mode='reflect' is not supported: dwmlir pads with zeros (use padding_mode='zeros', or pad before the conv)
# CHECK-NEXT: UserError: layer 0: dwmlir imports float32 models, this layer is float64: convert the model with .float() (int8 models go through dwmlir compile --dtype i8)
# CHECK-NEXT: UserError: cannot trace DataDependent with torch.fx: symbolically traced variables cannot be used as inputs to control flow; make forward free of data-dependent control flow
# CHECK-NEXT: UserError: from_torch needs a torch.nn.Module, got function
# CHECK-NEXT: UserError: the example input must be a torch.Tensor or numpy array, got list
# CHECK-NEXT: UserError: Sequential fails on the example input of shape (1, 3, 10, 10): Given groups=8, weight of size [8, 1, 3, 3], expected input[1, 3, 10, 10] to have 8 channels, but got 3 channels instead
# CHECK-NEXT: UserError: no depthwise conv in Sequential: dwmlir imports Conv layers with groups == in_channels (nothing to compile)
# CHECK-NEXT: UserError: model name 'my net' {{.*}}; choose another name
# CHECK-NEXT: UserError: unknown target 'sve3'{{.*}}
# CHECK-NEXT: UserError: layer 0 gets a 1x8x12x12 input but was imported for 1x8x10x10: import the model again with an example input of this shape
# CHECK-NEXT: UserError: invalid vector length 96: {{.*}}
# CHECK-NEXT: UserError: invalid vector length 4096: {{.*}}
@run
def test_bad_input():
    error(lambda: dwmlir.from_torch(nn.Sequential(dw(), nn.BatchNorm2d(8)), x8))
    error(
        lambda: dwmlir.from_torch(nn.Sequential(nn.ReLU(), dw(padding=1, padding_mode="reflect")).eval(), x8)
    )
    error(lambda: dwmlir.from_torch(nn.Sequential(dw()).double().eval(), x8.double()))
    error(lambda: dwmlir.from_torch(DataDependent().eval(), x8))
    error(lambda: dwmlir.from_torch(lambda x: x, x8))
    error(lambda: dwmlir.from_torch(nn.Sequential(dw()).eval(), [1, 2]))
    error(lambda: dwmlir.from_torch(nn.Sequential(dw()).eval(), torch.randn(1, 3, 10, 10)))
    error(lambda: dwmlir.from_torch(nn.Sequential(nn.Conv2d(8, 8, 3)).eval(), x8))
    error(lambda: dwmlir.from_torch(nn.Sequential(dw()).eval(), x8, name="my net"))
    error(lambda: dwmlir.from_torch(nn.Sequential(dw()).eval(), x8, target="sve3"))
    net = dwmlir.from_torch(nn.Sequential(dw()).eval(), x8, name="small")
    error(lambda: net(torch.randn(1, 8, 12, 12)))
    error(lambda: net.check(vector_bits=[128, 96]))
    error(lambda: net(x8, vector_bits=4096))


class Twice(nn.Module):
    """One depthwise conv module called twice (two layers, one set of weights)."""

    def __init__(self):
        super().__init__()
        self.dw = dw(padding=1)

    def forward(self, x):
        return self.dw(torch.relu(self.dw(x)))


# CHECK-LABEL: TEST: test_module_called_twice
# CHECK-NEXT: twice_dw <- dw, relu
# CHECK-NEXT: twice_dw_2 <- dw:2
# CHECK-NEXT: 4/4 ok
@run
def test_module_called_twice():
    net = dwmlir.from_torch(Twice().eval(), x8, name="twice")
    for layer in net.layers:
        print(layer.kernel, "<-", ", ".join(layer.fused))
    checks = net.check(vector_bits=[128, 512])
    print(f"{sum(c.ok for c in checks)}/{len(checks)} ok")


# Other targets: x86-64 natively, NEON under qemu without SVE, SVE specialized to 256 bits.
# CHECK-LABEL: TEST: test_targets
# CHECK-NEXT: host: t_0 (layer 0) (fixed-width target): ok
# CHECK-NEXT: aarch64-neon: t_0 (layer 0) (fixed-width target): ok
# CHECK-NEXT: aarch64-sve-vls256: t_0 (layer 0) at 256 bits: ok
@run
def test_targets():
    net = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, groups=8), nn.ReLU(), nn.Conv2d(16, 8, 1)).eval()
    for target in ("host", "aarch64-neon", "aarch64-sve-vls256"):
        m = dwmlir.from_torch(net, x8, target=target, name="t")
        print(f"{target}:", *(str(c).split(",")[0] for c in m.check()))


# A VLS target runs at its own length only, a fixed-width one at none: asking for another is
# an error, as in dwmlir.run, not a check run silently at the target's length.
# CHECK-LABEL: TEST: test_fixed_lengths
# CHECK-NEXT: UserError: target aarch64-sve-vls256 runs only at 256 bits: drop --vector-bits or use --vector-bits 256 (aarch64-sve runs at any vector length)
# CHECK-NEXT: UserError: target aarch64-sve-vls256 runs only at 256 bits: {{.*}}
# CHECK-NEXT: UserError: target host has fixed-width vectors: drop --vector-bits (it applies to the SVE targets)
@run
def test_fixed_lengths():
    net = nn.Sequential(dw(padding=1)).eval()
    vls = dwmlir.from_torch(net, x8, target="aarch64-sve-vls256", name="v")
    error(lambda: vls.check(vector_bits=[512, 2048]))
    error(lambda: vls(x8, vector_bits=1024))
    error(lambda: dwmlir.from_torch(net, x8, target="host", name="h").check(vector_bits=[512]))


class Clash(nn.Module):
    """Submodules whose kernel names would clash: net_dw_apply is net_dw's call."""

    def __init__(self):
        super().__init__()
        self.dw = dw(padding=1)
        self.dw_apply = dw(padding=1)

    def forward(self, x):
        return self.dw_apply(torch.relu(self.dw(x)))


# A model that fails on the example input is one line: torch.fx's own traceback of the
# failing node does not reach stderr. Kernel names never define the same C symbol twice.
# CHECK-LABEL: TEST: test_quiet_failure_and_distinct_names
# CHECK-NEXT: UserError: Sequential fails on the example input of shape (1, 4, 10, 10): {{.*}}
# CHECK-NEXT: stderr: ''
# CHECK-NEXT: clash_dw clash_dw_apply_2
# CHECK-NEXT: 2/2 ok
@run
def test_quiet_failure_and_distinct_names():
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        error(lambda: dwmlir.from_torch(nn.Sequential(dw()).eval(), torch.randn(1, 4, 10, 10)))
    print("stderr:", repr(err.getvalue()))
    net = dwmlir.from_torch(Clash().eval(), x8, out_dir=TMP / "clash", name="clash")
    print(*(layer.kernel for layer in net.layers))
    checks = net.check(vector_bits=[128])
    print(f"{sum(c.ok for c in checks)}/{len(checks)} ok")
