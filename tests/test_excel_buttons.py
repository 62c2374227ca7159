"""The panel's buttons, run on xlwings' remote engine fed from a real macro register.

Each test fills the panel's entry cells in the file (as the salesperson types them), opens the
file as a remote ``xw.Book(json=...)``, presses a button (calls its entry point), plays the
recorded actions back onto the file with ``remote.apply_actions`` and checks the outcome with
FormBook, on disk: register rows, numbers, customer folders and forms, the status cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwings_remote as remote
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain.ids import make_legal_id
from crm_xl.domain.schema import CASES, CUSTOMERS, FOLLOWUPS, INVOICES, LOG
from crm_xl.excel import buttons
from crm_xl.excel.build import build_macro_register
from crm_xl.io import vba
from crm_xl.io.folders import find_customer_folder
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops.products import add_product, build_profile
from crm_xl.ops.store import customer_form_name

EXPERT = "سارا احمدی"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")  # tests only
    remote.ensure_remote_engine()
    w = init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[EXPERT])
    build_macro_register(w)
    monkeypatch.setattr(buttons, "WORKSPACE", w)
    return w


def _cells(path: Path) -> dict[str, tuple[str, str]]:
    wb = openpyxl.load_workbook(path, keep_vba=True)
    out = {}
    for name, dn in wb.defined_names.items():
        dest = list(dn.destinations) if dn.attr_text.startswith("'") else []
        if len(dest) == 1:
            out[name] = (dest[0][0], dest[0][1].replace("$", ""))
    return out


def _fill(path: Path, entries: Mapping[str, object]) -> None:
    cells = _cells(path)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    for name, value in entries.items():
        sheet, ref = cells[name]
        wb[sheet][ref].value = value
    wb.save(path)


def panel(ws: Workspace, name: str) -> Any:
    sheet, ref = _cells(ws.register_path)[name]
    return openpyxl.load_workbook(ws.register_path)[sheet][ref].value


def press(
    ws: Workspace,
    func: str,
    entries: Mapping[str, object] | None = None,
    *,
    sheet: str | None = None,
    selection: str | None = None,
) -> str:
    """Type ``entries``, press the button ``func``; Excel applies what the button wrote."""
    import xlwings as xw

    path = ws.register_path
    if entries:
        _fill(path, entries)
    book = xw.Book(json=remote.book_json_from_file(path, sheet, selection))
    text = getattr(buttons, func)(book)
    actions = book.json()["actions"]
    assert any(a["func"] == "setValues" for a in actions)
    remote.apply_actions(path, actions)
    assert vba.check_xlsm(path) == []
    assert panel(ws, vba.STATUS_NAME) == text
    return str(text)


def rows(ws: Workspace, table: str) -> list[dict[str, object]]:
    return [r for _, r in FormBook.open(ws.register_path).read_table(table)]


NEW = {
    "in_name": "شرکت پمپ نوین",
    "in_person_type": "حقوقی",
    "in_mobile": "09121234567",
    "in_channel": "تلفن",
    "in_expert": EXPERT,
    "in_need": "پمپ سانتریفیوژ",
    "in_national_id": make_legal_id("1010030274"),
}


def _register(ws: Workspace, **extra: object) -> str:
    text = press(ws, "register_customer", {**NEW, **extra})
    assert text.startswith("✔"), text
    return str(panel(ws, "in_customer"))


def test_register_customer_adds_row_folder_and_status(ws: Workspace) -> None:
    first = _register(ws)
    second = _register(ws, in_name="فروشگاه دوم", in_mobile="09351112233", in_national_id=None)
    assert [r["customer_no"] for r in rows(ws, CUSTOMERS.name)] == [first, second]
    row = rows(ws, CUSTOMERS.name)[0]
    assert row["name"] == "شرکت پمپ نوین" and row["mobile"] == "09121234567"
    assert row["person_type"] == "حقوقی" and row["expert"] == EXPERT
    folder = find_customer_folder(ws.customers_dir, first)
    assert folder is not None and (folder / customer_form_name(first)).is_file()
    status = panel(ws, vba.STATUS_NAME)
    assert second in status and "registered" in status
    assert panel(ws, "in_name") is None and panel(ws, "in_mobile") is None  # cleared


def test_followup_from_the_selected_customer_row(ws: Workspace) -> None:
    no = _register(ws)
    _fill(ws.register_path, {"in_customer": None})
    text = press(
        ws,
        "log_followup",
        {
            "in_followup_type": "تماس تلفنی",
            "in_note": "تماس اول، کاتالوگ ارسال شد",
            "in_minutes": 15,
            "in_next_action": "ارسال پیش‌فاکتور",
            "in_next_due": (dt.datetime.now() + dt.timedelta(days=2)).replace(
                second=0, microsecond=0
            ),
        },
        sheet=CUSTOMERS.sheet,
        selection="B6",  # the first data row
    )
    assert text.startswith("✔"), text
    folder = find_customer_folder(ws.customers_dir, no)
    assert folder is not None
    form = FormBook.open(folder / customer_form_name(no))
    (fu,) = [r for _, r in form.read_table(FOLLOWUPS.name)]
    assert fu["description"] == "تماس اول، کاتالوگ ارسال شد" and fu["minutes"] == 15
    assert rows(ws, CUSTOMERS.name)[0]["next_action"] == "ارسال پیش‌فاکتور"
    assert panel(ws, "in_note") is None


def test_case_contract_invoice_numbers(ws: Workspace) -> None:
    no = _register(ws)
    text = press(ws, "open_case", {"in_customer": no, "in_products": "P-100، P-200"})
    case_no = str(panel(ws, "in_case"))
    assert case_no and case_no in text
    text = press(ws, "issue_contract", {"in_amount": 1_500_000_000})
    assert text.startswith("✔"), text
    text = press(ws, "issue_invoice", {"in_amount": 1_500_000_000})
    assert text.startswith("✔"), text
    (case,) = rows(ws, CASES.name)
    assert case["case_no"] == case_no and case["customer_no"] == no
    assert case["contract_no"] and str(case["contract_no"]) in panel_history(ws)
    (inv,) = rows(ws, INVOICES.name)
    assert inv["case_no"] == case_no and str(inv["invoice_no"]) in text
    assert panel(ws, "in_amount") is None


def panel_history(ws: Workspace) -> str:
    return " ".join(str(r.get("numbers") or "") for r in rows(ws, LOG.name))


def _sold(ws: Workspace, product: str = "P-100") -> str:
    no = _register(ws)
    press(ws, "open_case", {"in_customer": no, "in_products": product})
    assert press(ws, "issue_contract", {"in_amount": 900_000_000}).startswith("✔")
    assert press(ws, "issue_invoice", {"in_amount": 900_000_000}).startswith("✔")
    return no


def _product_form(ws: Workspace, code: str = "P-100") -> None:
    add_product(
        ws,
        build_profile(
            code=code, name="پمپ", origin="domestic", no_service=True, reason="simplicity"
        ),
    )


def test_crm_done_button_refuses_like_the_cli_without_the_after_sales_form(ws: Workspace) -> None:
    """Review §B1: the button marked CRM done where ``customer crm-done`` refused."""
    no = _sold(ws)
    tables = (CUSTOMERS.name, CASES.name, INVOICES.name, LOG.name)
    before = {t: rows(ws, t) for t in tables}
    text = press(ws, "mark_crm_done")
    assert text.startswith("✖ خطا:") and "P-100" in text and "crm-xl product add" in text, text
    res = CliRunner().invoke(main, ["-w", str(ws.root), "customer", "crm-done", no])
    assert res.exit_code == 1
    # The same refusal, word for word, from both entrances.
    assert text.splitlines()[0].removeprefix("✖ خطا: ") in res.output
    assert text.splitlines()[1].removeprefix("Error: ") in res.output
    assert {t: rows(ws, t) for t in tables} == before  # neither entrance wrote a record
    _product_form(ws)
    assert press(ws, "mark_crm_done").startswith("✔")
    assert [r["stage"] for r in rows(ws, CUSTOMERS.name)] == ["CRM انجام شد"]


def test_close_refused_before_crm_done_then_archived(ws: Workspace) -> None:
    no = _sold(ws)
    before = rows(ws, CUSTOMERS.name)
    text = press(ws, "close_and_archive")
    assert text.startswith("✖ خطا:") and "\nError: " in text, text
    assert rows(ws, CUSTOMERS.name) == before
    assert find_customer_folder(ws.customers_dir, no) is not None
    _product_form(ws)
    assert press(ws, "mark_crm_done").startswith("✔")
    text = press(ws, "close_and_archive")
    assert text.startswith("✔"), text
    assert find_customer_folder(ws.customers_dir, no) is None
    assert find_customer_folder(ws.archive_dir, no) is not None
    assert panel(ws, "in_customer") is None


def test_missing_customer_number_is_explained(ws: Workspace) -> None:
    text = press(ws, "log_followup", {"in_note": "x"})
    assert "شماره مشتری" in text and "customer number" in text


def test_refresh_validate_and_open_folder(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    no = _register(ws)
    text = press(ws, "refresh_overdue")
    assert text.startswith("✔") and "refreshed" in text, text
    text = press(ws, "validate")
    assert "validation: 0 errors" in text, text
    opened: list[Path] = []
    monkeypatch.setattr(buttons, "OPENER", opened.append)
    text = press(ws, "open_customer_folder", {"in_customer": no})
    assert opened == [find_customer_folder(ws.customers_dir, no)]
    assert text.startswith("✔")


def test_caller_book_is_used_without_an_argument(ws: Workspace) -> None:
    import xlwings as xw

    _fill(ws.register_path, NEW)
    book = xw.Book(json=remote.book_json_from_file(ws.register_path))
    book.set_mock_caller()
    try:
        text = buttons.register_customer()
    finally:
        del xw.Book._mock_caller  # type: ignore[attr-defined]
    assert text.startswith("✔"), text


def test_every_button_has_an_entry_point() -> None:
    for b in vba.BUTTONS:
        assert callable(getattr(buttons, b.func)), b.func
        assert b.func in buttons.__all__
