"""What an import writes (one library, one header, the weights as C source) and the Python
object that runs the compiled layers under qemu and checks them against the framework.

Files, for a model imported as ``NAME``:

- ``libNAME.a``: one kernel per depthwise layer (with what was fused into it);
- ``NAME.h``: every kernel's prototype, buffer shapes and size constants, plus the weight
  arrays and a ``KERNEL_apply(input, output)`` per layer that calls the kernel with them;
- ``NAME_weights.c``: the weights as ``const float`` arrays in the kernels' own layouts
  (channels-last filter ``hwc``/``hwcm``, pointwise ``[C*M][COUT]``, BatchNorm folded), not
  pre-packed further: the kernels read them in that order;
- ``NAME.json``: which framework layers each kernel replaces, and every file's sha256.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import InternalError, UserError
from .graph import Layer

# Libraries built in this process, by name, target, cpu and kernels: importing the same layers
# again (a PyTorch model, then its ONNX export) reuses the library, which would come out
# byte-identical anyway (compiles are deterministic); with the kernels rebuilt for code size
# (``BuiltKernel.compact_expand``), whose header text follows it.
_LIBRARIES: dict[tuple, tuple[bytes, tuple[bool, ...]]] = {}

# Values of the framework model by name (channels-first), for one model input.
Capture = Callable[[object, Sequence[str]], dict[str, np.ndarray]]

_DRIVER = """\
#include <stdio.h>
#include <stdlib.h>
#include "{lib}.h"

/* Runs every layer of {lib} on its slice of argv[1]; writes the outputs to argv[2]. */
int main(int argc, char **argv) {{
  if (argc != 3) return 2;
  static const size_t in_off[] = {{{in_off}}}, out_off[] = {{{out_off}}};
  const size_t in_bytes = {in_bytes}u, out_bytes = {out_bytes}u;
  float *in = malloc(in_bytes), *out = malloc(out_bytes);
  FILE *f = fopen(argv[1], "rb");
  if (!in || !out || !f || fread(in, 1, in_bytes, f) != in_bytes) return 3;
  fclose(f);
{calls}
  f = fopen(argv[2], "wb");
  if (!f || fwrite(out, 1, out_bytes, f) != out_bytes) return 3;
  fclose(f);
  (void)in_off; (void)out_off;
  return 0;
}}
"""


@dataclass(frozen=True)
class LayerCheck:
    """One layer at one vector length: the kernel's output against the framework's.

    ``max_abs_err``/``tolerance``: kernel against the framework's own output of the fused
    layers (BatchNorm unfolded, the framework's arithmetic); ``kernel_ok``: the kernel within
    dwmlir's error bound of its numpy reference on the folded weights.
    """

    layer: str
    kernel: str
    vector_bits: int | None
    ok: bool
    max_abs_err: float
    tolerance: float
    kernel_ok: bool

    def __str__(self) -> str:
        where = f"at {self.vector_bits} bits" if self.vector_bits else "(fixed-width target)"
        verdict = "ok" if self.ok else "MISMATCH" if self.kernel_ok else "MISMATCH (kernel against numpy too)"
        return (
            f"{self.kernel} (layer {self.layer}) {where}: {verdict}, max|err| {self.max_abs_err:.3g} "
            f"(tolerance {self.tolerance:.3g})"
        )


@dataclass
class ImportedModel:
    """A framework model's depthwise layers compiled by dwmlir (see :func:`dwmlir.from_torch`).

    ``layers``: one :class:`Layer` per kernel (its ``block``, ``weights``, the framework nodes
    it replaces); ``files``/``paths``: the artefacts and where they were written. Calling it
    runs every compiled layer under qemu (or natively) on the input that layer sees when the
    framework runs the model on ``x``, and returns each layer's output by framework layer name,
    in the framework's layout (N, C, spatial...).
    """

    name: str
    target: str
    cpu: str | None
    framework: str
    layers: tuple[Layer, ...]
    files: dict[str, bytes] = field(repr=False)
    paths: dict[str, Path] = field(repr=False)
    capture: Capture = field(repr=False)
    example_input: object = field(repr=False)
    _exe_dir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def __call__(self, x: object = None, *, vector_bits: int | None = None) -> dict[str, np.ndarray]:
        """Each compiled layer's output for model input ``x`` (default: the example input), at
        one SVE vector length (default 128 bits on scalable targets)."""
        values = self.capture(self._input(x), [layer.input for layer in self.layers])
        return self._run([values[layer.input] for layer in self.layers], vector_bits)

    def check(self, x: object = None, vector_bits: int | Sequence[int] | None = None) -> list[LayerCheck]:
        """Run every layer at each vector length on what the framework feeds it for model input
        ``x`` (default: the example input), and compare with the framework's own output of
        the layers it replaces; one :class:`LayerCheck` per layer and vector length (default
        128 and 512 bits; a VLS target's own length; once on a fixed-width target, which
        takes no ``vector_bits``)."""
        from ..reference import block_reference, compare_block
        from ..reference.numpy_ref import compare_within
        from ..run import target_vector_bits
        from ..target import get_target

        target = get_target(self.target)
        given = (vector_bits,) if isinstance(vector_bits, int) else vector_bits
        bits = target_vector_bits(target, None if given is None else tuple(given), (128, 512))
        names = [n for layer in self.layers for n in (layer.input, layer.output)]
        values = self.capture(self._input(x), names)
        inputs = [values[layer.input] for layer in self.layers]
        refs, tols = [], []
        for layer, x_cf in zip(self.layers, inputs, strict=True):
            ops = _operands(layer, x_cf)
            refs.append(block_reference(layer.block, *ops))
            want = values[layer.output].astype(np.float64)
            # The framework computes the unfolded layers in float32: allow for that rounding
            # (BatchNorm folding, another summation order) against the output's scale.
            eps = float(np.finfo(np.float32).eps)
            b = layer.block
            taps = (
                math.prod(b.conv.kernel)
                + (b.out_channels if b.pointwise else 0)
                + (b.expand.cin if b.expand else 0)
            )
            tols.append(8 * taps * eps * (np.abs(want) + float(np.abs(want).mean()) + 1e-30))
        checks = []
        for vb in bits:
            outs = self._run(inputs, vb, channels_first=False)
            for i, layer in enumerate(self.layers):
                got = outs[layer.source]
                kernel_ok = compare_block(layer.block, got, refs[i], _operands(layer, inputs[i])).ok
                want = values[layer.output]
                cmp = compare_within(_to_cf(got, layer.block.conv.info.rank), want, tols[i])
                checks.append(
                    LayerCheck(
                        layer.source,
                        layer.kernel,
                        vb,
                        cmp.ok and kernel_ok,
                        cmp.max_abs_err,
                        cmp.tolerance,
                        kernel_ok,
                    )
                )
        return checks

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """Write the artefacts into ``out_dir`` (whole, or none of them); their paths by name."""
        from ..artefact import write_files

        self.paths = {p.name: p for p in write_files(out_dir, self.files)}
        return self.paths

    def summary(self) -> str:
        """One line per kernel: name, op, output shape and what was fused, in data-flow order
        (``expand CIN, ...; dw bias, act; pointwise COUT, ..., residual``; without a
        pointwise conv, ``dw bias, act; residual``)."""
        rows = []
        for layer in self.layers:
            b = layer.block
            stages = (
                b.expand and b.expand.describe(),
                b.epilogue.describe() and f"dw {b.epilogue.describe()}",
            )
            parts = [p for p in stages if p] + b.after_depthwise
            rows.append((b.name, b.conv.op, "x".join(map(str, b.output_shape)), "; ".join(parts) or "-"))
        w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(("kernel", "op", "output"))]
        lines = [f"{'kernel':<{w[0]}}  {'op':<{w[1]}}  {'output':>{w[2]}}  fused"]
        lines += [f"{k:<{w[0]}}  {op:<{w[1]}}  {out:>{w[2]}}  {fused}" for k, op, out, fused in rows]
        return "\n".join(lines)

    # -- running ------------------------------------------------------------------------------
    def _input(self, x: object) -> object:
        return self.example_input if x is None else x

    def _run(
        self, inputs: list[np.ndarray], vector_bits: int | None, channels_first: bool = True
    ) -> dict[str, np.ndarray]:
        from ..run import target_vector_bits
        from ..target import get_target
        from ..toolchain import exec_prefix, run

        target = get_target(self.target)
        (vector_bits,) = target_vector_bits(target, None if vector_bits is None else (vector_bits,), (128,))
        exe = self._executable()
        blobs = []
        for layer, x in zip(self.layers, inputs, strict=True):
            want = tuple(layer.block.input_shape)
            got = _to_cl(np.asarray(x, dtype=np.float32))
            if got.shape != want:
                raise UserError(
                    f"layer {layer.source} gets a {'x'.join(map(str, x.shape))} input but was imported for "
                    f"{'x'.join(map(str, (want[0], want[-1], *want[1:-1])))}: import the model again with "
                    "an example input of this shape"
                )
            blobs.append(got.tobytes())
        with tempfile.TemporaryDirectory(prefix="dwmlir-net-") as tmp:
            inp, out = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
            inp.write_bytes(b"".join(blobs))
            where = f"{vector_bits} bits" if vector_bits else target.name
            run([*exec_prefix(target, vector_bits), exe, inp, out], what=f"{self.name} at {where}", ours=True)
            data = out.read_bytes()
        result, off = {}, 0
        for layer in self.layers:
            shape = layer.block.output_shape
            n = math.prod(shape) * 4
            y = np.frombuffer(data[off : off + n], dtype=np.float32).reshape(shape)
            off += n
            result[layer.source] = _to_cf(y, layer.block.conv.info.rank) if channels_first else y
        return result

    def _executable(self) -> Path:
        """The library, the weights and a driver that runs every layer, linked once."""
        if self._exe_dir is not None:
            return Path(self._exe_dir.name) / "net"
        from ..target import get_target
        from ..toolchain import cross_cc, host_cc, run

        tmp = tempfile.TemporaryDirectory(prefix="dwmlir-import-")
        d = Path(tmp.name)
        for fname in (f"lib{self.name}.a", f"{self.name}.h", f"{self.name}_weights.c"):
            (d / fname).write_bytes(self.files[fname])
        in_off, out_off, calls = [0], [0], []
        for i, layer in enumerate(self.layers):
            in_off.append(in_off[-1] + math.prod(layer.block.input_shape) * 4)
            out_off.append(out_off[-1] + math.prod(layer.block.output_shape) * 4)
            calls.append(
                f"  {layer.kernel}_apply((const float *)((char *)in + in_off[{i}]), "
                f"(float *)((char *)out + out_off[{i}]));"
            )
        (d / "driver.c").write_text(
            _DRIVER.format(
                lib=self.name,
                in_off=", ".join(f"{v}u" for v in in_off[:-1]),
                out_off=", ".join(f"{v}u" for v in out_off[:-1]),
                in_bytes=in_off[-1],
                out_bytes=out_off[-1],
                calls="\n".join(calls),
            )
        )
        cc = host_cc() if get_target(self.target).arch == "x86_64" else cross_cc()
        args = [cc, "-static", "-O1", "-I", d, d / "driver.c", d / f"{self.name}_weights.c"]
        run([*args, d / f"lib{self.name}.a", "-lm", "-o", d / "net"], what=f"linking {self.name}")
        self._exe_dir = tmp
        return d / "net"


def _to_cl(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def _to_cf(x: np.ndarray, rank: int | None = None) -> np.ndarray:
    """Channels-last to channels-first; a multiplier op's (..., C, M) output is channel c*M + m."""
    if rank is not None and x.ndim == rank + 3:
        x = x.reshape(*x.shape[:-2], -1)
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def _operands(layer: Layer, x_cf: np.ndarray) -> list[np.ndarray]:
    inp = _to_cl(np.asarray(x_cf, dtype=np.float32))
    return [inp, *(layer.weights[a.name] for a in layer.block.inputs[1:])]


# -- artefacts ---------------------------------------------------------------------------------
def _c_array(name: str, values: np.ndarray) -> list[str]:
    """``const float name[N] = {...};`` with every float32 exactly (9 significant digits)."""
    flat = np.ascontiguousarray(values, dtype=np.float32).ravel()
    if not np.all(np.isfinite(flat)):
        raise UserError(f"{name} has a NaN or infinite weight: check the model (BatchNorm variance?)")
    lines = [f"const float {name}[{flat.size}] = {{"]
    for i in range(0, flat.size, 6):
        lines.append("  " + " ".join(f"{v:.9e}f," for v in flat[i : i + 6].tolist()))
    lines.append("};")
    return lines


def _weights_source(lib: str, layers: Sequence[Layer], framework: str, source: str) -> str:
    lines = [
        f"/* {lib}_weights.c: generated by dwmlir {__version__} from {framework} model {source};",
        " * do not edit.",
        " * The weights of every kernel of lib" + lib + ".a in the kernel's own layouts (channels-last",
        " * filter, pointwise [C*M][COUT]; BatchNorm folded into weights and biases). */",
        f'#include "{lib}.h"',
        "",
    ]
    for layer in layers:
        lines.append(f"/* {layer.kernel}: {framework} layers {', '.join(layer.fused)} */")
        for arg in layer.block.inputs[1:]:
            lines += _c_array(f"{layer.kernel}_{arg.name}", layer.weights[arg.name])
        args = ", ".join(
            "input" if a.name == "input" else "output" if a.name == "output" else f"{layer.kernel}_{a.name}"
            for a in layer.block.args
        )
        lines += [
            f"void {layer.kernel}_apply(const float *input, float *output) {{",
            f"  {layer.kernel}({args});",
            "}",
            "",
        ]
    return "\n".join(lines)


def _weights_decls(lib: str, layers: Sequence[Layer], framework: str) -> list[str]:
    lines = [
        f"/* The weights, in {lib}_weights.c (compile it with your program), and one call per layer:",
        " * KERNEL_apply(input, output) runs KERNEL with its weights. Activations are",
        f" * channels-last (N, spatial..., C); {framework} keeps them channels-first. */",
    ]
    for layer in layers:
        lines.append(f"/* {layer.kernel}: {framework} layers {', '.join(layer.fused)} */")
        for arg in layer.block.inputs[1:]:
            lines.append(f"extern const float {layer.kernel}_{arg.name}[{math.prod(arg.shape)}];")
        lines.append(f"void {layer.kernel}_apply(const float *input, float *output);")
    return [*lines, ""]


def build_model(
    layers: list[Layer],
    *,
    lib: str,
    framework: str,
    source: str,
    target: str,
    cpu: str | None,
    out_dir: str | os.PathLike[str] | None,
    jobs: int | None,
    capture: Capture,
    example_input: object,
) -> ImportedModel:
    """Compile every layer into one library, write the header and the weights, return the
    callable model."""
    from ..artefact.batch import LibraryConfig, build_library
    from ..artefact.compile import check_cpu, sha256_hex
    from ..artefact.header import kernel_block, render_header
    from ..target import get_target

    if not layers:
        raise UserError(
            f"no depthwise conv in {source}: dwmlir imports Conv layers with groups == in_channels "
            "(nothing to compile)"
        )
    resolved = get_target(target)
    cpu = check_cpu(resolved, cpu)
    if resolved.arch not in ("aarch64", "x86_64"):
        raise InternalError(f"unexpected target arch {resolved.arch}")
    cfg = LibraryConfig(lib, resolved, cpu, tuple(layer.block for layer in layers))
    key = (cfg.name, cfg.target.name, cfg.cpu, cfg.kernels)
    if key not in _LIBRARIES:
        built, kernels = build_library(cfg, jobs or os.cpu_count() or 1)
        _LIBRARIES[key] = built[f"lib{lib}.a"], tuple(k.compact_expand for k in kernels)
    archive_bytes, compact = _LIBRARIES[key]
    files = {f"lib{lib}.a": archive_bytes}
    blocks = [
        kernel_block(layer.block, resolved, cpu, compact=c) for layer, c in zip(layers, compact, strict=True)
    ]
    blocks.append(_weights_decls(lib, layers, framework))
    note = f"{len(layers)} kernels in lib{lib}.a, weights in {lib}_weights.c; needs only libc."
    files[f"{lib}.h"] = render_header(lib, blocks, __version__, note).encode()
    files[f"{lib}_weights.c"] = _weights_source(lib, layers, framework, source).encode()
    manifest = {
        "dwmlir": __version__,
        "library": lib,
        "framework": framework,
        "source": source,
        "target": resolved.name,
        "cpu": cpu,
        "layers": [
            {"kernel": layer.kernel, "layers": list(layer.fused), "spec": layer.block.describe()}
            for layer in layers
        ],
        "artefacts": {name: sha256_hex(data) for name, data in sorted(files.items())},
    }
    files[f"{lib}.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    model = ImportedModel(
        lib, resolved.name, cpu, framework, tuple(layers), files, {}, capture, example_input
    )
    if out_dir is not None:
        model.write(out_dir)
    return model
