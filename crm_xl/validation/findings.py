"""Validation findings: stable machine codes, severity, location and a message in both languages.

Modelled on frictionless' error catalogue: every problem ``validate`` can report has a code
listed in :data:`CODES` with a fixed severity, so scripts can filter on codes and a code's
meaning never changes between releases.  The JSON output is ``Report.model_dump`` (see
docs/validate-json.md).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, Field

from crm_xl.domain import aftersales
from crm_xl.io.authority import CODES as AUTHORITY_CODES

Severity = Literal["error", "warning", "info"]

#: Version of the JSON report format; bumped only on incompatible changes.
REPORT_VERSION = 1

#: code → (severity, Persian description, English description)
CODES: dict[str, tuple[Severity, str, str]] = {
    # -- files
    "broken-file": ("error", "فایل اکسل خراب است یا xlsx نیست", "file is not a readable .xlsx"),
    "encrypted-file": (
        "error",
        "فایل رمزدار یا xls قدیمی است",
        "password-protected or legacy .xls",
    ),
    "zip-bomb": ("error", "فایل فشرده بیش از حد بزرگ می‌شود", "file expands beyond the safe limit"),
    "unsafe-xml": ("error", "XML فایل DOCTYPE/ENTITY دارد", "XML declares a DOCTYPE/ENTITY"),
    "range-too-large": (
        "error",
        "محدوده برگه بیش از حد بزرگ است",
        "a sheet's used range is beyond the limits",
    ),
    "external-link": (
        "error",
        "پیوند به فایل بیرونی (پذیرفته نیست)",
        "link to an outside file (refused)",
    ),
    "external-hyperlink": (
        "warning",
        "پیوند وب/ایمیل در خانه (هنگام نوشتن برداشته می‌شود)",
        "web/e-mail hyperlink in a cell (removed on write)",
    ),
    "unknown-form": ("error", "فرم crm_xl شناخته نشد", "not a crm_xl form"),
    "not-a-form": (
        "info",
        "فایل ساخته crm_xl است ولی فرم نیست (فهرست، گزارش، خروجی)؛ بررسی نشد",
        "a workbook crm_xl writes that is not a form (catalog, report, export): not checked",
    ),
    "missing-sheet": ("error", "برگه فرم نیست", "a sheet of the form is missing"),
    "missing-column": ("error", "ستون کلید پیدا نشد", "a field's key is missing"),
    "formula-in-data": ("warning", "فرمول به جای مقدار", "formula where a value belongs"),
    "merged-cells": ("error", "سلول ادغام‌شده در ناحیه داده", "merged cells in the data area"),
    # -- cells
    "required-error": ("error", "مقدار لازم خالی است", "a required value is missing"),
    "type-error": ("error", "نوع مقدار نادرست است", "value has the wrong type"),
    "constraint-error": ("error", "مقدار خارج از حد مجاز", "value breaks a constraint"),
    "enum-error": ("error", "مقدار در فهرست مجاز نیست", "value is not an allowed choice"),
    "date-error": ("error", "تاریخ خوانده نشد یا ناممکن است", "unreadable or impossible date"),
    "identifier-error": ("error", "شناسه/شماره نامعتبر است", "invalid identifier or phone"),
    "postal-code-suspect": ("warning", "کد پستی مشکوک", "postal code looks wrong"),
    "tax-id-error": ("error", "شماره مالیاتی نامعتبر", "invalid tax id"),
    "person-type-field": ("warning", "فیلد نوع دیگر شخص پر شده", "field of the other person type"),
    "cross-field-error": ("error", "ناسازگاری بین فیلدها", "fields contradict each other"),
    "invoiced-over-contract": (
        "warning",
        "جمع فاکتورها از مبلغ قرارداد بیشتر است",
        "invoiced more than the contract amount",
    ),
    # -- Moadian invoices (SPEC §11)
    "total-error": ("error", "مبالغ فاکتور جمع نمی‌خورند", "invoice amounts do not add up"),
    "correction-error": (
        "error",
        "اصلاحی/ابطالی/برگشتی با فاکتور مرجع نمی‌خواند",
        "a corrective, void or return invoice breaks its original's rules",
    ),
    # -- numbering
    "unique-error": ("error", "شماره تکراری", "duplicate value in a unique field"),
    "number-format": ("error", "شماره با الگو نمی‌خواند", "number does not fit its pattern"),
    "number-gap": ("warning", "شماره‌های جاافتاده", "serial numbers are missing"),
    "number-order": ("warning", "ترتیب شماره‌ها به هم خورده", "serial numbers out of order"),
    "counter-behind": ("error", "شمارنده عقب‌تر از شماره‌های مصرف‌شده", "counter below used"),
    "number-no-row": (
        "warning",
        "شماره صادرشده بدون ردیف در دفتر ثبت",
        "issued number held by no register row",
    ),
    "number-two-folders": (
        "error",
        "یک شماره مشتری با دو پوشه",
        "one customer number, two folders",
    ),
    "log-tampered": (
        "error",
        "گزارش تغییرات ویرایش یا حذف شده",
        "change log edited or rows deleted",
    ),
    # -- workspace
    "missing-folder": ("error", "پوشه مشتری نیست", "customer folder is missing"),
    "folder-mismatch": ("warning", "پوشه با دفتر ثبت نمی‌خواند", "folder differs from the register"),
    "orphan-folder": ("warning", "پوشه بدون مشتری در دفتر ثبت", "folder with no register row"),
    "missing-form": ("error", "فرم F-31-08-01 مشتری نیست", "customer form is missing"),
    "form-mismatch": ("error", "فرم با دفتر ثبت نمی‌خواند", "form differs from the register"),
    "duplicate-customer": ("warning", "مشتری تکراری", "customer registered twice"),
    "unfinished-operation": (
        "error",
        "عملیات نیمه‌تمام (قطع برق یا توقف برنامه)",
        "operation interrupted, not yet completed",
    ),
    "leftover-file": ("warning", "فایل موقت باقی‌مانده", "temporary file left behind"),
    # -- text hygiene (fixable with --fix)
    "arabic-letters": ("warning", "حروف عربی ي/ك", "Arabic letters ي/ك"),
    "mixed-digits": ("warning", "ارقام فارسی و لاتین با هم", "mixed digit scripts"),
    "persian-digits": ("warning", "ارقام فارسی در فیلد عددی", "Persian digits in a numeric field"),
    "spacing": ("warning", "فاصله اضافه", "extra spaces"),
    # -- after-sales (seed 003): declared with their rules in crm_xl.domain.aftersales
    **aftersales.CODES,
    # -- the company-wide number authority (SPEC §12): declared in crm_xl.io.authority
    **AUTHORITY_CODES,
}

#: Codes ``--fix`` may repair (safe normalisations only).
FIXABLE = frozenset({"arabic-letters", "mixed-digits", "persian-digits", "spacing"})


class Finding(BaseModel):
    """One problem at one place."""

    code: str
    severity: Severity
    message_fa: str
    message_en: str
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None  # A1 reference
    row: int | None = None  # Excel row (1-based)
    field: str | None = None  # schema key
    value: str | None = None  # the offending value as text (shortened)
    fixed: bool = False  # --fix normalised it


def finding(code: str, fa: str, en: str, **where: Any) -> Finding:
    """A Finding with the catalogue's severity (KeyError for an unknown code: keep codes stable)."""
    severity = CODES[code][0]
    v = where.pop("value", None)
    if v is not None:
        v = str(v)
        if len(v) > 120:
            v = v[:117] + "…"
    return Finding(code=code, severity=severity, message_fa=fa, message_en=en, value=v, **where)


class FileSummary(BaseModel):
    path: str
    form: str | None = None  # form code when recognised
    rows: int = 0  # data rows read
    errors: int = 0
    warnings: int = 0


class Fix(BaseModel):
    """A cell ``--fix`` changed."""

    file: str
    sheet: str
    cell: str
    old: str
    new: str


class Counts(BaseModel):
    error: int = 0
    warning: int = 0
    info: int = 0


class NumberSummary(BaseModel):
    """The numbering audit of one kind in one period (Jalali year, or ``all``)."""

    kind: str  # customer, case, contract, invoice, tax
    scope: str
    issued: int = 0  # distinct numbers the workspace shows were issued
    highest: int = 0  # highest sequence, marks of the seal included
    counter: int | None = None  # the register's counter; None when it has no row
    voided: list[str] = Field(default_factory=list)
    missing: str = ""  # sequences never issued below the highest, as ranges ("3, 7-9")
    without_row: list[str] = Field(default_factory=list)  # issued, held by no register row


class Report(BaseModel):
    version: int = REPORT_VERSION
    valid: bool = True  # no errors
    exit_code: int = 0  # 0 clean (warnings allowed), 1 errors found
    counts: Counts = Field(default_factory=Counts)
    by_code: dict[str, int] = Field(default_factory=dict)
    files: list[FileSummary] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    fixes: list[Fix] = Field(default_factory=list)
    numbering: list[NumberSummary] = Field(default_factory=list)

    def finish(self) -> Report:
        """Fill counts, per-file tallies and the exit code from the findings."""
        sev = Counter(f.severity for f in self.findings if not f.fixed)
        self.counts = Counts(**{k: sev.get(k, 0) for k in ("error", "warning", "info")})
        self.by_code = dict(sorted(Counter(f.code for f in self.findings).items()))
        per_file: dict[str, Counter[str]] = {}
        for f in self.findings:
            if not f.fixed:
                per_file.setdefault(f.file or "", Counter())[f.severity] += 1
        for s in self.files:
            c = per_file.get(s.path, Counter())
            s.errors, s.warnings = c["error"], c["warning"]
        self.valid = self.counts.error == 0
        self.exit_code = 0 if self.valid else 1
        return self
