"""Benchmarking compiled kernels.

``dwmlir.bench.icount``: exact dynamic instruction counts of one function of a static aarch64
program under qemu-aarch64 (import it from there; this package imports nothing, so that
``python -m dwmlir.bench.icount`` runs cleanly).
"""
