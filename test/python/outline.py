# RUN: %PYTHON %s | FileCheck %s
# A fused expand block's GEMMs are functions of their own that the kernel calls
# (dwmlir.rewrite.outline) from an expand of 64 input channels: internal, never inlined,
# their buffers noalias, named after the kernel in emission order, counted with it against
# the code-size limit.

import re

from mlir import ir

from dwmlir.artefact import lower_to_llvm_dialect
from dwmlir.artefact.limits import census
from dwmlir.rewrite.outline import OUTLINED_ATTR
from dwmlir.spec import Activation, BlockSpec, ConvSpec, Epilogue, Expand, Pointwise
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")


def run(f):
    print("\nTEST:", f.__name__)
    with ir.Context(), ir.Location.unknown():
        f()
    return f


def functions(text: str) -> dict[str, str]:
    """Each llvm.func's name -> its text (to the next function)."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"llvm\.func (?:internal )?@(\w+)\(", text)]
    ends = [s for s, _ in starts[1:]] + [len(text)]
    return {name: text[s:e] for (s, name), e in zip(starts, ends, strict=True)}


def block(shape, c, cin, cout, stride=1, op="depthwise_conv_2d_nhwc_hwc", filt=None, padding="same"):
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    conv = ConvSpec(op, (1, *shape, c), filt or (3, 3, c), (stride,) * len(shape), padding=padding, name="b")
    return BlockSpec(conv, relu6, Pointwise(cout, Epilogue(bias=True)), Expand(cin, relu6))


# MobileNetV2's block 14 shape: its expand GEMMs (one per peeled chunk copy and kind of row
# fill) and pointwise GEMMs are b__exI and b__pwI, internal and noinline, every memref
# argument noalias (bare pointers: the views have static offsets); the kernel calls each once
# and runs no indexed FMA of its own (the depthwise sweep's FMAs stay). Built twice, the
# same text.
# CHECK-LABEL: TEST: test_outlined_gemms
# CHECK-NEXT: kernel b: calls every helper once True, indexed FMAs 0, FMAs {{[1-9][0-9]*}}
# CHECK-NEXT: helpers: ex {{[1-9][0-9]*}}, pw {{[1-9][0-9]*}}; internal noinline True, from b True, memrefs noalias True, FMAs in each True
# CHECK-NEXT: same text twice: True
@run
def test_outlined_gemms():
    b14 = block((14, 14), 576, 96, 160, 2)
    text = lower_to_llvm_dialect(b14, SVE)[3]
    funcs = functions(text)
    kernel = funcs.pop("b")
    calls = re.findall(r"llvm\.call @(b__\w+)\(", kernel)
    print(
        f"kernel b: calls every helper once {sorted(calls) == sorted(funcs)},",
        f"indexed FMAs {kernel.count('sve.fmla.lane')}, FMAs {len(re.findall(r'llvm.intr.fma|fmla', kernel))}",
    )
    kinds = {k: sum(1 for n in funcs if re.fullmatch(rf"b__{k}\d+", n)) for k in ("ex", "pw")}
    heads = [body.split("{\n", 1)[0] for body in funcs.values()]
    noinline, owner = 'passthrough = ["noinline"]', f'{OUTLINED_ATTR} = "b"'
    print(
        f"helpers: ex {kinds['ex']}, pw {kinds['pw']};",
        f"internal noinline {all('internal' in h and noinline in h for h in heads)},",
        f"from b {all(owner in h for h in heads)},",
        f"memrefs noalias {all(h.count('!llvm.ptr') == h.count('llvm.noalias') for h in heads)},",
        f"FMAs in each {all('sve.fmla.lane' in body for body in funcs.values())}",
    )
    print(f"same text twice: {lower_to_llvm_dialect(b14, SVE)[3] == text}")


# Only from an expand of 64 input channels (expand.OUTLINED_FROM_CIN): with 63 both GEMMs
# stay in the kernel. A GEMM whose buffer views sit at run-time offsets stays inline too (a
# bare pointer carries no offset): a 3-D block's pointwise GEMM of a tile, while its expand
# GEMMs go out. The code-size limit counts a kernel with the functions outlined from it (the
# largest such group), not its largest function alone.
# CHECK-LABEL: TEST: test_inline_and_census
# CHECK-NEXT: CIN 63: ['b']; CIN 64: ['b', 'b__ex0', 'b__pw0']
# CHECK-NEXT: 3-D: ['b', 'b__ex0', 'b__ex1', 'b__ex2']
# CHECK-NEXT: census counts b with its helpers: True, more than b alone: True
@run
def test_inline_and_census():
    names = {
        cin: list(functions(lower_to_llvm_dialect(block((8, 8), 48, cin, 8), SVE)[3])) for cin in (63, 64)
    }
    print(f"CIN 63: {names[63]}; CIN 64: {names[64]}")
    b3 = block((3, 4, 5), 10, 64, 5, op="depthwise_conv_3d_ndhwc_dhwc", filt=(2, 2, 2, 10), padding=2)
    print(f"3-D: {list(functions(lower_to_llvm_dialect(b3, SVE)[3]))}")
    vector = ir.Module.parse(lower_to_llvm_dialect(block((14, 14), 384, 64, 96), SVE)[2])
    sizes = {}
    for op in vector.body.operations:
        count = [0]

        def visit(_op, count=count):
            count[0] += 1
            return ir.WalkResult.ADVANCE

        op.operation.walk(visit)
        sizes[ir.StringAttr(op.operation.attributes["sym_name"]).value] = count[0]
    print(
        f"census counts b with its helpers: {census(vector)[0] == sum(sizes.values())},",
        f"more than b alone: {census(vector)[0] > sizes['b']}",
    )
