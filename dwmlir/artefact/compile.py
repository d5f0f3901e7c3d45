"""Drive one spec through every stage and collect the artefacts in memory.

spec -> linalg IR -> our rewrites -> schedule -> pass bundles -> LLVM dialect -> LLVM IR (in
process) -> .ll (opt -O3) -> .s (llc) -> .o/.a/.so + header + manifest.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlir import ir
from mlir.dialects.llvm import translate_module_to_llvmir

from .. import __version__
from ..errors import InternalError, UserError
from ..ir import build_kernel_module
from ..ir.builder import PART_SUFFIX
from ..pipeline import CLEANUP, bundles, run_bundle, set_vscale_range
from ..rewrite import DEFAULT_VECTORIZER, FLAT_3D_ROWS_FROM, VectorShape, has_fill
from ..rewrite.blocked import band_rows, bands_without_lsr, blocking, row_sweep, whole_is_part
from ..rewrite.nest import ConvGeometry
from ..schedule import apply_schedule, build_schedule
from ..spec import DTYPES, BlockSpec, ConvSpec, as_block
from ..target import Target, add_vl_guard, for_dtype
from ..toolchain import LLVM_VERSION, Step, llvm_tool, run, run_chains
from .codegen import Backend, split_functions
from .header import c_prototype, check_expand_chunks, expand_plan, kernel_block, render_header, row_plan_args
from .limits import COMPACT_EXPAND_ATTR, census, check_code_size, rewrite_within_limit


@dataclass
class Artefacts:
    """Every stage's text plus the object file, keyed by file suffix."""

    block: BlockSpec
    target: Target
    vectorizer: str = DEFAULT_VECTORIZER
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def spec(self) -> ConvSpec:
        """The depthwise layer of the block."""
        return self.block.conv

    def text(self, suffix: str) -> str:
        return self.files[suffix].decode()

    @property
    def compact_expand(self) -> bool:
        """Whether the kernel's expand stage was rebuilt for code size: its functions carry
        ``COMPACT_EXPAND_ATTR`` in the vector IR (``limits.rewrite_within_limit``)."""
        return COMPACT_EXPAND_ATTR.encode() in self.files.get(".vector.mlir", b"")


def _check_vectorized(leftovers: list[str], spec: ConvSpec) -> None:
    """Scalar fallback is a bug: no linalg op (``leftovers``) may survive the schedule."""
    if leftovers:
        raise InternalError(
            f"schedule left {', '.join(sorted(set(leftovers)))} unvectorized for {spec.describe()}"
        )


def lower_to_llvm_dialect(
    spec: ConvSpec | BlockSpec, target: Target, vectorizer: str = DEFAULT_VECTORIZER
) -> tuple[str, str, str, str]:
    """Return (input linalg, schedule, vectorized, LLVM-dialect) MLIR texts."""
    return _lower(spec, target, vectorizer)


def _lower(
    spec: ConvSpec | BlockSpec,
    target: Target,
    vectorizer: str,
    on_llvm_ir: Callable[[list[bytes]], None] | None = None,
) -> tuple[str, str, str, str]:
    """``lower_to_llvm_dialect``. ``on_llvm_ir`` gets the LLVM IR, translated in process,
    before the last two texts are printed (so that opt and llc can run meanwhile): one
    module per kernel function when they can go through opt and llc side by side
    (``codegen.split_functions``), else one."""
    block = as_block(spec)
    spec = block.conv
    target = for_dtype(target, spec.dtype)
    parts = [block.expand.describe()] if block.expand is not None else []
    parts += [block.epilogue.describe()] if not block.epilogue.empty else []
    parts += block.after_depthwise
    if not parts and spec.out_dtype != spec.acc_dtype:
        parts = [f"rounding to {spec.out_dtype}"]
    if parts and vectorizer != DEFAULT_VECTORIZER:
        what = (
            f"an epilogue ({parts[0]})"
            if parts in ([block.epilogue.describe()], [f"rounding to {spec.out_dtype}"])
            else f"a block ({'; '.join(parts)})"
        )
        raise UserError(
            f"--vectorizer {vectorizer} cannot fuse {what}: use --vectorizer {DEFAULT_VECTORIZER}"
        )
    if spec.is_dynamic and vectorizer != DEFAULT_VECTORIZER:
        raise UserError(
            f"--vectorizer {vectorizer} needs static sizes (upstream's conv vectorizer does), but "
            f"{spec.name} has run-time {','.join(spec.dynamic)}: use --vectorizer {DEFAULT_VECTORIZER}"
        )
    check_expand_chunks(block, target)
    part = has_part_entry(block, vectorizer)
    calls = part and whole_calls_part(block, target)
    with ir.Context(), ir.Location.unknown():
        module = build_kernel_module(block, part, calls)
        input_text = str(module)

        def guarded(m: ir.Module) -> ir.Module:
            add_vl_guard(m, target, spec.name)
            if part:
                add_vl_guard(m, target, spec.name + PART_SUFFIX)
            return m

        module, rows = rewrite_within_limit(
            guarded(module),
            lambda: guarded(build_kernel_module(block, part, calls)),
            VectorShape(target.vector_bits, target.scalable),
            vectorizer,
            spec.is_dynamic,
        )
        what = f"kernel {spec.name}"
        check_code_size(module, what)  # before the long part: pass bundles, opt, llc
        schedule = build_schedule(
            rows, spec.output_shape if has_fill(module) else None, spec.acc_bits, target
        )
        schedule_text = str(schedule)
        apply_schedule(module, schedule)
        run_bundle(module, CLEANUP)
        ops, leftovers = census(module, "linalg.")
        _check_vectorized(leftovers, spec)
        check_code_size(module, what, ops)  # upstream's vectorizer unrolls in the schedule
        vectorized = module.operation.clone()  # printed below, while opt and llc run
        for fragment in bundles(target).values():
            run_bundle(module, fragment)
        set_vscale_range(module, target)
        module.operation.verify()
        if on_llvm_ir is not None:
            on_llvm_ir([translate_module(m) for m in (split_functions(module) or [module])])
        vector_text = str(vectorized)
        llvm_text = module.operation.get_asm(assume_verified=True)
        return input_text, schedule_text, vector_text, llvm_text


def has_part_entry(block: BlockSpec, vectorizer: str = DEFAULT_VECTORIZER) -> bool:
    """Whether the kernel of ``block`` also gets ``NAME_part`` (``BlockSpec.has_part``): only
    dwmlir's own vectorizer splits the output channels."""
    return vectorizer == DEFAULT_VECTORIZER and block.has_part


def whole_calls_part(block: BlockSpec, target: Target) -> bool:
    """Whether NAME is ``NAME_part(..., 0, 1)`` (``blocked.whole_is_part``): a depthwise conv
    (with its epilogue) with static sizes whose rows run in bands, in NAME_part too."""
    if block.expand is not None or block.pointwise is not None:
        return False
    args = row_plan_args(block.conv, target)
    return args is not None and whole_is_part(*args)


def translate_module(module: ir.Module | ir.Operation) -> bytes:
    """An LLVM-dialect module -> LLVM IR text, in process: the same text as ``mlir-translate
    --mlir-to-llvmir`` of the module's printout (same LLVM 22.1.8), without printing it for a
    second process to parse again (0.13 s of a 1 s compile)."""
    try:
        return translate_module_to_llvmir(module.operation).encode()
    except ir.MLIRError as exc:
        raise InternalError(f"translation to LLVM IR failed: {exc}") from None


def _target_flags(target: Target, cpu: str | None) -> list[str]:
    flags = [f"-mtriple={target.triple}", f"-mattr={target.mattr}"]
    return [*flags, f"-mcpu={cpu}"] if cpu else flags


def optimize_llvm_ir(ll: bytes, target: Target, cpu: str | None, vector_combine: bool = True) -> bytes:
    """LLVM's -O3 pipeline over the translated module (``opt``).

    llc runs only code generation: without the middle end first, the address arithmetic of
    our blocks spills general-purpose registers (3-D 3x3x3, C=32, at 128 bits: 16.6 instead
    of 11.0 instructions per output, measured with ``dwmlir bench``).

    ``vector_combine=False`` (bf16 kernels) leaves out VectorCombine: in LLVM 22.1.8 it aborts
    on a scalable bf16 load bitcast to i16 for ``bfmlalb`` (fixed upstream after 22 by
    llvm-project#220482; docs/reliability.md).
    """
    cmd = [*opt_command(target, cpu, vector_combine), "-S", "-", "-o", "-"]
    return run(cmd, input=ll, what="opt").stdout


def opt_command(target: Target, cpu: str | None, vector_combine: bool = True) -> list:
    """``optimize_llvm_ir``'s opt, without input and output."""
    flags = [] if vector_combine else ["-disable-vector-combine"]
    return [llvm_tool("opt"), "-O3", *_target_flags(target, cpu), *flags]


def llc_command(target: Target, cpu: str | None, flags: Sequence[str] = ()) -> list:
    """llc for ``target`` (position-independent, so objects also go into shared libraries),
    with the code generator's ``flags`` (``backend_flags``)."""
    return [llvm_tool("llc"), "-O3", *_target_flags(target, cpu), "-relocation-model=pic", *flags]


def backend_flags(lsr: bool, misched: bool) -> list[str]:
    """The code generator's options: ``lsr=False`` turns off LLVM's loop strength reduction
    (``loop_strength_reduction``), ``misched=False`` its pre-RA machine scheduler
    (``machine_scheduler``). llc takes them, and so does mlir-runner: the JIT builds the
    kernel as ``dwmlir compile`` does."""
    return ([] if lsr else ["-disable-lsr"]) + ([] if misched else ["-enable-misched=false"])


def kernel_backend_flags(block: BlockSpec, target: Target) -> list[str]:
    """``backend_flags`` of ``block``'s kernel (``loop_strength_reduction``,
    ``machine_scheduler``)."""
    return backend_flags(loop_strength_reduction(block, target), machine_scheduler(block, target))


def loop_strength_reduction(block: BlockSpec, target: Target) -> bool:
    """Whether llc runs loop strength reduction on ``block``'s kernel, by shape.

    LSR gives each input vector a register block reads its own pointer, incremented per
    block. Along short rows that costs more than the row address plus constant offsets it
    replaces, and with run-time row strides the pointers also spill. Measured with ``dwmlir
    bench`` (instructions per output without LSR / with it, 128 and 2048 bits):

    - static 2-D, stride 1: output rows of 7 0.78, of 14 0.88 to 0.90, of 28 0.99, of 56 and
      112 0.95 to 1.02; stride 2: rows of 7 0.96, of 14 1.04, of 28 and 56 0.97 to 1.13;
    - static 1-D 1.04 to 1.15; 1-D row sweeps (K=7, C=64 to 768) 1.05;
    - 2-D row sweeps (``blocked.row_sweep``): stride 1 no LSR 0.86 to 0.97 at 128 bits
      (input 58x58x16, 114x114x8, 30x30x64 SAME); stride 2 0.84 to 0.89 (MobileNetV2
      56x56x144, 28x28x192; 57x57x32), but 1.03 on 112x112x96, whose bands of rows kept LSR;
    - static 3-D with flat rows (``blocked.flat_rows``) and no LSR, against multi-dim indices
      and LSR: output rows of 8 1.16, of 12 to 56 0.79 to 0.90 (3x3x3, C=32 and 64);
    - run-time sizes: 3-D 0.78 (with ``blocked.flat_rows``), 2-D 0.83 to 1.08 (output rows
      of 7: 0.83; stride 2 with rows of 28 at 2048 bits: 1.08); 1-D 1.02 to 1.10.

    Kernels with a fused pointwise or expand stage keep LSR (their GEMM loops were tuned
    with it), and so do the other ops (not measured without it).
    """
    if block.pointwise is not None or block.expand is not None:
        return True
    spec = block.conv
    if spec.op == "depthwise_conv_2d_nhwc_hwc" and not spec.is_dynamic:
        geo = ConvGeometry.of_spec(spec)
        if row_sweep(geo, spec.dtype, target.scalable):
            return False
        if band_rows(geo, spec.channels, DTYPES[spec.dtype][2] // 8) is not None and bands_without_lsr(geo):
            return False
    return lsr_for(spec.op, spec.strides, None if spec.is_dynamic else spec.out_spatial[-1])


def machine_scheduler(block: BlockSpec, target: Target) -> bool:
    """Whether llc runs its pre-RA machine scheduler on ``block``'s kernel: not for f32 blocks
    with a fused GEMM (pointwise or expand) on SVE.

    Their GEMM loops feed indexed FMAs, whose 128-bit quads must sit in z0-z7. The scheduler
    hoists a block's quad loads to the top of the loop; the register allocator, having put
    accumulators in z0-z7, then spills quads: a block of 14 pixels x 1 vector ran 97
    instructions per 56 FMAs, 78 without it, and the expand GEMM's one-vector blocks had to
    stay at 4 pixels (``expand.one_vector_pixels``). Block bench, fused kernels without it /
    with it: 0.87 to 0.97 at 2048 bits on MobileNetV2's blocks, 0.92 to 1.00 at 1024, 0.98 to
    1.004 at 128 to 512 (MobileNetV1's 1.000 to 1.002).
    """
    return misched_for(block.pointwise is not None or block.expand is not None, block.conv.dtype, target)


def misched_for(fused_gemm: bool, dtype: str, target: Target) -> bool:
    """``machine_scheduler``'s rule: whether a kernel with (``fused_gemm``) or without a fused
    GEMM, of element type ``dtype``, keeps llc's machine scheduler. Shared with ``dwmlir
    lower``, which reads the same facts from a parsed module."""
    return not (fused_gemm and target.scalable and dtype == "f32")


def lsr_for(op: str, strides: Sequence[int], out_w: int | None) -> bool:
    """``loop_strength_reduction``'s rule for one conv: ``op`` (without ``linalg.``), its
    strides and its output row width (None: sizes known only at run time). Shared with
    ``dwmlir lower``, which knows no BlockSpec."""
    if op not in ("depthwise_conv_2d_nhwc_hwc", "depthwise_conv_3d_ndhwc_dhwc"):
        return True
    if out_w is None:
        return False
    if op == "depthwise_conv_3d_ndhwc_dhwc":  # flat rows (``blocked.flat_rows``) beyond 8
        return out_w < FLAT_3D_ROWS_FROM
    return out_w > NO_LSR_ROWS.get(strides[-1], 0)


# Static 2-D kernels without LSR: output rows at most this wide, per W stride.
NO_LSR_ROWS = {1: 28, 2: 7}


def assemble(asm: bytes, obj: Path, target: Target, cpu: str | None) -> None:
    """The object of ``asm`` (llvm-mc): NAME.o is then exactly the code of NAME.s, and code
    generation runs once instead of twice."""
    cmd = [llvm_tool("llvm-mc"), f"-triple={target.triple}", f"-mattr={target.mattr}"]
    cmd += [f"-mcpu={cpu}"] if cpu else []
    run([*cmd, "-filetype=obj", "-", "-o", obj], input=asm, what="llvm-mc")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive(lib: Path, members: Sequence[Path]) -> None:
    """A static library of ``members``; ``D`` zeroes timestamps and owners (byte-identical builds)."""
    run(archive_command(lib, members), what="llvm-ar")


def archive_command(lib: Path, members: Sequence[Path]) -> list:
    return [llvm_tool("llvm-ar"), "rcsD", lib, *members]


def link_shared(so: Path, inputs: Sequence[Path | str]) -> None:
    """A shared library named by its file (``libNAME.so``); no build id, so builds are byte-identical."""
    run(link_shared_command(so, inputs), what="ld.lld")


def link_shared_command(so: Path, inputs: Sequence[Path | str]) -> list:
    return [llvm_tool("ld.lld"), "-shared", f"-soname={so.name}", "--build-id=none", "-o", so, *inputs]


# The LLVM tools a build runs, in the order it runs them.
BUILD_TOOLS = ("opt", "llc", "llvm-link", "llvm-mc", "llvm-ar", "ld.lld")


def compile_spec(
    spec: ConvSpec | BlockSpec, target: Target, cpu: str | None = None, vectorizer: str = DEFAULT_VECTORIZER
) -> Artefacts:
    """Compile ``spec`` for ``target`` (and ``cpu``); raises UserError/ToolError/InternalError."""
    for tool in BUILD_TOOLS:  # a missing tool stops the build before its long part
        llvm_tool(tool)
    cpu = check_cpu(target, cpu)
    block = as_block(spec)
    spec = block.conv
    target = for_dtype(target, spec.dtype)
    art = Artefacts(block, target, vectorizer)
    backend: list[Backend] = []
    opt_args = opt_command(target, cpu, spec.dtype != "bf16")
    llc_args = llc_command(target, cpu, kernel_backend_flags(block, target))

    def start(modules: list[bytes]) -> None:
        backend.append(Backend(modules, opt_args, llc_args))

    try:  # opt and llc run while _lower prints the last MLIR texts
        texts = _lower(block, target, vectorizer, start)
        art.files[".ll"], art.files[".s"] = backend[0].finish()
    finally:
        for b in backend:
            b.close()
    input_text, schedule_text, vector_text, llvm_text = texts
    art.files[".mlir"] = input_text.encode()
    art.files[".schedule.mlir"] = schedule_text.encode()
    art.files[".vector.mlir"] = vector_text.encode()
    art.files[".llvm.mlir"] = llvm_text.encode()
    with tempfile.TemporaryDirectory(prefix="dwmlir-llc-") as tmp:
        obj = Path(tmp) / f"{spec.name}.o"
        assemble(art.files[".s"], obj, target, cpu)
        art.files[".o"] = obj.read_bytes()
        lib, so = Path(tmp) / f"lib{spec.name}.a", Path(tmp) / f"lib{spec.name}.so"
        ar, lld = archive_command(lib, [obj]), link_shared_command(so, [obj])
        run_chains([[Step(ar, "llvm-ar")], [Step(lld, "ld.lld")]])  # side by side
        art.files[".a"] = lib.read_bytes()
        art.files[".so"] = so.read_bytes()
    n = spec.name
    note = f"Needs only libc; no MLIR runtime library. Link {n}.o, lib{n}.a or lib{n}.so."
    art.files[".h"] = render_header(
        spec.name,
        [kernel_block(block, target, cpu, has_part_entry(block, vectorizer), art.compact_expand)],
        __version__,
        note,
    ).encode()
    art.files[".json"] = render_manifest(art, cpu).encode()
    return art


def _codegen_manifest(block: BlockSpec, target: Target) -> dict:
    """llc's LSR flag and, for register-blocked kernels with static sizes, their blocking (one
    rule for every vector length: ``blocked.blocking``); and NAME_part's prototype."""
    doc: dict = {
        "loop_strength_reduction": loop_strength_reduction(block, target),
        "machine_scheduler": machine_scheduler(block, target),
    }
    args = row_plan_args(block.conv, target)
    if args is not None:
        doc["blocking"] = blocking(*args)
    return doc


def render_manifest(art: Artefacts, cpu: str | None) -> str:
    """NAME.json: what was built, for which target, with which tools, and each file's hash."""
    spec, target, block = art.spec, art.target, art.block
    epi = block.epilogue
    doc = {
        "dwmlir": __version__,
        "spec": {
            "name": spec.name,
            "op": spec.op,
            "dtype": spec.dtype,
            "output_dtype": block.out_dtype,
            "input_shape": list(spec.input_shape),
            "filter_shape": list(spec.filter_shape),
            "output_shape": list(spec.output_shape),
            "layouts": {
                "input": spec.info.input_layout,
                "filter": spec.info.filter_layout,
                "output": spec.info.output_layout,
            },
            "strides": list(spec.strides),
            "dilations": list(spec.dilations),
            "padding": [list(p) for p in spec.padding],
            "input_zp": spec.input_zp,
            "filter_zp": spec.filter_zp,
            # Run-time sizes (int64_t arguments after the pointers); the shapes above hold
            # their example sizes.
            **({"dynamic": list(spec.dynamic)} if spec.is_dynamic else {}),
        },
        "c_prototype": c_prototype(block) + ";",
        **(
            {"c_prototype_part": c_prototype(block, part=True) + ";"}
            if has_part_entry(block, art.vectorizer)
            else {}
        ),
        "target": {
            "name": target.name,
            "triple": target.triple,
            "features": target.mattr,
            "cpu": cpu,
            "vector_length": target.vl_assumption,
        },
        "vectorizer": art.vectorizer,
        "codegen": _codegen_manifest(block, target),
        **({"epilogue": _epilogue_manifest(block)} if not epi.empty else {}),
        **_block_manifest(block, target, art.compact_expand),
        "tools": {"llvm": LLVM_VERSION, "mlir-python-bindings": "xtc-mlir-python-bindings 22.1.8.4"},
        "artefacts": {
            artefact_filename(spec.name, suffix): sha256_hex(data)
            for suffix, data in sorted(art.files.items())
            if suffix != ".json"
        },
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _epilogue_manifest(block: BlockSpec) -> dict:
    epi = block.epilogue
    doc: dict = {"bias": epi.bias, "activation": str(epi.activation), "requantize": epi.requantize}
    if epi.requantize:
        lo, hi = epi.int8_bounds()
        doc.update(output_zp=epi.output_zp, output_scale=epi.output_scale, int8_bounds=[lo, hi])
    doc["output_dtype"] = block.out_dtype
    return doc


def _block_manifest(block: BlockSpec, target: Target, compact: bool) -> dict:
    """The parts around the conv and every buffer of the ABI, for tools that feed the kernel
    (``compact``: ``Artefacts.compact_expand``)."""
    doc: dict = {}
    if block.expand is not None:
        ex = block.expand
        doc["expand"] = {
            "cin": ex.cin,
            "bias": ex.epilogue.bias,
            "activation": str(ex.epilogue.activation),
            "scratch_bytes": expand_plan(block, target, compact).scratch_bytes,
            "compact": compact,
        }
    if block.pointwise is not None:
        pw = block.pointwise
        doc["pointwise"] = {
            "cout": pw.cout,
            "bias": pw.epilogue.bias,
            "activation": str(pw.epilogue.activation),
            "requantize": pw.epilogue.requantize,
            "residual": block.residual,
        }
    elif block.residual:  # without a pointwise conv: the input added to the depthwise result
        doc["residual"] = True
    if doc:
        doc["buffers"] = [
            {"name": a.name, "shape": list(a.shape), "layout": a.layout, "dtype": a.dtype}
            for a in block.buffers
        ]
    return doc


def artefact_filename(name: str, suffix: str) -> str:
    """``NAME.o``, ``NAME.h``...; archives and shared objects get the ``lib`` prefix."""
    return f"lib{name}{suffix}" if suffix in (".a", ".so") else f"{name}{suffix}"


@functools.cache
def _known_cpus(triple: str) -> frozenset[str]:
    out = run([llvm_tool("llc"), f"-mtriple={triple}", "-mcpu=help"], what="llc -mcpu=help")
    text = (out.stdout + out.stderr).decode(errors="replace")
    section = text.split("Available CPUs for this target:")[-1].split("Available features")[0]
    return frozenset(line.split()[0] for line in section.splitlines() if line.strip() and " - " in line)


def check_cpu(target: Target, cpu: str | None) -> str | None:
    """The ``-mcpu`` to use: the user's (checked against llc's list) or the target's default."""
    if cpu is None:
        return target.default_cpu
    known = _known_cpus(target.triple)
    if cpu not in known:
        examples = ", ".join(c for c in ("neoverse-v1", "neoverse-v2", "a64fx", "x86-64-v3") if c in known)
        raise UserError(
            f"unknown CPU '{cpu}' for target {target.name}: try one of {examples} (llc -mcpu=help)"
        )
    return cpu
