"""One rule set (review §B3): what a write refuses, validate reports as an error, and back.

Each test drives a real workspace through the Python API and the CLI: the write is refused
with a bilingual message naming the field, every workspace file stays byte-identical, and the
same record made by hand (the state the old code wrote) is an error in ``validate`` on the
same field. A workspace made only through writes validates with no error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain import decide, ids
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.schema import (
    BLOCK_KEY_COL,
    BLOCK_VALUE_COL,
    CASES,
    CUSTOMERS,
    FIRST_DATA_ROW,
    FOLLOWUPS,
    INVOICES,
    KEY_ROW,
    REGISTRATION,
    Table,
)
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store
from crm_xl.ops.products import add_product, build_profile
from crm_xl.validation import validate_paths

NOW = datetime(2025, 10, 8, 10, 0, tzinfo=TEHRAN)  # 1404/07/16
EXPERT = "سارا احمدی"
CODE = ids.make_national_code("001234567")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[EXPERT])


def add(ws: Workspace, name: str = "علی محمدی", **kw: Any) -> str:
    fields: dict[str, Any] = {
        "name": name,
        "person_type": "natural",
        "channel": "phone",
        "expert": EXPERT,
        "need": "پمپ",
        "at": "1404/07/10 09:00",
        **kw,
    }
    return str(store.add_customer(ws, decide.NewCustomer(**fields), now=NOW).result["customer_no"])


def sold(ws: Workspace) -> tuple[str, str]:
    """A customer with an open case (opened 1404/07/12)."""
    no = add(ws, national_code=CODE)
    case = store.open_case(ws, no, at="1404/07/12 10:00", now=NOW).result["case_no"]
    return no, str(case)


def files(ws: Workspace) -> dict[str, str]:
    return {
        str(p.relative_to(ws.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(ws.root.rglob("*"))
        if p.is_file() and "locks" not in p.parts and not p.name.startswith("lock")
    }


def refused(ws: Workspace, write: Callable[[], object], field: str | None) -> InputError:
    """``write`` is refused naming ``field`` in both languages, and nothing on disk changes."""
    before = files(ws)
    with pytest.raises(InputError) as err:
        write()
    assert err.value.location.field == field, err.value.as_dict()
    assert err.value.fa and err.value.en and err.value.fa != err.value.en
    assert files(ws) == before
    return err.value


def errors(ws: Workspace) -> set[tuple[str, str | None]]:
    report = validate_paths([ws.root])
    return {(f.code, f.field) for f in report.findings if f.severity == "error"}


def cli(ws: Workspace, *args: str) -> Any:
    return CliRunner().invoke(main, ["-w", str(ws.root), *args])


# --- editing records as a person (or the old code) would ------------------------------------


def set_cell(path: Path, table: Table, key_field: str, key: str, values: dict[str, Any]) -> None:
    """Set cells of the row of ``table`` whose ``key_field`` is ``key``, found by schema keys."""
    wb = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    sheet = wb[table.sheet]
    cols = {c.value: c.column for c in sheet[KEY_ROW] if isinstance(c.value, str)}
    row = next(
        r
        for r in range(FIRST_DATA_ROW, sheet.max_row + 1)
        if str(sheet.cell(r, cols[key_field]).value) == key
    )
    for k, v in values.items():
        sheet.cell(row, cols[k]).value = v
    wb.save(path)


def set_block(path: Path, values: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(path)
    sheet = wb[REGISTRATION.sheet]
    for r in range(1, sheet.max_row + 1):
        key = sheet.cell(r, BLOCK_KEY_COL).value
        if key in values:
            sheet.cell(r, BLOCK_VALUE_COL).value = values[key]
    wb.save(path)


def form_of(ws: Workspace, no: str) -> Path:
    path = store.find_customer_form(ws, no, archived=True)
    assert path is not None
    return path


# --- required fields ----------------------------------------------------------------------------


def test_need_is_required_at_registration(ws: Workspace) -> None:
    err = refused(ws, lambda: add(ws, need=""), "need")
    assert "نیاز مشتری" in err.fa and "Customer need" in err.en
    res = cli(ws, "customer", "add", "--name", "x y", "--type", "natural", "--channel", "phone",
              "--expert", EXPERT)  # fmt: skip
    assert res.exit_code == 1 and "Customer need" in res.output and "Traceback" not in res.output
    # validate: the same rule on a form whose need was cleared
    no = add(ws)
    assert errors(ws) == set()
    set_block(form_of(ws, no), {"need": None})
    assert ("required-error", "need") in errors(ws)


def test_winning_needs_the_buyers_national_code(ws: Workspace) -> None:
    no = add(ws)
    err = refused(ws, lambda: store.open_case(ws, no, now=NOW), "national_id")
    assert "--national-code" in err.en and "کد ملی" in err.fa
    res = cli(ws, "case", "open", no)
    assert res.exit_code == 1 and "required (from stage won)" in res.output
    refused(ws, lambda: store.open_case(ws, no, national_id="1234567890", now=NOW), "national_code")
    # Given with the case, it lands in the register and the form.
    res = cli(ws, "case", "open", no, "--national-code", CODE)
    assert res.exit_code == 0, res.output
    reg = store.load_register(ws)
    assert reg.customer(no)["national_id"] == CODE
    from crm_xl.io.workbook import FormBook

    assert FormBook.open(form_of(ws, no)).read_block(REGISTRATION.name)["national_code"] == CODE
    assert errors(ws) == set()
    # validate: a won customer without it (what the old case open wrote) is an error
    set_cell(ws.register_path, CUSTOMERS, "customer_no", no, {"national_id": None})
    set_block(form_of(ws, no), {"national_code": None})
    assert {("required-error", "national_id"), ("required-error", "national_code")} <= errors(ws)


def test_unknown_registration_fields_are_refused_not_dropped(ws: Workspace) -> None:
    refused(ws, lambda: add(ws, extra={"nick_name": "x"}), "nick_name")
    add(ws, extra={"email": "Ali@Example.IR", "postal_code": "۱۳۱۵۷-۶۳۴۱۱"})
    assert errors(ws) == set()


def test_a_legal_buyer_gives_its_legal_id(ws: Workspace) -> None:
    no = add(ws, "شرکت پارس", person_type="legal")
    refused(ws, lambda: store.open_case(ws, no, national_id=CODE, now=NOW), "legal_id")
    legal = ids.make_legal_id("1010030274")
    store.open_case(ws, no, national_id=legal, now=NOW)
    assert store.load_register(ws).customer(no)["national_id"] == legal
    assert errors(ws) == set()


# --- bounds -------------------------------------------------------------------------------------


def test_minutes_are_not_negative(ws: Workspace) -> None:
    no = add(ws)

    def followup(minutes: object) -> object:
        inp = decide.NewFollowUp(no, "phone", "تماس", at="1404/07/11 10:00", minutes=minutes)
        return store.add_followup(ws, inp, now=NOW)

    refused(ws, lambda: followup(-5), "minutes")
    refused(ws, lambda: followup("ده"), "minutes")
    res = cli(ws, "followup", "add", no, "--type", "phone", "--note", "x", "--minutes", "-5")
    assert res.exit_code == 1 and "at least 0" in res.output
    followup("۱۵")  # Persian digits are a number
    assert errors(ws) == set()
    wb = openpyxl.load_workbook(form_of(ws, no))
    sheet = wb[FOLLOWUPS.sheet]
    col = next(c.column for c in sheet[KEY_ROW] if c.value == "minutes")
    assert sheet.cell(FIRST_DATA_ROW, col).value == 15
    sheet.cell(FIRST_DATA_ROW, col).value = -5
    wb.save(form_of(ws, no))
    assert ("constraint-error", "minutes") in errors(ws)


def test_amounts_are_whole_positive_rials(ws: Workspace) -> None:
    _, case = sold(ws)
    for bad in ("0", "-5", "12.5", "دوازده"):
        refused(ws, lambda bad=bad: store.add_contract(ws, case, amount=bad, now=NOW), "amount")
        refused(ws, lambda bad=bad: store.issue_invoice(ws, case, amount=bad, now=NOW), "amount")
    store.issue_invoice(ws, case, amount="۱٬۲۰۰", now=NOW)
    assert store.load_register(ws).invoices["1404-000001"]["amount"] == 1200
    assert errors(ws) == set()
    set_cell(ws.register_path, INVOICES, "invoice_no", "1404-000001", {"amount": 0})
    assert ("constraint-error", "amount") in errors(ws)


# --- temporal order -----------------------------------------------------------------------------


def test_contract_and_invoice_not_before_their_case(ws: Workspace) -> None:
    _, case = sold(ws)  # opened 1404/07/12
    refused(ws, lambda: store.add_contract(ws, case, at="1404/07/11", now=NOW), "contract_date")
    refused(ws, lambda: store.issue_invoice(ws, case, at="1404/07/11", now=NOW), "issued")
    res = cli(ws, "contract", "add", case, "--at", "1390/01/01", "--force")  # past the window
    assert res.exit_code == 1 and "before the case was opened" in res.output
    store.add_contract(ws, case, at="1404/07/12", now=NOW)  # the same day is fine
    store.issue_invoice(ws, case, amount=10, at="1404/07/12 08:00", now=NOW)
    assert errors(ws) == set()
    set_cell(ws.register_path, CASES, "case_no", case, {"contract_date": "1404/07/01"})
    set_cell(ws.register_path, INVOICES, "invoice_no", "1404-000001", {"issued": "1404/07/01"})
    assert {("cross-field-error", "contract_date"), ("cross-field-error", "issued")} <= errors(ws)


def test_close_not_before_crm_done(ws: Workspace) -> None:
    no, _ = sold(ws)
    store.crm_done(ws, no, at="1404/07/14", now=NOW)
    refused(ws, lambda: store.close_customer(ws, no, at="1404/07/13", now=NOW), "closed")
    store.close_customer(ws, no, at="1404/07/14", now=NOW)
    assert errors(ws) == set()
    set_cell(ws.register_path, CUSTOMERS, "customer_no", no, {"closed": "1404/07/13"})
    assert ("cross-field-error", "closed") in errors(ws)


def test_followup_not_before_first_contact_and_due_after_it(ws: Workspace) -> None:
    no = add(ws)  # first contact 1404/07/10 09:00

    def followup(**kw: Any) -> object:
        args = {"at": "1404/07/11 10:00", **kw}
        return store.add_followup(ws, decide.NewFollowUp(no, "phone", "تماس", **args), now=NOW)

    refused(ws, lambda: followup(at="1404/07/09 10:00"), "at")
    refused(ws, lambda: followup(next_due="1404/07/11 10:00"), "next_due")  # not after it
    refused(ws, lambda: followup(next_action="پیش‌فاکتور"), "next_due")  # planned, no due date
    followup(next_action="پیش‌فاکتور", next_due="1404/07/12 10:00")
    assert errors(ws) == set()
    wb = openpyxl.load_workbook(form_of(ws, no))
    sheet = wb[FOLLOWUPS.sheet]
    cols = {c.value: c.column for c in sheet[KEY_ROW] if isinstance(c.value, str)}
    sheet.cell(FIRST_DATA_ROW, cols["next_due"]).value = None  # the action loses its due date
    wb.save(form_of(ws, no))
    assert ("required-error", "next_due") in errors(ws)


# --- references and void numbers ----------------------------------------------------------------


def test_products_must_be_in_the_catalog_once_it_has_products(ws: Workspace) -> None:
    no = add(ws, national_code=CODE)
    store.open_case(ws, no, products=["ANY-1"], now=NOW)  # no catalog yet: the code is kept
    profile = build_profile(
        code="PUMP-01", name="پمپ", origin="domestic", no_service=True, reason="simplicity"
    )
    add_product(ws, profile)
    err = refused(ws, lambda: store.open_case(ws, no, products=["PUMP-1"], now=NOW), "products")
    assert "PUMP-1" in err.en and "crm-xl product add" in err.en
    case = store.open_case(ws, no, products=["pump-01"], now=NOW).result["case_no"]
    assert store.load_register(ws).case(case)["products"] == "pump-01"


def test_operations_on_void_numbers_are_refused(ws: Workspace) -> None:
    no, case = sold(ws)
    inv = store.issue_invoice(ws, case, amount=100, now=NOW).result["invoice_no"]
    # Nothing live may be left pointing at a void number.
    assert refused(ws, lambda: store.void_number(ws, no, now=NOW), None).code == "void-refused"
    assert refused(ws, lambda: store.void_number(ws, case, now=NOW), None).code == "void-refused"
    store.void_number(ws, inv, reason="اشتباه", now=NOW)
    row = store.load_register(ws).case(case)
    assert not row.get("invoice_nos") and row["status"] == "باز"  # the void invoice left the case
    store.void_number(ws, case, now=NOW)
    for write in (
        lambda: store.issue_invoice(ws, case, amount=1, now=NOW),
        lambda: store.add_contract(ws, case, now=NOW),
        lambda: store.cancel_case(ws, case, reason="x", now=NOW),
    ):
        err = refused(ws, write, "record_status")
        assert err.code == "void-number" and "void" in err.en and "باطل" in err.fa
    store.void_number(ws, no, now=NOW)
    for write in (
        lambda: store.add_followup(ws, decide.NewFollowUp(no, "phone", "x"), now=NOW),
        lambda: store.open_case(ws, no, now=NOW),
        lambda: store.crm_done(ws, no, now=NOW),
        lambda: store.close_customer(ws, no, lost=True, now=NOW),
        lambda: store.reopen_customer(ws, no, reason="x", now=NOW),
    ):
        assert refused(ws, write, "record_status").code == "void-number"
    res = cli(ws, "case", "open", no)
    assert res.exit_code == 1 and "void" in res.output
    with pytest.raises(CrmError, match="not in the register"):
        store.void_number(ws, "", now=NOW)
    assert errors(ws) == set()
    # validate: a live case of a void customer (a hand edit) is an error
    set_cell(ws.register_path, CASES, "case_no", case, {"record_status": "فعال"})
    assert ("cross-field-error", "customer_no") in errors(ws)


def test_a_voided_contract_makes_room_for_a_new_one(ws: Workspace) -> None:
    _, case = sold(ws)
    first = store.add_contract(ws, case, now=NOW).result["contract_no"]
    store.void_number(ws, first, now=NOW)
    with pytest.raises(InputError, match="already void"):
        store.void_number(ws, first, now=NOW)
    second = store.add_contract(ws, case, now=NOW).result["contract_no"]
    assert second != first
    assert store.load_register(ws).case(case)["contract_no"] == second
    assert errors(ws) == set()


def test_numbers_typed_with_persian_digits_or_lower_case_are_found(ws: Workspace) -> None:
    no, _ = sold(ws)
    typed = no.lower().translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert store.crm_done(ws, typed, now=NOW).result["customer_no"] == no
