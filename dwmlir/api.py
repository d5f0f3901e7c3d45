"""The public Python façade: ``dwmlir.compile``, ``dwmlir.run``, ``dwmlir.reference``.

Each wraps the stage functions the CLI uses (``compile_spec``, ``write_artefacts``,
``run_on_data``, the numpy reference). MLIR and numpy are imported inside the functions, so
``import dwmlir`` (and so the ``dwmlir`` launcher) stays as fast as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UserError
from .spec import BlockSpec, ConvSpec, as_block

if TYPE_CHECKING:
    import numpy as np

DEFAULT_TARGET = "aarch64-sve"  # the CLI's default; dwmlir.target is not imported here (it is slower)


@dataclass(frozen=True)
class CompiledKernel:
    """What :func:`compile` made: every file's bytes by file name, and where they were written.

    ``files`` holds all artefacts (``NAME.o``, ``libNAME.a``, ``libNAME.so``, ``NAME.h``,
    ``NAME.s``, ``NAME.ll``, the ``.mlir`` stages, ``NAME.json``); ``paths`` only those written
    to ``out_dir`` (empty without one).
    """

    spec: ConvSpec | BlockSpec
    target: str
    cpu: str | None
    files: dict[str, bytes] = field(repr=False)
    paths: dict[str, Path] = field(repr=False)

    @property
    def object(self) -> bytes:
        """The ELF relocatable object ``NAME.o``."""
        return self.files[f"{self.spec.name}.o"]

    @property
    def header(self) -> str:
        """The C header ``NAME.h`` (the kernel's prototype and buffer layouts)."""
        return self.files[f"{self.spec.name}.h"].decode()

    @property
    def assembly(self) -> str:
        """The assembly ``NAME.s``."""
        return self.files[f"{self.spec.name}.s"].decode()


@dataclass(frozen=True)
class KernelRun:
    """One run of a kernel under qemu (or natively): where, whether it matched numpy, its output."""

    mode: str  # "aot" (object + C driver) or "jit" (aarch64 mlir-runner)
    vector_bits: int | None  # None on fixed-width targets (NEON, host)
    ok: bool
    max_abs_err: float
    tolerance: float
    mismatches: int
    seconds: float
    output: np.ndarray = field(repr=False)
    # A kernel with run-time sizes: the input shape of this call (None for static kernels).
    input_shape: tuple[int, ...] | None = None
    # > 0: NAME_part from this many threads, its output also checked bit for bit against NAME's.
    threads: int = 0


def _check_spec(spec: object) -> ConvSpec | BlockSpec:
    if not isinstance(spec, ConvSpec | BlockSpec):
        raise UserError(
            f"expected a dwmlir.ConvSpec or BlockSpec, got {type(spec).__name__}: "
            "build one with ConvSpec(...)"
        )
    return spec


def _operands(spec: ConvSpec | BlockSpec, given: Sequence[object]) -> list[np.ndarray]:
    """The kernel's input buffers (input, filter, then a block's bias, scales and pointwise
    weights, in ABI order) as arrays of their element types and shapes."""
    import numpy as np

    wanted = as_block(spec).inputs
    if len(given) != len(wanted):
        names = ", ".join(a.name for a in wanted)
        raise UserError(f"{spec.name} takes {len(wanted)} buffers ({names}), got {len(given)}")
    out = []
    for a, value in zip(wanted, given, strict=True):
        arr = np.asarray(value)
        if arr.shape != a.shape:
            raise UserError(
                f"{a.name} has shape {'x'.join(map(str, arr.shape))} but the spec needs "
                f"{'x'.join(map(str, a.shape))}"
            )
        if a.dtype == "bf16" and arr.dtype != np.uint16:
            from .reference.bf16 import to_bf16

            if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
                raise UserError(f"{a.name} has element type {arr.dtype} but bf16 needs real numbers")
            out.append(to_bf16(arr))  # values, rounded to nearest-even; uint16 arrays are bits
            continue
        try:
            out.append(arr.astype(a.np_dtype, casting="same_kind"))
        except TypeError:
            raise UserError(
                f"{a.name} has element type {arr.dtype} but the spec needs {a.np_dtype}"
            ) from None
    return out


def compile(
    spec: ConvSpec | BlockSpec,
    target: str = DEFAULT_TARGET,
    out_dir: str | Path | None = None,
    *,
    cpu: str | None = None,
    emit: str = "all",
) -> CompiledKernel:
    """Compile ``spec`` for ``target``; write the files to ``out_dir`` if given.

    ``target`` and ``cpu`` are as ``dwmlir compile --target/--cpu``; ``emit`` as ``--emit``
    (which files to write; all of them are in ``.files`` either way). ``out_dir`` is created if
    missing (its parent must exist); writes are atomic. Bad input raises ``dwmlir.UserError``
    with a one-line message.

    Example::

        >>> import dwmlir
        >>> spec = dwmlir.ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 56, 56, 32), (3, 3, 32),
        ...                        strides=2, padding=1, name="dw")
        >>> k = dwmlir.compile(spec, out_dir="build")
        >>> sorted(k.paths)[:3]
        ['dw.h', 'dw.json', 'dw.ll']
        >>> k.object[:4]
        b'\\x7fELF'
    """
    from .artefact import artefact_filename, compile_spec, parse_emit, write_artefacts
    from .target import get_target

    spec = _check_spec(spec)
    kinds = parse_emit(emit)
    resolved = get_target(target)
    art = compile_spec(spec, resolved, cpu)
    files = {artefact_filename(spec.name, suffix): data for suffix, data in art.files.items()}
    paths: dict[str, Path] = {}
    if out_dir is not None:
        paths = {p.name: p for p in write_artefacts(art, Path(out_dir), kinds)}
    return CompiledKernel(spec, resolved.name, cpu, files, paths)


def run(
    spec: ConvSpec | BlockSpec,
    input: object = None,
    filter: object = None,
    *params: object,
    target: str = DEFAULT_TARGET,
    vector_bits: int | Sequence[int] | None = None,
    modes: str | Sequence[str] = ("aot",),
    seed: int = 0,
    cpu: str | None = None,
    sizes: Sequence[Sequence[int]] | None = None,
    threads: Sequence[int] = (),
) -> list[KernelRun]:
    """Compile ``spec``, run it at each SVE vector length, and compare with :func:`reference`.

    ``input`` and ``filter`` are arrays in the op's layouts (cast to the spec's element type;
    for bf16, ``uint16`` arrays are bit patterns and other numbers are rounded to bf16),
    followed for a ``BlockSpec`` by its other buffers in the C ABI's order (bias,
    requant_scale, pw_filter, pw_bias); without them, random data from ``seed``.
    ``vector_bits`` defaults to 128, 256, 512 and 2048 for vector-length agnostic targets.
    ``modes``: ``"aot"`` (object + C driver, the default) and/or ``"jit"`` (aarch64
    mlir-runner). Returns one :class:`KernelRun` per mode and vector length, with the kernel's
    output.

    A kernel with run-time sizes (``ConvSpec(..., dynamic="n,w")`` or ``None`` sizes in the
    input shape) is called at each input shape of ``sizes`` in one process per vector length,
    on random data from ``seed`` (aot only); one :class:`KernelRun` per shape and vector
    length, with its ``input_shape``. A shape that gives no output passes when the kernel
    writes nothing.

    ``threads`` (aot): also call ``NAME_part`` from each number of threads of one process; those
    runs (``threads > 0``) pass only when their output equals one call of NAME bit for bit.

    Example::

        >>> import dwmlir, numpy as np
        >>> spec = dwmlir.ConvSpec("depthwise_conv_1d_nwc_wc", (1, 20, 8), (3, 8))
        >>> x, w = np.ones((1, 20, 8)), np.ones((3, 8))
        >>> runs = dwmlir.run(spec, x, w, vector_bits=[128, 512])
        >>> [(r.vector_bits, r.ok) for r in runs]
        [(128, True), (512, True)]
        >>> runs[0].output[0, 0, :3]
        array([3., 3., 3.], dtype=float32)
    """
    from .reference import random_block_operands
    from .run import MODES, check_vector_bits, run_on_data
    from .target import get_target

    spec = _check_spec(spec)
    if as_block(spec).conv.is_dynamic:
        return _run_sizes(spec, input, target, vector_bits, modes, seed, cpu, sizes, tuple(threads))
    if sizes is not None:
        raise UserError("sizes is for kernels with run-time sizes: give ConvSpec(..., dynamic=...)")
    if (input is None) != (filter is None):
        raise UserError("give both input and filter, or neither (random data from seed)")
    if input is None:
        inp, flt, *extra = random_block_operands(as_block(spec), seed)
    else:
        inp, flt, *extra = _operands(spec, [input, filter, *params])
    modes = tuple(m.strip() for m in modes.split(",")) if isinstance(modes, str) else tuple(modes)
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise UserError(f"unknown run mode '{bad[0] if bad else ''}': choose from {', '.join(MODES)}")
    if isinstance(vector_bits, int):
        vector_bits = (vector_bits,)
    bits = None if vector_bits is None else check_vector_bits(tuple(vector_bits))
    results = run_on_data(
        spec, get_target(target), inp, flt, bits, modes, cpu, params=extra, threads=tuple(threads)
    )
    return [
        KernelRun(
            r.mode,
            r.vector_bits,
            r.ok,
            r.max_abs_err,
            r.tolerance,
            r.mismatches,
            r.seconds,
            out,
            None,
            r.threads,
        )
        for r, out in results
    ]


def _run_sizes(spec, input, target, vector_bits, modes, seed, cpu, sizes, threads) -> list[KernelRun]:
    """``run`` for a kernel with run-time sizes: one driver calls it at every shape."""
    from .run import check_vector_bits
    from .run.runner import run_sizes
    from .target import get_target

    if input is not None:
        raise UserError(
            "a kernel with run-time sizes runs on random data: pass sizes=[shape, ...], not arrays"
        )
    if (modes if isinstance(modes, str) else ",".join(modes)).replace(" ", "") != "aot":
        raise UserError("a kernel with run-time sizes runs on the aot path only: use modes='aot'")
    if isinstance(vector_bits, int):
        vector_bits = (vector_bits,)
    bits = None if vector_bits is None else check_vector_bits(tuple(vector_bits))
    shapes = None if sizes is None else [tuple(int(v) for v in s) for s in sizes]
    return [
        KernelRun(
            r.result.mode,
            r.result.vector_bits,
            r.result.ok,
            r.result.max_abs_err,
            r.result.tolerance,
            r.result.mismatches,
            r.result.seconds,
            r.output,
            r.input_shape,
            r.result.threads,
        )
        for r in run_sizes(spec, get_target(target), shapes, bits, seed=seed, cpu=cpu, threads=threads)
    ]


def reference(spec: ConvSpec | BlockSpec, input: object, filter: object, *params: object) -> np.ndarray:
    """The convolution (or block) ``spec`` describes, computed by dwmlir's independent numpy
    reference.

    Operands are in the op's layouts; a ``BlockSpec`` takes its other buffers after them, in
    the C ABI's order. The result is float64 for float types (no rounding
    before the end; a bf16 output is rounded to bf16 as the kernel stores it) and int32 for
    integer ones, in the op's output layout.

    Example::

        >>> import dwmlir, numpy as np
        >>> spec = dwmlir.ConvSpec("depthwise_conv_1d_nwc_wc", (1, 5, 2), (3, 2), padding=1)
        >>> dwmlir.reference(spec, np.arange(10).reshape(1, 5, 2), np.ones((3, 2)))[0, :, 0]
        array([ 2.,  6., 12., 18., 14.])
    """
    import numpy as np

    from .reference import block_reference

    spec = _check_spec(spec)
    conv = as_block(spec).conv
    if conv.is_dynamic:  # the static spec the kernel computes at this input's sizes
        at = conv.at(np.shape(input))
        spec = at if isinstance(spec, ConvSpec) else dataclasses.replace(spec, conv=at)
    ops = _operands(spec, [input, filter, *params])
    return block_reference(spec, *ops)


def random_operands(spec: ConvSpec | BlockSpec, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Random input and filter for ``spec`` (and a block's other buffers), as :func:`run` uses
    them (exact in every dtype).

    Example::

        >>> x, w = dwmlir.random_operands(dwmlir.ConvSpec("depthwise_conv_1d_nwc_wc", (1, 9, 4), (3, 4)))
        >>> x.shape, w.shape, x.dtype
        ((1, 9, 4), (3, 4), dtype('float32'))
    """
    from .reference import random_block_operands

    return tuple(random_block_operands(as_block(_check_spec(spec)), seed))
