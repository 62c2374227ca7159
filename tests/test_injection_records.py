"""Nothing gets in (issue 13, review §A3): text a person or a file supplies is never a formula.

Every writer of the toolkit is fed text led by ``=``, ``+``, ``-``, ``@`` — also behind the
invisible marks normalisation strips (tab, RLM, LRM, ZWNJ, BOM, NBSP), which *create* the
leading ``=`` — and each workbook is read back: the cell is a string cell holding the
normalised text, with the quote prefix where openpyxl wrote it, and ``validate`` reads the
text (the review saw ``name`` reported missing: calamine found a formula with no value).
The suite-wide helper (tests/helpers_formulas.py) also fails any test here that leaves a
formula cell behind.  On the old code the ``data_type`` assertions fail: openpyxl made a
formula of every value led by ``=``, XlsxWriter of the company name in every header.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from helpers_formulas import user_formulas

from crm_xl.cli.main import main
from crm_xl.domain import decide, schema
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.schema import CUSTOMERS, FOLLOWUPS, REGISTRATION
from crm_xl.domain.text import normalize
from crm_xl.io.folders import find_customer_folder
from crm_xl.io.guard import formula_like
from crm_xl.io.workbook import FormBook, read_table_fast, write_cell
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import complaints, leads, plans, store, surveys
from crm_xl.ops.books import COMPLAINTS_FORM, PLANS_FORM, SATISFACTION_FORM, open_book
from crm_xl.ops.store import customer_form_name
from crm_xl.validation import validate_paths

NOW = dt.datetime(2025, 5, 1, 10, 0, tzinfo=TEHRAN)
EXPERT = "علی رضایی"
COMPANY = '=HYPERLINK("http://evil.example/co","شرکت")'

#: Leads that make a formula (or, for + - @, one once a person edits the cell in Excel),
#: the last six only after normalisation strips the mark in front.
LEADS = ["=", "+", "-", "@", "\t=", "\u200f=", "\u200e=", "\u200c=", "\ufeff=", "\xa0="]
#: Distinct per lead (duplicate detection compares names without punctuation).
HOSTILE = [f"{lead}SUM({i},1)" for i, lead in enumerate(LEADS)] + [
    '=HYPERLINK("http://evil.example/x","click")',
    "=cmd|' /C calc'!A0",
]


def _cell(path: Path, sheet: str, ref: str) -> Any:
    return openpyxl.load_workbook(path)[sheet][ref]


def _literal(cell: Any, typed: str) -> None:
    """The cell holds the text as typed (normalised), as text Excel keeps literal."""
    assert cell.value == normalize(typed), (cell.coordinate, cell.value)
    assert cell.data_type == "s", (cell.coordinate, cell.data_type)
    assert cell.quotePrefix, cell.coordinate


def _no_formulas(*paths: Path) -> None:
    for p in paths:
        assert user_formulas(p) == [], p


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One workspace every writer has been fed hostile text through."""
    ws = init_workspace(tmp_path_factory.mktemp("inj") / "ws", company=COMPANY, experts=[EXPERT])
    numbers = []
    for text in HOSTILE:
        plan = store.add_customer(
            ws,
            decide.NewCustomer(
                name=text, person_type="natural", channel="phone", expert=EXPERT, need=text
            ),
            now=NOW,
        )
        numbers.append(str(plan.result["customer_no"]))
    first = numbers[0]
    store.add_followup(
        ws,
        decide.NewFollowUp(
            customer_no=first,
            type="phone",
            note=HOSTILE[5],
            next_action=HOSTILE[-2],
            next_due=NOW + dt.timedelta(days=1),
        ),
        now=NOW + dt.timedelta(hours=1),
    )
    plan = complaints.add_complaint(
        ws, first, subject=HOSTILE[0], channel="phone", severity="high", now=NOW
    )
    complaints.add_action(
        ws,
        str(plan.result["complaint_no"]),
        action=HOSTILE[6],
        owner=EXPERT,
        due=NOW + dt.timedelta(days=2),
        now=NOW,
    )
    surveys.add_survey(
        ws, first, scores=["q1=5", "q2=4", "q3=5", "q4=4", "q5=5"], comment=HOSTILE[7], now=NOW
    )
    plans.add_plan(
        ws, period="1404", horizon="short", market="b2b", target="1000000", note=HOSTILE[8]
    )
    yield {"ws": ws, "numbers": numbers}


def test_register_and_customer_forms_keep_the_text(hostile: dict[str, Any]) -> None:
    ws: Workspace = hostile["ws"]
    book = FormBook.open(ws.register_path)
    rows = dict(book.read_table(CUSTOMERS.name))
    fast = dict(read_table_fast(ws.register_path, book.form, CUSTOMERS.name))
    sheet = book.sheet(CUSTOMERS.name)
    cols = book.header_columns(CUSTOMERS.name)
    for (r, values), text in zip(sorted(rows.items()), HOSTILE, strict=True):
        _literal(sheet.cell(r, cols["name"]), text)
        _literal(sheet.cell(r, cols["need"]), text)
        assert values["name"] == fast[r]["name"] == normalize(text)
    for no, text in zip(hostile["numbers"], HOSTILE, strict=True):
        folder = find_customer_folder(ws.customers_dir, no)
        assert folder is not None
        form = FormBook.open(folder / customer_form_name(no))
        _literal(form.sheet(REGISTRATION.name)[form.block_cell(REGISTRATION.name, "need")], text)


def test_validate_reads_the_names_as_written(hostile: dict[str, Any]) -> None:
    """Review §A3, last sentence: validate reported every injected name as missing."""
    report = validate_paths([hostile["ws"].root])
    assert [f for f in report.findings if f.field in ("name", "need")] == []
    assert report.counts.error == 0, [(f.code, f.file, f.cell) for f in report.findings]


def test_followup_note_and_next_action(hostile: dict[str, Any]) -> None:
    ws: Workspace = hostile["ws"]
    no = hostile["numbers"][0]
    folder = find_customer_folder(ws.customers_dir, no)
    assert folder is not None
    form = FormBook.open(folder / customer_form_name(no))
    ((r, _),) = form.read_table(FOLLOWUPS.name)
    cols = form.header_columns(FOLLOWUPS.name)
    _literal(form.sheet(FOLLOWUPS.name).cell(r, cols["description"]), HOSTILE[5])
    _literal(form.sheet(FOLLOWUPS.name).cell(r, cols["next_action"]), HOSTILE[-2])
    reg = FormBook.open(ws.register_path)
    rr, _ = reg.read_table(CUSTOMERS.name)[0]
    _literal(reg.sheet(CUSTOMERS.name).cell(rr, reg.header_columns(CUSTOMERS.name)["next_action"]),
             HOSTILE[-2])  # fmt: skip


def test_company_name_in_every_header(hostile: dict[str, Any]) -> None:
    ws: Workspace = hostile["ws"]
    no = hostile["numbers"][0]
    folder = find_customer_folder(ws.customers_dir, no)
    assert folder is not None
    books = [
        ws.register_path,
        folder / customer_form_name(no),
        *(ws.form_template(f) for f in schema.FORMS.values()),
        *(ws.root / f.filename for f in (COMPLAINTS_FORM, SATISFACTION_FORM, PLANS_FORM)),
    ]
    for path in books:
        wb = openpyxl.load_workbook(path)
        for sheet in wb.worksheets:
            if sheet.sheet_state != "visible":
                continue
            # The ISO header's company cell (beside the logo cell, in the first row).
            top = [c for row in sheet.iter_rows(max_row=1) for c in row if c.value is not None]
            if not top:
                continue
            named = [c for c in top if c.value == COMPANY]
            assert named, (path.name, sheet.title, [c.value for c in top])
            for cell in named:
                assert cell.data_type == "s" and cell.quotePrefix, (path.name, sheet.title)
    _no_formulas(*books)


def test_complaint_survey_plan_books(hostile: dict[str, Any]) -> None:
    ws: Workspace = hostile["ws"]
    expect = [
        (COMPLAINTS_FORM, "Complaints", {"subject": HOSTILE[0]}),
        (COMPLAINTS_FORM, "ComplaintActions", {"action": HOSTILE[6]}),
        (SATISFACTION_FORM, "Surveys", {"comment": HOSTILE[7]}),
        (PLANS_FORM, "Plans", {"note": HOSTILE[8]}),
    ]
    for form, table, fields in expect:
        book = open_book(ws.root / form.filename, form)
        ((r, values),) = book.read_table(table)
        cols = book.header_columns(table)
        for key, text in fields.items():
            _literal(book.sheet(table).cell(r, cols[key]), text)
            assert values[key] == normalize(text)


def test_reports_and_exports_hold_no_formula(hostile: dict[str, Any], tmp_path: Path) -> None:
    """complaint|survey|plan report, parties export, the task lists: text stays text."""
    ws: Workspace = hostile["ws"]
    outs = {
        "complaint": tmp_path / "complaints.xlsx",
        "survey": tmp_path / "surveys.xlsx",
        "plan": tmp_path / "plans.xlsx",
        "parties": tmp_path / "parties.xlsx",
        "tasks": tmp_path / "tasks.xlsx",
    }
    w = ["-w", str(ws.root)]
    runner = CliRunner()
    for cmd in (
        ["complaint", "report", "--xlsx", str(outs["complaint"])],
        ["survey", "report", "--xlsx", str(outs["survey"])],
        ["plan", "report", "--xlsx", str(outs["plan"])],
        ["parties", "export", str(outs["parties"])],
        ["overdue", "--at", "1404/02/20", "--xlsx", str(outs["tasks"])],
    ):
        res = runner.invoke(main, w + cmd)
        assert res.exit_code == 0, (cmd, res.output)
    _no_formulas(*outs.values())
    texts = {normalize(t) for t in HOSTILE}
    carries = {  # the user texts each output shows besides the company in its header
        "complaint": {normalize(HOSTILE[0])},
        "survey": set(),
        "plan": set(),
        "parties": texts,
        "tasks": texts,
    }
    for name, path in outs.items():
        found = {
            c.value
            for sheet in openpyxl.load_workbook(path).worksheets
            for row in sheet.iter_rows()
            for c in row
            if isinstance(c.value, str) and (c.value in texts or c.value == COMPANY)
        }
        assert COMPANY in found, name
        if carries[name]:
            assert found & carries[name], (name, found)


def test_lead_import_csv_and_xlsx(tmp_path: Path) -> None:
    """Lead import, the untrusted path: a file's cells arrive as text cells."""
    ws = init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[EXPERT])
    src = tmp_path / "leads.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["نام", "موبایل", "نیاز"])
        for i, text in enumerate(HOSTILE[:6]):
            w.writerow([text, f"0912{i:07d}", HOSTILE[-1]])
    result = leads.import_leads(ws, src, channel="phone", expert=EXPERT, commit=True, now=NOW)
    assert result["registered"] == 6, result
    import xlsxwriter

    xsrc = tmp_path / "leads.xlsx"
    book = xlsxwriter.Workbook(str(xsrc))
    sh = book.add_worksheet()
    for c, h in enumerate(["نام", "موبایل", "نیاز"]):
        sh.write_string(0, c, h)
    for r, text in enumerate(HOSTILE[6:], 1):
        sh.write_string(r, 0, text)  # a text cell as an export would hold it
        sh.write_string(r, 1, f"0935{r:07d}")
        sh.write_string(r, 2, HOSTILE[-2])
    book.close()
    result = leads.import_leads(ws, xsrc, channel="phone", expert=EXPERT, commit=True, now=NOW)
    assert result["registered"] == len(HOSTILE) - 6, result
    reg = FormBook.open(ws.register_path)
    sheet, cols = reg.sheet(CUSTOMERS.name), reg.header_columns(CUSTOMERS.name)
    rows = reg.read_table(CUSTOMERS.name)
    assert len(rows) == len(HOSTILE)
    for (r, _), text in zip(rows, HOSTILE, strict=True):
        _literal(sheet.cell(r, cols["name"]), text)
    for no in [str(v["customer_no"]) for _, v in rows]:
        folder = find_customer_folder(ws.customers_dir, no)
        assert folder is not None
        _no_formulas(folder / customer_form_name(no))
    assert validate_paths([ws.root]).counts.error == 0


def test_fix_and_annotate_keep_a_revealed_formula_literal(tmp_path: Path) -> None:
    """``--fix`` strips the RLM in front of ``=`` (normalisation *creates* the lead); the
    fixed cell and the ``--annotate`` copy still hold text."""
    ws = init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[EXPERT])
    store.add_customer(
        ws,
        decide.NewCustomer(
            name="مشتری", person_type="natural", channel="phone", expert=EXPERT, need="پمپ"
        ),
        now=NOW,
    )
    typed = "\u200f=SUM(1,2)  يك"  # pasted from a web page: RLM, Arabic letters, two spaces
    wb = openpyxl.load_workbook(ws.register_path)
    sheet = wb[CUSTOMERS.sheet]
    need = FormBook(wb, FormBook.open(ws.register_path).form).header_columns(CUSTOMERS.name)["need"]
    sheet.cell(6, need).value = typed  # a string cell: it does not begin with "="
    wb.save(ws.register_path)
    res = CliRunner().invoke(
        main,
        ["-w", str(ws.root), "validate", "--fix", "--format", "json",
         "--annotate", str(tmp_path / "annotated")],
    )  # fmt: skip
    data = json.loads(res.output)
    assert "fixes" in data, data
    assert any(f["old"] == typed for f in data["fixes"]), data["fixes"]
    fixed = _cell(ws.register_path, CUSTOMERS.sheet, sheet.cell(6, need).coordinate)
    _literal(fixed, typed)
    assert fixed.value == "=SUM(1,2) یک"
    _no_formulas(ws.register_path, *(Path(p) for p in data.get("annotated", [])))


def test_write_cell_numbers_stay_numbers_and_the_prefix_goes(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for ref, value in {"A1": -5, "A2": 1.5, "A3": 0, "A4": "-", "A5": "C-00001"}.items():
        write_cell(ws[ref], value)
    write_cell(ws["B1"], "=1+1")
    write_cell(ws["B1"], "plain")  # a later write of plain text drops the quote prefix
    wb.save(tmp_path / "n.xlsx")
    back = openpyxl.load_workbook(tmp_path / "n.xlsx").active
    assert back is not None
    assert [back[f"A{i}"].value for i in range(1, 6)] == [-5, 1.5, 0, "-", "C-00001"]
    assert [back[f"A{i}"].data_type for i in range(1, 4)] == ["n", "n", "n"]
    assert back["A4"].quotePrefix and not back["A5"].quotePrefix
    assert back["B1"].value == "plain" and not back["B1"].quotePrefix


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", True), ("+98", True), ("-", True), ("@x", True), ("\t=x", True),
        ("\u200f=x", True), ("\u200e+x", True), ("\u200c-x", True), ("\ufeff@x", True),
        ("\xa0=x", True), (" =x", True), ("علی", False), ("C-00001", False), ("a=b", False),
        ("", False), ("\u200f", False), (5, False), (None, False),
    ],
)  # fmt: skip
def test_formula_like(text: object, expected: bool) -> None:
    assert formula_like(text) is expected


def test_panel_list_writes_text_format_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The panel's «مشتریان من» formats its cells as Text (@) before it writes the names, so
    Excel keeps ``=…`` literal; the recorded actions are played back as Excel applies them."""
    import xlwings as xw
    import xlwings_remote as remote

    from crm_xl.excel import buttons
    from crm_xl.excel.panel import build_panel
    from crm_xl.io import vba

    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")  # tests only
    remote.ensure_remote_engine()
    ws = init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[EXPERT])
    panel = build_panel(ws, EXPERT, out=tmp_path / "panel.xlsm")
    inp = decide.NewCustomer(
        name=HOSTILE[-2], person_type="natural", channel="phone", expert=EXPERT, need="پمپ"
    )
    store.add_customer(ws, inp, now=NOW)
    book = xw.Book(json=remote.book_json_from_file(panel))
    buttons.refresh_lists(book)
    actions = book.json()["actions"]
    sheet_pos = openpyxl.load_workbook(panel).sheetnames.index(vba.MY_CUSTOMERS_SHEET)
    order = [
        a["func"]
        for a in actions
        if a["sheet_position"] == sheet_pos and a["func"] in ("setNumberFormat", "setValues")
    ]
    assert order[:2] == ["setNumberFormat", "setValues"], order
    fmt = next(a for a in actions if a["func"] == "setNumberFormat")
    assert fmt["args"][0] == "@"
    remote.apply_actions(panel, actions)
    cell = openpyxl.load_workbook(panel)[vba.MY_CUSTOMERS_SHEET].cell(vba.LIST_FIRST_ROW, 2)
    assert (cell.value, cell.data_type) == (HOSTILE[-2], "s")


def test_after_sales_form_and_catalog(tmp_path: Path) -> None:
    """F-31-07-01 (openpyxl, text behind the RLM products put in front) and the catalog
    (XlsxWriter) hold text; the catalog's links to the forms beside it are not external."""
    from crm_xl.domain.schema import F_31_07_01, PRODUCT
    from crm_xl.ops import products

    ws = init_workspace(tmp_path / "ws", company=COMPANY, experts=[EXPERT])
    args = ["-w", str(ws.root), "product", "add", "--code", "P-100", "--name", HOSTILE[0],
            "--origin", "domestic", "--service", "installation", "--commitment", HOSTILE[-1],
            "--commitment-date", "1403/01/05", "--note", HOSTILE[3]]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    form = products.product_path(ws, "P-100")
    assert form is not None
    book = FormBook.open(form)
    assert book.form is F_31_07_01
    sheet = book.sheet(PRODUCT.name)
    for key, text in {"product": HOSTILE[0], "commitment_ref": HOSTILE[-1],
                      "notes": HOSTILE[3]}.items():  # fmt: skip
        _literal(sheet[book.block_cell(PRODUCT.name, key)], text)
    catalog = products.catalog_path(ws)
    _no_formulas(form, catalog)
    cells = {
        c.value
        for s in openpyxl.load_workbook(catalog).worksheets
        for row in s.iter_rows()
        for c in row
        if isinstance(c.value, str)
    }
    assert COMPANY in cells and HOSTILE[-1] in cells
    found = validate_paths([ws.root]).findings
    assert [f for f in found if f.code.startswith("external")] == []
