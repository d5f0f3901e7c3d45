"""Run several `dwmlir compile` at once into one (new) output directory and check the result.

usage: concurrent_compile.py DWMLIR OUT_DIR NAME:FILTER [NAME:FILTER...]
Each NAME:FILTER compiles `--input 1x10x4 --filter FILTER --name NAME`. Every process must
exit 0; afterwards each NAME's files must be one consistent set (NAME.json's sha256 of every
file matches the file), and nothing but the artefacts may be left in OUT_DIR.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

dwmlir, out = sys.argv[1], Path(sys.argv[2])
jobs = [arg.split(":") for arg in sys.argv[3:]]
procs = [
    subprocess.Popen(
        [dwmlir, "compile", "--input", "1x10x4", "--filter", flt, "--name", name, "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for name, flt in jobs
]
failed = False
for (name, _), proc in zip(jobs, procs, strict=True):
    _, err = proc.communicate()
    print(f"{name}: exit={proc.returncode} {err.strip()}")
    failed |= proc.returncode != 0
expected = set()
for name in sorted({n for n, _ in jobs}):
    manifest = json.loads((out / f"{name}.json").read_text())
    expected |= {f"{name}.json", *manifest["artefacts"]}
    bad = [
        f for f, h in manifest["artefacts"].items() if hashlib.sha256((out / f).read_bytes()).hexdigest() != h
    ]
    print(f"{name}: {'consistent' if not bad else 'MIXED SET: ' + ', '.join(bad)}")
    failed |= bool(bad)
extra = sorted(p.name for p in out.iterdir() if p.name not in expected)
print(f"left over: {', '.join(extra) or 'nothing'}")
sys.exit(1 if failed or extra else 0)
