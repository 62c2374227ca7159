"""A real workspace made with the store, then broken on purpose (shared by test_validate_*)."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl

from crm_xl.domain import decide, schema
from crm_xl.domain.ids import make_national_code
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


def break_workspace(ws: Workspace) -> None:
    reg = ws.register_path
    wb = openpyxl.load_workbook(reg)
    cu = wb[schema.CUSTOMERS.sheet]
    cu[f"D{R}"] = "0012345678"  # C-00001: national code with a wrong check digit
    cu[f"B{R + 4}"] = "حسين رضايي"  # C-00005: Arabic ي
    cu[f"T{R + 2}"] = None  # C-00003: closed (not lost) but CRM date cleared
    cu[f"L{R + 3}"] = "۱۴۰۳/۰۷/۱۵ ۱۰:۳۰"  # C-00004: Jalali text date: valid, no finding
    cu[f"N{R + 5}"] = "1404/12/30"  # C-00006: 1404 is not a leap year
    cu[f"K{R + 5}"] = "خرید ۱۰ دستگاه 2"  # C-00006: mixed digits
    ca = wb[schema.CASES.sheet]
    ca[f"A{R + 1}"] = "P-00001"  # P-00002 renumbered as P-00001: duplicate
    inv = wb[schema.INVOICES.sheet]
    inv[f"B{R}"] = "P-00077"  # invoice whose case does not exist
    wb.save(reg)
    shutil.rmtree(next(ws.customers_dir.glob("C-00002 - *")))  # missing folder
    (ws.customers_dir / "C-00099 - ناشناس").mkdir()  # orphan folder
    form = _form_of(ws, "C-00006")
    fb = openpyxl.load_workbook(form)
    sh = fb[schema.REGISTRATION.sheet]
    for row in sh.iter_rows(min_col=1, max_col=3):
        if row[0].value == "last_name":
            row[2].value = "نوری‌زاده"  # name differs from the register
    fb.save(form)


#: (code, sheet, cell) of every finding the broken workspace must give, and nothing else.
REG, CASES, INV = schema.CUSTOMERS.sheet, schema.CASES.sheet, schema.INVOICES.sheet
EXPECTED = sorted(
    [
        ("identifier-error", REG, f"D{R}"),
        ("arabic-letters", REG, f"B{R + 4}"),
        ("cross-field-error", REG, f"T{R + 2}"),
        ("date-error", REG, f"N{R + 5}"),
        ("mixed-digits", REG, f"K{R + 5}"),
        ("unique-error", CASES, f"A{R + 1}"),
        ("cross-field-error", INV, f"B{R}"),
        ("missing-folder", REG, f"V{R + 1}"),
        ("orphan-folder", None, None),
        # C-00099's folder is evidence of an issued number (SPEC §4): the counter (6) is
        # behind it and C-00007…C-00098 were never issued.
        ("counter-behind", "_counters", "C6"),
        ("number-gap", REG, None),
        # P-00002 was issued (change log, counter) but its row now says P-00001.
        ("number-no-row", CASES, None),
        ("form-mismatch", schema.REGISTRATION.sheet, "C7"),
    ],
    key=str,
)
