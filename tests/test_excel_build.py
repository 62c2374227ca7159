"""Building the macro register of a workspace, carrying data over, and keeping it intact."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from helpers_cli import Cli
from helpers_workspace import EXPERTS, rows

from crm_xl.domain import decide
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import COUNTERS, CUSTOMERS
from crm_xl.excel.build import build_macro_register
from crm_xl.io import vba
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store

EXPERT = EXPERTS[1]


def _add(ws: Workspace, name: str, mobile: str) -> str:
    inp = decide.NewCustomer(
        need="پمپ", name=name, person_type="natural", channel="phone", expert=EXPERT, mobile=mobile
    )
    return str(store.add_customer(ws, inp).result["customer_no"])


def _customers(path: Path) -> list[dict[str, object]]:
    return rows(path, CUSTOMERS)


def test_build_on_a_fresh_workspace(ws: Workspace) -> None:
    path = build_macro_register(ws, interpreter="C:\\Python312\\python.exe")
    assert path == ws.root / "F-31-08-02.xlsm" == ws.register_path
    assert not (ws.root / "F-31-08-02.xlsx").exists()
    assert [p.suffix for p in ws.backups_dir.glob("F-31-08-02.*")] == [".xlsx"]
    assert vba.check_xlsm(path) == []
    wb = openpyxl.load_workbook(path, keep_vba=True)
    assert wb.sheetnames[0] == vba.PANEL_SHEET
    assert wb.active is not None and wb.active.title == vba.PANEL_SHEET
    conf: dict[object, object] = {k: v for k, v in wb[vba.CONF_SHEET].iter_rows(values_only=True)}
    assert conf["Interpreter_Win"] == conf["Interpreter_Mac"] == "C:\\Python312\\python.exe"
    assert wb[vba.CONF_SHEET].sheet_state == "hidden"
    assert {"in_name", "in_customer", vba.STATUS_NAME} <= set(wb.defined_names)
    FormBook.open(path)  # still detected as F-31-08-02


def test_data_of_the_xlsx_is_carried_over_and_numbering_continues(ws: Workspace) -> None:
    first = _add(ws, "علی رضایی", "09121111111")
    second = _add(ws, "مریم کاظمی", "09122222222")
    before = _customers(ws.register_path)
    counters = rows(ws, COUNTERS)
    path = build_macro_register(ws)
    assert _customers(path) == before
    assert rows(path, COUNTERS) == counters
    assert [r["mobile"] for r in _customers(path)] == ["09121111111", "09122222222"]
    third = _add(ws, "حسن موسوی", "09123333333")  # the file store now writes the .xlsm
    assert [r["customer_no"] for r in _customers(path)] == [first, second, third]
    assert vba.check_xlsm(path) == []


def test_existing_xlsm_is_refused_unless_forced(ws: Workspace) -> None:
    build_macro_register(ws)
    no = _add(ws, "علی رضایی", "09121111111")
    with pytest.raises(CrmError) as err:
        build_macro_register(ws)
    assert err.value.code == "register-exists"
    path = build_macro_register(ws, force=True, interpreter="/usr/bin/python3")
    assert [r["customer_no"] for r in _customers(path)] == [no]
    backups = sorted(p.suffix for p in ws.backups_dir.glob("F-31-08-02.*"))
    assert ".xlsm" in backups and ".xlsx" in backups
    assert vba.check_xlsm(path) == []


def test_cli_write_keeps_vba_buttons_and_content_type(ws: Workspace, cli: Cli) -> None:
    """Acceptance 3: an ordinary CLI write on the .xlsm register loses nothing of the macros."""
    path = build_macro_register(ws)
    with zipfile.ZipFile(path) as z:
        bin_before = z.read("xl/vbaProject.bin")
    result = cli(
        ws,
        *("customer", "add", "--name", "شرکت آزمون نو", "--type", "legal"),
        *("--channel", "phone", "--expert", EXPERT, "--mobile", "09121234567"),
        *("--need", "پمپ"),
    )
    assert result.exit_code == 0, result.output
    assert ws.register_path == path and len(_customers(path)) == 1
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/vbaProject.bin") == bin_before
        types = z.read("[Content_Types].xml").decode()
        vml = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".vml"))
    assert vba.CT_MACRO_MAIN in types and vba.CT_VBA in types
    for button in vba.BUTTONS:
        assert f"<x:FmlaMacro>[0]!{vba.macro_ref(button)}</x:FmlaMacro>" in vml
    assert vba.check_xlsm(path) == []


def test_cli_excel_build_and_check(ws: Workspace, cli: Cli) -> None:
    res = cli(ws, "excel", "check")
    assert res.exit_code != 0 and "excel build" in res.output
    res = cli(ws, "excel", "build", "--interpreter", sys.executable, json=True)
    assert res.exit_code == 0, res.output
    res = cli(ws, "excel", "build")
    assert res.exit_code != 0 and "--force" in res.output
    res = cli(ws, "excel", "build", "--force")
    assert res.exit_code == 0, res.output
    res = cli(ws, "excel", "check", json=True)
    assert res.exit_code == 0 and res.data["ok"] is True
    # a save without keep_vba breaks it; check says so
    wb = openpyxl.load_workbook(ws.register_path)
    wb.save(ws.register_path)
    res = cli(ws, "excel", "check")
    assert res.exit_code == 1 and "vbaProject.bin" in res.output


@pytest.mark.libreoffice
def test_libreoffice_opens_the_panel(ws: Workspace, tmp_path: Path) -> None:
    """Acceptance 4: LibreOffice opens the .xlsm; the panel renders (PNG kept for a look)."""
    import helpers_office as office

    _add(ws, "علی رضایی", "09121111111")
    path = build_macro_register(ws)
    pdf = office.to_pdf(path, tmp_path / "pdf")
    pngs = office.pdf_to_png(pdf, tmp_path / "png", dpi=70)
    assert pngs
    text = office.pdf_text(pdf)
    for label in ("F-31-08-02", "Message", "New customer", "Follow-up and next action"):
        assert label in text, label
