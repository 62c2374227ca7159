"""The one right-to-left sheet writer (XlsxWriter): the ISO forms from the schema, and reports.

Every sheet the toolkit lays out, a template or a report, has the same ISO look: a bordered
header block (logo cell, company, title, sheet title; form code, revision and revision date
or the report's date), «صفحه x از y» in the page footer, Tahoma, right-to-left, rows as tall
as their wrapped text, and a page setup a person can read (A4 at 60 % or more; a table too
wide for one page prints over several, its key columns and header repeated on each).

Form sheets share one shape, so one reader (``workbook``) serves all of them:

* rows 1..HEADER_ROWS: the ISO header block;
* tables: row KEY_ROW (hidden) holds the English field keys, row LABEL_ROW the Persian
  labels as the header of an Excel table named ``Table.name``; data from FIRST_DATA_ROW.
  A fresh visible table has RULED_ROWS blank ruled rows (a form filled in by hand), a hidden
  one a single blank row (Excel needs one); readers skip blank rows.  Drop-downs, input
  messages and formats cover FIRST_DATA_ROW .. LAST_VALIDATION_ROW, column formats the rest;
* blocks: row HEADER_ROWS+1 shows the block title, one line per field from
  BLOCK_FIRST_ROW: column A hidden key, B Persian label, C value, D hint; the three
  signature boxes (تهیه‌کننده / تأییدکننده / تصویب‌کننده) below the last line.

Sheets are protected without a password: only input cells are unlocked; the hidden key row,
numbers the toolkit issues, the columns it computes and the hidden sheets are locked.

Defined names (all workbook scope):

* ``crm_form`` = ``="F-31-08-02"`` (string constant): recognises the form by content;
* ``crm_revision`` = ``="00"``; ``crm_company`` → the company cell of the first sheet;
* ``list_<Enum>`` → the Persian labels of an enumeration on the hidden ``_lists`` sheet
  (``list_Experts``: the experts of the settings, when known);
* ``<Table>_keys`` → a table's key row; ``<Block>_keys`` → a block's key column;
* ``<Block>_<key>`` → a block's value cell (e.g. ``Registration_customer_no``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from crm_xl.domain import schema
from crm_xl.domain.enums import ENUMS, FollowUpState, RecordStatus
from crm_xl.domain.schema import Block, Field, FieldType, Form, Table
from crm_xl.io.guard import formula_like

DEFAULT_COMPANY = "نام شرکت"
#: Last row (1-based) given drop-downs, formats and conditional formats in a fresh table.
LAST_VALIDATION_ROW = schema.FIRST_DATA_ROW + schema.VALIDATION_ROWS - 1
#: Blank ruled rows of a fresh table filled in by hand (the follow-up log, printed blank).
RULED_ROWS = 15
RULED_TABLES = frozenset({"FollowUps"})
#: Fixed creation time so regenerated templates are identical in content and metadata.
CREATED = dt.datetime(2024, 3, 20, 0, 0, 0)
TABLE_STYLE = "Table Style Light 15"
#: Identifier types kept as text ("@") so leading zeros a user types survive.
TEXT_ID_TYPES = frozenset(
    {
        FieldType.NATIONAL_CODE,
        FieldType.LEGAL_ID,
        FieldType.NATIONAL_ID,
        FieldType.ECONOMIC_CODE,
        FieldType.POSTAL_CODE,
        FieldType.MOBILE,
        FieldType.PHONE,
        FieldType.CUSTOMER_NO,
        FieldType.CASE_NO,
        FieldType.CONTRACT_NO,
        FieldType.INVOICE_NO,
        FieldType.TAX_ID,
    }
)
#: Field types whose cells wrap (and whose rows grow with their text).
WRAP_TYPES = frozenset(
    {FieldType.TEXT, FieldType.LONGTEXT, FieldType.CATEGORY, FieldType.ENUM, FieldType.EMAIL}
)
DATE_INPUT_TITLE = "تاریخ"
DATE_INPUT_MESSAGE = "تاریخ را شمسی تایپ کنید، مثل ۱۴۰۳/۰۷/۱۵"
DATETIME_INPUT_MESSAGE = "تاریخ و ساعت را شمسی تایپ کنید، مثل ۱۴۰۳/۰۷/۱۵ ۱۰:۳۰"
LIST_ERROR_TITLE = "مقدار نامعتبر"
EXPERTS_LIST = "Experts"
#: Fields that name a sales expert: their drop-down is the experts of the settings.
EXPERT_KEYS = frozenset({"expert", "next_owner", "owner", "responsible"})
#: Row fills of the register by follow-up state (SPEC §6): overdue red, due today amber, stalled
#: grey, no planned next action lavender.
STATE_FILLS: dict[FollowUpState, str] = {
    FollowUpState.OVERDUE: "#F8CBAD",
    FollowUpState.DUE_TODAY: "#FFE699",
    FollowUpState.STALLED: "#D9D9D9",
    FollowUpState.NO_NEXT_ACTION: "#D9D2E9",
}
#: A void row (record status «باطل»): grey, struck through; it stays, it does not count.
VOID_STYLE = {"font_strikeout": True, "font_color": "#7F7F7F", "bg_color": "#EDEDED"}

# --- what the toolkit owns, what prints ----------------------------------------------------

#: Columns the toolkit writes (issued numbers, computed follow-up columns, lifecycle dates):
#: locked on the protected sheet.  Every other column of a table is an input column.
#: Tables only the toolkit writes (Moadian invoice lines come from ``invoice issue --line``).
MACHINE_TABLES: frozenset[str] = frozenset({"InvoiceLines"})
TOOLKIT_FIELDS: dict[str, frozenset[str]] = {
    "Registration": frozenset({"customer_no"}),
    "Customers": frozenset(
        {
            "customer_no",
            "last_followup",
            "next_due",
            "next_action",
            "next_owner",
            "followup_state",
            "state_reason",
            "crm_done",
            "closed",
            "folder",
            "record_status",
        }
    ),
    "Cases": frozenset(
        {
            "case_no",
            "customer_no",
            "customer_name",
            "opened",
            "contract_no",
            "contract_date",
            "invoice_nos",
            "amount",
            "status",
            "record_status",
        }
    ),
    "Invoices": frozenset(
        {"invoice_no", "case_no", "customer_no", "issued", "amount", "tax_id", "record_status"}
    ),
    "Complaints": frozenset({"complaint_no"}),
    "Surveys": frozenset({"survey_no", "average"}),
}
#: Helper columns that stay on screen but never print (they trail their tables).
HELPER_FIELDS = frozenset({"folder", "record_status"})
#: Leading columns repeated on every page of a table printed over several pages.
PRINT_KEYS: dict[str, int] = {
    "Customers": 2,
    "Parties": 2,
    "Complaints": 3,
    "Cases": 3,
    "FollowUps": 2,
}
#: Money columns summed in their table's header (void rows left out).
TOTAL_FIELDS = frozenset({"amount", "cost", "target"})

# --- page setup -------------------------------------------------------------------------------

PAPER_A4 = 9
MAX_ROW = 1_048_574  # 0-based; one short of the last row, which Excel writes as whole columns
#: ("$A:$U"), a print area openpyxl drops on load
A4_INCHES = (8.27, 11.69)
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.5, "bottom": 0.75}
#: Smallest print scale of any sheet; a table wider than that prints over several pages.
MIN_SCALE = 60
#: Scale aimed at when a wide table is spread over pages (fewest pages reaching it).
SPREAD_SCALE = 70
#: Pixels of a column width unit: 7 with Tahoma (Excel on Windows), 8.5 where LibreOffice
#: substitutes a wider font (DejaVu Sans on Linux); plans use the wider, so pages never spill.
PX_PER_UNIT, PX_PAD = 8.5, 5.0
#: Room kept for LibreOffice's and printers' slightly different metrics.
FIT_SAFETY = 0.96

RLM = "\u200f"  # starts a footer paragraph right to left (LibreOffice lays it out LTR)
FOOTER = f'&C&"Tahoma"&9{RLM}صفحه &P از &N'
SIGNATURES = ("تهیه‌کننده", "تأییدکننده", "تصویب‌کننده")
#: The forms' table sheets: the three signatures and the page number on every printed page,
#: right to left (تهیه‌کننده and تأییدکننده on the right).  One line per section: a line
#: break does not survive an openpyxl save.  Sections in the order &L &C &R, as Excel writes
#: them (openpyxl reads no other order).
FORM_FOOTER = (
    f'&L&"Tahoma"&9{RLM}{SIGNATURES[2]}: ................'
    f'&C&"Tahoma"&9{RLM}صفحه &P از &N'
    f'&R&"Tahoma"&9{RLM}{SIGNATURES[0]}: ................    {SIGNATURES[1]}: ................'
)
BLOCK_WIDTHS = {"label": 34, "value": 44, "hint": 30}
LOGO_TEXT = "محل آرم"

# --- measuring text ---------------------------------------------------------------------------

#: Points per line of Tahoma 10 in a wrapped cell, and the cell's top/bottom padding.
LINE_PT, ROW_PAD_PT = 13.0, 3.0
#: Characters per column-width unit: Persian letters in Tahoma are narrower than the digit
#: that defines the unit; the estimate errs on the long side so rows are never too short.
CHARS_PER_UNIT = 1.1


def text_lines(text: object, width: float, size: float = schema.FONT_SIZE) -> int:
    """Lines ``text`` wraps to in a column ``width`` units wide (explicit line breaks kept),
    at font ``size`` points."""
    s = "" if text is None else str(text)
    if not s or width <= 0:
        return 1
    per_line = max(1, int((width - 1) * CHARS_PER_UNIT * schema.FONT_SIZE / size))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in s.split("\n"))


def row_height(cells: Iterable[tuple[object, float]], minimum: float | None = None) -> float | None:
    """Points a row needs so every wrapped ``(text, column width)`` shows; None: one line fits
    (the default height), unless ``minimum`` asks for more."""
    lines = max((text_lines(t, w) for t, w in cells), default=1)
    if lines <= 1:
        return minimum
    return max(LINE_PT * lines + ROW_PAD_PT, minimum or 0)


def wraps(f: Field) -> bool:
    return f.type in WRAP_TYPES


def is_input(part: Table | Block, f: Field) -> bool:
    """A cell a person fills in (unlocked on the protected sheet); machine sheets have none."""
    if isinstance(part, Table) and (part.hidden or part.name in MACHINE_TABLES):
        return False
    return f.key not in TOOLKIT_FIELDS.get(part.name, frozenset())


def number_format(f: Field) -> str | None:
    """The Excel number format of a field's cells (None: General).  Dates are Jalali text."""
    if f.is_date:
        return schema.TEXT_FORMAT
    if f.type == FieldType.RIAL:
        return schema.RIAL_FORMAT
    if f.type == FieldType.INTEGER:
        return "0"
    if f.type in TEXT_ID_TYPES:
        return schema.TEXT_FORMAT
    return None


def enum_names(form: Form) -> list[str]:
    """Enumerations the form's fields use, in order of first use."""
    names: list[str] = []
    for part in form.parts:
        for f in part.fields:
            if f.enum and f.enum not in names:
                names.append(f.enum)
    return names


def list_name(enum: str) -> str:
    return f"list_{enum}"


def quote_sheet(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def form_meta(form: Form) -> tuple[str, str, str]:
    """The code block of a form's header: code, revision, revision date."""
    return (
        f"کد فرم: {form.code}",
        f"ویرایش: {form.revision}",
        f"تاریخ ویرایش: {form.revision_date}",
    )


# --- page plans -------------------------------------------------------------------------------


def column_px(width: float) -> float:
    return 0.0 if width <= 0 else width * PX_PER_UNIT + PX_PAD


def printable_px(landscape: bool) -> float:
    """Pixels (96 dpi, scale 100 %) across an A4 page between the side margins."""
    inches = A4_INCHES[1 if landscape else 0] - MARGINS["left"] - MARGINS["right"]
    return inches * 96 * FIT_SAFETY


@dataclass(frozen=True)
class PagePlan:
    """How a sheet prints: orientation, fixed scale, and the columns of each page."""

    landscape: bool
    scale: int
    keys: int  # leading columns repeated on every page (0: the sheet is one page wide)
    groups: tuple[tuple[int, int], ...]  # columns (0-based, inclusive) of each page after the keys
    last: int  # last printed column

    @property
    def spread(self) -> bool:
        return len(self.groups) > 1


def _partition(px: Sequence[float], n: int) -> list[tuple[int, int]]:
    """Contiguous groups (at most ``n``) of ``px`` whose widest sum is as small as possible."""

    def groups(cap: float) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        start, run = 0, 0.0
        for i, w in enumerate(px):
            if run + w > cap and i > start:
                out.append((start, i - 1))
                start, run = i, 0.0
            run += w
        out.append((start, len(px) - 1))
        return out

    lo, hi = max(px), sum(px)
    for _ in range(40):
        mid = (lo + hi) / 2
        if len(groups(mid)) <= n:
            hi = mid
        else:
            lo = mid
    return groups(hi)


def plan_pages(widths: Sequence[float], *, keys: int = 1, last: int | None = None) -> PagePlan:
    """The page setup of columns ``widths`` (0 for a hidden column) printed up to ``last``.

    One page wide when that is readable: portrait, else landscape, at 100 % or the scale
    that fits, down to MIN_SCALE.  Wider tables print over several pages at SPREAD_SCALE or
    more, the first ``keys`` columns repeated on each page.
    """
    last = len(widths) - 1 if last is None else last
    px = [column_px(w) for w in widths[: last + 1]]
    total = sum(px) or 1.0
    whole = ((0, last),)
    if total <= printable_px(False):
        return PagePlan(False, 100, 0, whole, last)
    land = printable_px(True)
    fit = min(100, int(100 * land / total))
    if fit >= MIN_SCALE:
        return PagePlan(True, fit, 0, whole, last)
    keys = max(1, min(keys, last))
    key_px, rest = sum(px[:keys]), px[keys:]
    best: tuple[int, list[tuple[int, int]]] = (0, [(0, len(rest) - 1)])
    for n in range(2, len(rest) + 1):
        groups = _partition(rest, n)
        widest = max(sum(rest[a : b + 1]) for a, b in groups)
        scale = min(100, int(100 * land / (key_px + widest)))
        if scale > best[0]:
            best = (scale, groups)
        if scale >= SPREAD_SCALE:
            break
    scale, groups = best
    return PagePlan(True, scale, keys, tuple((a + keys, b + keys) for a, b in groups), last)


def print_setup(
    ws: Worksheet,
    plan: PagePlan,
    *,
    repeat_to: int,
    footer: str = FOOTER,
    rows: int | None = None,
    area: bool = True,
) -> None:
    """A4 at the plan's scale, header rows (0..repeat_to) and key columns on every page."""
    ws.set_paper(PAPER_A4)
    if plan.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_print_scale(plan.scale)
    ws.repeat_rows(0, repeat_to)
    if plan.spread:
        ws.repeat_columns(0, plan.keys - 1)
        ws.set_v_pagebreaks([a for a, _ in plan.groups[1:]])
        ws.print_across()  # a row's pages follow each other
    if area:  # (LibreOffice prints a hidden sheet that has a print area)
        # Whole columns up to the last printed one: rows written later print too.
        ws.print_area(0, 0, MAX_ROW if rows is None else rows, plan.last)
    ws.hide_gridlines(1)  # printed gridlines off; the cells carry their own borders
    bottom = MARGINS["bottom"] + (0.25 if "\n" in footer else 0)
    ws.set_margins(left=MARGINS["left"], right=MARGINS["right"], top=MARGINS["top"], bottom=bottom)
    ws.set_footer(footer, {"margin": 0.25})
    ws.center_horizontally()


# --- styles -------------------------------------------------------------------------------------


class Styles:
    """Formats of one workbook; every one carries the form font so Calibri never appears."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self._cache: dict[tuple[tuple[str, Any], ...], Format] = {}

    def __call__(self, **props: Any) -> Format:
        props = {"font_name": schema.FONT_NAME, "font_size": schema.FONT_SIZE, **props}
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self.book.add_format(props)
        return self._cache[key]

    def field(self, f: Field, **extra: Any) -> Format:
        props: dict[str, Any] = {"valign": "top", **extra}
        nf = number_format(f)
        if nf:
            props["num_format"] = nf
        if wraps(f):
            props["text_wrap"] = True
        if f.type in (FieldType.RIAL, FieldType.INTEGER):
            props["align"] = "right"
        elif f.is_date:
            props["align"] = "center"
        else:
            # Right-to-left paragraphs: LibreOffice otherwise lays out text that starts with
            # a digit or a Latin letter («C-00001», «۱۸ ماه») left to right.
            props["reading_order"] = 2
        return self(**props)


def new_workbook(path: str | Path | IO[bytes], **options: Any) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook (file path or binary stream) with the form font as default and fixed metadata.

    Every workbook the toolkit lays out with XlsxWriter starts here. ``write`` and
    ``merge_range`` would turn a string that begins with ``=`` into a formula and one that
    looks like a URL into a hyperlink: both are off, so a company name, a customer's name or
    any other text is written as the text it is (SPEC §10, ``guard``).
    """
    opts: dict[str, Any] = {
        "default_format_properties": {"font_name": schema.FONT_NAME, "font_size": schema.FONT_SIZE},
        **options,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    book = xlsxwriter.Workbook(str(path) if isinstance(path, Path) else path, opts)
    book.set_properties({"created": CREATED, "author": "crm_xl", "company": ""})
    return book


# --- the ISO header ----------------------------------------------------------------------------


def _put(ws: Worksheet, r1: int, c1: int, r2: int, c2: int, text: object, fmt: Format) -> None:
    """Text (always as text, never a formula) or a ``Formula`` in a cell or merged range."""
    if (r1, c1) != (r2, c2):
        ws.merge_range(r1, c1, r2, c2, "", fmt)
    if isinstance(text, Formula):
        ws.write_formula(r1, c1, text.formula, fmt, text.value)
    elif text in (None, ""):
        ws.write_blank(r1, c1, None, fmt)
    else:
        ws.write_string(r1, c1, str(text), fmt)


class Formula(NamedTuple):
    """A formula the toolkit itself writes (a total), with the value to show before recalculation."""

    formula: str
    value: str | float


def _span(widths: Sequence[float], first: int, last: int, need: float, from_end: bool) -> int:
    """The column where a run of columns from ``first`` (or back from ``last``) reaches ``need``
    units of width."""
    run = 0.0
    cols = range(last, first - 1, -1) if from_end else range(first, last + 1)
    for c in cols:
        run += widths[c]
        if run >= need:
            return c
    return last if not from_end else first


def header_cells(
    widths: Sequence[float], plan: PagePlan
) -> tuple[tuple[int, int] | None, list[tuple[tuple[int, int], tuple[int, int] | None]]]:
    """Where the header block goes: the logo's columns, and per printed page the columns of
    its company/title cells and of its code block (None when the page is too narrow)."""
    if plan.spread:
        logo: tuple[int, int] | None = (0, plan.keys - 1)
        bodies = list(plan.groups)
    else:
        end = _span(widths, 0, plan.last, 10, from_end=False)
        if end >= plan.last - 1:
            logo, bodies = None, [(0, plan.last)]
        else:
            logo, bodies = (0, end), [(end + 1, plan.last)]
    out: list[tuple[tuple[int, int], tuple[int, int] | None]] = []
    for a, b in bodies:
        start = _span(widths, a, b, 24, from_end=True)  # «تاریخ گزارش: 1405/03/10 10:00»
        if start <= a:
            out.append(((a, b), None))
        else:
            out.append(((a, start - 1), (start, b)))
    return logo, out


def write_header(
    ws: Worksheet,
    st: Styles,
    widths: Sequence[float],
    plan: PagePlan,
    *,
    company: str,
    title: str,
    subtitle: object,
    meta: Sequence[str],
) -> tuple[int, int]:
    """The bordered ISO header in rows 1-3; returns the (row, column) of the company cell.

    Right to left: the logo cell, then company / title / sheet title, then the code block
    (form code, revision, revision date — or a report's own lines).  A table printed over
    several pages gets the logo over its repeated key columns and a complete header over the
    columns of each page, so every printed page carries the whole header.
    """
    box = {"border": 1, "valign": "vcenter", "reading_order": 2, "text_wrap": True}
    logo_fmt = st(**box, align="center", font_size=8, font_color="#A6A6A6")
    sizes = (14, 12, 10)
    # A company name Excel would read as a formula on editing keeps the quote prefix, as
    # every such text openpyxl writes does (workbook.write_cell).
    literal = {"quote_prefix": True} if formula_like(company) else {}
    fmts = tuple(
        st(**box, align="center", bold=r < 2, font_size=sizes[r], **(literal if r == 0 else {}))
        for r in range(3)
    )
    meta_fmt = st(**box, align="right", font_size=9, indent=1)
    lines = [company, title, subtitle]
    logo, bodies = header_cells(widths, plan)
    if not meta:  # nothing for a code block: the titles take the page's width
        bodies = [((body[0], (code or body)[1]), None) for body, code in bodies]
    heights = [26.0, 21.0, 19.0]
    if logo is not None:
        _put(ws, 0, logo[0], 2, logo[1], LOGO_TEXT, logo_fmt)
    company_at = (0, bodies[0][0][0])
    for (a, b), code in bodies:
        width = sum(widths[a : b + 1])
        for r in range(3):
            text = lines[r]
            if code is None and r == 2 and meta:
                text = text if isinstance(text, Formula) else " | ".join([str(text), *meta])
            _put(ws, r, a, r, b, text, fmts[r])
            shown = text.value if isinstance(text, Formula) else text
            # Bold titles are wider: measured as if 15 % larger.
            n = text_lines(shown, width, sizes[r] * (1.15 if r < 2 else 1.0))
            heights[r] = max(heights[r], n * sizes[r] * 1.35 + 4)
        if code is not None:
            code_width = sum(widths[code[0] : code[1] + 1])
            for r in range(3):
                text = meta[r] if r < len(meta) else ""
                _put(ws, r, code[0], r, code[1], text, meta_fmt)
                heights[r] = max(heights[r], text_lines(text, code_width - 2, 9) * 9 * 1.35 + 4)
    for r, h in enumerate(heights):
        ws.set_row(r, h)
    return company_at


# --- forms ----------------------------------------------------------------------------------------

_PROTECTION = {
    "autofilter": True,
    "sort": True,
    "format_columns": True,
    "format_rows": True,
    "select_locked_cells": True,
    "select_unlocked_cells": True,
}


def _list_validation(f: Field, source: str, *, warn: bool = False) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "validate": "list",
        "source": "=" + source,
        "error_title": LIST_ERROR_TITLE,
        "error_message": (
            f"«{f.fa}» در فهرست نیست؛ اگر درست است «بله» را بزنید"
            if warn
            else f"«{f.fa}» را از فهرست کشویی انتخاب کنید"
        )[:255],
        "error_type": "warning" if warn else "stop",
    }
    if f.hint:
        opts.update(input_title=f.fa[:32], input_message=f.hint[:255])
    return opts


def _validation(f: Field, experts: bool) -> dict[str, Any] | None:
    if f.type == FieldType.ENUM:
        assert f.enum is not None
        return _list_validation(f, list_name(f.enum))
    if experts and f.key in EXPERT_KEYS:
        return _list_validation(f, list_name(EXPERTS_LIST), warn=True)
    if f.is_date:
        msg = DATETIME_INPUT_MESSAGE if f.type == FieldType.DATETIME else DATE_INPUT_MESSAGE
        return {"validate": "any", "input_title": DATE_INPUT_TITLE, "input_message": msg}
    if f.hint:
        return {"validate": "any", "input_title": f.fa[:32], "input_message": f.hint[:255]}
    return None


def _printed_last(t: Table) -> int:
    """Last printed column: trailing helper columns stay off paper."""
    last = len(t.fields) - 1
    while last > 0 and t.fields[last].key in HELPER_FIELDS:
        last -= 1
    return last


def _totals(t: Table) -> Formula | None:
    """The sheet title with the total of the table's money columns (void rows left out)."""
    parts, shown = [], []
    void = xl_col_to_name(t.keys.index("record_status")) if "record_status" in t.keys else None
    first = schema.FIRST_DATA_ROW
    for i, f in enumerate(t.fields):
        if f.type != FieldType.RIAL or f.key not in TOTAL_FIELDS:
            continue
        col = xl_col_to_name(i)
        rng = f"{col}{first}:{col}1048576"
        total = (
            f'SUMIFS({rng},{void}{first}:{void}1048576,"<>{RecordStatus.VOID.fa}")'
            if void
            else f"SUM({rng})"
        )
        parts.append(f'" — جمع {f.fa}: "&TEXT({total},"#,##0")')
        shown.append(f" — جمع {f.fa}: 0")
    if not parts:
        return None
    return Formula(f'="{t.title_fa}"&' + "&".join(parts), t.title_fa + "".join(shown))


def _write_table(
    book: xlsxwriter.Workbook,
    st: Styles,
    form: Form,
    t: Table,
    company: str,
    *,
    experts: bool,
    signed: bool,
    protect: bool,
) -> tuple[int, int]:
    ws = book.add_worksheet(t.sheet)
    ws.right_to_left()
    n = len(t.fields)
    last_col = n - 1
    widths = [0.0 if f.hidden else f.width for f in t.fields]
    plan = plan_pages(widths, keys=PRINT_KEYS.get(t.name, 1), last=_printed_last(t))
    company_at = write_header(
        ws,
        st,
        widths,
        plan,
        company=company,
        title=form.title_fa,
        subtitle=_totals(t) or t.title_fa,
        meta=form_meta(form),
    )
    key_row, label_row, first = schema.KEY_ROW - 1, schema.LABEL_ROW - 1, schema.FIRST_DATA_ROW - 1
    last_valid = LAST_VALIDATION_ROW - 1

    key_fmt = st(font_color="#808080", font_size=8)
    for c, f in enumerate(t.fields):
        ws.write_string(key_row, c, f.key, key_fmt)
        ws.set_column(c, c, f.width, st.field(f, locked=not is_input(t, f)), {"hidden": f.hidden})
    ws.set_row(key_row, None, None, {"hidden": True})
    labels = [(f.fa, f.width) for f in t.fields]
    ws.set_row(label_row, row_height(labels, minimum=33) or 33)

    header_fmt = st(
        bold=True,
        text_wrap=True,
        align="center",
        valign="vcenter",
        bg_color="#D9E1F2",
        border=1,
        reading_order=2,
    )
    cell_border = {"border": 1, "border_color": "#808080"}
    blank = RULED_ROWS if t.name in RULED_TABLES else 1
    rows: list[list[object]] = [[_value(r.get(f.key)) for f in t.fields] for r in t.prefill]
    rows += [[None] * n for _ in range(max(0, blank - len(rows)))]
    columns = [
        {
            "header": f.fa,
            "header_format": header_fmt,
            "format": st.field(f, locked=not is_input(t, f), **cell_border),
        }
        for f in t.fields
    ]
    ws.add_table(
        label_row,
        0,
        label_row + len(rows),
        last_col,
        {
            "name": t.name,
            "style": TABLE_STYLE,
            "columns": columns,
            "data": rows,
            "autofilter": True,
        },
    )
    for i, r in enumerate(t.prefill):
        h = row_height([(r.get(f.key), f.width) for f in t.fields if wraps(f)])
        if h:
            ws.set_row(first + i, h)

    for c, f in enumerate(t.fields):
        opts = _validation(f, experts)
        if opts is not None:
            ws.data_validation(first, c, last_valid, c, opts)

    if "record_status" in t.keys:
        col = xl_col_to_name(t.keys.index("record_status"))
        ws.conditional_format(
            first,
            0,
            last_valid,
            last_col,
            {
                "type": "formula",
                "criteria": f'=${col}{first + 1}="{RecordStatus.VOID.fa}"',
                "format": book.add_format(VOID_STYLE),
                "stop_if_true": True,
            },
        )
    if "followup_state" in t.keys and t.field("followup_state").enum == "FollowUpState":
        col = xl_col_to_name(t.keys.index("followup_state"))
        for state, color in STATE_FILLS.items():
            ws.conditional_format(
                first,
                0,
                last_valid,
                last_col,
                {
                    "type": "formula",
                    "criteria": f'=${col}{first + 1}="{state.fa}"',
                    "format": book.add_format({"bg_color": color}),
                },
            )

    # Wide tables keep their key columns in view while scrolling sideways.
    ws.freeze_panes(label_row + 1, plan.keys if plan.spread else 0)
    print_setup(
        ws,
        plan,
        repeat_to=label_row,
        footer=FORM_FOOTER if signed else FOOTER,
        area=not t.hidden,
    )
    if protect:
        ws.protect("", _PROTECTION)
    if t.hidden:
        ws.hide()
    k = schema.KEY_ROW
    book.define_name(
        f"{t.name}_keys", f"={quote_sheet(t.sheet)}!$A${k}:${xl_col_to_name(last_col)}${k}"
    )
    return company_at


def _value(v: object) -> object:
    return v.fa if hasattr(v, "fa") else v


def _write_block(
    book: xlsxwriter.Workbook,
    st: Styles,
    form: Form,
    b: Block,
    company: str,
    *,
    experts: bool,
    signed: bool,
    protect: bool,
) -> tuple[int, int]:
    ws = book.add_worksheet(b.sheet)
    ws.right_to_left()
    kc, lc, vc, hc = (
        c - 1
        for c in (
            schema.BLOCK_KEY_COL,
            schema.BLOCK_LABEL_COL,
            schema.BLOCK_VALUE_COL,
            schema.BLOCK_HINT_COL,
        )
    )
    widths = [0.0, BLOCK_WIDTHS["label"], BLOCK_WIDTHS["value"], BLOCK_WIDTHS["hint"]]
    # A key/value page reads best upright: portrait, fit to the page width.
    plan = PagePlan(False, 100, 0, ((0, hc),), hc)
    company_at = write_header(
        ws,
        st,
        widths,
        plan,
        company=company,
        title=form.title_fa,
        subtitle=b.title_fa,
        meta=form_meta(form),
    )
    ws.set_column(kc, kc, 16, st(font_color="#808080", font_size=8), {"hidden": True})
    ws.set_column(lc, lc, BLOCK_WIDTHS["label"])
    ws.set_column(vc, vc, BLOCK_WIDTHS["value"])
    ws.set_column(hc, hc, BLOCK_WIDTHS["hint"])
    title_row = schema.BLOCK_FIRST_ROW - 2
    _put(
        ws,
        title_row,
        lc,
        title_row,
        hc,
        b.title_fa,
        st(bold=True, font_size=11, bg_color="#D9E1F2", border=1, align="right", reading_order=2),
    )
    ws.set_row(title_row, 22)

    label_fmt = st(
        bold=True,
        bg_color="#E7E6E6",
        border=1,
        valign="vcenter",
        text_wrap=True,
        indent=1,
        reading_order=2,
    )
    hint_fmt = st(
        font_color="#808080", font_size=8, valign="vcenter", text_wrap=True, reading_order=2
    )
    key_fmt = st(font_color="#808080", font_size=8)
    sheet = quote_sheet(b.sheet)
    for i, f in enumerate(b.fields):
        r = schema.BLOCK_FIRST_ROW - 1 + i
        ws.write_string(r, kc, f.key, key_fmt)
        ws.write_string(r, lc, f.fa, label_fmt)
        ws.write_blank(
            r, vc, None, st.field(f, border=1, valign="vcenter", locked=not is_input(b, f))
        )
        if f.hint:
            ws.write_string(r, hc, f.hint, hint_fmt)
        ws.set_row(r, block_row_height(f))
        opts = _validation(f, experts)
        if opts:
            ws.data_validation(r, vc, r, vc, opts)
        book.define_name(f"{b.name}_{f.key}", f"={sheet}!{xl_rowcol_to_cell(r, vc, True, True)}")
    last = schema.BLOCK_FIRST_ROW + len(b.fields) - 1
    col = xl_col_to_name(kc)
    book.define_name(f"{b.name}_keys", f"={sheet}!${col}${schema.BLOCK_FIRST_ROW}:${col}${last}")
    if signed:
        _signature_row(ws, st, last + 1, (lc, vc, hc))
    ws.freeze_panes(schema.HEADER_ROWS, 0)
    print_setup(ws, plan, repeat_to=schema.HEADER_ROWS - 1, rows=last + 4)
    ws.fit_to_pages(1, 0)
    if protect:
        ws.protect("", _PROTECTION)
    return company_at


def block_row_height(f: Field, value: object = None) -> float:
    """Points of a block line: two lines for long text, more when its value needs them."""
    base = 36.0 if f.type == FieldType.LONGTEXT else 20.0
    if value is None or not wraps(f):
        return base
    return row_height([(value, BLOCK_WIDTHS["value"])], minimum=base) or base


def _signature_row(ws: Worksheet, st: Styles, row: int, cols: Sequence[int]) -> None:
    """تهیه‌کننده / تأییدکننده / تصویب‌کننده: a title over an empty box for name and signature."""
    title = st(bold=True, border=1, align="center", valign="vcenter", bg_color="#E7E6E6")
    box = st(border=1, align="center", valign="bottom", font_size=8, font_color="#808080")
    for c, who in zip(cols, SIGNATURES, strict=True):
        ws.write_string(row, c, who, title)
        ws.write_string(row + 1, c, "نام، تاریخ و امضا", box)
    ws.set_row(row, 20)
    ws.set_row(row + 1, 48)


def _write_lists(book: xlsxwriter.Workbook, st: Styles, form: Form, experts: Sequence[str]) -> None:
    ws = book.add_worksheet(schema.LISTS_SHEET)
    sheet = quote_sheet(schema.LISTS_SHEET)
    lists = [(name, ENUMS[name].labels()) for name in enum_names(form)]
    if experts:
        lists.append((EXPERTS_LIST, list(experts)))
    for c, (name, labels) in enumerate(lists):
        ws.write_string(0, c, name, st(bold=True))
        for r, label in enumerate(labels, start=1):
            ws.write_string(r, c, label, st())
        col = xl_col_to_name(c)
        book.define_name(list_name(name), f"={sheet}!${col}$2:${col}${len(labels) + 1}")
        ws.set_column(c, c, max(len(x) for x in labels) + 2)
    # Very hidden: the drop-down source is not something a user should edit by accident.
    ws.very_hidden()
    ws.protect("", {})


def write_form(
    book: xlsxwriter.Workbook,
    form: Form,
    *,
    company: str,
    experts: Sequence[str] = (),
    protect: bool = True,
) -> None:
    """Add every sheet of ``form`` (in schema order), the ``_lists`` sheet and the defined names.

    ``experts`` (the settings' experts) feed the drop-down of every expert field; ``protect``
    False leaves the sheets unprotected (a register that Excel macros write into).
    """
    st = Styles(book)
    signed = form.code in schema.FORMS  # the ISO forms carry the signature boxes
    company_cells: list[tuple[str, tuple[int, int]]] = []
    for part in form.parts:
        write = _write_table if isinstance(part, Table) else _write_block
        at = write(
            book,
            st,
            form,
            part,  # type: ignore[arg-type]
            company,
            experts=bool(experts),
            signed=signed,
            protect=protect,
        )
        company_cells.append((part.sheet, at))
    _write_lists(book, st, form, [e for e in experts if e])
    book.define_name(schema.FORM_MARKER, f'="{form.code}"')
    book.define_name("crm_revision", f'="{form.revision}"')
    book.define_name("crm_build", f'="{build_stamp(company, [e for e in experts if e])}"')
    sheet, (r, c) = company_cells[0]
    book.define_name("crm_company", f"={quote_sheet(sheet)}!{xl_rowcol_to_cell(r, c, True, True)}")


#: Raised when the layout of the forms changes: a workspace's cached blank forms are rebuilt.
LAYOUT_VERSION = "2"


def build_stamp(company: str, experts: Sequence[str]) -> str:
    """What a blank form was built from (layout version, company, experts), as a short hash."""
    text = "\n".join([LAYOUT_VERSION, company, *experts])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_current(path: Path, *, company: str, experts: Sequence[str] = ()) -> bool:
    """Whether the blank form at ``path`` was built by this layout for this company and these
    experts (its ``crm_build`` name); False for a missing or unreadable file."""
    try:
        with zipfile.ZipFile(path) as zf:
            xml = zf.read("xl/workbook.xml").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    m = re.search(r'<definedName name="crm_build"[^>]*>"?=?"([0-9a-f]+)"', xml)
    return m is not None and m.group(1) == build_stamp(company, [e for e in experts if e])


def build_form(
    path: str | Path,
    form: Form,
    *,
    company: str = DEFAULT_COMPANY,
    experts: Sequence[str] = (),
    protect: bool = True,
) -> Path:
    """Write ``form`` as a fresh .xlsx at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = new_workbook(path)
    write_form(book, form, company=company, experts=experts, protect=protect)
    book.close()
    return path


def template_paths(directory: str | Path) -> list[tuple[Form, Path]]:
    """The three templates and where ``build_templates`` writes them in ``directory``."""
    return [(f, Path(directory) / f.filename) for f in schema.FORMS.values()]


def build_templates(directory: str | Path, *, company: str = DEFAULT_COMPANY) -> list[Path]:
    """Write the three templates (``<code>.xlsx``) into ``directory``."""
    return [build_form(path, f, company=company) for f, path in template_paths(directory)]


# --- reports ---------------------------------------------------------------------------------------


class Link(NamedTuple):
    """A cell that links to another file (relative, so the folder can move)."""

    target: str
    text: str


@dataclass(frozen=True)
class Column:
    """A report column: header, width, and how its values are shown."""

    header: str
    width: float
    kind: str = "text"  # text | number | decimal | date | center


ColumnSpec = Column | tuple[str, float]


class Report:
    """A report workbook in the forms' look, built in memory (``getvalue`` / ``save``).

    ``sheet`` lays out a table: the ISO header (company, report title, subtitle; ``meta`` in
    the code block), a header row, the data rows (wrapped, each as tall as its text), an
    optional totals row, A4 setup that spreads a wide table over pages with its key columns.
    """

    HEADER_ROW = 3  # 0-based row of the column headers; data from row 4 (Excel row 5)

    def __init__(self, *, company: str, title: str, meta: Sequence[str] = ()) -> None:
        self._buffer = io.BytesIO()
        self.book = new_workbook(self._buffer, in_memory=True)
        self.st = Styles(self.book)
        self.company = company
        self.title = title
        self.meta = tuple(meta)
        self._closed = False

    def fmt(self, **props: Any) -> Format:
        return self.st(**props)

    def blank(
        self,
        name: str,
        subtitle: str,
        widths: Sequence[float],
        *,
        keys: int = 1,
        last: int | None = None,
    ) -> tuple[Worksheet, PagePlan]:
        """A sheet with the header, column widths and page setup; the caller fills it."""
        ws = self.book.add_worksheet(name)
        ws.right_to_left()
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        plan = plan_pages(widths, keys=keys, last=last)
        write_header(
            ws,
            self.st,
            widths,
            plan,
            company=self.company,
            title=self.title,
            subtitle=subtitle,
            meta=self.meta,
        )
        return ws, plan

    def sheet(
        self,
        name: str,
        subtitle: str,
        headers: Sequence[ColumnSpec],
        rows: Sequence[Sequence[Any]],
        *,
        number_cols: Iterable[int] = (),
        decimals: Iterable[int] = (),
        totals: Iterable[int] = (),
        keys: int = 1,
        printed: int | None = None,
        fills: Sequence[str | None] | None = None,
        beside: Sequence[float] = (),
    ) -> Worksheet:
        """One table sheet; returns the worksheet (data start on row index 4, Excel row 5).

        ``totals``: columns summed in a last row; ``printed``: the last column that prints
        (helper columns after it stay on screen only); ``fills``: a background per row;
        ``beside``: widths of empty columns after the table (room for a chart) that print
        and carry the header too.
        """
        cols = [h if isinstance(h, Column) else Column(h[0], h[1]) for h in headers]
        kinds = {c: "number" for c in number_cols} | {c: "decimal" for c in decimals}
        kinds = {i: kinds.get(i, col.kind) for i, col in enumerate(cols)}
        widths = [c.width for c in cols]
        if beside and printed is None:
            printed = len(widths) + len(beside) - 1
        ws, plan = self.blank(name, subtitle, [*widths, *beside], keys=keys, last=printed)
        hr = self.HEADER_ROW
        head = self.st(
            bold=True,
            text_wrap=True,
            align="center",
            valign="vcenter",
            bg_color="#D9E1F2",
            border=1,
            reading_order=2,
        )
        for c, col in enumerate(cols):
            ws.write_string(hr, c, col.header, head)
        ws.set_row(hr, row_height([(c.header, c.width) for c in cols], minimum=30) or 30)
        border: dict[str, Any] = {"border": 1, "border_color": "#808080", "valign": "top"}
        styles: dict[str, dict[str, Any]] = {
            "text": {"text_wrap": True, "align": "right", "reading_order": 2},
            "center": {"text_wrap": True, "align": "center", "reading_order": 2},
            "date": {"align": "center"},
            "number": {"num_format": "#,##0", "align": "right"},
            "decimal": {"num_format": "0.00", "align": "right"},
            "link": {"font_color": "blue", "underline": 1, "align": "right"},
        }
        for i, row in enumerate(rows):
            r = hr + 1 + i
            fill: dict[str, Any] = {"bg_color": fills[i]} if fills and fills[i] else {}
            for c, v in enumerate(row):
                kind = kinds.get(c, "text")
                if isinstance(v, Link):
                    ws.write_url(
                        r,
                        c,
                        f"external:{v.target}",
                        self.st(**border, **styles["link"], **fill),
                        v.text,
                    )
                    continue
                f = self.st(**border, **styles[kind], **fill)
                if v is None or v == "":
                    ws.write_blank(r, c, None, f)
                elif isinstance(v, int | float) and not isinstance(v, bool):
                    ws.write_number(r, c, v, f)
                else:
                    ws.write_string(r, c, str(v), f)
            h = row_height(
                (v.text if isinstance(v, Link) else v, widths[c])
                for c, v in enumerate(row)
                if kinds.get(c, "text") in ("text", "center") and c < len(widths)
            )
            if h:
                ws.set_row(r, h)
        end = hr + len(rows)
        sums = sorted(set(totals))
        if sums and rows:
            end += 1
            bold = self.st(bold=True, border=1, top=6, align="right", reading_order=2)
            ws.write_string(end, 0, "جمع", bold)
            for c in sums:
                col = xl_col_to_name(c)
                value = sum(
                    v
                    for v in (row[c] for row in rows)
                    if isinstance(v, int | float) and not isinstance(v, bool)
                )
                ws.write_formula(
                    end,
                    c,
                    f"=SUM({col}{hr + 2}:{col}{hr + 1 + len(rows)})",
                    self.st(bold=True, border=1, top=6, num_format="#,##0", align="right"),
                    value,
                )
        if rows:
            ws.autofilter(hr, 0, hr + len(rows), len(cols) - 1)
        ws.freeze_panes(hr + 1, plan.keys if plan.spread else 0)
        print_setup(ws, plan, repeat_to=hr)  # whole columns: a chart below or beside prints too
        return ws

    def chart(self, kind: str, subtype: str | None = None) -> Any:
        opts: dict[str, Any] = {"type": kind}
        if subtype:
            opts["subtype"] = subtype
        ch = self.book.add_chart(opts)
        font = {"name": schema.FONT_NAME, "size": 9}
        ch.set_legend({"position": "bottom", "font": font})
        ch.set_chartarea({"border": {"none": True}})
        return ch

    def getvalue(self) -> bytes:
        """The finished workbook's bytes (closes it)."""
        if not self._closed:
            self.book.close()
            self._closed = True
        return self._buffer.getvalue()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.getvalue())
        return path
