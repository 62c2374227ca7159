"""A live-workbook double for tests: xlwings' remote engine fed from a real file.

xlwings' remote engine (``xlwings.pro._xlremote``) builds a ``Book`` from the JSON payload its
VBA and Office.js clients send, answers reads from that snapshot and records every write as
an *action* (``book.json()["actions"]``) instead of applying it. Fed from a file on disk it
lets the Excel entry points run on Linux without Excel; :func:`apply_actions` then plays the
recorded actions back onto the file, as the client would, so a test can check the outcome.

The engine is licence-gated: it only loads with ``XLWINGS_LICENSE_KEY`` set, and the free
key ``noncommercial`` is for tests, never for the shipped workbook. In production the buttons
run through ``RunPython`` and ``xw.Book.caller()`` on the desktop engine.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries

#: The client whose payload we mimic: xlwings' VBA client (addin/Remote.bas, RunServerPython).
CLIENT = "VBA"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?)?Z?$")


def ensure_remote_engine() -> None:
    """Register xlwings' remote engine if it is not yet (it needs ``XLWINGS_LICENSE_KEY``).

    xlwings registers it at import only when the key is set then; a test that sets the key
    later (``monkeypatch.setenv``) gets it registered here.
    """
    import xlwings as xw

    if "remote" in [e.name for e in xw.engines]:
        return
    if not os.environ.get("XLWINGS_LICENSE_KEY"):
        raise RuntimeError(
            "xlwings' remote engine needs XLWINGS_LICENSE_KEY (tests: noncommercial)"
        )
    from xlwings.main import Engine
    from xlwings.pro import _xlremote

    xw.engines.add(Engine(impl=_xlremote.engine))


def _json_value(value: object) -> object:
    """A cell value as the VBA client's JSON converter sends it."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # WebHelpers.ConvertToIso
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00.000Z"
    if isinstance(value, dt.time):  # a VBA Date on day zero
        return f"1899-12-30T{value.strftime('%H:%M:%S')}.000Z"
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    return value


def _address(min_col: int, min_row: int, max_col: int, max_row: int, *, absolute: bool) -> str:
    d = "$" if absolute else ""
    first = f"{d}{get_column_letter(min_col)}{d}{min_row}"
    if (min_col, min_row) == (max_col, max_row):
        return first
    return f"{first}:{d}{get_column_letter(max_col)}{d}{max_row}"


def _bounds(ref: str) -> tuple[int, int, int, int]:
    """(min_col, min_row, max_col, max_row) of a finite A1 range."""
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    if min_col is None or min_row is None or max_col is None or max_row is None:
        raise ValueError(f"not a finite range: {ref}")
    return min_col, min_row, max_col, max_row


def _sheet_values(ws: Any) -> list[list[object]]:
    """Values from A1 to the last non-empty cell, rectangular (the client sends A1..UsedRange)."""
    rows = [[_json_value(v) for v in row] for row in ws.iter_rows(values_only=True)]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    width = max((i + 1 for row in rows for i, v in enumerate(row) if v is not None), default=0)
    if not rows or width == 0:
        return [[]]
    return [(row + [None] * width)[:width] for row in rows]


def _tables(ws: Any) -> list[dict[str, object]]:
    tables = []
    for table in ws.tables.values():
        min_col, min_row, max_col, max_row = _bounds(table.ref)
        headers = 0 if table.headerRowCount == 0 else 1
        totals = 1 if table.totalsRowCount else 0
        body = (min_row + headers, max_row - totals)
        style = table.tableStyleInfo.name if table.tableStyleInfo is not None else None
        tables.append(
            {
                "name": table.displayName or table.name,
                "range_address": _address(min_col, min_row, max_col, max_row, absolute=True),
                "header_row_range_address": (
                    _address(min_col, min_row, max_col, min_row, absolute=True) if headers else None
                ),
                "data_body_range_address": (
                    _address(min_col, body[0], max_col, body[1], absolute=True)
                    if body[0] <= body[1]
                    else None
                ),
                "total_row_range_address": (
                    _address(min_col, max_row, max_col, max_row, absolute=True) if totals else None
                ),
                "show_headers": bool(headers),
                "show_totals": bool(totals),
                "table_style": style,
                "show_autofilter": table.autoFilter is not None,
            }
        )
    return tables


def _names(wb: Any) -> list[dict[str, object]]:
    """Names that refer to one range; the clients send no constants or formulas."""
    sheets = wb.sheetnames
    scoped: list[tuple[Any, int | None]] = [(dn, None) for dn in wb.defined_names.values()]
    for index, ws in enumerate(wb.worksheets):
        scoped += [(dn, index) for dn in ws.defined_names.values()]
    names: list[dict[str, object]] = []
    for dn, scope in scoped:
        try:
            destinations = list(dn.destinations)
        except Exception:  # not a range reference
            continue
        if len(destinations) != 1 or destinations[0][0] not in sheets:
            continue
        sheet, ref = destinations[0]
        min_col, min_row, max_col, max_row = _bounds(ref)
        names.append(
            {
                "name": dn.name,
                "sheet_index": sheets.index(sheet),
                "address": _address(min_col, min_row, max_col, max_row, absolute=False),
                "book_scope": scope is None,
                "scope_sheet_name": None if scope is None else sheets[scope],
                "scope_sheet_index": scope,
            }
        )
    return names


def book_json_from_file(
    path: Path | str, active_sheet: str | None = None, selection: str | None = None
) -> dict[str, Any]:
    """The payload xlwings' VBA client would send for ``path`` open in Excel.

    ``values`` are cached results (``data_only``), so formulas a non-Excel writer left without
    a cached value read as ``None``, like a workbook never recalculated. ``active_sheet``
    defaults to the file's active sheet; ``selection`` is an A1 address on it or ``None``.
    """
    import xlwings

    path = Path(path)
    wb = openpyxl.load_workbook(path, data_only=True)
    try:
        sheets = wb.sheetnames
        current = wb.active.title if wb.active is not None else sheets[0]
        active = sheets.index(active_sheet or current)
        return {
            "client": CLIENT,
            "version": xlwings.__version__,
            "book": {"name": path.name, "active_sheet_index": active, "selection": selection},
            "names": _names(wb),
            "sheets": [
                {
                    "name": ws.title,
                    "pictures": [],
                    "tables": _tables(ws),
                    "values": _sheet_values(ws),
                }
                for ws in wb.worksheets
            ],
        }
    finally:
        wb.close()


def open_remote_book(
    path: Path | str, active_sheet: str | None = None, selection: str | None = None
) -> Any:
    """``xw.Book(json=...)`` for ``path``: reads see the file, writes become actions."""
    import xlwings as xw

    ensure_remote_engine()
    return xw.Book(json=book_json_from_file(path, active_sheet, selection))


def open_with_entries(path: Path | str, entries: dict[str, object], **kw: Any) -> Any:
    """Type ``entries`` (defined name -> value) into the file, then open it as a remote book."""
    path = Path(path)
    wb = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() in (".xlsm", ".xltm"))
    for name, value in entries.items():
        for sheet, ref in wb.defined_names[name].destinations:
            wb[sheet][ref.replace("$", "")].value = value
    wb.save(path)
    return open_remote_book(path, **kw)


def _cell_value(value: object) -> object:
    # The client turns ISO date strings back into dates (Remote.bas setValues, ParseIso).
    if isinstance(value, str) and _ISO_DATE.match(value):
        return dt.datetime.fromisoformat(value.rstrip("Z").replace("T", " "))
    return value


def apply_actions(
    path: Path | str, actions: list[dict[str, Any]], out: Path | str | None = None
) -> Path:
    """Play recorded actions back onto the file with openpyxl (``keep_vba`` for .xlsm).

    Supports what a store needs: setValues, rangeClearContents, setNumberFormat, addSheet,
    setSheetName, namesAdd, nameDelete; ``alert``, ``setScreenUpdating`` and ``save`` are ignored.
    Anything else raises, so a test notices an operation the double does not model.
    """
    from openpyxl.workbook.defined_name import DefinedName

    path = Path(path)
    wb = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() in (".xlsm", ".xltm"))

    def cells(action: dict[str, Any]) -> Any:
        ws = wb.worksheets[action["sheet_position"]]
        r0, c0 = action["start_row"] + 1, action["start_column"] + 1
        return ws.iter_rows(
            min_row=r0,
            max_row=r0 + action["row_count"] - 1,
            min_col=c0,
            max_col=c0 + action["column_count"] - 1,
        )

    for action in actions:
        func, args = action["func"], action.get("args") or []
        if func == "setValues":
            for row, values in zip(cells(action), action["values"], strict=True):
                for cell, value in zip(row, values, strict=True):
                    cell.value = _cell_value(value)
                    if isinstance(cell.value, str) and cell.number_format == "@":
                        cell.data_type = "s"  # Excel keeps text in a Text (@) cell, "=…" too
        elif func == "rangeClearContents":
            for row in cells(action):
                for cell in row:
                    cell.value = None
        elif func == "setNumberFormat":
            for row in cells(action):
                for cell in row:
                    cell.number_format = args[0]
        elif func == "addSheet":
            wb.create_sheet(title=args[1], index=args[0])
        elif func == "setSheetName":
            wb.worksheets[action["sheet_position"]].title = args[0]
        elif func == "namesAdd":
            name, refers_to = args[0], str(args[1]).lstrip("=")
            wb.defined_names[name] = DefinedName(name, attr_text=refers_to)
        elif func == "nameDelete":
            wb.defined_names.pop(args[2], None)
        elif func in ("alert", "setScreenUpdating", "save"):
            continue  # save: the played-back file is saved below anyway
        else:
            raise NotImplementedError(f"apply_actions does not model {func!r}")
    target = Path(out) if out is not None else path
    wb.save(target)
    return target
