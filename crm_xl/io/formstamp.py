"""Fresh customer forms stamped from the workspace template's bytes (fast path of the store).

openpyxl spends ~35 ms loading and saving a form; registering thousands of customers (lead
import) or one customer on a busy shared drive should not. Stamping gives the same workbook
as ``FormBook.write_block`` on the template (a test compares them), or raises ``LookupError``
so the caller takes the openpyxl path.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

from crm_xl.domain.schema import BLOCK_VALUE_COL, REGISTRATION
from crm_xl.io import ooxml
from crm_xl.io.guard import formula_like
from crm_xl.io.layout import block_row_height, wraps
from crm_xl.io.workbook import FormBook, to_cell_value


def _row_height(xml: str, row: int, height: float) -> str:
    """``xml`` with row ``row`` given ``height`` points (a custom height)."""
    m = re.search(rf'<row r="{row}"[^>]*?(/?)>', xml)
    if m is None:
        raise LookupError(f"row {row} not found in the template")
    tag = re.sub(r'\s(?:ht|customHeight)="[^"]*"', "", m.group(0)[: -len(m.group(1) or "") - 1])
    new = f'{tag} ht="{height:g}" customHeight="1"{m.group(1)}>'
    return xml[: m.start()] + new + xml[m.end() :]


class FormStamper:
    """Fresh customer forms (F-31-08-01) with the registration block filled, from template bytes.

    The workspace template is laid out by ``layout`` with a blank, formatted value cell per
    block line; stamping fills those cells in the sheet XML (inline strings, numbers, Excel
    Jalali date text) and zips the package again: ~100x faster than openpyxl load+save.  Anything
    unexpected (a value cell not blank, a value type it does not handle) raises ``LookupError``
    and the caller uses the store's openpyxl path.
    """

    def __init__(self, template: Path) -> None:
        self.template = template
        book = FormBook.open(template)  # guard first: the template's bytes are read whole
        with zipfile.ZipFile(template) as zf:
            self.infos = zf.infolist()
            self.parts = {i.filename: zf.read(i.filename) for i in self.infos}
        self.rows = book.block_rows(REGISTRATION.name)
        part = ooxml.sheet_part(self.parts.get, REGISTRATION.sheet)
        if part is None:
            raise LookupError("sheet part not found")
        self.sheet_part = part
        self.xml = self.parts[self.sheet_part].decode("utf-8")
        self.col = get_column_letter(BLOCK_VALUE_COL)

    def _cell(self, ref: str, style: str, f: Any, v: object) -> str:
        value = to_cell_value(f, v)
        if isinstance(value, bool):
            return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"{style}><v>{value}</v></c>'
        if isinstance(value, dt.date):  # to_cell_value writes dates as text: never here
            raise LookupError("unexpected date value")
        if isinstance(value, str):
            if formula_like(value):  # the openpyxl path gives it the quote prefix style
                raise LookupError("text that reads as a formula")
            text = escape(value)
            return (
                f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
            )
        raise LookupError(f"unsupported value {type(value).__name__}")

    def write(self, dest: Path, values: Mapping[str, object]) -> None:
        xml = self.xml
        for key, v in values.items():
            if v is None or v == "":
                continue
            f = REGISTRATION.field(key)
            ref = f"{self.col}{self.rows[key]}"
            m = re.search(rf'<c r="{ref}"( s="\d+")?\s*/>', xml)
            if m is None:
                raise LookupError(f"value cell {ref} is not blank in the template")
            xml = xml[: m.start()] + self._cell(ref, m.group(1) or "", f, v) + xml[m.end() :]
            if wraps(f):  # as tall as its text, like FormBook.write_block makes it
                xml = _row_height(xml, self.rows[key], block_row_height(f, v))
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for info in self.infos:
                data = (
                    xml.encode("utf-8")
                    if info.filename == self.sheet_part
                    else self.parts[info.filename]
                )
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
