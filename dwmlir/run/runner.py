"""Run a compiled kernel on random data at several vector lengths and check it.

Two paths, both under qemu-aarch64 (or natively on an aarch64 host with SVE):
``aot`` links the object with a generated C driver; ``jit`` hands a driver module plus the
lowered kernel to the aarch64 mlir-runner. Both compare with the numpy reference.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..artefact import Artefacts, compile_spec, write_artefacts
from ..errors import UserError
from ..reference import block_reference, compare_block, random_block_operands
from ..rewrite import DEFAULT_VECTORIZER
from ..spec import BlockSpec, ConvSpec, as_block
from ..target import SVE_VECTOR_BITS, Target
from ..toolchain import aarch64_runtime, exec_prefix, run
from .harness import link_harness, render_harness
from .jit import DRIVER_ENTRY, build_jit_module, parse_printed

MODES = ("aot", "jit")
VALID_VECTOR_BITS = SVE_VECTOR_BITS


@dataclass(frozen=True)
class RunResult:
    mode: str
    vector_bits: int | None  # None: a fixed-width target (NEON, host)
    ok: bool
    max_abs_err: float
    tolerance: float
    mismatches: int
    seconds: float


def check_vector_bits(values: Sequence[int]) -> tuple[int, ...]:
    bad = [v for v in values if v not in VALID_VECTOR_BITS]
    if bad or not values:
        raise UserError(
            f"invalid vector length {','.join(map(str, bad)) or '(none)'}: SVE vector lengths are "
            f"{','.join(map(str, VALID_VECTOR_BITS))} bits"
        )
    twice = sorted({v for v in values if list(values).count(v) > 1})
    if twice:
        raise UserError(f"vector length {twice[0]} is given twice: give each length once")
    return tuple(values)


def _run_aot(art: Artefacts, tmp: Path, operands: Sequence[np.ndarray], bits: Sequence[int | None]):
    block, target = art.block, art.target
    write_artefacts(art, tmp / "kernel", emit=(".o", ".h"))
    (tmp / "driver.c").write_text(render_harness(block))
    exe = tmp / "driver"
    link_harness(target, tmp / "driver.c", tmp / "kernel", tmp / "kernel" / f"{block.name}.o", exe)
    files = []
    for arg, arr in zip(block.inputs, operands, strict=True):
        files.append(tmp / f"{arg.name}.bin")
        files[-1].write_bytes(np.ascontiguousarray(arr, dtype=arg.np_dtype).tobytes())
    for vb in bits:
        out = tmp / f"output-{vb}.bin"
        start = time.perf_counter()
        where = f"{vb} bits" if vb else target.name
        run([*exec_prefix(target, vb), exe, *files, out], what=f"kernel at {where}", ours=True)
        got = np.frombuffer(out.read_bytes(), dtype=block.out_np_dtype).reshape(block.output_shape)
        yield vb, got, time.perf_counter() - start


def _run_jit(art: Artefacts, tmp: Path, operands: Sequence[np.ndarray], bits: Sequence[int | None]):
    spec, target = art.block, art.target
    if target.arch != "aarch64":
        raise UserError(
            f"the JIT path runs the aarch64 mlir-runner; use --mode aot for --target {target.name}"
        )
    rt = aarch64_runtime()
    module = tmp / "jit.mlir"
    module.write_text(build_jit_module(spec, art.text(".llvm.mlir"), *operands))
    libs = ",".join(str(rt.lib(n)) for n in ("mlir_runner_utils", "mlir_c_runner_utils"))
    for vb in bits:
        start = time.perf_counter()
        proc = run(
            [
                *exec_prefix(target, vb, rt),
                rt.runner,
                module,
                "-e",
                DRIVER_ENTRY,
                "-entry-point-result=void",
                "--march=aarch64",
                f"--mattr={art.target.mattr}",
                f"-shared-libs={libs}",
            ],
            what=f"mlir-runner at {vb or target.name} bits",
            ours=True,
        )
        yield vb, parse_printed(spec, proc.stdout.decode()), time.perf_counter() - start


def default_vector_bits(target: Target) -> tuple[int | None, ...]:
    """Where to run by default: four VLs (VLA), the one VL (VLS), or once (fixed width)."""
    if target.fixed_vl_bits:
        return (target.fixed_vl_bits,)
    if target.scalable:
        return (128, 256, 512, 2048)
    return (None,)


def run_spec(
    spec: ConvSpec | BlockSpec,
    target: Target,
    vector_bits: Sequence[int] | None = None,
    modes: Sequence[str] = ("aot",),
    seed: int = 0,
    cpu: str | None = None,
    vectorizer: str = DEFAULT_VECTORIZER,
) -> list[RunResult]:
    """Compile once, run each mode at each vector length on random data seeded by ``seed``,
    compare with the reference.

    Fixed-width targets (NEON, host) run once whatever ``vector_bits`` says.
    """
    inp, flt, *params = random_block_operands(as_block(spec), seed)
    return [
        r for r, _ in run_on_data(spec, target, inp, flt, vector_bits, modes, cpu, vectorizer, params=params)
    ]


def run_on_data(
    spec: ConvSpec | BlockSpec,
    target: Target,
    inp: np.ndarray,
    flt: np.ndarray,
    vector_bits: Sequence[int] | None = None,
    modes: Sequence[str] = ("aot",),
    cpu: str | None = None,
    vectorizer: str = DEFAULT_VECTORIZER,
    params: Sequence[np.ndarray] = (),
) -> list[tuple[RunResult, np.ndarray]]:
    """``run_spec`` on given operands (e.g. with NaN or Inf); each result with its output.

    ``params``: the epilogue's buffers of a block, in ABI order (bias, requant_scale).
    """
    block = as_block(spec)
    operands = [inp, flt, *params]
    if len(operands) != len(block.inputs):
        names = ", ".join(a.name for a in block.inputs[2:])
        raise UserError(f"{block.name} takes {names or 'no epilogue buffers'}: pass them as params")
    bits: Sequence[int | None] = default_vector_bits(target) if vector_bits is None else vector_bits
    if not target.scalable:
        if vector_bits is not None:
            raise UserError(
                f"target {target.name} has fixed-width vectors: drop --vector-bits (it applies to the "
                "SVE targets)"
            )
        bits = (None,)
    elif target.fixed_vl_bits and any(b != target.fixed_vl_bits for b in bits):
        raise UserError(
            f"target {target.name} runs only at {target.fixed_vl_bits} bits: drop --vector-bits or use "
            f"--vector-bits {target.fixed_vl_bits} (aarch64-sve runs at any vector length)"
        )
    art = compile_spec(block, target, cpu, vectorizer)
    with np.errstate(invalid="ignore"):  # NaN from Inf * 0 or Inf - Inf, as in the kernel
        want = block_reference(block, *operands)
    results: list[tuple[RunResult, np.ndarray]] = []
    with tempfile.TemporaryDirectory(prefix="dwmlir-run-") as tmp_name:
        for mode in modes:
            tmp = Path(tmp_name) / mode
            tmp.mkdir()
            runner = _run_aot if mode == "aot" else _run_jit
            for vb, got, secs in runner(art, tmp, operands, bits):
                cmp = compare_block(block, got, want, operands)
                result = RunResult(mode, vb, cmp.ok, cmp.max_abs_err, cmp.tolerance, cmp.mismatches, secs)
                results.append((result, got))
    return results
