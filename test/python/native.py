# RUN: %PYTHON %s | FileCheck %s
# Native aarch64 mode, checked on any machine: SVE is read from the auxiliary vector
# (AT_HWCAP bit 22), and the command prefix picks native execution at the vector lengths the
# CPU offers and qemu for the others (the machine facts are faked here; a real SVE machine
# runs the same code for real).

import struct

import dwmlir.toolchain.native as native
import dwmlir.toolchain.tools as tools
from dwmlir.errors import ToolError
from dwmlir.target import get_target


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def auxv(*pairs):
    return b"".join(struct.pack("=QQ", k, v) for k, v in (*pairs, (0, 0)))


# CHECK-LABEL: TEST: test_auxv
# CHECK-NEXT: neoverse-v1-like: True
# CHECK-NEXT: cortex-a72-like: False
# CHECK-NEXT: no AT_HWCAP: False
# CHECK-NEXT: entries after AT_NULL ignored: {6: 4096, 16: 4194304}
@run
def test_auxv():
    print("neoverse-v1-like:", native.has_sve(auxv((6, 4096), (16, 0xEFFFFB | native.HWCAP_SVE))))
    print("cortex-a72-like:", native.has_sve(auxv((6, 4096), (16, 0xFF))))
    print("no AT_HWCAP:", native.has_sve(auxv((6, 4096))))
    print("entries after AT_NULL ignored:", native.parse_auxv(auxv((6, 4096), (16, 1 << 22)) + auxv((16, 1))))


# CHECK-LABEL: TEST: test_prefixes
# CHECK-NEXT: x86_64: qemu-aarch64 -cpu max,sve-default-vector-length=32
# CHECK-NEXT: SVE 128..256 at 256: -m dwmlir.toolchain.native 256 --
# CHECK-NEXT: SVE 128..256 at default: (nothing: native)
# CHECK-NEXT: SVE 128..256 at 1024: qemu-aarch64 -cpu max,sve-default-vector-length=128
# CHECK-NEXT: no SVE at 128: qemu-aarch64 -cpu max,sve-default-vector-length=16
# CHECK-NEXT: NEON build on aarch64: (nothing: native)
# CHECK-NEXT: no qemu, 1024: ToolError: this CPU runs SVE natively at 128,256 bits, not 1024: run tools/setup.sh to install qemu-user (or set ARM_EMULATOR_EXECUTABLE), or run at a length it offers
@run
def test_prefixes():
    def show(label, target, bits):
        try:
            cmd = tools.exec_prefix(get_target(target), bits)
            text = " ".join(c.rsplit("/", 1)[-1] for c in cmd if "python" not in c) or "(nothing: native)"
        except ToolError as exc:
            text = f"ToolError: {exc}"
        print(f"{label}: {text}")

    saved = (tools.host_is_aarch64, native.host_has_sve, native.native_vector_bits, tools.qemu)
    try:
        tools.qemu = lambda: "/usr/bin/qemu-aarch64"
        tools.host_is_aarch64 = lambda: False
        show("x86_64", "aarch64-sve", 256)
        tools.host_is_aarch64 = lambda: True
        native.host_has_sve = lambda: True
        native.native_vector_bits = lambda: (128, 256)
        show("SVE 128..256 at 256", "aarch64-sve", 256)
        show("SVE 128..256 at default", "aarch64-sve", None)
        show("SVE 128..256 at 1024", "aarch64-sve", 1024)
        native.host_has_sve = lambda: False
        show("no SVE at 128", "aarch64-sve", 128)
        show("NEON build on aarch64", "aarch64-neon", None)
        native.host_has_sve = lambda: True

        def missing():
            raise ToolError("qemu-aarch64 not found")

        tools.qemu = missing
        show("no qemu, 1024", "aarch64-sve", 1024)
    finally:
        tools.host_is_aarch64, native.host_has_sve, native.native_vector_bits, tools.qemu = saved


# The launcher refuses a malformed command line with a usage line and status 2.
# CHECK-LABEL: TEST: test_launcher_usage
# CHECK-NEXT: 2
@run
def test_launcher_usage():
    print(native.main(["abc"]))
