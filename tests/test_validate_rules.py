"""Unit checks of the compiled rules: the fast bulk paths agree with the scalar checks."""

from __future__ import annotations

import random
from pathlib import Path

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_xl.domain import ids, schema
from crm_xl.domain.settings import Settings
from crm_xl.domain.text import fast_name_key, fast_name_keys, name_key
from crm_xl.io.layout import build_form
from crm_xl.validation import validate_paths
from crm_xl.validation.rules import (
    bulk_legal_ids,
    bulk_national_codes,
    compile_bulk,
    fixed_value,
    hygiene,
)


def test_bulk_identifiers_agree_with_ids() -> None:
    rng = random.Random(7)
    codes = [f"{rng.randrange(10**10):010d}" for _ in range(3000)]
    codes += [ids.make_national_code(f"{rng.randrange(10**9):09d}") for _ in range(500)]
    codes += ["1111111111", "0000000000", "123", "12345678901"]
    assert bulk_national_codes(codes) == {c for c in codes if ids.is_national_code(c)}
    legal = [f"{rng.randrange(10**11):011d}" for _ in range(3000)]
    assert bulk_legal_ids(legal) == {c for c in legal if ids.is_legal_id(c)}


def test_bulk_number_pattern() -> None:
    bulk = compile_bulk(schema.CASES.field("contract_no"), Settings())
    assert bulk is not None
    assert bulk(["Q-1403-0001", "Q-1403-01", "X", "Q-1403-0002\nQ"]) == {"Q-1403-0001"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="شركت پارس‌ آأإۀةيكى۱2 .«»-ّ\u200fAbc", max_size=30))
def test_fast_name_key_equals_name_key(s: str) -> None:
    assert fast_name_key(s) == name_key(s)
    assert fast_name_keys([s, "é" + s]) == [name_key(s), name_key("é" + s)]


def test_hygiene_and_fix() -> None:
    name = schema.CUSTOMERS.field("name")
    mobile = schema.CUSTOMERS.field("mobile")
    need = schema.CUSTOMERS.field("need")
    assert [c for c, _, _ in hygiene(name, " علي  كريمي")] == ["arabic-letters", "spacing"]
    assert fixed_value(name, " علي  كريمي") == "علی کریمی"
    assert [c for c, _, _ in hygiene(mobile, "۰۹۱۲۱۲۳۴۵۶۷")] == ["persian-digits"]
    assert fixed_value(mobile, "۰۹۱۲۱۲۳۴۵۶۷") == "09121234567"
    assert fixed_value(need, "خط  یک\nخط دو") == "خط یک\nخط دو"  # line breaks kept
    assert hygiene(name, "علی کریمی ۱۲") == []  # Persian digits in text are fine


def test_after_sales_and_followup_rules(tmp_path: Path) -> None:
    p = build_form(tmp_path / "product.xlsx", schema.F_31_07_01)
    wb = openpyxl.load_workbook(p)
    ws = wb[schema.PRODUCT.sheet]
    values = {"product_code": "K-1", "product": "پمپ", "origin": "وارداتی", "has_service": "خیر"}
    for row in ws.iter_rows(min_col=1, max_col=3):
        if (k := str(row[0].value)) in values:
            row[2].value = values[k]
    sv = wb[schema.SERVICES.sheet]
    sv[f"B{schema.FIRST_DATA_ROW}"], sv[f"D{schema.FIRST_DATA_ROW}"] = "بله", "بله"
    wb.save(p)
    codes = {(f.code, f.field) for f in validate_paths([p]).findings}
    assert ("aftersales-no-reason", "no_service_reason") in codes  # seed 003's rules
    assert ("aftersales-cost-missing", "cost") in codes
    assert ("required-error", "included") in codes  # prefilled services need yes/no

    f = build_form(tmp_path / "customer.xlsx", schema.F_31_08_01)
    wb = openpyxl.load_workbook(f)
    ws = wb[schema.REGISTRATION.sheet]
    block = {
        "customer_no": "C-00001", "person_type": "حقوقی", "need": "x", "channel": "تلفن",
        "first_contact": "1403/07/15 10:00", "expert": "x", "stage": "تماس اول",
        "first_name": "علی", "economic_code": "12345678901234",
    }  # fmt: skip
    for row in ws.iter_rows(min_col=1, max_col=3):
        if (k := str(row[0].value)) in block:
            row[2].value = block[k]
    fu = wb[schema.FOLLOWUPS.sheet]
    r = schema.FIRST_DATA_ROW
    cells: list[int | str] = [1, "1403/07/14", "تماس تلفنی", "x", "شرح", "1403/07/13"]
    for c, v in zip("ABCDFK", cells, strict=True):
        fu[f"{c}{r}"] = v
    wb.save(f)
    got = {(x.code, x.field) for x in validate_paths([f]).findings}
    assert got == {
        ("required-error", "company_name"),  # a legal entity is named by its company
        ("person-type-field", "first_name"),
        ("identifier-error", "economic_code"),  # 14 digits is a natural person's code
        ("cross-field-error", "at"),  # follow-up before first contact
        ("cross-field-error", "next_due"),  # next action due before the follow-up
    }
