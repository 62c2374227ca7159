"""The extras' report workbooks open in LibreOffice, with their charts, right to left."""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from pathlib import Path

import pytest
from helpers_office import pdf_pages, pdf_text, pdf_to_png, to_pdfs
from helpers_workspace import copy_workspace

from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.ids import make_legal_id, make_national_code
from crm_xl.io.workspace import Workspace
from crm_xl.ops import complaints, parties, plans, store, surveys

pytestmark = pytest.mark.libreoffice

NOW = dt.datetime(2025, 9, 1, 10, 0, tzinfo=TEHRAN)


def plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


def _workspace(ws: Workspace) -> Workspace:
    sales = [
        (
            "شرکت پتروپارس",
            "legal",
            "علی رضایی",
            [("1404/01/15", 900_000_000), ("1404/04/10", 400_000_000)],
        ),
        ("شرکت فولاد سپاهان", "legal", "مریم احمدی", [("1404/02/20", 700_000_000)]),
        ("رضا کریمی", "natural", "علی رضایی", [("1404/03/05", 50_000_000)]),
    ]
    for name, ptype, expert, invoices in sales:
        inp = decide.NewCustomer(
            need="پمپ",
            name=name,
            person_type=ptype,
            channel="exhibition",
            expert=expert,
            category="صنعتی › پتروشیمی" if ptype == "legal" else "",
        )
        no = store.add_customer(ws, inp, now=NOW).result["customer_no"]
        ident = (
            make_legal_id(f"10100{no[-5:]}")
            if ptype == "legal"
            else make_national_code(f"0012{no[-5:]}")
        )
        case = store.open_case(ws, no, at="1404/01/01", national_id=ident, now=NOW).result[
            "case_no"
        ]
        store.add_contract(ws, case, now=NOW)
        for at, amount in invoices:
            store.issue_invoice(ws, case, amount=amount, at=at, now=NOW)
        surveys.add_survey(ws, no, scores={"q1": 4, "q2": 3, "q4": 5}, at="1404/05/01", now=NOW)
    surveys.add_survey(ws, "C-00001", scores={"q1": 2, "q2": 2}, at="1404/06/01", now=NOW)
    for period, market, expert, target in (
        ("1404", "B2B", "", 3_000_000_000),
        ("1404/Q1", "B2B", "علی رضایی", 1_000_000_000),
        ("1404/Q1", "B2B", "مریم احمدی", 600_000_000),
        ("1404/Q1", "B2C", "علی رضایی", 100_000_000),
    ):
        plans.add_plan(
            ws,
            period=period,
            horizon="long" if len(period) == 4 else "short",
            market=market,
            expert=expert,
            target=target,
            now=NOW,
        )
    a = complaints.add_complaint(
        ws,
        "C-00001",
        subject="تأخیر در تحویل محموله",
        channel="phone",
        severity="high",
        cause="delivery",
        now=NOW,
    ).result["complaint_no"]
    complaints.add_action(
        ws,
        a,
        action="پیگیری با انبار و اطلاع به مشتری",
        owner="علی رضایی",
        due="1404/05/20",
        now=NOW,
    )
    complaints.add_complaint(
        ws,
        "C-00002",
        subject="ایراد کیفی در قطعه",
        channel="email",
        severity="medium",
        cause="quality",
        now=NOW,
    )
    complaints.add_complaint(
        ws,
        "C-00003",
        subject="اختلاف مبلغ فاکتور",
        channel="in_person",
        severity="low",
        cause="price",
        now=NOW,
    )
    return ws


@pytest.fixture(scope="module")
def rendered(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, list[Path]]]:
    d = tmp_path_factory.mktemp("extras_render")
    ws = _workspace(copy_workspace(pristine, d / "ws"))
    out = d / "xlsx"
    books = [
        Path(complaints.complaint_report(ws, NOW, out / "complaints-report.xlsx")["xlsx"]),
        Path(surveys.survey_report(ws, NOW, out / "satisfaction-report.xlsx")["xlsx"]),
        Path(plans.plan_report(ws, NOW, out / "plan-report.xlsx")["xlsx"]),
        Path(parties.export_parties(ws, out / "parties.xlsx")["xlsx"]),
    ]
    pdfs = to_pdfs(books, d / "pdf")
    # CRM_XL_PNG_DIR keeps the page images for a person to look at.
    png_dir = Path(os.environ.get("CRM_XL_PNG_DIR") or d / "png")
    return {p.stem: (p, pdf_to_png(p, png_dir)) for p in pdfs}


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("complaints-report", ["شکایات", "تحویل"]),
        ("satisfaction-report", ["رضایت", "میانگین"]),
        ("plan-report", ["برنامه", "هدف"]),
        ("parties", ["پتروپارس", "پتروشیمی"]),
    ],
)
def test_reports_render(
    name: str, words: list[str], rendered: dict[str, tuple[Path, list[Path]]]
) -> None:
    pdf, pngs = rendered[name]
    assert pdf_pages(pdf) >= 1 and pngs
    text = plain(pdf_text(pdf))
    for w in words:
        assert w in text or w[::-1] in text, f"{w} missing from {name}"
