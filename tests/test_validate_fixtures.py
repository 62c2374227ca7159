"""A real workspace made with the store, then broken on purpose (shared by test_validate_*)."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers_workspace import set_block, set_cells

from crm_xl.domain import decide, schema
from crm_xl.domain.ids import make_national_code
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store

EXPERT = "علی رضایی"
R = schema.FIRST_DATA_ROW  # first customer row (C-00001)

PEOPLE = [
    ("رضا احمدی", "حقیقی", make_national_code("001234567"), "09121234567"),
    ("شرکت پارس", "حقوقی", "", "09121234568"),
    ("مریم کریمی", "حقیقی", make_national_code("001234568"), "09121234569"),
    ("سارا موسوی", "حقیقی", "", "09121234570"),
    ("حسین رضایی", "حقیقی", "", "09121234571"),
    ("علی نوری", "حقیقی", "", "09121234572"),
]


def clean_workspace(root: Path) -> Workspace:
    ws = init_workspace(root, experts=[EXPERT])
    for name, ptype, code, mobile in PEOPLE:
        store.add_customer(
            ws,
            decide.NewCustomer(
                name=name, person_type=ptype, channel="تلفن", expert=EXPERT, need="پمپ",
                national_code=code, mobile=mobile,
            ),
        )  # fmt: skip
    store.open_case(ws, "C-00001")  # P-00001
    store.add_contract(ws, "P-00001", amount=1000)
    store.issue_invoice(ws, "P-00001", amount=1000)
    store.open_case(ws, "C-00003")  # P-00002
    store.crm_done(ws, "C-00003")
    store.close_customer(ws, "C-00003")
    store.close_customer(ws, "C-00004", lost=True)  # closed without CRM, but lost: fine
    return ws


def _form_of(ws: Workspace, no: str) -> Path:
    return next(ws.root.glob(f"*/{no} - */F-31-08-01 {no}.xlsx"))


#: The layout the schema gives a fresh register and customer form: cells found by field key.
_REGISTER = FormBook.new(schema.F_31_08_02)
_FORM = FormBook.new(schema.F_31_08_01)


def at(table: schema.Table, row: int, key: str) -> str:
    """The A1 cell of field ``key`` in row ``row`` of a register table."""
    return _REGISTER.cell_ref(table.name, row, key)


CU, CA, IN = schema.CUSTOMERS, schema.CASES, schema.INVOICES


def break_workspace(ws: Workspace) -> None:
    reg = ws.register_path
    set_cells(reg, CU, R, {"national_id": "0012345678"})  # C-00001: wrong check digit
    set_cells(reg, CU, R + 4, {"name": "حسين رضايي"})  # C-00005: Arabic ي
    set_cells(reg, CU, R + 2, {"crm_done": None})  # C-00003: closed (not lost), CRM date cleared
    set_cells(reg, CU, R + 3, {"first_contact": "۱۴۰۳/۰۷/۱۵ ۱۰:۳۰"})  # C-00004: Jalali text: fine
    set_cells(reg, CU, R + 5, {"last_followup": "1404/12/30"})  # C-00006: 1404 is not a leap year
    set_cells(reg, CU, R + 5, {"need": "خرید ۱۰ دستگاه 2"})  # C-00006: mixed digits
    set_cells(reg, CA, R + 1, {"case_no": "P-00001"})  # P-00002 renumbered as P-00001: duplicate
    set_cells(reg, IN, R, {"case_no": "P-00077"})  # invoice whose case does not exist
    shutil.rmtree(next(ws.customers_dir.glob("C-00002 - *")))  # missing folder
    (ws.customers_dir / "C-00099 - ناشناس").mkdir()  # orphan folder
    # C-00006: the name in the form differs from the register
    set_block(_form_of(ws, "C-00006"), schema.REGISTRATION, {"last_name": "نوری‌زاده"})


#: (code, sheet, cell) of every finding the broken workspace must give, and nothing else.
REG, CASES, INV = schema.CUSTOMERS.sheet, schema.CASES.sheet, schema.INVOICES.sheet
EXPECTED = sorted(
    [
        ("identifier-error", REG, at(CU, R, "national_id")),
        ("arabic-letters", REG, at(CU, R + 4, "name")),
        ("cross-field-error", REG, at(CU, R + 2, "crm_done")),
        ("date-error", REG, at(CU, R + 5, "last_followup")),
        ("mixed-digits", REG, at(CU, R + 5, "need")),
        ("unique-error", CASES, at(CA, R + 1, "case_no")),
        ("cross-field-error", INV, at(IN, R, "case_no")),
        ("missing-folder", REG, at(CU, R + 1, "folder")),
        ("orphan-folder", None, None),
        # C-00099's folder is evidence of an issued number (SPEC §4): the counter (6) is
        # behind it and C-00007…C-00098 were never issued.
        ("counter-behind", "_counters", "C6"),
        ("number-gap", REG, None),
        # P-00002 was issued (change log, counter) but its row now says P-00001.
        ("number-no-row", CASES, None),
        # reported on the name's first line (first name), where the form's name starts
        (
            "form-mismatch",
            schema.REGISTRATION.sheet,
            _FORM.block_cell(schema.REGISTRATION.name, "first_name"),
        ),
    ],
    key=str,
)
