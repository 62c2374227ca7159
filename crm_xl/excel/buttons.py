"""The panel's buttons: each ``CrmButtons`` Sub runs one of these through xlwings' ``RunPython``.

Every entry point takes the workbook (``xw.Book.caller()`` when run from a button), reads its
inputs from the panel's entry cells by their defined names (``vba.PANEL_FIELDS``), calls the
same ``ops.store`` operation as the CLI with the same inputs, written into the live workbook
(:func:`crm_xl.excel.store.live_runner`), and writes a
Persian + English message into the status cell. On success the data cells it used are
cleared; the customer and case number cells are kept (or set to the new number), so the next
button can act on the same customer. A customer or case number left empty is taken from the
selected row of the Customers or Cases sheet. Errors are shown in the status cell, never as a
Python traceback, and returned.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import CASES, CUSTOMERS
from crm_xl.io import vba

if TYPE_CHECKING:
    from crm_xl.domain.changes import Plan
    from crm_xl.io.workspace import Workspace
    from crm_xl.ops.store import Runner

# The operations (pydantic models, openpyxl) are imported by the press that runs them, so
# that loading this module for a click stays cheap (issue 14: start-up).

__all__ = [
    "close_and_archive",
    "issue_contract",
    "issue_invoice",
    "log_followup",
    "mark_crm_done",
    "open_case",
    "open_customer_folder",
    "refresh_overdue",
    "register_customer",
    "validate",
]

#: Workspace override for tests (the remote engine's ``book.fullname`` is only the file name).
WORKSPACE: Workspace | None = None
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
_CUSTOMER_CELLS = tuple(f.name for f in vba.PANEL_SECTIONS[0][2])


# --- the panel ------------------------------------------------------------------------------


class Panel:
    """The entry cells and status cell of one button press."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self._values: dict[str, object] = {}

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

    def status(self, text: str) -> None:
        self._range(vba.STATUS_NAME).value = text


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _selected(book: Any, key: str) -> str:
    """``key`` of the selected row on the Customers or Cases sheet, or ''."""
    try:
        selection = book.selection
        if selection is None:
            return ""
        sheet, row = selection.sheet.name, selection.row
    except Exception:  # no selection the engine can report
        return ""
    if sheet not in (CUSTOMERS.sheet, CASES.sheet):
        return ""
    from crm_xl.excel.store import XlwingsBook

    return _text(XlwingsBook(book).row_of(sheet, row, key))


def _entered_or_selected(panel: Panel, cell: str, key: str, fa: str, en: str) -> str:
    """The number typed in the entry cell, else the one on the selected register row."""
    no = panel.text(cell) or _selected(panel.book, key)
    if not no:
        raise CrmError(fa, en, code="missing-input", field=key)
    return no


def _customer(panel: Panel) -> str:
    return _entered_or_selected(
        panel,
        "in_customer",
        "customer_no",
        "شماره مشتری را در خانه «شماره مشتری» بنویسید یا ردیف مشتری را در برگه مشتریان انتخاب کنید",
        "enter the customer number, or select the customer's row on the Customers sheet",
    )


def _case(panel: Panel) -> str:
    return _entered_or_selected(
        panel,
        "in_case",
        "case_no",
        "شماره پرونده را در خانه «شماره پرونده» بنویسید یا ردیف پرونده را در برگه پرونده‌ها انتخاب کنید",
        "enter the case number, or select the case's row on the Cases sheet",
    )


def _workspace(book: Any) -> Workspace:
    from crm_xl.excel.store import workspace_of

    return WORKSPACE or workspace_of(book)


def _message(plan: Plan, extra: str = "") -> str:
    lines = [f"✔ {plan.message_fa}", plan.message_en]
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def _error_text(e: BaseException) -> str:
    if isinstance(e, CrmError):
        where = str(e.location)
        return f"✖ خطا: {e.fa}\nError: {e.en}" + (f"\n({where})" if where else "")
    return f"✖ خطای پیش‌بینی‌نشده: {type(e).__name__}: {e}\nUnexpected error: {type(e).__name__}: {e}"


def _press(book: Any, action: Callable[[Panel], str]) -> str:
    """Run one button on ``book`` (or the calling workbook); the status text is returned."""
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    panel = Panel(book)
    try:
        text = action(panel)
    except Exception as e:  # shown to the salesperson; xlwings would pop up a traceback
        text = _error_text(e)
    panel.status(text)
    return text


def _ws(panel: Panel) -> Workspace:
    return _workspace(panel.book)


def _live(panel: Panel) -> Runner:
    """Where a button's operation writes: the live workbook it was pressed in."""
    from crm_xl.excel.store import live_runner

    return live_runner(panel.book)


# --- the operations: the same ``ops`` calls as the CLI, with the same inputs -------------------


def register_customer(book: Any = None) -> str:
    """Register a new customer from the «مشتری جدید» section (``crm-xl customer add``)."""

    def action(p: Panel) -> str:
        from crm_xl.domain import decide
        from crm_xl.ops import store

        inp = decide.NewCustomer(
            name=p.text("in_name"),
            person_type=p.text("in_person_type"),
            channel=p.text("in_channel"),
            expert=p.text("in_expert"),
            need=p.text("in_need"),
            national_id=p.text("in_national_id"),  # the rules read it by the person type
            mobile=p.text("in_mobile"),
            phone=p.text("in_phone"),
            referrer=p.text("in_referrer"),
            category=p.text("in_category"),
        )
        plan = store.add_customer(_ws(p), inp, runner=_live(p))
        no = str(plan.result.get("customer_no") or "")
        p.clear(_CUSTOMER_CELLS)
        p.put("in_customer", no)
        return _message(plan, no)

    return _press(book, action)


def log_followup(book: Any = None) -> str:
    """Log a follow-up and the next action for the customer in «شماره مشتری»."""

    def action(p: Panel) -> str:
        from crm_xl.domain import decide
        from crm_xl.ops import store

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
        plan = store.add_followup(_ws(p), inp, runner=_live(p))
        p.clear(_FOLLOWUP_CELLS)
        return _message(plan)

    return _press(book, action)


def open_case(book: Any = None) -> str:
    """Open a sales case for the customer; its number goes into «شماره پرونده».

    The products cell holds the codes as typed (comma-separated); the panel's national id cell,
    if filled, gives the buyer's identity as ``case open --national-id`` does.
    """

    def action(p: Panel) -> str:
        from crm_xl.ops import store

        no = _customer(p)
        plan = store.open_case(
            _ws(p),
            no,
            products=[p.text("in_products")],
            national_id=p.text("in_national_id"),
            runner=_live(p),
        )
        case_no = str(plan.result.get("case_no") or "")
        p.clear(["in_products", "in_national_id"])
        p.put("in_case", case_no)
        return _message(plan, case_no)

    return _press(book, action)


def issue_contract(book: Any = None) -> str:
    """Record the contract of the case in «شماره پرونده» (date and amount cells)."""

    def action(p: Panel) -> str:
        from crm_xl.ops import store

        case_no = _case(p)
        at, amount = p.value("in_contract_date"), p.value("in_amount")
        plan = store.add_contract(_ws(p), case_no, at=at, amount=amount, runner=_live(p))
        p.clear(["in_contract_date", "in_amount"])
        return _message(plan, str(plan.result.get("contract_no") or ""))

    return _press(book, action)


def issue_invoice(book: Any = None) -> str:
    """Issue an invoice on the case in «شماره پرونده» (amount cell)."""

    def action(p: Panel) -> str:
        from crm_xl.ops import store

        case_no = _case(p)
        amount = p.value("in_amount")
        plan = store.issue_invoice(_ws(p), case_no, amount=amount, runner=_live(p))
        p.clear(["in_amount"])
        extra = " ".join(
            str(plan.result.get(k)) for k in ("invoice_no", "tax_id") if plan.result.get(k)
        )
        return _message(plan, extra)

    return _press(book, action)


def mark_crm_done(book: Any = None) -> str:
    """Record that the customer's after-sales/CRM stage is done (R11).

    ``crm-xl customer crm-done``'s operation: refused while a product sold has no complete
    after-sales form (F-31-07-01).
    """

    def action(p: Panel) -> str:
        from crm_xl.ops import store

        return _message(store.crm_done(_ws(p), _customer(p), runner=_live(p)))

    return _press(book, action)


def close_and_archive(book: Any = None) -> str:
    """Close the customer's file and move its folder to the archive (after CRM is done)."""

    def action(p: Panel) -> str:
        from crm_xl.ops import store

        plan = store.close_customer(_ws(p), _customer(p), runner=_live(p))
        p.clear(["in_customer"])
        return _message(plan, str(plan.result.get("folder") or ""))

    return _press(book, action)


def refresh_overdue(book: Any = None) -> str:
    """``crm-xl refresh``: re-read the forms, write every customer's follow-up state."""

    def action(p: Panel) -> str:
        from crm_xl.ops.refresh import refresh

        result = refresh(_ws(p), runner=_live(p))
        lines = [
            f"✔ وضعیت پیگیری {len(result.statuses)} مشتری به‌روز شد "
            f"({len(result.changed)} تغییر، {len(result.problems)} مشکل)",
            f"follow-up state of {len(result.statuses)} customers refreshed "
            f"({len(result.changed)} changed, {len(result.problems)} problems)",
        ]
        return "\n".join(lines)

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

    return _press(book, action)


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

    return _press(book, action)


def open_path(path: Path) -> None:
    """Open a folder in Explorer / Finder / the desktop's file manager."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]
    elif sys.platform == "darwin":
        subprocess.Popen(["open", str(path)])
    else:
        subprocess.Popen(["xdg-open", str(path)])
