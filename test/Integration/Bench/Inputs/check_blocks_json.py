"""Summarise `dwmlir bench --set blocks --json`: per block and implementation the number of
kernels, their status and whether the counts shrink with the vector length (VLA code), the
MACs per stage and the target keys; FileCheck checks the lines."""

import json
import sys

doc = json.load(open(sys.argv[1]))
bits = [str(v) for v in doc["vector_bits"]]
for block in doc["blocks"]:
    for impl in ("fused", "unfused", "identity", "acle"):
        d = block["impls"][impl]
        per_mac = d["instructions_per_mac"]
        shrinks = all(per_mac[b] is not None for b in bits) and per_mac[bits[-1]] < per_mac[bits[0]]
        kernels = d["kernels"]
        statuses = {k["status"] for k in kernels}
        print(
            f"{block['name']} {impl}: {len(kernels)} kernel(s), {'ok' if statuses == {'ok'} else statuses}, "
            f"{'fewer' if shrinks else 'NOT fewer'} instructions at {bits[-1]} than at {bits[0]}"
        )
    print(f"{block['name']} MACs: " + " ".join(f"{k} {v}" for k, v in block["macs"].items()))
print("targets: " + " ".join(doc["targets"]))
