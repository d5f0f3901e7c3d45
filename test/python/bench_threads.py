# RUN: %PYTHON %s | FileCheck %s
# The large layers of `dwmlir bench`'s 2-thread target (dwmlir.bench.threads.is_large): input
# and output together at least 1 MiB, more than Neoverse V1's L2 holds. A size, so that every
# machine judges the same kernels.

from dwmlir.bench.suite import full_set, quick_set
from dwmlir.bench.threads import is_large


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


# CHECK-LABEL: TEST: test_large_layers
# CHECK-NEXT: large: mnv2_112x112x32_s1 mnv2_112x112x96_s2 mnv2_56x56x144_s1 mnv2_56x56x144_s2 mnv2_28x28x192_s1 c3d_3x3x3_c256 c3d_3x3x3_18x18x18x64
# CHECK-NEXT: quick set: none
@run
def test_large_layers():
    print("large:", " ".join(k.spec.name for k in full_set() if is_large(k.spec)))
    print("quick set:", " ".join(k.spec.name for k in quick_set() if is_large(k.spec)) or "none")
