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

static void *dwmlir_load(const char *path, size_t bytes) {{
  void *buf = malloc(bytes ? bytes : 1);
  FILE *dwmlir_f = fopen(path, "rb");
  if (!buf || !dwmlir_f || fread(buf, 1, bytes, dwmlir_f) != bytes) {{
    fprintf(stderr, "harness: cannot read %zu bytes from %s\\n", bytes, path);
    exit(3);
  }}
  fclose(dwmlir_f);
  return buf;
}}

int main(int dwmlir_argc, char **dwmlir_argv) {{
  if (dwmlir_argc != 4) {{
    fprintf(stderr, "usage: %s INPUT FILTER OUTPUT\\n", dwmlir_argv[0]);
    return 2;
  }}
  const size_t dwmlir_in_bytes = {in_bytes}u, dwmlir_flt_bytes = {flt_bytes}u;
  const size_t dwmlir_out_bytes = {out_bytes}u;
  {ctype} *dwmlir_input = dwmlir_load(dwmlir_argv[1], dwmlir_in_bytes);
  {ctype} *dwmlir_filter = dwmlir_load(dwmlir_argv[2], dwmlir_flt_bytes);
  {out_ctype} *dwmlir_output = malloc(dwmlir_out_bytes ? dwmlir_out_bytes : 1);
  if (!dwmlir_output) return 3;
  memset(dwmlir_output, 0x7f, dwmlir_out_bytes);
  {name}(dwmlir_input, dwmlir_filter, {zero_points}dwmlir_output);
  FILE *dwmlir_f = fopen(dwmlir_argv[3], "wb");
  if (!dwmlir_f || fwrite(dwmlir_output, 1, dwmlir_out_bytes, dwmlir_f) != dwmlir_out_bytes) {{
    fprintf(stderr, "harness: cannot write %s\\n", dwmlir_argv[3]);
    return 3;
  }}
  fclose(dwmlir_f);
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
