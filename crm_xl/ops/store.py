"""The file store: applies a core ``Plan`` to the register and customer folders on disk.

One read-modify-write per operation, all under the workspace lock:

1. refuse if Excel/LibreOffice holds the register or a customer form it will touch;
2. read the register (calamine, :class:`PatchTarget`) into a ``decide.Register`` and let
   the core decide;
3. prepare every customer-form change as a temporary file / folder beside its target;
4. write the register atomically (temp file, verify, backup, replace); the temp file is the
   old one with only the changed rows patched in (``io.sheetpatch``), every other zip member
   copied as it is. A register that needs more (real Excel dates to turn into Jalali text,
   a change log without its hash column, a layout the patcher does not know) is written
   once through openpyxl, which upgrades it;
5. only then put the prepared customer files in place and move archived folders.

Every step is journalled (``io.journal``) before it happens: a crash before step 4 is undone
by the next command, a crash after it is completed by the next command (roll forward). Before
step 4 and before each folder step the writer proves it still holds the lock (fencing).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from crm_xl.domain import decide, schema
from crm_xl.domain.changes import (
    LOG_HASH_FIELD,
    AppendFollowUp,
    AppendRow,
    ArchiveFolder,
    CreateCustomerForm,
    FolderChange,
    Plan,
    RestoreFolder,
    SetCounter,
    UpdateCustomerForm,
    UpdateRow,
    clean_log_row,
    log_hash,
)
from crm_xl.domain.dates import now_tehran
from crm_xl.domain.errors import CrmError, InputError, WorkbookBusyError
from crm_xl.domain.schema import (
    CASES,
    COUNTERS,
    CUSTOMERS,
    F_31_08_01,
    FOLLOWUPS,
    INVOICES,
    REGISTER_LOG,
    REGISTRATION,
)
from crm_xl.io import guard, journal
from crm_xl.io.authority import number_source
from crm_xl.io.evidence import workspace_evidence
from crm_xl.io.folders import find_customer_folder, resolve_inside, unique_folder
from crm_xl.io.safety import (
    Lease,
    atomic_write,
    check_not_open,
    commit_point,
    held_lease,
    verify_xlsx,
    workspace_lock,
)
from crm_xl.io.sheetpatch import SheetPatch, column_widths
from crm_xl.io.sheetpatch import Value as SheetValue
from crm_xl.io.workbook import DEFAULT_WIDTH, FormBook, block_rows_fast, read_tables_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops.products import product_index

log = logging.getLogger(__name__)

#: The register's change log (with its hash column).
LOG = REGISTER_LOG


class TableTarget(Protocol):
    """What applying register changes needs; FormBook and the xlwings store both provide it."""

    def read_table(self, name: str) -> list[tuple[int, dict[str, object]]]: ...

    def append_rows(self, name: str, rows: Iterable[Mapping[str, object]]) -> list[int]: ...

    def update_row(self, name: str, row: int, values: Mapping[str, object]) -> None: ...


def actor(now: datetime | None = None) -> decide.Actor:
    """Who is acting: CRM_XL_USER or the login name, this host, and now in Tehran."""
    try:
        user = os.environ.get("CRM_XL_USER") or getpass.getuser()
    except Exception:  # no login name (service accounts, some containers)
        user = "unknown"
    return decide.Actor(user, socket.gethostname(), now or now_tehran(), FAR_DATES.get())


#: Set while a command runs with ``--force`` on its dates: dates outside the settings' date
#: window are taken as the person confirmed them (``decide.check_window``).
FAR_DATES: ContextVar[bool] = ContextVar("crm_xl_far_dates", default=False)


def read_register(book: TableTarget, settings: Any) -> decide.Register:
    def rows(name: str) -> list[dict[str, object]]:
        return [r for _, r in book.read_table(name)]

    return decide.Register.from_rows(
        settings,
        customers=rows(CUSTOMERS.name),
        cases=rows(CASES.name),
        invoices=rows(INVOICES.name),
        counters=rows(COUNTERS.name),
        log=rows(LOG.name),
    )


@dataclass
class _RowIndex:
    """Excel row of each key of a table, read once per operation."""

    book: TableTarget
    cache: dict[str, dict[str, int]] = field(default_factory=dict)

    def row(self, table: str, key_field: str, key: str) -> int | None:
        if table not in self.cache:
            self.cache[table] = {
                str(v.get(key_field) or "").strip(): r for r, v in self.book.read_table(table)
            }
        return self.cache[table].get(key)

    def added(self, table: str, key_field: str, key: str, row: int) -> None:
        if table in self.cache:
            self.cache[table][key] = row


_KEYS = {
    CUSTOMERS.name: "customer_no",
    CASES.name: "case_no",
    INVOICES.name: "invoice_no",
}


def apply_register_changes(book: TableTarget, plan: Plan, now: datetime, log_head: str = "") -> str:
    """Apply the plan's register changes to any TableTarget (file or live workbook).

    Each change-log row gets its chain hash (``changes.log_hash``) over ``log_head``, the hash
    of the log's last row; returns the new head.
    """
    index = _RowIndex(book)
    counters = {
        (str(v.get("kind") or ""), str(v.get("scope") or "")): r
        for r, v in book.read_table(COUNTERS.name)
    }
    head = log_head
    for ch in plan.register:
        if isinstance(ch, AppendRow) and ch.table == LOG.name:
            values = clean_log_row(ch.values)
            head = values[LOG_HASH_FIELD] = log_hash(head, values)
            book.append_rows(LOG.name, [values])
        elif isinstance(ch, AppendRow):
            (row,) = book.append_rows(ch.table, [ch.values])
            key_field = _KEYS.get(ch.table)
            if key_field:
                index.added(ch.table, key_field, str(ch.values.get(key_field)), row)
        elif isinstance(ch, UpdateRow):
            r = index.row(ch.table, _KEYS[ch.table], ch.key)
            if r is None:  # the core found it in the snapshot: only a race could lose it
                raise CrmError(
                    f"ردیف «{ch.key}» در جدول {ch.table} پیدا نشد",
                    f"row '{ch.key}' not found in table {ch.table}",
                    code="not-found",
                )
            book.update_row(ch.table, r, ch.values)
        elif isinstance(ch, SetCounter):
            values = {"kind": ch.kind, "scope": ch.scope, "last": ch.last, "updated": now}
            existing = counters.get((ch.kind, ch.scope))
            if existing is None:
                (counters[(ch.kind, ch.scope)],) = book.append_rows(COUNTERS.name, [values])
            else:
                book.update_row(COUNTERS.name, existing, values)
    return head


class BufferedTarget:
    """A ``store.TableTarget`` over a FormBook that appends each table's new rows in one go.

    ``FormBook.append_rows`` finds the table's end by scanning the sheet on every call; a big
    plan appends thousands of rows one by one.  Rows are numbered here (end found once) and
    written at ``flush``; updates of a buffered row change the buffer.
    """

    def __init__(self, book: FormBook) -> None:
        self.book = book
        self.pending: dict[str, list[tuple[int, dict[str, object]]]] = {}
        self.next_row: dict[str, int] = {}

    def read_table(self, name: str) -> list[tuple[int, dict[str, object]]]:
        return self.book.read_table(name) + [(r, dict(v)) for r, v in self.pending.get(name, [])]

    def append_rows(self, name: str, rows: Iterable[Mapping[str, object]]) -> list[int]:
        if name not in self.next_row:
            self.next_row[name] = self.book.last_row(name) + 1
        out = []
        for values in rows:
            r = self.next_row[name]
            self.next_row[name] += 1
            self.pending.setdefault(name, []).append((r, dict(values)))
            out.append(r)
        return out

    def update_row(self, name: str, row: int, values: Mapping[str, object]) -> None:
        for r, v in self.pending.get(name, []):
            if r == row:
                v.update(values)
                return
        self.book.update_row(name, row, values)

    def flush(self) -> None:
        for name, items in self.pending.items():
            written = self.book.append_rows(name, [v for _, v in items])
            if written != [r for r, _ in items]:  # the sheet changed under us: never silently
                raise CrmError(
                    f"ردیف‌های جدول {name} جابه‌جا شدند",
                    f"rows of table {name} moved while writing",
                    code="write-failed",
                )
        self.pending.clear()


class PatchTarget:
    """A ``TableTarget`` over the register file that reads fast and writes what changed.

    The snapshot is one calamine read of the tables an operation decides on (no re-scan:
    row numbers and key columns come with it); appends and updates are collected and
    :meth:`save` patches only those rows into the sheet parts (``io.sheetpatch``), every other
    member of the package copied as it is.  What the patcher cannot do (a layout it does not
    know) is written the general way, through openpyxl, with the same changes.
    """

    TABLES = (CUSTOMERS.name, CASES.name, INVOICES.name, COUNTERS.name, LOG.name)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.form = schema.F_31_08_02
        # the whole package first (a record to be written back carries no external link);
        # the reader below and the patch reuse that inspection
        guard.refuse_links(guard.inspect(path))
        self.tables = read_tables_fast(path, self.form, self.TABLES)
        self.ops: list[tuple[str, int, dict[str, object]]] = []  # (table, row, values)
        self.next_row: dict[str, int] = {}

    @classmethod
    def open(cls, path: Path, *, reading: bool = False) -> PatchTarget | None:
        """The fast target, or None when the register needs the general path first: real
        Excel dates to turn into Jalali text (a write's concern, not ``reading``'s), or a
        change log without its hash column."""
        try:
            target = cls(path)
        except CrmError as e:
            if e.code == "missing-column":
                return None
            raise
        if not reading and any(real for _, _, real in target.tables.values()):
            return None
        return target

    def _table(self, name: str) -> tuple[list[tuple[int, dict[str, object]]], dict[str, int]]:
        if name not in self.tables:
            self.tables.update(read_tables_fast(self.path, self.form, [name]))
        rows, cols, _ = self.tables[name]
        return rows, cols

    def read_table(self, name: str) -> list[tuple[int, dict[str, object]]]:
        rows, _ = self._table(name)
        last = self._last(name)
        # copies, as FormBook gives: a caller's edits never reach the snapshot
        return [(r, dict(v)) for r, v in rows] + [
            (r, dict(v)) for t, r, v in self.ops if t == name and r > last
        ]

    def _last(self, name: str) -> int:
        rows, _ = self._table(name)
        return rows[-1][0] if rows else schema.LABEL_ROW

    def append_rows(self, name: str, rows: Iterable[Mapping[str, object]]) -> list[int]:
        t = self.form.part(name)
        assert isinstance(t, schema.Table)
        out = []
        for values in rows:
            for key in values:
                if key not in t.keys:
                    raise KeyError(f"{name} has no field {key!r}")
            r = self.next_row.get(name) or self._last(name) + 1
            self.next_row[name] = r + 1
            self.ops.append((name, r, dict(values)))
            out.append(r)
        return out

    def update_row(self, name: str, row: int, values: Mapping[str, object]) -> None:
        if row < schema.FIRST_DATA_ROW:
            raise ValueError(f"row {row} is above the data rows of {name}")
        self.ops.append((name, row, dict(values)))

    def save(self, dest: Path) -> None:
        try:
            self._patch().save(dest)
        except LookupError as e:  # a layout the patcher does not know: the general way
            log.info("register written through openpyxl: %s", e)
            dest.unlink(missing_ok=True)
            self._replay(dest)

    def _patch(self) -> SheetPatch:
        from crm_xl.io.workbook import layout, to_cell_value

        patch = SheetPatch(self.path)
        lay = layout()
        current: dict[tuple[str, int], dict[str, object]] = {}
        appended: set[tuple[str, int]] = set()
        for name, r, values in self.ops:
            rows, _ = self._table(name)
            key = (name, r)
            if key not in current:
                if r > self._last(name):
                    current[key] = {}
                    appended.add(key)
                else:
                    current[key] = dict(next((v for n, v in rows if n == r), {}))
            current[key].update(values)
        touched: dict[tuple[str, int], set[str]] = {}
        for name, r, values in self.ops:
            touched.setdefault((name, r), set()).update(values)
        for (name, r), keys in touched.items():
            t = self.form.part(name)
            assert isinstance(t, schema.Table)
            _, cols = self._table(name)
            full = current[(name, r)]
            for k in keys:
                v = full.get(k)
                patch.set(
                    t.sheet,
                    r,
                    cols[k],
                    _cell_value(to_cell_value(t.field(k), v)) if v is not None else None,
                    template_row=schema.FIRST_DATA_ROW,
                )
            wrapped = [f for f in t.fields if lay.wraps(f)]
            if (name, r) in appended or any(f.key in keys for f in wrapped):
                # as FormBook.fit_row: tall enough for its wrapped text at the column widths
                widths = self._widths(patch, t.sheet)
                cells = [
                    (to_cell_value(f, full[f.key]), widths.get(cols[f.key], DEFAULT_WIDTH))
                    for f in wrapped
                    if full.get(f.key) is not None
                ]
                patch.fit(t.sheet, r, lay.row_height(cells))
        return patch

    _width_cache: dict[str, dict[int, float]]

    def _widths(self, patch: SheetPatch, sheet: str) -> dict[int, float]:
        cache = self.__dict__.setdefault("_width_cache", {})
        if sheet not in cache:
            cache[sheet] = column_widths(patch.sheet_xml(sheet))
        return cache[sheet]

    def _replay(self, dest: Path) -> None:
        book = FormBook.open(self.path)
        _upgrade_register(book)
        for name, r, values in self.ops:
            if r > book.last_row(name):
                if book.append_rows(name, [values]) != [r]:
                    raise CrmError(
                        f"ردیف‌های جدول {name} جابه‌جا شدند",
                        f"rows of table {name} moved while writing",
                        code="write-failed",
                    )
            else:
                book.update_row(name, r, values)
        book.save(dest)


def _cell_value(v: object) -> SheetValue:
    """A converted cell value as the patcher takes it (anything else as its text)."""
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


# --- customer folders -------------------------------------------------------------------------


def customer_form_name(customer_no: str) -> str:
    """The form's file name carries the number: Excel cannot open two books of the same name."""
    return f"{F_31_08_01.code} {customer_no}.xlsx"


def customer_form_path(ws: Workspace, folder: str, customer_no: str) -> Path:
    base = resolve_inside(ws.customers_dir, folder)
    return base / customer_form_name(customer_no)


_STAMPERS: dict[tuple[Path, float], Any] = {}  # formstamp.FormStamper by template version


def new_customer_form(ws: Workspace, target: Path, registration: Mapping[str, Any]) -> None:
    """Write a fresh F-31-08-01 with the registration block filled.

    Stamped from the template's bytes when it can be (one per template version, kept for the
    process), else through openpyxl; both give the same form.
    """
    from crm_xl.io.formstamp import FormStamper  # only an add needs it (and openpyxl)

    template = ws.form_template(F_31_08_01)
    key = (template, template.stat().st_mtime)
    try:
        if key not in _STAMPERS:
            _STAMPERS[key] = FormStamper(template)
        _STAMPERS[key].write(target, registration)
        return
    except (LookupError, CrmError, OSError, KeyError, ValueError):
        target.unlink(missing_ok=True)  # a template the stamper does not know: use openpyxl
    book = FormBook.open(template)
    book.write_block(REGISTRATION.name, registration)
    book.save(target)


@dataclass
class _Staged:
    """A folder change as a journal step, and how to write what it stages."""

    step: journal.Step
    stage: Callable[[], None] = lambda: None


def _tmp_path(target: Path) -> Path:
    return target.with_name(f".{target.stem}.tmp{os.getpid()}{target.suffix}")


def _rel(ws: Workspace, path: Path) -> str:
    """A path as the journal keeps it: relative to the root (a share mounts anywhere)."""
    return Path(os.path.relpath(path, ws.root)).as_posix()


def _plan_steps(ws: Workspace, ch: FolderChange, plan: Plan) -> list[_Staged]:
    """The journal steps of a folder change (a reopen is two: its form, then the move)."""
    if isinstance(ch, RestoreFolder):
        return _restore_steps(ws, ch)
    return [_plan_step(ws, ch, plan)]


def _plan_step(ws: Workspace, ch: FolderChange, plan: Plan) -> _Staged:
    """Where a folder change stages and lands; refuses what cannot be done (nothing written)."""
    if isinstance(ch, CreateCustomerForm):
        final = resolve_inside(ws.customers_dir, ch.folder)
        if final.exists():
            raise CrmError(
                f"پوشه «{final.name}» از قبل وجود دارد",
                f"folder '{final.name}' already exists",
                code="folder-exists",
                file=final,
            )
        staging = resolve_inside(
            ws.customers_dir, f"{journal.STAGING_PREFIX}{ch.customer_no}-{os.getpid()}"
        )

        def create() -> None:
            staging.mkdir(parents=True, exist_ok=True)
            new_customer_form(ws, staging / customer_form_name(ch.customer_no), ch.registration)

        return _Staged(journal.Step("create", _rel(ws, staging), _rel(ws, final)), create)

    if isinstance(ch, ArchiveFolder):
        src = resolve_inside(ws.customers_dir, ch.folder)
        if not src.exists():
            found = find_customer_folder(ws.customers_dir, ch.customer_no)
            if found is None:
                raise CrmError(
                    f"پوشه مشتری {ch.customer_no} پیدا نشد",
                    f"folder of customer {ch.customer_no} not found",
                    code="missing-folder",
                    file=src,
                )
            src = found
        check_folder_forms_closed(src)
        # The name it will really get (a closed namesake may hold the plain one): the register
        # records that name, not the one the decision assumed.
        dest = unique_folder(ws.archive_dir, src.name)
        if dest.name != ch.folder:
            _retarget(plan, ch.customer_no, f"archive/{ch.folder}", f"archive/{dest.name}")
        return _Staged(journal.Step("archive", _rel(ws, src), _rel(ws, dest)))

    assert isinstance(ch, AppendFollowUp | UpdateCustomerForm)
    path = _existing_form(ws, ch.folder, ch.customer_no)
    check_not_open(path)
    tmp = _tmp_path(path)
    st = path.stat()

    def update() -> None:
        try:
            _patch_customer_form(path, ch).save(tmp)
            return
        except LookupError as e:  # a form the patcher does not know: the general way
            log.info("customer form written through openpyxl: %s", e)
            tmp.unlink(missing_ok=True)
        book = FormBook.open(path)
        if isinstance(ch, AppendFollowUp):
            rows = book.read_table(FOLLOWUPS.name)
            last_no = max(
                (int(str(v.get("row_no"))) for _, v in rows if _is_int(v.get("row_no"))),
                default=0,
            )
            book.append_rows(FOLLOWUPS.name, [{"row_no": last_no + 1, **ch.values}])
        if ch.registration:
            book.write_block(REGISTRATION.name, ch.registration)
        book.save(tmp)

    step = journal.Step("replace", _rel(ws, tmp), _rel(ws, path), [st.st_size, st.st_mtime_ns])
    return _Staged(step, update)


def _patch_customer_form(path: Path, ch: AppendFollowUp | UpdateCustomerForm) -> SheetPatch:
    """The customer form's change as an in-place patch: the follow-up row appended (numbered
    after the last), the registration lines written, each as tall as its text, as
    ``FormBook.append_rows``/``write_block`` make them.  LookupError: use openpyxl (a form
    with real Excel dates, which that path turns into Jalali text)."""
    from crm_xl.io.workbook import layout, to_cell_value

    lay = layout()
    form = F_31_08_01
    patch = SheetPatch(path)
    if isinstance(ch, AppendFollowUp):
        rows, cols, real = read_tables_fast(path, form, [FOLLOWUPS.name])[FOLLOWUPS.name]
        if real:
            raise LookupError("real Excel dates in the follow-up log")
        last_no = max(
            (int(str(v.get("row_no"))) for _, v in rows if _is_int(v.get("row_no"))), default=0
        )
        r = (rows[-1][0] if rows else schema.LABEL_ROW) + 1
        values = {"row_no": last_no + 1, **ch.values}
        widths = column_widths(patch.sheet_xml(FOLLOWUPS.sheet))
        cells = []
        for k, v in values.items():
            f = FOLLOWUPS.field(k)
            if v is None:
                continue
            value = _cell_value(to_cell_value(f, v))
            patch.set(FOLLOWUPS.sheet, r, cols[k], value, template_row=schema.FIRST_DATA_ROW)
            if lay.wraps(f):
                cells.append((value, widths.get(cols[k], DEFAULT_WIDTH)))
        patch.fit(FOLLOWUPS.sheet, r, lay.row_height(cells))
    if ch.registration:
        at, real = block_rows_fast(path, form, REGISTRATION.name)
        if real:
            raise LookupError("real Excel dates in the registration block")
        for k, v in ch.registration.items():
            f = REGISTRATION.field(k)
            value = None if v is None else _cell_value(to_cell_value(f, v))
            patch.set(REGISTRATION.sheet, at[k], schema.BLOCK_VALUE_COL, value)
            if lay.wraps(f):  # the line grows with its text, and shrinks back when emptied
                patch.fit(REGISTRATION.sheet, at[k], lay.block_row_height(f, value))
    return patch


def _retarget(plan: Plan, customer_no: str, old: str, new: str) -> None:
    """Point the plan's register row, log entry and result at the folder really used."""
    for ch in plan.register:
        if isinstance(ch, UpdateRow) and ch.table == CUSTOMERS.name and ch.key == customer_no:
            if ch.values.get("folder") == old:
                ch.values["folder"] = new
        elif isinstance(ch, AppendRow) and ch.table == LOG.name:
            try:
                details = json.loads(str(ch.values.get("details") or ""))
            except ValueError:
                continue
            if isinstance(details, dict) and details.get("folder") == old:
                details["folder"] = new
                ch.values["details"] = json.dumps(details, ensure_ascii=False, default=str)
    if plan.result.get("folder") == old:
        plan.result["folder"] = new


def _restore_steps(ws: Workspace, ch: RestoreFolder) -> list[_Staged]:
    """A reopened customer's folder: its form updated in place, then back to customers/."""
    src = resolve_inside(ws.archive_dir, ch.folder)
    if not src.is_dir():
        found = find_customer_folder(ws.archive_dir, ch.customer_no)
        if found is None:
            raise CrmError(
                f"پوشه بایگانی‌شده مشتری {ch.customer_no} پیدا نشد",
                f"archived folder of customer {ch.customer_no} not found",
                code="missing-folder",
                file=src,
            )
        src = found
    target = ws.customers_dir / src.name
    if target.exists():  # never merge two folders: the register must name the one it means
        raise CrmError(
            f"پوشه «{src.name}» در customers از قبل هست؛ بازگشایی انجام نشد",
            f"folder '{src.name}' already exists in customers/; nothing was reopened",
            code="folder-exists",
            file=target,
        )
    check_folder_forms_closed(src)
    steps: list[_Staged] = []
    form = find_customer_form(ws, ch.customer_no, f"archive/{src.name}", archived=True)
    if form is not None and ch.registration:
        tmp = _tmp_path(form)
        st = form.stat()

        def update() -> None:
            book = FormBook.open(form)
            book.write_block(REGISTRATION.name, ch.registration)
            book.save(tmp)

        stat = [st.st_size, st.st_mtime_ns]
        steps.append(_Staged(journal.Step("replace", _rel(ws, tmp), _rel(ws, form), stat), update))
    steps.append(_Staged(journal.Step("restore", _rel(ws, src), _rel(ws, target))))
    return steps


def _is_int(v: object) -> bool:
    try:
        int(str(v))
        return True
    except (TypeError, ValueError):
        return False


def find_customer_form(
    ws: Workspace,
    customer_no: str,
    folder: str = "",
    *,
    archived: bool = False,
    strict: bool = False,
) -> Path | None:
    """The customer's F-31-08-01, or None.

    ``folder`` is the register's folder cell (``customers/<name>``, ``archive/<name>`` or a bare
    name under customers/); when the form is not there, the folder is found by its number, so a
    renamed folder still counts. ``archived`` also looks in archive/. A folder cell pointing
    outside its area raises InputError (``unsafe-path``) when ``strict``, else is passed over.
    """
    area, _, name = folder.partition("/")
    if area not in ("customers", "archive"):
        area, name = "customers", folder
    if area == "archive" and not archived:
        return None
    base = ws.archive_dir if area == "archive" else ws.customers_dir
    form = customer_form_name(customer_no)
    if name:
        if name not in (".", "..") and not any(c in name for c in "/\\:"):
            path: Path | None = base / name / form  # a plain name cannot leave base: no resolve()
        else:
            try:
                path = resolve_inside(base, name) / form
            except CrmError:
                if strict:
                    raise
                path = None
        if path is not None and path.is_file():
            return path
    for root in (ws.customers_dir, ws.archive_dir) if archived else (ws.customers_dir,):
        found = find_customer_folder(root, customer_no) if root.exists() else None
        if found is not None:
            forms = sorted(found.glob(f"{F_31_08_01.code}*.xlsx"))
            if forms:
                return forms[0]
    return None


def _existing_form(ws: Workspace, folder: str, customer_no: str) -> Path:
    path = find_customer_form(ws, customer_no, folder, strict=True)
    if path is not None:
        return path
    raise CrmError(
        f"فرم {F_31_08_01.code} مشتری {customer_no} پیدا نشد",
        f"form {F_31_08_01.code} of customer {customer_no} not found",
        code="missing-form",
        file=customer_form_path(ws, folder, customer_no),
    )


def check_folder_forms_closed(folder: Path) -> None:
    """Refuse before anything is written when any file the move would carry is held open:
    an owner/lock file of Excel, Word or LibreOffice beside it (any type: a PDF opened in
    LibreOffice too), or, on Windows, a file another program holds without sharing."""
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.name.startswith(("~$", ".~lock.")):
            continue
        check_not_open(f)
        if sys.platform == "win32":
            try:
                with f.open("r+b"):
                    pass
            except PermissionError as e:
                raise WorkbookBusyError(
                    f"فایل «{f.name}» در پوشهٔ مشتری در دست برنامهٔ دیگری است؛ آن را ببندید",
                    f"{f.name} in the customer's folder is held by another program; close it",
                    code="file-in-use",
                    file=f,
                ) from e


def _verify_register(path: Path) -> None:
    """The written register is a sound workbook."""
    verify_xlsx(path)


# --- running an operation ------------------------------------------------------------------


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def run(
    ws: Workspace, decide: Callable[[decide.Register], Plan], *, now: datetime | None = None
) -> Plan:
    """Lock, read, decide, write: the one path every register-changing command takes."""
    who = actor(now)
    settings = ws.settings
    with workspace_lock(ws.root, timeout=settings.lock_timeout):
        register = ws.register_path
        check_not_open(register)
        stamp = _stamp(register)
        fast = PatchTarget.open(register)
        target: PatchTarget | BufferedTarget
        if fast is not None:
            target = fast
            save: Callable[[Path], object] = fast.save
        else:  # an older register: upgraded by one general write
            book = FormBook.open(register)
            _upgrade_register(book)
            target = buffered = BufferedTarget(book)

            def save(tmp: Path) -> None:
                buffered.flush()
                book.save(tmp)

        temp = register.with_name(
            f".{register.stem}.tmp{os.getpid()}-{secrets.token_hex(3)}{register.suffix}"
        )

        def write(before_replace: Callable[[], None]) -> None:
            def fence(_tmp: Path) -> None:
                lease = held_lease(ws.root)
                if lease is not None:
                    lease.check()  # a lost lock explains a changed register: say that first
                if _stamp(register) != stamp:  # saved from Excel meanwhile, or a lost lock
                    raise CrmError(
                        f"دفتر ثبت «{register.name}» در حین این عملیات تغییر کرد؛ چیزی ذخیره نشد."
                        " دوباره تلاش کنید.",
                        f"the register {register.name} changed while this operation ran;"
                        " nothing was saved. Try again.",
                        code="register-changed",
                        file=register,
                    )
                before_replace()

            atomic_write(
                register,
                save,
                backups=ws.backups_dir,
                keep=settings.backups_keep,
                verify=_verify_register,
                before_replace=fence,
                tmp=temp,
            )

        return decide_and_apply(ws, target, decide, who.now, write, temp=temp)


def _upgrade_register(book: FormBook) -> None:
    """A register made before the change log had its hash column gets it (in memory; it is
    saved with the operation's write). Its old rows keep no hash: the chain starts after them."""
    ws_ = book.sheet(LOG.name)
    keys = [c.value for c in ws_[schema.KEY_ROW]]
    if LOG_HASH_FIELD in keys:
        return
    col = max((i for i, v in enumerate(keys, 1) if v not in (None, "")), default=0) + 1
    ws_.cell(schema.KEY_ROW, col).value = LOG_HASH_FIELD
    ws_.cell(schema.LABEL_ROW, col).value = LOG.field(LOG_HASH_FIELD).fa


def _ensure_logged(plan: Plan, now: datetime) -> None:
    """Every register change leaves a change-log row: its chain hash is the commit's mark."""
    if plan.register and not any(
        isinstance(ch, AppendRow) and ch.table == LOG.name for ch in plan.register
    ):
        plan.register.append(
            AppendRow(LOG.name, decide.log_row(actor(now), plan.operation, [], {}))
        )


def decide_and_apply(
    ws: Workspace,
    target: TableTarget,
    decide_fn: Callable[[decide.Register], Plan],
    now: datetime,
    write: Callable[..., None],
    *,
    temp: Path | None = None,
) -> Plan:
    """The part of an operation inside the workspace lock, for any register target.

    Decide on the target's register (numbers above every piece of evidence the workspace
    holds), journal the intent, stage the folder changes (nothing visible yet), apply the
    register changes and ``write`` them, and only then put the folders in place and seal.
    Right before the register is replaced the writer proves it still holds the lock; on any
    failure before that, everything staged is discarded. ``write`` is called with that
    before-replace step when ``temp`` (the temporary register it writes) is given, else the
    step runs before ``write()`` (a live workbook, saved by Excel).
    """
    # The numbers come from the workspace's counters, or from the company-wide authority
    # (SPEC §12), which commits its issues here, before anything below is written.
    numbers = number_source(ws, actor(now))
    reg = read_register(target, ws.settings)
    year = decide.issue_year(now)
    reg.outside = lambda: workspace_evidence(ws.root, ws.settings, year)
    plan = numbers.decide(decide_fn, reg, target)
    if not plan.register and not plan.folders:
        return plan  # nothing decided: the register is not rewritten
    lease = held_lease(ws.root)
    _ensure_logged(plan, now)
    staged = [st for ch in plan.folders for st in _plan_steps(ws, ch, plan)]
    jr = journal.Journal(
        id=secrets.token_hex(6),
        operation=plan.operation,
        lock=lease.token if lease else "",
        register=_rel(ws, ws.register_path),
        temp=_rel(ws, temp) if temp is not None else "",
        steps=[s.step for s in staged],
        user=actor(now).user,
    )
    jr.save(ws.root)
    try:
        for s in staged:
            s.stage()
        commit_point("prepared")
        jr.log_head = apply_register_changes(target, plan, now, reg.log_head)
        jr.seal = journal.seal_marks(reg.counters)

        def before_replace() -> None:
            if lease is not None:
                lease.check()
            jr.state = "committing"
            jr.save(ws.root)
            commit_point("before-replace")
            if lease is not None:
                lease.check()

        if temp is not None:
            write(before_replace)
        else:
            before_replace()
            write()
    except BaseException as exc:
        for s in reversed(staged):
            journal.undo_step(ws.root, s.step)
        jr.remove(ws.root)
        if isinstance(exc, OSError) and lease is not None:
            lease.check()  # our temporary files vanished: the next holder removed them
        raise
    commit_point("register-replaced")
    _commit_folders(ws, jr, lease)
    numbers.used(plan)  # the authority marks its issues used and copies the change log
    return plan


def _commit_folders(ws: Workspace, jr: journal.Journal, lease: Lease | None) -> None:
    """Put the staged folder changes in place, seal, and close the journal.

    The register already holds the operation. A writer that lost the lock meanwhile stops
    here: the new holder's roll-forward completes the steps. A step that fails on the disk
    keeps the journal, so the next command tries again.
    """
    for i, step in enumerate(jr.steps, 1):
        if lease is not None and not lease.held():
            log.warning(
                "lock lost after the register was written; the next command completes %s",
                jr.operation,
            )
            return
        try:
            problem = journal.commit_step(ws.root, step)
        except OSError as e:
            raise CrmError(
                f"عملیات در دفتر ثبت ذخیره شد ولی پوشهٔ مشتری جابه‌جا نشد ({e.strerror});"
                " دستور بعدی آن را کامل می‌کند.",
                f"the operation is saved in the register but a customer folder step failed"
                f" ({e.strerror}); the next command completes it.",
                code="folder-commit-failed",
                file=ws.root / step.dest,
            ) from e
        if problem:
            jr.problems.append(problem)
        commit_point(f"folder-committed-{i}")
    journal.write_seal(ws.root, jr.log_head, jr.seal)
    commit_point("sealed")
    if jr.problems:
        jr.save(ws.root)  # validate reports what needs a person
        log.warning("operation %s left problems: %s", jr.operation, "; ".join(jr.problems))
    else:
        jr.remove(ws.root)


# --- the operations, as Python calls ---------------------------------------------------------


class Runner(Protocol):
    """How a decision reaches the register: :func:`run` (the file) or the live workbook of an
    Excel button before the panels (kept as a seam). The operations are the same for every runner."""

    def __call__(
        self, ws: Workspace, decide: Callable[[decide.Register], Plan], *, now: datetime | None
    ) -> Plan: ...


def add_customer(
    ws: Workspace, inp: decide.NewCustomer, *, now: datetime | None = None, runner: Runner = run
) -> Plan:
    who = actor(now)
    return runner(ws, lambda reg: decide.register_customer(reg, inp, who), now=who.now)


def add_followup(
    ws: Workspace, inp: decide.NewFollowUp, *, now: datetime | None = None, runner: Runner = run
) -> Plan:
    who = actor(now)
    return runner(ws, lambda reg: decide.log_followup(reg, inp, who), now=who.now)


def open_case(
    ws: Workspace,
    customer_no: str,
    *,
    products: Iterable[str] = (),
    at: Any = None,
    national_id: str = "",
    now: datetime | None = None,
    runner: Runner = run,
) -> Plan:
    """Open a sales case; ``national_id`` gives the buyer's national code / legal ID if the
    register has none yet; product codes must be in the after-sales catalog when it has any."""
    who = actor(now)
    items = list(products)
    catalog = product_index(ws)  # read before the lock: opening a case writes no product form

    def decision(reg: decide.Register) -> Plan:
        return decide.open_case(
            reg, customer_no, who, products=items, at=at, national_id=national_id, catalog=catalog
        )

    return runner(ws, decision, now=who.now)


def add_contract(
    ws: Workspace,
    case_no: str,
    *,
    at: Any = None,
    amount: Any = None,
    now: datetime | None = None,
    runner: Runner = run,
) -> Plan:
    who = actor(now)
    return runner(
        ws, lambda reg: decide.add_contract(reg, case_no, who, at=at, amount=amount), now=who.now
    )


def issue_invoice(
    ws: Workspace,
    case_no: str,
    *,
    amount: Any = None,
    at: Any = None,
    now: datetime | None = None,
    runner: Runner = run,
) -> Plan:
    who = actor(now)
    return runner(
        ws, lambda reg: decide.issue_invoice(reg, case_no, who, amount=amount, at=at), now=who.now
    )


def crm_done(
    ws: Workspace,
    customer_no: str,
    *,
    at: Any = None,
    now: datetime | None = None,
    runner: Runner = run,
) -> Plan:
    """CRM done, refused while a product sold lacks a complete after-sales form (seed 003)."""
    who = actor(now)
    known = product_index(ws)  # read before the lock: crm_done writes no product form
    return runner(
        ws, lambda reg: decide.crm_done(reg, customer_no, who, at=at, products=known), now=who.now
    )


def close_customer(
    ws: Workspace,
    customer_no: str,
    *,
    lost: bool = False,
    at: Any = None,
    now: datetime | None = None,
    runner: Runner = run,
) -> Plan:
    who = actor(now)
    return runner(
        ws, lambda reg: decide.close_customer(reg, customer_no, who, lost=lost, at=at), now=who.now
    )


def cancel_case(
    ws: Workspace,
    case_no: str,
    *,
    reason: str,
    at: Any = None,
    now: datetime | None = None,
    runner: Runner = run,
) -> Plan:
    """Cancel a sales case (its invoices voided first); logged with the reason."""
    who = actor(now)
    return runner(
        ws, lambda reg: decide.cancel_case(reg, case_no, who, reason=reason, at=at), now=who.now
    )


def reopen_customer(
    ws: Workspace,
    customer_no: str,
    *,
    reason: str,
    at: Any = None,
    now: datetime | None = None,
    runner: Runner = run,
) -> Plan:
    """Reopen a lost or closed customer (an archived folder comes back); logged with the reason."""
    who = actor(now)
    return runner(
        ws,
        lambda reg: decide.reopen_customer(reg, customer_no, who, reason=reason, at=at),
        now=who.now,
    )


def void_number(
    ws: Workspace,
    number: str,
    *,
    reason: str = "",
    now: datetime | None = None,
    runner: Runner = run,
) -> Plan:
    who = actor(now)
    return runner(ws, lambda reg: decide.void_number(reg, number, who, reason=reason), now=who.now)


def load_register(ws: Workspace) -> decide.Register:
    """A read-only snapshot of the register (no lock needed: writes replace the file whole).

    Read with calamine; a register whose change log lacks its hash column is read through
    openpyxl with that column added in memory."""
    fast = PatchTarget.open(ws.register_path, reading=True)
    if fast is not None:
        return read_register(fast, ws.settings)
    book = FormBook.open(ws.register_path)
    _upgrade_register(book)  # in memory only
    return read_register(book, ws.settings)


__all__ = [
    "InputError",
    "add_contract",
    "add_customer",
    "add_followup",
    "apply_register_changes",
    "cancel_case",
    "close_customer",
    "crm_done",
    "customer_form_path",
    "issue_invoice",
    "load_register",
    "open_case",
    "read_register",
    "reopen_customer",
    "run",
    "void_number",
]
