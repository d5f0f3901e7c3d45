"""Summarize a `dwmlir bench --json` file for FileCheck: statuses, and whether instruction
counts fall from 128 to 1024 bits (every quick-set kernel has at least 32 channels)."""

import json
import sys

doc = json.load(open(sys.argv[1]))
total = ok = 0
for k in doc["kernels"]:
    for impl in k["impls"]:
        total += 1
        ok += impl["status"] == "ok"
        per = impl.get("instructions_per_output", {})
        counts = [per[str(v)] for v in (128, 256, 512, 1024) if str(v) in per]
        falls = all(a > b for a, b in zip(counts, counts[1:], strict=False))
        loop = impl.get("hot_loop", {})
        line = f"{k['name']} {impl['impl']} {impl['status']}"
        if impl["impl"] != "autovec":  # clang may pick fixed-width NEON for constant channel counts
            line += f" counts fall with VL: {falls}"
        line += f" hot loop fma>0: {loop.get('mix', {}).get('fma', 0) > 0}"
        line += f" mca cpus: {','.join(sorted(loop.get('mca', {})))}"
        print(line)
print(f"{total} implementations, {ok} ok")

# The targets block, recomputed here from the kernels: instructions per multiply-accumulate
# (per output and filter tap) of dwmlir's kernels, geomean per rank, the worst ACLE ratio, and
# the worst ratio to the strongest hand-written baseline (fewest instructions of acle, acle_rb).
targets = doc["targets"]
print("targets:", ",".join(sorted(targets)))
for bits in ("128", "2048"):
    per_rank: dict[int, list[float]] = {}
    worst = worst_best = 0.0
    best_ok = True
    for k in doc["kernels"]:
        impls = {i["impl"]: i for i in k["impls"]}
        ours = impls["dwmlir"]["instructions_per_output"][bits]
        taps = 1
        for size in k["filter_shape"][:-1]:
            taps *= size
        per_rank.setdefault(len(k["filter_shape"]) - 1, []).append(ours / taps)
        acle = impls.get("acle", {}).get("instructions_per_output")
        if acle:
            worst = max(worst, ours / acle[bits])
        bases = {
            n: i["instructions_per_output"][bits]
            for n, i in impls.items()
            if n in ("acle", "acle_rb") and i["status"] == "ok"
        }
        best = min(bases.values())
        worst_best = max(worst_best, ours / best)
        entry = k["strongest_acle"][bits]
        best_ok &= bases[entry["impl"]] == best and abs(entry["dwmlir_ratio"] - ours / best) < 2e-3
    product = 1.0
    for v in per_rank[2]:
        product *= v
    per_mac_2d = product ** (1 / len(per_rank[2]))
    same_mac = abs(per_mac_2d - targets["instructions_per_mac"][bits]["2d"]) < 2e-3
    same_worst = abs(worst - targets["worst_acle_ratio"][bits]["ratio"]) < 2e-3
    best_ok &= abs(worst_best - targets["worst_strongest_acle_ratio"][bits]["ratio"]) < 2e-3
    print(
        f"{bits}: per-MAC 2-D agrees: {same_mac}, worst ACLE ratio agrees: {same_worst}, "
        f"strongest ACLE agrees: {best_ok}"
    )

# The cache model: every implementation has counts at the cache vector lengths, the compulsory
# bytes are input + filter + output (f32), and the worst dwmlir DRAM ratio is recomputed.
cache_bits = [str(v) for v in doc["cache_model"]["vector_bits"]]
print("cache model at", ",".join(cache_bits), "with", doc["cache_model"]["geometry"])
for bits in cache_bits:
    worst = 0.0
    complete = compulsory_ok = True
    for k in doc["kernels"]:
        elems = 1
        for shape in ("input_shape", "filter_shape", "output_shape"):
            n = 1
            for size in k[shape]:
                n *= size
            elems += n
        compulsory_ok &= k["compulsory_bytes"] == 4 * (elems - 1)
        for impl in k["impls"]:
            c = impl.get("cache", {}).get(bits)
            complete &= c is not None and c["l1_misses"] > 0
            if impl["impl"] == "dwmlir" and c is not None:
                worst = max(worst, (c["dram_read_bytes"] + c["dram_write_bytes"]) / k["compulsory_bytes"])
    agrees = abs(worst - doc["targets"]["worst_dram_over_compulsory"][bits]["ratio"]) < 2e-3
    print(
        f"cache {bits}: every impl modelled: {complete}, compulsory bytes: {compulsory_ok}, worst agrees: {agrees}"
    )
