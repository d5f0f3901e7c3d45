"""Small ONNX files for the import tests, built with onnx.helper (no torch): argv[1] is the folder.

good.onnx: a depthwise Conv (SAME_UPPER, stride 2), BatchNormalization, Clip(0, 6), a 1x1 Conv
and HardSwish, then a depthwise Conv with multiplier 2 and explicit pads, Sigmoid*Mul (SiLU).
The others are each wrong in one way.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
rng = np.random.default_rng(0)
F = TensorProto.FLOAT


def init(name, shape, dtype=np.float32, lo=-1.0, hi=1.0):
    return numpy_helper.from_array(rng.uniform(lo, hi, shape).astype(dtype), name)


def model(nodes, inits, x_shape, y_shape, elem=F, name="m"):
    g = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", elem, x_shape)],
        [helper.make_tensor_value_info("y", elem, y_shape)],
        inits,
    )
    # IR version 10: onnxruntime 1.31 reads up to 13, onnx 1.23 writes 14 by default.
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


good = model(
    [
        helper.make_node(
            "Conv",
            ["x", "dw1.weight"],
            ["a"],
            group=8,
            kernel_shape=[3, 3],
            strides=[2, 2],
            auto_pad="SAME_UPPER",
        ),
        helper.make_node("BatchNormalization", ["a", "g", "b", "m", "v"], ["a2"], epsilon=1e-3),
        helper.make_node("Clip", ["a2", "zero", "six"], ["a3"]),
        helper.make_node("Conv", ["a3", "pw1.weight", "pw1.bias"], ["p"], kernel_shape=[1, 1]),
        helper.make_node("HardSwish", ["p"], ["p2"]),
        helper.make_node(
            "Conv",
            ["p2", "dw2.weight", "dw2.bias"],
            ["d"],
            group=12,
            kernel_shape=[3, 3],
            pads=[1, 0, 1, 2],
            dilations=[1, 2],
        ),
        helper.make_node("Sigmoid", ["d"], ["s"]),
        helper.make_node("Mul", ["d", "s"], ["y"]),
    ],
    [
        init("dw1.weight", (8, 1, 3, 3)),
        init("g", (8,), lo=0.5, hi=1.5),
        init("b", (8,)),
        init("m", (8,)),
        init("v", (8,), lo=0.5, hi=2.0),
        init("pw1.weight", (12, 8, 1, 1)),
        init("pw1.bias", (12,)),
        numpy_helper.from_array(np.array(0, np.float32), "zero"),
        numpy_helper.from_array(np.array(6, np.float32), "six"),
        init("dw2.weight", (24, 1, 3, 3)),
        init("dw2.bias", (24,)),
    ],
    [1, 8, 12, 12],
    [1, 24, 6, 4],
)
onnx.save(good, out / "good.onnx")

conv = helper.make_node("Conv", ["x", "w"], ["y"], group=1, kernel_shape=[3, 3])
onnx.save(model([conv], [init("w", (4, 4, 3, 3))], [1, 4, 8, 8], [1, 4, 6, 6]), out / "nodw.onnx")
dw = helper.make_node("Conv", ["x", "w"], ["y"], group=4, kernel_shape=[3, 3])
onnx.save(model([dw], [init("w", (4, 1, 3, 3))], ["N", 4, 8, 8], ["N", 4, 6, 6]), out / "dynamic.onnx")
onnx.save(
    model([dw], [init("w", (4, 1, 3, 3), np.float64)], [1, 4, 8, 8], [1, 4, 6, 6], TensorProto.DOUBLE),
    out / "f64.onnx",
)
bad = model([helper.make_node("Conv", ["x"], ["y"], group=4)], [], [1, 4, 8, 8], [1, 4, 6, 6])
(out / "invalid.onnx").write_bytes(bad.SerializeToString())
# Two layers whose kernels' C names would clash (lib_w_apply is also the first one's call).
dw_a = helper.make_node("Conv", ["x", "w"], ["a"], group=4, kernel_shape=[3, 3], pads=[1, 1, 1, 1])
dw_b = helper.make_node("Conv", ["a", "w_apply"], ["y"], group=4, kernel_shape=[3, 3], pads=[1, 1, 1, 1])
onnx.save(
    model([dw_a, dw_b], [init("w", (4, 1, 3, 3)), init("w_apply", (4, 1, 3, 3))], [1, 4, 6, 6], [1, 4, 6, 6]),
    out / "clash.onnx",
)
# Weights that do not fit the layer (onnx.checker lets both through).
bias5 = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=4, kernel_shape=[3, 3])
onnx.save(
    model([bias5], [init("w", (4, 1, 3, 3)), init("b", (5,))], [1, 4, 8, 8], [1, 4, 6, 6]),
    out / "badbias.onnx",
)
onnx.save(model([dw], [init("w", (4, 2, 3, 3))], [1, 4, 8, 8], [1, 4, 6, 6]), out / "badweight.onnx")
dw1x1 = helper.make_node("Conv", ["x", "w"], ["y"], group=4, kernel_shape=[1, 1])
onnx.save(model([dw1x1], [init("w", (4, 1, 1, 1))], [1, 4, 0, 8], [1, 4, 0, 8]), out / "emptydim.onnx")
two = helper.make_graph(
    [helper.make_node("Add", ["x", "x2"], ["s"]), helper.make_node("Conv", ["s", "w"], ["y"], group=4)],
    "two",
    [helper.make_tensor_value_info(v, F, [1, 4, 8, 8]) for v in ("x", "x2")],
    [helper.make_tensor_value_info("y", F, [1, 4, 6, 6])],
    [init("w", (4, 1, 3, 3))],
)
onnx.save(
    helper.make_model(two, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), out / "two.onnx"
)
(out / "garbage.onnx").write_bytes(b"\x08\x07garbage, not a protobuf\xff\xff")
(out / "empty.onnx").write_bytes(b"")
