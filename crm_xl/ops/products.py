"""After-sales forms on disk: one F-31-07-01 per product and the catalog across products.

::

    W/after-sales/
      F-31-07-01 <product code>.xlsx    one form per distinct product (seed 003, 4-2)
      catalog.xlsx                      every product at a glance; rebuilt on each change

Product codes become file names as they are, so a code must already be a safe file name
(no path separators, no reserved names such as ``CON``): hostile codes are refused rather
than silently renamed, which would make two codes share a file or a case point nowhere.

Forms are judged by ``aftersales.judge_form`` — the function ``crm-xl validate`` calls on the
same cells — so one bad cell becomes a finding with its cell instead of hiding the rest of the
form, and ``product show`` and ``validate`` report the same codes at the same cells.  Writes
hold the workspace lock and go through ``atomic_write`` (backup of the previous version in
``.crm_xl/backups``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crm_xl.domain.aftersales import (
    CATALOG_MARKER,
    CATALOG_NAME,
    ERROR,
    FORM_PREFIX,
    AfterSalesError,
    AfterSalesProfile,
    Finding,
    ProductLookup,
    ServiceItem,
    check_profile,
    code_from_filename,
    code_key,
    crm_problems,
    is_form_filename,
    judge_form,
    parse_field,
    reason_of,
)
from crm_xl.domain.clause import cost_text
from crm_xl.domain.dates import now_tehran, to_jalali_str
from crm_xl.domain.enums import AfterSalesService, NoServiceReason, Origin, YesNo
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.schema import BLOCK_VALUE_COL, F_31_07_01, PRODUCT, SERVICES
from crm_xl.domain.text import normalize, normalize_numeric, to_ascii_digits
from crm_xl.io.folders import safe_name
from crm_xl.io.safety import atomic_write, verify_xlsx, workspace_lock
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace

CODE_MAX_LEN = 40
_CODE_RE = re.compile(r"[^\W_][\w.+\-]*")

# --- product codes and file names ----------------------------------------------------------------


def clean_code(code: object) -> str:
    """The product code as stored (normalised, ASCII digits); InputError ``bad-product-code``.

    Allowed: letters (Persian too), digits and ``. _ + -`` inside, up to 40 characters, and
    the code must be a valid file name on Windows and Linux as it is (``CON``, ``a.``, ``../x``
    are refused).
    """
    text = to_ascii_digits(normalize(code))
    if (
        not text
        or len(text) > CODE_MAX_LEN
        or not _CODE_RE.fullmatch(text)
        or safe_name(text) != text
    ):
        raise InputError(
            f"کد کالا «{code}» مجاز نیست: فقط حروف، رقم و «. _ + -» (حداکثر {CODE_MAX_LEN} نویسه)، "
            "بدون «/» و «\\» و نام‌های رزروشده ویندوز مانند CON",
            f"product code {code!r} is not allowed: letters, digits and '. _ + -' only "
            f"(at most {CODE_MAX_LEN} characters), no '/' or '\\', not a Windows reserved name such as CON",
            code="bad-product-code",
            field="product_code",
        )
    return text


def product_filename(code: str) -> str:
    """``F-31-07-01 <code>.xlsx``: the code in the name, since Excel cannot open two books of one name."""
    return f"{FORM_PREFIX} {clean_code(code)}.xlsx"


def form_paths(ws: Workspace) -> dict[str, Path]:
    """Code key → form path, from the file names in after-sales/ (first by name wins)."""
    out: dict[str, Path] = {}
    folder = ws.aftersales_dir
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if is_form_filename(p.name) and p.is_file():
                out.setdefault(code_key(code_from_filename(p.stem)), p)
    return out


def product_path(ws: Workspace, code: str) -> Path | None:
    return form_paths(ws).get(code_key(code))


# --- command-line style input ----------------------------------------------------------------------


def parse_cost(text: object) -> int | None:
    """A Rial cost as typed: ``None`` (free) for "", 0, "free", «رایگان»; else a whole amount > 0.

    Accepts digit grouping («۱۲٬۵۰۰٬۰۰۰», "12,500,000", "12 500 000"), Persian/Arabic digits
    and a trailing «ریال»/"rial".  InputError ``bad-cost`` otherwise.
    """
    raw = normalize(text)
    if raw.casefold() in ("", "free", "رایگان", "0", "۰"):
        return None
    bad = InputError(
        f"هزینه «{raw}» مبلغ ریالی معتبر نیست (عدد صحیح مثبت، مثل ۱۲٬۵۰۰٬۰۰۰ یا 12,500,000؛ رایگان: 0)",
        f"cost {raw!r} is not a valid Rial amount (a positive whole number such as "
        "12,500,000 or ۱۲٬۵۰۰٬۰۰۰; free: 0)",
        code="bad-cost",
        field="cost",
    )
    if raw.lstrip().startswith(("-", "−")):
        raise bad  # normalize_numeric would drop the sign as a separator
    digits = normalize_numeric(raw)
    for unit in ("ریال", "rials", "rial"):
        digits = digits.removesuffix(unit)
    if not digits.isdigit() or not digits.isascii():
        raise bad
    amount = int(digits)
    return amount or None


def parse_service(spec: str) -> ServiceItem:
    """``SERVICE[:period[:cost[:provider]]]`` → an included service (cost empty or 0: free).

    SERVICE is a key (installation, commissioning, training, inspection, servicing,
    replacement, calibration), its Persian or its English label.
    """
    parts = [normalize(x) for x in str(spec).split(":", 3)]
    parts += [""] * (4 - len(parts))
    name, period, cost_raw, provider = parts
    try:
        service = AfterSalesService.parse(name)
    except ValueError:
        allowed_fa = "، ".join(f"{s.value} ({s.fa})" for s in AfterSalesService)
        raise InputError(
            f"خدمت «{name}» شناخته نشد؛ خدمات مجاز: {allowed_fa}",
            f"unknown service {name!r}; allowed: {', '.join(s.value for s in AfterSalesService)}",
            code="unknown-service",
            field="service",
        ) from None
    cost = parse_cost(cost_raw)
    return ServiceItem.model_construct(
        service=service,
        included=True,
        period=period or None,
        charged=cost is not None,
        cost=cost,
        provider=provider or None,
        description=None,
    )


_OPTION = {
    "no_service_reason": "--reason",
    "no_service_note": "--reason-note",
    "commitment_ref": "--commitment",
    "commitment_date": "--commitment-date",
    "origin": "--origin",
    "product": "--name",
    "product_code": "--code",
    "services": "--service",
    "included": "--service",
    "cost": "--service",
    "guarantee": "--guarantee",
    "warranty": "--warranty",
}


def _strict(name: str, raw: object) -> Any:
    """One field through the model's own parser; InputError naming the CLI option."""
    try:
        return parse_field(AfterSalesProfile, name, raw)
    except ValidationError as e:
        fa, en, code = reason_of(e)
        label = PRODUCT.field(name)
        opt = _OPTION.get(name, "")
        raise InputError(
            f"{label.fa} ({opt}): «{raw}» — {fa}",
            f"{label.en} ({opt}): {raw!r} — {en}",
            code=code,
            field=name,
        ) from None


def build_profile(
    *,
    code: str,
    name: str,
    origin: str,
    services: Sequence[str] = (),
    no_service: bool = False,
    reason: str | None = None,
    reason_note: str | None = None,
    commitment: str | None = None,
    commitment_date: str | None = None,
    group: str | None = None,
    brand: str | None = None,
    manufacturer: str | None = None,
    guarantee: str | None = None,
    warranty: str | None = None,
    notes: str | None = None,
) -> AfterSalesProfile:
    """A profile from command-line values, judged by the rules; InputError on the first problem set.

    ``no_service`` records ``stated_in_contract = بله``: the product's clause
    (``crm-xl product clause``) is what states the absence in each contract / proforma.
    """
    code = clean_code(code)
    if services and no_service:
        raise InputError(
            "هم --service آمده و هم --no-service؛ کالا یا خدمات پس از فروش دارد یا ندارد",
            "both --service and --no-service given; a product either has after-sales service or not",
            code="service-conflict",
            field="has_service",
        )
    if not services and not no_service:
        raise InputError(
            "خدمات پس از فروش کالا را با --service بدهید، یا با --no-service --reason علت نداشتن آن را",
            "give the after-sales services with --service, or --no-service with --reason",
            code="service-choice",
            field="has_service",
        )
    items = [parse_service(s) for s in services]
    values: dict[str, Any] = {
        "product_code": code,
        "product": _strict("product", name),
        "origin": _strict("origin", origin),
        "has_service": not no_service,
        "product_group": _strict("product_group", group),
        "brand": _strict("brand", brand),
        "manufacturer": _strict("manufacturer", manufacturer),
        "no_service_reason": _strict("no_service_reason", reason),
        "no_service_note": _strict("no_service_note", reason_note),
        "stated_in_contract": True if no_service else None,
        "commitment_ref": _strict("commitment_ref", commitment),
        "commitment_date": _strict("commitment_date", commitment_date),
        "guarantee": _strict("guarantee", guarantee),
        "warranty": _strict("warranty", warranty),
        "notes": _strict("notes", notes),
        "services": items,
    }
    profile = AfterSalesProfile.model_construct(**values)
    raise_findings(check_profile(profile))
    return profile


def raise_findings(findings: Iterable[Finding]) -> None:
    """AfterSalesError (an InputError) with every error finding, naming the CLI option."""
    errors = [f for f in findings if f.severity == ERROR]
    if errors:
        raise AfterSalesError(
            errors, lambda f: f" ({_OPTION[f.field]})" if f.field in _OPTION else ""
        )


# --- reading a form ------------------------------------------------------------------------------


@dataclass
class ProductRecord:
    """One F-31-07-01 as read: the profile (None if unreadable) and its findings with cells."""

    path: Path
    profile: AfterSalesProfile | None
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def code(self) -> str:
        if self.profile is not None and self.profile.product_code:
            return str(self.profile.product_code)
        return code_from_filename(self.path.stem)

    @property
    def complete(self) -> bool:
        """Readable and without error findings: its after-sales items count as recorded."""
        return self.profile is not None and not any(f["severity"] == ERROR for f in self.findings)


def _finding(
    code: str,
    severity: str,
    path: Path,
    sheet: str | None,
    cell: str | None,
    fa: str,
    en: str,
    field_key: str | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "severity": severity,
        "file": str(path),
        "sheet": sheet,
        "cell": cell,
        "field": field_key,
        "message_fa": fa,
        "message_en": en,
    }


def read_product_form(path: str | Path) -> ProductRecord:
    """Read one F-31-07-01 and judge it (``aftersales.judge_form``, as ``validate`` does).

    A file that cannot be read gives a record without profile and with one finding.
    """
    path = Path(path)
    try:
        book = FormBook.open(path)
        if book.form.code != F_31_07_01.code:
            raise CrmError(
                f"فایل «{path.name}» فرم {F_31_07_01.code} نیست (فرم {book.form.code} است)",
                f"{path.name} is not an {F_31_07_01.code} form (it is {book.form.code})",
                code="wrong-form",
                file=path,
            )
        block = book.read_block(PRODUCT.name)
        rows = book.read_table(SERVICES.name)
        judged = judge_form(
            block,
            rows,
            block_cell=lambda key: book.block_cell(PRODUCT.name, key),
            service_cell=lambda row, key: book.cell_ref(SERVICES.name, row, key),
        )
    except CrmError as e:
        loc = e.location
        return ProductRecord(
            path, None, [_finding(e.code, ERROR, path, loc.sheet, loc.cell, e.fa, e.en)]
        )
    findings = [
        _finding(f.code, f.severity, path, f.sheet, f.cell, f.message_fa, f.message_en, f.field)
        for f in judged.findings
    ]
    return ProductRecord(path, judged.profile, findings)


def check_product_form(path: str | Path) -> list[dict[str, Any]]:
    """Findings of one F-31-07-01, as ``crm-xl product show`` and ``crm-xl validate`` give them.

    Each: code, severity ("error"/"warning"), file, sheet, cell, field, message_fa, message_en.
    """
    return read_product_form(path).findings


# --- writing ------------------------------------------------------------------------------------------


def _yes_no(v: bool | None) -> YesNo | None:
    return None if v is None else (YesNo.YES if v else YesNo.NO)


def _block_values(p: AfterSalesProfile) -> dict[str, object]:
    values: dict[str, object] = {k: getattr(p, k, None) for k in PRODUCT.keys}
    values["has_service"] = _yes_no(p.has_service)
    values["stated_in_contract"] = _yes_no(p.stated_in_contract)
    return values


def _service_values(item: ServiceItem | None) -> dict[str, object]:
    if item is None or not item.included:
        return {
            "included": YesNo.NO,
            "period": None,
            "charged": None,
            "cost": None,
            "provider": None,
            "description": item.description if item else None,
        }
    return {
        "included": YesNo.YES,
        "period": item.period,
        "charged": _yes_no(bool(item.charged)),
        "cost": item.cost if item.charged else None,
        "provider": item.provider,
        "description": item.description,
    }


RLM = "\u200f"
_PERSIAN_LETTER = re.compile(r"[\u0620-\u064a\u066e-\u06d5\u06fa-\u06ff]")


def rtl_text(value: object) -> object:
    """Persian text that starts with a digit or Latin word («۱۸ ماه …»), with a leading RLM.

    LibreOffice ignores a cell's reading order and lays such a paragraph out left-to-right
    («۱۸» ends up on the left); the invisible RLM makes it right-to-left there too.  Excel is
    unaffected, and readers drop the mark (``text.normalize``).
    """
    if not isinstance(value, str) or not value or not _PERSIAN_LETTER.search(value):
        return value
    if _PERSIAN_LETTER.match(value) or value.startswith(RLM):
        return value
    return RLM + value


def _rtl(cell: Any) -> None:
    """Right-to-left reading order: LibreOffice otherwise lays out «۱۸ ماه …» left-to-right."""
    al = copy(cell.alignment)
    al.readingOrder = 2
    if al.horizontal in (None, "general"):
        al.horizontal = "right"
    cell.alignment = al


def fill_form(book: FormBook, profile: AfterSalesProfile) -> None:
    """Write a profile into a blank (or existing) F-31-07-01: the block and one row per service."""
    book.write_block(PRODUCT.name, {k: rtl_text(v) for k, v in _block_values(profile).items()})
    sheet = book.sheet(PRODUCT.name)
    block_rows = book.block_rows(PRODUCT.name)
    for key in PRODUCT.keys:
        _rtl(sheet.cell(block_rows[key], BLOCK_VALUE_COL))
    by_service = {s.service: s for s in profile.services}
    rows: dict[AfterSalesService, int] = {}
    for r, rec in book.read_table(SERVICES.name):
        try:
            rows.setdefault(AfterSalesService.parse(rec.get("service")), r)
        except ValueError:
            continue
    for svc in AfterSalesService:
        values = {
            "service": svc,
            **{k: rtl_text(v) for k, v in _service_values(by_service.get(svc)).items()},
        }
        if svc in rows:
            row = rows[svc]
            book.update_row(SERVICES.name, row, values)
        else:
            (row,) = book.append_rows(SERVICES.name, [values])
        table = book.sheet(SERVICES.name)
        for col in book.header_columns(SERVICES.name).values():
            _rtl(table.cell(row, col))


def add_product(ws: Workspace, profile: AfterSalesProfile, *, replace: bool = False) -> Path:
    """Write the product's F-31-07-01 and rebuild the catalog; returns the form's path.

    Refuses a profile with rule errors, and an existing product code unless ``replace``
    (the previous form is kept as a backup in ``.crm_xl/backups``).
    """
    code = clean_code(profile.product_code)
    raise_findings(check_profile(profile))
    with workspace_lock(ws.root, timeout=ws.settings.lock_timeout):
        existing = product_path(ws, code)
        if existing is not None and not replace:
            raise CrmError(
                f"کالا با کد «{code}» از قبل فرم خدمات پس از فروش دارد؛ برای بازنویسی --replace بدهید",
                f"product '{code}' already has an after-sales form; use --replace to overwrite it",
                code="product-exists",
                file=existing,
                field="product_code",
            )
        path = existing or ws.aftersales_dir / product_filename(code)
        path.parent.mkdir(parents=True, exist_ok=True)
        book = FormBook.open(ws.form_template(F_31_07_01))
        fill_form(book, profile)
        atomic_write(
            path,
            lambda tmp: book.save(tmp),
            backups=ws.backups_dir,
            keep=ws.settings.backups_keep,
            verify=verify_xlsx,
        )
        rebuild_catalog(ws)
    return path


# --- reading the catalogue ------------------------------------------------------------------------------


def list_products(ws: Workspace) -> list[ProductRecord]:
    """Every F-31-07-01 in after-sales/, read leniently, in file-name order."""
    return [read_product_form(p) for p in form_paths(ws).values()]


def product_record(ws: Workspace, code: str) -> ProductRecord:
    path = product_path(ws, code)
    if path is None:
        raise InputError(
            f"کالا با کد «{code}» فرم خدمات پس از فروش ندارد (crm-xl product add)",
            f"no after-sales form for product '{code}' (crm-xl product add)",
            code="product-not-found",
            field="product_code",
        )
    return read_product_form(path)


def load_product(ws: Workspace, code: str) -> AfterSalesProfile:
    """The product's profile as its form says (findings: ``product_record`` / ``check_product_form``)."""
    record = product_record(ws, code)
    if record.profile is None:
        f = record.findings[0]
        raise CrmError(
            f["message_fa"], f["message_en"], code=f["code"], file=record.path, sheet=f["sheet"]
        )
    return record.profile


def product_index(ws: Workspace) -> dict[str, bool]:
    """Code key → whether its form is complete; what the CRM-done check is given."""
    out: dict[str, bool] = {}
    for rec in list_products(ws):
        key = code_key(rec.code)
        out[key] = out.get(key, False) or rec.complete
    return out


def crm_check(
    ws_or_lookup: Workspace | ProductLookup, product_codes: Iterable[str]
) -> list[dict[str, Any]]:
    """Problems of products sold: ``aftersales-missing`` (no form) / ``aftersales-incomplete``."""
    lookup = product_index(ws_or_lookup) if isinstance(ws_or_lookup, Workspace) else ws_or_lookup
    return crm_problems(lookup, product_codes)


# --- the catalog workbook ------------------------------------------------------------------------------


def services_summary(p: AfterSalesProfile) -> str:
    """One line per included service: «نصب در محل مشتری — ۱۲ ماه — رایگان — ارائه‌دهنده»."""
    lines = []
    for s in p.services:
        if s.included and isinstance(s.service, AfterSalesService):
            parts = [s.service.fa]
            if s.period:
                parts.append(str(s.period))
            parts.append(cost_text(s))
            if s.provider:
                parts.append(str(s.provider))
            lines.append(" — ".join(parts))
    return "\n".join(lines)


def _enum_fa(v: object) -> str:
    return v.fa if isinstance(v, Origin | NoServiceReason | YesNo | AfterSalesService) else ""


def _yes_no_fa(v: bool | None) -> str:
    return "" if v is None else (YesNo.YES.fa if v else YesNo.NO.fa)


#: (key, Persian header, width) of the catalog's products sheet.
PRODUCT_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("product_code", "کد کالا", 12),
    ("product", "نام کالا / گروه", 22),
    ("maker", "برند / سازنده", 16),
    ("origin", "وارداتی / تولید داخل", 10),
    ("has_service", "خدمات پس از فروش دارد؟", 10),
    ("services", "خدمات ارائه‌شده (دوره — هزینه — ارائه‌دهنده)", 40),  # A4 at 60 %
    ("reason", "علت نداشتن خدمات", 15),
    ("stated", "ذکر در قرارداد / پیش‌فاکتور", 11),
    ("commitment", "تعهدنامه کتبی سازنده", 15),
    ("guarantee", "گارانتی / وارانتی (جدا)", 17),
    ("status", "وضعیت فرم", 20),
)
SERVICE_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("product_code", "کد کالا", 13),
    ("product", "نام کالا", 24),
    ("service", "خدمت", 28),
    ("period", "دوره / زمان‌بندی", 18),
    ("cost", "هزینه (ریال)", 16),
    ("provider", "ارائه‌دهنده", 18),
    ("commitment", "تعهدنامه کتبی سازنده", 18),
)


def _product_row(rec: ProductRecord) -> dict[str, object]:
    p = rec.profile
    errors = [f for f in rec.findings if f["severity"] == ERROR]
    warnings = [f for f in rec.findings if f["severity"] != ERROR]
    if errors:
        status = "ایراد: " + "؛ ".join(f["message_fa"] for f in errors[:3])
    elif warnings:
        status = "هشدار: " + "؛ ".join(f["message_fa"] for f in warnings[:2])
    else:
        status = "کامل"
    if p is None:
        return {"product_code": rec.code, "status": status}
    commitment = str(p.commitment_ref or "")
    if p.commitment_date:
        commitment += f" ({to_jalali_str(p.commitment_date)})"
    reason = _enum_fa(p.no_service_reason)
    if p.no_service_note:
        reason = f"{reason}: {p.no_service_note}" if reason else str(p.no_service_note)
    gw = "\n".join(
        f"{fa}: {v}" for fa, v in (("گارانتی", p.guarantee), ("وارانتی", p.warranty)) if v
    )
    return {
        "product_code": rec.code,
        "product": "\n".join(str(v) for v in (p.product, p.product_group) if v),
        "maker": "\n".join(str(v) for v in (p.brand, p.manufacturer) if v),
        "origin": _enum_fa(p.origin),
        "has_service": _yes_no_fa(p.has_service),
        "services": services_summary(p),
        "reason": reason,
        "stated": _yes_no_fa(p.stated_in_contract),
        "commitment": commitment,
        "guarantee": gw,
        "status": status,
    }


def write_catalog(target: Path, records: Sequence[ProductRecord], *, company: str) -> Path:
    """The catalog workbook (``layout.Report``): one row per product, one per service."""
    from crm_xl.io.layout import Column, Link, Report

    updated = to_jalali_str(now_tehran(), with_time=True)
    rep = Report(
        company=company,
        title="فهرست کالاها و خدمات پس از فروش",
        meta=(
            f"بر پایه فرم‌های {F_31_07_01.code}",
            f"به‌روزرسانی: {updated}",
            f"تعداد کالا: {len(records)}",
        ),
    )
    products = []
    for rec in records:
        values = _product_row(rec)
        row: list[object] = []
        for key, _, _ in PRODUCT_COLUMNS:
            v = values.get(key, "")
            # The code links to the product's own form, relative so the folder can move.
            row.append(Link(rec.path.name, str(v)) if key == "product_code" else rtl_text(str(v)))
        products.append(row)
    rep.sheet(
        "کالاها",
        "فهرست کالاها و خدمات پس از فروش",
        [Column(fa, width) for _, fa, width in PRODUCT_COLUMNS],
        products,
    )
    services: list[list[object]] = []
    for rec in records:
        p = rec.profile
        if p is None or not p.has_service:
            continue
        for s in p.services:
            if not (s.included and isinstance(s.service, AfterSalesService)):
                continue
            services.append(
                [
                    rec.code,
                    rtl_text(str(p.product or "")),
                    s.service.fa,
                    rtl_text(str(s.period or "")),
                    s.cost if s.charged and s.cost else "رایگان",
                    rtl_text(str(s.provider or "")),
                    str(p.commitment_ref or ""),
                ]
            )
    rep.sheet(
        "خدمات",
        "خدمات پس از فروش به تفکیک کالا",
        [Column(fa, width) for _, fa, width in SERVICE_COLUMNS],
        services,
        number_cols=[4],
        totals=[4],
    )
    # Marks the catalog as the toolkit's output, not a form: validate never reads it as one.
    rep.book.define_name(CATALOG_MARKER, f'="{F_31_07_01.code}"')
    return rep.save(target)


def catalog_path(ws: Workspace) -> Path:
    return ws.aftersales_dir / CATALOG_NAME


def rebuild_catalog(ws: Workspace) -> Path:
    """Rebuild after-sales/catalog.xlsx from every product form (under the workspace lock)."""
    path = catalog_path(ws)
    with workspace_lock(ws.root, timeout=ws.settings.lock_timeout):
        records = list_products(ws)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(
            path,
            lambda tmp: write_catalog(tmp, records, company=ws.settings.company),
            backups=ws.backups_dir,
            keep=ws.settings.backups_keep,
            verify=verify_xlsx,
        )
    return path


# --- summaries for the CLI ---------------------------------------------------------------------------


def record_summary(rec: ProductRecord) -> dict[str, Any]:
    """A JSON-ready view of a product record."""
    p = rec.profile
    out: dict[str, Any] = {"code": rec.code, "file": str(rec.path), "complete": rec.complete}
    if p is not None:
        out.update(
            {
                "name": p.product,
                "group": p.product_group,
                "brand": p.brand,
                "manufacturer": p.manufacturer,
                "origin": p.origin.value if isinstance(p.origin, Origin) else None,
                "has_service": p.has_service,
                "no_service_reason": (
                    p.no_service_reason.value
                    if isinstance(p.no_service_reason, NoServiceReason)
                    else None
                ),
                "no_service_note": p.no_service_note,
                "stated_in_contract": p.stated_in_contract,
                "commitment_ref": p.commitment_ref,
                "commitment_date": p.commitment_date.isoformat() if p.commitment_date else None,
                "guarantee": p.guarantee,
                "warranty": p.warranty,
                "services": [
                    {
                        "service": s.service.value,
                        "period": s.period,
                        "charged": bool(s.charged),
                        "cost": s.cost if s.charged else None,
                        "cost_text": cost_text(s),
                        "provider": s.provider,
                    }
                    for s in p.services
                    if s.included and isinstance(s.service, AfterSalesService)
                ],
            }
        )
    out["findings"] = rec.findings
    return out


__all__ = [
    "CATALOG_NAME",
    "ProductRecord",
    "add_product",
    "build_profile",
    "catalog_path",
    "check_product_form",
    "clean_code",
    "crm_check",
    "fill_form",
    "form_paths",
    "list_products",
    "load_product",
    "parse_cost",
    "parse_service",
    "product_filename",
    "product_index",
    "product_path",
    "product_record",
    "read_product_form",
    "rebuild_catalog",
    "record_summary",
    "services_summary",
    "write_catalog",
]
