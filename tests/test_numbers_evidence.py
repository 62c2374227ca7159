"""Numbers come from all the evidence (SPEC §4): no lowered counter, deleted row, blanked
register or cover-up brings a number back, for every kind and pattern token.

Real workspaces: the register is edited with openpyxl the way a person would in Excel.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from crm_xl.domain import decide, ids, schema
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.numbering import (
    Evidence,
    audit_scopes,
    locate,
    split_numbers,
    tax_serial_of,
    year_of_jy2,
)
from crm_xl.domain.settings import NumberRule
from crm_xl.io.folders import folder_number, numbered_folders
from crm_xl.io.layout import build_form
from crm_xl.io.settings_file import load_settings, save_settings
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store

NOW = datetime(2025, 10, 8, 10, 0, tzinfo=TEHRAN)  # 1404/07/16
EXPERT = "سارا احمدی"
MEMORY_ID = "A1B2C3"


# --- helpers shared by the numbering tests ------------------------------------------------------


def make_ws(tmp_path: Path, **settings: object) -> Workspace:
    ws = init_workspace(
        tmp_path / "ws", company="شرکت آزمون", experts=[EXPERT], fiscal_memory_id=MEMORY_ID
    )
    if settings:
        s = load_settings(ws.root)
        for k, v in settings.items():
            setattr(s, k, v)
        save_settings(ws.root, s)
    return Workspace.open(ws.root)


_codes = iter(range(123_456_789, 999_999_999, 7919))


def add(ws: Workspace, name: str) -> str:
    inp = decide.NewCustomer(
        name=name,
        person_type="natural",
        channel="phone",
        expert=EXPERT,
        need="پمپ",
        national_code=ids.make_national_code(f"{next(_codes):09d}"),
    )
    return str(store.add_customer(ws, inp, now=NOW).result["customer_no"])


def sale(ws: Workspace, name: str) -> dict[str, str]:
    """A customer with a case, a contract and an invoice (with its tax id)."""
    no = add(ws, name)
    case = str(store.open_case(ws, no, now=NOW).result["case_no"])
    contract = str(store.add_contract(ws, case, amount=1000, now=NOW).result["contract_no"])
    inv = store.issue_invoice(ws, case, amount=1000, now=NOW).result
    return {
        "customer": no,
        "case": case,
        "contract": contract,
        "invoice": str(inv["invoice_no"]),
        "tax": str(inv["tax_id"]),
    }


def rows(ws: Workspace, table: str) -> list[dict[str, object]]:
    return [r for _, r in FormBook.open(ws.register_path).read_table(table)]


def edit_register(ws: Workspace, change: Callable[[FormBook], None]) -> None:
    """Change the register by hand (openpyxl, as Excel would), columns found by their keys."""
    book = FormBook.open(ws.register_path)
    change(book)
    book.wb.save(ws.register_path)


def set_counter(book: FormBook, kind: str, value: int) -> None:
    cols = book.header_columns(schema.COUNTERS.name)
    sheet = book.sheet(schema.COUNTERS.name)
    for r, v in book.read_table(schema.COUNTERS.name):
        if v["kind"] == kind:
            sheet.cell(r, cols["last"]).value = value


def delete_rows(book: FormBook, table: str, where: Callable[[dict[str, object]], bool]) -> None:
    sheet = book.sheet(table)
    for r, v in reversed(book.read_table(table)):
        if where(v):
            sheet.delete_rows(r)


def mentions(number: str) -> Callable[[dict[str, object]], bool]:
    return lambda v: number in str(v.get("numbers") or "") or number in str(v.get("details") or "")


# --- the pure part ------------------------------------------------------------------------------


def test_jy2_numbers_belong_to_the_nearest_year() -> None:
    rule = NumberRule(pattern="C{jy2}-{seq:4}", yearly_reset=True)
    assert year_of_jy2(5, 1405) == 1405
    assert year_of_jy2(99, 1401) == 1399
    assert year_of_jy2(1, 1499) == 1501
    assert locate(rule, "C05-0007", 1405) == ("1405", 7)
    assert locate(rule, "C04-0002", 1405) == ("1404", 2)
    assert locate(NumberRule(pattern="C-{seq:5}"), "C-00012", 1405) == ("all", 12)
    assert locate(rule, "X05-0007", 1405) is None


def test_log_cells_and_tax_ids_as_evidence() -> None:
    assert list(split_numbers("P-00001, C-00002")) == ["P-00001", "C-00002"]
    assert list(split_numbers("C-00001..C-00050")) == ["C-00001", "C-00050"]
    assert list(split_numbers("۱۴۰۴-۰۰۰۰۰۱")) == ["1404-000001"]
    tax = ids.make_tax_id(MEMORY_ID, NOW, 0x2A)
    assert tax_serial_of(tax) == 42
    assert tax_serial_of(tax[:-1] + "0") == 42  # a damaged check digit still spent its serial
    assert tax_serial_of("short") is None


def test_audit_sees_issued_voided_missing_and_rowless_numbers() -> None:
    rule = NumberRule(pattern="C-{seq:5}")
    other = Evidence()
    other.add("customer", "C-00006")  # a folder or log entry only
    other.mark("customer", "all", 7)  # the seal
    (a,) = audit_scopes(
        {"customer": rule},
        1404,
        {"customer": [("C-00001", False), ("C-00002", True), ("C-00004", False)]},
        other,
        {("customer", "all"): 4},
    )
    assert (a.kind, a.scope, a.counter, a.highest) == ("customer", "all", 4, 7)
    assert a.voided == {2: "C-00002"}
    assert a.missing == [3, 5]
    assert a.without_row == ["C-00006"]


def test_folder_names_give_customer_numbers(tmp_path: Path) -> None:
    assert folder_number("C-00007 - شرکت پارس") == "C-00007"
    assert folder_number("C-00007 (2)") == "C-00007"
    assert folder_number("C-00007 - نام (2)") == "C-00007"
    assert folder_number(".new-C-00008-123") is None
    for name in ("C-00001 - الف", "C-00001 - ب", "C-00002", ".new-C-00003-9"):
        (tmp_path / "customers" / name).mkdir(parents=True)
    (tmp_path / "archive" / "C-00004 - د").mkdir(parents=True)
    (tmp_path / "customers" / "C-00005.txt").write_text("not a folder")
    found = numbered_folders(tmp_path / "customers", tmp_path / "archive")
    assert {k: len(v) for k, v in found.items()} == {"C-00001": 2, "C-00002": 1, "C-00004": 1}


# --- acceptance 6: lowering any counter never brings a number back --------------------------------


def _issue_next(ws: Workspace, kind: str, made: dict[str, str]) -> str:
    if kind == "customer":
        return add(ws, "نفر بعدی")
    if kind == "case":
        return str(store.open_case(ws, made["customer"], now=NOW).result["case_no"])
    if kind == "contract":
        case = str(store.open_case(ws, made["customer"], now=NOW).result["case_no"])
        return str(store.add_contract(ws, case, now=NOW).result["contract_no"])
    res = store.issue_invoice(ws, made["case"], amount=500, now=NOW).result
    return str(res["invoice_no"] if kind == "invoice" else res["tax_id"])


def _seq(kind: str, number: str) -> int:
    if kind == "tax":
        return ids.parse_tax_id(number).serial
    return int(number.rsplit("-", 1)[1])


@pytest.mark.parametrize("kind", ["customer", "case", "contract", "invoice", "tax"])
def test_lowered_counter_never_brings_a_number_back(tmp_path: Path, kind: str) -> None:
    ws = make_ws(tmp_path)
    made = sale(ws, "علی محمدی")
    edit_register(ws, lambda b: set_counter(b, kind, 0))
    again = _issue_next(ws, kind, made)
    assert again != made[kind]
    assert _seq(kind, again) == _seq(kind, made[kind]) + 1


@pytest.mark.parametrize("kind", ["customer", "case", "contract", "invoice", "tax"])
def test_full_cover_up_never_brings_a_number_back(tmp_path: Path, kind: str) -> None:
    """Row, counter and every log row of the number removed: the seal still knows (§A7)."""
    ws = make_ws(tmp_path)
    sale(ws, "رضا کاظمی")
    made = sale(ws, "علی محمدی")
    table, key = {
        "customer": (schema.CUSTOMERS.name, "customer_no"),
        "case": (schema.CASES.name, "case_no"),
        "contract": (schema.CASES.name, "contract_no"),
        "invoice": (schema.INVOICES.name, "invoice_no"),
        "tax": (schema.INVOICES.name, "tax_id"),
    }[kind]

    def cover_up(book: FormBook) -> None:
        delete_rows(book, table, lambda v: v[key] == made[kind])
        set_counter(book, kind, _seq(kind, made[kind]) - 1)
        delete_rows(book, schema.LOG.name, mentions(made[kind]))

    edit_register(ws, cover_up)
    assert made[kind] not in {str(r[key]) for r in rows(ws, table)}
    if kind == "customer":  # its folder alone must be enough: the seal goes too
        (ws.internal_dir / "seal.json").unlink()
    again = _issue_next(ws, kind, made)
    assert _seq(kind, again) == _seq(kind, made[kind]) + 1


def test_jy2_yearly_numbers_are_guarded_by_the_rows(tmp_path: Path) -> None:
    """§A6: pattern C{jy2}-{seq:4} with a yearly reset, counter lowered."""
    numbering = dict(load_settings(init_workspace(tmp_path / "probe").root).numbering)
    numbering["customer"] = NumberRule(pattern="C{jy2}-{seq:4}", yearly_reset=True)
    ws = make_ws(tmp_path, numbering=numbering)
    assert add(ws, "الف") == "C04-0001"
    assert add(ws, "ب") == "C04-0002"
    (ws.internal_dir / "seal.json").unlink()  # the rows alone must guard
    edit_register(ws, lambda b: set_counter(b, "customer", 0))
    assert add(ws, "ج") == "C04-0003"


def test_blanked_register_does_not_reissue(tmp_path: Path) -> None:
    """§A2 (numbers): a blank register in place of the full one; folders and seal remain."""
    ws = make_ws(tmp_path)
    made = sale(ws, "علی محمدی")
    build_form(ws.register_path, schema.F_31_08_02, company="شرکت آزمون")
    assert rows(ws, schema.CUSTOMERS.name) == []
    assert add(ws, "زهرا نوری") == "C-00002"
    assert len(list(ws.customers_dir.glob("C-00001 *"))) == 1  # no second C-00001 folder
    nxt = sale(ws, "حسین جعفری")
    for kind in ("case", "contract", "invoice", "tax"):
        assert _seq(kind, nxt[kind]) == _seq(kind, made[kind]) + 1, kind


def test_archive_registers_are_evidence(tmp_path: Path) -> None:
    """Closed files' rows live in archive/F-31-08-02 <year>.xlsx: their numbers stay used."""
    ws = make_ws(tmp_path)
    archive = ws.archive_dir / "F-31-08-02 1403.xlsx"

    def write_archive(last: int) -> None:
        book = FormBook.new(schema.F_31_08_02)
        book.append_rows(
            schema.CUSTOMERS.name,
            [{"customer_no": f"C-{n:05d}", "name": f"قدیمی {n}"} for n in range(1, last + 1)],
        )
        book.append_rows(schema.CASES.name, [{"case_no": "P-00040", "customer_no": "C-00001"}])
        book.save(archive)

    write_archive(9)
    assert add(ws, "جدید") == "C-00010"
    assert str(store.open_case(ws, "C-00010", now=NOW).result["case_no"]) == "P-00041"
    # the archive register changes (a year's files closed): read again, not the cached marks
    write_archive(15)
    assert add(ws, "جدیدتر") == "C-00016"


def test_evidence_is_one_folder_scan_per_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numbers from all the evidence stay cheap: one scan of customers/ and archive/ per add,
    none for an operation that issues no number."""
    ws = make_ws(tmp_path)
    add(ws, "الف")
    import crm_xl.io.evidence as evidence

    calls: list[tuple[Path, ...]] = []
    real = evidence.numbered_folders

    def counting(*roots: Path) -> dict[str, list[str]]:
        calls.append(roots)
        return real(*roots)

    monkeypatch.setattr(evidence, "numbered_folders", counting)
    add(ws, "ب")
    assert len(calls) == 1
    store.add_followup(
        ws, decide.NewFollowUp(customer_no="C-00001", type="phone", note="تماس"), now=NOW
    )
    assert len(calls) == 1


def test_copied_workspace_keeps_its_numbers(tmp_path: Path) -> None:
    """Evidence paths are relative: a workspace copied elsewhere goes on from its numbers."""
    ws = make_ws(tmp_path)
    add(ws, "الف")
    copy = tmp_path / "copy"
    shutil.copytree(ws.root, copy)
    moved = Workspace.open(copy)
    edit_register(moved, lambda b: set_counter(b, "customer", 0))
    edit_register(moved, lambda b: delete_rows(b, schema.CUSTOMERS.name, lambda v: True))
    assert add(moved, "ب") == "C-00002"


def test_register_snapshot_sees_counters_rows_and_log() -> None:
    from crm_xl.domain.settings import Settings

    logged_tax = json.dumps({"tax_id": ids.make_tax_id(MEMORY_ID, NOW, 11)})
    reg = decide.Register.from_rows(
        Settings(fiscal_memory_id=MEMORY_ID),
        customers=[{"customer_no": "C-00003"}],
        invoices=[{"invoice_no": "1404-000002", "tax_id": ids.make_tax_id(MEMORY_ID, NOW, 5)}],
        counters=[{"kind": "case", "scope": "all", "last": 4}],
        log=[
            {"numbers": "C-00001..C-00008", "details": "{}"},
            {"numbers": "1404-000009,P-00002", "details": logged_tax},
        ],
    )
    assert reg.highest_seen("customer", "all", 1404) == 8
    assert reg.highest_seen("invoice", "1404", 1404) == 9
    assert reg.highest_seen("tax", "all", 1404) == 11
    assert reg.counters[("case", "all")] == 4
    ev = reg.evidence()
    assert ev.marks[("case", "all")] == 4


def test_hand_made_workbook_with_invalid_tax_id_does_not_break_issuing(tmp_path: Path) -> None:
    ws = make_ws(tmp_path)
    made = sale(ws, "علی محمدی")

    def damage(book: FormBook) -> None:
        cols = book.header_columns(schema.INVOICES.name)
        r, _ = book.read_table(schema.INVOICES.name)[0]
        book.sheet(schema.INVOICES.name).cell(r, cols["tax_id"]).value = "garbage"

    edit_register(ws, damage)
    again = _issue_next(ws, "tax", made)
    # the log still recorded the first tax id: its serial stays spent
    assert _seq("tax", again) == _seq("tax", made["tax"]) + 1
