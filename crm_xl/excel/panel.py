"""Build one sales expert's panel ``.xlsm`` (SPEC §8: one panel per expert).

The panel holds no record: every button runs an ``ops`` operation on the shared workspace's
files, and the lists («کارتابل من», «مشتریان من») are re-read from the workspace after each
press and when the panel is built. What the expert may have typed into the entry cells and not
yet sent is the only thing that lives in the panel alone; a rebuild carries those cells over,
so rebuilding never makes the expert redo anything. The old panel is kept beside the new one
(``<name>.<stamp>.xlsm`` in ``.crm_xl-panel-backups/``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import openpyxl
import xlsxwriter

from crm_xl.domain.dates import now_tehran, to_jalali_str
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.names import safe_name
from crm_xl.domain.text import normalize
from crm_xl.io import vba
from crm_xl.io.safety import atomic_write, check_not_open
from crm_xl.io.workspace import Workspace
from crm_xl.ops.complaints import open_complaint_actions
from crm_xl.ops.refresh import evaluate_workspace
from crm_xl.ops.tasks import build_tasks

__all__ = ["build_panel", "default_panel_path", "list_rows", "panel_entries"]

#: Entry cells a rebuild carries over (the expert cell is the panel's own).
_CARRIED = tuple(f.name for f in vba.PANEL_FIELDS if f.name != "in_expert")


def default_panel_path(expert: str) -> Path:
    """On the expert's own computer: Documents (or home) / ``CRM panel - <expert>.xlsm``."""
    home = Path.home()
    folder = home / "Documents" if (home / "Documents").is_dir() else home
    return folder / f"CRM panel - {safe_name(expert)}.xlsm"


def _expert(ws: Workspace, expert: str) -> str:
    """The workspace's spelling of ``expert``; refused when the settings do not list them."""
    wanted = normalize(expert)
    for name in ws.settings.experts:
        if normalize(name) == wanted:
            return name
    listed = "، ".join(ws.settings.experts) or "-"
    raise InputError(
        f"کارشناس «{expert}» در تنظیمات این فضای کاری نیست (کارشناسان: {listed})",
        f"expert '{expert}' is not in this workspace's settings (experts: {listed})",
        code="unknown-expert",
        field="expert",
    )


def panel_entries(path: Path) -> dict[str, object]:
    """The values typed into an existing panel's entry cells (by defined name)."""
    wb = openpyxl.load_workbook(path, keep_vba=False, data_only=True)
    try:
        out: dict[str, object] = {}
        for name in _CARRIED:
            dn = wb.defined_names.get(name)
            if dn is None:
                continue
            for sheet, ref in dn.destinations:
                if sheet in wb.sheetnames:
                    value = wb[sheet][ref.replace("$", "")].value
                    if value is not None:
                        out[name] = value
        return out
    finally:
        wb.close()


def write_panel(
    out: Path,
    *,
    workspace: str,
    expert: str,
    interpreter: str | Path,
    entries: dict[str, object] | None = None,
    lists: dict[str, list[list[str]]] | None = None,
) -> Path:
    """Write a panel to ``out`` (an ``.xlsm``); ``entries`` pre-fill entry cells by name,
    ``lists`` the list sheets (sheet name -> rows)."""
    with tempfile.TemporaryDirectory(prefix="crm_xl-vba-") as tmp:
        bin_path = Path(tmp) / "vbaProject.bin"
        sheets = 1 + len(vba.LIST_COLUMNS) + 2  # panel, lists, conf, link: one module each
        vba.build_vba_project(bin_path, sheet_count=sheets)
        book = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False})
        vba.add_panel(
            book, bin_path=bin_path, interpreter=interpreter, workspace=workspace, expert=expert
        )
        book.close()
    if entries or lists:
        _fill(out, entries or {}, lists or {})
    problems = vba.check_xlsm(out)
    if problems:
        raise CrmError(
            "ساخت پنل ناقص ماند: " + "؛ ".join(problems),
            "the panel was built incomplete: " + "; ".join(problems),
            code="macro-workbook",
            file=out,
        )
    return out


def _fill(path: Path, entries: dict[str, object], lists: dict[str, list[list[str]]]) -> None:
    """Put carried-over entry values and the lists in (openpyxl keeps the project and buttons)."""
    wb = openpyxl.load_workbook(path, keep_vba=True)
    for sheet, rows in lists.items():
        for r, values in enumerate(rows, vba.LIST_FIRST_ROW):
            for c, text in enumerate(values, 1):
                cell = wb[sheet].cell(r, c, text)
                cell.number_format = "@"
    for name, value in entries.items():
        dn = wb.defined_names.get(name)
        if dn is None:
            continue
        for sheet, ref in dn.destinations:
            wb[sheet][ref.replace("$", "")].value = value
    wb.save(path)


def list_rows(ws: Workspace, expert: str) -> tuple[list[list[str]], list[list[str]]]:
    """«کارتابل من» and «مشتریان من» rows of ``expert``, as the CLI's ``tasks`` sees them."""
    ev = evaluate_workspace(ws, now_tehran())
    me = normalize(expert)
    tasks = build_tasks(ev, open_complaint_actions(ws, ev.now)).get(me, [])
    task_rows = [
        [
            t.customer_no,
            t.customer_name,
            t.state.fa,
            t.action,
            t.due_jalali,
            t.as_dict()["late_fa"] or "",
            t.contact,
            t.stage.fa,
        ]
        for t in tasks
    ]
    customers: list[list[str]] = []
    for no, row in sorted(ev.rows.items()):
        if normalize(row.get("expert")) != me:
            continue
        st = ev.statuses.get(no)
        due = row.get("next_due")
        customers.append(
            [
                no,
                _cell_text(row.get("name")),
                _cell_text(row.get("stage")),
                st.state.fa if st is not None else "",
                _cell_text(row.get("next_action")),
                to_jalali_str(due, with_time=True) if isinstance(due, date) else _cell_text(due),
                _cell_text(row.get("mobile")),
            ]
        )
    return task_rows, customers


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def build_panel(
    ws: Workspace,
    expert: str,
    *,
    out: Path | None = None,
    interpreter: str | Path | None = None,
    workspace_path: str | None = None,
) -> Path:
    """Build (or rebuild) ``expert``'s panel; returns its path.

    ``workspace_path`` is what the panel records (default: the workspace folder as given, so
    ``\\\\server\\share\\crm`` stays a UNC path); ``interpreter`` the Python the buttons run
    (default: this one). A panel open in Excel is refused (its owner file names the holder).
    """
    name = _expert(ws, expert)
    target = Path(out) if out is not None else default_panel_path(name)
    if target.suffix.lower() != ".xlsm":
        raise InputError(
            f"پنل باید پسوند ‎.xlsm داشته باشد: {target.name}",
            f"the panel must end in .xlsm: {target.name}",
            code="bad-path",
            file=target,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    entries: dict[str, object] = {}
    if target.exists():
        check_not_open(target)
        entries = panel_entries(target)
    recorded = workspace_path or os.path.abspath(ws.root)
    atomic_write(
        target,
        lambda tmp: write_panel(
            tmp,
            workspace=recorded,
            expert=name,
            interpreter=interpreter or sys.executable,
            entries=entries,
            lists=dict(zip(vba.LIST_COLUMNS, list_rows(ws, name), strict=True)),
        ),
        backups=target.parent / ".crm_xl-panel-backups",
        keep=5,
    )
    return target
