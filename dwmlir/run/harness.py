"""A generated C driver for one kernel: read operands from files, call, write the output.

The driver knows nothing about convolutions; it moves bytes. It poisons the output buffer
first so a kernel that accumulates instead of overwriting is caught.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..spec import ConvSpec
from ..target import Target
from ..toolchain import cross_cc, host_cc, run

_TEMPLATE = """\
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "{name}.h"

static void *load(const char *path, size_t bytes) {{
  void *buf = malloc(bytes ? bytes : 1);
  FILE *f = fopen(path, "rb");
  if (!buf || !f || fread(buf, 1, bytes, f) != bytes) {{
    fprintf(stderr, "harness: cannot read %zu bytes from %s\\n", bytes, path);
    exit(3);
  }}
  fclose(f);
  return buf;
}}

int main(int argc, char **argv) {{
  if (argc != 4) {{
    fprintf(stderr, "usage: %s INPUT FILTER OUTPUT\\n", argv[0]);
    return 2;
  }}
  const size_t in_bytes = {in_bytes}u, flt_bytes = {flt_bytes}u, out_bytes = {out_bytes}u;
  {ctype} *input = load(argv[1], in_bytes);
  {ctype} *filter = load(argv[2], flt_bytes);
  {out_ctype} *output = malloc(out_bytes ? out_bytes : 1);
  if (!output) return 3;
  memset(output, 0x7f, out_bytes);
  {name}(input, filter, {zero_points}output);
  FILE *f = fopen(argv[3], "wb");
  if (!f || fwrite(output, 1, out_bytes, f) != out_bytes) {{
    fprintf(stderr, "harness: cannot write %s\\n", argv[3]);
    return 3;
  }}
  fclose(f);
  return 0;
}}
"""


def render_harness(spec: ConvSpec) -> str:
    zero_points = f"{spec.input_zp}, {spec.filter_zp}, " if spec.info.quantized else ""
    return _TEMPLATE.format(
        name=spec.name,
        ctype=spec.c_type,
        out_ctype=spec.out_c_type,
        zero_points=zero_points,
        in_bytes=math.prod(spec.input_shape) * spec.in_bits // 8,
        flt_bytes=math.prod(spec.filter_shape) * spec.in_bits // 8,
        out_bytes=math.prod(spec.output_shape) * spec.out_bits // 8,
    )


def link_harness(target: Target, driver: Path, include_dir: Path, obj: Path, exe: Path) -> None:
    """Link the C driver with a kernel object into a static executable for ``target``."""
    cc = host_cc() if target.arch == "x86_64" else cross_cc()
    run([cc, "-static", "-O1", "-I", include_dir, driver, obj, "-lm", "-o", exe], what=f"linking {exe}")
