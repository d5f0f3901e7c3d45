# RUN: %PYTHON %s | FileCheck %s
# The cache model runs qemu with address-space randomization off (toolchain.fixed_addresses:
# setarch -R), so a buffer lands in the same cache sets on every run. Where the kernel refuses
# it (Docker's default seccomp profile blocks that personality), the prefix is empty and the
# test says so instead of comparing.

import sys

from dwmlir.toolchain import fixed_addresses, run

PROBE = (
    "import ctypes, mmap; m = mmap.mmap(-1, 1 << 20); print(ctypes.addressof(ctypes.c_char.from_buffer(m)))"
)


def run_test(f):
    print("\nTEST:", f.__name__)
    f()
    return f


# CHECK-LABEL: TEST: test_same_mapping_every_run
# CHECK-NEXT: {{fixed: the same address in 3 runs|setarch refused: addresses stay randomized}}
@run_test
def test_same_mapping_every_run():
    prefix = fixed_addresses()
    if not prefix:
        print("setarch refused: addresses stay randomized")
        return
    seen = {run([sys.executable, "-c", PROBE], what="probe", prefix=prefix).stdout for _ in range(3)}
    print("fixed: the same address in 3 runs" if len(seen) == 1 else f"fixed: NOT the same: {seen}")


# A failure under the prefix names the tool, not setarch.
# CHECK-LABEL: TEST: test_messages_name_the_tool
# CHECK-NEXT: timed out, naming the tool: True, naming setarch: False
@run_test
def test_messages_name_the_tool():
    try:
        run(
            [sys.executable, "-c", "import time; time.sleep(30)"],
            what="probe",
            timeout=0.5,
            prefix=fixed_addresses(),
        )
    except Exception as exc:  # ToolCrash: a tool that timed out
        text = str(exc)
        print(f"timed out, naming the tool: {sys.executable in text}, naming setarch: {'setarch' in text}")
