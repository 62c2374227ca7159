"""Workbooks of the CRM extras, declared with the ISO forms' schema classes, and their I/O.

* ``complaints.xlsx``  (CMP) — complaints register (ISO 10002) with the follow-up actions;
* ``satisfaction.xlsx`` (SAT) — satisfaction surveys (ISO 10004), one row per survey;
* ``sales-plan.xlsx``  (PLN) — long/short-term B2B/B2C sales targets.

They are laid out by ``layout.build_form`` and read/written through ``workbook.FormBook``
exactly like F-31-08-0x.  They are not ISO form codes of the procedure, so ``detect_form``
does not know them: this module opens them with their form given explicitly.  Writes follow
the store's rules: workspace lock, refuse when open in Excel/LibreOffice, atomic replace
with a backup.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import jdatetime

from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import ENUMS, LabeledEnum
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.numbering import next_number
from crm_xl.domain.schema import COUNTERS, LOG, FieldType, Form, Table, declare_enum, declare_field
from crm_xl.domain.settings import NumberRule
from crm_xl.domain.text import normalize, to_ascii_digits
from crm_xl.io import layout
from crm_xl.io.layout import build_form
from crm_xl.io.safety import atomic_write, check_not_open, verify_xlsx, workspace_lock
from crm_xl.io.workbook import FormBook, load_workbook, read_table_fast
from crm_xl.io.workspace import (
    COMPLAINTS_BOOK,
    PLANS_BOOK,
    SATISFACTION_BOOK,
    Workspace,
    write_output,
)

T = FieldType
R = TypeVar("R")

# --- enumerations ----------------------------------------------------------------------------


class ComplaintStatus(LabeledEnum):
    """ISO 10002 complaint handling: receipt → acknowledgement → handling → resolution → closure;
    ISO 10003 escalation when the organisation could not resolve it internally."""

    RECEIVED = "received", "دریافت شد", "Received"
    ACKNOWLEDGED = "acknowledged", "اعلام وصول شد", "Acknowledged"
    IN_PROGRESS = "in_progress", "در حال رسیدگی", "In progress"
    RESOLVED = "resolved", "حل شد", "Resolved"
    ESCALATED = "escalated", "ارجاع به حل اختلاف", "Escalated (ISO 10003)"
    CLOSED = "closed", "بسته شد", "Closed"


class ComplaintCause(LabeledEnum):
    QUALITY = "quality", "کیفیت کالا", "Product quality"
    DELIVERY = "delivery", "تحویل و حمل", "Delivery"
    PRICE = "price", "قیمت و فاکتور", "Price and invoice"
    SERVICE = "service", "خدمات پس از فروش", "After-sales service"
    STAFF = "staff", "رفتار کارکنان", "Staff behaviour"
    CONTRACT = "contract", "قرارداد و تعهدات", "Contract and commitments"
    WARRANTY = "warranty", "گارانتی", "Guarantee / warranty"
    OTHER = "other", "سایر", "Other"


class Horizon(LabeledEnum):
    LONG = "long", "بلندمدت", "Long-term"
    SHORT = "short", "کوتاه‌مدت", "Short-term"


class Market(LabeledEnum):
    B2B = "b2b", "B2B (شرکت‌ها)", "B2B"
    B2C = "b2c", "B2C (اشخاص)", "B2C"


# Drop-downs and readers look enumerations up by name in ENUMS: register ours once.
for _cls in (ComplaintStatus, ComplaintCause, Horizon, Market):
    ENUMS.setdefault(_cls.__name__, _cls)


_f, _e = declare_field, declare_enum  # short names for the declarations below


# --- complaints (ISO 10002 / 10003) ---------------------------------------------------------

COMPLAINTS = Table(
    name="Complaints",
    sheet="شکایات",
    title_fa="ثبت و پیگیری شکایات مشتریان",
    key="complaint_no",
    fields=(
        _f("complaint_no", "شماره شکایت", "Complaint number", required=True, unique=True, width=13),
        _f("customer_no", "شماره مشتری", "Customer number", T.CUSTOMER_NO, required=True, width=12),
        _f("customer_name", "نام مشتری", "Customer name", width=22),
        _f("case_no", "شماره پرونده", "Case number", T.CASE_NO, width=12),
        _e("channel", "کانال دریافت", "Channel", "Channel", required=True, width=12),
        _f("subject", "موضوع شکایت", "Subject", T.LONGTEXT, required=True, width=30),
        _e("cause", "علت / دسته", "Cause / category", "ComplaintCause", width=15),
        _e("severity", "شدت", "Severity", "Importance", required=True, width=8),
        _f("received", "تاریخ دریافت", "Received", T.DATETIME, required=True, width=16),
        _f("acknowledged", "اعلام وصول", "Acknowledged", T.DATETIME, width=16),
        _f("responsible", "مسئول رسیدگی", "Responsible", width=14),
        _e("status", "وضعیت", "Status", "ComplaintStatus", required=True, width=15),
        _f("resolution", "راه‌حل / پاسخ", "Resolution", T.LONGTEXT, width=30),
        _f("resolved", "تاریخ حل", "Resolved", T.DATETIME, width=16),
        _f("closed", "تاریخ بستن", "Closed", T.DATETIME, width=16),
        _f("escalated", "ارجاع به حل اختلاف (ISO 10003)", "Escalated", T.DATETIME, width=18),
        _f("escalated_to", "مرجع حل اختلاف", "Dispute resolution provider", width=18),
    ),
)

COMPLAINT_ACTIONS = Table(
    name="ComplaintActions",
    sheet="اقدامات شکایت",
    title_fa="پیگیری‌ها و اقدامات شکایت",
    fields=(
        _f("complaint_no", "شماره شکایت", "Complaint number", required=True, width=13),
        _f("row_no", "ردیف", "Row", T.INTEGER, required=True, width=6),
        _f("at", "تاریخ ثبت", "Recorded", T.DATETIME, required=True, width=16),
        _f("action", "شرح اقدام", "Action", T.LONGTEXT, required=True, width=36),
        _f("owner", "مسئول", "Owner", required=True, width=14),
        _f("due", "موعد", "Due", T.DATETIME, required=True, width=16),
        _e("done", "انجام شد؟", "Done?", "YesNo", width=9),
        _f("done_at", "تاریخ انجام", "Done at", T.DATETIME, width=16),
    ),
)

COMPLAINTS_FORM = Form(
    code="CRM-CMP",
    title_fa="دفتر ثبت و رسیدگی به شکایات مشتریان (ISO 10002)",
    title_en="Customer complaints register (ISO 10002)",
    revision="00",
    filename=COMPLAINTS_BOOK,
    parts=(COMPLAINTS, COMPLAINT_ACTIONS, COUNTERS, LOG),
)

# --- satisfaction surveys (ISO 10004) -------------------------------------------------------

#: The fixed question set: key → (short label for the column, the question as asked).
QUESTIONS: dict[str, tuple[str, str]] = {
    "q1": ("کیفیت کالا", "از کیفیت کالا یا خدمتی که دریافت کردید چقدر راضی هستید؟"),
    "q2": ("تحویل به‌موقع", "کالا در زمان و به شکل وعده‌داده‌شده تحویل شد؟"),
    "q3": ("قیمت و شرایط", "قیمت و شرایط پرداخت را چگونه ارزیابی می‌کنید؟"),
    "q4": ("پاسخ‌گویی کارشناس", "پاسخ‌گویی و رفتار کارشناس فروش چگونه بود؟"),
    "q5": ("خدمات پس از فروش", "از خدمات پس از فروش (نصب، آموزش، پشتیبانی) چقدر راضی هستید؟"),
    "q6": ("خرید مجدد / معرفی", "چقدر احتمال دارد دوباره از ما بخرید یا ما را معرفی کنید؟"),
}
SCORE_MIN, SCORE_MAX = 1, 5

SURVEYS = Table(
    name="Surveys",
    sheet="نظرسنجی‌ها",
    title_fa="سنجش رضایت مشتریان",
    key="survey_no",
    fields=(
        _f("survey_no", "شماره نظرسنجی", "Survey number", required=True, unique=True, width=13),
        _f("customer_no", "شماره مشتری", "Customer number", T.CUSTOMER_NO, required=True, width=12),
        _f("customer_name", "نام مشتری", "Customer name", width=22),
        _f("case_no", "شماره پرونده", "Case number", T.CASE_NO, width=12),
        _f("date", "تاریخ", "Date", T.DATE, required=True, width=13),
        _f("expert", "کارشناس فروش", "Sales expert", width=14),
        _f("product_group", "گروه کالا", "Product group", width=14),
        *(
            _f(k, label, f"Score {k} (1-5)", T.INTEGER, width=11, hint=question)
            for k, (label, question) in QUESTIONS.items()
        ),
        _f("average", "میانگین", "Average", width=9),
        _f("comment", "نظر مشتری", "Comment", T.LONGTEXT, width=30),
    ),
)

SATISFACTION_FORM = Form(
    code="CRM-SAT",
    title_fa="فرم سنجش رضایت مشتری (ISO 10004)",
    title_en="Customer satisfaction survey (ISO 10004)",
    revision="00",
    filename=SATISFACTION_BOOK,
    parts=(SURVEYS, COUNTERS, LOG),
)

# --- sales plans (B2B / B2C) ----------------------------------------------------------------

PLANS = Table(
    name="Plans",
    sheet="برنامه فروش",
    title_fa="برنامه‌های فروش بلندمدت و کوتاه‌مدت",
    fields=(
        _f("row_no", "ردیف", "Row", T.INTEGER, required=True, width=6),
        _f(
            "period",
            "دوره (سال/فصل/ماه)",
            "Period",
            required=True,
            width=14,
            hint="۱۴۰۵ یا ۱۴۰۵/Q2 یا ۱۴۰۵/۰۳",
        ),
        _e("horizon", "افق", "Horizon", "Horizon", required=True, width=11),
        _e("market", "بازار", "Market", "Market", required=True, width=13),
        _f("product_group", "گروه کالا", "Product group", width=16),
        _f("region", "حوزه جغرافیایی", "Region", width=14),
        _f("expert", "کارشناس فروش", "Sales expert", width=15),
        _f("target", "هدف فروش (ریال)", "Target (Rial)", T.RIAL, required=True, width=18),
        _f("note", "توضیحات", "Note", T.LONGTEXT, width=24),
    ),
)

PLANS_FORM = Form(
    code="CRM-PLN",
    title_fa="برنامه فروش B2B و B2C",
    title_en="Sales plan (B2B / B2C)",
    revision="00",
    filename=PLANS_BOOK,
    parts=(PLANS, LOG),
)

EXTRA_FORMS: dict[str, Form] = {f.code: f for f in (COMPLAINTS_FORM, SATISFACTION_FORM, PLANS_FORM)}

# --- opening and writing --------------------------------------------------------------------


def book_path(ws: Workspace, form: Form) -> Path:
    return ws.root / form.filename


def ensure_book(ws: Workspace, form: Form) -> Path:
    """The workbook of ``form`` in the workspace, laid out fresh on first use."""
    path = book_path(ws, form)
    if not path.exists():
        build_form(path, form, company=ws.settings.company, experts=ws.settings.experts)
    return path


def open_book(path: Path, form: Form) -> FormBook:
    """The book as a FormBook, once ``guard`` let it in (``workbook.load_workbook``)."""
    wb = load_workbook(path)
    for part in form.parts:
        if part.sheet not in wb.sheetnames:
            raise CrmError(
                f"برگه «{part.sheet}» در فایل نیست",
                f"sheet {part.sheet!r} is missing from the workbook",
                code="missing-sheet",
                file=path,
                sheet=part.sheet,
            )
    return FormBook(wb, form, path)


def read_rows(ws: Workspace, form: Form, table: Table) -> list[dict[str, Any]]:
    """Rows of one table (calamine, no lock: writes replace the file whole); [] before first use."""
    path = book_path(ws, form)
    if not path.exists():
        return []
    return [r for _, r in read_table_fast(path, form, table.name)]


def write_book(ws: Workspace, form: Form, change: Callable[[FormBook], R]) -> R:
    """Lock, open, let ``change`` edit the book, then replace the file atomically (with backup)."""
    settings = ws.settings
    with workspace_lock(ws.root, timeout=settings.lock_timeout):
        path = ensure_book(ws, form)
        check_not_open(path)
        book = open_book(path, form)
        result = change(book)
        atomic_write(
            path,
            lambda tmp: book.save(tmp),
            backups=ws.backups_dir,
            keep=settings.backups_keep,
            verify=verify_xlsx,
        )
    return result


def number_rule(ws: Workspace, kind: str, default: str) -> NumberRule:
    """The pattern of ``kind`` from the workspace settings when set there, else ``default``."""
    rule = ws.settings.numbering.get(kind)
    return rule if rule is not None else NumberRule(pattern=default)


def issue_number(book: FormBook, kind: str, rule: NumberRule, now: dt.datetime, key: str) -> str:
    """Next serial number of ``kind`` from the book's own hidden counters (never reused).

    One above the larger of the persisted counter and every number in the ``key`` column of
    the table keyed by it, so neither a deleted row nor a lowered counter brings a number back.
    """
    counters = {
        (str(v.get("kind") or ""), str(v.get("scope") or "")): (r, as_int(v.get("last")))
        for r, v in book.read_table(COUNTERS.name)
    }
    table = next(p for p in book.form.parts if isinstance(p, Table) and p.key == key)
    used = [str(v.get(key) or "") for _, v in book.read_table(table.name)]
    issued = next_number(kind, rule, jalali_year(now), {k: v[1] for k, v in counters.items()}, used)
    values = {"kind": kind, "scope": issued.scope, "last": issued.seq, "updated": now}
    existing = counters.get((kind, issued.scope))
    if existing is None:
        book.append_rows(COUNTERS.name, [values])
    else:
        book.update_row(COUNTERS.name, existing[0], values)
    return issued.number


def log_row(
    book: FormBook, actor: Any, operation: str, numbers: Iterable[str], details: str
) -> None:
    book.append_rows(LOG.name, [decide.log_row(actor, operation, numbers, details)])


def find_row(book: FormBook, table: Table, key: str, value: str) -> tuple[int, dict[str, Any]]:
    for r, v in book.read_table(table.name):
        if normalize(str(v.get(key) or "")) == value:
            return r, v
    raise InputError(
        f"«{value}» در {table.title_fa} پیدا نشد",
        f"'{value}' not found in {table.name}",
        code="not-found",
        file=book.name,
        sheet=table.sheet,
        field=key,
    )


# --- Jalali periods ---------------------------------------------------------------------------


def jalali(d: dt.date | dt.datetime) -> jdatetime.date:
    if isinstance(d, dt.datetime):
        d = d.astimezone(TEHRAN).date() if d.tzinfo else d.date()
    return jdatetime.date.fromgregorian(date=d)


def jalali_year(d: dt.date | dt.datetime) -> int:
    return int(jalali(d).year)


def jalali_month_key(d: dt.date | dt.datetime) -> str:
    j = jalali(d)
    return f"{j.year:04d}/{j.month:02d}"


def jalali_quarter_key(d: dt.date | dt.datetime) -> str:
    j = jalali(d)
    return f"{j.year:04d}/Q{(j.month - 1) // 3 + 1}"


_PERIOD = re.compile(r"^(\d{4})(?:\s*[/\-]\s*(?:(Q|ف|فصل)\s*([1-4])|(\d{1,2})))?$", re.IGNORECASE)


def parse_period(text: object) -> tuple[int, str, int]:
    """A plan period: ("1405") year, ("1405/Q2", "1405-ف2") quarter or ("1405/03") month.

    Returns (year, kind, n) with kind "year" (n 0), "quarter" (n 1-4) or "month" (n 1-12).
    """
    raw = to_ascii_digits(normalize(text)).replace(" ", "")
    m = _PERIOD.match(raw)
    if not m or not 1300 <= int(m.group(1)) <= 1500:
        raise InputError(
            f"دوره «{text}» خوانا نیست؛ مثل ۱۴۰۵ یا ۱۴۰۵/Q2 یا ۱۴۰۵/۰۳ بنویسید",
            f"period '{text}' cannot be read; write 1405, 1405/Q2 or 1405/03",
            code="type-error",
            field="period",
        )
    year = int(m.group(1))
    if m.group(3):
        return year, "quarter", int(m.group(3))
    if m.group(4):
        month = int(m.group(4))
        if not 1 <= month <= 12:
            raise InputError(
                f"ماه «{month}» نامعتبر است", f"month {month} is invalid", field="period"
            )
        return year, "month", month
    return year, "year", 0


def period_label(period: tuple[int, str, int]) -> str:
    year, kind, n = period
    if kind == "quarter":
        return f"{year}/Q{n}"
    if kind == "month":
        return f"{year}/{n:02d}"
    return str(year)


def in_period(d: dt.date | dt.datetime, period: tuple[int, str, int]) -> bool:
    j = jalali(d)
    year, kind, n = period
    if j.year != year:
        return False
    if kind == "quarter":
        return (j.month - 1) // 3 + 1 == n
    if kind == "month":
        return bool(j.month == n)
    return True


def when(value: Any, default: dt.datetime, field: str) -> dt.datetime:
    """A user-typed moment (Jalali or ISO text, date, datetime) as aware Tehran time."""
    return decide.parse_when(value, default, field)


def as_int(v: object) -> int:
    """A cell's whole number (0 when blank or not a number)."""
    try:
        return int(to_ascii_digits(normalize(str(v))) if isinstance(v, str) else v)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def label(enum: type[LabeledEnum], value: Any) -> str:
    """Persian label of a stored enum cell (tolerates keys and English labels typed by hand)."""
    try:
        return enum.parse(value).fa
    except ValueError:
        return normalize(str(value or ""))


# --- report workbooks (XlsxWriter) --------------------------------------------------------------


class Report(layout.Report):
    """A report workbook in the forms' look (``layout.Report``), written to ``path`` by
    ``close`` with ``write_output``: never over a record, never half-written."""

    def __init__(
        self, path: str | Path, *, company: str, title: str, meta: Iterable[str] = ()
    ) -> None:
        super().__init__(company=company, title=title, meta=tuple(meta))
        self.path = Path(path)

    def close(self) -> Path:
        data = self.getvalue()
        self.path = write_output(self.path, lambda tmp: tmp.write_bytes(data))
        return self.path
