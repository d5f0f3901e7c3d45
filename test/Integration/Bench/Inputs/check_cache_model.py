"""Runs each function of cache_kernels.S under the cache model at 5 vector lengths and
compares with its closed-form counts (64 KiB 4-way L1D, 1 MiB 8-way L2, 64-byte lines, cold
caches, 2 MiB aligned buffers). Prints one line per pattern; exits 1 on any difference."""

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dwmlir.bench.cache import model_cache

BITS = (128, 256, 512, 1024, 2048)
LINE = 64


def stream(lines, write=False, l1=None, l2=None, dram=None):
    """A cold sweep over ``lines`` lines: every access misses both levels once."""
    dram = lines * LINE if dram is None else dram
    return (l1 or lines, l2 or lines, 0 if write else dram, dram if write else 0)


def stride_vl_lines(n, bits):
    """Lines touched by loading every other vector of n floats (a set, not a formula: the
    vector length decides whether two loads share a line)."""
    v = bits // 32
    return len({b // LINE for start in range(0, n, 2 * v) for b in range(4 * start, 4 * min(start + v, n))})


# (label, symbol, program args, expected (l1_misses, l2_misses, dram_read, dram_write) per VL)
CASES = [
    ("ld1w, 10000 floats", "ld1w_stream", ["ld1w", 10000], stream(625)),
    ("ldnt1w, 10000 floats", "ldnt1w_stream", ["ldnt1w", 10000], stream(625)),
    ("ldff1w, 10000 floats", "ldff1w_stream", ["ldff1w", 10000], stream(625)),
    # A store miss allocates without reading; the dirty lines reach DRAM at the latest at exit.
    ("st1w, 10000 floats", "st1w_stream", ["st1w", 10000], stream(625, write=True)),
    ("gather, one line per element", "gather_lines", ["gather", 1000], stream(1000)),
    ("scatter, one line per element", "scatter_lines", ["scatter", 1000], stream(1000, write=True)),
    ("ld1rw, one line each", "ld1rw_lines", ["ld1rw", 1000], stream(1000)),
    ("ldr z, 40960 bytes", "ldr_z_stream", ["ldr_z", 40960], stream(640)),
    ("str z, 40960 bytes", "str_z_stream", ["str_z", 40960], stream(640, write=True)),
    ("neon ld1, 40960 bytes", "neon_stream", ["neon", 40960], stream(640)),
    # 32 KiB read twice: the second pass hits L1.
    ("ld1w twice, 32 KiB", "ld1w_stream", ["ld1w_twice", 8192], stream(512)),
    # 256 KiB twice: LRU loses every L1 line, L2 keeps them all.
    ("ld1w twice, 256 KiB", "ld1w_stream", ["ld1w_twice", 65536], stream(4096, l1=8192)),
    # 2 MiB twice: L2 loses them too, so DRAM sees the buffer twice.
    (
        "ld1w twice, 2 MiB",
        "ld1w_stream",
        ["ld1w_twice", 524288],
        stream(65536, l1=65536, l2=65536, dram=2 * 2**21),
    ),
    # 5 lines 16 KiB apart share one 4-way L1 set: LRU misses on every access; L2 sets differ.
    ("5 lines in one L1 set, twice", "scalar_cycle", ["scalar_cycle", 5, 2, 16384], stream(5, l1=10)),
    ("4 lines in one L1 set, twice", "scalar_cycle", ["scalar_cycle", 4, 2, 16384], stream(4)),
    # dst += src over 2 MiB each: both read once, dst written once.
    ("dst += src, 2 x 2 MiB", "rmw_stream", ["rmw", 524288], (65536, 65536, 2 * 2**21, 2**21)),
]


def main() -> int:
    exe = Path(sys.argv[1])
    jobs = []
    for label, symbol, args, want in CASES:
        jobs += [(label, symbol, args, bits, want) for bits in BITS]
    jobs += [
        ("stride_vl", "stride_vl", ["stride_vl", 4096], bits, stream(stride_vl_lines(4096, bits)))
        for bits in BITS
    ]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda j: model_cache(exe, [str(a) for a in j[2]], j[1], j[3]), jobs))
    failed = 0
    seen: dict[str, list[int]] = {}
    for (label, _, _, bits, want), res in zip(jobs, results, strict=True):
        got = (res.l1_misses, res.l2_misses, res.dram_read_bytes, res.dram_write_bytes)
        if got != want:
            failed += 1
            print(f"MISMATCH {label} at {bits} bits: got {got}, closed form {want}")
            continue
        key = f"{label}: l1_misses={got[0]} l2_misses={got[1]} dram_read_bytes={got[2]} dram_write_bytes={got[3]}"
        if label == "stride_vl":
            key += f" at {bits}"
        seen.setdefault(key, []).append(bits)
    for key, bits in seen.items():
        print(f"{key} ({','.join(map(str, bits))})")
    print(f"{len(jobs) - failed} of {len(jobs)} runs match their closed form")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
