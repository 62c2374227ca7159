"""Lay out the ISO forms from the schema with XlsxWriter: the only template writer.

Every sheet of a form has the same shape, so one reader (``workbook``) serves all of them:

* rows 1..HEADER_ROWS: the ISO header block (company, form title, "کد فرم | ویرایش | sheet");
* tables: row KEY_ROW (hidden) holds the English field keys, row LABEL_ROW the Persian
  labels as the header of an Excel table named ``Table.name``; data from FIRST_DATA_ROW.
  Excel needs at least one data row in a table's ref, so an empty table's ref is the
  header plus one blank, formatted row; readers skip blank rows.  Number formats, text
  format for identifiers, drop-downs and date input messages cover FIRST_DATA_ROW ..
  LAST_VALIDATION_ROW, and column formats cover the rest of the column;
* blocks: row HEADER_ROWS+1 shows the block title, one line per field from
  BLOCK_FIRST_ROW: column A hidden key, B Persian label, C value, D hint.

Defined names (all workbook scope):

* ``crm_form`` = ``="F-31-08-02"`` (string constant): recognises the form by content;
* ``crm_revision`` = ``="00"``; ``crm_company`` → the company cell (A1 of the first sheet);
* ``list_<Enum>`` → the Persian labels of an enumeration on the hidden ``_lists`` sheet;
* ``<Table>_keys`` → a table's key row; ``<Block>_keys`` → a block's key column;
* ``<Block>_<key>`` → a block's value cell (e.g. ``Registration_customer_no``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from crm_xl.domain import schema
from crm_xl.domain.enums import ENUMS, FollowUpState
from crm_xl.domain.schema import Block, Field, FieldType, Form, Table
from crm_xl.io.guard import formula_like

DEFAULT_COMPANY = "نام شرکت"
#: Last row (1-based) given drop-downs, formats and conditional formats in a fresh table.
LAST_VALIDATION_ROW = schema.FIRST_DATA_ROW + schema.VALIDATION_ROWS - 1
#: Fixed creation time so regenerated templates are identical in content and metadata.
CREATED = dt.datetime(2024, 3, 20, 0, 0, 0)
#: Tables wider than this (sum of column widths, characters) print landscape.
LANDSCAPE_WIDTH = 95
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
DATE_INPUT_TITLE = "تاریخ"
DATE_INPUT_MESSAGE = "تاریخ را می‌توانید شمسی تایپ کنید، مثل ۱۴۰۳/۰۷/۱۵"
DATETIME_INPUT_MESSAGE = "تاریخ و ساعت را می‌توانید شمسی تایپ کنید، مثل ۱۴۰۳/۰۷/۱۵ ۱۰:۳۰"
#: Row fills of the register by follow-up state (SPEC §6): overdue red, due today amber, stalled
#: grey, no planned next action lavender.
STATE_FILLS: dict[FollowUpState, str] = {
    FollowUpState.OVERDUE: "#F8CBAD",
    FollowUpState.DUE_TODAY: "#FFE699",
    FollowUpState.STALLED: "#D9D9D9",
    FollowUpState.NO_NEXT_ACTION: "#D9D2E9",
}
FOOTER = '&C&"Tahoma"&9صفحه &P از &N'
BLOCK_WIDTHS = {"label": 34, "value": 44, "hint": 30}


def number_format(f: Field) -> str | None:
    """The Excel number format of a field's cells (None: General)."""
    if f.type == FieldType.DATE:
        return schema.DATE_FORMAT
    if f.type == FieldType.DATETIME:
        return schema.DATETIME_FORMAT
    if f.type == FieldType.RIAL:
        return schema.RIAL_FORMAT
    if f.type == FieldType.INTEGER:
        return "0"
    if f.type in TEXT_ID_TYPES:
        return "@"
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


class _Styles:
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
        if f.type == FieldType.LONGTEXT:
            props["text_wrap"] = True
        if f.type in (FieldType.RIAL, FieldType.INTEGER):
            props["align"] = "right"
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


def _header(
    ws: Worksheet, st: _Styles, form: Form, title: str, company: str, last_col: int
) -> None:
    # A company name Excel would read as a formula on editing keeps the quote prefix, as
    # every such text openpyxl writes does (workbook.write_cell).
    literal = {"quote_prefix": True} if formula_like(company) else {}
    ws.merge_range(
        0,
        0,
        0,
        last_col,
        company,
        st(bold=True, font_size=16, align="center", valign="vcenter", **literal),
    )
    ws.merge_range(
        1,
        0,
        1,
        last_col,
        form.title_fa,
        st(bold=True, font_size=13, align="center", valign="vcenter"),
    )
    line = f"کد فرم: {form.code} | ویرایش: {form.revision} | {title}"
    ws.merge_range(
        2, 0, 2, last_col, line, st(font_size=9, align="center", valign="vcenter", bottom=2)
    )
    ws.set_row(0, 28)
    ws.set_row(1, 22)
    ws.set_row(2, 18)


def _print_setup(ws: Worksheet, *, landscape: bool, repeat_to: int) -> None:
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, repeat_to - 1)
    ws.hide_gridlines(1)  # hide printed gridlines only; screen gridlines stay
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.set_footer(FOOTER)
    ws.center_horizontally()


def _value(v: object) -> object:
    return v.fa if hasattr(v, "fa") else v


def _write_table(
    book: xlsxwriter.Workbook, st: _Styles, form: Form, t: Table, company: str
) -> None:
    ws = book.add_worksheet(t.sheet)
    ws.right_to_left()
    last_col = len(t.fields) - 1
    _header(ws, st, form, t.title_fa, company, last_col)
    key_row, label_row, first = schema.KEY_ROW - 1, schema.LABEL_ROW - 1, schema.FIRST_DATA_ROW - 1
    last_valid = LAST_VALIDATION_ROW - 1

    key_fmt = st(font_color="#808080", font_size=8)
    for c, f in enumerate(t.fields):
        ws.write_string(key_row, c, f.key, key_fmt)
        ws.set_column(c, c, f.width, st.field(f), {"hidden": f.hidden})
    ws.set_row(key_row, None, None, {"hidden": True})
    ws.set_row(label_row, 33)

    header_fmt = st(
        bold=True, text_wrap=True, align="center", valign="vcenter", bg_color="#D9E1F2", border=1
    )
    cell_border = {"border": 1, "border_color": "#A6A6A6"}
    rows = [[_value(r.get(f.key)) for f in t.fields] for r in t.prefill] or [[None] * len(t.fields)]
    columns = [
        {"header": f.fa, "header_format": header_fmt, "format": st.field(f, **cell_border)}
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

    for c, f in enumerate(t.fields):
        if f.type == FieldType.ENUM:
            assert f.enum is not None
            opts: dict[str, Any] = {"validate": "list", "source": "=" + list_name(f.enum)}
            if f.hint:
                opts.update(input_title=f.fa[:32], input_message=f.hint[:255])
            ws.data_validation(first, c, last_valid, c, opts)
        elif f.is_date:
            msg = DATETIME_INPUT_MESSAGE if f.type == FieldType.DATETIME else DATE_INPUT_MESSAGE
            ws.data_validation(
                first,
                c,
                last_valid,
                c,
                {"validate": "any", "input_title": DATE_INPUT_TITLE, "input_message": msg},
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

    ws.freeze_panes(label_row + 1, 0)
    landscape = sum(f.width for f in t.fields) > LANDSCAPE_WIDTH
    _print_setup(ws, landscape=landscape, repeat_to=schema.LABEL_ROW)
    if t.hidden:
        ws.hide()
    k = schema.KEY_ROW
    book.define_name(
        f"{t.name}_keys", f"={quote_sheet(t.sheet)}!$A${k}:${xl_col_to_name(last_col)}${k}"
    )


def _write_block(
    book: xlsxwriter.Workbook, st: _Styles, form: Form, b: Block, company: str
) -> None:
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
    _header(ws, st, form, b.title_fa, company, hc)
    ws.set_column(kc, kc, 16, st(font_color="#808080", font_size=8), {"hidden": True})
    ws.set_column(lc, lc, BLOCK_WIDTHS["label"])
    ws.set_column(vc, vc, BLOCK_WIDTHS["value"])
    ws.set_column(hc, hc, BLOCK_WIDTHS["hint"])
    title_row = schema.BLOCK_FIRST_ROW - 2
    ws.merge_range(
        title_row,
        lc,
        title_row,
        hc,
        b.title_fa,
        st(bold=True, font_size=11, bg_color="#D9E1F2", border=1, align="right"),
    )
    ws.set_row(title_row, 22)

    label_fmt = st(
        bold=True, bg_color="#E7E6E6", border=1, valign="vcenter", text_wrap=True, indent=1
    )
    hint_fmt = st(font_color="#808080", font_size=8, valign="vcenter", text_wrap=True)
    key_fmt = st(font_color="#808080", font_size=8)
    sheet = quote_sheet(b.sheet)
    for i, f in enumerate(b.fields):
        r = schema.BLOCK_FIRST_ROW - 1 + i
        ws.write_string(r, kc, f.key, key_fmt)
        ws.write_string(r, lc, f.fa, label_fmt)
        ws.write_blank(r, vc, None, st.field(f, border=1, valign="vcenter"))
        if f.hint:
            ws.write_string(r, hc, f.hint, hint_fmt)
        ws.set_row(r, 36 if f.type == FieldType.LONGTEXT else 20)
        opts: dict[str, Any] | None = None
        if f.type == FieldType.ENUM:
            assert f.enum is not None
            opts = {"validate": "list", "source": "=" + list_name(f.enum)}
            if f.hint:
                opts.update(input_title=f.fa[:32], input_message=f.hint[:255])
        elif f.is_date:
            msg = DATETIME_INPUT_MESSAGE if f.type == FieldType.DATETIME else DATE_INPUT_MESSAGE
            opts = {"validate": "any", "input_title": DATE_INPUT_TITLE, "input_message": msg}
        elif f.hint:
            opts = {"validate": "any", "input_title": f.fa[:32], "input_message": f.hint[:255]}
        if opts:
            ws.data_validation(r, vc, r, vc, opts)
        book.define_name(f"{b.name}_{f.key}", f"={sheet}!{xl_rowcol_to_cell(r, vc, True, True)}")
    last = schema.BLOCK_FIRST_ROW + len(b.fields) - 1
    col = xl_col_to_name(kc)
    book.define_name(f"{b.name}_keys", f"={sheet}!${col}${schema.BLOCK_FIRST_ROW}:${col}${last}")
    ws.freeze_panes(schema.HEADER_ROWS, 0)
    _print_setup(ws, landscape=False, repeat_to=schema.HEADER_ROWS)
    ws.fit_to_pages(1, 1)


def _write_lists(book: xlsxwriter.Workbook, st: _Styles, form: Form) -> None:
    ws = book.add_worksheet(schema.LISTS_SHEET)
    sheet = quote_sheet(schema.LISTS_SHEET)
    for c, name in enumerate(enum_names(form)):
        labels = ENUMS[name].labels()
        ws.write_string(0, c, name, st(bold=True))
        for r, label in enumerate(labels, start=1):
            ws.write_string(r, c, label, st())
        col = xl_col_to_name(c)
        book.define_name(list_name(name), f"={sheet}!${col}$2:${col}${len(labels) + 1}")
        ws.set_column(c, c, max(len(x) for x in labels) + 2)
    # Very hidden: the drop-down source is not something a user should edit by accident.
    ws.very_hidden()


def write_form(book: xlsxwriter.Workbook, form: Form, *, company: str) -> None:
    """Add every sheet of ``form`` (in schema order), the ``_lists`` sheet and the defined names."""
    st = _Styles(book)
    for part in form.parts:
        if isinstance(part, Table):
            _write_table(book, st, form, part, company)
        else:
            _write_block(book, st, form, part, company)
    _write_lists(book, st, form)
    book.define_name(schema.FORM_MARKER, f'="{form.code}"')
    book.define_name("crm_revision", f'="{form.revision}"')
    book.define_name("crm_company", f"={quote_sheet(form.parts[0].sheet)}!$A$1")


def build_form(path: str | Path, form: Form, *, company: str = DEFAULT_COMPANY) -> Path:
    """Write ``form`` as a fresh .xlsx at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = new_workbook(path)
    write_form(book, form, company=company)
    book.close()
    return path


def template_paths(directory: str | Path) -> list[tuple[Form, Path]]:
    """The three templates and where ``build_templates`` writes them in ``directory``."""
    return [(f, Path(directory) / f.filename) for f in schema.FORMS.values()]


def build_templates(directory: str | Path, *, company: str = DEFAULT_COMPANY) -> list[Path]:
    """Write the three templates (``<code>.xlsx``) into ``directory``."""
    return [build_form(path, f, company=company) for f, path in template_paths(directory)]
