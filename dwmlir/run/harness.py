"""A generated C driver for one kernel: read operands from files, call, write the output.

The driver knows nothing about convolutions; it moves bytes. It poisons the output buffer
first so a kernel that accumulates instead of overwriting is caught.
"""

from __future__ import annotations

from pathlib import Path

from ..spec import BlockSpec, ConvSpec, as_block
from ..target import Target
from ..toolchain import cross_cc, host_cc, run

# The drivers' common start: includes and a file loader (format strings, like the templates).
_PRELUDE = """\
#include <stdint.h>
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
"""

_TEMPLATE = (
    _PRELUDE
    + """
int main(int dwmlir_argc, char **dwmlir_argv) {{
  if (dwmlir_argc != {argc}) {{
    fprintf(stderr, "usage: %s {usage}\\n", dwmlir_argv[0]);
    return 2;
  }}
{loads}
  const size_t dwmlir_out_bytes = {out_bytes}u;
  {out_ctype} *dwmlir_output = malloc(dwmlir_out_bytes ? dwmlir_out_bytes : 1);
  if (!dwmlir_output) return 3;
  memset(dwmlir_output, 0x7f, dwmlir_out_bytes);
  {name}({call_args});
  FILE *dwmlir_f = fopen(dwmlir_argv[{argc_out}], "wb");
  if (!dwmlir_f || fwrite(dwmlir_output, 1, dwmlir_out_bytes, dwmlir_f) != dwmlir_out_bytes) {{
    fprintf(stderr, "harness: cannot write %s\\n", dwmlir_argv[{argc_out}]);
    return 3;
  }}
  fclose(dwmlir_f);
  return 0;
}}
"""
)


def render_harness(spec: ConvSpec | BlockSpec) -> str:
    """The driver's arguments are the kernel's buffers in ABI order, as files: inputs, then output."""
    block = as_block(spec)
    conv = block.conv
    inputs = block.inputs
    # Locals are dwmlir_-prefixed: a kernel may be called input, filter or output.
    loads = [
        f"  {a.c_type} *dwmlir_{a.name} = dwmlir_load(dwmlir_argv[{i + 1}], {a.bytes}u);"
        for i, a in enumerate(inputs)
    ]
    scalars = {"input_zp": str(conv.input_zp), "filter_zp": str(conv.filter_zp)}
    return _TEMPLATE.format(
        name=block.name,
        argc=len(inputs) + 2,
        argc_out=len(inputs) + 1,
        usage=" ".join(a.name.upper() for a in (*inputs, block.buffers[-1])),
        loads="\n".join(loads),
        out_ctype=block.out_c_type,
        out_bytes=block.buffers[-1].bytes,
        call_args=", ".join(f"dwmlir_{a.name}" if a.is_buffer else scalars[a.name] for a in block.args),
    )


def link_harness(target: Target, driver: Path, include_dir: Path, obj: Path, exe: Path) -> None:
    """Link the C driver with a kernel object into a static executable for ``target``."""
    cc = host_cc() if target.arch == "x86_64" else cross_cc()
    run([cc, "-static", "-O1", "-I", include_dir, driver, obj, "-lm", "-o", exe], what=f"linking {exe}")


_DYNAMIC_TEMPLATE = (
    _PRELUDE
    + """
#define DWMLIR_CANARY 64

/* Usage: driver {usage} then, per call: {sizes} INPUT INPUT_BYTES OUTPUT OUTPUT_BYTES */
int main(int dwmlir_argc, char **dwmlir_argv) {{
  const int dwmlir_fixed = {fixed}, dwmlir_per_call = {per_call};
  if (dwmlir_argc < 1 + dwmlir_fixed || (dwmlir_argc - 1 - dwmlir_fixed) % dwmlir_per_call) {{
    fprintf(stderr, "usage: %s {usage} [{sizes} INPUT INPUT_BYTES OUTPUT OUTPUT_BYTES]...\\n",
            dwmlir_argv[0]);
    return 2;
  }}
{loads}
  for (int dwmlir_a = 1 + dwmlir_fixed; dwmlir_a < dwmlir_argc; dwmlir_a += dwmlir_per_call) {{
    char **dwmlir_call = dwmlir_argv + dwmlir_a;
{size_vars}
    const size_t dwmlir_in_bytes = strtoull(dwmlir_call[{n_sizes} + 1], 0, 10);
    {in_ctype} *dwmlir_input = dwmlir_load(dwmlir_call[{n_sizes}], dwmlir_in_bytes);
    const size_t dwmlir_out_bytes = strtoull(dwmlir_call[{n_sizes} + 3], 0, 10);
    /* The output is poisoned, and followed by a canary that the kernel must not touch. */
    unsigned char *dwmlir_out = malloc(dwmlir_out_bytes + DWMLIR_CANARY);
    if (!dwmlir_out) return 3;
    memset(dwmlir_out, 0x7f, dwmlir_out_bytes + DWMLIR_CANARY);
    {name}({call_args});
    for (size_t dwmlir_i = 0; dwmlir_i < DWMLIR_CANARY; ++dwmlir_i)
      if (dwmlir_out[dwmlir_out_bytes + dwmlir_i] != 0x7f) {{
        fprintf(stderr, "harness: the kernel wrote past the end of its %zu-byte output "
                "(call at argument %d)\\n", dwmlir_out_bytes, dwmlir_a);
        return 4;
      }}
    FILE *dwmlir_f = fopen(dwmlir_call[{n_sizes} + 2], "wb");
    if (!dwmlir_f || fwrite(dwmlir_out, 1, dwmlir_out_bytes, dwmlir_f) != dwmlir_out_bytes) {{
      fprintf(stderr, "harness: cannot write %s\\n", dwmlir_call[{n_sizes} + 2]);
      return 3;
    }}
    fclose(dwmlir_f);
    free(dwmlir_input);
    free(dwmlir_out);
  }}
  return 0;
}}
"""
)


def render_dynamic_harness(spec: ConvSpec | BlockSpec) -> str:
    """A driver that calls a kernel with run-time sizes several times in one process: the
    filter and the block's buffers once, then per call the sizes, the input and the output
    (each file with its byte count; an output of 0 bytes checks that nothing is written)."""
    block = as_block(spec)
    conv = block.conv
    inputs = block.inputs
    fixed = inputs[1:]  # filter and the block's own buffers
    loads = [
        f"  {a.c_type} *dwmlir_{a.name} = dwmlir_load(dwmlir_argv[{i + 1}], {a.bytes}u);"
        for i, a in enumerate(fixed)
    ]
    sizes = list(conv.dynamic)
    size_vars = [
        f"    const int64_t dwmlir_size_{s} = strtoll(dwmlir_call[{i}], 0, 10);" for i, s in enumerate(sizes)
    ]
    scalars = {"input_zp": str(conv.input_zp), "filter_zp": str(conv.filter_zp)}

    def arg(a) -> str:
        if a.is_size:
            return f"dwmlir_size_{a.name}"
        if a.name == "output":
            return f"({block.out_c_type} *)dwmlir_out"
        return f"dwmlir_{a.name}" if a.is_buffer else scalars[a.name]

    return _DYNAMIC_TEMPLATE.format(
        name=block.name,
        fixed=len(fixed),
        per_call=len(sizes) + 4,
        usage=" ".join(a.name.upper() for a in fixed),
        sizes=" ".join(s.upper() for s in sizes),
        loads="\n".join(loads),
        size_vars="\n".join(size_vars),
        n_sizes=len(sizes),
        in_ctype=conv.c_type,
        call_args=", ".join(arg(a) for a in block.args),
    )
