"""Run a command; pass only if it exits with the expected status and prints no traceback.

usage: expect_exit.py STATUS -- COMMAND [ARGS...]
Prints the command's stderr, then 'exit=N', so a test can FileCheck the message too.
"""

import subprocess
import sys

want = int(sys.argv[1])
assert sys.argv[2] == "--", "usage: expect_exit.py STATUS -- COMMAND [ARGS...]"
proc = subprocess.run(sys.argv[3:], capture_output=True, text=True, check=False)
sys.stdout.write(proc.stderr)
print(f"exit={proc.returncode} stderr-lines={len(proc.stderr.splitlines())}")
if "Traceback" in proc.stderr or "Traceback" in proc.stdout:
    print("error: traceback printed")
    sys.exit(1)
sys.exit(0 if proc.returncode == want else 1)
