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
