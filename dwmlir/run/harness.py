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
#include <sys/prctl.h>
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

/* The SVE vector length this process runs at (0 without SVE): the runner checks that the
   emulator (or the native launcher) gave the length it asked for. */
static void dwmlir_report_vl(void) {{
  int dwmlir_vl = prctl(51 /* PR_SVE_GET_VL */, 0, 0, 0, 0);
  printf("dwmlir-vector-bits %d\\n", dwmlir_vl < 0 ? 0 : (dwmlir_vl & 0xffff) * 8);
}}
"""

# Threads for NAME_part: a driver built with ``parts`` takes PARTS first (0: one call of NAME).
_PARTS = """
#include <pthread.h>

struct dwmlir_job {{
{fields}
  int32_t part, parts;
}};

static void *dwmlir_work(void *dwmlir_p) {{
  struct dwmlir_job *dwmlir_j = dwmlir_p;
  {name}_part({part_args}, dwmlir_j->part, dwmlir_j->parts);
  return 0;
}}

/* One call of {name} (dwmlir_n == 0), or dwmlir_n threads each calling {name}_part. */
static void dwmlir_share_out(struct dwmlir_job dwmlir_job, int dwmlir_n) {{
  if (dwmlir_n == 0) {{
    {name}({whole_args});
    return;
  }}
  pthread_t *dwmlir_threads = malloc(sizeof(pthread_t) * dwmlir_n);
  struct dwmlir_job *dwmlir_jobs = malloc(sizeof(struct dwmlir_job) * dwmlir_n);
  if (!dwmlir_threads || !dwmlir_jobs) exit(3);
  for (int dwmlir_t = 0; dwmlir_t < dwmlir_n; ++dwmlir_t) {{
    dwmlir_jobs[dwmlir_t] = dwmlir_job;
    dwmlir_jobs[dwmlir_t].part = dwmlir_t;
    dwmlir_jobs[dwmlir_t].parts = dwmlir_n;
    if (pthread_create(&dwmlir_threads[dwmlir_t], 0, dwmlir_work, &dwmlir_jobs[dwmlir_t])) {{
      fprintf(stderr, "harness: cannot start thread %d of %d\\n", dwmlir_t, dwmlir_n);
      exit(3);
    }}
  }}
  for (int dwmlir_t = 0; dwmlir_t < dwmlir_n; ++dwmlir_t) pthread_join(dwmlir_threads[dwmlir_t], 0);
  free(dwmlir_threads);
  free(dwmlir_jobs);
}}
"""

# Drops PARTS from argv, so the rest of a driver reads its arguments as without threads.
_PARTS_ARG = """  if (dwmlir_argc < 2) {{
    fprintf(stderr, "usage: %s PARTS ...\\n", dwmlir_argv[0]);
    return 2;
  }}
  const int dwmlir_parts = atoi(dwmlir_argv[1]);
  dwmlir_argv[1] = dwmlir_argv[0];
  ++dwmlir_argv;
  --dwmlir_argc;
"""

_TEMPLATE = (
    _PRELUDE
    + """{parts}
int main(int dwmlir_argc, char **dwmlir_argv) {{
  dwmlir_report_vl();
{parts_arg}  if (dwmlir_argc != {argc}) {{
    fprintf(stderr, "usage: %s {usage}\\n", dwmlir_argv[0]);
    return 2;
  }}
{loads}
  const size_t dwmlir_out_bytes = {out_bytes}u;
  {out_ctype} *dwmlir_output = malloc(dwmlir_out_bytes ? dwmlir_out_bytes : 1);
  if (!dwmlir_output) return 3;
  memset(dwmlir_output, 0x7f, dwmlir_out_bytes);
  {call};
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


def _threads(block: BlockSpec, args: list[str]) -> tuple[str, str]:
    """The ``_PARTS`` code for ``block`` and the call of ``dwmlir_share_out`` with the C expressions
    ``args`` (in ABI order)."""
    fields = []
    for a in block.args:
        fields.append(f"  {a.c_type} {'*' if a.is_buffer else ''}{a.name};")
    code = _PARTS.format(
        name=block.name,
        fields="\n".join(fields),
        part_args=", ".join(f"dwmlir_j->{a.name}" for a in block.args),
        whole_args=", ".join(f"dwmlir_job.{a.name}" for a in block.args),
    )
    cast = [f"({a.c_type} *){v}" if a.is_buffer else v for a, v in zip(block.args, args, strict=True)]
    return code, f"dwmlir_share_out((struct dwmlir_job){{{', '.join(cast)}, 0, 0}}, dwmlir_parts)"


def render_harness(spec: ConvSpec | BlockSpec, parts: bool = False) -> str:
    """The driver's arguments are the kernel's buffers in ABI order, as files: inputs, then
    output. With ``parts``, PARTS comes first: 0 calls NAME, N > 0 calls NAME_part from N
    threads."""
    block = as_block(spec)
    conv = block.conv
    inputs = block.inputs
    # Locals are dwmlir_-prefixed: a kernel may be called input, filter or output.
    loads = [
        f"  {a.c_type} *dwmlir_{a.name} = dwmlir_load(dwmlir_argv[{i + 1}], {a.bytes}u);"
        for i, a in enumerate(inputs)
    ]
    scalars = {"input_zp": str(conv.input_zp), "filter_zp": str(conv.filter_zp)}
    args = [f"dwmlir_{a.name}" if a.is_buffer else scalars[a.name] for a in block.args]
    code, call = _threads(block, args) if parts else ("", f"{block.name}({', '.join(args)})")
    return _TEMPLATE.format(
        name=block.name,
        parts=code,
        parts_arg=_PARTS_ARG.format() if parts else "",
        argc=len(inputs) + 2,
        argc_out=len(inputs) + 1,
        usage=("PARTS " if parts else "") + " ".join(a.name.upper() for a in (*inputs, block.buffers[-1])),
        loads="\n".join(loads),
        out_ctype=block.out_c_type,
        out_bytes=block.buffers[-1].bytes,
        call=call,
    )


def link_harness(target: Target, driver: Path, include_dir: Path, obj: Path, exe: Path) -> None:
    """Link the C driver with a kernel object into a static executable for ``target``."""
    cc = host_cc() if target.arch == "x86_64" else cross_cc()
    cmd = [cc, "-static", "-O1", "-pthread", "-I", include_dir, driver, obj, "-lm", "-o", exe]
    run(cmd, what=f"linking {exe}")


_DYNAMIC_TEMPLATE = (
    _PRELUDE
    + """
#define DWMLIR_CANARY 64

/* Usage: driver {usage} then, per call: {sizes} INPUT INPUT_BYTES OUTPUT OUTPUT_BYTES */
{parts}
int main(int dwmlir_argc, char **dwmlir_argv) {{
  dwmlir_report_vl();
{parts_arg}  const int dwmlir_fixed = {fixed}, dwmlir_per_call = {per_call};
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
    {call};
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


def render_dynamic_harness(spec: ConvSpec | BlockSpec, parts: bool = False) -> str:
    """A driver that calls a kernel with run-time sizes several times in one process: the
    filter and the block's buffers once, then per call the sizes, the input and the output
    (each file with its byte count; an output of 0 bytes checks that nothing is written).
    ``parts``: PARTS first, as for ``render_harness``."""
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

    args = [arg(a) for a in block.args]
    code, call = _threads(block, args) if parts else ("", f"{block.name}({', '.join(args)})")
    return _DYNAMIC_TEMPLATE.format(
        name=block.name,
        parts=code,
        parts_arg=_PARTS_ARG.format() if parts else "",
        call=call,
        fixed=len(fixed),
        per_call=len(sizes) + 4,
        usage=("PARTS " if parts else "") + " ".join(a.name.upper() for a in fixed),
        sizes=" ".join(s.upper() for s in sizes),
        loads="\n".join(loads),
        size_vars="\n".join(size_vars),
        n_sizes=len(sizes),
        in_ctype=conv.c_type,
    )
