"""Sales plans against actual invoiced sales, on a small known dataset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import InputError
from crm_xl.domain.ids import make_legal_id, make_national_code
from crm_xl.domain.schema import F_31_07_01, PRODUCT
from crm_xl.io.layout import build_form
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace
from crm_xl.ops import plans, store
from crm_xl.ops.books import parse_period

NOW = dt.datetime(2025, 9, 1, 10, 0, tzinfo=TEHRAN)


def test_periods() -> None:
    assert parse_period("۱۴۰۵") == (1405, "year", 0)
    assert parse_period("1405/Q2") == (1405, "quarter", 2)
    assert parse_period("1405-q4") == (1405, "quarter", 4)
    assert parse_period("1405/03") == (1405, "month", 3)
    for bad in ("05", "1405/13", "1405/Q5", "next year"):
        with pytest.raises(InputError):
            parse_period(bad)


def _product(ws: Workspace, code: str, group: str) -> None:
    path = ws.aftersales_dir / f"{code}.xlsx"
    build_form(path, F_31_07_01)
    book = FormBook.open(path)
    book.write_block(PRODUCT.name, {"product_code": code, "product": code, "product_group": group})
    book.save(path)


def _sale(
    ws: Workspace, name: str, ptype: str, expert: str, product: str, invoices: list[tuple[str, int]]
) -> None:
    inp = decide.NewCustomer(
        need="پمپ", name=name, person_type=ptype, channel="phone", expert=expert
    )
    no = store.add_customer(ws, inp, now=NOW).result["customer_no"]
    ident = (
        make_legal_id(f"10100{no[-5:]}")
        if ptype == "legal"
        else make_national_code(f"0012{no[-5:]}")
    )
    case = store.open_case(
        ws, no, products=[product], at="1403/12/01", national_id=ident, now=NOW
    ).result["case_no"]
    store.add_contract(ws, case, now=NOW)
    for when, amount in invoices:
        store.issue_invoice(ws, case, amount=amount, at=when, now=NOW)


@pytest.fixture
def ws(ws: Workspace) -> Workspace:
    """The shared workspace with two products and four sales (one in the previous year)."""
    _product(ws, "PMP-1", "پمپ")
    _product(ws, "VLV-1", "شیرآلات")
    _sale(ws, "شرکت الف", "legal", "علی رضایی", "PMP-1", [("1404/01/15", 100), ("1404/04/02", 40)])
    _sale(ws, "شرکت ب", "legal", "مریم احمدی", "VLV-1", [("1404/02/20", 70)])
    _sale(ws, "رضا کریمی", "natural", "علی رضایی", "PMP-1", [("1404/03/30", 5)])
    _sale(ws, "شرکت ج", "legal", "علی رضایی", "VLV-1", [("1403/12/25", 999)])  # previous year
    return ws


def test_plan_vs_actual(ws: Workspace, tmp_path: Path) -> None:
    add = plans.add_plan
    add(ws, period="1404", horizon="long", market="B2B", target=1000, now=NOW)
    add(
        ws, period="1404/Q1", horizon="short", market="B2B", expert="علی رضایی", target=200, now=NOW
    )
    add(ws, period="1404/Q1", horizon="short", market="b2b", group="شیرآلات", target=50, now=NOW)
    add(
        ws,
        period="1404/03",
        horizon="short",
        market="B2C",
        group="پمپ",
        region="تهران",
        target=10,
        now=NOW,
    )
    add(
        ws, period="1404/Q2", horizon="short", market="B2B", expert="مریم احمدی", target=80, now=NOW
    )
    rows = plans.plan_report(ws, NOW, tmp_path / "plan.xlsx")["rows"]
    got = [(r["period"], r["target"], r["actual"], r["achievement"]) for r in rows]
    assert got == [
        ("1404", 1000, 210, 21.0),  # 100 + 40 + 70; the natural customer is B2C
        ("1404/Q1", 200, 100, 50.0),
        ("1404/Q1", 50, 70, 140.0),
        ("1404/03", 10, 5, 50.0),
        ("1404/Q2", 80, 0, 0.0),
    ]
    wb = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    sh: Any = wb.active
    assert sh.sheet_view.rightToLeft
    assert len(sh._charts) == 1  # the plan-vs-actual chart


def test_bad_plan_input(ws: Workspace) -> None:
    with pytest.raises(InputError):
        plans.add_plan(ws, period="1404", horizon="medium", market="B2B", target=1)
    with pytest.raises(InputError):
        plans.add_plan(ws, period="1404", horizon="long", market="B2B", target="-5")
