"""Write artefacts atomically: everything lands, or nothing does."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import UserError
from .compile import Artefacts

DEFAULT_EMIT = (".o", ".h", ".mlir", ".ll", ".s")


def write_artefacts(art: Artefacts, out_dir: Path, emit: tuple[str, ...] = DEFAULT_EMIT) -> list[Path]:
    """Write ``NAME<suffix>`` files into ``out_dir``.

    A new directory is built under a temporary name and renamed into place; into an existing
    directory each file is written to a temporary name and renamed.
    """
    name = art.spec.name
    out_dir = Path(out_dir)
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output path {out_dir} exists and is not a directory: choose another -o")
    if not parent.is_dir():
        raise UserError(f"cannot create {out_dir}: parent directory {parent} does not exist")
    if not os.access(parent if not out_dir.exists() else out_dir, os.W_OK):
        raise UserError(f"cannot write to {out_dir}: permission denied; choose a writable -o")
    written: list[Path] = []
    if not out_dir.exists():
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
        try:
            for suffix in emit:
                (tmp / f"{name}{suffix}").write_bytes(art.files[suffix])
            os.chmod(tmp, 0o755)
            os.rename(tmp, out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return [out_dir / f"{name}{s}" for s in emit]
    temps: list[tuple[Path, Path]] = []
    try:
        for suffix in emit:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}{suffix}.tmp-", dir=out_dir)
            with os.fdopen(fd, "wb") as fh:
                fh.write(art.files[suffix])
            os.chmod(tmp_name, 0o644)
            temps.append((Path(tmp_name), out_dir / f"{name}{suffix}"))
        for tmp_path, final in temps:
            os.replace(tmp_path, final)
            written.append(final)
    finally:
        for tmp_path, _ in temps:
            tmp_path.unlink(missing_ok=True)
    return written
