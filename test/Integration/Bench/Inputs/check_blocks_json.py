"""Summarise `dwmlir bench --set blocks --json`: per block and implementation the number of
kernels, their status and whether the counts shrink with the vector length (VLA code), the
MACs per stage and the target keys; with the cache model, whether each implementation's DRAM
bytes sum its kernels' and reach at least its buffers' bytes (cold caches read every input
byte and write back every output byte). FileCheck checks the lines."""

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
    for impl in ("fused", "unfused", "acle") if doc["cache_bits"] else ():
        d = block["impls"][impl]
        for b in map(str, doc["cache_bits"]):
            total = d["dram_bytes"][b]
            sums = total == sum(k["cache"][b]["dram_bytes"] for k in d["kernels"])
            print(
                f"{block['name']} {impl} DRAM at {b}: {'sums' if sums else 'does NOT sum'} its kernels, "
                f"{'>=' if total >= d['bytes'] else '<'} its buffers' bytes"
            )
print("targets: " + " ".join(doc["targets"]))
