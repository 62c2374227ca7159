"""Older workspaces, real Excel dates and the CLI's dates (issue 16, review §E.1, §E.7).

Older versions wrote dates as real Excel dates with a ``[$-fa-IR,16]`` format: LibreOffice
and PDFs print them as serials.  Each record is rewritten as Jalali text the first time a
write command saves it, or all at once by ``crm-xl upgrade`` (backed up); reading accepts both.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain.schema import CUSTOMERS, REGISTRATION
from crm_xl.io.settings_file import load_settings, save_settings
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace

OLD_FORMAT = "[$-fa-IR,16]yyyy/mm/dd hh:mm;@"
FIRST = dt.datetime(2025, 10, 8, 10, 30)  # 1404/07/16 10:30


def run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == code, res.output
    return res.output


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = tmp_path / "W"
    run("init", str(w), "--expert", "سارا احمدی", "--no-macros")
    run(
        "-w", str(w), "customer", "add", "--name", "علی رضایی", "--type", "natural",
        "--channel", "phone", "--expert", "سارا احمدی", "--need", "پمپ",
        "--at", "1404/07/16 10:30",
    )  # fmt: skip
    return Workspace.open(w)


def _age(ws: Workspace) -> tuple[Path, int, Path, int]:
    """Make the register and the customer form look as an older version wrote them."""
    reg = ws.register_path
    col = FormBook.open(reg).header_columns(CUSTOMERS.name)["first_contact"]
    wb = openpyxl.load_workbook(reg)
    cell = wb[CUSTOMERS.sheet].cell(6, col)
    cell.value, cell.number_format = FIRST, OLD_FORMAT
    wb.save(reg)
    (form,) = ws.customers_dir.glob("C-00001 - */*.xlsx")
    row = FormBook.open(form).block_rows(REGISTRATION.name)["first_contact"]
    wb = openpyxl.load_workbook(form)
    cell = wb[REGISTRATION.sheet].cell(row, 3)
    cell.value, cell.number_format = FIRST, OLD_FORMAT
    wb.save(form)
    return reg, col, form, row


def test_real_dates_are_read_and_upgraded_with_backups(ws: Workspace) -> None:
    reg, col, form, row = _age(ws)
    # read as they are: the same moment either way
    assert FormBook.open(reg).read_table(CUSTOMERS.name)[0][1]["first_contact"] == FIRST
    out = json.loads(run("-w", str(ws.root), "--json", "upgrade"))
    assert {c["file"] for c in out["converted"]} == {
        reg.name,
        str(form.relative_to(ws.root)),
    }
    cell = openpyxl.load_workbook(reg)[CUSTOMERS.sheet].cell(6, col)
    assert cell.value == "1404/07/16 10:30" and cell.number_format == "@"
    assert openpyxl.load_workbook(form)[REGISTRATION.sheet].cell(row, 3).value == (
        "1404/07/16 10:30"
    )
    assert FormBook.open(reg).read_table(CUSTOMERS.name)[0][1]["first_contact"] == FIRST
    backups = list(ws.backups_dir.iterdir())
    assert any(p.name.startswith("F-31-08-02") for p in backups)
    assert any(p.name.startswith("F-31-08-01") for p in backups)
    again = json.loads(run("-w", str(ws.root), "--json", "upgrade"))
    assert again["converted"] == [] and again["checked"] == 2


def test_the_first_write_command_upgrades_the_register(ws: Workspace) -> None:
    reg, col, _, _ = _age(ws)
    run(
        "-w", str(ws.root), "followup", "add", "C-00001", "--type", "phone", "--note", "تماس",
        "--at", "1404/07/17 09:00",
    )  # fmt: skip
    cell = openpyxl.load_workbook(reg)[CUSTOMERS.sheet].cell(6, col)
    assert cell.value == "1404/07/16 10:30"


def test_cli_shows_jalali_and_json_carries_iso(ws: Workspace) -> None:
    text = run("-w", str(ws.root), "customer", "show", "C-00001")
    assert "first_contact: 1404/07/16 10:30" in text and "2025-" not in text
    listing = run("-w", str(ws.root), "customer", "list")
    assert "1404/07/17 10:30" in listing  # the 24-hour call, Jalali
    (row,) = json.loads(run("-w", str(ws.root), "--json", "customer", "list"))
    assert row["first_contact"] == "1404/07/16 10:30"
    assert row["first_contact_iso"] == "2025-10-08T10:30:00+03:30"
    shown = json.loads(run("-w", str(ws.root), "--json", "customer", "show", "C-00001"))
    assert shown["customer"]["next_due_iso"] == "2025-10-09T10:30:00+03:30"


def test_experts_dropdown_follows_the_settings(ws: Workspace) -> None:
    settings = load_settings(ws.root)
    settings.experts = [*settings.experts, "نگار کریمی"]
    save_settings(ws.root, settings)
    ws = Workspace.open(ws.root)
    run(
        "-w", str(ws.root), "customer", "add", "--name", "زهرا نوری", "--type", "natural",
        "--channel", "phone", "--expert", "نگار کریمی", "--need", "پمپ", "--at", "1404/07/18 10:00",
    )  # fmt: skip
    (form,) = ws.customers_dir.glob("C-00002 - */*.xlsx")
    wb = openpyxl.load_workbook(form)
    ((sheet, ref),) = list(wb.defined_names["list_Experts"].destinations)
    names = [r[0].value for r in wb[sheet][ref.replace("$", "")]]
    assert names == ["سارا احمدی", "نگار کریمی"]


def test_plain_register_is_protected(ws: Workspace) -> None:
    sheet = openpyxl.load_workbook(ws.register_path)[CUSTOMERS.sheet]
    assert sheet.protection.sheet and not sheet.protection.password
