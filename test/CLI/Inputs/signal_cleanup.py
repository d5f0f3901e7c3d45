"""Send a signal to dwmlir while its tools hang, then check that it cleaned up.

usage: signal_cleanup.py SIGNAL MARKERS TMPDIR COUNT -- COMMAND [ARGS...]
Runs COMMAND with TMPDIR set and DWMLIR_FAKE_TOOL=hang, DWMLIR_FAKE_MARKERS=MARKERS (see
fake-tool.sh); once COUNT hanging tools have recorded themselves, sends SIGNAL to the
command. Then it reports: the exit status; whether the command's stdout/stderr pipes
closed (no orphan holds them); whether every hanging tool and its parent (a pool worker,
or dwmlir itself) are gone; and what is left in TMPDIR.
"""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

sig = getattr(signal, sys.argv[1])
markers, tmpdir, count = Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
assert sys.argv[5] == "--"
markers.mkdir(parents=True, exist_ok=True)
tmpdir.mkdir(parents=True, exist_ok=True)
env = dict(os.environ, TMPDIR=str(tmpdir), DWMLIR_FAKE_TOOL="hang", DWMLIR_FAKE_MARKERS=str(markers))
# As from an interactive shell: lit may run tests with SIGINT ignored, which children inherit.
proc = subprocess.Popen(
    sys.argv[6:],
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
)
deadline = time.monotonic() + 300
while len([p for p in markers.iterdir() if p.suffix != ".tmp"]) < count:
    if proc.poll() is not None or time.monotonic() > deadline:
        print(f"tools never hung: exit={proc.poll()} {proc.stderr.read().decode()}")
        proc.kill()
        sys.exit(1)
    time.sleep(0.1)
pids = set()
for marker in markers.iterdir():
    if marker.suffix != ".tmp":
        pids.update(int(p) for p in marker.read_text().split())
pids.discard(proc.pid)
proc.send_signal(sig)
try:
    status = proc.wait(60)
except subprocess.TimeoutExpired:
    proc.kill()
    status = "still running after 60 s"
print(f"exit={status}")
# Anyone still holding the pipes (an orphaned worker) keeps them from reaching end of file.
stderr = b""
open_pipes = {proc.stdout.fileno(): proc.stdout, proc.stderr.fileno(): proc.stderr}
end = time.monotonic() + 20
while open_pipes and time.monotonic() < end:
    ready, _, _ = select.select(list(open_pipes), [], [], 0.5)
    for fd in ready:
        data = os.read(fd, 65536)
        if not data:
            del open_pipes[fd]
        elif open_pipes[fd] is proc.stderr:
            stderr += data
print("pipes: " + ("closed" if not open_pipes else "STILL OPEN"))
print("stderr: " + " | ".join(stderr.decode(errors="replace").splitlines()))
time.sleep(0.5)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


left = sorted(pid for pid in pids if alive(pid))
for pid in left:
    os.kill(pid, signal.SIGKILL)
print(f"processes left: {', '.join(map(str, left)) or 'none'}")
print(f"tmp left: {', '.join(sorted(p.name for p in tmpdir.iterdir())) or 'nothing'}")
