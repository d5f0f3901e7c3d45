# RUN: %PYTHON %s %t | FileCheck %s
# opt and llc for a kernel and its NAME_part side by side (dwmlir.artefact.codegen): the
# joined NAME.ll and NAME.s are what one opt and one llc give, and NAME.s is llc of NAME.ll.

import signal
import sys
import time
from pathlib import Path

from mlir import ir

from dwmlir.artefact.codegen import merge_assembly, split_functions
from dwmlir.artefact.compile import (
    _lower,
    compile_spec,
    kernel_backend_flags,
    llc_command,
)
from dwmlir.errors import InternalError, Terminated, ToolCrash
from dwmlir.spec import BlockSpec, ConvSpec, Epilogue, Pointwise, as_block
from dwmlir.target import get_target
from dwmlir.toolchain import Step, run, run_chains, tools

WORK = Path(sys.argv[1])
WORK.mkdir(parents=True, exist_ok=True)


def run_test(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def llvm_modules(spec: ConvSpec, target, vectorizer: str = "dwmlir") -> int:
    """How many LLVM IR modules go through opt and llc."""
    seen = []
    _lower(spec, target, vectorizer, seen.extend)
    return len(seen)


def functions(asm: str) -> list[str]:
    return [line.split(":")[0] for line in asm.splitlines() if line.endswith("@" + line.split(":")[0])]


# Kernels with NAME_part go through opt and llc as two modules. llc of the joined IR prints
# exactly the joined assembly: labels of the second function are numbered 1 (.LBB1_3).
# CHECK-LABEL: TEST: test_llc_of_ll_is_s
# CHECK-NEXT: 2-D static: 2 modules, functions k2, k2_part; llc(.ll) == .s: True; .LBB1_ True
# CHECK-NEXT: 1-D run-time W: 2 modules, functions k1, k1_part; llc(.ll) == .s: True; .LBB1_ True
# CHECK-NEXT: NEON: 2 modules, functions kn, kn_part; llc(.ll) == .s: True; .LBB1_ True
# CHECK-NEXT: SVE block: 2 modules, functions kb, kb_part; llc(.ll) == .s: True; .LBB1_ True
# CHECK-NEXT: host, a jump table: 2 modules, functions kh, kh_part; llc(.ll) == .s: True; .LBB1_ True
@run_test
def test_llc_of_ll_is_s():
    cases = [
        (
            "2-D static",
            ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 30, 30, 48), (3, 3, 48), name="k2"),
            "aarch64-sve",
        ),
        (
            "1-D run-time W",
            ConvSpec(
                "depthwise_conv_1d_nwc_wc", (1, 40, 64), (7, 64), padding="same", dynamic=("w",), name="k1"
            ),
            "aarch64-sve",
        ),
        (
            "NEON",
            ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 10, 10, 32), (3, 3, 32), name="kn"),
            "aarch64-neon",
        ),
        # A fused block, built without LLVM's machine scheduler (compile.machine_scheduler).
        (
            "SVE block",
            BlockSpec(
                ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 8, 8, 16), (3, 3, 16), padding="same", name="kb"),
                Epilogue(),
                Pointwise(8, Epilogue()),
            ),
            "aarch64-sve",
        ),
        # x86 puts the first function's jump table in .rodata: the second must switch back to
        # .text (it had landed in .rodata, and NAME_part crashed when called).
        (
            "host, a jump table",
            ConvSpec("depthwise_conv_1d_nwc_wc", (1, 5, 8), (1, 8), dynamic=("w",), name="kh"),
            "host",
        ),
    ]
    for what, spec, target_name in cases:
        target = get_target(target_name)
        modules = llvm_modules(spec, target)
        art = compile_spec(spec, target)
        block = as_block(spec)
        llc = llc_command(art.target, art.target.default_cpu, kernel_backend_flags(block, art.target))
        again = run([*llc, "-filetype=asm", "-", "-o", "-"], input=art.files[".ll"], what="llc").stdout
        asm = art.text(".s")
        print(
            f"{what}: {modules} modules, functions {', '.join(functions(asm))}; "
            f"llc(.ll) == .s: {again == art.files['.s']}; .LBB1_ {'.LBB1_' in asm}"
        )


# No split where it would not be exact: a vector-length-specific kernel has globals (its
# guard's message) and internal functions; upstream's vectorizer makes no NAME_part; a NAME
# that only calls its NAME_part (Parallel/whole-call.test) would call a function its module
# no longer defines.
# CHECK-LABEL: TEST: test_no_split
# CHECK-NEXT: aarch64-sve-vls256: 1 module
# CHECK-NEXT: upstream vectorizer: 1 module
# CHECK-NEXT: NAME calls NAME_part: 1 module, functions kc, kc_part
# CHECK-NEXT: a call between definitions: []
@run_test
def test_no_split():
    spec = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 10, 10, 32), (3, 3, 32), name="kv")
    n = llvm_modules(spec, get_target("aarch64-sve-vls256"))
    print(f"aarch64-sve-vls256: {n} module")
    n = llvm_modules(spec, get_target("aarch64-sve"), "upstream")
    print(f"upstream vectorizer: {n} module")
    with ir.Context():
        one = ir.Module.parse("llvm.func @f() { llvm.return }\nllvm.func @g()")
        assert split_functions(one) == []
    spec = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 114, 114, 32), (3, 3, 32), name="kc")
    n = llvm_modules(spec, get_target("aarch64-sve"))
    asm = compile_spec(spec, get_target("aarch64-sve")).text(".s")
    print(f"NAME calls NAME_part: {n} module, functions {', '.join(functions(asm))}")
    with ir.Context():
        calls = ir.Module.parse(
            "llvm.func @f() { llvm.call @g() : () -> ()\n llvm.return }\nllvm.func @g() { llvm.return }"
        )
        print(f"a call between definitions: {split_functions(calls)}")


# merge_assembly renumbers the second part's labels, comments included, and declines local
# labels that are numbered across the module (.Ltmp) or a part with another header.
# CHECK-LABEL: TEST: test_merge_assembly
# CHECK: b:
# CHECK-NEXT: .LBB1_1: // Header=BB1_1
# CHECK-NEXT: b .LBB1_1
# CHECK-NEXT: .Lfunc_end1:
# CHECK-NEXT: .size b, .Lfunc_end1-b
# CHECK-NEXT: .section ".note.GNU-stack","",@progbits
# CHECK-NEXT: .Ltmp: None
# CHECK-NEXT: other header: None
@run_test
def test_merge_assembly():
    def part(name: str, extra: str = "", head: str = '\t.file\t"LLVMDialectModule"\n') -> str:
        return (
            f"{head}\t.text\n\t.globl\t{name}\n{name}:\n.LBB0_1: // Header=BB0_1\n\tb .LBB0_1\n{extra}"
            f".Lfunc_end0:\n\t.size\t{name}, .Lfunc_end0-{name}\n"
            '\t.section\t".note.GNU-stack","",@progbits\n'
        )

    merged = merge_assembly([part("a"), part("b")])
    print(merged[merged.index("b:") :].replace("\t", " ").replace("  ", " "), end="")
    print(".Ltmp:", merge_assembly([part("a"), part("b", ".Ltmp0:\n")]))
    print("other header:", merge_assembly([part("a"), part("b", head='\t.file\t"x"\n')]))


# run_chains: steps of a chain run in order, a step waits for the steps it names, a tool
# that fails or crashes is reported like `run` reports it.
# CHECK-LABEL: TEST: test_run_chains
# CHECK-NEXT: order: first second third
# CHECK-NEXT: InternalError: false-tool failed (exit 1): oops
# CHECK-NEXT: ToolCrash: segv-tool crashed with SIGSEGV (sh); run tools/setup.sh to reinstall the toolchain
@run_test
def test_run_chains():
    log = WORK / "order.txt"
    log.unlink(missing_ok=True)

    def append(word: str, delay: float = 0.0) -> list[str]:
        return ["sh", "-c", f"sleep {delay}; echo {word} >> {log}"]

    run_chains(
        [
            [Step(append("first", 0.3), "a"), Step(append("third"), "c", after=((1, 0),))],
            [Step(append("second"), "b", after=((0, 0),))],
        ]
    )
    print("order:", " ".join(log.read_text().split()))
    for cmd, what in (
        (["sh", "-c", "echo oops >&2; exit 1"], "false-tool"),
        (["sh", "-c", "kill -SEGV $$"], "segv-tool"),
    ):
        try:
            run_chains([[Step(["sleep", "5"], "sleeper")], [Step(cmd, what)]])
        except (InternalError, ToolCrash) as exc:
            print(f"{type(exc).__name__}: {exc}")


# A signal that unwinds dwmlir while the chains start (after the first tool, before the
# second) kills the tool already started: no caller holds the Chains yet to kill it.
# CHECK-LABEL: TEST: test_chains_interrupted_while_starting
# CHECK-NEXT: Terminated; first tool running: False
@run_test
def test_chains_interrupted_while_starting():
    started = []
    real_popen = tools.subprocess.Popen

    def popen(*args, **kwargs):
        if started:
            raise Terminated(signal.SIGHUP)
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    tools.subprocess.Popen = popen
    try:
        tools.Chains([[Step(["sleep", "30"], "first")], [Step(["sleep", "30"], "second")]])
    except Terminated:
        time.sleep(0.1)
        print(f"Terminated; first tool running: {started[0].poll() is None}")
    finally:
        tools.subprocess.Popen = real_popen
        if started and started[0].poll() is None:
            started[0].kill()
