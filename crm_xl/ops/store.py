"""The file store: applies a core ``Plan`` to the register and customer folders on disk.

One read-modify-write per operation, all under the workspace lock:

1. refuse if Excel/LibreOffice holds the register or a customer form it will touch;
2. read the register (openpyxl) into a ``decide.Register`` and let the core decide;
3. prepare every customer-form change as a temporary file / folder beside its target;
4. write the register atomically (temp file, verify, backup, replace);
5. only then put the prepared customer files in place and move archived folders.

A crash before step 4 leaves everything as it was (at most a ``.tmp`` file or folder);
after it, the register is the truth and ``validate`` reports any folder left half-done.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from crm_xl.domain import decide
from crm_xl.domain.changes import (
    AppendFollowUp,
    AppendRow,
    ArchiveFolder,
    CreateCustomerForm,
    FolderChange,
    Plan,
    SetCounter,
    UpdateCustomerForm,
    UpdateRow,
)
from crm_xl.domain.dates import now_tehran
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.schema import (
    CASES,
    COUNTERS,
    CUSTOMERS,
    F_31_08_01,
    FOLLOWUPS,
    INVOICES,
    LOG,
    REGISTRATION,
)
from crm_xl.io.authority import number_source
from crm_xl.io.folders import find_customer_folder, move_folder, resolve_inside
from crm_xl.io.formstamp import FormStamper
from crm_xl.io.safety import atomic_write, check_not_open, verify_xlsx, workspace_lock
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace


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
    return decide.Actor(user, socket.gethostname(), now or now_tehran())


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


def apply_register_changes(book: TableTarget, plan: Plan, now: datetime) -> None:
    """Apply the plan's register changes to any TableTarget (file or live workbook)."""
    index = _RowIndex(book)
    counters = {
        (str(v.get("kind") or ""), str(v.get("scope") or "")): r
        for r, v in book.read_table(COUNTERS.name)
    }
    for ch in plan.register:
        if isinstance(ch, AppendRow):
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


# --- customer folders -------------------------------------------------------------------------


def customer_form_name(customer_no: str) -> str:
    """The form's file name carries the number: Excel cannot open two books of the same name."""
    return f"{F_31_08_01.code} {customer_no}.xlsx"


def customer_form_path(ws: Workspace, folder: str, customer_no: str) -> Path:
    base = resolve_inside(ws.customers_dir, folder)
    return base / customer_form_name(customer_no)


_STAMPERS: dict[tuple[Path, float], FormStamper] = {}


def new_customer_form(ws: Workspace, target: Path, registration: Mapping[str, Any]) -> None:
    """Write a fresh F-31-08-01 with the registration block filled.

    Stamped from the template's bytes when it can be (one per template version, kept for the
    process), else through openpyxl; both give the same form.
    """
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
class _Prepared:
    """A folder change made ready beside its target; ``commit`` puts it in place."""

    commit: Callable[[], None]
    discard: Callable[[], None]


def _tmp_path(target: Path) -> Path:
    return target.with_name(f".{target.stem}.tmp{os.getpid()}{target.suffix}")


def _prepare(ws: Workspace, ch: FolderChange, now: datetime) -> _Prepared:
    if isinstance(ch, CreateCustomerForm):
        final = resolve_inside(ws.customers_dir, ch.folder)
        if final.exists():
            raise CrmError(
                f"پوشه «{final.name}» از قبل وجود دارد",
                f"folder '{final.name}' already exists",
                code="folder-exists",
                file=final,
            )
        staging = resolve_inside(ws.customers_dir, f".new-{ch.customer_no}-{os.getpid()}")
        staging.mkdir(parents=True, exist_ok=True)
        try:
            new_customer_form(ws, staging / customer_form_name(ch.customer_no), ch.registration)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

        def commit() -> None:
            staging.rename(final)

        return _Prepared(commit, lambda: shutil.rmtree(staging, ignore_errors=True))

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

        def archive() -> None:
            ws.archive_dir.mkdir(parents=True, exist_ok=True)
            move_folder(src, ws.archive_dir)

        return _Prepared(archive, lambda: None)

    assert isinstance(ch, AppendFollowUp | UpdateCustomerForm)
    path = _existing_form(ws, ch.folder, ch.customer_no)
    check_not_open(path)
    book = FormBook.open(path)
    if isinstance(ch, AppendFollowUp):
        rows = book.read_table(FOLLOWUPS.name)
        last_no = max(
            (int(str(v.get("row_no"))) for _, v in rows if _is_int(v.get("row_no"))), default=0
        )
        book.append_rows(FOLLOWUPS.name, [{"row_no": last_no + 1, **ch.values}])
    if ch.registration:
        book.write_block(REGISTRATION.name, ch.registration)
    tmp = _tmp_path(path)
    book.save(tmp)

    def replace() -> None:
        os.replace(tmp, path)

    return _Prepared(replace, lambda: tmp.unlink(missing_ok=True))


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
    for f in folder.glob("*.xls*"):
        check_not_open(f)


def apply_folder_changes(
    ws: Workspace, changes: Iterable[FolderChange], now: datetime
) -> list[_Prepared]:
    """Prepare every folder change (nothing visible moves yet); discard all on failure."""
    prepared: list[_Prepared] = []
    try:
        for ch in changes:
            prepared.append(_prepare(ws, ch, now))
    except BaseException:
        for p in prepared:
            p.discard()
        raise
    return prepared


def _verify_register(path: Path) -> None:
    """The written register is a sound workbook and, for the .xlsm, still has its buttons."""
    verify_xlsx(path)
    if path.suffix.lower() == ".xlsm":
        from crm_xl.io import vba

        if vba.check_xlsm(path):
            vba.repair_xlsm(path)  # raises CrmError if vbaProject.bin itself is gone


# --- running an operation ------------------------------------------------------------------


def run(
    ws: Workspace, decide: Callable[[decide.Register], Plan], *, now: datetime | None = None
) -> Plan:
    """Lock, read, decide, write: the one path every register-changing command takes."""
    who = actor(now)
    settings = ws.settings
    with workspace_lock(ws.root, timeout=settings.lock_timeout):
        register = ws.register_path
        check_not_open(register)
        book = FormBook.open(register)
        target = BufferedTarget(book)

        def write() -> None:
            target.flush()
            atomic_write(
                register,
                lambda tmp: book.save(tmp),
                backups=ws.backups_dir,
                keep=settings.backups_keep,
                verify=_verify_register,
            )

        return decide_and_apply(ws, target, decide, who.now, write)


def decide_and_apply(
    ws: Workspace,
    target: TableTarget,
    decide: Callable[[decide.Register], Plan],
    now: datetime,
    write: Callable[[], None],
) -> Plan:
    """The part of an operation inside the workspace lock, for any register target.

    Decide on the target's register, prepare the folder changes (nothing visible yet), apply
    the register changes and ``write`` them (file or live workbook), and only then put the
    folders in place; on failure the prepared folder changes are discarded.
    """
    # The numbers come from the workspace's counters, or from the company-wide authority
    # (SPEC §12), which commits its issues here, before anything below is written.
    numbers = number_source(ws, actor(now))
    plan = numbers.decide(decide, read_register(target, ws.settings), target)
    if not plan.register and not plan.folders:
        return plan  # nothing decided: the register is not rewritten
    prepared = apply_folder_changes(ws, plan.folders, now)
    try:
        apply_register_changes(target, plan, now)
        write()
    except BaseException:
        for p in prepared:
            p.discard()
        raise
    for p in prepared:
        p.commit()
    numbers.used(plan)  # the authority marks its issues used and copies the change log
    return plan


# --- the operations, as Python calls ---------------------------------------------------------


def add_customer(ws: Workspace, inp: decide.NewCustomer, *, now: datetime | None = None) -> Plan:
    who = actor(now)
    return run(ws, lambda reg: decide.register_customer(reg, inp, who), now=who.now)


def add_followup(ws: Workspace, inp: decide.NewFollowUp, *, now: datetime | None = None) -> Plan:
    who = actor(now)
    return run(ws, lambda reg: decide.log_followup(reg, inp, who), now=who.now)


def open_case(
    ws: Workspace,
    customer_no: str,
    *,
    products: Iterable[str] = (),
    at: Any = None,
    now: datetime | None = None,
) -> Plan:
    who = actor(now)
    items = list(products)
    return run(
        ws, lambda reg: decide.open_case(reg, customer_no, who, products=items, at=at), now=who.now
    )


def add_contract(
    ws: Workspace, case_no: str, *, at: Any = None, amount: Any = None, now: datetime | None = None
) -> Plan:
    who = actor(now)
    return run(
        ws, lambda reg: decide.add_contract(reg, case_no, who, at=at, amount=amount), now=who.now
    )


def issue_invoice(
    ws: Workspace, case_no: str, *, amount: Any = None, at: Any = None, now: datetime | None = None
) -> Plan:
    who = actor(now)
    return run(
        ws, lambda reg: decide.issue_invoice(reg, case_no, who, amount=amount, at=at), now=who.now
    )


def crm_done(
    ws: Workspace, customer_no: str, *, at: Any = None, now: datetime | None = None
) -> Plan:
    from crm_xl.ops.products import product_index

    who = actor(now)
    known = product_index(ws)  # read before the lock: crm_done writes no product form
    return run(
        ws, lambda reg: decide.crm_done(reg, customer_no, who, at=at, products=known), now=who.now
    )


def close_customer(
    ws: Workspace,
    customer_no: str,
    *,
    lost: bool = False,
    at: Any = None,
    now: datetime | None = None,
) -> Plan:
    who = actor(now)
    return run(
        ws, lambda reg: decide.close_customer(reg, customer_no, who, lost=lost, at=at), now=who.now
    )


def void_number(
    ws: Workspace, number: str, *, reason: str = "", now: datetime | None = None
) -> Plan:
    who = actor(now)
    return run(ws, lambda reg: decide.void_number(reg, number, who, reason=reason), now=who.now)


def load_register(ws: Workspace) -> decide.Register:
    """A read-only snapshot of the register (no lock needed: writes replace the file whole)."""
    return read_register(FormBook.open(ws.register_path), ws.settings)


__all__ = [
    "InputError",
    "add_contract",
    "add_customer",
    "add_followup",
    "apply_folder_changes",
    "apply_register_changes",
    "close_customer",
    "crm_done",
    "customer_form_path",
    "issue_invoice",
    "load_register",
    "open_case",
    "read_register",
    "run",
    "void_number",
]
