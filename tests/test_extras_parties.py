"""Party database export: every seed-004 field, category tree and its drop-down."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl

from crm_xl.domain import decide, ids
from crm_xl.domain.dates import TEHRAN, to_jalali_str
from crm_xl.domain.schema import FIRST_DATA_ROW, KEY_ROW
from crm_xl.io.workspace import Workspace
from crm_xl.ops import parties, store

NOW = dt.datetime(2025, 5, 1, 10, 0, tzinfo=TEHRAN)

SEED_004 = {
    "person_type", "first_name", "last_name", "national_code", "birth_date", "gender",
    "marital_status", "company_name", "legal_id", "economic_code", "registration_no",
    "registration_date", "company_type", "activity", "staff_count", "turnover", "postal_code",
    "phone", "fax", "mobile", "email", "website", "address", "category",
}  # fmt: skip


def test_split_and_tree() -> None:
    assert parties.split_category("صنعتي > پتروشيمي") == ["صنعتی", "پتروشیمی"]
    tree = parties.category_tree(["صنعتی › پتروشیمی", "صنعتی › پتروشیمی › پلیمر"])
    assert [(n["path"], n["parent"], n["level"]) for n in tree] == [
        ("صنعتی", None, 1),
        ("صنعتی › پتروشیمی", "صنعتی", 2),
        ("صنعتی › پتروشیمی › پلیمر", "صنعتی › پتروشیمی", 3),
    ]


def test_export_has_all_fields_and_the_category_dropdown(ws: Workspace, tmp_path: Path) -> None:
    legal = decide.NewCustomer(
        need="پمپ",
        name="شرکت پتروپارس",
        person_type="legal",
        channel="exhibition",
        expert="علی رضایی",
        national_id=ids.make_legal_id("1010203040"),
        phone="02188776655",
        category="صنعتی > پتروشیمی > پلیمر",
        extra={
            "economic_code": ids.make_legal_id("1010203040"),
            "registration_no": "12345",
            "registration_date": dt.date(2010, 5, 1),
            "company_type": "private_joint_stock",
            "activity": "پلیمر",
            "staff_count": 120,
            "turnover": 50_000_000_000,
            "fax": "02188776656",
            "email": "info@petro.ir",
            "website": "petro.ir",
            "postal_code": "1513713111",
            "address": "تهران، خیابان ولیعصر",
        },
    )
    natural = decide.NewCustomer(
        need="پمپ",
        name="مریم احمدی",
        person_type="natural",
        channel="phone",
        expert="علی رضایی",
        national_code=ids.make_national_code("001234567"),
        mobile="09121234567",
        extra={"birth_date": dt.date(1990, 3, 21), "gender": "female", "marital_status": "married"},
    )
    store.add_customer(ws, legal, now=NOW)
    store.add_customer(ws, natural, now=NOW)

    out = parties.export_parties(ws, tmp_path / "parties.xlsx")
    assert out["parties"] == 2 and out["missing_forms"] == []
    wb = openpyxl.load_workbook(tmp_path / "parties.xlsx")
    sh = wb[parties.PARTIES.sheet]
    assert sh.sheet_view.rightToLeft
    assert sh.cell(FIRST_DATA_ROW, 1).font.name == "Tahoma"
    keys = [str(c.value) for c in sh[KEY_ROW] if c.value]
    assert set(keys) >= SEED_004
    rows: dict[str, dict[str, Any]] = {}
    for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + 2):
        rec: dict[str, Any] = {k: sh.cell(r, i + 1).value for i, k in enumerate(keys)}
        rows[str(rec["customer_no"])] = rec
    p, n = rows["C-00001"], rows["C-00002"]
    assert p["legal_id"] == ids.make_legal_id("1010203040") and p["staff_count"] == 120
    assert p["company_type"] == "سهامی خاص" and p["email"] == "info@petro.ir"
    assert p["category"] == "صنعتی › پتروشیمی › پلیمر" and p["person_type"] == "حقوقی"
    assert p["registration_date"] == to_jalali_str(dt.date(2010, 5, 1))  # Jalali text
    assert n["national_code"] == ids.make_national_code("001234567")
    assert n["gender"] == "زن" and n["first_name"] == "مریم" and n["last_name"] == "احمدی"
    assert n["birth_date"] == "1369/01/01"

    cats = wb[parties.CATEGORIES.sheet]
    paths = [cats.cell(r, 1).value for r in range(FIRST_DATA_ROW, cats.max_row + 1)]
    assert "صنعتی › پتروشیمی › پلیمر" in paths and "صنعتی" in paths
    parent_of = {
        cats.cell(r, 1).value: cats.cell(r, 2).value
        for r in range(FIRST_DATA_ROW, cats.max_row + 1)
    }
    assert parent_of["صنعتی › پتروشیمی"] == "صنعتی"
    col = keys.index("category") + 1
    letter = openpyxl.utils.get_column_letter(col)
    dvs = [dv for dv in sh.data_validations.dataValidation if dv.formula1 == "list_Category"]
    assert dvs and f"{letter}{FIRST_DATA_ROW}" in dvs[0].sqref
    target = wb.defined_names["list_Category"].attr_text
    assert parties.CATEGORIES.sheet in target
