# RUN: %PYTHON %s | FileCheck %s
# The scratch a fused block's header states (and NAME.json's "scratch_bytes" after an expand
# stage) against the stack buffers its kernel allocates (the `alloca`s of NAME in the .ll):
# never less. Exact but for a bf16 block's copy of the filter's rows (a 2-D ring's), which
# its plan weighs at the f32 size of its expand window and allocates in bf16. Until the header weighed a bf16 block's expand plan in f32 too, it stated half
# of what the kernel allocates, or a plan the kernel did not take.

import json
import re

from dwmlir.artefact.compile import compile_spec
from dwmlir.spec import Activation, BlockSpec, ConvSpec, Epilogue, Expand, Pointwise
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")
BYTES = {"float": 4, "half": 2, "bfloat": 2, "i8": 1, "i16": 2, "i32": 4, "i64": 8}
RELU6 = Epilogue(bias=True, activation=Activation("relu6"))


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def allocated(ll: str, name: str) -> int:
    """Bytes of the stack buffers of function ``name``."""
    body = re.search(r"define [^@]*@" + re.escape(name) + r"\(.*?\n}\n", ll, re.S).group(0)
    return sum(int(n) * BYTES[t] for n, t in re.findall(r"alloca \[(\d+) x (\w+)\]", body))


def stated(header: str) -> int:
    text = " ".join(line.lstrip(" *") for line in header.splitlines())
    m = re.search(r"(\d+)-byte scratch|scratch on the kernel's stack, of (\d+) bytes", text)
    return int(m.group(1) or m.group(2))


def block(dtype: str, inp, kernel, *, stride=1, expand=0, pw=0, out=None) -> BlockSpec:
    c = inp[-1] if not expand else 6 * inp[-1]
    conv = ConvSpec(
        "depthwise_conv_2d_nhwc_hwc" if len(inp) == 4 else "depthwise_conv_1d_nwc_wc",
        (*inp[:-1], c),
        (*kernel, c),
        (stride,) * (len(inp) - 2),
        padding="same",
        dtype=dtype,
        name="k",
        **({"out_dtype": out} if out else {}),
    )
    return BlockSpec(
        conv,
        RELU6,
        Pointwise(pw, Epilogue(bias=True)) if pw else None,
        Expand(inp[-1], RELU6) if expand else None,
    )


CASES = {
    "f32 ring, expand + pointwise": block("f32", (1, 28, 28, 32), (3, 3), expand=1, pw=32),
    "f32 ring, stride 2, rows in a group": block("f32", (1, 14, 14, 96), (3, 3), stride=2, expand=1, pw=160),
    "f32 whole image, expand + pointwise": block("f32", (1, 7, 7, 160), (3, 3), expand=1, pw=160),
    "f32 pointwise, multi-row tiles": block("f32", (1, 14, 14, 256), (3, 3), pw=256),
    "f16 ring, expand + pointwise": block("f16", (1, 14, 14, 16), (3, 3), expand=1, pw=24),
    "bf16 ring, expand + pointwise": block("bf16", (1, 14, 14, 24), (3, 3), expand=1, pw=32),
    "bf16 ring, expand, bf16 output": block("bf16", (1, 12, 12, 16), (3, 3), expand=1, out="bf16"),
    "bf16 1-D window, expand + pointwise": block("bf16", (1, 40, 16), (5,), expand=1, pw=24),
    "bf16 ring, expand + pointwise, bf16 output (one chunk)": block(
        "bf16", (1, 14, 14, 48), (3, 3), stride=2, expand=1, pw=24, out="bf16"
    ),
}


# CHECK-LABEL: TEST: test_scratch_as_stated
# CHECK-NEXT: f32 ring, expand + pointwise: allocated = stated, json as the header
# CHECK-NEXT: f32 ring, stride 2, rows in a group: allocated = stated, json as the header
# CHECK-NEXT: f32 whole image, expand + pointwise: allocated = stated, json as the header
# CHECK-NEXT: f32 pointwise, multi-row tiles: allocated = stated
# CHECK-NEXT: f16 ring, expand + pointwise: allocated = stated, json as the header
# CHECK-NEXT: bf16 ring, expand + pointwise: allocated < stated, json as the header
# CHECK-NEXT: bf16 ring, expand, bf16 output: allocated = stated, json as the header
# CHECK-NEXT: bf16 1-D window, expand + pointwise: allocated = stated, json as the header
# CHECK-NEXT: bf16 ring, expand + pointwise, bf16 output (one chunk): allocated < stated, json as the header
@run
def test_scratch_as_stated():
    for what, spec in CASES.items():
        art = compile_spec(spec, SVE)
        got, say = allocated(art.text(".ll"), "k"), stated(art.text(".h"))
        rel = "=" if got == say else "<" if got < say else f"> ({got} > {say})"
        line = f"{what}: allocated {rel} stated"
        if spec.expand is not None:
            doc = json.loads(art.text(".json"))
            line += ", json as the header" if doc["expand"]["scratch_bytes"] == say else ", json differs"
        print(line)
