"""The two-sheet Excel of Moadian invoices: headers, and lines keyed by invoice number.

The layout trusted intermediaries (شرکت‌های معتمد) import: one sheet of invoice headers, one
of lines, both keyed by the register's invoice number. Row 1 holds the specification's field
names (what a machine reads), row 2 their Persian labels, data from row 3; the values are
those of the JSON export (``Invoice.to_json``), so the two exports cannot disagree. Sheets are
right-to-left; every text is written as text, never as a formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crm_xl.domain import moadian
from crm_xl.domain.schema import FONT_NAME, FONT_SIZE
from crm_xl.io.layout import new_workbook
from crm_xl.io.safety import atomic_write

HEADER_SHEET = "سربرگ"
LINES_SHEET = "اقلام"
#: The key column both sheets start with (the register's invoice number), and the lines' order.
INVOICE_KEY = ("invoice_no", "شماره فاکتور")
LINE_KEY = ("line_no", "ردیف")
FIRST_DATA_ROW = 3  # 1-based: keys on row 1, labels on row 2


def _columns(fields: Sequence[moadian.SpecField], *keys: tuple[str, str]) -> list[tuple[str, str]]:
    return [*keys, *((f.key, f.fa) for f in fields)]


HEADER_COLUMNS = _columns(moadian.HEADER_FIELDS, INVOICE_KEY)
LINE_COLUMNS = _columns(moadian.BODY_FIELDS, INVOICE_KEY, LINE_KEY)


def write_tax_excel(path: Path, invoices: Sequence[tuple[str, moadian.Invoice]]) -> Path:
    """Write ``(invoice number, invoice)`` pairs as the two-sheet workbook at ``path``."""
    header_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    for number, inv in invoices:
        data = inv.to_json()
        header_rows.append({"invoice_no": number, **data["header"]})
        for n, line in enumerate(data["body"], 1):
            line_rows.append({"invoice_no": number, "line_no": n, **line})

    def write(tmp: Path) -> None:
        book = new_workbook(tmp)
        key_fmt = book.add_format(
            {"font_name": FONT_NAME, "font_size": 8, "font_color": "#808080", "border": 1}
        )
        label_fmt = book.add_format(
            {
                "font_name": FONT_NAME,
                "font_size": FONT_SIZE,
                "bold": True,
                "text_wrap": True,
                "align": "center",
                "valign": "vcenter",
                "bg_color": "#D9E1F2",
                "border": 1,
            }
        )
        # Right-to-left paragraphs, else LibreOffice lays text led by digits left to right.
        text_fmt = book.add_format(
            {"font_name": FONT_NAME, "font_size": FONT_SIZE, "reading_order": 2, "num_format": "@"}
        )
        num_fmt = book.add_format({"font_name": FONT_NAME, "font_size": FONT_SIZE})
        for name, columns, rows in (
            (HEADER_SHEET, HEADER_COLUMNS, header_rows),
            (LINES_SHEET, LINE_COLUMNS, line_rows),
        ):
            ws = book.add_worksheet(name)
            ws.right_to_left()
            for c, (key, fa) in enumerate(columns):
                ws.write_string(0, c, key, key_fmt)
                ws.write_string(1, c, fa, label_fmt)
                ws.set_column(c, c, max(12, min(len(fa) + 2, 30)))
            ws.set_row(1, 45)
            for r, row in enumerate(rows, FIRST_DATA_ROW - 1):
                for c, (key, _) in enumerate(columns):
                    v = row.get(key)
                    if v is None:
                        continue
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        ws.write_number(r, c, v, num_fmt)
                    else:
                        ws.write_string(r, c, str(v), text_fmt)
            ws.freeze_panes(FIRST_DATA_ROW - 1, 1)
            if rows:
                ws.autofilter(1, 0, FIRST_DATA_ROW - 2 + len(rows), len(columns) - 1)
        book.close()

    atomic_write(path, write, backups=None)
    return path


__all__ = ["HEADER_COLUMNS", "HEADER_SHEET", "LINES_SHEET", "LINE_COLUMNS", "write_tax_excel"]
