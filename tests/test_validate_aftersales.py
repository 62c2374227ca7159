"""``crm-xl validate`` and the after-sales procedure (seed 003): review §B2, §B5; issue 12 acc. 4.

A real workspace made through the CLI: products with and without service, customers with
cases, contract, invoice and CRM done, a complaint, a survey, a sales plan, and every report
the toolkit writes (task lists, complaint / survey / plan reports, the parties export).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crm_xl.cli.main import main
from crm_xl.domain import schema
from crm_xl.domain.ids import make_legal_id, make_national_code
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import init_workspace

EXPERT = "علی رضایی"
PUMP, VALVE = "PMP-100", "VLV-7"
PRODUCT, SERVICES = schema.PRODUCT, schema.SERVICES


def cli(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-w", str(root), *args])


def ok(root: Path, *args: str) -> Result:
    r = cli(root, *args)
    assert r.exit_code == 0, (args, r.output)
    return r


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("aftersales") / "ws"
    init_workspace(root, company="شرکت بازرگانی نمونه", experts=[EXPERT])
    ok(root, "product", "add", "--code", PUMP, "--name", "پمپ سانتریفیوژ", "--origin", "imported",
       "--service", "installation:یک‌بار:0:نمایندگی", "--service", "training:۲ روز:۱۲٬۵۰۰٬۰۰۰",
       "--commitment", "GF-1403/118", "--commitment-date", "1403/05/10",
       "--guarantee", "۱۸ ماه گارانتی سازنده")  # fmt: skip
    ok(root, "product", "add", "--code", VALVE, "--name", "شیر توپی", "--origin", "domestic",
       "--no-service", "--reason", "simplicity")  # fmt: skip
    ok(root, "customer", "add", "--name", "شرکت پارس", "--type", "legal", "--channel", "phone",
       "--expert", EXPERT, "--need", "پمپ و شیر",
       "--national-id", make_legal_id("1010030274"))  # fmt: skip
    ok(root, "case", "open", "C-00001", "--product", PUMP, "--product", VALVE)  # P-00001
    ok(root, "contract", "add", "P-00001", "--amount", "1000000")
    ok(root, "invoice", "issue", "P-00001", "--amount", "1000000")
    ok(root, "customer", "crm-done", "C-00001")
    ok(root, "customer", "add", "--name", "علی نوری", "--type", "natural", "--channel", "phone",
       "--expert", EXPERT, "--need", "پمپ",
       "--national-code", make_national_code("001234567"))  # fmt: skip
    ok(root, "case", "open", "C-00002", "--product", PUMP)  # P-00002, its form is complete
    ok(root, "complaint", "add", "C-00001", "--subject", "تاخیر در نصب", "--channel", "phone",
       "--severity", "high")  # fmt: skip
    ok(root, "survey", "add", "C-00001", "--score", "q1=4", "--score", "q2=5")
    ok(root, "plan", "add", "--period", "1405", "--horizon", "long", "--market", "B2B",
       "--target", "1000000000")  # fmt: skip
    # Every report the toolkit writes, at the root and one beside the product forms.
    ok(root, "overdue", "--xlsx", str(root / "tasks.xlsx"))
    # The toolkit refuses to write into a records folder; a person may still save a copy there.
    shutil.copy(root / "tasks.xlsx", root / "after-sales" / "tasks.xlsx")
    ok(root, "complaint", "report", "--xlsx", str(root / "complaints-report.xlsx"))
    ok(root, "survey", "report", "--xlsx", str(root / "survey-report.xlsx"))
    ok(root, "plan", "report", "--xlsx", str(root / "plan-report.xlsx"))
    ok(root, "parties", "export", str(root / "parties-export.xlsx"))
    return root


@pytest.fixture()
def ws(pristine: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(pristine, root)
    return root


def validate(*paths: Path) -> tuple[int, dict[str, Any]]:
    r = CliRunner().invoke(main, ["validate", *map(str, paths), "--format", "json"])
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.output)


def form(root: Path, code: str) -> Path:
    return root / "after-sales" / f"F-31-07-01 {code}.xlsx"


def shown(root: Path, code: str) -> set[tuple[str, str | None, str | None]]:
    """(code, sheet, cell) of every finding ``crm-xl product show`` reports."""
    data = json.loads(ok(root, "product", "show", code, "--json").output)
    return {(f["code"], f["sheet"], f["cell"]) for f in data["findings"]}


def of_file(report: dict[str, Any], path: Path) -> set[tuple[str, str | None, str | None]]:
    return {
        (f["code"], f["sheet"], f["cell"]) for f in report["findings"] if f["file"] == str(path)
    }


def sold_without_form(root: Path, customer: str, code: str) -> None:
    """A case selling ``code`` whose F-31-07-01 is gone: case open refuses a code the catalog
    does not know, so the product is recorded, sold, and its form then removed by hand."""
    ok(root, "product", "add", "--code", code, "--name", "قطعه", "--origin", "domestic",
       "--no-service", "--reason", "simplicity")  # fmt: skip
    ok(root, "case", "open", customer, "--product", code)
    form(root, code).unlink()


def case_cell(root: Path, case_no: str) -> str:
    book = FormBook.open(root / "F-31-08-02.xlsx")
    row = next(r for r, rec in book.read_table("Cases") if rec["case_no"] == case_no)
    return book.cell_ref("Cases", row, "products")


def edit(path: Path, block: dict[str, object] | None = None, **services: dict[str, object]) -> None:
    """Change cells of a product form by schema key; ``services`` by service key."""
    book = FormBook.open(path)
    if block:
        book.write_block(PRODUCT.name, block)
    rows = {rec["service"]: r for r, rec in book.read_table(SERVICES.name)}
    labels = {s.value: s.fa for s in schema.ENUMS["AfterSalesService"]}
    for key, values in services.items():
        book.update_row(SERVICES.name, rows[labels[key]], values)
    book.save(path)


# --- §B2: the toolkit's own workbooks are not forms ----------------------------------------------


def test_workspace_with_products_books_and_reports_validates_clean(pristine: Path) -> None:
    """Fails on the old code: the catalog was read as an F-31-07-01 (``missing-sheet``)."""
    proc = subprocess.run(
        [sys.executable, "-m", "crm_xl", "validate", str(pristine)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    code, report = validate(pristine)
    assert code == 0 and report["counts"]["error"] == 0, report["findings"]
    assert report["findings"] == []  # not even a warning: every product sold has its form
    forms = {Path(f["path"]).name: f["form"] for f in report["files"]}
    assert forms[f"F-31-07-01 {PUMP}.xlsx"] == forms[f"F-31-07-01 {VALVE}.xlsx"] == "F-31-07-01"
    assert "catalog.xlsx" not in forms and "tasks.xlsx" not in forms


def test_each_toolkit_workbook_given_alone_is_not_a_form(pristine: Path) -> None:
    """Fails on the old code: ``unknown-form`` for books and reports, ``missing-sheet`` for the
    catalog (its header names F-31-07-01)."""
    outputs = [p for p in pristine.glob("*.xlsx") if p.name != "F-31-08-02.xlsx"]
    outputs += [pristine / "after-sales" / "catalog.xlsx", pristine / "after-sales" / "tasks.xlsx"]
    outputs += sorted((pristine / ".crm_xl" / "backups").glob("catalog.*.xlsx"))[:1]
    assert len(outputs) == 11
    code, report = validate(*outputs)
    assert code == 0, report["findings"]
    assert sorted(Path(f["file"]).name for f in report["findings"]) == sorted(
        p.name for p in outputs
    )
    assert {(f["code"], f["severity"]) for f in report["findings"]} == {("not-a-form", "info")}
    assert all(f["form"] is None for f in report["files"])
    # A folder of product forms beside the catalog and a report: the forms are checked.
    code, report = validate(pristine / "after-sales")
    assert code == 0, report["findings"]
    assert {Path(f["path"]).name: f["form"] for f in report["files"]}[
        f"F-31-07-01 {PUMP}.xlsx"
    ] == "F-31-07-01"


def test_a_form_is_still_a_form_whatever_its_name(ws: Path) -> None:
    """Recognition is by content: a product form renamed like the catalog is still judged."""
    renamed = ws / "elsewhere" / "catalog.xlsx"
    renamed.parent.mkdir()
    shutil.copy(form(ws, PUMP), renamed)
    edit(renamed, {"commitment_ref": None})
    code, report = validate(renamed)
    assert code == 1
    assert [f["code"] for f in report["findings"]] == ["aftersales-no-commitment"]


# --- §B5: one rule set, the same findings from product show and validate -------------------------


def test_cleared_commitment_same_finding_from_validate_and_product_show(ws: Path) -> None:
    """Issue 12 acceptance 4; fails on the old code (validate did not know the rule)."""
    path = form(ws, PUMP)
    edit(path, {"commitment_ref": None})
    cell = FormBook.open(path).block_cell(PRODUCT.name, "commitment_ref")
    expected = ("aftersales-no-commitment", PRODUCT.sheet, cell)
    assert shown(ws, PUMP) == {expected}
    code, report = validate(ws)
    assert code == 1
    assert of_file(report, path) == {expected}
    # The register, at each case's products: an error where CRM is done, else a warning.
    register = ws / "F-31-08-02.xlsx"
    assert of_file(report, register) == {
        ("aftersales-incomplete", schema.CASES.sheet, case_cell(ws, "P-00001")),
        ("aftersales-pending", schema.CASES.sheet, case_cell(ws, "P-00002")),
    }
    # The form given alone gives the same finding.
    assert of_file(validate(path)[1], path) == {expected}


EDITS: list[tuple[str, str, dict[str, Any], dict[str, dict[str, Any]]]] = [
    ("origin", PUMP, {"origin": "مریخی"}, {}),
    ("name cleared", PUMP, {"product": None}, {}),
    ("has-service unreadable", PUMP, {"has_service": "شاید"}, {}),
    ("commitment date impossible", PUMP, {"commitment_date": "1403/13/40"}, {}),
    ("reason with service", PUMP, {"no_service_reason": "تحریم"}, {}),
    ("charged without cost", PUMP, {}, {"training": {"cost": None}}),
    ("negative cost", PUMP, {}, {"training": {"cost": "-5"}}),
    ("cost not marked", PUMP, {}, {"installation": {"cost": 5_000_000}}),
    ("guarantee in service", PUMP, {}, {"installation": {"description": "شامل گارانتی ۱۲ ماهه"}}),
    (
        "nothing included",
        PUMP,
        {},
        {
            "installation": {"included": "خیر"},
            "training": {"included": "خیر", "charged": "خیر", "cost": None},
        },
    ),
    ("included unanswered", PUMP, {}, {"calibration": {"included": None}}),
    ("no reason", VALVE, {"no_service_reason": None}, {}),
    ("reason other", VALVE, {"no_service_reason": "سایر"}, {}),
    ("not stated", VALVE, {"stated_in_contract": "خیر"}, {}),
    ("service without service", VALVE, {}, {"calibration": {"included": "بله"}}),
]
EXPECTED_CODE = {
    "origin": "enum-error",
    "name cleared": "required-error",
    "has-service unreadable": "enum-error",
    "commitment date impossible": "date-error",
    "reason with service": "aftersales-reason-with-service",
    "charged without cost": "aftersales-cost-missing",
    "negative cost": "constraint-error",
    "cost not marked": "aftersales-cost-unmarked",
    "guarantee in service": "aftersales-guarantee-mixed",
    "nothing included": "aftersales-no-services",
    "included unanswered": "required-error",
    "no reason": "aftersales-no-reason",
    "reason other": "aftersales-reason-note",
    "not stated": "aftersales-not-stated",
    "service without service": "aftersales-services-without-service",
}


@pytest.mark.parametrize(("what", "code", "block", "services"), EDITS, ids=[e[0] for e in EDITS])
def test_hand_edit_gives_the_same_findings_from_both(
    ws: Path, what: str, code: str, block: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """Every finding of ``product show`` is ``validate``'s, code and cell, and nothing more.

    Fails on the old code for every edit: validate knew only two cross-field rules, under
    other codes, and product show other codes for unreadable cells."""
    path = form(ws, code)
    edit(path, block, **services)
    from_show = shown(ws, code)
    _, report = validate(ws)
    assert of_file(report, path) == from_show
    assert EXPECTED_CODE[what] in {c for c, _, _ in from_show}
    for f in report["findings"]:
        assert f["message_fa"] and f["message_en"] and f["cell"], f


# --- the products sold: the check CRM done makes ------------------------------------------------


def test_product_without_form_pending_then_crm_done_refuses_with_the_same_code(ws: Path) -> None:
    sold_without_form(ws, "C-00002", "X-9")  # P-00003: no form for X-9
    code, report = validate(ws)
    assert code == 0, report["findings"]  # a warning until CRM done
    (f,) = report["findings"]
    assert (f["code"], f["severity"], f["sheet"], f["cell"]) == (
        "aftersales-pending",
        "warning",
        schema.CASES.sheet,
        case_cell(ws, "P-00003"),
    )
    assert "X-9" in f["message_en"] and "X-9" in f["message_fa"]
    ok(ws, "contract", "add", "P-00002", "--amount", "500000")
    r = cli(ws, "--json", "customer", "crm-done", "C-00002")
    assert r.exit_code == 1
    error = json.loads(r.output)["error"]
    assert error["code"] == "aftersales-missing" and "X-9" in error["en"]


def test_crm_done_customer_whose_product_form_is_gone(ws: Path) -> None:
    form(ws, VALVE).unlink()
    code, report = validate(ws)
    assert code == 1
    (f,) = report["findings"]
    assert (f["code"], f["file"], f["cell"]) == (
        "aftersales-missing",
        str(ws / "F-31-08-02.xlsx"),
        case_cell(ws, "P-00001"),
    )
    assert VALVE in f["message_en"]


def test_repeat_sale_after_crm_done_is_pending_not_an_error(ws: Path) -> None:
    """What a write accepts, validate accepts: a repeat sale reopens the CRM step (WON)."""
    sold_without_form(ws, "C-00001", "X-9")  # P-00003
    code, report = validate(ws)
    assert code == 0, report["findings"]
    assert [(f["code"], f["cell"]) for f in report["findings"]] == [
        ("aftersales-pending", case_cell(ws, "P-00003"))
    ]
