"""One folder per customer on disk (R12, SPEC §7): no escapes from the root, no overwrites.

Names are made by :mod:`crm_xl.domain.names` (valid on Windows, Linux and macOS shares,
within the length budget explained there).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import unicodedata
from itertools import count
from pathlib import Path

from crm_xl.domain.errors import InputError
from crm_xl.domain.names import MAX_COMPONENT_BYTES, ZWNJ, customer_folder_name, safe_name
from crm_xl.domain.text import normalize, to_ascii_digits

_STRIP = " ." + ZWNJ

__all__ = [
    "customer_folder_name",
    "find_customer_folder",
    "folder_number",
    "move_folder",
    "numbered_folders",
    "resolve_inside",
    "safe_name",
    "unique_folder",
]


def _unsafe(root: Path, name: str) -> InputError:
    return InputError(
        f"نام «{name}» به بیرون از پوشهٔ «{root}» اشاره می‌کند.",
        f"The name {name!r} points outside the folder {root}.",
        code="unsafe-path",
        file=root,
    )


def resolve_inside(root: Path, name: str) -> Path:
    """``root / name`` resolved (symlinks followed), or ``InputError`` ``unsafe-path`` if it leaves ``root``."""
    root_r = Path(root).resolve()
    if not name or "\x00" in name:
        raise _unsafe(root_r, name)
    target = (root_r / name).resolve()
    if target == root_r or not target.is_relative_to(root_r):
        raise _unsafe(root_r, name)
    return target


def _fold(name: str) -> str:
    # Windows and macOS shares compare names case-insensitively; macOS also decomposes.
    return unicodedata.normalize("NFC", name).casefold()


def _with_counter(name: str, n: int) -> str:
    suffix = f" ({n})"
    budget = MAX_COMPONENT_BYTES - len(suffix)
    base = name
    while len(base.encode("utf-8")) > budget or len(base.encode("utf-16-le")) > 2 * budget:
        base = base[:-1]
    return f"{base.rstrip(_STRIP) or '_'}{suffix}"


def unique_folder(root: Path, name: str) -> Path:
    """``root / name``, or ``root / "name (2)"``, ``"name (3)"`` … whichever does not exist yet.

    Existing names are compared case-insensitively.  The result is resolved and checked
    with ``resolve_inside``.  Create it promptly (``mkdir(exist_ok=False)``) under the
    workspace lock; the name is only free at the moment of the check.
    """
    root = Path(root)
    try:
        taken = {_fold(n) for n in os.listdir(root)}
    except FileNotFoundError:
        taken = set()
    candidate = name
    for n in count(2):
        if _fold(candidate) not in taken:
            return resolve_inside(root, candidate)
        candidate = _with_counter(name, n)
    raise AssertionError("unreachable")


def find_customer_folder(root: Path, number: str) -> Path | None:
    """The folder named ``<number>`` or ``<number> - …`` (the name part may have changed since).

    If several match (``12 - A`` and ``12 - A (2)``) the first in name order is returned.
    Hidden folders (``.~moving-…``, half-finished moves) are ignored.
    """
    root = Path(root)
    keys = {_fold(number.strip()), _fold(safe_name(number, max_len=40))}
    try:
        entries = sorted(root.iterdir(), key=lambda p: p.name)
    except FileNotFoundError:
        return None
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        folded = _fold(entry.name)
        if any(folded == k or folded.startswith(f"{k} - ") for k in keys):
            return entry
    return None


_COUNTER_SUFFIX = re.compile(r" \(\d+\)$")


def folder_number(name: str) -> str | None:
    """The customer number a folder name starts with (``"C-00007 - …"``, ``"C-00007 (2)"``).

    None for hidden folders: staging (``.new-…``) and half-finished moves (``.~moving-…``) are
    the toolkit's own, not customers'.
    """
    if not name or name.startswith("."):
        return None
    head = name.split(" - ", 1)[0] if " - " in name else _COUNTER_SUFFIX.sub("", name)
    if head.isascii():  # the usual case, without the cost of normalising
        return head.strip() or None
    return to_ascii_digits(normalize(head)) or None


def numbered_folders(*roots: Path) -> dict[str, list[str]]:
    """Customer folders under ``roots`` (their paths) by the number their name starts with.

    One directory scan per root. Evidence of issued customer numbers (SPEC §4): a number whose
    folder exists is never issued again, whatever the register says. A number with more than
    one folder lists them all, in name order.
    """
    out: dict[str, list[str]] = {}
    for root in roots:
        try:
            entries = list(os.scandir(root))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            no = folder_number(entry.name)
            if no is not None and entry.is_dir():
                out.setdefault(no, []).append(entry.path)
    for paths in out.values():
        if len(paths) > 1:
            paths.sort()
    return out


def _rename_free(src: Path, dst_root: Path, name: str) -> Path | None:
    """Rename ``src`` to a free name in ``dst_root``; None if the rename crosses devices."""
    for _ in range(1000):
        dst = unique_folder(dst_root, name)
        try:
            # Windows refuses an existing target; POSIX could only replace an *empty* directory
            # that appeared after our check (ENOTEMPTY otherwise), so nothing is ever lost.
            _rename(src, dst)
            return dst
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return None
            if isinstance(exc, FileExistsError) or exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue  # someone took the name meanwhile: pick the next one
            raise
    raise FileExistsError(f"no free name for {name} in {dst_root}")


_rename = os.rename  # indirection so tests can simulate a move across devices


def _tree_signature(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1)
        for p in root.rglob("*")
        if not p.is_symlink()
    }


def move_folder(src: Path, dst_root: Path) -> Path:
    """Move the folder ``src`` into ``dst_root`` (created if needed); return where it landed.

    Never overwrites: a name already taken gets `` (2)``, `` (3)`` … .  On one filesystem
    this is a single atomic rename.  Across devices it copies to a hidden staging folder
    ``dst_root/.~moving-<pid>-<rand>``, checks every file arrived with its size, renames the
    staging folder to its final name and only then removes the source.  Interrupted at any
    point, the source or a complete copy (or both) remains; a leftover staging folder is
    visible as such and never picked up by ``find_customer_folder``.
    """
    src, dst_root = Path(src), Path(dst_root)
    if not src.is_dir():
        raise InputError(
            f"پوشهٔ «{src}» وجود ندارد.",
            f"The folder {src} does not exist.",
            code="folder-missing",
            file=src,
        )
    dst_root.mkdir(parents=True, exist_ok=True)
    src_r, dst_r = src.resolve(), dst_root.resolve()
    if dst_r == src_r or dst_r.is_relative_to(src_r):
        raise _unsafe(src_r, str(dst_root))
    if src_r.parent == dst_r:
        return src_r
    moved = _rename_free(src_r, dst_r, src_r.name)
    if moved is not None:
        return moved
    staging = dst_r / f".~moving-{os.getpid()}-{secrets.token_hex(4)}"
    shutil.copytree(src_r, staging, symlinks=True)
    if _tree_signature(staging) != _tree_signature(src_r):
        raise OSError(errno.EIO, f"copy of {src_r} to {staging} is incomplete; the source is kept")
    moved = _rename_free(staging, dst_r, src_r.name)
    if moved is None:  # staging is inside dst_root, so this cannot cross devices
        raise OSError(errno.EXDEV, f"cannot rename {staging}")
    shutil.rmtree(src_r)
    return moved
