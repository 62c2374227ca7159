"""``crm-xl upgrade``: bring a workspace's records to the current way of writing them.

Older versions wrote dates as real Excel dates with a Persian-calendar number format, which
LibreOffice and every PDF show as serial numbers (46349.62…).  Every date a person reads is
now zero-padded Jalali text (SPEC §5).  ``FormBook.save`` converts a record the first time a
write command saves it; this command converts every record at once (the register, archive
registers, customer forms, after-sales forms, the complaint, survey and plan books), each with
a backup, under the workspace lock.  A record with no real date cell is not rewritten.  The
workspace's cached blank forms are rebuilt in the new layout on their next use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import F_31_07_01, F_31_08_01, F_31_08_02, Form
from crm_xl.io.safety import atomic_write, check_not_open, verify_xlsx, workspace_lock
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace
from crm_xl.ops.books import EXTRA_FORMS, book_path, open_book

__all__ = ["records", "upgrade_workspace"]


def records(ws: Workspace) -> Iterator[tuple[Path, Form]]:
    """Every record workbook of the workspace with its form."""
    if ws.register_path.exists():
        yield ws.register_path, F_31_08_02
    if ws.archive_dir.is_dir():
        for p in sorted(ws.archive_dir.glob(f"{F_31_08_02.code}*.xls[xm]")):
            yield p, F_31_08_02
    for folder in (ws.customers_dir, ws.archive_dir):
        if folder.is_dir():
            for p in sorted(folder.glob(f"*/{F_31_08_01.code}*.xlsx")):
                yield p, F_31_08_01
    if ws.aftersales_dir.is_dir():
        for p in sorted(ws.aftersales_dir.glob(f"{F_31_07_01.code}*.xlsx")):
            yield p, F_31_07_01
    for form in EXTRA_FORMS.values():
        p = book_path(ws, form)
        if p.exists():
            yield p, form


def upgrade_workspace(ws: Workspace) -> dict[str, Any]:
    """Rewrite real date cells of every record as Jalali text; what was converted and what
    could not be opened (named, never skipped silently)."""
    converted: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    checked = 0
    settings = ws.settings
    with workspace_lock(ws.root, timeout=settings.lock_timeout):
        for path, form in records(ws):
            checked += 1
            try:
                book = open_book(path, form) if form.code in EXTRA_FORMS else FormBook.open(path)
                cells = book.jalali_dates()
                if not cells:
                    continue
                check_not_open(path)
                atomic_write(
                    path,
                    lambda tmp, b=book: b.save(tmp),  # type: ignore[misc]
                    backups=ws.backups_dir,
                    keep=settings.backups_keep,
                    verify=verify_xlsx,
                )
            except CrmError as e:
                problems.append({"file": str(path), **e.as_dict()})
                continue
            converted.append({"file": str(path.relative_to(ws.root)), "cells": cells})
    return {"checked": checked, "converted": converted, "problems": problems}
