"""Reading and comparing workspaces in tests, always through the schema (never a column letter).

The fixtures that hand these workspaces out live in ``conftest.py``; this module holds the plain
functions a test module imports: the shared company and experts, copying a pristine workspace,
register rows by schema key, customer forms, folder trees and whole-workspace digests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from crm_xl.domain.schema import F_31_08_01, F_31_08_02, Block, Table
from crm_xl.io.settings_file import save_settings
from crm_xl.io.workbook import FormBook, read_table_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops.store import find_customer_form

#: The company and experts of the shared pristine workspace.
COMPANY = "شرکت آزمون"
EXPERTS = ["علی رضایی", "مریم احمدی"]

#: The workspace lock (marker and holder sidecar): taken and released by every write.
LOCK_FILES = frozenset({".crm_xl/lock", ".crm_xl/lock.holder.json", ".crm_xl/lock.generation"})
#: The fair lock's waiting queue (tickets come and go with every writer): bookkeeping too.
LOCK_DIRS = (".crm_xl/queue/",)


def copy_workspace(src: Path, dest: Path) -> Workspace:
    """A private copy of the workspace folder ``src`` at ``dest``."""
    shutil.copytree(src, dest)
    return Workspace.open(dest)


def with_settings(ws: Workspace, **changes: Any) -> Workspace:
    """The workspace with ``changes`` saved into its settings (e.g. ``experts=[…]``)."""
    settings = ws.settings.model_copy(update=changes)
    save_settings(ws.root, settings)
    return Workspace.open(ws.root)


# --- the register, by key -------------------------------------------------------------------


def register_path(ws: Workspace | Path) -> Path:
    return ws.register_path if isinstance(ws, Workspace) else Path(ws)


def rows(ws: Workspace | Path, table: Table) -> list[dict[str, object]]:
    """Data rows of a register table (a Workspace's register, or a register file)."""
    return [r for _, r in read_table_fast(register_path(ws), F_31_08_02, table.name)]


def rows_by_key(ws: Workspace | Path, table: Table) -> dict[str, dict[str, object]]:
    """Rows of a keyed register table (CUSTOMERS, CASES, INVOICES) by their number."""
    assert table.key is not None, f"{table.name} has no key field"
    return {str(r[table.key]): r for r in rows(ws, table)}


def register_snapshot(ws: Workspace | Path) -> dict[str, list[dict[str, object]]]:
    """Every table of the register, rows in sheet order, values by field key."""
    return {part.name: rows(ws, part) for part in F_31_08_02.parts if isinstance(part, Table)}


def cell_ref(path: Path, table: Table, row: int, key: str) -> str:
    """The A1 reference of field ``key`` in Excel row ``row`` of a form's table."""
    return FormBook.open(path).cell_ref(table.name, row, key)


def set_cells(path: Path, table: Table, row: int, values: Mapping[str, object]) -> None:
    """Write raw cell values (as a person would type them) into one row, found by field key."""
    book = FormBook.open(path)
    cols = book.header_columns(table.name)
    sheet = book.sheet(table.name)
    for key, value in values.items():
        sheet.cell(row, cols[key]).value = value
    book.save(path)


def set_block(path: Path, block: Block, values: Mapping[str, object]) -> None:
    """Write raw values into block lines found by field key (no conversion, as typed)."""
    book = FormBook.open(path)
    sheet = book.sheet(block.name)
    for key, value in values.items():
        sheet[book.block_cell(block.name, key)].value = value
    book.save(path)


def row_of(ws: Workspace | Path, table: Table, number: str) -> int:
    """The Excel row holding ``number`` in a keyed register table."""
    assert table.key is not None
    for r, values in read_table_fast(register_path(ws), F_31_08_02, table.name):
        if str(values[table.key]) == number:
            return r
    raise KeyError(f"{number} not in {table.name}")


# --- customer forms and folders --------------------------------------------------------------


def form_path(ws: Workspace, customer_no: str) -> Path:
    """The customer's F-31-08-01, in customers/ or archive/."""
    path = find_customer_form(ws, customer_no, archived=True)
    assert path is not None, f"no F-31-08-01 for {customer_no}"
    return path


def form_snapshot(path: Path) -> dict[str, object]:
    """A customer form's registration block and follow-up rows, values by field key."""
    book = FormBook.open(path)
    out: dict[str, object] = {}
    for part in F_31_08_01.parts:
        if isinstance(part, Block):
            out[part.name] = book.read_block(part.name)
        else:
            out[part.name] = [v for _, v in book.read_table(part.name)]
    return out


def tree(root: Path, areas: Iterable[str] = ("customers", "archive", "after-sales")) -> list[str]:
    """Relative paths of every folder and file in the workspace's record areas, sorted."""
    out: list[str] = []
    for area in areas:
        base = root / area
        for dirpath, dirnames, filenames in os.walk(base):
            rel = Path(dirpath).relative_to(root).as_posix()
            out.extend(f"{rel}/{d}/" for d in dirnames)
            out.extend(f"{rel}/{f}" for f in filenames)
    return sorted(out)


def digests(root: Path, ignore: frozenset[str] = LOCK_FILES) -> dict[str, str]:
    """SHA-256 of every file and a marker for every folder under ``root`` (paths relative)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for d in dirnames:
            rel = (base / d).relative_to(root).as_posix() + "/"
            if not rel.startswith(LOCK_DIRS):
                out[rel] = "dir"
        for f in filenames:
            rel = (base / f).relative_to(root).as_posix()
            if rel not in ignore and not rel.startswith(LOCK_DIRS):
                out[rel] = hashlib.sha256((base / f).read_bytes()).hexdigest()
    return out


def changed(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Paths added, removed or rewritten between two ``digests``."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
