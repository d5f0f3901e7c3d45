"""Write artefacts atomically: everything lands, or nothing does."""

from __future__ import annotations

import contextlib
import os
import shutil
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
def _as_user_error(path: Path | str) -> Iterator[None]:
    """The file system refusing a write (read-only, full, not permitted) is the user's to fix."""
    try:
        yield
    except OSError as exc:
        raise UserError(
            f"cannot write {path}: {exc.strerror or exc}; choose a writable location with -o"
        ) from None


def write_files(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``out_dir``, all or nothing.

    A new directory is built under a temporary name and renamed into place; into an existing
    directory each file is written to a temporary name and renamed.
    """
    with _as_user_error(out_dir):
        return _write_files(Path(out_dir), files)


def _write_files(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output path {out_dir} exists and is not a directory: choose another -o")
    if not parent.is_dir():
        raise UserError(f"cannot create {out_dir}: parent directory {parent} does not exist")
    if not os.access(parent if not out_dir.exists() else out_dir, os.W_OK):
        raise UserError(f"cannot write to {out_dir}: permission denied; choose a writable -o")
    if not out_dir.exists():
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
        try:
            for filename, data in files.items():
                (tmp / filename).write_bytes(data)
            os.chmod(tmp, 0o755)
            os.rename(tmp, out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return [out_dir / f for f in files]
    temps: list[tuple[Path, Path]] = []
    written: list[Path] = []
    try:
        for filename, data in files.items():
            final = out_dir / filename
            fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.tmp-", dir=out_dir)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp_name, 0o644)
            temps.append((Path(tmp_name), final))
        for tmp_path, final in temps:
            os.replace(tmp_path, final)
            written.append(final)
    finally:
        for tmp_path, _ in temps:
            tmp_path.unlink(missing_ok=True)
    return written


def write_output(path: str, data: bytes) -> None:
    """``-o FILE`` for single-file verbs: ``-`` is stdout; files are written atomically."""
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise UserError(f"output {path} is a directory: give a file name to -o")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: directory {parent} does not exist")
    with _as_user_error(path):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
