"""The party database (seed 004) as one Excel export: every customer with all party fields.

Each row joins the register's row (number, name, channel, expert, stage, …) with the
customer's F-31-08-01 registration block (the party fields: national code, birth date,
company data, contact data, address, category).  Categories are a tree written as paths
(«صنعتی › پتروشیمی»); the Categories sheet lists the tree as parent/child and feeds the
category column's drop-down.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from crm_xl.domain.enums import Channel, PersonType, Stage
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import (
    F_31_08_01,
    FIRST_DATA_ROW,
    REGISTRATION,
    VALIDATION_ROWS,
    FieldType,
    Form,
    Table,
)
from crm_xl.domain.schema import declare_enum as _e
from crm_xl.domain.schema import declare_field as _f
from crm_xl.domain.text import normalize
from crm_xl.io.safety import check_not_open
from crm_xl.io.workbook import FormBook, read_block_fast
from crm_xl.io.workspace import Workspace, write_output
from crm_xl.ops import store
from crm_xl.ops.books import label

T = FieldType
SEP = " › "

#: The starting category tree (parent › child); paths found in the data are added to it.
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "صنعتی › پتروشیمی",
    "صنعتی › نفت و گاز",
    "صنعتی › فولاد و معدن",
    "صنعتی › سیمان",
    "صنعتی › نیروگاه و انرژی",
    "صنعتی › غذایی و دارویی",
    "بازرگانی › عمده‌فروشی",
    "بازرگانی › خرده‌فروشی",
    "بازرگانی › واردات و صادرات",
    "ساختمانی › پیمانکاری",
    "ساختمانی › مشاوره و طراحی",
    "دولتی › وزارتخانه و سازمان",
    "دولتی › شهرداری",
    "خدماتی › آموزشی",
    "خدماتی › درمانی",
    "اشخاص › مصرف‌کننده",
)

PARTIES = Table(
    name="Parties",
    sheet="اشخاص و شرکت‌ها",
    title_fa="بانک اطلاعات اشخاص و مشتریان",
    key="customer_no",
    fields=(
        _f("customer_no", "شماره مشتری", "Customer number", T.CUSTOMER_NO, width=12),
        _f("name", "نام مشتری / شرکت", "Name", width=24),
        _e("person_type", "نوع شخص", "Person type", "PersonType", width=9),
        _f("category", "دسته‌بندی", "Category", T.CATEGORY, width=24),
        _f("first_name", "نام", "First name", width=12),
        _f("last_name", "نام خانوادگی", "Last name", width=14),
        _f("national_code", "کد ملی", "National code", T.NATIONAL_CODE, width=12),
        _f("birth_date", "تاریخ تولد", "Birth date", T.DATE, width=12),
        _e("gender", "جنسیت", "Gender", "Gender", width=8),
        _e("marital_status", "وضعیت تأهل", "Marital status", "MaritalStatus", width=10),
        _f("company_name", "نام شرکت", "Company name", width=22),
        _f("legal_id", "شناسه ملی", "Legal national ID", T.LEGAL_ID, width=13),
        _f("economic_code", "کد اقتصادی", "Economic code", T.ECONOMIC_CODE, width=15),
        _f("registration_no", "شماره ثبت", "Registration number", width=11),
        _f("registration_date", "تاریخ ثبت", "Registration date", T.DATE, width=12),
        _e("company_type", "نوع شرکت", "Company type", "CompanyType", width=14),
        _f("activity", "زمینه فعالیت", "Field of activity", width=16),
        _f("staff_count", "تعداد پرسنل", "Staff count", T.INTEGER, width=9),
        _f("turnover", "گردش مالی (ریال)", "Turnover (Rial)", T.RIAL, width=16),
        _f("contact_person", "شخص رابط", "Contact person", width=16),
        _f("mobile", "تلفن همراه", "Mobile", T.MOBILE, width=13),
        _f("phone", "تلفن ثابت", "Phone", T.PHONE, width=13),
        _f("fax", "فکس", "Fax", T.PHONE, width=13),
        _f("email", "ایمیل", "Email", T.EMAIL, width=22),
        _f("website", "وب‌سایت", "Website", T.URL, width=20),
        _f("postal_code", "کد پستی", "Postal code", T.POSTAL_CODE, width=12),
        _f("address", "نشانی پستی", "Postal address", T.LONGTEXT, width=32),
        _e("channel", "کانال آشنایی", "Channel", "Channel", width=12),
        _f("referrer", "معرف", "Referrer", width=14),
        _f("expert", "کارشناس فروش", "Sales expert", width=14),
        _f("first_contact", "اولین تماس", "First contact", T.DATETIME, width=16),
        _e("stage", "مرحله", "Stage", "Stage", width=14),
        _f("folder", "پوشه", "Folder", width=28),
    ),
)

CATEGORIES = Table(
    name="Categories",
    sheet="دسته‌بندی‌ها",
    title_fa="درخت دسته‌بندی اشخاص",
    key="path",
    fields=(
        _f("path", "مسیر دسته", "Category path", width=30),
        _f("parent", "دسته والد", "Parent", width=18),
        _f("name", "دسته", "Category", width=20),
        _f("level", "سطح", "Level", T.INTEGER, width=6),
    ),
)

PARTIES_FORM = Form(
    code="CRM-PTY",
    title_fa="خروجی بانک اطلاعات اشخاص و شرکت‌ها",
    title_en="Party database export",
    revision="00",
    filename="parties.xlsx",
    parts=(PARTIES, CATEGORIES),
)
CATEGORY_LIST = "list_Category"


def split_category(path: object) -> list[str]:
    """«صنعتی › پتروشیمی» (also with >, /, » between levels) → ["صنعتی", "پتروشیمی"]."""
    text = normalize(path)
    for sep in ("›", ">", "»", "/", "\\"):
        text = text.replace(sep, "\0")
    return [normalize(p) for p in text.split("\0") if normalize(p)]


def category_tree(paths: list[str]) -> list[dict[str, Any]]:
    """Every node of the tree (ancestors included), parents before children, as table rows."""
    nodes: dict[str, dict[str, Any]] = {}
    for p in paths:
        parts = split_category(p)
        for depth in range(1, len(parts) + 1):
            path = SEP.join(parts[:depth])
            nodes.setdefault(
                path,
                {
                    "path": path,
                    "parent": SEP.join(parts[: depth - 1]) or None,
                    "name": parts[depth - 1],
                    "level": depth,
                },
            )
    return sorted(nodes.values(), key=lambda n: split_category(n["path"]))


def _form_path(ws: Workspace, row: dict[str, Any]) -> Path | None:
    no = normalize(str(row.get("customer_no") or ""))
    return store.find_customer_form(ws, no, normalize(str(row.get("folder") or "")), archived=True)


def party_rows(ws: Workspace) -> tuple[list[dict[str, Any]], list[str]]:
    """Register row + registration block per customer; customer numbers whose form is missing."""
    reg = store.load_register(ws)
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    for no, r in reg.customers.items():
        block: dict[str, Any] = {}
        path = _form_path(ws, r)
        if path is None:
            missing.append(no)
        else:
            try:
                block = read_block_fast(path, F_31_08_01, REGISTRATION.name)
            except CrmError:
                missing.append(no)
        merged: dict[str, Any] = {k: v for k, v in block.items() if v not in (None, "")}
        for key in (
            "customer_no",
            "name",
            "person_type",
            "mobile",
            "phone",
            "channel",
            "expert",
            "referrer",
            "first_contact",
            "stage",
            "folder",
        ):
            if r.get(key) not in (None, ""):
                merged[key] = r[key]
        if not merged.get("category") and r.get("category"):
            merged["category"] = r["category"]
        if merged.get("category"):
            merged["category"] = SEP.join(split_category(merged["category"]))
        for key, enum in (("person_type", PersonType), ("channel", Channel), ("stage", Stage)):
            if merged.get(key):
                merged[key] = label(enum, merged[key])
        if (
            not merged.get("national_code")
            and label(PersonType, r.get("person_type")) == PersonType.NATURAL.fa
        ):
            merged["national_code"] = r.get("national_id")
        if (
            not merged.get("legal_id")
            and label(PersonType, r.get("person_type")) == PersonType.LEGAL.fa
        ):
            merged["legal_id"] = r.get("national_id")
        rows.append({k: v for k, v in merged.items() if k in PARTIES.keys})
    return rows, missing


def export_parties(
    ws: Workspace, out: str | Path, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Write the party database workbook to ``out``: Parties and the Categories tree."""
    out = Path(out)
    check_not_open(out)
    rows, missing = party_rows(ws)
    tree = category_tree([*DEFAULT_CATEGORIES, *(r["category"] for r in rows if r.get("category"))])
    book = FormBook.new(PARTIES_FORM, company=ws.settings.company)
    if rows:
        book.append_rows(PARTIES.name, rows)
    book.append_rows(CATEGORIES.name, tree)
    # The category drop-down: every path of the tree, from the Categories sheet.
    wb = book.wb
    first, last = FIRST_DATA_ROW, FIRST_DATA_ROW + len(tree) - 1
    col = book.cell_ref(CATEGORIES.name, first, "path").rstrip("0123456789")
    wb.defined_names[CATEGORY_LIST] = DefinedName(
        CATEGORY_LIST, attr_text=f"'{CATEGORIES.sheet}'!${col}${first}:${col}${last}"
    )
    pcol = book.cell_ref(PARTIES.name, first, "category").rstrip("0123456789")
    end = FIRST_DATA_ROW + max(VALIDATION_ROWS, len(rows) + 500) - 1
    dv = DataValidation(
        type="list",
        formula1=CATEGORY_LIST,  # OOXML formulas carry no leading "="
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="دسته‌بندی",
        error="دسته را از فهرست (برگه دسته‌بندی‌ها) انتخاب کنید",
    )
    dv.add(f"{pcol}{first}:{pcol}{end}")
    book.sheet(PARTIES.name).add_data_validation(dv)
    # 33 columns print over several A4 pages (``layout.plan_pages``), each with the header and
    # the number and name columns repeated; the folder column stays off paper.
    out = write_output(out, book.save)  # never over a record; atomic (SPEC §10)
    return {
        "xlsx": str(out),
        "parties": len(rows),
        "categories": len(tree),
        "missing_forms": missing,
    }
