"""Code emitted in a function of its own, which the kernel calls: a fused block's GEMMs.

An expand block's kernel runs its two GEMMs (expand and pointwise) inside its loops over rows
and channel chunks, whose pointers, counters and bounds stay live across them. LLVM's register
allocator then left the GEMMs' hot loops too few general registers: they made constants again
in every iteration (MobileNetV2 block 14 at 256 bits: ``mov x6, #0x200`` in each of 3,840
iterations; block 11 at 2048 bits three in each), and moving one GEMM out of the kernel only
moved the copies into the other's loop (block 8). In functions of their own, the hot loops
have the registers to themselves, as the unfused kernels' do, for a call per GEMM (some
40-80 instructions, the operands bare pointers and scalars; ``expand.OUTLINED_FROM_CIN``
says where that pays).

``outlined(tag)`` takes the ops emitted in its ``with`` block out of the kernel into
``KERNEL__TAGi`` (``OUTLINED_SEPARATOR``; ``i`` counts the module's functions of that
prefix, in emission order, so names are the same every build), and calls it in their place.
The function's arguments are the values its ops use from the kernel; constants are made
again inside, so the function is specialized on them as the inline code was. It is internal
(a local symbol: the C ABI and the header do not change), never inlined, its buffers
``noalias`` where no other argument views the same one, and marked ``OUTLINED_ATTR`` with its kernel's
name: the code-size limit counts it with its kernel (``artefact.limits.census``), and so do
instruction counts (``bench.runner.kernel_symbols``). Where a buffer view cannot cross a call
(``crosses_calls``), the ops stay inline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from mlir import ir
from mlir.dialects import arith, func, scf

from ..errors import InternalError
from .nest import VIEW_OPS, defining_op, enclosing_func

OUTLINED_SEPARATOR = "__"
OUTLINED_ATTR = "dwmlir.outlined_from"


def crosses_calls(t: ir.Type) -> bool:
    """Whether a value of type ``t`` can be an outlined function's argument: the kernels'
    calling convention passes a memref as a bare pointer, which takes static sizes, strides
    and offset only (a view at a run-time offset is not one)."""
    if not isinstance(t, ir.MemRefType):
        return True
    strides, offset = t.get_strides_and_offset()
    return t.has_static_shape and all(t.is_static_stride_or_offset(x) for x in (*strides, offset))


def _within(op: ir.Operation | ir.OpView | None, root: ir.Operation) -> bool:
    while op is not None:
        if op.operation == root:
            return True
        op = op.operation.parent
    return False


def _defined_within(value: ir.Value, root: ir.Operation) -> bool:
    owner = value.owner
    return _within(owner.owner if isinstance(owner, ir.Block) else owner, root)


def _is_constant(value: ir.Value) -> bool:
    op = defining_op(value)
    return op is not None and op.name == "arith.constant"


# Views of the buffer in their first operand, the byte-offset and cast views among them.
_VIEWS = (*VIEW_OPS, "memref.view", "memref.reinterpret_cast")


def _root(value: ir.Value) -> ir.Value:
    """The buffer ``value`` is a view of: a block argument or an allocation."""
    while (op := defining_op(value)) is not None and op.name in _VIEWS:
        value = op.operands[0]
    return value


def _name(op: ir.Operation) -> str:
    return ir.StringAttr(op.attributes["sym_name"]).value


@contextlib.contextmanager
def outlined(tag: str, enabled: bool = True) -> Iterator[None]:
    """The ops emitted in the ``with`` block, in a function ``KERNEL__TAGi`` called here
    (inline, as emitted, unless ``enabled``)."""
    if not enabled:
        yield
        return
    true = arith.constant(ir.IntegerType.get_signless(1), 1)
    holder = scf.IfOp(true)  # holds the ops until they move
    with ir.InsertionPoint(holder.then_block):
        yield
        scf.YieldOp([])
    root = holder.operation
    ops = list(holder.then_block.operations)[:-1]
    used: dict[ir.Value, None] = {}  # the kernel's values the ops use, in first-use order

    def visit(op: ir.Operation) -> ir.WalkResult:
        for v in op.operands:
            if not _defined_within(v, root):
                used.setdefault(v)
        return ir.WalkResult.ADVANCE

    for op in ops:
        op.operation.walk(visit)
    passed = [v for v in used if not _is_constant(v)]
    kernel = enclosing_func(root)
    if kernel is None:
        raise InternalError(f"no function holds the {tag} ops to outline")
    if all(crosses_calls(v.type) for v in passed):
        _move_to_function(kernel, tag, ops, list(used), passed, root)
    else:
        for op in ops:
            op.operation.move_before(root)
    holder.operation.erase()
    true.owner.erase()


def _move_to_function(
    kernel: ir.Operation,
    tag: str,
    ops: list[ir.Operation],
    used: list[ir.Value],
    passed: list[ir.Value],
    root: ir.Operation,
) -> None:
    """``ops`` into a new function of ``kernel``'s module, called before ``root``."""
    module_body = kernel.parent.regions[0].blocks[0]
    prefix = f"{_name(kernel)}{OUTLINED_SEPARATOR}{tag}"
    taken = sum(
        1
        for op in module_body.operations
        if op.operation.name == "func.func" and _name(op.operation).startswith(prefix)
    )
    name = f"{prefix}{taken}"
    with ir.InsertionPoint(module_body):
        fn = func.FuncOp(name, ir.FunctionType.get([v.type for v in passed], []))
    # noalias as the kernel's arguments are: a buffer view whose base (a kernel argument or a
    # stack buffer) no other argument shares.
    roots = [_root(v) for v in passed if isinstance(v.type, ir.MemRefType)]
    no_alias = ir.DictAttr.get({"llvm.noalias": ir.UnitAttr.get()})
    fn.arg_attrs = ir.ArrayAttr.get(
        [
            no_alias
            if isinstance(v.type, ir.MemRefType) and sum(r == _root(v) for r in roots) == 1
            else ir.DictAttr.get({})
            for v in passed
        ]
    )
    fn.attributes["sym_visibility"] = ir.StringAttr.get("private")
    fn.attributes["llvm.linkage"] = ir.Attribute.parse("#llvm.linkage<internal>")
    fn.attributes["passthrough"] = ir.ArrayAttr.get([ir.StringAttr.get("noinline")])
    fn.attributes[OUTLINED_ATTR] = ir.StringAttr.get(_name(kernel))
    entry = fn.add_entry_block()
    with ir.InsertionPoint(entry):
        ret = func.ReturnOp([])
    inside = dict(zip(passed, entry.arguments, strict=True))
    for v in used:
        if v not in inside:
            inside[v] = v.owner.clone(ir.InsertionPoint(ret)).results[0]
    for op in ops:
        op.operation.move_before(ret)
    for v, new in inside.items():
        for use in list(v.uses):
            if _within(use.owner, fn.operation):
                use.owner.operands[use.operand_number] = new
    with ir.InsertionPoint(root):
        func.CallOp([], ir.FlatSymbolRefAttr.get(name), passed)
