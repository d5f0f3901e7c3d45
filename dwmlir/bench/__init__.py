"""Benchmarking compiled kernels (``dwmlir bench``; see docs/performance.md).

- ``icount``: exact dynamic instruction counts of one function of a static aarch64 program
  under qemu-aarch64 (our TCG plugin).
- ``suite``: the benchmark set (MobileNetV2 depthwise layers, 1-D K=7/31, 3-D 3x3x3; quick set).
- ``baselines``: C baselines from ``bench/`` (clang autovectorized loops, SVE ACLE), built
  with clang 22.
- ``hotloop``: the loop body with the most FMAs in a kernel's assembly.
- ``mca``: llvm-mca cycles per iteration and FMA-pipe utilization of that loop.
- ``runner``: build, count, check against numpy, analyze; ``host``: optional wall-clock
  against PyTorch; ``report``: table, JSON and plots.

Import the modules themselves: this package imports nothing, so that ``python -m
dwmlir.bench.icount`` runs cleanly and ``dwmlir`` starts fast.
"""
