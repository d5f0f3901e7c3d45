"""bf16 against f32: the same benchmark kernels with bf16 input and filter.

Each kernel of the run is rebuilt with ``dtype="bf16"``, once with an f32 output and once
rounding to bf16, checked against the numpy reference at every vector length and counted
like the f32 kernel (instructions executed inside the kernel under qemu, per output). The
f32 numbers are the main table's dwmlir rows. A kernel that is wrong at any vector length
gets no numbers.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..artefact import compile_spec
from ..errors import InternalError
from ..reference import block_reference, compare, random_operands
from ..run.harness import link_harness, render_harness
from ..target import get_target
from .icount import count_instructions
from .runner import KernelResult, kernel_symbols

OUT_DTYPES = ("f32", "bf16")  # the bf16 kernels' output types


@dataclass
class Bf16Row:
    """One benchmark kernel: f32 and bf16 instructions per output, per vector length."""

    kernel: str
    family: str
    f32: dict[int, float] = field(default_factory=dict)
    bf16: dict[str, dict[int, float]] = field(default_factory=lambda: {o: {} for o in OUT_DTYPES})
    problems: list[str] = field(default_factory=list)

    def ratio(self, out: str, bits: int) -> float | None:
        a, b = self.bf16[out].get(bits), self.f32.get(bits)
        return a / b if a is not None and b else None


def _one(kernel_result: KernelResult, out: str, bits: Sequence[int], root: Path, seed: int, row: Bf16Row):
    spec = dataclasses.replace(
        kernel_result.kernel.spec, dtype="bf16", out_dtype=out, name=f"{kernel_result.kernel.name}_bf16{out}"
    )
    work = root / spec.name
    work.mkdir()
    art = compile_spec(spec, get_target("aarch64-sve"))
    asm = art.text(".s")
    (work / f"{spec.name}.o").write_bytes(art.files[".o"])
    (work / f"{spec.name}.h").write_bytes(art.files[".h"])
    (work / "driver.c").write_text(render_harness(spec))
    exe = work / "driver"
    link_harness(get_target("aarch64-sve"), work / "driver.c", work, work / f"{spec.name}.o", exe)
    inp, flt = random_operands(spec, seed)
    want = block_reference(spec, inp, flt)
    files = [work / "input.bin", work / "filter.bin"]
    files[0].write_bytes(inp.tobytes())
    files[1].write_bytes(flt.tobytes())
    outputs = math.prod(spec.output_shape)
    for vb in bits:
        out_file = work / f"output-{vb}.bin"
        count = count_instructions(exe, [*files, out_file], kernel_symbols(spec.name, asm), vb)
        got = np.frombuffer(out_file.read_bytes(), dtype=spec.out_np_dtype).reshape(spec.output_shape)
        cmp = compare(spec, got, want, inp, flt)
        if not cmp.ok:
            row.problems.append(f"bf16 -> {out}: {cmp.mismatches} outputs differ from numpy at {vb} bits")
            row.bf16[out].clear()
            return
        row.bf16[out][vb] = count.in_range / outputs


def bf16_comparison(
    results: Sequence[KernelResult],
    bits: Sequence[int],
    seed: int = 0,
    jobs: int = 1,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Bf16Row]:
    """bf16 (f32 and bf16 output) against f32 for every kernel of the run whose f32 dwmlir
    kernel is correct."""
    rows = []
    work = []
    for k in results:
        row = Bf16Row(k.kernel.name, k.kernel.family)
        dw = next(i for i in k.impls if i.impl == "dwmlir")
        row.f32 = {b: x for b in bits if (x := k.per_output(dw, b)) is not None}
        rows.append(row)
        if dw.ok:
            work += [(k, out, row) for out in OUT_DTYPES]
    progress(f"bf16: building and counting {len(work)} kernels")
    with tempfile.TemporaryDirectory(prefix="dwmlir-bench-bf16-") as tmp:

        def task(item) -> None:
            k, out, row = item
            try:
                _one(k, out, bits, Path(tmp), seed, row)
            except InternalError as exc:
                row.problems.append(f"bf16 -> {out}: {exc}")

        with ThreadPoolExecutor(max(1, jobs)) as pool:
            list(pool.map(task, work))
    return rows


def render_bf16(rows: Sequence[Bf16Row], bits: Sequence[int]) -> list[str]:
    """The report's section: per kernel, f32 instructions per output and the bf16 / f32 ratios."""
    name_w = max([len(r.kernel) for r in rows] + [len(r.family) + 8 for r in rows] + [12])
    head = f"{'kernel':<{name_w}}  {'':<17}" + "".join(f"{b:>9}" for b in bits)
    lines = [
        "bf16 against f32 (dwmlir; bf16 input and filter, f32 accumulators; instructions per output,",
        "and bf16 / f32: below 1 is fewer instructions)",
        head,
    ]
    for r in rows:
        cells = "".join(f"{r.f32[b]:>9.3f}" if b in r.f32 else f"{'-':>9}" for b in bits)
        lines.append(f"{r.kernel:<{name_w}}  {'f32':<17}{cells}")
        for out in OUT_DTYPES:
            cells = "".join(f"{x:>9.3f}" if (x := r.ratio(out, b)) is not None else f"{'-':>9}" for b in bits)
            lines.append(f"{'':<{name_w}}  {f'bf16->{out} / f32':<17}{cells}")
    for family in dict.fromkeys(r.family for r in rows):
        for out in OUT_DTYPES:
            cells = ""
            for b in bits:
                xs = [x for r in rows if r.family == family and (x := r.ratio(out, b)) is not None]
                cells += f"{math.exp(sum(map(math.log, xs)) / len(xs)):>9.3f}" if xs else f"{'-':>9}"
            lines.append(f"{family + ' geomean':<{name_w}}  {f'bf16->{out} / f32':<17}{cells}")
    problems = [f"  {r.kernel}: {p}" for r in rows for p in r.problems]
    if problems:
        lines += ["bf16 problems:", *problems]
    ok = sum(not r.problems and all(r.bf16[o] for o in OUT_DTYPES) for r in rows)
    lines.append(f"bf16 correctness: {ok}/{len(rows)} kernels match numpy at every vector length")
    return lines


def bf16_ok(rows: Sequence[Bf16Row]) -> bool:
    return all(not r.problems for r in rows)
