"""Run ``dwmlir fuzz`` through its own parser (usable before the command is wired into
``dwmlir.cli.main``), optionally against a deliberately broken reference.

usage: fuzz.py [--break-reference C] fuzz --count N --seed S [...]

``--break-reference C`` adds 1 to the last output element of the numpy reference whenever the
spec has at least C channels and a stride above 1: a planted bug with a known minimal spec,
so a test can check that the driver finds it and shrinks it.
"""

import argparse
import sys

import numpy as np

from dwmlir.cli.fuzz_cmd import add_fuzz_parser, cmd_fuzz
from dwmlir.errors import UserError
from dwmlir.run import runner

parser = argparse.ArgumentParser(prog="dwmlir")
parser.add_argument("--break-reference", type=int, default=None, metavar="C")
add_fuzz_parser(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args()

if args.break_reference is not None:
    real = runner.block_reference

    def broken(block, inp, flt, *params):
        out = np.array(real(block, inp, flt, *params))
        if block.conv.channels >= args.break_reference and max(block.conv.strides) > 1:
            out.flat[-1] += 1
        return out

    runner.block_reference = broken

try:
    sys.exit(cmd_fuzz(args))
except UserError as exc:
    print(f"dwmlir: error: {exc}", file=sys.stderr)
    sys.exit(2)
