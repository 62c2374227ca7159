"""Read and write the forms: openpyxl for the file store's primitives, calamine for fast reads.

Machines find data by content, never by guessed positions: the form by the ``crm_form``
defined name, a table's columns by its hidden key row (schema.KEY_ROW), a block's lines by
its hidden key column.  Rows are read to the sheet's real end, not the Excel table's ref,
because a salesperson may type rows below the table.

Value convention of both readers: strings stripped (blank → None), integral numbers as
int, Excel dates as ``datetime`` (``date`` for DATE fields), booleans as bool.  Datetimes in
cells are naive Asia/Tehran wall time; writers convert aware datetimes to Tehran and drop
the tzinfo.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from copy import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from crm_xl.domain import schema
from crm_xl.domain.dates import read_date_text, to_jalali_str
from crm_xl.domain.enums import ENUMS, LabeledEnum
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import Block, Field, FieldType, Form, Table
from crm_xl.io import guard
from crm_xl.io.guard import col_index as column_index_from_string
from crm_xl.io.guard import col_letters as get_column_letter

if TYPE_CHECKING:  # openpyxl is imported where a workbook is loaded: the fast path skips it
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

TEHRAN = ZoneInfo("Asia/Tehran")
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_CODE_RE = re.compile(r"F-\d{2}-\d{2}-\d{2}")
DEFAULT_WIDTH = 8.43  # Excel's column width when a sheet sets none

__all__ = [
    "TEHRAN",
    "FormBook",
    "block_rows_fast",
    "converter",
    "date_text",
    "detect_form",
    "load_workbook",
    "normalize_value",
    "number_format_for",
    "read_block_fast",
    "read_table_fast",
    "read_tables_fast",
    "table_rows",
    "to_cell_value",
    "write_cell",
]


# --- errors -------------------------------------------------------------------------------


def _err(code: str, fa: str, en: str, path: str | Path, **where: Any) -> CrmError:
    return CrmError(fa, en, code=code, file=str(path), **where)


def _missing_sheet(path: str | Path, sheet: str) -> CrmError:
    return _err(
        "missing-sheet",
        f"برگه «{sheet}» در فایل نیست (فایلی از نسخه قدیمی‌تر؟ «crm-xl upgrade» آن را به‌روز می‌کند)",
        f"sheet {sheet!r} is missing from the workbook (made by an older crm_xl? "
        "'crm-xl upgrade' brings it up to date)",
        path,
        sheet=sheet,
    )


def _missing_column(path: str | Path, sheet: str, key: str, cell: str | None = None) -> CrmError:
    return _err(
        "missing-column",
        f"ستون/سطر «{key}» در ردیف کلیدها (پنهان) پیدا نشد (فایلی از نسخه قدیمی‌تر؟ "
        "«crm-xl upgrade» آن را به‌روز می‌کند)",
        f"field {key!r} not found in the hidden key row/column (made by an older crm_xl? "
        "'crm-xl upgrade' brings it up to date)",
        path,
        sheet=sheet,
        cell=cell,
        field=key,
    )


# --- recognising a form -------------------------------------------------------------------


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The file as an OOXML zip, once ``guard.inspect`` has let it in (CrmError if not)."""
    guard.inspect(path)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:  # replaced since it was inspected
        raise _err(
            "not-xlsx", "فایل، اکسل (xlsx) سالم نیست", f"not a valid .xlsx file ({e})", path
        ) from e


def _workbook_xml(path: Path) -> tuple[list[str], dict[str, str]]:
    """Sheet names and workbook-scope defined names, straight from xl/workbook.xml (cheap)."""
    with _open_zip(path) as zf:
        try:
            root = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        except (ElementTree.ParseError, zipfile.BadZipFile, OSError, KeyError) as e:
            raise _err(
                "not-xlsx", "فایل، اکسل (xlsx) سالم نیست", f"corrupt workbook.xml ({e})", path
            ) from e
    sheets = [s.get("name", "") for s in root.iterfind("m:sheets/m:sheet", _NS)]
    names = {
        d.get("name", ""): d.text or ""
        for d in root.iterfind("m:definedNames/m:definedName", _NS)
        if d.get("localSheetId") is None
    }
    return sheets, names


def _form_by_header(path: Path, sheets: list[str]) -> Form | None:
    """Fallback when the defined name was lost: a form code in some sheet's header rows."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        for s in sheets:
            rows = book.get_sheet_by_name(s).to_python(
                skip_empty_area=False, nrows=schema.HEADER_ROWS
            )
            for row in rows:
                for v in row:
                    m = _CODE_RE.search(str(v))
                    if m and m.group() in schema.FORMS:
                        return schema.FORMS[m.group()]
    except Exception:  # a corrupt sheet just means "not recognised"
        return None
    return None


def detect_form(path: str | Path) -> Form:
    """The form a workbook is, from its ``crm_form`` defined name (else its header text).

    Raises CrmError: file-not-found, not-xlsx, encrypted, unknown-form, missing-sheet.
    """
    path = Path(path)
    sheets, names = _workbook_xml(path)
    marker = names.get(schema.FORM_MARKER, "").strip().lstrip("=").strip('"')
    form = schema.FORMS.get(marker) or _form_by_header(path, sheets)
    if form is None:
        raise _err(
            "unknown-form",
            f"فایل «{path.name}» فرم crm_xl نیست (کد فرم پیدا نشد)",
            f"{path.name} is not a crm_xl form (no form code found)",
            path,
        )
    named = _CODE_RE.match(path.name)
    if named and named.group() in schema.FORMS and named.group() != form.code:
        raise _wrong_form(path, named.group(), form)
    for part in form.parts:
        if part.sheet not in sheets:
            raise _missing_sheet(path, part.sheet)
    return form


def _wrong_form(path: Path, expected: str, form: Form) -> CrmError:
    """A file that should be one form but holds another (a customer form as the register)."""
    return _err(
        "form-mismatch",
        f"«{path.name}» باید فرم {expected} باشد ولی فرم {form.code} ({form.title_fa}) است؛ "
        "فایل درست را سر جایش بگذارید (پشتیبان‌ها در ‎.crm_xl/backups)",
        f"{path.name} should be form {expected} but holds form {form.code} ({form.title_en}); "
        "put the right file in its place (backups are in .crm_xl/backups)",
        path,
    )


# --- values ---------------------------------------------------------------------------------


def normalize_value(v: object) -> object:
    """Reader convention for one raw cell value (see module doc)."""
    if isinstance(v, str):
        v = v.strip()
        return v or None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _typed(f: Field, v: object) -> object:
    """Date fields: DATE → date, DATETIME → datetime; any other stray date → datetime."""
    if isinstance(v, dt.datetime):
        return v.date() if f.type == FieldType.DATE else v
    if isinstance(v, dt.date):
        return v if f.type == FieldType.DATE else dt.datetime.combine(v, dt.time())
    return v


def _read_date(f: Field, v: object) -> object:
    """A date field's cell: a real date, or the Jalali text the toolkit writes (or a person
    types) read as one; unreadable text is kept as typed so validation can name its cell."""
    v = normalize_value(v)
    if isinstance(v, str):
        read = read_date_text(v, f.type == FieldType.DATETIME)
        return v if read is None else read
    return _typed(f, v)


def converter(f: Field) -> Callable[[object], object]:
    if f.is_date:
        return lambda v: _read_date(f, v)

    def conv(v: object) -> object:
        v = normalize_value(v)
        if isinstance(v, dt.date):
            return _typed(f, v)
        return v

    return conv


def to_cell_value(f: Field, v: object) -> object:
    """A Python value as the cell should hold it: enums as Persian labels, dates as Jalali text.

    Every date a person reads is zero-padded Jalali text (SPEC §5): ``1404/07/16`` in a DATE
    field, ``1404/07/16 10:30`` (Tehran time) in a DATETIME field.  Text typed into a date
    field is rewritten the same way when it can be read, else kept for validation to report.
    """
    if isinstance(v, LabeledEnum):
        return v.fa
    if f.type == FieldType.ENUM and isinstance(v, str) and f.enum:
        try:
            return ENUMS[f.enum].parse(v).fa
        except ValueError:
            return v  # kept as typed; validation reports it with its cell
    if f.is_date and isinstance(v, str):
        read = _read_date(f, v)
        return date_text(f, read) if isinstance(read, dt.date) else v
    if isinstance(v, dt.date):
        return date_text(f, v)
    return v


def date_text(f: Field, v: dt.date) -> str:
    """How a date is written into a cell of ``f`` (the time only where the field has one)."""
    timed = f.type == FieldType.DATETIME or (
        f.type != FieldType.DATE and isinstance(v, dt.datetime)
    )
    return to_jalali_str(v, with_time=timed)


def number_format_for(f: Field, v: object) -> str | None:
    """The number format of a written cell: the field's own (dates are text, ``@``)."""
    return layout().number_format(f)


def layout() -> Any:
    """``io.layout``, imported on first use: it pulls in XlsxWriter, which a reader (and a
    button click) does not need."""
    from crm_xl.io import layout as module

    return module


# --- openpyxl ---------------------------------------------------------------------------------


def write_cell(cell: Any, value: object) -> None:
    """The one way a value enters an openpyxl cell: text stays text, numbers stay numbers.

    openpyxl makes text that begins with ``=`` a formula; such text (and text Excel would
    read as a formula once edited: ``+``, ``-``, ``@``, also behind invisible marks, see
    ``guard.formula_like``) is stored as a string cell with the quote prefix style, which
    Excel and LibreOffice show as text and keep as text when a person edits the cell.
    """
    cell.value = value
    if guard.formula_like(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    elif cell.has_style and cell.quotePrefix:
        cell.quotePrefix = False


def load_workbook(
    path: str | Path, *, keep_vba: bool | None = None, links: str = "refuse"
) -> Workbook:
    """An openpyxl workbook of a file ``guard`` let in, without its external links.

    ``links="refuse"`` (a record about to be written back): a linked workbook, an external
    object or a hyperlink to anything but the web or e-mail raises ``external-link``.
    ``links="drop"`` (a copy for reading, e.g. ``--annotate``): they are left out.  Either
    way linked-workbook parts are not loaded and every external hyperlink is removed from
    its cells (the cell text stays), so nothing the toolkit saves carries one.
    """
    path = Path(path)
    pkg = guard.inspect(path)
    if links == "refuse":
        guard.refuse_links(pkg)
    if keep_vba is None:
        keep_vba = path.suffix.lower() in (".xlsm", ".xltm")
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, keep_vba=keep_vba, keep_links=False)
    except CrmError:
        raise
    except Exception as e:  # openpyxl raises many types for a damaged package
        raise _err(
            "not-xlsx", "فایل اکسل خراب است و باز نشد", f"cannot open workbook: {e}", path
        ) from e
    for link in pkg.links:
        if link.kind == "hyperlink" and link.sheet in wb.sheetnames and link.cell:
            found = wb[link.sheet][link.cell]
            cells = [c for row in found for c in row] if isinstance(found, tuple) else [found]
            for c in cells:
                if getattr(c, "hyperlink", None) is not None:
                    c.hyperlink = None
    return wb


class FormBook:
    """An openpyxl workbook known to be ``form``, addressed through the schema."""

    def __init__(self, wb: Workbook, form: Form, path: Path | None = None) -> None:
        self.wb = wb
        self.form = form
        self.path = path
        self._cols: dict[str, dict[str, int]] = {}
        self._widths: dict[str, dict[int, float]] = {}

    # -- opening / saving
    @classmethod
    def open(cls, path: str | Path, *, keep_vba: bool | None = None) -> FormBook:
        """Open a form workbook for reading and writing (keep_vba defaults to True for .xlsm).

        The file passes ``guard`` first; a linked workbook or a non-web hyperlink is refused
        (the book is opened to be written back), web and e-mail hyperlinks are dropped.
        """
        path = Path(path)
        form = detect_form(path)
        wb = load_workbook(path, keep_vba=keep_vba)
        for part in form.parts:
            if part.sheet not in wb.sheetnames:
                raise _missing_sheet(path, part.sheet)
        return cls(wb, form, path)

    @classmethod
    def new(cls, form: Form, *, company: str | None = None) -> FormBook:
        """A fresh, unsaved form (the template laid out in memory)."""
        import io

        from crm_xl.io.layout import DEFAULT_COMPANY, new_workbook, write_form

        buf = io.BytesIO()
        book = new_workbook(buf, in_memory=True)
        write_form(book, form, company=company or DEFAULT_COMPANY)
        book.close()
        buf.seek(0)
        import openpyxl

        return cls(openpyxl.load_workbook(buf), form, None)

    def save(self, path: str | Path | None = None) -> Path:
        """Plain save (atomic replace and backups are ``safety``'s job: pass a temp path).

        Real date cells left by older versions or typed in Excel are written as Jalali text
        first (:meth:`jalali_dates`): the first write command that meets them upgrades the
        record, and the caller's atomic write keeps the old file as a backup.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("FormBook.save needs a path for a new workbook")
        self.jalali_dates()
        self.wb.save(target)
        return target

    def jalali_dates(self) -> int:
        """Rewrite every real date in a date field as Jalali text (SPEC §5); how many cells.

        Also gives date columns the text format, so a date typed later stays text.  Parts
        whose key row or column is broken are left alone (validation reports them).
        """
        changed = 0
        for part in self.form.parts:
            if part.sheet not in self.wb.sheetnames:
                continue
            ws = self.wb[part.sheet]
            try:
                if isinstance(part, Table):
                    cols = self.header_columns(part.name)
                    last = max((r for r, _ in ws._cells), default=0)
                    spots = [
                        (f, r, cols[f.key])
                        for f in part.fields
                        if f.is_date
                        for r in range(schema.FIRST_DATA_ROW, last + 1)
                    ]
                    for f in part.fields:
                        if f.is_date:
                            dim = ws.column_dimensions[get_column_letter(cols[f.key])]
                            if "[$" in (dim.number_format or ""):
                                dim.number_format = schema.TEXT_FORMAT
                else:
                    rows = self.block_rows(part.name)
                    spots = [
                        (f, rows[f.key], schema.BLOCK_VALUE_COL) for f in part.fields if f.is_date
                    ]
            except CrmError:
                continue
            for f, r, c in spots:
                cell = ws._cells.get((r, c))
                if cell is not None and isinstance(cell.value, dt.date):
                    self._set(cell, f, cell.value)
                    changed += 1
        return changed

    @property
    def name(self) -> str:
        return str(self.path) if self.path else self.form.filename

    def sheet(self, part: str) -> Worksheet:
        p = self.form.part(part)
        try:
            return self.wb[p.sheet]
        except KeyError:
            raise _missing_sheet(self.name, p.sheet) from None

    # -- header
    def _company_cell(self) -> tuple[Worksheet, int, int]:
        """The company cell of the first sheet: where ``crm_company`` points (A1 before the
        ISO header had a logo cell)."""
        ws = self.wb[self.form.parts[0].sheet]
        dn = self.wb.defined_names.get("crm_company")
        if dn is not None:
            m = re.search(r"!\$?([A-Z]+)\$?(\d+)$", dn.attr_text or "")
            if m:
                return ws, int(m.group(2)), column_index_from_string(m.group(1))
        return ws, 1, 1

    @property
    def company(self) -> str:
        """Company name from the header block of the first sheet."""
        ws, r, c = self._company_cell()
        v = normalize_value(ws.cell(r, c).value)
        return "" if v is None else str(v)

    @company.setter
    def company(self, value: str) -> None:
        """Every sheet's header says ``value`` where it said the old name (row 1)."""
        old = self.company
        for part in self.form.parts:
            for cell in self.wb[part.sheet][1]:
                if normalize_value(cell.value) == old:
                    write_cell(cell, value)

    def header(self) -> dict[str, str]:
        """Company, form code, revision and title as the workbook states them."""
        names = self.wb.defined_names
        code = (
            names[schema.FORM_MARKER].attr_text.strip('"=') if schema.FORM_MARKER in names else ""
        )
        rev = names["crm_revision"].attr_text.strip('"=') if "crm_revision" in names else ""
        ws, r, c = self._company_cell()
        title = normalize_value(ws.cell(r + 1, c).value)
        return {
            "company": self.company,
            "code": code or self.form.code,
            "revision": rev or self.form.revision,
            "title": str(title or self.form.title_fa),
        }

    # -- blocks
    def _block(self, name: str) -> Block:
        p = self.form.part(name)
        if not isinstance(p, Block):
            raise KeyError(f"{name} is not a block")
        return p

    def block_rows(self, name: str) -> dict[str, int]:
        """Field key → row of a block, from its hidden key column."""
        b = self._block(name)
        ws = self.sheet(name)
        rows: dict[str, int] = {}
        col = ws.iter_rows(
            min_row=1, min_col=schema.BLOCK_KEY_COL, max_col=schema.BLOCK_KEY_COL, values_only=True
        )
        for r, (v,) in enumerate(col, 1):
            if isinstance(v, str) and v.strip() in b.keys:
                rows.setdefault(v.strip(), r)
        for k in b.keys:
            if k not in rows:
                raise _missing_column(self.name, b.sheet, k)
        return rows

    def block_cell(self, name: str, key: str) -> str:
        return f"{get_column_letter(schema.BLOCK_VALUE_COL)}{self.block_rows(name)[key]}"

    def read_block(self, name: str) -> dict[str, object]:
        b = self._block(name)
        ws = self.sheet(name)
        rows = self.block_rows(name)
        return {
            f.key: converter(f)(ws.cell(rows[f.key], schema.BLOCK_VALUE_COL).value)
            for f in b.fields
        }

    def write_block(self, name: str, values: Mapping[str, object]) -> None:
        """Write block values (None clears a cell); unknown keys raise KeyError."""
        b = self._block(name)
        ws = self.sheet(name)
        rows = self.block_rows(name)
        for key, v in values.items():
            f = b.field(key)
            self._set(ws.cell(rows[key], schema.BLOCK_VALUE_COL), f, v)
            if layout().wraps(f):  # the line grows with its text, so nothing overprints the next
                dim = ws.row_dimensions[rows[key]]
                height = layout().block_row_height(f, v)
                if v not in (None, "") or (dim.height or 0) > height + 1:  # a line shrinks back
                    dim.height = height

    # -- tables
    def _table(self, name: str) -> Table:
        p = self.form.part(name)
        if not isinstance(p, Table):
            raise KeyError(f"{name} is not a table")
        return p

    def header_columns(self, table_name: str) -> dict[str, int]:
        """Field key → 1-based column, from the hidden key row (robust to moved columns)."""
        if table_name in self._cols:
            return self._cols[table_name]
        t = self._table(table_name)
        ws = self.sheet(table_name)
        cols: dict[str, int] = {}
        for c in ws.iter_rows(min_row=schema.KEY_ROW, max_row=schema.KEY_ROW):
            for cell in c:
                v = cell.value
                if isinstance(v, str) and v.strip() in t.keys:
                    cols.setdefault(v.strip(), int(cell.column or 0))
        for k in t.keys:
            if k not in cols:
                raise _missing_column(self.name, t.sheet, k, f"{schema.KEY_ROW}:{schema.KEY_ROW}")
        self._cols[table_name] = cols
        return cols

    def cell_ref(self, table: str, row: int, key: str) -> str:
        return f"{get_column_letter(self.header_columns(table)[key])}{row}"

    def read_table(self, name: str) -> list[tuple[int, dict[str, object]]]:
        """(Excel row, values by key) of every non-empty row from FIRST_DATA_ROW to the sheet's end."""
        t = self._table(name)
        ws = self.sheet(name)
        cols = self.header_columns(name)
        spec = [(f.key, cols[f.key] - 1, converter(f)) for f in t.fields]
        out: list[tuple[int, dict[str, object]]] = []
        for r, raw in enumerate(
            ws.iter_rows(min_row=schema.FIRST_DATA_ROW, values_only=True), schema.FIRST_DATA_ROW
        ):
            rec = {k: (conv(raw[i]) if i < len(raw) else None) for k, i, conv in spec}
            if any(v is not None for v in rec.values()):
                out.append((r, rec))
        return out

    def last_row(self, name: str) -> int:
        """Last row holding data in the table's columns (LABEL_ROW when empty)."""
        ws = self.sheet(name)
        idx = [c - 1 for c in self.header_columns(name).values()]
        last = schema.LABEL_ROW
        for r, raw in enumerate(
            ws.iter_rows(min_row=schema.FIRST_DATA_ROW, values_only=True), schema.FIRST_DATA_ROW
        ):
            if any(i < len(raw) and normalize_value(raw[i]) is not None for i in idx):
                last = r
        return last

    def append_rows(self, name: str, rows: Iterable[Mapping[str, object]]) -> list[int]:
        """Write rows after the last data row; grows the Excel table over them. Returns row numbers."""
        t = self._table(name)
        ws = self.sheet(name)
        cols = self.header_columns(name)
        fields = {f.key: f for f in t.fields}
        styles = self._row_styles(ws, cols.values())
        written: list[int] = []
        r = self.last_row(name)
        for values in rows:
            r += 1
            for key in values:
                if key not in fields:
                    raise KeyError(f"{name} has no field {key!r}")
            if r != schema.FIRST_DATA_ROW:
                for c, style in styles:
                    ws.cell(r, c)._style = copy(style)  # type: ignore[union-attr]
            for key, v in values.items():
                if v is not None:
                    self._set(ws.cell(r, cols[key]), fields[key], v)
            self.fit_row(name, r)
            written.append(r)
        if written:
            self._grow_table(t, ws, written[-1])
        return written

    def update_row(self, name: str, row: int, values: Mapping[str, object]) -> None:
        """Overwrite the given fields of one row (None clears a cell)."""
        t = self._table(name)
        if row < schema.FIRST_DATA_ROW:
            raise ValueError(f"row {row} is above the data rows of {name}")
        ws = self.sheet(name)
        cols = self.header_columns(name)
        for key, v in values.items():
            self._set(ws.cell(row, cols[key]), t.field(key), v)
        if any(layout().wraps(t.field(k)) for k in values):
            self.fit_row(name, row)
        self._grow_table(t, ws, row)

    def fit_row(self, name: str, row: int) -> None:
        """Give a table row the height its wrapped cells need at their column widths
        (LibreOffice and print keep a written row's height: too short, lines overprint)."""
        t = self._table(name)
        ws = self.sheet(name)
        cols = self.header_columns(name)
        widths = self._column_widths(ws)
        lay = layout()
        cells = []
        for f in t.fields:
            if lay.wraps(f):
                cell = ws._cells.get((row, cols[f.key]))
                if cell is not None and cell.value is not None:
                    cells.append((cell.value, widths.get(cols[f.key], DEFAULT_WIDTH)))
        ws.row_dimensions[row].height = lay.row_height(cells)

    def _column_widths(self, ws: Worksheet) -> dict[int, float]:
        if ws.title not in self._widths:
            widths: dict[int, float] = {}
            for dim in ws.column_dimensions.values():
                if dim.min is not None and dim.max is not None and dim.width:
                    for c in range(dim.min, dim.max + 1):
                        widths[c] = float(dim.width)
            self._widths[ws.title] = widths
        return self._widths[ws.title]

    # -- helpers
    @staticmethod
    def _set(cell: Any, f: Field, v: object) -> None:
        value = to_cell_value(f, v)
        write_cell(cell, value)
        if value is None:
            return
        nf = number_format_for(f, value)
        if nf and cell.number_format != nf:
            cell.number_format = nf

    @staticmethod
    def _row_styles(ws: Worksheet, cols: Iterable[int]) -> list[tuple[int, Any]]:
        """Styles of the template's first data row (borders, formats, wrap), to give new rows."""
        out = []
        for c in cols:
            src = ws._cells.get((schema.FIRST_DATA_ROW, c))  # no cell creation, no max_column scan
            if src is not None and src.has_style:
                out.append((c, src._style))  # type: ignore[union-attr]
        return out

    def _grow_table(self, t: Table, ws: Worksheet, last: int) -> None:
        tab = ws.tables.get(t.name)
        if tab is None:
            return
        m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+):\$?([A-Z]+)\$?(\d+)", tab.ref)
        if not m:
            return
        c1, r1, c2, r2 = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        if last <= r2:
            return
        tab.ref = f"{c1}{r1}:{c2}{last}"
        if tab.autoFilter is not None:
            tab.autoFilter.ref = tab.ref


# --- calamine (fast, read-only) -----------------------------------------------------------------


def _calamine_rows(path: str | Path, form: Form, part: str) -> tuple[list[list[Any]], str]:
    from python_calamine import CalamineWorkbook

    p = form.part(part)
    guard.inspect(path, sheets=[p.sheet])  # before calamine allocates anything
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as e:
        raise _err(
            "not-xlsx", "فایل اکسل خراب است و باز نشد", f"cannot open workbook: {e}", path
        ) from e
    if p.sheet not in book.sheet_names:
        raise _sheet_not_found(path, form, p.sheet)
    rows = book.get_sheet_by_name(p.sheet).to_python(skip_empty_area=False)
    return rows, p.sheet


def _sheet_not_found(path: str | Path, form: Form, sheet: str) -> CrmError:
    """The error for a form's sheet missing: which form the file is when it is another one
    (a customer form as the register), else the missing sheet."""
    try:
        found = detect_form(path)
    except CrmError as e:
        if e.code != "unknown-form":  # refused, another form by name, a sheet missing
            return e
        found = form
    if found is not form:
        return _wrong_form(Path(path), form.code, found)
    return _missing_sheet(path, sheet)


def read_table_fast(
    path: str | Path, form: Form, table_name: str
) -> list[tuple[int, dict[str, object]]]:
    """Same result as ``FormBook.read_table`` through calamine (read-only, much faster)."""
    t = form.part(table_name)
    if not isinstance(t, Table):
        raise KeyError(f"{table_name} is not a table")
    rows, sheet = _calamine_rows(path, form, table_name)
    return table_rows(path, sheet, t, rows)[0]


def read_tables_fast(path: str | Path, form: Form, names: Iterable[str]) -> FastTables:
    """Several tables of one workbook through one calamine open (the snapshot an operation
    decides on).  Each table: its rows as ``FormBook.read_table`` gives them, the 1-based
    column of each key, and whether a date field still holds a real Excel date."""
    from python_calamine import CalamineWorkbook

    tables = [form.part(n) for n in names]
    guard.inspect(path, sheets=[t.sheet for t in tables])
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as e:
        raise _err(
            "not-xlsx", "فایل اکسل خراب است و باز نشد", f"cannot open workbook: {e}", path
        ) from e
    out: FastTables = {}
    for t in tables:
        if not isinstance(t, Table):
            raise KeyError(f"{t.name} is not a table")
        if t.sheet not in book.sheet_names:
            raise _sheet_not_found(path, form, t.sheet)
        rows = book.get_sheet_by_name(t.sheet).to_python(skip_empty_area=False)
        out[t.name] = table_rows(path, t.sheet, t, rows)
    return out


#: Table name → (rows, key → 1-based column, a date field holds a real date).
FastTables = dict[str, tuple[list[tuple[int, dict[str, object]]], dict[str, int], bool]]


def table_rows(
    path: str | Path, sheet: str, t: Table, rows: list[list[Any]]
) -> tuple[list[tuple[int, dict[str, object]]], dict[str, int], bool]:
    """A table's records from calamine's rows of its sheet (see :func:`read_tables_fast`)."""
    keyrow = rows[schema.KEY_ROW - 1] if len(rows) >= schema.KEY_ROW else []
    cols: dict[str, int] = {}
    for i, v in enumerate(keyrow):
        if isinstance(v, str) and v.strip() in t.keys:
            cols.setdefault(v.strip(), i)
    for k in t.keys:
        if k not in cols:
            raise _missing_column(path, sheet, k, f"{schema.KEY_ROW}:{schema.KEY_ROW}")
    plain = [(f.key, cols[f.key]) for f in t.fields if not f.is_date]
    dated = [(f.key, cols[f.key], f) for f in t.fields if f.is_date]
    width = max(cols.values()) + 1
    real_dates = False
    seen: dict[tuple[str, FieldType], object] = {}
    out: list[tuple[int, dict[str, object]]] = []
    # Hot loop: one dict per row; conversions only where a value is not already final.
    for r, raw in enumerate(rows[schema.FIRST_DATA_ROW - 1 :], schema.FIRST_DATA_ROW):
        if len(raw) < width:
            raw = raw + [""] * (width - len(raw))
        rec: dict[str, object] = {}
        empty = True
        for k, i in plain:
            v = raw[i]
            if v == "":
                rec[k] = None
                continue
            if v.__class__ is str:
                v = v.strip() or None
            elif v.__class__ is float and v.is_integer():
                v = int(v)
            elif isinstance(v, dt.date):
                v = _typed(_PLAIN, v)
            if v is not None:
                empty = False
            rec[k] = v
        for k, i, f in dated:
            v = raw[i]
            if v == "":
                rec[k] = None
                continue
            if v.__class__ is str:
                # a register repeats its dates (the same day in many rows): parse each text once
                key = (v, f.type)
                if key in seen:
                    v = seen[key]
                else:
                    v = seen[key] = _read_date(f, v)
            else:
                real_dates = real_dates or isinstance(v, dt.date)
                v = _read_date(f, v)
            if v is not None:
                empty = False
            rec[k] = v
        if not empty:
            out.append((r, rec))
    return out, {k: i + 1 for k, i in cols.items()}, real_dates


_PLAIN = Field("_", "_", "_")


def _block_lines(
    path: str | Path, form: Form, block_name: str
) -> tuple[Block, dict[str, tuple[int, object]]]:
    """Each field of a block: (row, raw value) from its hidden key column, through calamine."""
    b = form.part(block_name)
    if not isinstance(b, Block):
        raise KeyError(f"{block_name} is not a block")
    rows, sheet = _calamine_rows(path, form, block_name)
    kc, vc = schema.BLOCK_KEY_COL - 1, schema.BLOCK_VALUE_COL - 1
    found: dict[str, tuple[int, object]] = {}
    for r, raw in enumerate(rows, 1):
        k = raw[kc] if len(raw) > kc else ""
        if isinstance(k, str) and k.strip() in b.keys and k.strip() not in found:
            found[k.strip()] = (r, raw[vc] if len(raw) > vc else "")
    for f in b.fields:
        if f.key not in found:
            raise _missing_column(path, sheet, f.key)
    return b, found


def read_block_fast(path: str | Path, form: Form, block_name: str) -> dict[str, object]:
    """Same result as ``FormBook.read_block`` through calamine."""
    b, found = _block_lines(path, form, block_name)
    return {f.key: converter(f)(found[f.key][1]) for f in b.fields}


def block_rows_fast(path: str | Path, form: Form, block_name: str) -> tuple[dict[str, int], bool]:
    """Field key → row of a block (``FormBook.block_rows`` through calamine), and whether a
    date field of the block still holds a real Excel date."""
    b, found = _block_lines(path, form, block_name)
    real = any(f.is_date and isinstance(found[f.key][1], dt.date) for f in b.fields)
    return {k: r for k, (r, _) in found.items()}, real
