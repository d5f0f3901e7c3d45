"""Static throughput of a hot loop with llvm-mca: cycles per iteration and FMA-pipe utilization.

llvm-mca runs the loop body ``ITERATIONS`` times through a CPU's scheduling model (no caches,
no branch mispredictions), so it tells whether the loop is bound by its FMAs or by something
else (loads, stores, predicate and address arithmetic) on that CPU.

FMA-pipe utilization, from ``-resource-pressure``:

    fma_pipes   = the pipes on which the loop's FMA-class instructions have any pressure
    utilization = sum of FMA-class pressure on fma_pipes / (len(fma_pipes) * cycles/iteration)

1.0 means every pipe that can multiply-add does so on every cycle: the loop runs at the
CPU's peak FLOP rate for its vector length. ``pipe_busy`` is the same ratio with the pressure
of *every* instruction on those pipes (moves, predicate ops and adds compete for them too).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InternalError
from ..toolchain import llvm_tool, run
from .hotloop import Loop

ITERATIONS = 100
# CPUs with SVE scheduling models in LLVM 22's llvm-mca (the first three are the defaults).
KNOWN_CPUS = ("neoverse-v1", "neoverse-v2", "a64fx", "neoverse-n2", "neoverse-v3")
DEFAULT_CPUS = KNOWN_CPUS[:3]


@dataclass(frozen=True)
class McaResult:
    cpu: str
    cycles_per_iteration: float
    ipc: float
    fma_utilization: float  # FMA-class pressure on the FMA pipes / (pipes * cycles)
    pipe_busy: float  # all pressure on the FMA pipes / (pipes * cycles)
    fma_pipes: tuple[str, ...]
    bottleneck: str  # llvm-mca's -bottleneck-analysis verdict, e.g. "V1UnitL01 48%"

    def as_dict(self) -> dict[str, object]:
        return {
            "cycles_per_iteration": round(self.cycles_per_iteration, 3),
            "ipc": round(self.ipc, 3),
            "fma_utilization": round(self.fma_utilization, 4),
            "pipe_busy": round(self.pipe_busy, 4),
            "fma_pipes": list(self.fma_pipes),
            "bottleneck": self.bottleneck,
        }


def _number(text: str, key: str) -> float:
    m = re.search(rf"^{re.escape(key)}:\s*([\d.]+)", text, re.MULTILINE)
    if not m:
        raise InternalError(f"llvm-mca printed no '{key}' line")
    return float(m.group(1))


def _resources(text: str) -> dict[str, str]:
    """'[4.0] - V1UnitL01' lines -> {'4.0': 'V1UnitL01.0'} (one entry per pipe)."""
    out: dict[str, str] = {}
    for idx, name in re.findall(r"^\[([\d.]+)\]\s+-\s+(\S+)", text, re.MULTILINE):
        out[idx] = name + (f".{idx.split('.')[1]}" if "." in idx else "")
    return out


def _pressure_by_instruction(text: str) -> tuple[list[str], list[tuple[list[float], str]]]:
    """The 'Resource pressure by instruction' table: its column ids, and per row the pressure
    on each column and the instruction (rows are in input order)."""
    start = text.find("Resource pressure by instruction:")
    if start < 0:
        raise InternalError("llvm-mca printed no 'Resource pressure by instruction' table")
    lines = text[start:].splitlines()[1:]
    columns = re.findall(r"\[([\d.]+)\]", lines[0])
    rows: list[tuple[list[float], str]] = []
    for line in lines[1:]:
        tokens = line.split()
        if len(tokens) <= len(columns):
            break
        cells = tokens[: len(columns)]
        if not all(c == "-" or re.fullmatch(r"[\d.]+", c) for c in cells):
            break
        values = [0.0 if c == "-" else float(c) for c in cells]
        rows.append((values, " ".join(tokens[len(columns) :])))
    return columns, rows


def _bottleneck(text: str) -> str:
    if "No resource or data dependency bottlenecks discovered" in text:
        return "none"
    m = re.search(r"Throughput Bottlenecks:\s*\n\s*(.*?)\n\s*Critical sequence", text, re.S)
    if not m:
        return "unknown"
    lines = [ln.strip() for ln in m.group(1).splitlines() if ln.strip()]
    # The resource with the highest share, else the dependency kind with the highest share.
    best = ("unknown", -1.0)
    for ln in lines:
        mm = re.match(r"-?\s*(.+?)\s*\[\s*([\d.]+)%\s*\]", ln)
        if mm and ln.startswith("-") and float(mm.group(2)) > best[1]:
            best = (mm.group(1), float(mm.group(2)))
    if best[1] < 0:
        for ln in lines:
            mm = re.match(r"(.+?)\s*\[\s*([\d.]+)%\s*\]", ln)
            if mm and float(mm.group(2)) > best[1]:
                best = (mm.group(1), float(mm.group(2)))
    return f"{best[0]} {best[1]:.0f}%" if best[1] >= 0 else "unknown"


def parse_mca(cpu: str, text: str, is_fma: Sequence[bool]) -> McaResult:
    """Interpret llvm-mca's report; ``is_fma[k]`` says whether input instruction k is FMA-class."""
    iterations = _number(text, "Iterations")
    cycles = _number(text, "Total Cycles") / iterations
    ipc = _number(text, "IPC")
    names = _resources(text)
    columns, rows = _pressure_by_instruction(text)
    if len(rows) != len(is_fma):
        raise InternalError(f"llvm-mca reported {len(rows)} instructions, the loop has {len(is_fma)}")
    fma_rows = [values for (values, _), fma in zip(rows, is_fma, strict=True) if fma]
    pipes = [k for k in range(len(columns)) if any(v[k] > 0 for v in fma_rows)]
    if not pipes or cycles <= 0:
        return McaResult(cpu, cycles, ipc, 0.0, 0.0, (), _bottleneck(text))
    fma_pressure = sum(v[k] for v in fma_rows for k in pipes)
    all_pressure = sum(v[k] for v, _ in rows for k in pipes)
    capacity = len(pipes) * cycles
    return McaResult(
        cpu=cpu,
        cycles_per_iteration=cycles,
        ipc=ipc,
        fma_utilization=fma_pressure / capacity,
        pipe_busy=all_pressure / capacity,
        fma_pipes=tuple(names.get(columns[k], columns[k]) for k in pipes),
        bottleneck=_bottleneck(text),
    )


def mca_report(loop: Loop, cpu: str, mattr: str = "+sve") -> str:
    """Raw llvm-mca text for the loop body on ``cpu``."""
    cmd = [
        llvm_tool("llvm-mca"),
        "-mtriple=aarch64",
        f"-mcpu={cpu}",
        f"-mattr={mattr}",
        f"-iterations={ITERATIONS}",
        "-resource-pressure",
        "-bottleneck-analysis",
        "-instruction-info=0",
    ]
    proc = run(cmd, input=loop.mca_input().encode(), what=f"llvm-mca -mcpu={cpu}")
    return proc.stdout.decode(errors="replace")


def analyze(loop: Loop, cpu: str) -> McaResult:
    return parse_mca(cpu, mca_report(loop, cpu), [i.kind == "fma" for i in loop.instructions])
