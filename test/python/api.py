# REQUIRES: qemu-aarch64, aarch64-cc
# RUN: rm -rf %t && mkdir -p %t
# RUN: %PYTHON %s %t | FileCheck %s
# The façade `import dwmlir` teaches: ConvSpec, compile, run, reference; lazy to import, and
# every docstring example runs as written.

import doctest
import os
import pydoc
import subprocess
import sys
from pathlib import Path

import numpy as np

import dwmlir
import dwmlir.api

TMP = Path(sys.argv[1])


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


# CHECK-LABEL: TEST: test_exports
# CHECK-NEXT: ['Activation', 'BlockSpec', 'CompiledKernel', 'ConvSpec', 'Epilogue', 'Expand', 'KernelRun', 'Pointwise', 'UserError', 'compile', 'from_torch', 'import_onnx', 'random_operands', 'reference', 'run']
# CHECK-NEXT: version 0.1.0
@run
def test_exports():
    print(sorted(dwmlir.__all__))
    print("version", dwmlir.__version__)


# The launcher imports dwmlir: neither MLIR nor numpy may load with it.
# CHECK-LABEL: TEST: test_import_is_lazy
# CHECK-NEXT: loaded: []
@run
def test_import_is_lazy():
    code = "import sys, dwmlir; print([m for m in ('mlir', 'numpy', 'dwmlir.artefact') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    print("loaded:", out.strip())


# help(dwmlir) lists the four names with their signatures, and each has an example.
# CHECK-LABEL: TEST: test_help
# CHECK-NEXT: compile(spec: 'ConvSpec | BlockSpec', target: 'str' = 'aarch64-sve', out_dir: 'str | Path | None' = None, *, cpu: 'str | None' = None, emit: 'str' = 'all') -> 'CompiledKernel'
# CHECK-NEXT: reference(spec: 'ConvSpec | BlockSpec', input: 'object', filter: 'object', *params: 'object') -> 'np.ndarray'
# CHECK-NEXT: run(spec: 'ConvSpec | BlockSpec', input: 'object' = None, filter: 'object' = None, *params: 'object', {{.*}}) -> 'list[KernelRun]'
# CHECK-NEXT: class ConvSpec(builtins.object)
# CHECK-NEXT: examples: compile reference run random_operands
@run
def test_help():
    page = pydoc.render_doc(dwmlir, renderer=pydoc.plaintext)
    for name in ("compile(", "reference(", "run(", "class ConvSpec("):
        print(next(line.strip() for line in page.splitlines() if line.strip().startswith(name)))
    documented = [f.__name__ for f in (dwmlir.compile, dwmlir.reference, dwmlir.run, dwmlir.random_operands)]
    print("examples:", *[n for n in documented if "Example::" in getattr(dwmlir, n).__doc__])


# Every docstring example runs and prints what it shows (qemu for run()).
# CHECK-LABEL: TEST: test_docstring_examples
# CHECK-NEXT: TestResults(failed=0, attempted=16)
@run
def test_docstring_examples():
    os.chdir(TMP)
    print(doctest.testmod(dwmlir.api, extraglobs={"dwmlir": dwmlir}, optionflags=doctest.ELLIPSIS))


# compile: every file in memory; only the chosen ones written, byte for byte the same.
# CHECK-LABEL: TEST: test_compile
# CHECK-NEXT: CompiledKernel(spec=ConvSpec(op='depthwise_conv_2d_nhwc_hwc', {{.*}}), target='aarch64-sve-vls256', cpu='neoverse-v1')
# CHECK-NEXT: files: dw2.h dw2.json dw2.ll dw2.llvm.mlir dw2.mlir dw2.o dw2.s dw2.schedule.mlir dw2.vector.mlir libdw2.a libdw2.so
# CHECK-NEXT: written: []
# CHECK-NEXT: void dw2(const float *input, const float *filter, float *output);
# CHECK-NEXT: object b'\x7fELF' asm ptrue
# CHECK-NEXT: written: ['dw2.h', 'dw2.o'] same bytes True
@run
def test_compile():
    spec = dwmlir.ConvSpec(
        "depthwise_conv_2d_nhwc_hwc", "1x9x9x8", [3, 3, 8], strides=2, padding=1, name="dw2"
    )
    k = dwmlir.compile(spec, target="aarch64-sve-vls256", cpu="neoverse-v1")
    print(repr(k))
    print("files:", *sorted(k.files))
    print("written:", sorted(k.paths))
    print(next(line for line in k.header.splitlines() if line.startswith("void")))
    print("object", k.object[:4], "asm", "ptrue" if "ptrue" in k.assembly else "no ptrue")
    k = dwmlir.compile(spec, target="aarch64-sve-vls256", out_dir=TMP / "dw2", emit="obj,header")
    same = all(path.read_bytes() == k.files[name] for name, path in k.paths.items())
    print("written:", sorted(k.paths), "same bytes", same)


# run: given data (cast to the spec's type) or random data; outputs come back.
# CHECK-LABEL: TEST: test_run
# CHECK-NEXT: aot 128 True f32 (1, 1, 5, 5)
# CHECK-NEXT: aot 2048 True f32 (1, 1, 5, 5)
# CHECK-NEXT: jit 128 True f32 (1, 1, 5, 5)
# CHECK-NEXT: jit 2048 True f32 (1, 1, 5, 5)
# CHECK-NEXT: matches reference True
# CHECK-NEXT: random i8: aot 256 True int32
@run
def test_run():
    spec = dwmlir.ConvSpec(
        "depthwise_conv_2d_nchw_chw", (1, 1, 7, 9), (1, 3, 3), padding=(0, 1), strides=(1, 2)
    )
    x = np.arange(63.0).reshape(1, 1, 7, 9)
    w = np.array([[[1, 0, -1], [2, 0, -2], [1, 0, -1]]])
    runs = dwmlir.run(spec, x, w, vector_bits=[128, 2048], modes="aot,jit")
    for r in runs:
        print(r.mode, r.vector_bits, r.ok, r.output.dtype.name.replace("float32", "f32"), r.output.shape)
    print("matches reference", np.array_equal(runs[0].output, dwmlir.reference(spec, x, w)))
    q = dwmlir.ConvSpec("depthwise_conv_2d_nhwc_hwc_q", (1, 6, 6, 5), (3, 3, 5), dtype="i8", input_zp=-3)
    (r,) = dwmlir.run(q, vector_bits=256, seed=4)
    print("random i8:", r.mode, r.vector_bits, r.ok, r.output.dtype)


# A block: the epilogue's and pointwise conv's buffers follow input and filter in ABI order.
# x = 1 everywhere, 3 taps of weight 1: dw = relu6(3 + bias) = relu6(3 - 5) = 0 in channel 0
# and relu6(3 + 5) = 6 in channel 1; then out = dw @ [[1, 2], [3, 4]] + pw_bias [0.5, 0].
# CHECK-LABEL: TEST: test_block
# CHECK-NEXT: reference [18.5, 24.0]
# CHECK-NEXT: aot 512 True [18.5, 24.0]
# CHECK-NEXT: error: dwconv takes 5 buffers (input, filter, bias, pw_filter, pw_bias), got 3
@run
def test_block():
    conv = dwmlir.ConvSpec("depthwise_conv_1d_nwc_wc", (1, 5, 2), (3, 2))
    relu6 = dwmlir.Activation.parse("relu6")
    block = dwmlir.BlockSpec(
        conv, dwmlir.Epilogue(bias=True, activation=relu6), dwmlir.Pointwise(2, dwmlir.Epilogue(bias=True))
    )
    ops = [np.ones((1, 5, 2)), np.ones((3, 2)), [-5.0, 5.0], [[1.0, 2.0], [3.0, 4.0]], [0.5, 0.0]]
    print("reference", dwmlir.reference(block, *ops)[0, 0].tolist())
    (r,) = dwmlir.run(block, *ops, vector_bits=512)
    print(r.mode, r.vector_bits, r.ok, r.output[0, 0].tolist())
    try:
        dwmlir.reference(block, *ops[:3])
    except dwmlir.UserError as exc:
        print("error:", exc)


# Bad input: one-line UserErrors naming the fix.
# CHECK-LABEL: TEST: test_errors
# CHECK-NEXT: error: expected a dwmlir.ConvSpec or BlockSpec, got str: build one with ConvSpec(...)
# CHECK-NEXT: error: unknown target 'riscv': choose one of aarch64-sve, {{.*}}
# CHECK-NEXT: error: unknown --emit kind 'pdf': choose from all, {{.*}}
# CHECK-NEXT: error: give both input and filter, or neither (random data from seed)
# CHECK-NEXT: error: input has shape 1x9x4 but the spec needs 1x10x4
# CHECK-NEXT: error: input has element type float64 but the spec needs int32
# CHECK-NEXT: error: unknown run mode 'interp': choose from aot, jit
# CHECK-NEXT: error: invalid vector length 100: SVE vector lengths are 128,256,512,1024,2048 bits
@run
def test_errors():
    spec = dwmlir.ConvSpec("depthwise_conv_1d_nwc_wc", (1, 10, 4), (3, 4), dtype="i32")
    x, w = np.zeros((1, 10, 4), np.int32), np.zeros((3, 4), np.int32)
    for call in (
        lambda: dwmlir.compile("depthwise_conv_1d_nwc_wc"),
        lambda: dwmlir.compile(spec, target="riscv"),
        lambda: dwmlir.compile(spec, out_dir=TMP / "never", emit="pdf"),
        lambda: dwmlir.run(spec, x),
        lambda: dwmlir.reference(spec, np.zeros((1, 9, 4), np.int32), w),
        lambda: dwmlir.reference(spec, x + 0.5, w),
        lambda: dwmlir.run(spec, modes="interp"),
        lambda: dwmlir.run(spec, vector_bits=[100]),
    ):
        try:
            call()
            print("accepted")
        except dwmlir.UserError as exc:
            print("error:", exc)
    assert not (TMP / "never").exists()


# A block's parts take only the epilogue fields that apply to them: a float pointwise or
# expand conv has no zero point or scale, and an output scale goes with relu6 alone.
# CHECK-LABEL: TEST: test_block_epilogue_errors
# CHECK-NEXT: error: --pointwise-output-zp and --pointwise-output-scale apply to int8 blocks (*_q ops)
# CHECK-NEXT: error: the expand conv of a float block does not requantize (no zero point or scale)
# CHECK-NEXT: error: --output-scale places int8 relu6's upper bound and nothing else: drop it, or use --activation relu6 (the activation is relu)
# CHECK-NEXT: int8 relu6 bounds [-5, -2] [-5, -4] [-5, 7]
@run
def test_block_epilogue_errors():
    conv = dwmlir.ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 6, 6, 8), (3, 3, 8), padding="same")
    q = dwmlir.ConvSpec("depthwise_conv_2d_nhwc_hwc_q", (1, 6, 6, 8), (3, 3, 8), dtype="i8")
    relu = dwmlir.Activation.parse("relu")
    for call in (
        lambda: dwmlir.BlockSpec(conv, pointwise=dwmlir.Pointwise(8, dwmlir.Epilogue(output_zp=5))),
        lambda: dwmlir.BlockSpec(conv, expand=dwmlir.Expand(4, dwmlir.Epilogue(output_zp=5))),
        lambda: dwmlir.BlockSpec(q, dwmlir.Epilogue(activation=relu, requantize=True, output_scale=0.1)),
    ):
        try:
            call()
            print("accepted")
        except dwmlir.UserError as exc:
            print("error:", exc)
    # relu6's bound is TFLite's: round(6 / S) in float32, ties away from zero (6 / 2.4 and
    # 6 / 12 are ties: 3 and 1 steps, where ties to even would give 2 and 0).
    relu6 = dwmlir.Activation.parse("relu6")
    bounds = [
        list(dwmlir.Epilogue(activation=relu6, requantize=True, output_zp=-5, output_scale=s).int8_bounds())
        for s in (2.4, 12.0, 0.5)
    ]
    print("int8 relu6 bounds", *bounds)


# threads=: NAME_part from several threads of one process, each output equal to one call's.
# CHECK-LABEL: TEST: test_threads
# CHECK-NEXT: 512 0 True
# CHECK-NEXT: 512 3 True
# CHECK-NEXT: same bits True
@run
def test_threads():
    spec = dwmlir.ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 6, 7, 37), (3, 3, 37), padding=1)
    runs = dwmlir.run(spec, vector_bits=512, threads=[3])
    for r in runs:
        print(r.vector_bits, r.threads, r.ok)
    print("same bits", runs[0].output.tobytes() == runs[1].output.tobytes())
