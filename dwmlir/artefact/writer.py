"""Write artefacts: a set lands whole or not at all; devices and FIFOs are written through."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import UserError
from .compile import Artefacts, artefact_filename

# --emit names -> file suffixes, in the order files are listed.
EMIT_KINDS: dict[str, str] = {
    "obj": ".o",
    "header": ".h",
    "mlir": ".mlir",
    "llvm": ".ll",
    "asm": ".s",
    "lib": ".a",
    "shared": ".so",
    "schedule": ".schedule.mlir",
    "vector": ".vector.mlir",
    "lowered": ".llvm.mlir",
    "json": ".json",
}
DEFAULT_EMIT = tuple(EMIT_KINDS.values())


def parse_emit(text: str) -> tuple[str, ...]:
    """``obj,header,...`` or ``all`` -> file suffixes."""
    if text.strip() == "all":
        return DEFAULT_EMIT
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in EMIT_KINDS]
    if bad or not kinds:
        raise UserError(
            f"unknown --emit kind '{bad[0] if bad else text}': choose from all, {', '.join(EMIT_KINDS)}"
        )
    return tuple(EMIT_KINDS[k] for k in kinds)


def write_artefacts(art: Artefacts, out_dir: Path, emit: tuple[str, ...] = DEFAULT_EMIT) -> list[Path]:
    """Write the chosen artefacts of one kernel into ``out_dir``."""
    name = art.spec.name
    return write_files(out_dir, {artefact_filename(name, s): art.files[s] for s in emit})


@contextlib.contextmanager
def _as_user_error(path: Path | str, flag: str = "-o") -> Iterator[None]:
    """The file system refusing a write (read-only, full, not permitted) is the user's to fix."""
    try:
        yield
    except OSError as exc:
        raise UserError(
            f"cannot write {path}: {exc.strerror or exc}; choose a writable location with {flag}"
        ) from None


LOCK_NAME = ".dwmlir.lock"


def _check_not_empty(path: str | os.PathLike[str], what: str) -> None:
    if os.fspath(path) == "":
        hint = " (or - for standard output)" if what == "file" else ""
        raise UserError(f"-o '' names no {what}: give a {what}{hint}")


def write_files(out_dir: Path | str, files: dict[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``out_dir`` as a set: all of them, or none.

    Missing directories are created (``mkdir -p``). The set is staged in a private directory
    inside ``out_dir`` (so on the same file system) and each file is then renamed into place,
    under an ``flock`` on ``out_dir/.dwmlir.lock``: two writers into one directory take turns,
    so each name's set is one writer's. On any failure everything staged (and every directory
    this call created) is removed.
    """
    _check_not_empty(out_dir, "directory")
    out_dir = Path(out_dir)
    with _as_user_error(out_dir):
        return _write_files(out_dir, files)


def _missing_dirs(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and not path.is_symlink() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir/.dwmlir.lock``; the file is removed while held.

    A waiter that gets the lock of a file its holder has already removed takes a new one.
    """
    lock = out_dir / LOCK_NAME
    while True:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(lock, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _write_files(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    if (out_dir.exists() or out_dir.is_symlink()) and not out_dir.is_dir():
        raise UserError(f"output path {out_dir} exists and is not a directory: choose another -o")
    created = _missing_dirs(out_dir)
    ok = False
    try:
        with _locked(out_dir):
            for filename in files:
                final = out_dir / filename
                if final.is_symlink() or (final.exists() and not final.is_file()):
                    kind = "a symbolic link" if final.is_symlink() else "not a regular file"
                    raise UserError(
                        f"cannot write {final}: it exists and is {kind}; remove it or choose another -o"
                    )
            stage = Path(tempfile.mkdtemp(prefix=".dwmlir-stage-", dir=out_dir))
            try:
                for filename, data in files.items():
                    with open(stage / filename, "xb") as fh:
                        fh.write(data)
                    os.chmod(stage / filename, 0o644)
                for filename in files:
                    os.replace(stage / filename, out_dir / filename)
            finally:
                shutil.rmtree(stage, ignore_errors=True)
        ok = True
    finally:
        if not ok:
            for d in created:  # deepest first; leaves any directory another writer filled
                with contextlib.suppress(OSError):
                    d.rmdir()
    return [out_dir / f for f in files]


def _special(path: Path) -> int | None:
    """The ``st_mode`` of an existing non-regular, non-directory target (following links)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else mode


def write_output(path: str, data: bytes, flag: str = "-o") -> None:
    """``-o FILE`` for single-file verbs: ``-`` is stdout; a device, FIFO (or a symlink to one)
    is written through; a regular file is replaced atomically (through a symlink, its target)."""
    _check_not_empty(path, "file")
    if path == "-":
        if sys.stdout is None:
            raise UserError(f"standard output is closed: give {flag} FILE")
        with _as_user_error("standard output", flag):
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise UserError(f"output {path} is a directory: give a file name to {flag}")
    mode = _special(target)
    if mode is not None:
        if stat.S_ISSOCK(mode):
            raise UserError(f"cannot write {path}: it is a socket; choose a file, a device or a FIFO")
        with _as_user_error(path, flag):
            fd = os.open(target, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        return
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: directory {parent} does not exist")
    with _as_user_error(path, flag):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
