"""Present benchmark results: a terminal table, a JSON document and PNG plots."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import UserError
from .baselines import BASELINES
from .cache import NEOVERSE_V1
from .host import MIN_SPEEDUP, HostReport
from .mca import ITERATIONS
from .runner import KernelResult
from .threads import LARGE_BYTES, MIN_SCALING_2, THREADS


@dataclass(frozen=True)
class BenchRun:
    """Everything one ``dwmlir bench`` produced."""

    set_name: str
    vector_bits: tuple[int, ...]
    cpus: tuple[str, ...]
    kernels: list[KernelResult]
    host: HostReport
    seconds: float
    cache_bits: tuple[int, ...] = ()

    def counts(self) -> tuple[int, int, int, int]:
        """(baselines ok, baselines built, dwmlir ok, dwmlir kernels)."""
        impls = [i for k in self.kernels for i in k.impls if i.status != "n/a"]
        dyn = [k.dynamic for k in self.kernels if k.dynamic is not None]
        base = [i for i in impls if i.impl != "dwmlir"]
        ours = [i for i in impls if i.impl == "dwmlir"] + dyn
        return sum(i.ok for i in base), len(base), sum(i.ok for i in ours), len(ours)

    @property
    def ok(self) -> bool:
        b_ok, b_all, d_ok, d_all = self.counts()
        return b_ok == b_all and d_ok == d_all and self.host.status != "failed"


def _num(value: float | None, width: int, digits: int = 3) -> str:
    return f"{'-' if value is None else f'{value:.{digits}f}':>{width}}"


def render_table(run: BenchRun) -> str:
    lines: list[str] = []
    vls = run.vector_bits
    name_w = max([len("kernel"), *(len(k.kernel.name) for k in run.kernels)])
    lines.append(
        f"dwmlir bench: {len(run.kernels)} kernels ({run.set_name}), SVE {','.join(map(str, vls))} bits, "
        f"llvm-mca on {','.join(run.cpus) or '(none)'}"
    )
    lines.append("")
    lines.append(
        "Instructions per output element (qemu, counted inside the kernel function; lower is better)"
    )
    head = f"{'kernel':<{name_w}}  {'impl':<8} {'check':<6} {'compile':>8}" + "".join(f"{v:>9}" for v in vls)
    lines.append(head)
    for k in run.kernels:
        for n, impl in enumerate(k.impls):
            name = k.kernel.name if n == 0 else ""
            comp = "-" if impl.compile_seconds is None else f"{impl.compile_seconds:.2f}s"
            row = f"{name:<{name_w}}  {impl.impl:<8} {impl.status:<6} {comp:>8}"
            row += "".join(_num(k.per_output(impl, v), 9) for v in vls)
            lines.append(row)
        best = [_strongest_ratio(k, v) for v in vls]
        if any(b is not None for b in best):
            lines.append(f"{'':<{name_w}}  {'dwmlir/strongest ACLE':<24}" + "".join(_num(b, 9) for b in best))
    for base in (*BASELINES, STRONGEST):
        ratios = [_ratios(run, base, v) for v in vls]
        if any(ratios):
            label = f"dwmlir / {base} (geomean)"
            lines.append(
                f"{label:<{name_w + 25}}" + "".join(_num(geomean(r) if r else None, 9, 2) for r in ratios)
            )
    lines.append("")
    lines.append(
        f"Hot loop (the loop body with the most FMAs; llvm-mca -iterations={ITERATIONS}): "
        "cycles/iteration and FMA-pipe utilization"
    )
    head = f"{'kernel':<{name_w}}  {'impl':<8} {'insns':>5} {'fma':>4} {'ld':>3} {'st':>3}"
    head += "".join(f"  {cpu:>15}" for cpu in run.cpus)
    lines.append(head)
    for k in run.kernels:
        for n, impl in enumerate(k.impls):
            name = k.kernel.name if n == 0 else ""
            row = f"{name:<{name_w}}  {impl.impl:<8}"
            loop = impl.loop if impl.ok else None
            if loop is None:
                row += f" {'-':>5} {'-':>4} {'-':>3} {'-':>3}"
            else:
                mix = loop.mix
                row += f" {len(loop.instructions):>5} {mix['fma']:>4} {mix['load']:>3} {mix['store']:>3}"
            for cpu in run.cpus:
                m = impl.mca.get(cpu) if loop is not None else None
                cell = "-" if m is None else f"{m.cycles_per_iteration:.2f} {100 * m.fma_utilization:3.0f}%"
                row += f"  {cell:>15}"
            lines.append(row)
    lines.append("")
    lines.extend(_target_lines(run, name_w))
    lines.extend(_dynamic_lines(run, name_w))
    lines.extend(_cache_lines(run, name_w))
    lines.append("")
    lines.extend(_host_lines(run.host))
    lines.append("")
    lines.append("Kernels:")
    for k in run.kernels:
        note = f"; {k.kernel.note}" if k.kernel.note else ""
        spec = k.kernel.spec
        lines.append(
            f"  {k.kernel.name}: {k.kernel.layer}{note}; {k.kernel.outputs} outputs; {spec.describe()}"
        )
    problems = [
        f"  {k.kernel.name} {i.impl}: {i.status}: {i.detail}"
        for k in run.kernels
        for i in k.impls
        if i.status not in ("ok", "n/a")
    ]
    if problems:
        lines.append("Problems:")
        lines.extend(problems)
    b_ok, b_all, d_ok, d_all = run.counts()
    lines.append(
        f"correctness: {b_ok}/{b_all} baselines and {d_ok}/{d_all} dwmlir kernels match numpy at every "
        "vector length"
    )
    compile_s = sum(i.compile_seconds or 0.0 for k in run.kernels for i in k.impls)
    qemu_s = sum(i.run_seconds for k in run.kernels for i in k.impls)
    lines.append(
        f"time: compile {compile_s:.1f}s, qemu {qemu_s:.1f}s (summed over runs), total {run.seconds:.1f}s"
    )
    return "\n".join(lines)


# The pseudo-baseline name for "the hand-written ACLE baseline with the fewest instructions,
# per kernel and VL" (KernelResult.strongest).
STRONGEST = "strongest ACLE"


def _strongest_ratio(k: KernelResult, bits: int) -> float | None:
    ours, best = k.per_output_of("dwmlir", bits), k.strongest(bits)
    return ours / best[1] if ours and best else None


def _ratio_pairs(run: BenchRun, base: str, bits: int) -> list[tuple[KernelResult, float]]:
    """(kernel, dwmlir's instructions per output over baseline ``base``'s) where both ran;
    ``base`` may be STRONGEST."""
    out = []
    for k in run.kernels:
        if base == STRONGEST:
            ratio = _strongest_ratio(k, bits)
        else:
            ours, theirs = k.per_output_of("dwmlir", bits), k.per_output_of(base, bits)
            ratio = ours / theirs if ours and theirs else None
        if ratio is not None:
            out.append((k, ratio))
    return out


def _ratios(run: BenchRun, base: str, bits: int) -> list[float]:
    return [r for _, r in _ratio_pairs(run, base, bits)]


# The performance issue's acceptance figures.
MAX_ACLE_RATIO = 1.0
MAX_AUTOVEC_RATIO = 1 / 3
MIN_V1_FMA_USE = 0.85
MAX_PER_MAC_SPREAD = 1.3
MAX_COMPILE_SECONDS = 1.0
V1 = "neoverse-v1"


@dataclass(frozen=True)
class Targets:
    """Where dwmlir's kernels stand against each acceptance figure, per vector length."""

    worst_strongest: dict[int, tuple[float, str]]  # VL -> (highest dwmlir/strongest ratio, kernel)
    worst_acle: dict[int, tuple[float, str]]  # VL -> (highest dwmlir/acle ratio, its kernel)
    autovec_geomean: dict[int, float]
    per_mac: dict[int, dict[int, float]]  # VL -> rank -> geomean instructions per MAC
    lowest_v1_fma: tuple[float, str] | None  # (utilization, kernel), None without neoverse-v1
    slowest_compile: tuple[float, str] | None

    def spread(self, bits: int) -> float | None:
        vals = list(self.per_mac.get(bits, {}).values())
        return max(vals) / min(vals) if len(vals) > 1 else None

    def as_dict(self, vector_bits: Sequence[int]) -> dict[str, Any]:
        worst = {str(v): {"ratio": round(r, 4), "kernel": n} for v, (r, n) in self.worst_acle.items()}
        strongest = {
            str(v): {"ratio": round(r, 4), "kernel": n} for v, (r, n) in self.worst_strongest.items()
        }
        per_mac = {
            str(v): {f"{rank}d": round(x, 4) for rank, x in per.items()} for v, per in self.per_mac.items()
        }
        v1 = self.lowest_v1_fma
        comp = self.slowest_compile
        return {
            "worst_strongest_acle_ratio": strongest,
            "worst_acle_ratio": worst,
            "autovec_ratio_geomean": {str(v): round(r, 4) for v, r in self.autovec_geomean.items()},
            "instructions_per_mac": per_mac,
            "per_mac_spread": {str(v): round(x, 4) for v in vector_bits if (x := self.spread(v)) is not None},
            "lowest_neoverse_v1_fma_use": None if v1 is None else {"use": round(v1[0], 4), "kernel": v1[1]},
            "slowest_compile": None if comp is None else {"seconds": round(comp[0], 4), "kernel": comp[1]},
        }


def targets(run: BenchRun) -> Targets:
    strongest: dict[int, tuple[float, str]] = {}
    worst: dict[int, tuple[float, str]] = {}
    auto: dict[int, float] = {}
    per_mac: dict[int, dict[int, float]] = {}
    for bits in run.vector_bits:
        for table, base in ((strongest, STRONGEST), (worst, "acle")):
            pairs = [(r, k.kernel.name) for k, r in _ratio_pairs(run, base, bits)]
            if pairs:
                table[bits] = max(pairs)
        ratios = _ratios(run, "autovec", bits)
        if ratios:
            auto[bits] = geomean(ratios)
        by_rank: dict[int, list[float]] = {}
        for k in run.kernels:
            ours = k.per_output_of("dwmlir", bits)
            if ours:
                spec = k.kernel.spec
                by_rank.setdefault(len(spec.kernel), []).append(ours / math.prod(spec.kernel))
        if by_rank:
            per_mac[bits] = {rank: geomean(v) for rank, v in sorted(by_rank.items())}
    ours = [(k.kernel.name, i) for k in run.kernels for i in k.impls if i.impl == "dwmlir" and i.ok]
    v1 = [(i.mca[V1].fma_utilization, name) for name, i in ours if i.loop is not None and V1 in i.mca]
    comp = [(i.compile_seconds, name) for name, i in ours if i.compile_seconds is not None]
    return Targets(strongest, worst, auto, per_mac, min(v1) if v1 else None, max(comp) if comp else None)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _verdict_row(
    label: str, width: int, cells: Sequence[float | None], ok: bool | None, cell_w: int = 9, digits: int = 3
) -> str:
    """A target row: the label, one number per vector length, and met / NOT MET (none when
    ``ok`` is None)."""
    verdict = "" if ok is None else f"  {_verdict(ok)}"
    return f"{label:<{width}}" + "".join(_num(c, cell_w, digits) for c in cells) + verdict


def _target_lines(run: BenchRun, name_w: int) -> list[str]:
    t = targets(run)
    vls = run.vector_bits
    width = max(name_w + 25, len("dwmlir / strongest ACLE, worst kernel (<= 1.00)") + 1)
    scope = "" if run.set_name == "full set" else "; the targets are set on the full set"
    lines = [f"Targets (dwmlir kernels; instructions per MAC = per output and filter tap{scope})"]
    lines.append(f"{'':<{width}}" + "".join(f"{v:>9}" for v in vls))

    def row(label: str, values: list[float | None], ok: bool | None) -> None:
        lines.append(_verdict_row(label, width, values, ok))

    worst = [t.worst_strongest.get(v, (None, ""))[0] for v in vls]
    if any(w is not None for w in worst):
        row(
            f"dwmlir / strongest ACLE, worst kernel (<= {MAX_ACLE_RATIO:.2f})",
            worst,
            all(w <= MAX_ACLE_RATIO for w in worst if w is not None),
        )
    worst = [t.worst_acle.get(v, (None, ""))[0] for v in vls]
    if any(w is not None for w in worst):
        row("  dwmlir / acle, worst kernel (not a target)", worst, None)
    auto = [t.autovec_geomean.get(v) for v in vls]
    if any(a is not None for a in auto):
        row("dwmlir / autovec, geomean (<= 0.333)", auto, all(a <= MAX_AUTOVEC_RATIO for a in auto if a))
    ranks = sorted({r for per in t.per_mac.values() for r in per})
    for rank in ranks:
        row(f"instructions per MAC, {rank}-D", [t.per_mac.get(v, {}).get(rank) for v in vls], None)
    if len(ranks) > 1:
        spread = [t.spread(v) for v in vls]
        row(
            f"  spread max/min (<= {MAX_PER_MAC_SPREAD:.2f})",
            spread,
            all(s <= MAX_PER_MAC_SPREAD for s in spread if s is not None),
        )
    if t.lowest_v1_fma is not None:
        use, name = t.lowest_v1_fma
        lines.append(
            f"{'Neoverse V1 FMA-pipe use, lowest (>= 85%)':<{width}}{100 * use:>8.0f}%  {name}  "
            f"{_verdict(use >= MIN_V1_FMA_USE)}"
        )
    if t.slowest_compile is not None:
        secs, name = t.slowest_compile
        lines.append(
            f"{'spec to object, slowest (< 1 s)':<{width}}{secs:>8.2f}s  {name}  "
            f"{_verdict(secs < MAX_COMPILE_SECONDS)}"
        )
    return lines


# The bound: a kernel with run-time sizes within 5 % of the static kernel's instructions.
MAX_DYNAMIC_RATIO = 1.05


def _dynamic_lines(run: BenchRun, name_w: int) -> list[str]:
    """Each kernel with run-time sizes (n and every spatial dim) against the static one."""
    kernels = [k for k in run.kernels if k.dynamic is not None]
    if not kernels:
        return []
    vls = run.vector_bits
    width = max(name_w + 25, len("dynamic / static, worst kernel (<= 1.05)") + 1)
    lines = [
        "",
        "Run-time sizes: the kernel compiled with n and every spatial size dynamic, run at the same "
        "shape; instructions per output, dynamic / static",
        f"{'':<{width}}" + "".join(f"{v:>9}" for v in vls),
    ]
    worst: list[float | None] = []
    for k in kernels:
        ratios = [k.dynamic_ratio(v) for v in vls]
        status = "" if k.dynamic.ok else f"  {k.dynamic.status}"
        lines.append(f"{k.kernel.name:<{width}}" + "".join(_num(r, 9, 3) for r in ratios) + status)
    for v in vls:
        rs = [r for k in kernels if (r := k.dynamic_ratio(v)) is not None]
        worst.append(max(rs) if rs else None)
    ok = all(w is not None and w <= MAX_DYNAMIC_RATIO for w in worst)
    label = f"dynamic / static, worst kernel (<= {MAX_DYNAMIC_RATIO:.2f})"
    lines.append(_verdict_row(label, width, worst, ok))
    return lines


# Issue 12's memory target: DRAM traffic at most 1.3x the compulsory bytes, at 128 and 512 bits.
MAX_DRAM_RATIO = 1.3


def worst_dram(run: BenchRun) -> dict[int, tuple[float, str]]:
    """VL -> (highest dwmlir DRAM bytes / compulsory bytes, its kernel)."""
    worst: dict[int, tuple[float, str]] = {}
    for bits in run.cache_bits:
        ratios = [
            (r, k.kernel.name)
            for k in run.kernels
            for i in k.impls
            if i.impl == "dwmlir" and (r := k.dram_ratio(i, bits)) is not None
        ]
        if ratios:
            worst[bits] = max(ratios)
    return worst


def _cache_lines(run: BenchRun, name_w: int) -> list[str]:
    """The cache model's DRAM traffic and L1 misses per kernel and implementation."""
    if not run.cache_bits:
        return []
    vls = run.cache_bits
    lines = [
        "",
        f"Memory (cache model: {NEOVERSE_V1.describe()}, cold at the kernel's first access): DRAM "
        "bytes / compulsory bytes (input, filter and output once), and L1D misses per output",
        f"{'kernel':<{name_w}}  {'compulsory':>10}  {'impl':<8}"
        + "".join(f"{f'DRAM {v}':>10}" for v in vls)
        + "".join(f"{f'L1/out {v}':>12}" for v in vls),
    ]
    for k in run.kernels:
        first = True
        for impl in k.impls:
            if not impl.cache:
                continue
            name = k.kernel.name if first else ""
            size = f"{k.compulsory_bytes / 1024:.0f} KiB" if first else ""
            first = False
            row = f"{name:<{name_w}}  {size:>10}  {impl.impl:<8}"
            row += "".join(_num(k.dram_ratio(impl, v), 10, 2) for v in vls)
            row += "".join(_num(k.l1_per_output(impl, v), 12, 3) for v in vls)
            lines.append(row)
    worst = worst_dram(run)
    if worst:
        label = f"dwmlir DRAM / compulsory, worst kernel (<= {MAX_DRAM_RATIO:.2f})"
        cells = [worst.get(v, (None, ""))[0] for v in vls]
        ok = all(c is not None and c <= MAX_DRAM_RATIO for c in cells)
        where = f"  ({', '.join(f'{v}: {worst[v][1]}' for v in vls if v in worst)})"
        lines.append(_verdict_row(label, name_w + 22, cells, ok, cell_w=10, digits=2) + where)
    return lines


def worst_large_scaling(host: HostReport) -> tuple[float, str] | None:
    """The lowest 2-thread speed-up of NAME_part among the large layers (input and output at
    least LARGE_BYTES), with its kernel (issue 12's target: at least MIN_SCALING_2)."""
    large = [(t.scaling(2), t.kernel) for t in host.timings if t.large]
    large = [(s, k) for s, k in large if s is not None]
    return min(large) if large else None


def worst_speedup(host: HostReport) -> tuple[float, str] | None:
    """The lowest single-thread speed-up over torch among the kernels both computed alike,
    with its kernel (issue 12's target: at least MIN_SPEEDUP on every bench kernel)."""
    ok = [(t.speedup, t.kernel) for t in host.timings if t.ok]
    return min(ok) if ok else None


def _host_lines(host: HostReport) -> list[str]:
    title = "Host wall-clock vs PyTorch CPU (groups=C)"
    if host.status != "ok":
        return [f"{title}: {host.status}: {host.reason}"]
    lines = [f"{title}: torch {host.torch_version}, {host.reason}"]
    more = [n for n in THREADS if n > 1]
    heads = "".join(f" {f'{n} thr.':>8}" for n in more)
    lines.append(f"  {'kernel':<24} {'dwmlir':>10} {'torch':>10} {'speedup':>8}{heads}  check")
    for t in host.timings:
        scaled = "".join(f" {_num(t.scaling(n), 7, 2)}x" for n in more)
        lines.append(
            f"  {t.kernel:<24} {t.dwmlir_seconds * 1e6:>8.1f}us {t.torch_seconds * 1e6:>8.1f}us "
            f"{t.speedup:>7.2f}x{scaled}  {'ok' if t.ok else 'WRONG'}"
        )
    speed = worst_speedup(host)
    if speed is not None:
        worst, name = speed
        wrong = sum(not t.ok for t in host.timings)
        ok = worst >= MIN_SPEEDUP and not wrong
        lines.append(
            f"  dwmlir vs torch, single thread, worst kernel: {worst:.2f}x ({name}; target >= "
            f"{MIN_SPEEDUP:.1f}x{f'; {wrong} kernels WRONG' if wrong else ''})  {_verdict(ok)}"
        )
    scaling = worst_large_scaling(host)
    if scaling is not None:
        worst, name = scaling
        lines.append(
            f"  NAME_part on 2 threads, large layers (input + output >= {LARGE_BYTES >> 20} MiB): worst "
            f"{worst:.2f}x ({name}; target >= {MIN_SCALING_2:.1f}x)  {_verdict(worst >= MIN_SCALING_2)}"
        )
    return lines


def _dynamic_json(k: KernelResult) -> dict[str, Any]:
    """The kernel with run-time sizes: status, instructions per output, ratio to static."""
    d = k.dynamic
    assert d is not None
    out: dict[str, Any] = {"status": d.status, "detail": d.detail}
    if d.ok:
        out["instructions_per_output"] = {
            str(v): round(d.instructions[v] / k.kernel.outputs, 4) for v in sorted(d.instructions)
        }
        out["dynamic_over_static"] = {
            str(v): None if (r := k.dynamic_ratio(v)) is None else round(r, 4) for v in sorted(d.instructions)
        }
    return out


def to_json(run: BenchRun) -> dict[str, Any]:
    from ..toolchain.tools import versions

    kernels = []
    for k in run.kernels:
        spec = k.kernel.spec
        impls = []
        for i in k.impls:
            entry: dict[str, Any] = {"impl": i.impl, "status": i.status, "detail": i.detail}
            if i.compile_seconds is not None:
                entry["compile_seconds"] = round(i.compile_seconds, 4)
            if i.ok:
                entry["instructions"] = {str(v): i.instructions[v] for v in sorted(i.instructions)}
                entry["instructions_per_output"] = {
                    str(v): round(i.instructions[v] / k.kernel.outputs, 4) for v in sorted(i.instructions)
                }
                entry["max_abs_err"] = {str(v): i.max_abs_err[v] for v in sorted(i.max_abs_err)}
                entry["qemu_seconds"] = round(i.run_seconds, 3)
            if i.ok and i.cache:
                entry["cache"] = {
                    str(v): {
                        "l1_misses": c.l1_misses,
                        "l2_misses": c.l2_misses,
                        "dram_read_bytes": c.dram_read_bytes,
                        "dram_write_bytes": c.dram_write_bytes,
                        "l1_misses_per_output": round(k.l1_per_output(i, v) or 0.0, 4),
                        "dram_over_compulsory": round(k.dram_ratio(i, v) or 0.0, 4),
                    }
                    for v, c in sorted(i.cache.items())
                }
            if i.ok and i.loop is not None:
                entry["hot_loop"] = {
                    "header": i.loop.header,
                    "depth": i.loop.depth,
                    "innermost": i.loop.innermost,
                    "instructions": len(i.loop.instructions),
                    "mix": dict(i.loop.mix),
                    "mnemonics": dict(i.loop.mnemonics.most_common()),
                    "mca": {
                        cpu: {**m.as_dict(), "cycles_per_fma": round(m.cycles_per_iteration / i.loop.fmas, 4)}
                        for cpu, m in i.mca.items()
                    },
                }
            impls.append(entry)
        strongest: dict[str, Any] = {}
        for v in run.vector_bits:
            best, ratio = k.strongest(v), _strongest_ratio(k, v)
            if best is not None:
                strongest[str(v)] = {
                    "impl": best[0],
                    "instructions_per_output": round(best[1], 4),
                    "dwmlir_ratio": None if ratio is None else round(ratio, 4),
                }
        kernels.append(
            {
                "name": k.kernel.name,
                "family": k.kernel.family,
                "layer": k.kernel.layer,
                "note": k.kernel.note,
                "op": spec.op,
                "input_shape": list(spec.input_shape),
                "filter_shape": list(spec.filter_shape),
                "output_shape": list(spec.output_shape),
                "strides": list(spec.strides),
                "outputs": k.kernel.outputs,
                "compulsory_bytes": k.compulsory_bytes,
                "impls": impls,
                "strongest_acle": strongest,
                **({"dynamic": _dynamic_json(k)} if k.dynamic is not None else {}),
            }
        )
    host: dict[str, Any] = {"status": run.host.status, "reason": run.host.reason}
    if run.host.torch_version:
        host["torch"] = run.host.torch_version
    if run.host.target:
        host["target"] = run.host.target
    host["timings"] = [
        {
            "kernel": t.kernel,
            "dwmlir_seconds": t.dwmlir_seconds,
            "torch_seconds": t.torch_seconds,
            "ok": t.ok,
            "thread_seconds": {str(n): v for n, v in sorted(t.thread_seconds.items())},
            "large": t.large,
        }
        for t in run.host.timings
    ]
    all_ok = all(t.ok for t in run.host.timings)
    for key, worst, target, ok in (
        ("speedup_worst", worst_speedup(run.host), MIN_SPEEDUP, all_ok),
        ("threads_2_large_worst", worst_large_scaling(run.host), MIN_SCALING_2, True),
    ):
        if worst is not None:
            host[key] = {
                "speedup": round(worst[0], 3),
                "kernel": worst[1],
                "target": target,
                "met": worst[0] >= target and ok,
            }
    b_ok, b_all, d_ok, d_all = run.counts()
    tdict = targets(run).as_dict(run.vector_bits)
    if run.cache_bits:
        worst = worst_dram(run)
        tdict["worst_dram_over_compulsory"] = {
            str(v): {"ratio": round(r, 4), "kernel": n, "met": r <= MAX_DRAM_RATIO}
            for v, (r, n) in worst.items()
        }
    return {
        "dwmlir": __version__,
        "tools": versions(),
        "set": run.set_name,
        "vector_bits": list(run.vector_bits),
        "cpus": list(run.cpus),
        "mca_iterations": ITERATIONS,
        "seconds": round(run.seconds, 2),
        "correct": {"baselines": [b_ok, b_all], "dwmlir": [d_ok, d_all]},
        "kernels": kernels,
        "cache_model": {"vector_bits": list(run.cache_bits), "geometry": NEOVERSE_V1.describe()},
        "targets": tdict,
        "host": host,
    }


def write_json(run: BenchRun, path: Path) -> None:
    from ..artefact.writer import write_output

    write_output(str(path), (json.dumps(to_json(run), indent=1) + "\n").encode(), flag="--json")


def write_plots(run: BenchRun, out_dir: Path) -> str:
    """One PNG per kernel: instructions per output vs vector length, one line per impl.

    Returns a one-line summary (or why plots were skipped)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plots: skipped: matplotlib is not importable (pip install matplotlib==3.11.2)"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --plots directory {out_dir}: {exc.strerror}") from None
    written = 0
    for k in run.kernels:
        fig, ax = plt.subplots(figsize=(5, 3.6), dpi=110)
        for impl in k.impls:
            points = [(v, k.per_output(impl, v)) for v in run.vector_bits]
            xs = [v for v, y in points if y is not None]
            ys = [y for _, y in points if y is not None]
            if xs:
                ax.plot(xs, ys, marker="o", label=impl.impl)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(list(run.vector_bits), [str(v) for v in run.vector_bits])
        ax.set_xlabel("SVE vector length (bits)")
        ax.set_ylabel("instructions per output")
        ax.set_title(k.kernel.name, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"{k.kernel.name}.png")
        plt.close(fig)
        written += 1
    for bits in run.cache_bits:
        written += _plot_dram(plt, run, bits, out_dir / f"dram_{bits}.png")
    return f"plots: {written} PNG files in {out_dir}"


def _plot_dram(plt: Any, run: BenchRun, bits: int, path: Path) -> int:
    """Bars of DRAM bytes / compulsory bytes per kernel and implementation at ``bits`` (the
    cache model), with the 1.3x target; 0 when nothing was modelled."""
    impls = list(dict.fromkeys(i.impl for k in run.kernels for i in k.impls if bits in i.cache))
    if not impls:
        return 0
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(run.kernels)), 4), dpi=110)
    width = 0.8 / len(impls)
    top = MAX_DRAM_RATIO
    for n, name in enumerate(impls):
        ys = [next((k.dram_ratio(i, bits) or 0 for i in k.impls if i.impl == name), 0) for k in run.kernels]
        ax.bar([x + n * width for x in range(len(run.kernels))], ys, width, label=name)
        top = max(top, *ys)
    ax.axhline(MAX_DRAM_RATIO, color="black", linestyle="--", linewidth=1, label=f"target {MAX_DRAM_RATIO}")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.9)
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(plt.matplotlib.ticker.NullFormatter())
    ax.set_yticks([t for t in (1, MAX_DRAM_RATIO, 2, 4, 8, 16) if t <= top * 1.05])
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(run.kernels))])
    ax.set_xticklabels([k.kernel.name for k in run.kernels], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("DRAM bytes / compulsory bytes")
    ax.set_title(f"Cache model, Neoverse V1 caches, {bits}-bit SVE", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return 1


def geomean(values: Sequence[float]) -> float:
    vals = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else float("nan")
