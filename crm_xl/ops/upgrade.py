"""``crm-xl upgrade``: carry records made by an older crm_xl into today's forms, nothing lost.

A form gains sheets and columns as the toolkit grows (the invoice lines table, new header
fields). An older register then lacks them and every command would refuse it. ``upgrade``
lays out a fresh form from today's schema, copies every row and block value across by its
hidden key (never by position) and replaces the file atomically with a backup. A key the
current form no longer knows is refused rather than dropped, so an upgrade never loses data.

Older versions also wrote dates as real Excel dates with a Persian-calendar number format,
which LibreOffice and every PDF show as serial numbers.  Every date a person reads is now
zero-padded Jalali text (SPEC §5): ``FormBook.save`` converts a record the first time a write
command saves it, and ``upgrade`` converts every record at once (register, archive registers,
customer forms, after-sales forms, the complaint, survey and plan books), each with a backup.
A record with nothing to change is not rewritten, so a second run changes nothing.

Older versions also voided a contract by appending «(باطل)» to its number in the case row.
Void is now a flag (the case's ``contract_status``, read by ``enums.is_void`` alone):
``upgrade`` strips the suffix and sets the flag in every register, with a backup.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import openpyxl

from crm_xl.domain import decide, schema
from crm_xl.domain.enums import RecordStatus
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import CASES, F_31_07_01, F_31_08_01, F_31_08_02, Block, Form, Table
from crm_xl.io.layout import build_form
from crm_xl.io.safety import atomic_write, check_not_open, verify_xlsx, workspace_lock
from crm_xl.io.workbook import FormBook, converter, normalize_value
from crm_xl.io.workspace import Workspace
from crm_xl.ops.books import EXTRA_FORMS, book_path, open_book
from crm_xl.ops.store import read_register

__all__ = [
    "BookUpgrade",
    "needs_upgrade",
    "records",
    "upgrade_book",
    "upgrade_workspace",
    "void_flags",
]

#: How crm_xl before the void flag marked a voided contract: «Q-1404-0001 (باطل)».  Only the
#: conversion below knows it; every reader asks ``is_void`` of the flag.
_OLD_VOID_SUFFIX = re.compile(r"\s*\((?:باطل|void)\)\s*$", re.IGNORECASE)


@dataclass
class BookUpgrade:
    """What upgrading one workbook found and did."""

    path: Path
    missing: list[str] = field(default_factory=list)  # sheets / keys the file lacked
    rows: int = 0  # table rows carried across
    extra_sheets: list[str] = field(default_factory=list)  # a person's own sheets (kept in backup)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "missing": self.missing,
            "rows": self.rows,
            "extra_sheets": self.extra_sheets,
        }


def _keys_in_row(ws: Any, row: int) -> dict[str, int]:
    cells = next(ws.iter_rows(min_row=row, max_row=row, values_only=True), ())
    return schema.key_positions(cells, start=1)


def _keys_in_column(ws: Any, col: int) -> dict[str, int]:
    cells = (v for (v,) in ws.iter_rows(min_col=col, max_col=col, values_only=True))
    return schema.key_positions(cells, start=1)


def needs_upgrade(wb: Any, form: Form) -> list[str]:
    """Sheets and keys of ``form`` that the open workbook ``wb`` lacks ([] when current)."""
    missing: list[str] = []
    for part in form.parts:
        if part.sheet not in wb.sheetnames:
            missing.append(part.sheet)
            continue
        ws = wb[part.sheet]
        have = (
            _keys_in_row(ws, schema.KEY_ROW)
            if isinstance(part, Table)
            else _keys_in_column(ws, schema.BLOCK_KEY_COL)
        )
        missing += [f"{part.sheet}:{k}" for k in part.keys if k not in have]
    return missing


def _unknown_key_error(path: Path, sheet: str, key: str) -> CrmError:
    return CrmError(
        f"ستون «{key}» در برگه «{sheet}» در فرم فعلی نیست؛ برای اینکه داده‌ای از دست نرود "
        "به‌روزرسانی انجام نشد",
        f"column '{key}' of sheet '{sheet}' is not in the current form; the upgrade was not "
        "done so that no data is lost",
        code="upgrade-unknown-key",
        file=path,
        sheet=sheet,
    )


def _carry(old: Any, form: Form, path: Path, company: str) -> tuple[FormBook, int]:
    """A fresh ``form`` holding every value of the old workbook, by key."""
    new = FormBook.new(form, company=company)
    rows = 0
    for part in form.parts:
        if part.sheet not in old.sheetnames:
            continue
        ws = old[part.sheet]
        if isinstance(part, Table):
            cols = _keys_in_row(ws, schema.KEY_ROW)
            known = set(part.keys)
            data_cols = {k: c for k, c in cols.items() if k in known}
            records: list[dict[str, object]] = []
            for raw in ws.iter_rows(min_row=schema.FIRST_DATA_ROW, values_only=True):
                rec = {
                    k: converter(part.field(k))(raw[c - 1] if c - 1 < len(raw) else None)
                    for k, c in data_cols.items()
                }
                if any(v is not None for v in rec.values()):
                    stray = [
                        k
                        for k, c in cols.items()
                        if k not in known
                        and c - 1 < len(raw)
                        and normalize_value(raw[c - 1]) is not None
                    ]
                    if stray:
                        raise _unknown_key_error(path, part.sheet, stray[0])
                    records.append(rec)
            if records:
                new.append_rows(part.name, records)
                rows += len(records)
        elif isinstance(part, Block):
            keys = _keys_in_column(ws, schema.BLOCK_KEY_COL)
            values = {
                k: converter(part.field(k))(ws.cell(r, schema.BLOCK_VALUE_COL).value)
                for k, r in keys.items()
                if k in part.keys
            }
            new.write_block(part.name, {k: v for k, v in values.items() if v is not None})
    return new, rows


def _split_case_amounts(book: FormBook, ws: Workspace) -> None:
    """A register from before the invoiced column: each case's invoiced total from its live
    invoices, its contract amount back from the change log (review §A11)."""
    reg = read_register(book, ws.settings)
    log = [r for _, r in book.read_table(schema.LOG.name)]
    updates = decide.split_case_amounts(reg, log)
    for row, case in book.read_table(schema.CASES.name):
        update = updates.get(str(case.get("case_no") or ""))
        if update:
            book.update_row(schema.CASES.name, row, update)


def upgrade_book(ws: Workspace, path: Path, form: Form) -> BookUpgrade | None:
    """Upgrade one workbook in place (atomic, backed up); None when it is already current.

    The caller holds the workspace lock.
    """
    path = Path(path)
    try:
        old = openpyxl.load_workbook(path)
    except Exception as e:  # a damaged package: say so, change nothing
        raise CrmError(
            "فایل اکسل خراب است و باز نشد", f"cannot open workbook: {e}", code="not-xlsx", file=path
        ) from e
    missing = needs_upgrade(old, form)
    if not missing:
        return None
    if path.suffix.lower() != ".xlsx":
        raise CrmError(
            "فقط فایل‌های ‎.xlsx‎ به‌روز می‌شوند",
            "only .xlsx workbooks are upgraded",
            code="upgrade-unsupported",
            file=path,
        )
    first = old[old.sheetnames[0]]
    company = str(normalize_value(first.cell(1, 1).value) or "") or ws.settings.company
    new, rows = _carry(old, form, path, company)
    if f"{schema.CASES.sheet}:invoiced" in missing:
        _split_case_amounts(new, ws)
    own = {p.sheet for p in form.parts} | set(new.wb.sheetnames)
    extra = [s for s in old.sheetnames if s not in own]
    atomic_write(
        path,
        new.save,
        backups=ws.backups_dir,
        keep=ws.settings.backups_keep,
        verify=verify_xlsx,
    )
    return BookUpgrade(path, missing, rows, extra)


def retire_macro_register(ws: Workspace) -> dict[str, Any] | None:
    """Issue 15: the register becomes a plain ``F-31-08-02.xlsx``; the buttons live in each
    expert's panel. An old ``F-31-08-02.xlsm`` is carried into the ``.xlsx`` by key (every
    row kept) and then moved, whole, into the backups. None when there is none.

    The caller holds the workspace lock.
    """
    xlsm = ws.root / f"{F_31_08_02.code}.xlsm"
    xlsx = ws.root / F_31_08_02.filename
    if not xlsm.is_file():
        return None
    check_not_open(xlsm)
    if xlsx.exists():  # two registers: a person must say which one holds the records
        raise CrmError(
            f"هم {xlsm.name} و هم {xlsx.name} در فضای کاری هست؛ یکی را کنار بگذارید",
            f"both {xlsm.name} and {xlsx.name} are in the workspace; move one of them away",
            code="two-registers",
            file=xlsm,
        )
    try:
        old = openpyxl.load_workbook(xlsm)
    except Exception as e:  # a damaged package: say so, change nothing
        raise CrmError(
            "فایل اکسل خراب است و باز نشد", f"cannot open workbook: {e}", code="not-xlsx", file=xlsm
        ) from e
    first = old[old.sheetnames[0]]
    company = str(normalize_value(first.cell(1, 1).value) or "") or ws.settings.company
    new, rows = _carry(old, F_31_08_02, xlsx, company)
    atomic_write(xlsx, new.save, backups=None, verify=verify_xlsx)
    backup = ws.backups_dir / f"{xlsm.stem}.macro-register{xlsm.suffix}"
    n = 1
    while backup.exists():
        backup = ws.backups_dir / f"{xlsm.stem}.macro-register-{n}{xlsm.suffix}"
        n += 1
    backup.parent.mkdir(parents=True, exist_ok=True)
    os.replace(xlsm, backup)
    return {"from": xlsm.name, "to": xlsx.name, "rows": rows, "backup": str(backup)}


def _blank(tmp: Path, *, form: Form, company: str) -> None:
    build_form(tmp, form, company=company)


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


def _jalali_dates(ws: Workspace, path: Path, form: Form) -> int:
    """Rewrite the real date cells of one record as Jalali text; how many (0: untouched)."""
    book = open_book(path, form) if form.code in EXTRA_FORMS else FormBook.open(path)
    cells = book.jalali_dates()
    if cells:
        check_not_open(path)
        atomic_write(
            path,
            book.save,
            backups=ws.backups_dir,
            keep=ws.settings.backups_keep,
            verify=verify_xlsx,
        )
    return cells


def void_flags(ws: Workspace, path: Path) -> int:
    """Turn the old «(باطل)» suffix of the contract numbers of one register into the
    ``contract_status`` flag (atomic, backed up); how many contracts (0: file untouched).

    The caller holds the workspace lock; the register already has today's columns.
    """
    book = FormBook.open(path)
    changes: list[tuple[int, str]] = []
    for row, rec in book.read_table(CASES.name):
        text = rec.get("contract_no")
        if isinstance(text, str) and _OLD_VOID_SUFFIX.search(text):
            changes.append((row, _OLD_VOID_SUFFIX.sub("", text).strip()))
    if not changes:
        return 0
    for row, number in changes:
        book.update_row(
            CASES.name, row, {"contract_no": number, "contract_status": RecordStatus.VOID}
        )
    check_not_open(path)
    atomic_write(
        path, book.save, backups=ws.backups_dir, keep=ws.settings.backups_keep, verify=verify_xlsx
    )
    return len(changes)


def upgrade_workspace(ws: Workspace) -> dict[str, Any]:
    """Carry every record that lacks sheets or columns into today's form, then rewrite the
    remaining real dates as Jalali text.  Returns what was upgraded, what was converted and
    what could not be opened (named, never skipped silently)."""
    upgraded: list[dict[str, Any]] = []
    converted: list[dict[str, Any]] = []
    voided: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    checked = 0
    settings = ws.settings
    with workspace_lock(ws.root, timeout=settings.lock_timeout):
        retired = retire_macro_register(ws)
        for path, form in records(ws):
            checked += 1
            rel = str(path.relative_to(ws.root))
            try:
                # The key-based carry rewrites every date as text on the way (FormBook.save).
                carried = None if form.code in EXTRA_FORMS else upgrade_book(ws, path, form)
                if carried is not None:
                    upgraded.append({**carried.as_dict(), "file": rel})
                cells = 0 if carried is not None else _jalali_dates(ws, path, form)
                contracts = void_flags(ws, path) if form is F_31_08_02 else 0
            except CrmError as e:
                problems.append({"file": rel, **e.as_dict()})
                continue
            if cells:
                converted.append({"file": rel, "cells": cells})
            if contracts:
                voided.append({"file": rel, "contracts": contracts})
        # The blank forms new customers and products are stamped from: rebuilt when stale.
        for form in (F_31_08_01, F_31_07_01):
            blank = ws.internal_dir / "templates" / form.filename
            if blank.is_file() and needs_upgrade(openpyxl.load_workbook(blank), form):
                atomic_write(
                    blank, partial(_blank, form=form, company=settings.company), backups=None
                )
    out = {
        "checked": checked,
        "upgraded": upgraded,
        "converted": converted,
        "voided": voided,
        "problems": problems,
    }
    if retired is not None:
        out["macro_register"] = retired
    return out
