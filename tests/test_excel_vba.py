"""The macro-enabled register: VBA project, panel buttons, openpyxl round trips, remote double."""

from __future__ import annotations

import ast
import datetime as dt
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
import xlwings_remote as remote
from oletools.olevba import VBA_Parser
from openpyxl.worksheet.table import Table, TableStyleInfo
from pyopenvba import ExcelFile

from crm_xl.domain.errors import CrmError
from crm_xl.io import vba

REGISTER_SHEET = "مشتریان"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A vbaProject.bin and a panel .xlsm: panel, lists, conf and link sheets, one data sheet."""
    folder = tmp_path_factory.mktemp("macro")
    bin_path = vba.build_vba_project(folder / "vbaProject.bin", sheet_count=6)
    xlsm = folder / "panel.xlsm"
    book = xlsxwriter.Workbook(str(xlsm))
    vba.add_panel(
        book,
        bin_path=bin_path,
        interpreter=sys.executable,
        workspace=r"\\server\crm\ws",
        expert="سارا احمدی",
    )
    sheet = book.add_worksheet(REGISTER_SHEET)
    sheet.right_to_left()
    sheet.write_row(0, 0, ["شماره مشتری", "نام مشتری"])
    sheet.write_row(1, 0, ["C-0001", "شرکت نمونه"])
    book.close()
    return {"bin": bin_path, "xlsm": xlsm}


def _modules(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    try:
        return {stream.rsplit("/", 1)[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()


def _vml(xlsm: Path) -> str:
    with zipfile.ZipFile(xlsm) as z:
        return "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".vml"))


# --- the VBA project ---------------------------------------------------------------------


def test_project_is_readable_by_olevba_and_holds_the_modules(built: dict[str, Path]) -> None:
    modules = _modules(built["bin"])
    assert {"xlwings", "Dictionary", vba.BUTTON_MODULE} <= set(modules)
    assert {"ThisWorkbook", "Sheet1", "Sheet2", "Sheet3"} <= set(modules)
    assert "Public Function RunPython(" in modules["xlwings"]
    assert 'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"' in modules["Dictionary"]


def test_project_is_readable_by_pyopenvba(built: dict[str, Path]) -> None:
    with ExcelFile(built["xlsm"]) as xl:
        assert xl.validate() == []
        names = xl.module_names()
        assert {"xlwings", "Dictionary", vba.BUTTON_MODULE} <= set(names)
        assert xl.get_module(vba.BUTTON_MODULE).replace("\r\n", "\n") == (
            vba.button_module_source().replace("\r\n", "\n")
        )


def test_xlwings_module_is_the_installed_version(built: dict[str, Path]) -> None:
    import xlwings

    assert f"'Version: {xlwings.__version__}" in _modules(built["bin"])["xlwings"]


def test_button_module_source_is_ascii_crlf() -> None:
    source = vba.button_module_source()
    assert source.isascii()
    assert "\n" not in source.replace("\r\n", "")
    assert source.startswith(f'Attribute VB_Name = "{vba.BUTTON_MODULE}"')


def test_every_button_macro_is_a_sub_of_the_module(built: dict[str, Path]) -> None:
    code = _modules(built["bin"])[vba.BUTTON_MODULE]
    subs = re.findall(r"^Public Sub (\w+)\(\)", code, re.MULTILINE)
    assert len(subs) == len(set(subs)) == len(vba.BUTTONS)
    assert [b.macro for b in vba.BUTTONS] == subs
    # and no clash with a procedure of xlwings.bas (module-qualified anyway)
    xlwings_procs = set(
        re.findall(
            r"^(?:Public |Private )?(?:Sub|Function) (\w+)",
            _modules(built["bin"])["xlwings"],
            re.MULTILINE,
        )
    )
    assert not xlwings_procs & set(subs)


def _run_python_calls(code: str) -> list[str]:
    return re.findall(r'^\s*RunPython "([^"]*)"\s*$', code, re.MULTILINE)


def test_every_run_python_imports_a_module_and_calls_a_function(built: dict[str, Path]) -> None:
    calls = _run_python_calls(_modules(built["bin"])[vba.BUTTON_MODULE])
    assert len(calls) == len(vba.BUTTONS)
    funcs = []
    for command in calls:
        tree = ast.parse(command)
        assert len(tree.body) == 2, command
        imp, call = tree.body
        assert isinstance(imp, ast.Import) and imp.names[0].name == vba.PYTHON_MODULE
        alias = imp.names[0].asname
        assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
        func = call.value.func
        assert isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
        assert func.value.id == alias and not call.value.args
        funcs.append(func.attr)
    assert funcs == [b.func for b in vba.BUTTONS]


def test_button_functions_exist_in_the_buttons_module() -> None:
    import importlib

    buttons = importlib.import_module(vba.PYTHON_MODULE)
    missing = [b.func for b in vba.BUTTONS if not callable(getattr(buttons, b.func, None))]
    assert not missing


def test_build_refuses_a_mismatched_xlwings_bas(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0.1")
    with pytest.raises(CrmError) as err:
        vba.xlwings_vba_sources()
    assert err.value.code == "xlwings-version"


# --- the macro workbook ------------------------------------------------------------------


def test_xlsm_is_macro_enabled_with_project_and_buttons(built: dict[str, Path]) -> None:
    xlsm = built["xlsm"]
    with zipfile.ZipFile(xlsm) as z:
        assert z.read("xl/vbaProject.bin") == built["bin"].read_bytes()
        types = z.read("[Content_Types].xml").decode()
    assert re.search(
        r'<Override PartName="/xl/workbook.xml" ContentType="application/vnd\.ms-excel\.sheet\.macroEnabled\.main\+xml"/>',
        types,
    )
    assert 'Extension="bin" ContentType="application/vnd.ms-office.vbaProject"' in types
    vml = _vml(xlsm)
    for button in vba.BUTTONS:
        assert f"<x:FmlaMacro>[0]!{vba.BUTTON_MODULE}.{button.macro}</x:FmlaMacro>" in vml
        assert button.fa in vml
    assert vba.check_xlsm(xlsm) == []


def test_panel_is_rtl_active_and_has_named_entry_cells(built: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(built["xlsm"], keep_vba=True)
    panel = wb[vba.PANEL_SHEET]
    assert wb.active is panel
    assert panel.sheet_view.rightToLeft
    names = [f.name for f in vba.PANEL_FIELDS] + [vba.STATUS_NAME]
    assert len(names) == len(set(names))
    cells = set()
    for name in names:
        destinations = list(wb.defined_names[name].destinations)
        assert len(destinations) == 1 and destinations[0][0] == vba.PANEL_SHEET, name
        cells.add(destinations[0][1])
    assert len(cells) == len(names)
    for field in vba.PANEL_FIELDS:
        ref = next(iter(wb.defined_names[field.name].destinations))[1].replace("$", "")
        row = panel[ref].row
        assert panel.cell(row, panel[ref].column - 1).value == field.label
        assert panel[ref].protection.locked is False
    for key in (
        "in_name",
        "in_customer",
        "in_followup_type",
        "in_next_due",
        "in_case",
        "in_amount",
    ):
        assert key in names
    # drop-downs on the enumerated fields
    enum_cells = {
        next(iter(wb.defined_names[f.name].destinations))[1].replace("$", "")
        for f in vba.PANEL_FIELDS
        if f.field.enum
    }
    listed = {
        str(r)
        for dv in panel.data_validations.dataValidation
        if dv.type == "list"
        for r in dv.sqref.ranges
    }
    assert enum_cells <= listed


def test_conf_sheet_points_run_python_at_this_interpreter(built: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(built["xlsm"], keep_vba=True)
    conf = wb[vba.CONF_SHEET]
    assert conf.sheet_state == "hidden"
    rows = []
    for key, value in conf.iter_rows(min_row=1, max_col=2, values_only=True):
        if key is None:
            break  # xlwings.bas reads from A1 down to the first empty key
        rows.append((str(key).upper(), value))
    config = dict(rows)
    assert len(config) == len(rows)
    assert config["INTERPRETER_WIN"] == sys.executable
    assert config["INTERPRETER_MAC"] == sys.executable
    assert config["ADD_WORKBOOK_TO_PYTHONPATH"] == "False"
    # Review §D5: every key a user-level xlwings.conf could set is pinned here.
    assert set(vba.PINNED_KEYS) <= set(config)
    assert config["USE UDF SERVER"] == "False"
    assert config["CONDA PATH"] in (None, "") and config["CONDA ENV"] in (None, "")
    assert config["PYTHONPATH"] in (None, "")


def test_panel_records_the_workspace_as_given_and_its_expert(built: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(built["xlsm"], keep_vba=True)
    link = wb[vba.LINK_SHEET]
    assert link.sheet_state == "hidden"
    for name, value in ((vba.WORKSPACE_NAME, r"\\server\crm\ws"), (vba.EXPERT_NAME, "سارا احمدی")):
        ((sheet, ref),) = wb.defined_names[name].destinations
        assert wb[sheet][ref.replace("$", "")].value == value


def test_vba_project_stream_version_is_ffff(built: dict[str, Path]) -> None:
    """Review §D3: MS-OVBA §2.3.4.1 requires version 0xFFFF on write (pyOpenVBA wrote 0x00B5)."""
    with zipfile.ZipFile(built["xlsm"]) as z:
        data = z.read("xl/vbaProject.bin")
    assert vba.vba_project_version(data) == 0xFFFF
    parser = VBA_Parser(str(built["xlsm"]))
    try:
        assert parser.detect_vba_macros()
    finally:
        parser.close()


# --- openpyxl round trips ----------------------------------------------------------------


def test_openpyxl_keep_vba_round_trip_keeps_project_and_buttons(
    built: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "rt.xlsm"
    wb = openpyxl.load_workbook(built["xlsm"], keep_vba=True)
    wb[REGISTER_SHEET]["B3"] = "مشتری دوم"
    wb[vba.PANEL_SHEET]["C3"] = "ثبت شد"
    wb.save(out)
    wb = openpyxl.load_workbook(out, keep_vba=True)  # twice: openpyxl rewrites the rels
    wb[REGISTER_SHEET]["B4"] = "مشتری سوم"
    wb.save(out)
    assert vba.check_xlsm(out) == []
    with zipfile.ZipFile(out) as z:
        assert z.read("xl/vbaProject.bin") == built["bin"].read_bytes()

    def macros(path: Path) -> list[str]:
        return sorted(re.findall(r"FmlaMacro>([^<]*)<", _vml(path)))

    assert macros(out) == macros(built["xlsm"])
    assert openpyxl.load_workbook(out)[REGISTER_SHEET]["B4"].value == "مشتری سوم"


def test_save_without_keep_vba_is_reported(built: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "plain.xlsm"
    openpyxl.load_workbook(built["xlsm"]).save(out)
    problems = vba.check_xlsm(out)
    assert "vba: xl/vbaProject.bin is missing" in problems
    assert "content-type: workbook is not macro-enabled" in problems


# --- xlwings' remote engine as a live-workbook double -------------------------------------


# ``remote_engine`` (conftest): the engine registered, licence key set for the test only.


def test_payload_matches_the_vba_client_format(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "لیست"
    ws.append(["no", "name", "when"])
    ws.append(["C-1", "الف", dt.datetime(2024, 10, 6, 10, 30)])
    ws.append(["C-2", None, dt.date(2024, 10, 7)])
    ws.add_table(
        Table(
            displayName="Customers",
            ref="A1:C3",
            tableStyleInfo=TableStyleInfo(name="TableStyleMedium2"),
        )
    )
    from openpyxl.workbook.defined_name import DefinedName

    wb.defined_names["first"] = DefinedName("first", attr_text="'لیست'!$B$2")
    wb.defined_names["marker"] = DefinedName(
        "marker", attr_text='"F-31-08-02"'
    )  # not a range: not sent
    wb.create_sheet("empty")
    wb.save(path)
    payload = remote.book_json_from_file(path, selection="B2")
    assert payload["client"] == "VBA" and payload["book"] == {
        "name": "t.xlsx",
        "active_sheet_index": 0,
        "selection": "B2",
    }
    assert payload["names"] == [
        {
            "name": "first",
            "sheet_index": 0,
            "address": "B2",
            "book_scope": True,
            "scope_sheet_name": None,
            "scope_sheet_index": None,
        }
    ]
    first, empty = payload["sheets"]
    assert first["values"][1] == ["C-1", "الف", "2024-10-06T10:30:00.000Z"]
    assert first["values"][2] == ["C-2", None, "2024-10-07T00:00:00.000Z"]
    assert first["tables"][0]["data_body_range_address"] == "$A$2:$C$3"
    assert empty["values"] == [[]]


def test_remote_book_round_trip(built: dict[str, Path], tmp_path: Path, remote_engine: Any) -> None:
    xw = remote_engine
    src = tmp_path / "live.xlsm"
    wb = openpyxl.load_workbook(built["xlsm"], keep_vba=True)
    name_cell = next(iter(wb.defined_names["in_name"].destinations))[1].replace("$", "")
    wb[vba.PANEL_SHEET][name_cell] = "شرکت آزمون"
    wb.save(src)

    book = remote.open_remote_book(src)
    book.set_mock_caller()  # what the entry points see through xw.Book.caller()
    caller = xw.Book.caller()
    panel = caller.sheets[vba.PANEL_SHEET]
    assert panel["in_name"].value == "شرکت آزمون"
    assert caller.sheets[REGISTER_SHEET]["A1:B2"].value[1] == ["C-0001", "شرکت نمونه"]

    caller.sheets[REGISTER_SHEET]["A3"].value = [
        ["C-0002", "شرکت آزمون", dt.datetime(2024, 10, 7, 9, 0)]
    ]
    panel[vba.STATUS_NAME].value = "ثبت شد"
    panel["in_name"].clear_contents()
    # the snapshot is not updated by writes: a store must not read back what it wrote
    assert panel["in_name"].value == "شرکت آزمون"
    actions = caller.json()["actions"]
    assert [a["func"] for a in actions] == ["setValues", "setValues", "rangeClearContents"]

    out = remote.apply_actions(src, actions, tmp_path / "after.xlsm")
    wb = openpyxl.load_workbook(out, keep_vba=True)
    assert [c.value for c in wb[REGISTER_SHEET][3]] == [
        "C-0002",
        "شرکت آزمون",
        dt.datetime(2024, 10, 7, 9, 0),
    ]
    assert wb[vba.PANEL_SHEET][name_cell].value is None
    assert vba.check_xlsm(out) == []


@pytest.mark.libreoffice
@pytest.mark.slow
def test_libreoffice_reads_the_buttons_and_the_project(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """An independent reader: LibreOffice loads the buttons (with macros) and the VBA modules."""
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or "soffice"  # the marker skips a machine without it
    out = tmp_path / "lo"
    subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--convert-to",
            "xlsm:Calc MS Excel 2007 VBA XML",
            "--outdir",
            str(out),
            str(built["xlsm"]),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    resaved = out / built["xlsm"].name
    macros = [m for m in re.findall(r"FmlaMacro>([^<]*)<", _vml(resaved)) if m]
    assert sorted(macros) == sorted(f"{vba.BUTTON_MODULE}.{b.macro}" for b in vba.BUTTONS)
    assert {"xlwings", "Dictionary", vba.BUTTON_MODULE} <= set(_modules(resaved))


def test_each_sub_shows_running_in_its_sheets_message_cell_before_python(
    built: dict[str, Path],
) -> None:
    """Review §D6: Excel shows «در حال اجرا…» (written by VBA) while Python starts."""
    code = _modules(built["xlsm"])[vba.BUTTON_MODULE]
    shown = re.search(r"RefersToRange\.Value = (.*)", code)
    assert shown is not None
    text = "".join(
        chr(int(part[5:-1])) if part.startswith("ChrW(") else part.strip('"')
        for part in shown.group(1).strip().split(" & ")
    )
    assert text == vba.RUNNING_TEXT and text.startswith("در حال اجرا…")
    for button in vba.BUTTONS:
        body = re.search(rf"Public Sub {button.macro}\(\)\r\n(.*?)End Sub", code, re.S)
        assert body is not None, button.macro
        lines = [x.strip() for x in body.group(1).splitlines() if not x.strip().startswith("'")]
        assert lines[0] == f'ShowRunning "{vba.STATUS_NAMES[button.sheet]}"'
        assert lines[1].startswith("RunPython ")
