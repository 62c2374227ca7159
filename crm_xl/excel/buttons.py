"""The panel's buttons: each ``CrmButtons`` Sub runs one of these through xlwings' ``RunPython``.

Every entry point takes the panel workbook (``xw.Book.caller()`` when run from a button),
reads its inputs from the panel's entry cells by their defined names (``vba.PANEL_FIELDS``),
calls the same ``ops`` operation as the CLI with the same inputs on the shared workspace's
files (under the workspace lock, refusing a register someone holds open in Excel), then
re-reads the expert's lists («کارتابل من», «مشتریان من») from the workspace and writes a
Persian + English message into the message cell of the sheet the button sits on.

A customer number is taken, in this order, from the selected row when the button sits on a
list sheet (the payload's active sheet is the sheet holding the button), else from the
«شماره مشتری» cell. Errors are shown in the message cell, never as a Python traceback.
Imports are kept to what a press needs: Python start-up and imports are part of every click.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_xl.domain.errors import CrmError
from crm_xl.io import vba

if TYPE_CHECKING:
    from crm_xl.domain.changes import Plan
    from crm_xl.io.workspace import Workspace

# The operations (pydantic models, openpyxl) are imported by the press that runs them, so
# that loading this module for a click stays cheap (issue 14: start-up).

__all__ = [
    "cancel_case",
    "close_and_archive",
    "issue_contract",
    "issue_invoice",
    "log_followup",
    "mark_crm_done",
    "open_case",
    "open_customer_folder",
    "refresh_lists",
    "refresh_overdue",
    "register_customer",
    "register_customer_anyway",
    "validate",
    "void_number",
]

#: How a folder is opened; tests replace it.
OPENER: Callable[[Path], None] | None = None

_FOLLOWUP_CELLS = (
    "in_followup_type",
    "in_minutes",
    "in_note",
    "in_result",
    "in_next_type",
    "in_next_action",
    "in_next_owner",
    "in_next_due",
)
_CUSTOMER_CELLS = tuple(f.name for f in vba.PANEL_SECTIONS[0][2] if f.name != "in_expert")


# --- the panel ------------------------------------------------------------------------------


class Panel:
    """The entry cells, the pressing sheet and its message cell of one button press."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self._values: dict[str, object] = {}
        try:
            self.sheet = str(book.sheets.active.name)
        except Exception:  # an engine that cannot say: the panel sheet
            self.sheet = vba.PANEL_SHEET

    def _range(self, name: str) -> Any:
        return self.book.names[name].refers_to_range

    def raw(self, name: str) -> object:
        if name not in self._values:
            self._values[name] = self._range(name).value
        return self._values[name]

    def text(self, name: str) -> str:
        return _text(self.raw(name))

    def value(self, name: str) -> object:
        """A date, number or text as typed; blank is None."""
        v = self.raw(name)
        if isinstance(v, str):
            return v.strip() or None
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    def clear(self, names: Iterable[str]) -> None:
        for name in names:
            self._range(name).clear_contents()

    def put(self, name: str, value: object) -> None:
        self._range(name).value = value

    @property
    def status_name(self) -> str:
        return vba.STATUS_NAMES.get(self.sheet, vba.STATUS_NAME)

    def status(self, text: str) -> None:
        self._range(self.status_name).value = text


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _selected(panel: Panel) -> str:
    """The customer number in column A of the selected row of the pressing list sheet, or ''."""
    if panel.sheet not in vba.LIST_COLUMNS:
        return ""
    try:
        selection = panel.book.selection
        row = selection.row if selection is not None else 0
    except Exception:  # no selection the engine can report
        return ""
    if row < vba.LIST_FIRST_ROW:
        return ""
    return _text(panel.book.sheets[panel.sheet].range((row, 1)).value)


def _customer(panel: Panel) -> str:
    if panel.sheet in vba.LIST_COLUMNS:
        no = _selected(panel)
        if not no:
            raise CrmError(
                f"یک ردیف از فهرست «{panel.sheet}» را انتخاب کنید و دوباره دکمه را بزنید",
                "select a row of the list, then press the button again",
                code="missing-input",
                sheet=panel.sheet,
                field="customer_no",
            )
        return no
    no = panel.text("in_customer")
    if not no:
        raise CrmError(
            "شماره مشتری را در خانه «شماره مشتری» بنویسید، یا ردیف مشتری را در برگه "
            f"«{vba.MY_CUSTOMERS_SHEET}» انتخاب کنید و دکمه همان برگه را بزنید",
            "enter the customer number, or select the customer's row on "
            "'my customers' and press the button on that sheet",
            code="missing-input",
            field="customer_no",
        )
    return no


def _case(panel: Panel) -> str:
    no = panel.text("in_case")
    if not no:
        raise CrmError(
            "شماره پرونده را در خانه «شماره پرونده» بنویسید",
            "enter the case number",
            code="missing-input",
            field="case_no",
        )
    return no


def _reason(panel: Panel) -> str:
    reason = panel.text("in_reason")
    if not reason:
        raise CrmError(
            "علت را در خانه «علت» بنویسید",
            "enter the reason",
            code="missing-input",
            field="reason",
        )
    return reason


def _link(book: Any, name: str) -> str:
    try:
        return _text(book.names[name].refers_to_range.value)
    except Exception:
        return ""


def _workspace(book: Any) -> Workspace:
    """The workspace the panel records (a UNC path on a share too)."""
    from crm_xl.io.workspace import Workspace

    path = _link(book, vba.WORKSPACE_NAME)
    if not path:
        raise CrmError(
            "این کارپوشه پنل crm-xl نیست یا مسیر فضای کاری در آن ثبت نشده؛ پنل را با "
            "«crm-xl excel panel» دوباره بسازید",
            "this workbook is not a crm_xl panel or records no workspace; rebuild it with "
            "'crm-xl excel panel'",
            code="not-a-panel",
            file=getattr(book, "name", None),
        )
    return Workspace.open(Path(path))


def _expert(book: Any) -> str:
    return _link(book, vba.EXPERT_NAME)


def _message(plan: Plan, extra: str = "") -> str:
    lines = [f"✔ {plan.message_fa}", plan.message_en]
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def _error_text(e: BaseException) -> str:
    if isinstance(e, CrmError):
        where = str(e.location)
        return f"✖ خطا: {e.fa}\nError: {e.en}" + (f"\n({where})" if where else "")
    if isinstance(e, PermissionError):
        name = Path(e.filename).name if e.filename else ""
        return (
            f"✖ خطا: فایل «{name}» در دست برنامهٔ دیگری است یا فقط‌خواندنی است؛ آن را ببندید"
            f"\nError: {name} is held by another program or read-only; close it and try again"
        )
    return (
        f"✖ خطا: عملیات انجام نشد ({type(e).__name__}: {e})"
        f"\nError: the operation failed ({type(e).__name__}: {e})"
    )


def _caller() -> Any:
    """``xw.Book.caller()``, or a clear message (xlwings shows stderr in a message box)."""
    try:
        import xlwings as xw

        return xw.Book.caller()
    except Exception as e:
        text = (
            "✖ پنل از اکسل پیدا نشد؛ پنل را از پوشه‌ای روی دیسک یا شبکه (نه پیش‌نمایش ایمیل یا "
            "OneDrive آنلاین) باز کنید و ماکروها را فعال کنید.\n"
            "Error: the panel could not be reached from Excel; open it from a folder on disk "
            f"or a share (not a mail preview or OneDrive online) with macros enabled. ({e})"
        )
        print(text, file=sys.stderr)
        raise SystemExit(1) from None


def _press(book: Any, action: Callable[[Panel], str], *, refresh_after: bool = True) -> str:
    """Run one button on ``book`` (or the calling workbook); the status text is returned."""
    if book is None:
        book = _caller()
    panel = Panel(book)
    try:
        text = action(panel)
        if refresh_after:
            refresh_lists(book, _workspace(book))
    except Exception as e:  # shown to the salesperson; xlwings would pop up a traceback
        text = _error_text(e)
    try:
        panel.status(text)
    except Exception as e:  # a panel Excel will not let us write into (read-only, protected)
        print(f"{text}\n({type(e).__name__}: {e})", file=sys.stderr)
    return text


# --- the expert's lists ---------------------------------------------------------------------


def refresh_lists(book: Any, ws: Workspace | None = None) -> None:
    """Rewrite the panel's list sheets from the workspace (only this expert's rows)."""
    ws = ws or _workspace(book)
    from crm_xl.excel.panel import list_rows

    tasks, customers = list_rows(ws, _expert(book))
    for sheet_name, rows in ((vba.TASKS_SHEET, tasks), (vba.MY_CUSTOMERS_SHEET, customers)):
        sheet = book.sheets[sheet_name]
        width = len(vba.LIST_COLUMNS[sheet_name])
        first = vba.LIST_FIRST_ROW
        old_last = sheet.used_range.last_cell.row
        if old_last >= first:
            sheet.range((first, 1), (old_last, width)).clear_contents()
        if rows:
            block = sheet.range((first, 1), (first + len(rows) - 1, width))
            block.number_format = "@"  # numbers and Jalali dates stay the text shown
            block.value = [[str(v) for v in r] for r in rows]


# --- the operations: the same ``ops`` calls as the CLI, with the same inputs -------------------


def _new_customer(p: Panel, *, allow_duplicate: bool) -> str:
    from crm_xl.domain import decide
    from crm_xl.ops import store

    inp = decide.NewCustomer(
        name=p.text("in_name"),
        person_type=p.text("in_person_type"),
        channel=p.text("in_channel"),
        expert=p.text("in_expert") or _expert(p.book),
        need=p.text("in_need"),
        national_id=p.text("in_national_id"),  # the rules read it by the person type
        mobile=p.text("in_mobile"),
        phone=p.text("in_phone"),
        referrer=p.text("in_referrer"),
        category=p.text("in_category"),
        allow_duplicate=allow_duplicate,
    )
    plan = store.add_customer(_workspace(p.book), inp)
    no = str(plan.result.get("customer_no") or "")
    p.clear(_CUSTOMER_CELLS)
    p.put("in_customer", no)
    return _message(plan, no)


def register_customer(book: Any = None) -> str:
    """Register a new customer from the «مشتری جدید» section (``crm-xl customer add``)."""
    return _press(book, lambda p: _new_customer(p, allow_duplicate=False))


def register_customer_anyway(book: Any = None) -> str:
    """The same, for a customer that looks like an existing one (``--allow-duplicate``)."""
    return _press(book, lambda p: _new_customer(p, allow_duplicate=True))


def log_followup(book: Any = None) -> str:
    """Log a follow-up and the next action (``crm-xl followup add``)."""
    from crm_xl.domain import decide
    from crm_xl.ops import store

    def action(p: Panel) -> str:
        inp = decide.NewFollowUp(
            customer_no=_customer(p),
            type=p.text("in_followup_type"),
            note=p.text("in_note"),
            minutes=p.value("in_minutes"),  # as typed: the entry rules judge it
            result=p.text("in_result"),
            next_type=p.text("in_next_type"),
            next_action=p.text("in_next_action"),
            next_due=p.value("in_next_due"),
            next_owner=p.text("in_next_owner"),
        )
        plan = store.add_followup(_workspace(p.book), inp)
        p.clear(_FOLLOWUP_CELLS)
        return _message(plan, inp.customer_no)

    return _press(book, action)


def open_case(book: Any = None) -> str:
    """Open a sales case for the customer; its number goes into «شماره پرونده».

    The products cell holds the codes as typed (comma-separated); the panel's national id cell,
    if filled, gives the buyer's identity as ``case open --national-id`` does.
    """
    from crm_xl.ops import store

    def action(p: Panel) -> str:
        no = _customer(p)
        plan = store.open_case(
            _workspace(p.book),
            no,
            products=[p.text("in_products")],
            national_id=p.text("in_national_id"),
        )
        case_no = str(plan.result.get("case_no") or "")
        p.clear(["in_products", "in_national_id"])
        p.put("in_case", case_no)
        return _message(plan, case_no)

    return _press(book, action)


def issue_contract(book: Any = None) -> str:
    """Record the contract of the case in «شماره پرونده» (date and amount cells)."""
    from crm_xl.ops import store

    def action(p: Panel) -> str:
        case_no = _case(p)
        at, amount = p.value("in_contract_date"), p.value("in_amount")
        plan = store.add_contract(_workspace(p.book), case_no, at=at, amount=amount)
        p.clear(["in_contract_date", "in_amount"])
        return _message(plan, str(plan.result.get("contract_no") or ""))

    return _press(book, action)


def issue_invoice(book: Any = None) -> str:
    """Issue an invoice on the case in «شماره پرونده» (amount cell)."""
    from crm_xl.ops import store

    def action(p: Panel) -> str:
        case_no = _case(p)
        amount = p.value("in_amount")
        plan = store.issue_invoice(_workspace(p.book), case_no, amount=amount)
        p.clear(["in_amount"])
        extra = " ".join(
            str(plan.result.get(k)) for k in ("invoice_no", "tax_id") if plan.result.get(k)
        )
        return _message(plan, extra)

    return _press(book, action)


def mark_crm_done(book: Any = None) -> str:
    """``crm-xl customer crm-done``: refused while a product sold has no complete F-31-07-01."""
    from crm_xl.ops import store

    return _press(book, lambda p: _message(store.crm_done(_workspace(p.book), _customer(p))))


def close_and_archive(book: Any = None) -> str:
    """Close the customer's file and move its folder to the archive (after CRM is done)."""
    from crm_xl.ops import store

    def action(p: Panel) -> str:
        plan = store.close_customer(_workspace(p.book), _customer(p))
        if p.sheet == vba.PANEL_SHEET:
            p.clear(["in_customer"])
        return _message(plan, str(plan.result.get("folder") or ""))

    return _press(book, action)


def void_number(book: Any = None) -> str:
    """``crm-xl void NUMBER --reason …``: the number in «شماره برای ابطال»."""
    from crm_xl.ops import store

    def action(p: Panel) -> str:
        number = p.text("in_void_no")
        if not number:
            raise CrmError(
                "شماره‌ای را که باید ابطال شود در خانه «شماره برای ابطال» بنویسید",
                "enter the number to void",
                code="missing-input",
                field="number",
            )
        # As ``crm-xl void``: the reason is optional.
        plan = store.void_number(_workspace(p.book), number, reason=p.text("in_reason"))
        p.clear(["in_void_no", "in_reason"])
        return _message(plan, number)

    return _press(book, action)


def cancel_case(book: Any = None) -> str:
    """``crm-xl case cancel CASE --reason …``: the case in «شماره پرونده»."""
    from crm_xl.ops import store

    def action(p: Panel) -> str:
        case_no = _case(p)
        plan = store.cancel_case(_workspace(p.book), case_no, reason=_reason(p))
        p.clear(["in_reason"])
        return _message(plan, case_no)

    return _press(book, action)


def refresh_overdue(book: Any = None) -> str:
    """``crm-xl refresh`` (every customer's follow-up state), then the panel's lists."""

    def action(p: Panel) -> str:
        from crm_xl.ops.refresh import refresh

        result = refresh(_workspace(p.book))
        return "\n".join(
            [
                f"✔ وضعیت پیگیری {len(result.statuses)} مشتری به‌روز شد "
                f"({len(result.changed)} تغییر، {len(result.problems)} مشکل)",
                f"follow-up state of {len(result.statuses)} customers refreshed "
                f"({len(result.changed)} changed, {len(result.problems)} problems)",
            ]
        )

    return _press(book, action)


def validate(book: Any = None) -> str:
    """Validate the workspace's files (as saved) and summarise the findings."""

    def action(p: Panel) -> str:
        try:
            from crm_xl.validation import validate_paths
        except ImportError:
            return "بخش اعتبارسنجی نصب نیست\nvalidation (crm_xl.validation) is not available"
        ws = _workspace(p.book)
        report = validate_paths([ws.root])
        c = report.counts
        lines = [
            f"{'✔' if report.valid else '✖'} اعتبارسنجی: {c.error} خطا، {c.warning} هشدار",
            f"validation: {c.error} errors, {c.warning} warnings",
        ]
        shown = [f for f in report.findings if f.severity == "error" and not f.fixed][:3]
        for f in shown:
            where = " ".join(str(x) for x in (Path(f.file).name if f.file else "", f.cell) if x)
            lines.append(f"• {f.message_fa} ({where})" if where else f"• {f.message_fa}")
        if not report.valid:
            lines.append(f'crm-xl -w "{ws.root}" validate')
        return "\n".join(lines)

    return _press(book, action, refresh_after=False)


def open_customer_folder(book: Any = None) -> str:
    """Open the customer's folder (or its archived folder) in the file manager."""

    def action(p: Panel) -> str:
        from crm_xl.io.folders import find_customer_folder

        no = _customer(p)
        ws = _workspace(p.book)
        folder = find_customer_folder(ws.customers_dir, no) or find_customer_folder(
            ws.archive_dir, no
        )
        if folder is None:
            raise CrmError(
                f"پوشه مشتری {no} پیدا نشد",
                f"folder of customer {no} not found",
                code="missing-folder",
                file=ws.customers_dir,
            )
        (OPENER or open_path)(folder)
        return f"✔ پوشه مشتری {no} باز شد\nopened {folder}"

    return _press(book, action, refresh_after=False)


def open_path(path: Path) -> None:
    """Open a folder in Explorer / Finder / the desktop's file manager."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]
    elif sys.platform == "darwin":
        subprocess.Popen(["open", str(path)])
    else:
        subprocess.Popen(["xdg-open", str(path)])
