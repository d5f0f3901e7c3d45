"""Run the C baselines on shapes the bench sets do not have: channel counts that leave a
predicated tail at every vector length, every remainder of the acle_rb row blocks and column
rotations, batch 2. Prints one line per kernel and implementation (status only)."""

from dwmlir.bench.runner import run_bench
from dwmlir.bench.suite import OP_1D, OP_2D, OP_3D, BenchKernel
from dwmlir.spec import ConvSpec

SPECS = [
    # 2-D stride 1: 7 output rows (blocks 4 + 3), 8 columns ((8 - 2) % 3 = 0)
    ConvSpec(OP_2D, (1, 9, 10, 37), (3, 3, 37), name="odd_s1_a"),
    # 13 rows (5 + 5 + 3), 10 columns ((10 - 2) % 3 = 2), batch 2
    ConvSpec(OP_2D, (2, 15, 12, 13), (3, 3, 13), name="odd_s1_b"),
    # 2-D stride 2: 5 output rows (3 + 2), 4 columns (odd rotation remainder)
    ConvSpec(OP_2D, (1, 11, 9, 37), (3, 3, 37), (2, 2), name="odd_s2"),
    # 1-D K=7: 10 output columns ((10 - 6) % 7 = 4), batch 2
    ConvSpec(OP_1D, (2, 16, 37), (7, 37), name="odd_k7"),
    # 3-D: 3 output rows per plane (pass A 2 + 1), 4 columns ((4 - 2) % 3 = 2)
    ConvSpec(OP_3D, (1, 4, 5, 6, 13), (3, 3, 3, 13), name="odd_3d"),
]

results = run_bench([BenchKernel(s, "odd", "odd") for s in SPECS], [128, 512, 2048], [], jobs=2)
for k in results:
    for impl in k.impls:
        print(k.kernel.name, impl.impl, impl.status, impl.detail)
