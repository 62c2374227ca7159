"""Product forms and the catalog on a real workspace; the link to sales; LibreOffice rendering."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from crm_xl.domain.errors import CrmError
from crm_xl.io.safety import backups_of
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops.products import (
    add_product,
    build_profile,
    catalog_path,
    check_product_form,
    crm_check,
    list_products,
    load_product,
    product_index,
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws", company="شرکت بازرگانی نمونه", experts=["علی رضایی"])


def pump(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "code": "PMP-100",
        "name": "پمپ سانتریفیوژ",
        "brand": "Grundfos",
        "manufacturer": "گروندفوس",
        "origin": "imported",
        "services": ["installation:یک‌بار:0:نمایندگی رسمی", "training:۲ روز:۱۲٬۵۰۰٬۰۰۰:نمایندگی"],
        "commitment": "GF-1403/118",
        "commitment_date": "1403/05/10",
        "guarantee": "۱۸ ماه گارانتی سازنده",
    }
    return {**base, **kw}


def valve() -> dict[str, object]:
    return {
        "code": "VLV-7",
        "name": "شیر توپی برنجی با نام بلند برای آزمون شکستن سطر در فهرست",
        "origin": "domestic",
        "no_service": True,
        "reason": "simplicity",
    }


def test_add_list_load_roundtrip(ws: Workspace) -> None:
    path = add_product(ws, build_profile(**pump()))  # type: ignore[arg-type]
    assert path == ws.aftersales_dir / "F-31-07-01 PMP-100.xlsx"
    add_product(ws, build_profile(**valve()))  # type: ignore[arg-type]
    p = load_product(ws, "pmp-۱۰۰")
    assert p.has_service is True and p.commitment_ref == "GF-1403/118"
    included = {s.service.value: s for s in p.services if s.included}
    assert set(included) == {"installation", "training"}
    assert included["training"].cost == 12_500_000 and included["training"].charged
    assert len(p.services) == 7  # every service of seed 003 has its row; the rest say خیر
    v = load_product(ws, "VLV-7")
    assert v.has_service is False and v.stated_in_contract is True
    records = list_products(ws)
    assert [r.code for r in records] == ["PMP-100", "VLV-7"]
    assert all(r.complete for r in records)
    # the form itself: Persian labels in the cells, RTL reading order on written cells
    book = FormBook.open(path)
    sheet = book.sheet("Product")
    cell = sheet[book.block_cell("Product", "has_service")]
    assert cell.value == "بله" and cell.alignment.readingOrder == 2
    assert check_product_form(path) == []


def test_catalog_rebuilt_on_every_change(ws: Workspace) -> None:
    add_product(ws, build_profile(**pump()))  # type: ignore[arg-type]
    wb = openpyxl.load_workbook(catalog_path(ws))
    assert wb.sheetnames == ["کالاها", "خدمات"]
    assert wb["کالاها"].sheet_view.rightToLeft
    assert wb["کالاها"]["A5"].value == "PMP-100"
    assert wb["کالاها"]["A5"].font.name == "Tahoma"
    add_product(ws, build_profile(**valve()))  # type: ignore[arg-type]
    wb = openpyxl.load_workbook(catalog_path(ws))
    assert [wb["کالاها"].cell(r, 1).value for r in (5, 6)] == ["PMP-100", "VLV-7"]
    services = wb["خدمات"]
    assert [services.cell(r, 3).value for r in (5, 6)] == ["نصب در محل مشتری", "آموزش اپراتور"]
    assert services["E5"].value == "رایگان" and services["E6"].value == 12_500_000


def test_duplicate_refused_replace_keeps_backup(ws: Workspace) -> None:
    path = add_product(ws, build_profile(**pump()))  # type: ignore[arg-type]
    with pytest.raises(CrmError) as e:
        add_product(ws, build_profile(**pump(code="pmp-100")))  # type: ignore[arg-type]
    assert e.value.code == "product-exists"
    changed = build_profile(**pump(commitment="GF-2"))  # type: ignore[arg-type]
    assert add_product(ws, changed, replace=True) == path
    assert load_product(ws, "PMP-100").commitment_ref == "GF-2"
    assert len(backups_of(path, ws.backups_dir)) == 1


def test_hand_edited_form_findings_with_cells(ws: Workspace) -> None:
    path = add_product(ws, build_profile(**pump()))  # type: ignore[arg-type]
    book = FormBook.open(path)
    book.write_block("Product", {"commitment_ref": None, "origin": "مریخی"})
    rows = {rec["service"]: r for r, rec in book.read_table("Services")}
    book.update_row("Services", rows["آموزش اپراتور"], {"cost": None})
    book.update_row("Services", rows["نصب در محل مشتری"], {"description": "شامل گارانتی"})
    book.save(path)
    found = {(f["code"], f["sheet"], f["cell"]) for f in check_product_form(path)}
    assert found == {
        ("enum-error", "مشخصات کالا", book.block_cell("Product", "origin")),
        ("aftersales-no-commitment", "مشخصات کالا", book.block_cell("Product", "commitment_ref")),
        (
            "aftersales-cost-missing",
            "خدمات",
            book.cell_ref("Services", rows["آموزش اپراتور"], "cost"),
        ),
        (
            "aftersales-guarantee-mixed",
            "خدمات",
            book.cell_ref("Services", rows["نصب در محل مشتری"], "description"),
        ),
    }
    for f in check_product_form(path):
        assert f["message_fa"] and f["message_en"] and f["severity"] == "error"
        assert f["file"] == str(path)
    assert product_index(ws) == {"pmp-100": False}


def test_unreadable_form_is_a_finding(ws: Workspace) -> None:
    bad = ws.aftersales_dir / "F-31-07-01 X-1.xlsx"
    bad.write_bytes(b"not a workbook")
    (f,) = check_product_form(bad)
    assert f["code"] == "not-xlsx" and f["severity"] == "error"
    assert [r.complete for r in list_products(ws)] == [False]


def test_crm_check_names_products_without_a_form(ws: Workspace) -> None:
    add_product(ws, build_profile(**pump()))  # type: ignore[arg-type]
    assert [p["product"] for p in crm_check(ws, ["PMP-100", "X-9"])] == ["X-9"]
    assert crm_check({"pmp-100"}, ["PMP-100"]) == []


# --- LibreOffice: the catalog and a product form open and read right to left --------------------

SOFFICE = shutil.which("soffice")


def _to_pdf(src: Path, out: Path) -> Path:
    subprocess.run(
        [SOFFICE or "soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out / f"{src.stem}.pdf"


def _words(pdf: Path) -> list[tuple[float, float, str]]:
    """(x, y, word) of page 1; Persian words come out in visual order, so reverse them back."""
    xml = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-bbox", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    out = []
    for m in re.finditer(r'xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]+)</word>', xml):
        w = m.group(3)
        if re.search(r"[\u0620-\u064a\u067e-\u06d5]", w):  # letters, not digits
            w = w[::-1]
        out.append((float(m.group(1)), float(m.group(2)), w))
    return out


def _x(words: list[tuple[float, float, str]], word: str, line_of: str | None = None) -> float:
    """x of ``word`` (on the same line as ``line_of`` when given)."""
    y0 = next(y for _, y, w in words if w == line_of) if line_of else None
    return next(x for x, y, w in words if w == word and (y0 is None or abs(y - y0) < 2))


@pytest.mark.libreoffice
@pytest.mark.skipif(SOFFICE is None or shutil.which("pdftotext") is None, reason="no LibreOffice")
def test_catalog_and_form_render_rtl_in_libreoffice(ws: Workspace, tmp_path: Path) -> None:
    form = add_product(ws, build_profile(**pump()))  # type: ignore[arg-type]
    add_product(ws, build_profile(**valve()))  # type: ignore[arg-type]
    out = tmp_path / "pdf"
    out.mkdir()
    cat = _words(_to_pdf(catalog_path(ws), out))
    # first column (code) on the right, last column (form status) on the left
    assert _x(cat, "کد") > _x(cat, "وضعیت")
    assert _x(cat, "PMP-100") > _x(cat, "وارداتی") > _x(cat, "کامل")
    # a Persian phrase reads right to left: «شرکت بازرگانی نمونه»
    assert _x(cat, "شرکت") > _x(cat, "بازرگانی") > _x(cat, "نمونه")
    page = _words(_to_pdf(form, out))
    # the label column is right of the value column, and a value starting with digits still
    # reads right to left («۱۸ ماه گارانتی سازنده»)
    assert _x(page, "برند") > _x(page, "Grundfos")
    assert _x(page, "۱۸") > _x(page, "ماه", "۱۸") > _x(page, "سازنده", "۱۸")
