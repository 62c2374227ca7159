"""Durable small writes: fsync a file and its folder, replace a small file atomically.

Shared by ``safety`` (workbooks, backups, the lock's files) and ``journal`` (intent and seal),
so both make a write survive a crash the same way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from pathlib import Path

__all__ = ["fsync_dir", "fsync_file", "write_atomic"]


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    # Makes a rename itself durable on POSIX; Windows cannot open directories this way.
    if sys.platform == "win32":  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data``: a temporary file beside it, fsync, rename.

    The temporary name starts with ``.`` and ends with ``.tmp`` (``.<name>.<rand>.tmp``), so
    a crash leaves at most a file of that shape, never a half-written ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync:
        fsync_dir(path.parent)
