"""Stage 4b: the one place that knows where external tools live and runs them."""

from .tools import (
    LLVM_VERSION,
    AArch64Runtime,
    aarch64_runtime,
    cache_qemu,
    cross_cc,
    exec_prefix,
    host_cc,
    host_is_aarch64,
    llvm_tool,
    qemu,
    qemu_prefix,
    repo_root,
    run,
    sysroot,
)

__all__ = [
    "LLVM_VERSION",
    "AArch64Runtime",
    "aarch64_runtime",
    "cache_qemu",
    "cross_cc",
    "exec_prefix",
    "host_cc",
    "host_is_aarch64",
    "llvm_tool",
    "qemu",
    "qemu_prefix",
    "repo_root",
    "run",
    "sysroot",
]
