# RUN: %PYTHON %s | FileCheck %s
# The JIT driver at several SVE lengths: one mlir-runner process, `main` setting each length
# with setArmVLBits and calling an out-of-line `dwmlir_run` (a kernel inlined into `main`
# would see one vscale for all of them), which prints the vscale it ran at before the output.
# The parser takes each run's output only at its own length; anything else is an internal
# error, never a pass. Which runs share a process: SVE's length-agnostic target under qemu.
# When the shared process fails, one process per length names the length that fails.

import importlib
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from mlir import ir

from dwmlir.artefact import compile_spec
from dwmlir.errors import InternalError
from dwmlir.run.jit import _driver_text, parse_printed_runs
from dwmlir.spec import ConvSpec, as_block
from dwmlir.target import get_target

runner = importlib.import_module("dwmlir.run.runner")  # ``dwmlir.run`` is also the API's function


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


SPEC = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 4, 2), (1, 2))
WORDS = "[0,  1065353216,  1073741824,  1077936128,  1082130432,  1084227584,  1086324736,  1088421888]"


def printed(vscale: int) -> str:
    head = "Unranked Memref base@ = 0x55002db5c0 rank = 1 offset = 0 sizes = [8] strides = [1] data = "
    return f"{vscale}\n{head}\n{WORDS}\n"


# CHECK-LABEL: TEST: test_driver
# CHECK:      func.func @main() {
# CHECK-NEXT:   %vl0 = arith.constant 128 : i32
# CHECK-NEXT:   call @setArmVLBits(%vl0) : (i32) -> ()
# CHECK-NEXT:   call @dwmlir_run() : () -> ()
# CHECK-NEXT:   %vl1 = arith.constant 2048 : i32
# CHECK-NEXT:   call @setArmVLBits(%vl1) : (i32) -> ()
# CHECK-NEXT:   call @dwmlir_run() : () -> ()
# CHECK-NEXT:   return
# CHECK:      func.func @dwmlir_run() {
# CHECK-NEXT:   %vs = vector.vscale
# CHECK:        call @printI64(%vs64)
# CHECK:        call @dwconv(
# CHECK-LABEL: one length:
# CHECK:      func.func @main() {
# CHECK-NEXT:   call @dwmlir_run() : () -> ()
# CHECK-NEXT:   return
# CHECK-NOT:  vscale
@run
def test_driver():
    block = as_block(SPEC)
    with ir.Context():
        print(_driver_text(block, [128, 2048]))
        print("one length:")
        print(_driver_text(block))


# CHECK-LABEL: TEST: test_parse_runs
# CHECK-NEXT: 2 runs, equal True, first [0.0, 1.0, 2.0, 3.0]
# CHECK-NEXT: the JIT run meant for 512 bits ran at 128 (setArmVLBits)
# CHECK-NEXT: mlir-runner printed 1 runs, expected 2
@run
def test_parse_runs():
    outs = parse_printed_runs(SPEC, printed(1) + printed(16), [128, 2048])
    print(f"{len(outs)} runs, equal {np.array_equal(*outs)}, first {outs[0].ravel()[:4].tolist()}")
    for stdout, bits in ((printed(1) + printed(1), [128, 512]), (printed(1), [128, 2048])):
        try:
            parse_printed_runs(SPEC, stdout, bits)
        except InternalError as exc:
            print(str(exc).split(":")[0])


# CHECK-LABEL: TEST: test_one_process
# CHECK-NEXT: aarch64-sve [128, 2048]: True
# CHECK-NEXT: aarch64-sve [256]: False
# CHECK-NEXT: aarch64-sve [None, 512]: False
# CHECK-NEXT: aarch64-sve-vls256 [256, 256]: False
# CHECK-NEXT: aarch64-neon [None, None]: False
# CHECK-NEXT: on an aarch64 host: False
@run
def test_one_process():
    cases = [
        ("aarch64-sve", [128, 2048]),
        ("aarch64-sve", [256]),
        ("aarch64-sve", [None, 512]),
        ("aarch64-sve-vls256", [256, 256]),
        ("aarch64-neon", [None, None]),
    ]
    runner.host_is_aarch64 = lambda: False
    for name, bits in cases:
        print(f"{name} {bits}: {runner._jit_lengths_in_one_process(get_target(name), bits)}")
    runner.host_is_aarch64 = lambda: True
    print("on an aarch64 host:", runner._jit_lengths_in_one_process(get_target("aarch64-sve"), [128, 2048]))


# CHECK-LABEL: TEST: test_failures
# CHECK-NEXT: a length crashes: mlir-runner at 2048 bits crashed with SIGSEGV
# CHECK-NEXT: only together: mlir-runner at 128,2048 bits crashed with SIGSEGV
# CHECK-NEXT: the sum timed out: [128, 2048]
@run
def test_failures():
    art = compile_spec(as_block(SPEC), get_target("aarch64-sve"))
    operands = [np.ones(SPEC.input_shape, np.float32), np.ones(SPEC.filter_shape, np.float32)]
    real = runner.run

    def fake(shared: str, fails: tuple[int, ...]):
        def run(args, what, ours):
            vl = next((a for a in args if "sve-default-vector-length" in str(a)), None)
            bits = int(str(vl).rsplit("=", 1)[1]) * 8 if vl else None
            if bits is None and shared:
                raise InternalError(f"{what} {shared}")
            if bits in fails:
                raise InternalError(f"{what} crashed with SIGSEGV")
            return subprocess.CompletedProcess(args, 0, printed(bits // 128).encode(), b"")

        return run

    cases = [
        ("a length crashes", "crashed with SIGSEGV", (2048,)),
        ("only together", "crashed with SIGSEGV", ()),
        ("the sum timed out", "timed out after 600 s", ()),
    ]
    runner.host_is_aarch64 = lambda: False
    try:
        for label, shared, fails in cases:
            runner.run = fake(shared, fails)
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    runs = runner._run_jit(art, Path(tmp), operands, [128, 2048])
                    print(f"{label}: {[vb for vb, *_ in runs]}")
                except InternalError as exc:
                    print(f"{label}: {exc}")
    finally:
        runner.run = real


# The JIT builds the kernel with the AOT build's code-generator choices: a fused f32 block on
# SVE without the machine scheduler (compile.machine_scheduler), passed to mlir-runner.
# CHECK-LABEL: TEST: test_backend_flags
# CHECK-NEXT: block on SVE: ['-enable-misched=false'], passed True
# CHECK-NEXT: block on NEON: []
@run
def test_backend_flags():
    from dwmlir.artefact import kernel_backend_flags
    from dwmlir.spec import BlockSpec, Epilogue, Pointwise

    conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 6, 6, 8), (3, 3, 8), padding="same")
    block = BlockSpec(conv, Epilogue(), Pointwise(4))
    sve = get_target("aarch64-sve")
    flags = kernel_backend_flags(block, sve)
    art = compile_spec(block, sve)
    operands = [np.ones(a.shape, np.float32) for a in block.inputs]
    real, seen = runner.run, []

    def run(args, what, ours):
        seen.append([str(a) for a in args])
        raise InternalError(f"{what} crashed with SIGSEGV")

    runner.run, runner.host_is_aarch64 = run, lambda: False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                runner._run_jit(art, Path(tmp), operands, [128, 2048])
            except InternalError:
                pass
    finally:
        runner.run = real
    print(f"block on SVE: {flags}, passed {all(f in seen[0] for f in flags)}")
    print(f"block on NEON: {kernel_backend_flags(block, get_target('aarch64-neon'))}")
