"""One panel per expert (issue 15), driven through xlwings' remote engine.

Each test builds real panels with ``crm-xl excel panel`` on a real workspace, types into a
panel's entry cells (as the expert does), opens it as a remote ``xw.Book(json=...)`` with the
sheet holding the button active, presses the button, plays the recorded actions back onto the
panel file and checks the workspace files (register, folders, forms) and the panel's sheets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwings_remote as remote
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain.ids import make_national_code
from crm_xl.domain.schema import CUSTOMERS, FOLLOWUPS
from crm_xl.excel import buttons
from crm_xl.io import vba
from crm_xl.io.folders import find_customer_folder
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops.store import customer_form_name

SARA, ALI = "سارا احمدی", "علی رضایی"
TESTS = Path(__file__).parent
CODE = make_national_code("001234567")


@pytest.fixture
def ws(tmp_path: Path, remote_engine: Any) -> Workspace:
    return init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[SARA, ALI])


def build(ws: Workspace, expert: str, out: Path) -> Path:
    res = CliRunner().invoke(
        main, ["-w", str(ws.root), "excel", "panel", "--expert", expert, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def panels(ws: Workspace, tmp_path: Path) -> dict[str, Path]:
    return {e: build(ws, e, tmp_path / f"panel-{i}.xlsm") for i, e in enumerate((SARA, ALI))}


def cells(path: Path) -> dict[str, tuple[str, str]]:
    wb = openpyxl.load_workbook(path, keep_vba=True)
    out = {}
    for name, dn in wb.defined_names.items():
        dest = list(dn.destinations)
        if len(dest) == 1:
            out[name] = (dest[0][0], dest[0][1].replace("$", ""))
    return out


def fill(path: Path, entries: Mapping[str, object]) -> None:
    where = cells(path)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    for name, value in entries.items():
        sheet, ref = where[name]
        wb[sheet][ref].value = value
    wb.save(path)


def cell(path: Path, name: str) -> Any:
    sheet, ref = cells(path)[name]
    return openpyxl.load_workbook(path)[sheet][ref].value


def listed(path: Path, sheet: str) -> list[list[object]]:
    ws = openpyxl.load_workbook(path)[sheet]
    width = len(vba.LIST_COLUMNS[sheet])
    return [
        list(r)
        for r in ws.iter_rows(min_row=vba.LIST_FIRST_ROW, max_col=width, values_only=True)
        if any(v is not None for v in r)
    ]


def press(
    panel: Path,
    func: str,
    entries: Mapping[str, object] | None = None,
    *,
    sheet: str = vba.PANEL_SHEET,
    selection: str | None = None,
) -> str:
    """Type ``entries``, press ``func`` on ``sheet``; Excel applies what the button wrote."""
    import xlwings as xw

    if entries:
        fill(panel, entries)
    book = xw.Book(json=remote.book_json_from_file(panel, sheet, selection))
    text = str(getattr(buttons, func)(book))
    remote.apply_actions(panel, book.json()["actions"])
    assert vba.check_xlsm(panel) == []
    assert cell(panel, vba.STATUS_NAMES[sheet]) == text  # answered on the pressing sheet
    return text


def rows(ws: Workspace, table: str) -> list[dict[str, object]]:
    return [r for _, r in FormBook.open(ws.register_path).read_table(table)]


def new_customer(name: str, mobile: str) -> dict[str, object]:
    return {
        "in_name": name,
        "in_person_type": "حقیقی",
        "in_mobile": mobile,
        "in_channel": "تلفن",
        "in_need": "پمپ سانتریفیوژ",
    }


def followup(days: int = 2) -> dict[str, object]:
    due = (datetime.now() + timedelta(days=days)).replace(second=0, microsecond=0)
    return {
        "in_followup_type": "تماس تلفنی",
        "in_note": "تماس؛ کاتالوگ ارسال شد",
        "in_next_action": "ارسال پیش‌فاکتور",
        "in_next_due": due,
    }


def register(panel: Path, name: str, mobile: str) -> str:
    text = press(panel, "register_customer", new_customer(name, mobile))
    assert text.startswith("✔"), text
    return str(cell(panel, "in_customer"))


# --- acceptance 1: two experts, two panels, one workspace ---------------------------------------


def test_two_panels_alternately_numbers_serial_and_lists_their_own(
    ws: Workspace, panels: dict[str, Path]
) -> None:
    sara, ali = panels[SARA], panels[ALI]
    numbers = []
    for i in range(2):
        numbers.append(register(sara, f"مشتری سارا {i}", f"0912000000{i}"))
        numbers.append(register(ali, f"مشتری علی {i}", f"0935000000{i}"))
    assert [r["customer_no"] for r in rows(ws, CUSTOMERS.name)] == numbers
    assert len(set(numbers)) == 4
    serials = [int(str(n).rsplit("-", 1)[1]) for n in numbers]
    assert serials == list(range(serials[0], serials[0] + 4))
    experts = {r["customer_no"]: r["expert"] for r in rows(ws, CUSTOMERS.name)}
    assert [experts[n] for n in numbers] == [SARA, ALI, SARA, ALI]  # the panel's expert
    # Each press refreshed the pressing panel's lists from the workspace: only its expert's.
    assert [r[0] for r in listed(sara, vba.MY_CUSTOMERS_SHEET)] == numbers[0::2]
    assert [r[0] for r in listed(ali, vba.MY_CUSTOMERS_SHEET)] == numbers[1::2]
    assert {r[0] for r in listed(sara, vba.TASKS_SHEET)} == set(numbers[0::2])
    # A follow-up from Sara's panel: her task list is current after the press.
    before = {r[0]: r[3] for r in listed(sara, vba.TASKS_SHEET)}
    assert press(sara, "log_followup", {"in_customer": numbers[0], **followup()}).startswith("✔")
    after = {r[0]: r[3] for r in listed(sara, vba.TASKS_SHEET)}
    assert set(after) == set(numbers[0::2]) and after[numbers[0]] != before[numbers[0]]
    assert numbers[1] not in after


def test_two_panels_pressed_concurrently_in_real_processes(
    ws: Workspace, panels: dict[str, Path], tmp_path: Path
) -> None:
    """Four processes (two per panel) register customers at once: numbers unique and serial."""
    script = tmp_path / "press.py"
    script.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        "import xlwings_remote as remote\n"
        "from crm_xl.excel import buttons\n"
        "panel, name, count, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]\n"
        "remote.ensure_remote_engine()\n"
        "out = []\n"
        "for i in range(count):\n"
        "    entries = dict(in_name=f'{name} {i}', in_person_type='حقیقی', in_channel='تلفن',\n"
        "                   in_need='پمپ', in_mobile=f'09{tag}{i:07d}')\n"
        "    out.append(buttons.register_customer(remote.open_with_entries(panel, entries)))\n"
        "print(json.dumps(out))\n",
        encoding="utf-8",
    )
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}
    procs = []
    for k, (expert, panel) in enumerate([*panels.items(), *panels.items()]):
        copy = tmp_path / f"copy-{k}.xlsm"  # each process its own Excel window on that panel
        shutil.copy(panel, copy)
        args = [sys.executable, str(script), str(copy), f"{expert} {k}", "3", f"1{k}"]
        procs.append(subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True))
    outputs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert all(t.startswith("✔") for out in outputs for t in out), outputs
    numbers = [str(r["customer_no"]) for r in rows(ws, CUSTOMERS.name)]
    assert len(numbers) == 12 and len(set(numbers)) == 12
    serials = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert serials == list(range(serials[0], serials[0] + 12))
    for no in numbers:  # a folder and a form for every number
        folder = find_customer_folder(ws.customers_dir, no)
        assert folder is not None and (folder / customer_form_name(no)).is_file()
    # Refresh each panel: its lists show exactly its expert's six customers.
    for expert, panel in panels.items():
        assert press(panel, "refresh_overdue").startswith("✔")
        mine = {str(r["customer_no"]) for r in rows(ws, CUSTOMERS.name) if r["expert"] == expert}
        assert len(mine) == 6
        assert {r[0] for r in listed(panel, vba.MY_CUSTOMERS_SHEET)} == mine
        assert {r[0] for r in listed(panel, vba.TASKS_SHEET)} == mine


# --- acceptance 2: the selected row of the sheet holding the button -----------------------------


@pytest.mark.parametrize("sheet", [vba.MY_CUSTOMERS_SHEET, vba.TASKS_SHEET])
def test_button_on_a_list_sheet_acts_on_the_selected_row(
    ws: Workspace, panels: dict[str, Path], sheet: str
) -> None:
    sara = panels[SARA]
    first = register(sara, "مشتری اول", "09120000001")
    second = register(sara, "مشتری دوم", "09120000002")
    fill(sara, {"in_customer": first, **followup()})  # the typed number must not win
    row = next(i for i, r in enumerate(listed(sara, sheet), vba.LIST_FIRST_ROW) if r[0] == second)
    text = press(sara, "log_followup", sheet=sheet, selection=f"B{row}")
    assert text.startswith("✔") and second in text, text
    form = FormBook.open(
        find_customer_folder(ws.customers_dir, second) / customer_form_name(second)
    )  # type: ignore[operator]
    assert len(form.read_table(FOLLOWUPS.name)) == 1
    other = FormBook.open(find_customer_folder(ws.customers_dir, first) / customer_form_name(first))  # type: ignore[operator]
    assert other.read_table(FOLLOWUPS.name) == []
    # No row selected on the list: a clear request, nothing written.
    text = press(sara, "log_followup", followup(), sheet=sheet, selection="B2")
    assert text.startswith("✖") and "select a row" in text


def test_panel_button_ignores_a_selection_on_another_sheet(
    ws: Workspace, panels: dict[str, Path]
) -> None:
    """Review §D2: the payload's active sheet is the button's; the panel button reads its cell."""
    sara = panels[SARA]
    first = register(sara, "مشتری اول", "09120000001")
    register(sara, "مشتری دوم", "09120000002")
    text = press(sara, "log_followup", {"in_customer": first, **followup()}, selection="B7")
    assert text.startswith("✔") and first in text, text


# --- entry points beyond the CLI's plain add ------------------------------------------------------


def test_duplicate_looking_customer_registered_anyway(
    ws: Workspace, panels: dict[str, Path]
) -> None:
    sara = panels[SARA]
    register(sara, "شرکت پمپ نوین", "09121234567")
    text = press(sara, "register_customer", new_customer("شرکت پمپ نوین", "09121234567"))
    assert text.startswith("✖") and len(rows(ws, CUSTOMERS.name)) == 1
    assert cell(sara, "in_name") == "شرکت پمپ نوین"  # kept for the explicit second press
    text = press(sara, "register_customer_anyway")
    assert text.startswith("✔"), text
    assert len(rows(ws, CUSTOMERS.name)) == 2


def test_cancel_needs_a_reason_void_a_number(ws: Workspace, panels: dict[str, Path]) -> None:
    sara = panels[SARA]
    no = register(sara, "مشتری", "09120000001")
    text = press(sara, "open_case", {"in_customer": no, "in_national_id": CODE})
    assert text.startswith("✔"), text
    case_no = str(cell(sara, "in_case"))
    text = press(sara, "cancel_case")
    assert text.startswith("✖") and "reason" in text
    assert press(sara, "cancel_case", {"in_reason": "مشتری منصرف شد"}).startswith("✔")
    text = press(sara, "void_number")
    assert text.startswith("✖") and "number to void" in text
    assert press(sara, "void_number", {"in_void_no": case_no}).startswith("✔")
    assert cell(sara, "in_void_no") is None  # sent, so cleared


def test_rebuild_keeps_what_the_expert_typed(ws: Workspace, panels: dict[str, Path]) -> None:
    sara = panels[SARA]
    fill(sara, {"in_name": "نیمه‌کاره", "in_note": "یادداشت"})
    build(ws, SARA, sara)
    assert cell(sara, "in_name") == "نیمه‌کاره" and cell(sara, "in_note") == "یادداشت"
    assert cell(sara, "in_expert") == SARA


# --- acceptance 5: owner files ------------------------------------------------------------------


def _excel_owner(path: Path, who: str) -> None:
    """An Excel owner file ``~$name`` naming ``who`` (ANSI copy, then UTF-16 at offset 55)."""
    name16 = who.encode("utf-16-le")
    data = bytes([len(who)]) + b"?" * len(who)
    data = data.ljust(54, b" ") + b" " + len(who).to_bytes(2, "little") + name16
    path.with_name("~$" + path.name).write_bytes(data.ljust(165, b" "))


def test_register_open_in_excel_refuses_the_press_naming_the_holder(
    ws: Workspace, panels: dict[str, Path]
) -> None:
    assert ws.register_path.name == "F-31-08-02.xlsx"
    sara = panels[SARA]
    _excel_owner(ws.register_path, "مریم کاظمی")
    before = ws.register_path.read_bytes()
    text = press(sara, "register_customer", new_customer("مشتری", "09120000001"))
    assert text.startswith("✖") and "مریم کاظمی" in text and "F-31-08-02.xlsx" in text, text
    assert ws.register_path.read_bytes() == before
    assert list(ws.customers_dir.iterdir()) == []


def test_close_refused_while_a_file_in_the_folder_is_open(
    ws: Workspace, panels: dict[str, Path]
) -> None:
    """Review §D4: an open PDF (LibreOffice's lock file) stops the close before any write."""
    sara = panels[SARA]
    no = register(sara, "مشتری", "09120000001")
    assert press(sara, "open_case", {"in_customer": no, "in_national_id": CODE}).startswith("✔")
    assert press(sara, "issue_contract", {"in_amount": 900_000_000}).startswith("✔")
    assert press(sara, "issue_invoice", {"in_amount": 900_000_000}).startswith("✔")
    assert press(sara, "mark_crm_done", {"in_customer": no}).startswith("✔")
    folder = find_customer_folder(ws.customers_dir, no)
    assert folder is not None
    (folder / "quote.pdf").write_bytes(b"%PDF-1.4\n")
    (folder / ".~lock.quote.pdf#").write_text("رضا,reza,pc1,23.11.2026 10:00,;", "utf-8")
    before = ws.register_path.read_bytes()
    text = press(sara, "close_and_archive", {"in_customer": no})
    assert text.startswith("✖") and "quote.pdf" in text and "رضا" in text, text
    assert ws.register_path.read_bytes() == before
    assert find_customer_folder(ws.customers_dir, no) == folder
    assert list(ws.archive_dir.iterdir()) == []
    res = CliRunner().invoke(main, ["-w", str(ws.root), "customer", "close", no])
    assert res.exit_code != 0 and "quote.pdf" in res.output  # the CLI takes the same path
    (folder / ".~lock.quote.pdf#").unlink()
    assert press(sara, "close_and_archive", {"in_customer": no}).startswith("✔")
    assert find_customer_folder(ws.archive_dir, no) is not None


def test_pressed_outside_excel_is_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        buttons.register_customer()
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "پنل از اکسل پیدا نشد" in err and "could not be reached from Excel" in err
    assert "Traceback" not in err


def test_unknown_expert_is_refused(ws: Workspace, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main,
        ["-w", str(ws.root), "excel", "panel", "--expert", "ناشناس", "--out", str(tmp_path / "p.xlsm")],
    )  # fmt: skip
    assert res.exit_code == 1 and "ناشناس" in res.output and SARA in res.output
    assert "Traceback" not in res.output


# --- the macro register retires --------------------------------------------------------------


def _as_macro_register(xlsx: Path, xlsm: Path) -> None:
    """An old-style F-31-08-02.xlsm: the same sheets, macro-enabled, with a VBA project."""
    import zipfile

    bin_path = vba.build_vba_project(xlsm.with_suffix(".bin"))
    with zipfile.ZipFile(xlsx) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    types = parts["[Content_Types].xml"].decode()
    types = types.replace(vba.CT_XLSX_MAIN, vba.CT_MACRO_MAIN).replace(
        "</Types>", f'<Override PartName="/xl/vbaProject.bin" ContentType="{vba.CT_VBA}"/></Types>'
    )
    parts["[Content_Types].xml"] = types.encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    rels = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdVba" Type="{vba.REL_VBA}" Target="vbaProject.bin"/></Relationships>',
    )
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    parts["xl/vbaProject.bin"] = bin_path.read_bytes()
    bin_path.unlink()
    with zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_upgrade_converts_a_macro_register_to_xlsx_keeping_its_rows(
    ws: Workspace, panels: dict[str, Path]
) -> None:
    sara = panels[SARA]
    numbers = [register(sara, f"مشتری {i}", f"0912000000{i}") for i in range(2)]
    before = rows(ws, CUSTOMERS.name)
    xlsx = ws.register_path
    xlsm = xlsx.with_suffix(".xlsm")
    _as_macro_register(xlsx, xlsm)
    xlsx.unlink()
    res = CliRunner().invoke(main, ["-w", str(ws.root), "upgrade", "--json"])
    assert res.exit_code == 0, res.output
    assert not xlsm.exists() and xlsx.is_file()
    assert Workspace.open(ws.root).register_path == xlsx
    assert rows(ws, CUSTOMERS.name) == before
    (backup,) = ws.backups_dir.glob("F-31-08-02.macro-register*.xlsm")
    assert openpyxl.load_workbook(backup, keep_vba=True).vba_archive is not None  # kept whole
    third = register(sara, "مشتری سوم", "09120000009")  # the panel works on the .xlsx
    assert [r["customer_no"] for r in rows(ws, CUSTOMERS.name)] == [*numbers, third]
