"""The three ISO forms, declared once.

This module is the single source of truth for sheet names, fields, Persian labels, English
keys, types, allowed values and which stage requires a field. Template generation
(``layout``), reading and writing (``workbook``) and validation all walk these objects;
nothing else in the package spells a sheet name, a column position or a label.

A form is a workbook made of *blocks* (key/value sheets such as the registration block of
F-31-08-01) and *tables* (one row per record such as the register's customers). Every
sheet carries the same header block (company, form code, title, revision). Machines find
data by the hidden English key row of a table and by the Excel table name, never by a
guessed position; the form itself is recognised by the ``crm_form`` defined name.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from crm_xl.domain import moadian
from crm_xl.domain.enums import ENUMS, LabeledEnum


class FieldType(StrEnum):
    TEXT = "text"
    LONGTEXT = "longtext"
    INTEGER = "integer"
    DECIMAL = "decimal"  # a number that may have a fraction: quantities, rates
    RIAL = "rial"  # whole Rials, shown with digit grouping
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    NATIONAL_CODE = "national_code"  # کد ملی, natural persons
    LEGAL_ID = "legal_id"  # شناسه ملی, legal entities
    NATIONAL_ID = "national_id"  # either of the two, by person type
    ECONOMIC_CODE = "economic_code"
    POSTAL_CODE = "postal_code"
    MOBILE = "mobile"
    PHONE = "phone"
    EMAIL = "email"
    URL = "url"
    CUSTOMER_NO = "customer_no"
    CASE_NO = "case_no"
    CONTRACT_NO = "contract_no"
    INVOICE_NO = "invoice_no"
    TAX_ID = "tax_id"
    CATEGORY = "category"  # tree path such as «صنعتی › پتروشیمی»


#: Number kinds issued by the numbering service, and the field type that holds each.
NUMBER_KINDS: dict[str, FieldType] = {
    "customer": FieldType.CUSTOMER_NO,
    "case": FieldType.CASE_NO,
    "contract": FieldType.CONTRACT_NO,
    "invoice": FieldType.INVOICE_NO,
}

#: Excel number formats.  Dates are not numbers in a record: they are Jalali text (SPEC §5,
#: ``dates.to_jalali_str``), kept as text ("@") so Excel never turns them into serials.
TEXT_FORMAT = "@"
RIAL_FORMAT = "#,##0"

#: The explicit font of every form: on every Windows, has Persian glyphs, not Calibri.
FONT_NAME = "Tahoma"
FONT_SIZE = 10


@dataclass(frozen=True)
class Field:
    """One field of a form: a column of a table or a line of a block."""

    key: str
    fa: str
    en: str
    type: FieldType = FieldType.TEXT
    enum: str | None = None  # name in enums.ENUMS when type is ENUM
    required: bool = False  # required on every record
    required_from: str | None = None  # Stage key from which the field is required
    person: str | None = None  # "natural" / "legal": the field only applies to that type
    width: float = 14  # column width in characters, sized for the Persian label and values
    hint: str = ""  # shown beside a block field and as the input message of its cell
    unique: bool = False
    hidden: bool = False  # a helper column the user need not see

    @property
    def choices(self) -> builtins.type[LabeledEnum] | None:
        return ENUMS[self.enum] if self.enum else None

    @property
    def is_date(self) -> bool:
        return self.type in (FieldType.DATE, FieldType.DATETIME)


def declare_field(
    key: str, fa: str, en: str, type: FieldType = FieldType.TEXT, **kw: object
) -> Field:
    """A field, written compactly (forms elsewhere, such as extras', declare theirs with it)."""
    return Field(key, fa, en, type, **kw)  # type: ignore[arg-type]


def declare_enum(key: str, fa: str, en: str, enum: str, **kw: object) -> Field:
    """A drop-down field whose values are ``enums.ENUMS[enum]``."""
    return Field(key, fa, en, FieldType.ENUM, enum=enum, **kw)  # type: ignore[arg-type]


# Short names keep the long declarations below readable.
_f, _e = declare_field, declare_enum


T = FieldType


@dataclass(frozen=True)
class Table:
    """Rows of records on one sheet, below the header block, as an Excel table."""

    name: str  # Excel table name (ASCII), also the key code uses
    sheet: str  # sheet name (Persian where the user sees it)
    title_fa: str
    fields: tuple[Field, ...]
    hidden: bool = False  # a machine sheet (counters, log, lists)
    key: str | None = None  # the field that identifies a row
    prefill: tuple[dict[str, object], ...] = ()  # rows a fresh form starts with

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(f"{self.name} has no field {key!r}")

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.fields]


@dataclass(frozen=True)
class Block:
    """A key/value sheet: one record laid out as label / value lines, with a hidden key column."""

    name: str  # ASCII name, also the prefix of the defined names of its value cells
    sheet: str
    title_fa: str
    fields: tuple[Field, ...]

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(f"{self.name} has no field {key!r}")

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.fields]


@dataclass(frozen=True)
class Form:
    code: str
    title_fa: str
    title_en: str
    revision: str
    filename: str
    parts: tuple[Block | Table, ...] = field(default_factory=tuple)
    revision_date: str = "1403/01/01"  # Jalali date of ``revision``, printed in the ISO header

    @property
    def tables(self) -> dict[str, Table]:
        return {p.name: p for p in self.parts if isinstance(p, Table)}

    @property
    def blocks(self) -> dict[str, Block]:
        return {p.name: p for p in self.parts if isinstance(p, Block)}

    def part(self, name: str) -> Block | Table:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(f"{self.code} has no part {name!r}")


# --- layout constants shared by writer and reader -------------------------------------
#: Rows of the header block on every visible sheet (company, title, form code line).
HEADER_ROWS = 3
#: Row (1-based) of the hidden English keys of a table; the Persian header row follows it.
KEY_ROW = HEADER_ROWS + 1
LABEL_ROW = KEY_ROW + 1
FIRST_DATA_ROW = LABEL_ROW + 1
#: Block sheets: column A hidden keys, B Persian label, C value, D hint.
BLOCK_KEY_COL, BLOCK_LABEL_COL, BLOCK_VALUE_COL, BLOCK_HINT_COL = 1, 2, 3, 4
BLOCK_FIRST_ROW = HEADER_ROWS + 2


def key_positions(
    cells: Iterable[object], known: Collection[str] | None = None, start: int = 0
) -> dict[str, int]:
    """Key → position (counted from ``start``) of the hidden keys in a key row or key column.

    The one reading of the hidden keys, for every path (openpyxl, calamine, xlwings, validate,
    upgrade): a key is a text cell, trimmed; the first cell holding it wins; with ``known``,
    other text is ignored.  The readers decide what a missing key means.
    """
    out: dict[str, int] = {}
    for i, v in enumerate(cells, start):
        if isinstance(v, str) and (k := v.strip()) and (known is None or k in known):
            out.setdefault(k, i)
    return out


#: Rows given drop-downs and formats ahead of data in a fresh table.
VALIDATION_ROWS = 5000
#: Defined name holding the form code: how a workbook is recognised, whatever its file name.
FORM_MARKER = "crm_form"
#: Hidden sheet with the enumeration lists that feed the drop-downs.
LISTS_SHEET = "_lists"

JALALI_HINT = "مثال: ۱۴۰۳/۰۷/۱۵"

# --- F-31-08-01: registration and follow-up of one customer ---------------------------

REGISTRATION = Block(
    name="Registration",
    sheet="ثبت مشتری",
    title_fa="مشخصات و نیاز مشتری",
    fields=(
        _f("customer_no", "شماره مشتری", "Customer number", T.CUSTOMER_NO, required=True),
        _e("person_type", "نوع شخص", "Person type", "PersonType", required=True),
        _f("first_name", "نام", "First name", person="natural"),
        _f("last_name", "نام خانوادگی", "Last name", person="natural"),
        _f(
            "national_code",
            "کد ملی",
            "National code",
            T.NATIONAL_CODE,
            person="natural",
            required_from="won",
            hint="۱۰ رقم",
        ),
        _f("birth_date", "تاریخ تولد", "Birth date", T.DATE, person="natural", hint=JALALI_HINT),
        _e("gender", "جنسیت", "Gender", "Gender", person="natural"),
        _e("marital_status", "وضعیت تأهل", "Marital status", "MaritalStatus", person="natural"),
        _f("company_name", "نام شرکت", "Company name", person="legal"),
        _f(
            "legal_id",
            "شناسه ملی",
            "Legal national ID",
            T.LEGAL_ID,
            person="legal",
            required_from="won",
            hint="۱۱ رقم",
        ),
        _f(
            "economic_code",
            "کد اقتصادی",
            "Economic code",
            T.ECONOMIC_CODE,
            hint="۱۱ رقم (حقوقی) یا ۱۴ رقم (حقیقی)",
        ),
        _f("registration_no", "شماره ثبت", "Registration number", person="legal"),
        _f(
            "registration_date",
            "تاریخ ثبت",
            "Registration date",
            T.DATE,
            person="legal",
            hint=JALALI_HINT,
        ),
        _e("company_type", "نوع شرکت", "Company type", "CompanyType", person="legal"),
        _f("activity", "زمینه فعالیت", "Field of activity", person="legal"),
        _f("staff_count", "تعداد پرسنل", "Staff count", T.INTEGER, person="legal"),
        _f("turnover", "گردش مالی سالانه (ریال)", "Annual turnover (Rial)", T.RIAL, person="legal"),
        _f("contact_person", "شخص اصلی طرف مذاکره", "Main contact person"),
        _f("mobile", "تلفن همراه", "Mobile", T.MOBILE, hint="۰۹۱۲۱۲۳۴۵۶۷"),
        _f("phone", "تلفن ثابت", "Phone", T.PHONE, hint="با کد شهر"),
        _f("fax", "فکس", "Fax", T.PHONE),
        _f("email", "ایمیل", "Email", T.EMAIL),
        _f("website", "وب‌سایت", "Website", T.URL),
        _f("postal_code", "کد پستی", "Postal code", T.POSTAL_CODE, hint="۱۰ رقم"),
        _f("address", "نشانی پستی", "Postal address", T.LONGTEXT),
        _f("category", "دسته‌بندی", "Category", T.CATEGORY, hint="مثال: صنعتی › پتروشیمی"),
        _f("need", "نیاز مشتری", "Customer need", T.LONGTEXT, required=True),
        _e("channel", "کانال آشنایی", "Channel", "Channel", required=True),
        _f("referrer", "معرف", "Referrer"),
        _f(
            "first_contact",
            "تاریخ و ساعت اولین تماس",
            "First contact",
            T.DATETIME,
            required=True,
            hint="مثال: ۱۴۰۳/۰۷/۱۵ ۱۰:۳۰",
        ),
        _f("expert", "کارشناس فروش", "Sales expert", required=True),
        _f("sales_rep", "نماینده فروش", "Sales representative"),
        _f("org_unit", "واحد سازمانی", "Organisational unit"),
        _e("importance", "اهمیت", "Importance", "Importance"),
        _e("priority", "اولویت", "Priority", "Priority"),
        _e("stage", "آخرین وضعیت", "Last status", "Stage", required=True),
    ),
)

FOLLOWUPS = Table(
    name="FollowUps",
    sheet="پیگیری‌ها",
    title_fa="سوابق پیگیری و اقدام بعدی",
    key="row_no",
    fields=(
        _f("row_no", "ردیف", "Row", T.INTEGER, width=6),
        _f("at", "تاریخ و ساعت", "Date and time", T.DATETIME, required=True, width=17),
        _e("type", "نوع پیگیری", "Follow-up type", "FollowUpType", required=True, width=20),
        _f("expert", "کارشناس", "Expert", required=True, width=16),
        _f("minutes", "مدت (دقیقه)", "Minutes spent", T.INTEGER, width=10),
        _f("description", "شرح مکالمه / اقدام", "Description", T.LONGTEXT, required=True, width=40),
        _e("result", "وضعیت حاصل", "Resulting status", "Stage", width=16),
        _e("next_type", "نوع اقدام بعدی", "Next action type", "FollowUpType", width=20),
        _f("next_action", "شرح اقدام بعدی", "Next action", T.LONGTEXT, width=32),
        _f("next_owner", "مسئول اقدام", "Responsible expert", width=16),
        _f("next_due", "موعد اقدام", "Due", T.DATETIME, width=17),
        _f("next_minutes", "زمان تخمینی (دقیقه)", "Estimated minutes", T.INTEGER, width=12),
    ),
)

F_31_08_01 = Form(
    code="F-31-08-01",
    title_fa="فرم ثبت و پیگیری سفارشات کارفرمایان و مشتریان",
    title_en="Customer and employer order registration and follow-up form",
    revision="00",
    filename="F-31-08-01.xlsx",
    parts=(REGISTRATION, FOLLOWUPS),
)

# --- F-31-08-02: the register -----------------------------------------------------------

CUSTOMERS = Table(
    name="Customers",
    sheet="مشتریان",
    title_fa="لیست مشتریان",
    key="customer_no",
    fields=(
        _f(
            "customer_no",
            "شماره مشتری",
            "Customer number",
            T.CUSTOMER_NO,
            required=True,
            unique=True,
            width=14,
        ),
        _f("name", "نام مشتری / شرکت", "Customer name", required=True, width=28),
        _e("person_type", "نوع شخص", "Person type", "PersonType", required=True, width=10),
        _f(
            "national_id",
            "کد ملی / شناسه ملی",
            "National code / ID",
            T.NATIONAL_ID,
            required_from="won",
            width=15,
        ),
        _f("mobile", "تلفن همراه", "Mobile", T.MOBILE, width=14),
        _f("phone", "تلفن ثابت", "Phone", T.PHONE, width=14),
        _e("channel", "کانال آشنایی", "Channel", "Channel", required=True, width=13),
        _f("referrer", "معرف", "Referrer", width=14),
        _f("expert", "کارشناس فروش", "Sales expert", required=True, width=15),
        _f("category", "دسته‌بندی", "Category", T.CATEGORY, width=18),
        _f("need", "نیاز مشتری", "Customer need", T.LONGTEXT, width=30),
        _f("first_contact", "اولین تماس", "First contact", T.DATETIME, required=True, width=17),
        _e("stage", "مرحله", "Stage", "Stage", required=True, width=15),
        _f("last_followup", "آخرین پیگیری", "Last follow-up", T.DATETIME, width=17),
        _f("next_due", "موعد پیگیری بعدی", "Next due", T.DATETIME, width=17),
        _f("next_action", "اقدام بعدی", "Next action", T.LONGTEXT, width=26),
        _f("next_owner", "مسئول اقدام بعدی", "Next action owner", width=15),
        _e("followup_state", "وضعیت پیگیری", "Follow-up state", "FollowUpState", width=12),
        _f("state_reason", "علت وضعیت", "State reason", T.LONGTEXT, width=30),
        _f("crm_done", "تاریخ انجام CRM", "CRM done", T.DATE, width=14),
        _f("closed", "تاریخ بستن و بایگانی", "Closed and archived", T.DATE, width=16),
        _f("folder", "پوشه", "Folder", width=30),
        _e("record_status", "وضعیت رکورد", "Record status", "RecordStatus", width=11),
    ),
)

CASES = Table(
    name="Cases",
    sheet="پرونده‌ها",
    title_fa="پرونده‌های فروش و قراردادها",
    key="case_no",
    fields=(
        _f(
            "case_no",
            "شماره پرونده",
            "Case number",
            T.CASE_NO,
            required=True,
            unique=True,
            width=14,
        ),
        _f("customer_no", "شماره مشتری", "Customer number", T.CUSTOMER_NO, required=True, width=14),
        _f("customer_name", "نام مشتری", "Customer name", width=26),
        _f("opened", "تاریخ تشکیل پرونده", "Opened", T.DATETIME, required=True, width=17),
        _f("expert", "کارشناس فروش", "Sales expert", width=15),
        _f("products", "کالاها (کد)", "Products (codes)", width=22),
        _f("contract_no", "شماره قرارداد", "Contract number", T.CONTRACT_NO, unique=True, width=14),
        _f("contract_date", "تاریخ قرارداد", "Contract date", T.DATE, width=14),
        # The void flag of the contract (a voided contract keeps its number and its case).
        _e("contract_status", "وضعیت قرارداد", "Contract status", "RecordStatus", width=11),
        _f("invoice_nos", "شماره فاکتورها", "Invoice numbers", width=20),
        # The contract's amount and what was invoiced against it stay apart (review §A11).
        _f("amount", "مبلغ قرارداد (ریال)", "Contract amount (Rial)", T.RIAL, width=18),
        _f("invoiced", "جمع فاکتورها (ریال)", "Invoiced (Rial)", T.RIAL, width=18),
        _e("status", "وضعیت پرونده", "Case status", "CaseStatus", required=True, width=14),
        _e("record_status", "وضعیت رکورد", "Record status", "RecordStatus", width=11),
    ),
)


def _m(key: str, type: FieldType = FieldType.TEXT, **kw: object) -> Field:
    """A register column holding the Moadian field ``key``, with the specification's labels."""
    fa, en = moadian.label(key)
    return declare_field(key, fa, en, type, **kw)


def _me(key: str, enum: str, **kw: object) -> Field:
    fa, en = moadian.label(key)
    return declare_enum(key, fa, en, enum, **kw)


INVOICES = Table(
    name="Invoices",
    sheet="فاکتورها",
    title_fa="فاکتورهای فروش",
    key="invoice_no",
    fields=(
        _f(
            "invoice_no",
            "شماره فاکتور",
            "Invoice number",
            T.INVOICE_NO,
            required=True,
            unique=True,
            width=14,
        ),
        _f("case_no", "شماره پرونده", "Case number", T.CASE_NO, required=True, width=14),
        _f("customer_no", "شماره مشتری", "Customer number", T.CUSTOMER_NO, required=True, width=14),
        _f("issued", "تاریخ و ساعت صدور", "Issued", T.DATETIME, required=True, width=17),
        _f("amount", "مبلغ (ریال)", "Amount (Rial)", T.RIAL, width=18),
        _f("tax_id", "شماره منحصربه‌فرد مالیاتی", "Tax id", T.TAX_ID, unique=True, width=26),
        # The Moadian header of an invoice issued with lines (SPEC §11); blank on an
        # amount-only invoice, which stays a register record the tax export refuses.
        _me("ins", "InvoiceSubject", width=12),
        _m("irtaxid", T.TAX_ID, width=26),
        _me("inty", "InvoiceType", width=16),
        _me("inp", "InvoicePattern", width=12),
        _me("tob", "BuyerType", width=12),
        _m("bid", T.NATIONAL_ID, width=14),
        _m("tinb", T.ECONOMIC_CODE, width=16),
        _m("bpc", T.POSTAL_CODE, width=12),
        _m("tins", T.ECONOMIC_CODE, width=16),
        _me("setm", "Settlement", width=12),
        _m("cap", T.RIAL, width=16),
        _m("insp", T.RIAL, width=16),
        _m("tprdis", T.RIAL, width=17),
        _m("tdis", T.RIAL, width=15),
        _m("tadis", T.RIAL, width=17),
        _m("tvam", T.RIAL, width=16),
        _m("todam", T.RIAL, width=14),
        _m("tbill", T.RIAL, width=17),
        _f(
            "superseded_by",
            "فاکتور جایگزین (اصلاحی/ابطالی/برگشتی)",
            "Superseded by (corrective, void or return)",
            T.INVOICE_NO,
            width=16,
        ),
        _e("record_status", "وضعیت رکورد", "Record status", "RecordStatus", width=11),
    ),
)

INVOICE_LINES = Table(
    name="InvoiceLines",
    sheet="اقلام فاکتورها",
    title_fa="اقلام فاکتورهای فروش (سامانه مودیان)",
    fields=(
        _f("invoice_no", "شماره فاکتور", "Invoice number", T.INVOICE_NO, required=True, width=14),
        _f("line_no", "ردیف", "Line", T.INTEGER, required=True, width=6),
        _m("sstid", required=True, width=15, hint="۱۳ رقم"),
        _m("sstt", required=True, width=30),
        _m("am", T.DECIMAL, required=True, width=10),
        _me("mu", "MeasurementUnit", required=True, width=12),
        _m("fee", T.RIAL, required=True, width=16),
        _m("prdis", T.RIAL, required=True, width=17),
        _m("dis", T.RIAL, width=15),
        _m("adis", T.RIAL, required=True, width=17),
        _m("vra", T.DECIMAL, required=True, width=10),
        _m("vam", T.RIAL, required=True, width=16),
        _m("tsstam", T.RIAL, required=True, width=17),
    ),
)

COUNTERS = Table(
    name="Counters",
    sheet="_counters",
    title_fa="شمارنده‌ها",
    hidden=True,
    fields=(
        _f("kind", "نوع شماره", "Number kind", required=True),
        _f("scope", "دوره", "Scope (Jalali year or all)", required=True),
        _f("last", "آخرین شماره", "Last sequence issued", T.INTEGER, required=True),
        _f("updated", "آخرین تغییر", "Updated", T.DATETIME),
    ),
)

LOG = Table(
    name="Log",
    sheet="_log",
    title_fa="گزارش تغییرات",
    hidden=True,
    fields=(
        _f("at", "زمان", "Time", T.DATETIME, required=True, width=17),
        _f("user", "کاربر", "User", width=14),
        _f("host", "رایانه", "Host", width=14),
        _f("operation", "عملیات", "Operation", required=True, width=16),
        _f("numbers", "شماره‌ها", "Numbers", width=24),
        _f("details", "جزئیات", "Details", T.LONGTEXT, width=50),
    ),
)

#: The register's change log: the log's fields plus a running hash over them (SPEC §4, the
#: log as evidence of issued numbers; ``changes.log_hash``), so an edited or deleted row shows.
#: Other books (complaints, surveys, plans) keep the plain ``LOG``.
REGISTER_LOG = Table(
    name=LOG.name,
    sheet=LOG.sheet,
    title_fa=LOG.title_fa,
    hidden=True,
    fields=(
        *LOG.fields,
        _f("hash", "زنجیره کنترل", "Chain hash (SHA-256)", width=66),
    ),
)

F_31_08_02 = Form(
    code="F-31-08-02",
    title_fa="فرم لیست سفارشات کارفرمایان یا مشتریان",
    title_en="Customer and employer order register",
    revision="00",
    filename="F-31-08-02.xlsx",
    parts=(CUSTOMERS, CASES, INVOICES, INVOICE_LINES, COUNTERS, REGISTER_LOG),
)

# --- F-31-07-01: after-sales service of one product -------------------------------------

PRODUCT = Block(
    name="Product",
    sheet="مشخصات کالا",
    title_fa="مشخصات کالا و تعهد خدمات پس از فروش",
    fields=(
        _f("product_code", "کد کالا", "Product code", required=True),
        _f("product", "نام کالا", "Product", required=True),
        _f("product_group", "گروه کالا", "Product group"),
        _f("brand", "برند", "Brand"),
        _f("manufacturer", "سازنده", "Manufacturer"),
        _e("origin", "وارداتی / تولید داخل", "Imported or domestic", "Origin", required=True),
        _e(
            "has_service",
            "خدمات پس از فروش دارد؟",
            "Has after-sales service?",
            "YesNo",
            required=True,
        ),
        _e("no_service_reason", "علت نداشتن خدمات", "Reason for no service", "NoServiceReason"),
        _f("no_service_note", "توضیح علت", "Reason details", T.LONGTEXT),
        _e(
            "stated_in_contract",
            "در قرارداد / پیش‌فاکتور ذکر شده؟",
            "Stated in contract / proforma?",
            "YesNo",
        ),
        _f(
            "commitment_ref",
            "شماره تعهدنامه کتبی سازنده",
            "Manufacturer commitment ref",
            hint="شماره و تاریخ نامه تعهد",
        ),
        _f("commitment_date", "تاریخ تعهدنامه", "Commitment date", T.DATE, hint=JALALI_HINT),
        _f("guarantee", "گارانتی (جدا از خدمات پس از فروش)", "Guarantee (separate)", T.LONGTEXT),
        _f("warranty", "وارانتی (جدا از خدمات پس از فروش)", "Warranty (separate)", T.LONGTEXT),
        _f("notes", "توضیحات", "Notes", T.LONGTEXT),
    ),
)

SERVICES = Table(
    name="Services",
    sheet="خدمات",
    title_fa="خدمات پس از فروش کالا",
    key="service",
    prefill=tuple({"service": s.fa} for s in ENUMS["AfterSalesService"]),
    fields=(
        _e("service", "خدمت", "Service", "AfterSalesService", required=True, width=30),
        _e("included", "ارائه می‌شود؟", "Included?", "YesNo", required=True, width=12),
        _f("period", "دوره / زمان‌بندی", "Period", width=18),
        _e("charged", "هزینه دارد؟", "Charged?", "YesNo", width=11),
        _f("cost", "هزینه (ریال)", "Cost (Rial)", T.RIAL, width=16),
        _f("provider", "ارائه‌دهنده", "Provider", width=18),
        _f("description", "توضیحات", "Description", T.LONGTEXT, width=32),
    ),
)

F_31_07_01 = Form(
    code="F-31-07-01",
    title_fa="فرم خدمات پس از فروش",
    title_en="After-sales service form",
    revision="00",
    filename="F-31-07-01.xlsx",
    parts=(PRODUCT, SERVICES),
)

FORMS: dict[str, Form] = {f.code: f for f in (F_31_08_01, F_31_08_02, F_31_07_01)}
