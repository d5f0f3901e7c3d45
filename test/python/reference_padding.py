# RUN: %PYTHON %s | FileCheck %s
# The numpy reference never builds the padded input: it gives what the definition on an
# explicitly padded input gives, and its memory follows the output, not the padding.

import itertools
import random
import tracemalloc

import numpy as np

from dwmlir.errors import UserError
from dwmlir.reference import depthwise_reference, random_operands
from dwmlir.spec import OPS, SUPPORTED_OPS, ConvSpec


def padded_definition(spec, inp, flt):
    """The textbook form: pad the canonical input with zeros, then strided slices per tap."""
    info, sp = spec.info, spec.info.spatial
    acc = np.float64 if spec.dtype.startswith("f") else np.int64
    x = np.transpose(inp, [info.input_layout.index(ch) for ch in "n" + sp + "c"]).astype(acc)
    x = np.pad(x - spec.input_zp, [(0, 0), *spec.padding, (0, 0)])
    w_order = sp + "c" + ("m" if info.multiplier else "")
    w = np.transpose(flt, [info.filter_layout.index(ch) for ch in w_order]).astype(acc) - spec.filter_zp
    w = w if info.multiplier else w[..., np.newaxis]
    out = np.zeros((spec.batch, *spec.out_spatial, spec.channels, spec.multiplier), dtype=acc)
    for taps in itertools.product(*(range(k) for k in spec.kernel)):
        index = [slice(None)]
        for t, o, s, d in zip(taps, spec.out_spatial, spec.strides, spec.dilations, strict=True):
            index.append(slice(t * d, t * d + (o - 1) * s + 1, s))
        out += x[tuple(index)][..., np.newaxis] * w[taps]
    if spec.out_dtype.startswith("i"):
        out = (out.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    out = out if info.multiplier else out[..., 0]
    canon = "n" + sp + "c" + ("m" if info.multiplier else "")
    return np.transpose(out, [canon.index(ch) for ch in info.output_layout])


def random_spec(rng, op):
    info = OPS[op]
    r = info.rank
    while True:
        sizes = {"n": rng.randint(1, 2), "c": rng.randint(1, 5), "m": rng.randint(1, 3)}
        kernel = [rng.randint(1, 4) for _ in range(r)]
        spatial = [rng.randint(1, 7) for _ in range(r)]
        strides = tuple(rng.randint(1, 4) for _ in range(r))
        dilations = tuple(rng.randint(1, 3) for _ in range(r))
        padding = tuple((rng.randint(0, 6), rng.randint(0, 6)) for _ in range(r))
        sizes.update(zip(info.spatial, spatial, strict=True))
        inp = tuple(sizes[ch] for ch in info.input_layout)
        ks = dict(zip(info.spatial, kernel, strict=True), c=sizes["c"], m=sizes["m"])
        flt = tuple(ks[ch] for ch in info.filter_layout)
        q = info.quantized
        try:
            return ConvSpec(
                op, inp, flt, strides, dilations, "i8" if q else rng.choice(["f32", "i32"]),
                padding=padding,
                input_zp=rng.randint(-128, 127) if q else 0,
                filter_zp=rng.randint(-128, 127) if q else 0,
            )  # fmt: skip
        except UserError:  # a kernel larger than the padded input: draw again
            continue


rng = random.Random(15)
differ = total = 0
for op in SUPPORTED_OPS:
    for i in range(40):
        spec = random_spec(rng, op)
        inp, flt = random_operands(spec, i)
        got, want = depthwise_reference(spec, inp, flt), padded_definition(spec, inp, flt)
        total += 1
        differ += not (got.shape == want.shape and np.array_equal(got, want))
print(f"{total} padded specs, {differ} differ")
# CHECK: {{[0-9]+}} padded specs, 0 differ

# Issue 15: 40 inputs, padding 2^25 on each side, stride 2^25: 3 outputs. The padded input
# alone would be 2^26 * 8 bytes = 512 MiB.
spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 40, 1), (1, 1), (2**25,), padding=((2**25, 2**25),))
inp, flt = random_operands(spec, 0)
tracemalloc.start()
out = depthwise_reference(spec, inp, flt)
peak = tracemalloc.get_traced_memory()[1]
print(f"output {out.shape}, peak below 1 MiB: {peak < 2**20}")
# CHECK-NEXT: output (1, 3, 1), peak below 1 MiB: True
