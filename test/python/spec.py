# RUN: %PYTHON %s | FileCheck %s
# Spec validation: derived shapes, and one clear message per kind of bad input.

from dwmlir.errors import UserError
from dwmlir.spec import OPS, ConvSpec, parse_int_list, parse_shape


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


# SAME follows TensorFlow: output ceil(in / stride), the odd extra row at the high end.
# CHECK-LABEL: TEST: test_shapes
# CHECK-NEXT: out (1, 1024, 64) spatial (1024,) padding ((0, 0),)
# CHECK-NEXT: out (2, 12, 7) spatial (12,) padding ((0, 0),)
# CHECK-NEXT: out (1, 56, 56, 32) spatial (56, 56) padding ((0, 1), (0, 1))
# CHECK-NEXT: out (1, 112, 112, 32) spatial (112, 112) padding ((1, 1), (1, 1))
# CHECK-NEXT: out (1, 4, 7, 9, 8) spatial (4, 7, 9) padding ((1, 2), (0, 0), (2, 2))
@run
def test_shapes():
    for spec in (
        ConvSpec("depthwise_conv_1d_nwc_wc", (1, 1030, 64), (7, 64)),
        ConvSpec("depthwise_conv_1d_nwc_wc", (2, 40, 7), (3, 7), (3,), (3,)),
        ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 112, 112, 32), (3, 3, 32), (2, 2), padding="same"),
        ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 112, 112, 32), (3, 3, 32), padding="same"),
        ConvSpec(
            "depthwise_conv_3d_ndhwc_dhwc", (1, 4, 9, 9, 8), (4, 3, 5, 8), padding=((1, 2), (0, 0), (2, 2))
        ),
    ):
        print("out", spec.output_shape, "spatial", spec.out_spatial, "padding", spec.padding)


# CHECK-LABEL: TEST: test_op_table
# CHECK-NEXT: 11 ops
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwcm_q rank 2 in nhwc filter hwcm out nhwcm q True m True last True
# CHECK-NEXT: depthwise_conv_3d_ncdhw_cdhw rank 3 in ncdhw filter cdhw out ncdhw q False m False last False
@run
def test_op_table():
    print(len(OPS), "ops")
    for name in ("depthwise_conv_2d_nhwc_hwcm_q", "depthwise_conv_3d_ncdhw_cdhw"):
        i = OPS[name]
        print(
            name,
            "rank",
            i.rank,
            "in",
            i.input_layout,
            "filter",
            i.filter_layout,
            "out",
            i.output_layout,
            "q",
            i.quantized,
            "m",
            i.multiplier,
            "last",
            i.channels_last,
        )


def expect_error(make):
    try:
        make()
    except UserError as exc:
        print("error:", exc)
    else:
        print("no error")


# CHECK-LABEL: TEST: test_bad_specs
# CHECK-NEXT: error: kernel larger than input along 'w': dilated kernel spans 7 but input has 5
# CHECK-NEXT: error: kernel larger than input along 'w': dilated kernel spans 7 but input has 6
# CHECK-NEXT: error: channel mismatch: input has 4 channels but filter has 5
# CHECK-NEXT: error: unknown op 'depthwise_conv_4d': choose one of depthwise_conv_1d_nwc_wc,
# CHECK-NEXT: error: strides must be >= 1, got 0
# CHECK-NEXT: error: dilations must be >= 1, got -1
# CHECK-NEXT: error: strides has 2 values but depthwise_conv_1d_nwc_wc has 1 spatial dims
# CHECK-NEXT: error: input shape 1x10 has rank 2 but depthwise_conv_1d_nwc_wc takes a rank-3 input
# CHECK-NEXT: error: kernel name '1k' is not a C identifier
# CHECK-NEXT: error: kernel name 'int' is a C keyword
# CHECK-NEXT: error: unknown element type 'f64': choose one of f32, f16, bf16, i32, i8
# CHECK-NEXT: error: input has 999970000299999 elements, more than the supported 2^31-1
# CHECK-NEXT: error: malformed input shape '1x-3x4'
# CHECK-NEXT: error: input shape '1x0x4' has a zero size
# CHECK-NEXT: error: malformed strides '2,,1'
@run
def test_bad_specs():
    nwc = "depthwise_conv_1d_nwc_wc"
    expect_error(lambda: ConvSpec(nwc, (1, 5, 4), (7, 4)))
    expect_error(lambda: ConvSpec(nwc, (1, 6, 4), (4, 4), dilations=(2,)))
    expect_error(lambda: ConvSpec(nwc, (1, 10, 4), (3, 5)))
    expect_error(lambda: ConvSpec("depthwise_conv_4d", (1, 10, 4), (3, 4)))
    expect_error(lambda: ConvSpec(nwc, (1, 10, 4), (3, 4), strides=(0,)))
    expect_error(lambda: ConvSpec(nwc, (1, 10, 4), (3, 4), dilations=(-1,)))
    expect_error(lambda: ConvSpec(nwc, (1, 10, 4), (3, 4), strides=(1, 1)))
    expect_error(lambda: ConvSpec(nwc, (1, 10), (3, 4)))
    expect_error(lambda: ConvSpec(nwc, (1, 10, 4), (3, 4), name="1k"))
    expect_error(lambda: ConvSpec(nwc, (1, 10, 4), (3, 4), name="int"))
    expect_error(lambda: ConvSpec(nwc, (1, 10, 4), (3, 4), dtype="f64"))
    expect_error(lambda: ConvSpec(nwc, (99999, 99999, 99999), (3, 99999)))
    expect_error(lambda: parse_shape("1x-3x4", "input"))
    expect_error(lambda: parse_shape("1x0x4", "input"))
    expect_error(lambda: parse_int_list("2,,1", "strides"))


# Natural Python values: ints broadcast over the spatial dims, lists and CLI strings work,
# torch-style padding is symmetric per dim; wrong types are one-line UserErrors.
# CHECK-LABEL: TEST: test_natural_values
# CHECK-NEXT: strides (2, 2) dilations (1, 1) padding ((1, 1), (1, 1)) out (1, 56, 56, 32)
# CHECK-NEXT: strides (2, 1) dilations (2, 2) padding ((1, 1), (2, 2)) out (1, 55, 112, 32)
# CHECK-NEXT: strides (1, 1) dilations (1, 1) padding ((1, 1), (1, 1)) out (1, 112, 112, 32)
# CHECK-NEXT: strides (1, 1) dilations (1, 1) padding ((0, 1), (1, 0)) out (1, 111, 111, 32)
# CHECK-NEXT: strides (2, 2) dilations (1, 1) padding ((0, 1), (0, 1)) out (1, 56, 56, 32)
# CHECK-NEXT: strides (1, 1) dilations (1, 1) padding ((1, 1), (2, 2)) out (1, 112, 114, 32)
# CHECK-NEXT: equal True
# CHECK-NEXT: error: strides must be an int, a list or tuple of ints or a string, got 1.5
# CHECK-NEXT: error: strides must be an int, a list or tuple of ints or a string, got True
# CHECK-NEXT: error: each value of dilations must be an integer, got '2'
# CHECK-NEXT: error: padding must be valid, same, an int, or one int or (lo, hi) per dim, got 1.0
# CHECK-NEXT: error: padding must be an integer, got None
# CHECK-NEXT: error: malformed padding '1;1': write valid, same, P (P:P on every spatial dim), or LO:HI or P per spatial dim joined by ',', e.g. 1:1,2:2 or 1,2
# CHECK-NEXT: error: input shape must be a list or tuple of ints or a string, got 5
# CHECK-NEXT: error: each value of filter shape must be an integer, got 32.0
# CHECK-NEXT: error: input zero point must be an integer, got '3'
# CHECK-NEXT: error: unknown op ['depthwise_conv_2d_nhwc_hwc']: choose one of {{.*}}
# CHECK-NEXT: error: name must be a string, got 7
@run
def test_natural_values():
    op = "depthwise_conv_2d_nhwc_hwc"
    shapes = ((1, 112, 112, 32), (3, 3, 32))
    for kwargs in (
        dict(strides=2, padding=1),
        dict(strides=[2, 1], dilations=2, padding=(1, 2)),
        dict(padding="1:1,1:1"),
        dict(padding=[[0, 1], [1, 0]]),
        dict(strides="2,2", padding="same"),
        dict(padding="1,2"),
    ):
        s = ConvSpec(op, *shapes, **kwargs)
        print("strides", s.strides, "dilations", s.dilations, "padding", s.padding, "out", s.output_shape)
    same = ConvSpec(op, "1x112x112x32", [3, 3, 32], strides=2, padding=1)
    print("equal", same == ConvSpec(op, *shapes, strides=(2, 2), padding=((1, 1), (1, 1))))
    q = "depthwise_conv_2d_nhwc_hwc_q"
    for args, kwargs in (
        ((op, *shapes), dict(strides=1.5)),
        ((op, *shapes), dict(strides=True)),
        ((op, *shapes), dict(dilations=[1, "2"])),
        ((op, *shapes), dict(padding=1.0)),
        ((op, *shapes), dict(padding=[1, None])),
        ((op, *shapes), dict(padding="1;1")),
        ((op, 5, shapes[1]), {}),
        ((op, shapes[0], (3, 3, 32.0)), {}),
        ((q, *shapes), dict(dtype="i8", input_zp="3")),
        (([op], *shapes), {}),
        ((op, *shapes), dict(name=7)),
    ):
        try:
            ConvSpec(*args, **kwargs)
            print("accepted", kwargs)
        except UserError as exc:
            print("error:", exc)
