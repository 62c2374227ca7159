"""The xlwings store: applies a core ``Plan`` to the register the user has open in Excel.

The same path as ``crm_xl.store.run`` (lock, read the register, let the core decide, prepare
folder changes, write the register, commit folders), except that the register is the live
``xlwings.Book``: Excel holds the file, so the register changes are written into the open
workbook (and the workbook is saved), never into the file behind Excel's back.

``XlwingsBook`` is a ``store.TableTarget``. It reads each sheet once (the used range from A1),
finds the table's columns by the hidden key row (``schema.KEY_ROW``), and keeps an in-memory
copy of the rows, so a later update in the same plan finds a row appended before it. Writes
are buffered and sent by :meth:`XlwingsBook.flush`, one contiguous block per row segment: the
remote engine (tests) answers reads from its opening snapshot only, so nothing is read back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crm_xl.domain import decide, schema
from crm_xl.domain.changes import Plan
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import F_31_08_02, Field, Form, Table
from crm_xl.io.safety import workspace_lock
from crm_xl.io.workbook import converter, number_format_for, to_cell_value
from crm_xl.io.workspace import Workspace
from crm_xl.ops.store import Runner, actor, decide_and_apply

__all__ = ["XlwingsBook", "live_runner", "run_live", "workspace_of"]

Record = dict[str, object]


@dataclass
class _Sheet:
    values: list[list[object]]
    cols: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> key -> 1-based col


class XlwingsBook:
    """``read_table`` / ``append_rows`` / ``update_row`` on a live ``xlwings.Book``."""

    def __init__(self, book: Any, form: Form = F_31_08_02) -> None:
        self.book = book
        self.form = form
        self._sheets: dict[str, _Sheet] = {}
        self._rows: dict[str, dict[int, Record]] = {}  # table -> Excel row -> record
        self._dirty: dict[tuple[str, int], dict[str, object]] = {}  # (table, row) -> key -> value

    # -- reading (once per sheet)
    def _table(self, name: str) -> Table:
        part = self.form.part(name)
        if not isinstance(part, Table):
            raise KeyError(f"{name} is not a table")
        return part

    def _sheet_values(self, sheet_name: str) -> _Sheet:
        if sheet_name not in self._sheets:
            try:
                sheet = self.book.sheets[sheet_name]
            except Exception:
                raise CrmError(
                    f"برگه «{sheet_name}» در کارپوشه باز نیست",
                    f"sheet '{sheet_name}' is not in the open workbook",
                    code="missing-sheet",
                    file=getattr(self.book, "name", None),
                    sheet=sheet_name,
                ) from None
            last = sheet.used_range.last_cell
            values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
            self._sheets[sheet_name] = _Sheet([list(r) for r in values or []])
        return self._sheets[sheet_name]

    def header_columns(self, name: str) -> dict[str, int]:
        """Field key → 1-based column, from the hidden key row."""
        t = self._table(name)
        sheet = self._sheet_values(t.sheet)
        if name not in sheet.cols:
            key_row = (
                sheet.values[schema.KEY_ROW - 1] if len(sheet.values) >= schema.KEY_ROW else []
            )
            cols = schema.key_positions(key_row, t.keys, start=1)
            missing = [k for k in t.keys if k not in cols]
            if missing:
                raise CrmError(
                    f"ستون «{missing[0]}» در ردیف کلید برگه «{t.sheet}» نیست",
                    f"column '{missing[0]}' missing from the key row of sheet '{t.sheet}'",
                    code="missing-column",
                    file=getattr(self.book, "name", None),
                    sheet=t.sheet,
                    cell=f"{schema.KEY_ROW}:{schema.KEY_ROW}",
                )
            sheet.cols[name] = cols
        return sheet.cols[name]

    def _records(self, name: str) -> dict[int, Record]:
        if name not in self._rows:
            t = self._table(name)
            cols = self.header_columns(name)
            spec = [(f.key, cols[f.key] - 1, converter(f)) for f in t.fields]
            rows: dict[int, Record] = {}
            values = self._sheet_values(t.sheet).values
            for r in range(schema.FIRST_DATA_ROW, len(values) + 1):
                raw = values[r - 1]
                rec = {k: (conv(raw[i]) if i < len(raw) else None) for k, i, conv in spec}
                if any(v is not None for v in rec.values()):
                    rows[r] = rec
            self._rows[name] = rows
        return self._rows[name]

    def read_table(self, name: str) -> list[tuple[int, dict[str, object]]]:
        """(Excel row, values by key) of every non-empty row, including rows written since."""
        return [(r, dict(rec)) for r, rec in sorted(self._records(name).items())]

    def row_of(self, sheet_name: str, row: int, key: str) -> object:
        """The value of ``key`` in Excel row ``row`` of the register table on ``sheet_name``."""
        for part in self.form.parts:
            if isinstance(part, Table) and part.sheet == sheet_name and key in part.keys:
                return self._records(part.name).get(row, {}).get(key)
        return None

    # -- writing (buffered; flush sends it)
    def append_rows(self, name: str, rows: Iterable[Mapping[str, object]]) -> list[int]:
        t = self._table(name)
        records = self._records(name)
        last = max(records, default=schema.LABEL_ROW)
        written: list[int] = []
        for values in rows:
            unknown = [k for k in values if k not in t.keys]
            if unknown:
                raise KeyError(f"{name} has no field {unknown[0]!r}")
            last += 1
            records[last] = {f.key: None for f in t.fields}
            self._set(name, last, {k: v for k, v in values.items() if v is not None})
            written.append(last)
        return written

    def update_row(self, name: str, row: int, values: Mapping[str, object]) -> None:
        if row < schema.FIRST_DATA_ROW:
            raise ValueError(f"row {row} is above the data rows of {name}")
        records = self._records(name)
        records.setdefault(row, {f.key: None for f in self._table(name).fields})
        self._set(name, row, values)

    def _set(self, name: str, row: int, values: Mapping[str, object]) -> None:
        t = self._table(name)
        rec = self._rows[name][row]
        dirty = self._dirty.setdefault((name, row), {})
        for key, v in values.items():
            f = t.field(key)
            value = to_cell_value(f, v)
            dirty[key] = value
            rec[key] = converter(f)(value)

    def flush(self) -> None:
        """Send the buffered writes: number formats first (text as ``@``), then values."""
        for (name, row), values in self._dirty.items():
            t = self._table(name)
            sheet = self.book.sheets[t.sheet]
            cols = self.header_columns(name)
            by_col = sorted((cols[k], t.field(k), v) for k, v in values.items())
            for fmt, cells in _format_runs(by_col):
                sheet.range((row, cells[0]), (row, cells[-1])).number_format = fmt
            for start, run in _value_runs(by_col):
                sheet.range((row, start), (row, start + len(run) - 1)).value = [run]
        self._dirty.clear()


def _cell_format(f: Field, value: object) -> str | None:
    """The number format to give a cell before writing ``value`` into it."""
    if value is None:
        return None
    if isinstance(value, str):
        # Text stays text: Excel would turn "09121234567" or "1403/07/15" into a number or
        # date, and "=…" into a formula (SPEC §10; guard.formula_like).  A cell formatted as
        # Text (@) before the value arrives keeps whatever is written into it as text, both
        # on the desktop engine (Range.Value) and on the remote one, whose clients apply the
        # recorded setNumberFormat before setValues (flush sends them in that order).
        return "@"
    return number_format_for(f, value)


def _format_runs(by_col: list[tuple[int, Field, object]]) -> list[tuple[str, list[int]]]:
    runs: list[tuple[str, list[int]]] = []
    for col, f, value in by_col:
        fmt = _cell_format(f, value)
        if fmt is None:
            continue
        if runs and runs[-1][0] == fmt and runs[-1][1][-1] == col - 1:
            runs[-1][1].append(col)
        else:
            runs.append((fmt, [col]))
    return runs


def _value_runs(by_col: list[tuple[int, Field, object]]) -> list[tuple[int, list[object]]]:
    runs: list[tuple[int, list[object]]] = []
    for col, _f, value in by_col:
        if runs and runs[-1][0] + len(runs[-1][1]) == col:
            runs[-1][1].append(value)
        else:
            runs.append((col, [value]))
    return runs


def workspace_of(book: Any) -> Workspace:
    """The workspace whose register ``book`` is: the folder of the book's full path."""
    return Workspace.open(Path(book.fullname).resolve().parent)


def run_live(
    book: Any,
    ws: Workspace | None,
    decide: Callable[[decide.Register], Plan],
    *,
    now: datetime | None = None,
    save: bool = True,
) -> Plan:
    """Lock, read the live register, decide, write it into the open workbook, commit folders.

    ``save`` saves the workbook in Excel after writing, so the register on disk (which other
    users and the CLI read) agrees with the customer folders committed right after.
    """
    ws = ws or workspace_of(book)
    who = actor(now)
    with workspace_lock(ws.root, timeout=ws.settings.lock_timeout):
        target = XlwingsBook(book)

        def write() -> None:
            target.flush()
            if save:
                book.save()

        return decide_and_apply(ws, target, decide, who.now, write)


def live_runner(book: Any, *, save: bool = True) -> Runner:
    """A ``store.Runner`` that writes into the live workbook ``book``: with it an Excel button
    calls the very ``ops.store`` operation the CLI calls, with the same inputs."""

    def runner(
        ws: Workspace, decide: Callable[[decide.Register], Plan], *, now: datetime | None
    ) -> Plan:
        return run_live(book, ws, decide, now=now, save=save)

    return runner
