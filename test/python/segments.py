# RUN: %PYTHON %s | FileCheck %s
# nest.segments: the closed form (O(segments)) gives exactly what the definition gives, output
# by output and tap by tap, on many random geometries, including ones where every tap of some
# outputs is padding, strides larger than the kernel span, and huge paddings.

import random

from dwmlir.rewrite.nest import Segment, segments


def brute_force(in_size, out_size, k, s, d, lo):
    """The definition: for each output, the in-bounds taps; runs of equal ranges merged."""
    out = []
    for o in range(out_size):
        taps = [t for t in range(k) if 0 <= o * s + t * d - lo < in_size]
        if not taps:
            continue
        kmin, kmax = taps[0], taps[-1]
        if out and (out[-1].kmin, out[-1].kmax) == (kmin, kmax) and out[-1].start + out[-1].count == o:
            out[-1] = Segment(out[-1].start, out[-1].count + 1, kmin, kmax)
        else:
            out.append(Segment(o, 1, kmin, kmax))
    return out


def geometry(rng):
    k, s, d = rng.randint(1, 12), rng.randint(1, 6), rng.randint(1, 5)
    in_size = rng.randint(1, 40)
    span = d * (k - 1) + 1
    lo, hi = rng.randint(0, 2 * span), rng.randint(0, 2 * span)
    padded = in_size + lo + hi
    if padded < span:
        hi += span - padded
        padded = span
    return in_size, (padded - span) // s + 1, k, s, d, lo


rng = random.Random(15)
cases = [geometry(rng) for _ in range(20000)]
cases += [(10, 10, 3, 1, 1, 1), (1, 5, 5, 1, 1, 2), (4, 3, 7, 3, 1, 6), (2000, 2000, 255, 1, 1, 127)]
bad = [c for c in cases if segments(*c) != brute_force(*c)]
print(f"{len(cases)} geometries, {len(bad)} differ", *bad[:3])
# CHECK: 20004 geometries, 0 differ

# Cost follows the number of segments, not out_size * k: 2^40 outputs of a 255-tap SAME conv.
big = segments(2**40, 2**40, 255, 1, 1, 127)
print(len(big), big[0], big[127], big[-1])
# CHECK-NEXT: 255 Segment(start=0, count=1, kmin=127, kmax=254) Segment(start=127, count=1099511627522, kmin=0, kmax=254) Segment(start=1099511627775, count=1, kmin=0, kmax=127)
