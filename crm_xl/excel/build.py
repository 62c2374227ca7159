"""Build the macro-enabled register ``F-31-08-02.xlsm`` of a workspace.

The register sheets come from ``layout.write_form`` (the same layout as the plain ``.xlsx``);
``vba.add_panel`` adds the panel sheet (first tab, active), the hidden ``xlwings.conf`` sheet and
the VBA project built by ``vba.build_vba_project``. Data of an existing register (the plain
``.xlsx``, or the ``.xlsm`` itself with ``force``) is carried over table by table. The new file is
written beside its target and put in place with ``os.replace`` under the workspace lock; the
replaced ``.xlsm`` and the retired ``.xlsx`` go to ``.crm_xl/backups/`` (nothing is deleted).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import F_31_08_02, Table
from crm_xl.io import vba
from crm_xl.io.layout import new_workbook, write_form
from crm_xl.io.safety import atomic_write, check_not_open, verify_xlsx, workspace_lock
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import REGISTER_STEM, Workspace

__all__ = ["build_macro_register", "read_register_data", "write_macro_register"]

Rows = dict[str, list[dict[str, object]]]


def read_register_data(path: Path) -> Rows:
    """Every table's data rows of a register workbook (values by field key)."""
    book = FormBook.open(path)
    return {
        part.name: [values for _, values in book.read_table(part.name)]
        for part in F_31_08_02.parts
        if isinstance(part, Table)
    }


def write_macro_register(
    out: Path, *, company: str, interpreter: str | Path, data: Rows | None = None
) -> Path:
    """Write a macro register to ``out`` (must end in ``.xlsm``), with ``data`` rows appended."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="crm_xl-vba-") as tmp:
        bin_path = Path(tmp) / "vbaProject.bin"
        book = new_workbook(out)
        vba.add_panel(book, bin_path=_placeholder(bin_path), interpreter=interpreter)
        # Unprotected: Excel refuses macro (xlwings) writes into locked cells of a protected
        # sheet, and the buttons write the register's computed columns.
        write_form(book, F_31_08_02, company=company, protect=False)
        # One document module per sheet (Sheet1..n in tab order, as XlsxWriter names them).
        vba.build_vba_project(bin_path, sheet_count=len(book.worksheets()))
        book.close()
        if data and any(data.values()):
            fb = FormBook.open(out, keep_vba=True)
            for table, rows in data.items():
                if rows:
                    fb.append_rows(table, rows)
            fb.save(out)
        problems = vba.check_xlsm(out)
        if problems:
            vba.repair_xlsm(out, bin_path=bin_path)
            problems = vba.check_xlsm(out)
        if problems:
            raise CrmError(
                "ساخت دفتر ثبت ماکرودار ناقص ماند: " + "؛ ".join(problems),
                "the macro register was built incomplete: " + "; ".join(problems),
                code="macro-workbook",
                file=out,
            )
    return out


def _placeholder(bin_path: Path) -> Path:
    """XlsxWriter checks the bin exists when it is added and reads it on close()."""
    bin_path.write_bytes(b"")
    return bin_path


def _verify(path: Path) -> None:
    verify_xlsx(path)
    problems = vba.check_xlsm(path)
    if problems:
        raise CrmError(
            "دفتر ثبت ماکرودار ناقص است: " + "؛ ".join(problems),
            "the macro register is incomplete: " + "; ".join(problems),
            code="macro-workbook",
            file=path,
        )


def build_macro_register(
    ws: Workspace, *, interpreter: str | Path | None = None, force: bool = False
) -> Path:
    """Make ``W/F-31-08-02.xlsm`` (panel, buttons, VBA) carrying the register's data.

    Refuses (``CrmError`` code ``register-exists``) when the ``.xlsm`` exists, unless ``force``:
    then its data is carried over and the old file backed up. A plain ``.xlsx`` register is
    carried over and then moved to ``.crm_xl/backups/``.
    """
    root = ws.root
    xlsm = root / f"{REGISTER_STEM}.xlsm"
    xlsx = root / f"{REGISTER_STEM}.xlsx"
    settings = ws.settings
    with workspace_lock(root, timeout=settings.lock_timeout):
        if xlsm.exists() and not force:
            raise CrmError(
                "دفتر ثبت ماکرودار از قبل هست؛ برای ساخت دوباره --force بدهید "
                "(نسخه فعلی پشتیبان‌گیری و داده‌ها منتقل می‌شوند)",
                "the macro register already exists; pass --force to rebuild it "
                "(the current file is backed up and its data carried over)",
                code="register-exists",
                file=xlsm,
            )
        source = xlsm if xlsm.exists() else xlsx if xlsx.exists() else None
        for path in (xlsm, xlsx):
            if path.exists():
                check_not_open(path)
        data = read_register_data(source) if source is not None else None
        atomic_write(
            xlsm,
            lambda tmp: write_macro_register(
                tmp,
                company=settings.company,
                interpreter=interpreter or sys.executable,
                data=data,
            ),
            backups=ws.backups_dir,
            keep=settings.backups_keep,
            verify=_verify,
        )
        if xlsx.exists():
            _retire(xlsx, ws.backups_dir)
    return xlsm


def _retire(path: Path, backups: Path) -> Path:
    """Move ``path`` into ``backups`` under the backup naming scheme (never deleted)."""
    backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = backups / f"{path.stem}.{stamp}{path.suffix}"
    shutil.move(str(path), target)
    return target
