"""Write what changed: cells patched into the sheet XML of an xlsx, every other member copied.

An operation changes a few rows of a register that may hold thousands; loading and saving the
whole workbook through openpyxl costs seconds and rewrites parts a person added (macros,
styles, comments).  A :class:`SheetPatch` edits only the ``<sheetData>`` rows it must of the
sheets it must, keeps what depends on the used range right (``<dimension>``, the Excel
tables' ``ref``, the ``sqref`` of conditional formats and data validations that cover the
table's data rows) and copies every other zip member unchanged.

Text is written as inline strings (``t="inlineStr"``): appending to ``sharedStrings.xml``
would rewrite that member (the biggest of an openpyxl-saved register) on every operation,
and every reader (openpyxl, calamine, Excel, LibreOffice) reads inline strings; Excel moves
them to the shared table when it saves.  Text that reads as a formula (``guard.formula_like``)
gets the quote-prefix variant of its style, added to ``styles.xml`` when none exists yet,
as ``workbook.write_cell`` does through openpyxl: it can never become a formula.

All this zip/XML knowledge lives here.  Anything the patcher does not know (a row or cell
without its ``r`` reference, a sheet it cannot find) raises ``LookupError``: the caller then
writes the workbook the slow, general way.
"""

from __future__ import annotations

import copy
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from crm_xl.io import guard

__all__ = ["IllegalCharacterError", "SheetPatch", "cell_xml", "column_widths"]

_ROW_RE = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?(/?)>')
_ANY_ROW_RE = re.compile(rb"<row\b")
_CELL_RE = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?(/?)>')
_ANY_CELL_RE = re.compile(rb"<c\b")
_STYLE_RE = re.compile(rb'\bs="(\d+)"')
_COL_RE = re.compile(rb"<col\b([^>]*)/?>")
_ATTR_RE = re.compile(rb'(\w+)="([^"]*)"')
_RANGE_RE = re.compile(r"^\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?$")
_REL_TABLE = b"/relationships/table"
_LOCAL_HEADER = 30  # bytes of a zip local file header before its name and extra field

#: A value as a cell holds it: text, a number, a boolean, or None (the cell emptied).
Value = str | int | float | bool | None


#: Characters XML 1.0 cannot hold (openpyxl refuses the same ones).
_ILLEGAL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class IllegalCharacterError(ValueError):
    """Text with a control character a worksheet cannot hold; named and worded as openpyxl's,
    so the command line's one translation (``cli.common.known_failure``) serves both writers."""


def cell_xml(ref: str, style: int | None, value: Value) -> bytes:
    """One ``<c>`` element: inline text, a number or a boolean; None gives a styled blank.
    Text with a control character raises :class:`IllegalCharacterError` (never bad XML)."""
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>'.encode()
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'.encode()
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'.encode()
    if _ILLEGAL_RE.search(str(value)):
        raise IllegalCharacterError(f"{value} cannot be used in worksheets.")
    text = escape(str(value))
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'.encode()


def column_widths(sheet_xml: bytes) -> dict[int, float]:
    """Column → width from the sheet's ``<cols>`` (columns without one are left out)."""
    out: dict[int, float] = {}
    end = sheet_xml.find(b"<sheetData")
    for m in _COL_RE.finditer(sheet_xml, 0, end if end >= 0 else len(sheet_xml)):
        a = dict(_ATTR_RE.findall(m.group(1)))
        try:
            lo, hi, w = int(a[b"min"]), int(a[b"max"]), float(a[b"width"])
        except (KeyError, ValueError):
            continue
        for c in range(lo, min(hi, 16384) + 1):
            out[c] = w
    return out


@dataclass
class _Row:
    cells: dict[int, Value] = field(default_factory=dict)
    height: float | None = None
    fit: bool = False  # set the height (None: back to the default)


@dataclass
class _Sheet:
    part: str
    rows: dict[int, _Row] = field(default_factory=dict)
    template_row: int = 0  # the row whose cell styles new cells copy


class SheetPatch:
    """Cell changes to one xlsx, written by :meth:`save` into a new file."""

    def __init__(self, path: Path) -> None:
        """The file passes ``guard`` whole (cached per file version) and, being a record
        about to be written back, is refused if it carries an external link; a web or e-mail
        hyperlink (which the general path removes) raises LookupError."""
        self.path = Path(path)
        self.pkg = guard.inspect(self.path)
        guard.refuse_links(self.pkg)
        if self.pkg.links:  # web links are dropped from records: openpyxl's path does that
            raise LookupError("hyperlinks to drop")
        self.sheets: dict[str, _Sheet] = {}
        self._xml: dict[str, bytes] = {}

    def _sheet(self, name: str) -> _Sheet:
        if name not in self.sheets:
            part = self.pkg.sheets.get(name)
            if part is None:
                raise LookupError(f"sheet {name!r} not found")
            self.sheets[name] = _Sheet(part)
        return self.sheets[name]

    def sheet_xml(self, name: str) -> bytes:
        """The sheet part as it is now (read once)."""
        part = self._sheet(name).part
        if part not in self._xml:
            with zipfile.ZipFile(self.path) as zf:
                self._xml[part] = zf.read(part)
        return self._xml[part]

    def set(self, sheet: str, row: int, col: int, value: Value, *, template_row: int = 0) -> None:
        """Give a cell a value; a new cell takes the style of ``template_row``'s cell in its
        column (else of the row above)."""
        st = self._sheet(sheet)
        if template_row:
            st.template_row = template_row
        st.rows.setdefault(row, _Row()).cells[col] = value

    def fit(self, sheet: str, row: int, height: float | None) -> None:
        """Set a row's height in points (None: the sheet's default height)."""
        r = self._sheet(sheet).rows.setdefault(row, _Row())
        r.height, r.fit = height, True

    # -- writing

    def save(self, dest: Path) -> list[str]:
        """Write the patched workbook to ``dest``; returns the members that changed."""
        with zipfile.ZipFile(self.path) as zf:
            infos = zf.infolist()
            changed: dict[str, bytes] = {}
            styles = _Styles(zf.read("xl/styles.xml")) if "xl/styles.xml" in zf.namelist() else None
            for _name, st in self.sheets.items():
                if not st.rows:
                    continue
                xml = self._xml.get(st.part) or zf.read(st.part)
                xml, grown = _patch_sheet(xml, st, styles)
                if grown is not None:
                    xml = self._grow_tables(zf, st.part, xml, grown, changed)
                changed[st.part] = xml
            if styles is not None and styles.added:
                changed["xl/styles.xml"] = styles.xml()
            with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
                for info in infos:
                    if info.filename in changed:
                        out.writestr(
                            info, changed[info.filename], zipfile.ZIP_DEFLATED, compresslevel=1
                        )
                    else:
                        _copy_raw(zf, out, info)
        return sorted(changed)

    def _grow_tables(
        self,
        zf: zipfile.ZipFile,
        part: str,
        xml: bytes,
        grown: tuple[int, int, int],
        changed: dict[str, bytes],
    ) -> bytes:
        """Tables, conditional formats and validations that ended at the old last row reach
        the new one (``grown`` = first and last column touched, last row)."""
        c_lo, c_hi, last = grown
        s_lo, s_hi = c_lo, c_hi  # the columns whose format ranges follow the new rows
        rels_name = _rels_of(part)
        old_end: int | None = None
        if rels_name in zf.namelist():
            rels = zf.read(rels_name)
            for m in re.finditer(rb"<Relationship\b[^>]*>", rels):
                a = dict(_ATTR_RE.findall(m.group(0)))
                if not a.get(b"Type", b"").endswith(_REL_TABLE):
                    continue
                target = _resolve(part, a[b"Target"].decode())
                if target not in zf.namelist():
                    continue
                tx = changed.get(target) or zf.read(target)
                tm = re.search(rb'<table\b[^>]*?\bref="([^"]+)"', tx)
                if tm is None:
                    continue
                rng = _parse_range(tm.group(1).decode())
                if rng is None:
                    continue
                tc1, tr1, tc2, tr2 = rng
                if not (tc1 <= c_lo and c_hi <= tc2) or last <= tr2:
                    continue
                old = tm.group(1)
                new = f"{guard.col_letters(tc1)}{tr1}:{guard.col_letters(tc2)}{last}".encode()
                tx = tx.replace(b'ref="' + old + b'"', b'ref="' + new + b'"')
                changed[target] = tx
                old_end = tr2 if old_end is None else min(old_end, tr2)
                # the whole table's columns: a row gets every drop-down of the table
                s_lo, s_hi = min(s_lo, tc1), max(s_hi, tc2)
        return _grow_sqrefs(xml, s_lo, s_hi, last, old_end)


# --- the sheet XML ------------------------------------------------------------------------------


def _rels_of(part: str) -> str:
    d, _, n = part.rpartition("/")
    return f"{d}/_rels/{n}.rels"


def _resolve(part: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    base = part.rpartition("/")[0].split("/")
    for seg in target.split("/"):
        if seg == "..":
            base.pop()
        elif seg != ".":
            base.append(seg)
    return "/".join(base)


def _parse_range(ref: str) -> tuple[int, int, int, int] | None:
    m = _RANGE_RE.match(ref.strip())
    if not m:
        return None
    c1, r1 = guard.col_index(m.group(1)), int(m.group(2))
    if m.group(3):
        return c1, r1, guard.col_index(m.group(3)), int(m.group(4))
    return c1, r1, c1, r1


def _elements(
    xml: bytes, start: int, end: int, tag: re.Pattern[bytes], any_tag: re.Pattern[bytes]
) -> Iterator[tuple[int, int, int, re.Match[bytes]]]:
    """(start, end, number, match) of each ``<row>``/``<c>`` element in xml[start:end]; an
    element without its ``r`` reference raises LookupError (not a layout this module knows)."""
    close = b"</row>" if tag is _ROW_RE else b"</c>"
    count = 0
    pos = start
    while True:
        m = tag.search(xml, pos, end)
        if m is None:
            break
        count += 1
        if m.group(len(m.groups())) == b"/":
            e = m.end()
        else:
            e = xml.find(close, m.end(), end)
            if e < 0:
                raise LookupError("unclosed element")
            e += len(close)
        num = int(m.group(1)) if tag is _ROW_RE else guard.col_index(m.group(1).decode())
        yield m.start(), e, num, m
        pos = e
    if len(any_tag.findall(xml, start, end)) != count:
        raise LookupError("an element without its r reference")


def _patch_sheet(
    xml: bytes, st: _Sheet, styles: _Styles | None
) -> tuple[bytes, tuple[int, int, int] | None]:
    open_m = re.search(rb"<sheetData\b[^>]*?(/?)>", xml)
    if open_m is None:
        raise LookupError("no sheetData")
    if open_m.group(1) == b"/":  # an empty self-closed sheetData
        xml = xml[: open_m.start()] + b"<sheetData></sheetData>" + xml[open_m.end() :]
        open_m = re.search(rb"<sheetData\b[^>]*?>", xml)
        assert open_m is not None
    body_start = open_m.end()
    body_end = xml.find(b"</sheetData>", body_start)
    if body_end < 0:
        raise LookupError("unclosed sheetData")
    rows = list(_elements(xml, body_start, body_end, _ROW_RE, _ANY_ROW_RE))
    existing = {num: (s, e) for s, e, num, _ in rows}
    template = existing.get(st.template_row)
    tstyles = _cell_styles(xml, *template) if template else {}

    def style_for(row: int, col: int) -> int | None:
        if col in tstyles:
            return tstyles[col]
        above = existing.get(row - 1)
        return _cell_styles(xml, *above).get(col) if above else None

    out: list[bytes] = []
    pos = body_start
    new_rows = sorted(st.rows)
    max_col = max((c for r in st.rows.values() for c in r.cells), default=1)
    min_col = min((c for r in st.rows.values() for c in r.cells), default=1)
    pieces: list[tuple[int, int, bytes]] = []  # (start, end, replacement) in body order
    for r in new_rows:
        change = st.rows[r]
        if r in existing:
            s, e = existing[r]
            pieces.append((s, e, _patch_row(xml[s:e], r, change, styles)))
        else:
            cells = {c: (style_for(r, c), v) for c, v in change.cells.items()}
            at = _insert_at(rows, r, body_end)
            pieces.append((at, at, _new_row(r, cells, change, styles)))
    pieces.sort(key=lambda p: (p[0], p[1]))
    for s, e, rep in pieces:
        out.append(xml[pos:s])
        out.append(rep)
        pos = e
    out.append(xml[pos:])
    patched = xml[:body_start] + b"".join(out)
    last = max(new_rows) if new_rows else 0
    old_last = max(existing, default=0)
    patched = _grow_dimension(patched, max(last, old_last), max_col)
    return patched, (min_col, max_col, last) if new_rows else None


def _insert_at(rows: list[tuple[int, int, int, re.Match[bytes]]], r: int, end: int) -> int:
    for s, _e, num, _m in rows:
        if num > r:
            return s
    return end


def _cell_styles(xml: bytes, s: int, e: int) -> dict[int, int]:
    out = {}
    for _cs, _ce, col, m in _elements(xml, s, e, _CELL_RE, _ANY_CELL_RE):
        sm = _STYLE_RE.search(m.group(0))
        if sm:
            out[col] = int(sm.group(1))
    return out


def _cell(ref_col: int, row: int, style: int | None, value: Value, styles: _Styles | None) -> bytes:
    if styles is not None:
        style = styles.for_value(style, value)
    return cell_xml(f"{guard.col_letters(ref_col)}{row}", style, value)


def _height_attrs(tag: bytes, change: _Row) -> bytes:
    if not change.fit:
        return tag
    tag = re.sub(rb'\s(?:ht|customHeight)="[^"]*"', b"", tag)
    if change.height is not None:
        end = -2 if tag.endswith(b"/>") else -1
        tag = tag[:end] + f' ht="{change.height:g}" customHeight="1"'.encode() + tag[end:]
    return tag


def _new_row(
    r: int, cells: dict[int, tuple[int | None, Value]], change: _Row, styles: _Styles | None
) -> bytes:
    body = b"".join(_cell(c, r, s, v, styles) for c, (s, v) in sorted(cells.items()))
    return _height_attrs(f'<row r="{r}">'.encode(), change) + body + b"</row>"


def _patch_row(elem: bytes, r: int, change: _Row, styles: _Styles | None) -> bytes:
    head_end = elem.find(b">") + 1
    head = elem[:head_end]
    if head.endswith(b"/>"):  # an empty row element
        head, body = head[:-2] + b">", b""
    else:
        body = elem[head_end : -len(b"</row>")]
    cells = {
        col: (s, e, m) for s, e, col, m in _elements(body, 0, len(body), _CELL_RE, _ANY_CELL_RE)
    }
    pieces: list[tuple[int, int, bytes]] = []
    for col, value in sorted(change.cells.items()):
        if col in cells:
            s, e, m = cells[col]
            sm = _STYLE_RE.search(m.group(0))
            pieces.append((s, e, _cell(col, r, int(sm.group(1)) if sm else None, value, styles)))
        else:
            at = next((s for c, (s, _e, _m) in sorted(cells.items()) if c > col), len(body))
            pieces.append((at, at, _cell(col, r, _row_style(head), value, styles)))
    out, pos = [], 0
    for s, e, rep in sorted(pieces, key=lambda p: (p[0], p[1])):
        out += [body[pos:s], rep]
        pos = e
    out.append(body[pos:])
    return _height_attrs(head, change) + b"".join(out) + b"</row>"


def _row_style(head: bytes) -> int | None:
    if b'customFormat="1"' in head:
        m = _STYLE_RE.search(head)
        return int(m.group(1)) if m else None
    return None


def _grow_dimension(xml: bytes, last_row: int, last_col: int) -> bytes:
    m = re.search(rb'<dimension\b[^>]*?\bref="([^"]+)"', xml)
    if m is None:
        return xml
    rng = _parse_range(m.group(1).decode())
    if rng is None:
        return xml
    c1, r1, c2, r2 = rng
    c2, r2 = max(c2, last_col), max(r2, last_row)
    ref = f"{guard.col_letters(c1)}{r1}:{guard.col_letters(c2)}{r2}".encode()
    return xml[: m.start(1)] + ref + xml[m.end(1) :]


def _grow_sqrefs(xml: bytes, c_lo: int, c_hi: int, last: int, old_end: int | None) -> bytes:
    """Ranges of conditional formats and validations over the table's rows that end above
    ``last`` end at ``last``: a row appended past them is formatted and checked like the rest.
    Only ranges that reach the table's old end (or the old last row) are extended."""

    def grow(m: re.Match[bytes]) -> bytes:
        refs = []
        for ref in m.group(2).decode().split():
            rng = _parse_range(ref)
            if rng is not None:
                c1, r1, c2, r2 = rng
                reaches = old_end is None or r2 >= old_end
                if r1 < last and r2 < last and reaches and c1 <= c_hi and c2 >= c_lo:
                    ref = f"{guard.col_letters(c1)}{r1}:{guard.col_letters(c2)}{last}"
            refs.append(ref)
        return m.group(1) + " ".join(refs).encode() + b'"'

    return re.sub(
        rb'(<(?:conditionalFormatting|dataValidation)\b[^>]*?\bsqref=")([^"]*)"', grow, xml
    )


# --- styles ----------------------------------------------------------------------------------


class _Styles:
    """The cell formats of styles.xml, grown by quote-prefix variants when text needs one."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        m = re.search(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", data, re.S)
        if m is None:
            raise LookupError("no cellXfs")
        self.span = m.span(1)
        self.xfs = re.findall(rb"<xf\b[^>]*?/>|<xf\b.*?</xf>", m.group(1), re.S)
        self.added: list[bytes] = []
        self.variants: dict[tuple[int, bool], int] = {}

    def _all(self) -> list[bytes]:
        return self.xfs + self.added

    def for_value(self, style: int | None, value: Value) -> int | None:
        """The style a value needs: the quote-prefix variant of ``style`` for text that reads
        as a formula, the plain variant for anything else."""
        quoted = guard.formula_like(value)
        xfs = self._all()
        base = style or 0
        if base >= len(xfs):
            return style
        has = b'quotePrefix="1"' in xfs[base]
        if has == quoted:
            return style
        key = (base, quoted)
        if key not in self.variants:
            self.variants[key] = self._variant(xfs[base], quoted)
        return self.variants[key]

    def _variant(self, xf: bytes, quoted: bool) -> int:
        plain = re.sub(rb'\squotePrefix="[^"]*"', b"", xf)
        want = re.sub(rb"^<xf\b", b'<xf quotePrefix="1"', plain) if quoted else plain
        xfs = self._all()
        for i, x in enumerate(xfs):
            if _same_xf(x, want):
                return i
        self.added.append(want)
        return len(xfs)

    def xml(self) -> bytes:
        s, e = self.span
        body = self.data[s:e] + b"".join(self.added)
        out = self.data[:s] + body + self.data[e:]
        total = len(self.xfs) + len(self.added)
        return re.sub(rb'(<cellXfs\b[^>]*?\bcount=")\d+(")', rb"\g<1>%d\g<2>" % total, out, count=1)


def _same_xf(a: bytes, b: bytes) -> bool:
    def norm(x: bytes) -> tuple[frozenset[tuple[bytes, bytes]], bytes]:
        head_end = x.find(b">")
        attrs = frozenset(_ATTR_RE.findall(x[:head_end]))
        return attrs, x[head_end:].lstrip(b"/>")

    return norm(a) == norm(b)


# --- the zip -----------------------------------------------------------------------------------


def _copy_raw(src: zipfile.ZipFile, out: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy a member's compressed bytes as they are (no inflate, no deflate: the member stays
    byte for byte what it was, and a big untouched sheet costs a copy, not a recompression)."""
    fp = src.fp
    if fp is None or out.fp is None or info.flag_bits & 0x1:  # encrypted: never raw
        out.writestr(info, src.read(info), info.compress_type)
        return
    fp.seek(info.header_offset)
    header = fp.read(_LOCAL_HEADER)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + _LOCAL_HEADER + name_len + extra_len)
    raw = fp.read(info.compress_size)
    if len(raw) != info.compress_size:
        raise zipfile.BadZipFile(f"member {info.filename} is truncated")
    zi = copy.copy(info)
    zi.flag_bits &= ~0x08  # sizes go in the local header, no data descriptor follows
    zi.header_offset = out.fp.tell()
    zi.extra = b""  # zip64 extras are rewritten by FileHeader when needed
    out.fp.write(zi.FileHeader())
    out.fp.write(raw)
    out.filelist.append(zi)
    out.NameToInfo[zi.filename] = zi
    out.start_dir = out.fp.tell()
    out._didModify = True  # type: ignore[attr-defined]
