"""Records fit to read and print (issue 16, review §E), checked on what LibreOffice prints.

Every kind of workbook the toolkit writes is made on a real workspace (the three templates,
a demo register, a customer form with 17 long follow-ups, after-sales forms with and without
service, the task list, the parties export, the complaint / survey / plan reports, an
annotated copy; an archive register when the workspace has one), rendered to PDF in one
soffice call, and read back with pdftotext:

1. no date prints as a serial number; every date reads 14YY/MM/DD (with the time where the
   field has one), in the cells and on paper;
2. the register prints on A4 landscape at 60 % or more with its number and name columns on
   every page, and no row's wrapped text runs into the next row (words never overlap);
3. ``COLUMNS=80 crm-xl overdue`` prints no line wider than 80 columns.

Set ``CRM_XL_RENDER_DIR`` to keep the workbooks, PDFs and PNG pages for looking at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from helpers_office import pdf_text, pdf_to_png, soffice, to_pdfs

from crm_xl.cli.main import main
from crm_xl.domain import schema
from crm_xl.domain.dates import parse_datetime
from crm_xl.domain.schema import FOLLOWUPS, Form, Table
from crm_xl.io.layout import build_templates
from crm_xl.io.workbook import FormBook, detect_form
from crm_xl.ops import books, parties

NOW = "1405/03/10 10:00"
JALALI = re.compile(r"^1[34]\d\d/\d\d/\d\d$")  # 13YY: birth dates
JALALI_TIME = re.compile(r"^1[34]\d\d/\d\d/\d\d \d\d:\d\d$")
#: A date-looking token on paper (Y/M/D or D/M/Y, any separator).
#: (ASCII digits: the input hints «مثال: ۱۴۰۳/۰۷/۱۵» are examples in Persian digits, not dates.)
DATE_TOKEN = re.compile(r"(?<![0-9/.-])([0-9]{1,4})[/-]([0-9]{1,2})[/-]([0-9]{1,4})(?![0-9/-])")
#: An Excel serial of a date between 2019 and 2036 (43466-49674), with or without a fraction.
SERIAL = re.compile(r"(?<![\w,./-])(4[3-9]\d{3})(?:\.\d+)?(?![\w,/-])")
LONG = (
    "مشتری درباره زمان تحویل، شرایط پرداخت اقساطی و گارانتی دو ساله پمپ‌ها پرسید؛ قرار شد "
    "کاتالوگ کامل، جدول قیمت و نمونه قرارداد برای واحد خرید ارسال شود و پس از بررسی فنی "
    "توسط مهندس ناظر، جلسه حضوری در دفتر مرکزی برگزار شود."
)

pytestmark = pytest.mark.slow  # one workspace with every kind of workbook, ~20 s
_no_office = soffice() is None or shutil.which("pdftotext") is None


def needs_office(f: Any) -> Any:
    """A test that reads what LibreOffice printed (one soffice call for all of them)."""
    skip = pytest.mark.skipif(_no_office, reason="LibreOffice not installed")
    return pytest.mark.libreoffice(skip(f))


def plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def run(*args: str) -> str:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 0, f"{args}\n{res.output}"
    return res.output


def _long_followups(w: Path) -> Path:
    """A customer whose form holds 17 follow-ups with long notes and next actions."""
    out = run(
        "-w", str(w), "customer", "add", "--name", "شرکت پتروشیمی نمونه شمال", "--type",
        "natural", "--channel", "phone", "--expert", "سارا احمدی", "--need", LONG,
        "--at", "1405/01/20 09:00",
    )  # fmt: skip
    no = out.strip().splitlines()[-1]
    for i in range(17):
        day = 21 + i
        month, day = (1, day) if day <= 31 else (2, day - 31)
        at = f"1405/{month:02d}/{day:02d} 10:{i:02d}"
        run(
            "-w", str(w), "followup", "add", no, "--type", "phone", "--at", at,
            "--note", f"{i + 1}. {LONG}", "--next-action", LONG[: 60 + 5 * i],
            "--next-due", f"1405/03/{(i % 20) + 11:02d} 12:00", "--minutes", "25",
        )  # fmt: skip
    (form,) = (w / "customers").glob(f"{no} - */F-31-08-01 {no}.xlsx")
    return form


def build_everything(root: Path) -> dict[str, Path]:
    """Every workbook type the toolkit writes, by name."""
    from crm_xl.ops.demo import build_demo

    out: dict[str, Path] = {}
    for p in build_templates(root / "templates"):
        out[f"template {p.stem}"] = p
    ws, _ = build_demo(root / "DEMO", customers=12, now=parse_datetime(NOW))
    w = ws.root
    out["register"] = ws.register_path
    out["followups17"] = _long_followups(w)
    reg = openpyxl.load_workbook(ws.register_path, read_only=True)
    invoice = next(
        str(r[0]) for r in reg[schema.INVOICES.sheet].iter_rows(min_row=6, values_only=True) if r[0]
    )
    run("-w", str(w), "void", invoice, "--reason", "مبلغ اشتباه")  # a void row prints struck
    run(
        "-w", str(w), "product", "add", "--code", "PUMP-01", "--name", "پمپ سانتریفیوژ",
        "--origin", "imported", "--service", "installation:یک‌بار:0",
        "--service", "servicing:هر ۶ ماه:12,500,000", "--commitment", "ن-۱۲۳",
        "--commitment-date", "1404/12/01",
    )  # fmt: skip
    run(
        "-w", str(w), "product", "add", "--code", "FILTER-2", "--name", "فیلتر",
        "--origin", "domestic", "--no-service", "--reason", "simplicity",
    )  # fmt: skip
    out["aftersales with service"] = w / "after-sales" / "F-31-07-01 PUMP-01.xlsx"
    out["aftersales without service"] = w / "after-sales" / "F-31-07-01 FILTER-2.xlsx"
    out["aftersales catalog"] = w / "after-sales" / "catalog.xlsx"
    run(
        "-w", str(w), "complaint", "add", "C-00001", "--subject", LONG, "--channel", "phone",
        "--severity", "high", "--cause", "delivery", "--at", "1405/03/01 10:00",
    )  # fmt: skip
    run(
        "-w", str(w), "complaint", "action", "CMP-00001", "--action", "پیگیری با انبار",
        "--owner", "محمد رضایی", "--due", "1405/03/05 12:00",
    )  # fmt: skip
    run("-w", str(w), "survey", "add", "C-00002", "--score", "q1=4", "--score", "q2=5",
        "--at", "1405/03/02")  # fmt: skip
    run("-w", str(w), "plan", "add", "--period", "1405", "--horizon", "long", "--market",
        "B2B", "--target", "50000000000", "--expert", "سارا احمدی")  # fmt: skip
    for name in ("complaint", "survey", "plan"):
        target = root / f"{name}-report.xlsx"
        run("-w", str(w), name, "report", "--xlsx", str(target))
        out[f"{name} report"] = target
    for form in (books.COMPLAINTS_FORM, books.SATISFACTION_FORM, books.PLANS_FORM):
        out[f"book {form.code}"] = books.book_path(ws, form)
    out["tasks"] = root / "tasks.xlsx"
    run("-w", str(w), "overdue", "--at", NOW, "--xlsx", str(out["tasks"]))
    out["parties"] = root / "parties.xlsx"
    parties.export_parties(ws, out["parties"])
    # A hand-edited copy of a form: a bad mobile and a real Excel date typed in.
    bad = root / "hand-edited.xlsx"
    shutil.copy(out["followups17"], bad)
    wb = openpyxl.load_workbook(bad)
    book = FormBook(wb, schema.F_31_08_01, bad)
    reg = book.sheet("Registration")
    rows = book.block_rows("Registration")
    reg.cell(rows["mobile"], schema.BLOCK_VALUE_COL).value = "12345"
    reg.cell(rows["birth_date"], schema.BLOCK_VALUE_COL).value = parse_datetime(
        "1370/05/04"
    ).replace(tzinfo=None)
    wb.save(bad)
    out["annotated"] = root / "annotated.xlsx"
    res = CliRunner().invoke(main, ["validate", str(bad), "--annotate", str(out["annotated"])])
    assert res.exit_code == 1 and out["annotated"].exists(), res.output
    for p in sorted((w / "archive").glob("F-31-08-02*.xls[xm]")):  # archive registers, if any
        out[f"archive {p.stem}"] = p
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    keep = os.environ.get("CRM_XL_RENDER_DIR")
    root = Path(keep) if keep else tmp_path_factory.mktemp("print")
    if keep:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
    return build_everything(root)


@pytest.fixture(scope="module")
def pdfs(made: dict[str, Path]) -> dict[str, Path]:
    if soffice() is None:
        pytest.skip("LibreOffice not installed")
    # Distinct stems: soffice names each PDF after its workbook.
    staged = made["register"].parent.parent / "stage"
    staged.mkdir(exist_ok=True)
    copies = {}
    for i, (name, path) in enumerate(made.items()):
        copies[name] = staged / f"{i:02d}-{path.stem}{path.suffix}"
        shutil.copy(path, copies[name])
    out = to_pdfs(copies.values(), staged / "pdf", timeout=600)
    if os.environ.get("CRM_XL_RENDER_DIR"):
        for pdf in out:
            pdf_to_png(pdf, staged / "png", dpi=60)
    return dict(zip(copies, out, strict=True))


# --- 1. dates --------------------------------------------------------------------------------


def _form_of(path: Path) -> Form | None:
    try:
        return detect_form(path)
    except Exception:
        for form in books.EXTRA_FORMS.values():
            if path.name == form.filename:
                return form
        return parties.PARTIES_FORM if path.name == "parties.xlsx" else None


def test_every_date_cell_is_jalali_text(made: dict[str, Path]) -> None:
    """In every record and export, each date field's cell holds 14YY/MM/DD[ HH:MM] text."""
    checked = 0
    for name, path in made.items():
        form = _form_of(path)
        if form is None:
            continue
        wb = openpyxl.load_workbook(path)
        book = FormBook(wb, form, path)
        for part in form.parts:
            if part.sheet not in wb.sheetnames:
                continue
            ws = wb[part.sheet]
            if isinstance(part, Table):
                cols = book.header_columns(part.name)
                cells = [
                    (f, ws.cell(r, cols[f.key]).value)
                    for f in part.fields
                    if f.is_date
                    for r in range(schema.FIRST_DATA_ROW, ws.max_row + 1)
                ]
            else:
                rows = book.block_rows(part.name)
                cells = [
                    (f, ws.cell(rows[f.key], schema.BLOCK_VALUE_COL).value)
                    for f in part.fields
                    if f.is_date
                ]
            for f, v in cells:
                if v is None:
                    continue
                want = JALALI_TIME if f.type == schema.FieldType.DATETIME else JALALI
                assert isinstance(v, str) and want.match(v), (name, part.sheet, f.key, v)
                checked += 1
    assert checked > 100


@needs_office
def test_no_date_prints_as_a_serial_number(pdfs: dict[str, Path]) -> None:
    dates = 0
    for name, pdf in pdfs.items():
        text = plain(pdf_text(pdf))
        assert not SERIAL.findall(text), (name, SERIAL.findall(text)[:5])
        for m in DATE_TOKEN.finditer(text):
            token = m.group(0)
            assert re.fullmatch(r"1[34]\d\d/\d\d/\d\d", token), (name, token)
            dates += 1
        if name not in ("template F-31-08-01", "template F-31-07-01", "template F-31-08-02"):
            assert DATE_TOKEN.search(text), f"{name}: no date printed"
    assert dates > 100
    # the annotated copy shows the date a person typed as a real Excel date in Jalali too
    assert "1370/05/04" in plain(pdf_text(pdfs["annotated"]))


# --- 2. the register on paper ------------------------------------------------------------------


def _pages(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return [
        (float(m.group(1)), float(m.group(2)))
        for m in re.finditer(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)
    ]


def test_register_page_setup(made: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(made["register"])
    ws = wb[schema.CUSTOMERS.sheet]
    a4 = int(ws.page_setup.paperSize) == 9
    assert (a4 and ws.page_setup.orientation == "landscape") or int(ws.page_setup.paperSize) == 8
    if a4:
        assert not ws.sheet_properties.pageSetUpPr.fitToPage
        assert int(ws.page_setup.scale or 100) >= 60
        assert ws.print_title_cols == "$A:$B"  # customer number and name on every page
    assert ws.print_title_rows == f"$1:${schema.LABEL_ROW}"
    last = openpyxl.utils.range_boundaries(ws.print_area.split("!")[1].replace("$", ""))[2]
    assert schema.CUSTOMERS.keys[last - 1] not in ("folder", "record_status")
    assert {"folder", "record_status"} <= set(schema.CUSTOMERS.keys[last:])
    assert ws.freeze_panes == f"C{schema.FIRST_DATA_ROW}"  # key columns frozen on screen


def _wrapped_rows(path: Path) -> list[tuple[str, int, float, int]]:
    """(sheet, row, height, lines needed) of each written table row with wrapped text; lines
    estimated independently of the writer: 1.25 characters per width unit."""
    form = _form_of(path)
    assert form is not None
    wb = openpyxl.load_workbook(path)
    out = []
    for t in form.tables.values():
        ws = wb[t.sheet]
        widths = {
            c: float(d.width)
            for d in ws.column_dimensions.values()
            if d.width and d.min
            for c in range(d.min, (d.max or d.min) + 1)
        }
        for r in range(schema.FIRST_DATA_ROW, ws.max_row + 1):
            need = 1
            for c in range(1, len(t.fields) + 1):
                cell = ws.cell(r, c)
                if cell.alignment.wrap_text and isinstance(cell.value, str):
                    per_line = max(1, int(widths.get(c, 8.43) * 1.25))
                    need = max(need, -(-len(cell.value) // per_line))
            if need > 1:
                out.append((t.sheet, r, ws.row_dimensions[r].height or 15.0, need))
    return out


def test_row_heights_fit_wrapped_text(made: dict[str, Path]) -> None:
    rows: list[Any] = []
    for name in ("register", "followups17", "parties", "book CRM-CMP"):
        rows += [(name, *r) for r in _wrapped_rows(made[name])]
    assert len([r for r in rows if r[0] == "followups17"]) >= 17
    short = [r for r in rows if r[3] < 12.0 * r[4]]
    assert not short, short[:5]


def _words(pdf: Path) -> list[tuple[int, float, float, float, float, str]]:
    xml = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    out, page = [], 0
    for line in xml.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', line
        )
        if m:
            x0, y0, x1, y1 = (float(m.group(i)) for i in range(1, 5))
            out.append((page, x0, y0, x1, y1, m.group(5)))
    return out


@needs_office
@pytest.mark.parametrize(
    "name", ["register", "followups17", "parties", "tasks", "complaint report", "book CRM-CMP"]
)
def test_nothing_overprints(name: str, pdfs: dict[str, Path]) -> None:
    """No two words on a page overlap: wrapped text stays inside its row."""
    words = _words(pdfs[name])
    clashes = []
    for i, (p, x0, y0, x1, y1, w) in enumerate(words):
        for q, a0, b0, a1, b1, v in words[i + 1 : i + 400]:
            if q != p:
                break
            dx = min(x1, a1) - max(x0, a0)
            dy = min(y1, b1) - max(y0, b0)
            if dx > 1.5 and dy > 0.4 * min(y1 - y0, b1 - b0):
                clashes.append((p, w, v))
    assert not clashes, clashes[:5]


@needs_office
def test_register_prints_on_a4_landscape_with_keys_on_every_page(
    pdfs: dict[str, Path], made: dict[str, Path]
) -> None:
    pages = _pages(pdfs["register"])
    assert pages and all(sorted((round(w), round(h))) == [595, 842] for w, h in pages)  # A4
    per_page = plain(pdf_text(pdfs["register"])).split("\f")
    # the customers sheet prints landscape over several pages (the first ones), each with the
    # whole ISO header and the customer numbers (and names) of the repeated key columns
    wide = [t for (w, _), t in zip(pages, per_page, strict=False) if w > 800 and "C-00013" in t]
    assert len(wide) >= 3
    for t in wide:
        assert "F-31-08-02" in t and "1403/01/01" in t  # code and revision date
    assert not [t for t in per_page if "customer" in t and "invoice" in t]  # no _counters


# --- 3. the terminal -----------------------------------------------------------------------------


def test_overdue_fits_80_columns(made: dict[str, Path]) -> None:
    from rich.cells import cell_len

    w = made["register"].parent
    env = {**os.environ, "COLUMNS": "80"}
    for extra in ([], ["--expert", "سارا احمدی"], ["--all"]):
        proc = subprocess.run(
            [sys.executable, "-m", "crm_xl", "-w", str(w), "overdue", "--at", NOW, *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines and max(cell_len(line) for line in lines) <= 80
        # tables are whole: every box line is closed on the right
        assert all(line.rstrip()[-1] in "┓┃┩│┘" for line in lines if line[:1] in "┏┃┡│└")


def test_overdue_expert_summary_counts_only_that_expert(made: dict[str, Path]) -> None:
    import json

    w = made["register"].parent
    whole = json.loads(run("-w", str(w), "--json", "overdue", "--at", NOW))
    one = json.loads(run("-w", str(w), "--json", "overdue", "--at", NOW, "--expert", "سارا احمدی"))
    total = sum(s["count"] for s in whole["by_state"])
    mine = sum(s["count"] for s in one["by_state"])
    assert 0 < mine < total
    assert one["customers"] == mine and [e["expert"] for e in one["by_expert"]] == ["سارا احمدی"]
    assert sum(s["count"] for s in one["funnel"][:1]) == mine


def test_followup_log_with_17_long_notes_is_readable(made: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(made["followups17"])
    ws = wb[FOLLOWUPS.sheet]
    heights = [ws.row_dimensions[r].height for r in range(6, 23)]
    assert all(h and h >= 13 * 5 for h in heights), heights  # ~250 characters in 40 units
