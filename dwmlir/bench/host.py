"""Optional: wall-clock medians on the host CPU, dwmlir against PyTorch's depthwise conv.

This part needs two things that may be missing, and then it is skipped (with the reason in
the report), not failed: ``torch`` (the optional ``bench`` extra) and a dwmlir ``host``
target. Both sides run single-threaded on the same operands in the op's layout; torch gets
a channels-last (NHWC/NDHWC) tensor so it reads the same memory, with ``groups=C``. The
dwmlir object is linked into a shared library and called through ctypes; its output is
checked against numpy before it is timed.
"""

from __future__ import annotations

import ctypes
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InternalError, UserError
from ..reference import compare, depthwise_reference, random_operands
from ..spec import ConvSpec
from ..toolchain import run
from .suite import BenchKernel
from .threads import is_large, thread_driver, thread_scaling

REPEATS = 21  # timed batches per kernel; the median is reported
MIN_BATCH_SECONDS = 2e-3
HOST_CC = "cc"
MIN_SPEEDUP = 1.0  # issue 12: dwmlir at least as fast as torch, single thread, every kernel


@dataclass(frozen=True)
class HostTiming:
    kernel: str
    dwmlir_seconds: float
    torch_seconds: float
    ok: bool
    # Median seconds per call on 1 (NAME) and more threads (NAME_part; bench.threads).
    thread_seconds: dict[int, float] = field(default_factory=dict)
    large: bool = False  # a large layer for the 2-thread target (bench.threads.is_large)

    def scaling(self, threads: int) -> float | None:
        """Speed-up on ``threads`` threads over one call of NAME."""
        t = self.thread_seconds
        return t[1] / t[threads] if threads in t and 1 in t and t[threads] > 0 else None

    @property
    def speedup(self) -> float:
        """>1: dwmlir is faster than torch."""
        return self.torch_seconds / self.dwmlir_seconds if self.dwmlir_seconds > 0 else float("inf")


@dataclass
class HostReport:
    status: str  # "ok", "skipped" or "failed"
    reason: str = ""
    torch_version: str = ""
    timings: list[HostTiming] = field(default_factory=list)
    target: str = ""  # dwmlir's host target (the widest vectors the CPU has)


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds per call. Calls are timed in batches of at least ``MIN_BATCH_SECONDS``, so
    that microsecond kernels are not lost in timer resolution and call overhead noise."""
    fn()  # warm up: page in buffers, dispatch caches
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - start >= MIN_BATCH_SECONDS:
            break
        batch *= 2
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - start) / batch)
    return statistics.median(samples)


def _torch_conv(torch: Any, kernel: BenchKernel, inp: np.ndarray, flt: np.ndarray) -> Callable[[], object]:
    spec = kernel.spec
    rank = spec.info.rank
    # Channels-last input (n, spatial..., c) viewed as torch's (n, c, spatial...).
    x = torch.from_numpy(inp).movedim(-1, 1)
    w = torch.from_numpy(np.ascontiguousarray(np.moveaxis(flt, -1, 0))).unsqueeze(1)
    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[rank]
    stride = tuple(spec.strides)
    groups = spec.channels

    def call() -> object:
        with torch.no_grad():
            return conv(x, w, stride=stride, groups=groups)

    return call


def host_comparison(kernels: Sequence[BenchKernel], seed: int = 0) -> HostReport:
    """Time every kernel on the host with dwmlir and with torch; skipped if either is missing."""
    try:
        import torch
    except ImportError:
        return HostReport("skipped", "torch is not importable (pip install torch==2.13.0, the bench extra)")
    from ..artefact import compile_spec
    from ..target import get_target, host_targets

    # The widest vectors this CPU has, as PyTorch's kernels use them (AVX-512 where there is).
    runnable = host_targets()
    if not runnable:
        return HostReport("skipped", "no dwmlir host target runs on this machine", torch.__version__)
    target = get_target(runnable[0])
    torch.set_num_threads(1)
    report = HostReport(
        "ok",
        f"single thread, median of {REPEATS} timed batches; dwmlir --target {target.name}",
        torch.__version__,
        target=target.name,
    )
    with tempfile.TemporaryDirectory(prefix="dwmlir-host-") as tmp:
        drivers: list[tuple[ConvSpec, Path]] = []
        for kernel in kernels:
            spec = kernel.spec
            if spec.info.rank not in (1, 2, 3) or spec.dtype != "f32":
                continue
            try:
                art = compile_spec(spec, target)
                obj = Path(tmp) / f"{spec.name}.o"
                lib = Path(tmp) / f"lib{spec.name}.so"
                obj.write_bytes(art.files[".o"])
                (Path(tmp) / f"{spec.name}.h").write_bytes(art.files[".h"])
                run([HOST_CC, "-shared", "-o", lib, obj, "-lm"], what=f"linking {lib.name}")
                drivers.append((spec, thread_driver(spec, obj, Path(tmp), Path(tmp))))
            except (InternalError, UserError) as exc:
                return HostReport("failed", f"{spec.name}: {exc}", torch.__version__, report.timings)
            fn = getattr(ctypes.CDLL(str(lib)), spec.name)
            fn.restype = None
            inp, flt = random_operands(spec, seed)
            out = np.empty(spec.output_shape, dtype=spec.out_np_dtype)
            args = [a.ctypes.data_as(ctypes.c_void_p) for a in (inp, flt, out)]
            fn(*args)
            want = depthwise_reference(spec, inp, flt)
            torch_call = _torch_conv(torch, kernel, inp, flt)
            torch_out = torch_call().movedim(1, -1).numpy()  # type: ignore[attr-defined]
            # Both sides must compute the same conv before their times mean anything.
            ok = compare(spec, out, want, inp, flt).ok and compare(spec, torch_out, want, inp, flt).ok
            dw = _median_seconds(lambda fn=fn, args=args: fn(*args), REPEATS)
            th = _median_seconds(torch_call, REPEATS)
            report.timings.append(HostTiming(spec.name, dw, th, ok, large=is_large(spec)))
        try:
            scaling = thread_scaling(drivers, REPEATS)
        except InternalError as exc:
            return HostReport("failed", str(exc), torch.__version__, report.timings)
        report.timings = [
            dataclasses.replace(t, thread_seconds=seconds)
            for t, seconds in zip(report.timings, scaling, strict=True)
        ]
    if not all(t.ok for t in report.timings):
        report.status = "failed"
        report.reason = "dwmlir or torch differs from numpy on: " + ", ".join(
            t.kernel for t in report.timings if not t.ok
        )
    return report
