# RUN: %PYTHON %s | FileCheck %s
# Host (x86-64) targets run on this machine's CPU: get_target checks the CPU flags a host
# target needs, and host_targets lists those this CPU runs, widest vectors first (the bench's
# host comparison takes the first); where the flags are unknown, only the baseline `host`
# runs. The machine facts are faked here.

import platform

import dwmlir.target.targets as targets
from dwmlir.errors import UserError


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def on(machine: str, flags: str) -> None:
    platform.machine = lambda: machine
    targets.host_cpu_flags = lambda: frozenset(flags.split())


def attempt(name: str) -> str:
    try:
        return f"ok, {targets.get_target(name).vector_bits}-bit vectors"
    except UserError as exc:
        return str(exc)


# CHECK-LABEL: TEST: test_host_targets
# CHECK-NEXT: AVX-512: ['host-avx512', 'host']; host-avx512 ok, 512-bit vectors
# CHECK-NEXT: AVX2: ['host']; target 'host-avx512' runs on this machine's CPU, which lacks avx512f, avx512vl, avx512bw, avx512dq: use --target host
# CHECK-NEXT: SSE only: []; target 'host' runs on this machine's CPU, which lacks avx2, fma: use an aarch64 target
# CHECK-NEXT: aarch64: []; target 'host' is x86-64 but this machine is aarch64: use an aarch64 target
# CHECK-NEXT: flags unknown: ['host']; target 'host-avx512' runs on this machine's CPU, which has unknown flags (no /proc/cpuinfo): use --target host
@run
def test_host_targets():
    machine = platform.machine
    try:
        for what, arch, flags, name in [
            ("AVX-512", "x86_64", "sse2 avx2 fma avx512f avx512vl avx512bw avx512dq", "host-avx512"),
            ("AVX2", "x86_64", "sse2 avx2 fma", "host-avx512"),
            ("SSE only", "x86_64", "sse2", "host"),
            ("aarch64", "aarch64", "fp asimd sve", "host"),
            ("flags unknown", "x86_64", "", "host-avx512"),
        ]:
            on(arch, flags)
            print(
                f"{what}: {targets.host_targets()}; {name + ' ' if 'ok' in attempt(name) else ''}{attempt(name)}"
            )
    finally:
        platform.machine = machine
