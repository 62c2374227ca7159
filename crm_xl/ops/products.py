"""After-sales forms on disk: one F-31-07-01 per product and the catalog across products.

::

    W/after-sales/
      F-31-07-01 <product code>.xlsx    one form per distinct product (seed 003, 4-2)
      catalog.xlsx                      every product at a glance; rebuilt on each change

Product codes become file names as they are, so a code must already be a safe file name
(no path separators, no reserved names such as ``CON``): hostile codes are refused rather
than silently renamed, which would make two codes share a file or a case point nowhere.

Forms are read leniently (a salesperson edits them by hand): every field is parsed on its
own and the profile built with ``model_construct``, so one bad cell becomes a finding with
its cell instead of hiding the rest of the form.  Writes hold the workspace lock and go
through ``atomic_write`` (backup of the previous version in ``.crm_xl/backups``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from crm_xl.domain.aftersales import (
    ERROR,
    WARNING,
    Finding,
    ProductLookup,
    check_profile,
    code_key,
    crm_problems,
    split_codes,
)
from crm_xl.domain.clause import cost_text
from crm_xl.domain.dates import now_tehran, to_jalali_str
from crm_xl.domain.enums import AfterSalesService, CaseStatus, NoServiceReason, Origin, YesNo
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.models import FIELD_LABELS_EN, FIELD_LABELS_FA, AfterSalesProfile, ServiceItem
from crm_xl.domain.schema import (
    BLOCK_HINT_COL,
    BLOCK_VALUE_COL,
    CASES,
    F_31_07_01,
    F_31_08_02,
    PRODUCT,
    SERVICES,
)
from crm_xl.domain.text import normalize, normalize_numeric, to_ascii_digits
from crm_xl.io.folders import safe_name
from crm_xl.io.safety import atomic_write, verify_xlsx, workspace_lock
from crm_xl.io.workbook import FormBook, read_table_fast
from crm_xl.io.workspace import Workspace

CATALOG_NAME = "catalog.xlsx"
CODE_MAX_LEN = 40
_CODE_RE = re.compile(r"[^\W_][\w.+\-]*")
_SERVICE_FIELDS = ("included", "period", "charged", "cost", "provider", "description")

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
    return f"{F_31_07_01.code} {clean_code(code)}.xlsx"


def _code_from_filename(path: Path) -> str:
    return path.stem.removeprefix(F_31_07_01.code).strip()


def form_paths(ws: Workspace) -> dict[str, Path]:
    """Code key → form path, from the file names in after-sales/ (first by name wins)."""
    out: dict[str, Path] = {}
    folder = ws.aftersales_dir
    if folder.is_dir():
        for p in sorted(folder.glob(f"{F_31_07_01.code} *.xlsx")):
            if p.is_file():
                out.setdefault(code_key(_code_from_filename(p)), p)
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
        return _adapter(AfterSalesProfile, name).validate_python(raw)
    except ValidationError as e:
        fa, en, code = _reason(e)
        label_fa, label_en = FIELD_LABELS_FA.get(name, name), FIELD_LABELS_EN.get(name, name)
        opt = _OPTION.get(name, "")
        raise InputError(
            f"{label_fa} ({opt}): «{raw}» — {fa}",
            f"{label_en} ({opt}): {raw!r} — {en}",
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
    """InputError with every error finding (code of the first), naming the CLI option."""
    errors = [f for f in findings if f.severity == ERROR]
    if not errors:
        return

    def hint(f: Finding) -> str:
        opt = _OPTION.get(f.field)
        return f" ({opt})" if opt else ""

    raise InputError(
        "\n".join(f.message_fa + hint(f) for f in errors),
        "\n".join(f.message_en + hint(f) for f in errors),
        code=errors[0].code,
        field=errors[0].field,
    )


# --- lenient reading of a form ------------------------------------------------------------------


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    return TypeAdapter(model.model_fields[name].rebuild_annotation())


def _reason(e: ValidationError) -> tuple[str, str, str]:
    err = e.errors(include_url=False)[0]
    source = (err.get("ctx") or {}).get("error")
    if isinstance(source, CrmError):
        return source.fa, source.en, source.code
    return "مقدار نامعتبر است", str(err.get("msg", "invalid value")), "type-error"


def _is_blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not normalize(v))


def _lenient(
    model: type[BaseModel], data: Mapping[str, object], skip: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, tuple[str, str, str]]]:
    """Each field parsed alone: (values, field → (fa, en, code) of the ones that failed)."""
    values: dict[str, Any] = {}
    bad: dict[str, tuple[str, str, str]] = {}
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        raw = data.get(name)
        if _is_blank(raw):
            values[name] = info.default if not info.is_required() else None
            if model is ServiceItem and name in ("included", "charged"):
                values[name] = False
            continue
        try:
            values[name] = _adapter(model, name).validate_python(raw)
        except ValidationError as e:
            values[name] = None
            bad[name] = _reason(e)
    return values, bad


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
        return _code_from_filename(self.path)

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
    """Read one F-31-07-01 leniently; a file that cannot be read gives a record with one finding."""
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
    except CrmError as e:
        loc = e.location
        return ProductRecord(
            path, None, [_finding(e.code, ERROR, path, loc.sheet, loc.cell, e.fa, e.en)]
        )

    findings: list[dict[str, Any]] = []
    typed: set[tuple[int | None, str]] = set()  # (service index, field) with a type finding

    def label(key: str) -> tuple[str, str]:
        return FIELD_LABELS_FA.get(key, key), FIELD_LABELS_EN.get(key, key)

    values, bad = _lenient(AfterSalesProfile, block, skip=("services",))
    for key, (fa, en, code) in bad.items():
        lfa, len_ = label(key)
        raw = block.get(key)
        findings.append(
            _finding(
                code,
                ERROR,
                path,
                PRODUCT.sheet,
                book.block_cell(PRODUCT.name, key),
                f"{lfa}: «{raw}» — {fa}",
                f"{len_}: {raw!r} — {en}",
                key,
            )
        )
        typed.add((None, key))

    items: list[ServiceItem] = []
    item_rows: list[int] = []
    for row, rec in rows:
        svc, sbad = _lenient(ServiceItem, rec)
        for key, (fa, en, code) in sbad.items():
            lfa, len_ = label(key)
            findings.append(
                _finding(
                    code,
                    ERROR,
                    path,
                    SERVICES.sheet,
                    book.cell_ref(SERVICES.name, row, key),
                    f"{lfa} (ردیف {row}): «{rec.get(key)}» — {fa}",
                    f"{len_} (row {row}): {rec.get(key)!r} — {en}",
                    key,
                )
            )
            typed.add((len(items), key))
        if svc.get("service") is None:
            if "service" not in sbad and any(not _is_blank(rec.get(k)) for k in _SERVICE_FIELDS):
                findings.append(
                    _finding(
                        "constraint-error",
                        ERROR,
                        path,
                        SERVICES.sheet,
                        book.cell_ref(SERVICES.name, row, "service"),
                        f"ردیف {row}: نام خدمت خالی است",
                        f"row {row}: the service is empty",
                        "service",
                    )
                )
            continue  # a row without a known service cannot take part in the rules
        items.append(ServiceItem.model_construct(**svc))
        item_rows.append(row)
    values["services"] = items
    profile = AfterSalesProfile.model_construct(**values)

    first_row = rows[0][0] if rows else None
    for f in check_profile(profile):
        if (f.index, f.field) in typed or (None, f.field) in typed:
            continue  # the cell is already reported as unreadable
        if f.index is not None or f.field in SERVICES.keys:
            at = item_rows[f.index] if f.index is not None else first_row
            sheet = SERVICES.sheet
            cell = book.cell_ref(SERVICES.name, at, f.field) if at else None
        else:
            sheet, cell = PRODUCT.sheet, book.block_cell(PRODUCT.name, f.field)
        findings.append(
            _finding(f.code, f.severity, path, sheet, cell, f.message_fa, f.message_en, f.field)
        )
    return ProductRecord(path, profile, findings)


def check_product_form(path: str | Path) -> list[dict[str, Any]]:
    """Findings of one F-31-07-01 for ``crm-xl validate``.

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
    if profile.commitment_date:
        # Excel shows the date cell in Jalali; LibreOffice and print cannot (SPEC §5): say it in text.
        hint = sheet.cell(block_rows["commitment_date"], BLOCK_HINT_COL)
        hint.value = "شمسی: " + to_jalali_str(profile.commitment_date, persian_digits=True)
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


def _live_cases(ws: Workspace) -> list[tuple[int, dict[str, object]]]:
    out = []
    for row, case in read_table_fast(ws.register_path, F_31_08_02, CASES.name):
        if normalize(case.get("record_status")) == "باطل":
            continue
        try:
            if CaseStatus.parse(case.get("status") or "open") is CaseStatus.CANCELLED:
                continue
        except ValueError:
            pass
        out.append((row, case))
    return out


def cases_missing_products(ws: Workspace) -> list[tuple[str, str]]:
    """(case number, product code) of every live case's product without an F-31-07-01."""
    known = set(product_index(ws))
    return [
        (str(case.get("case_no") or ""), code)
        for _, case in _live_cases(ws)
        for code in dict.fromkeys(split_codes(case.get("products")))
        if code_key(code) not in known
    ]


def case_product_findings(ws: Workspace) -> list[dict[str, Any]]:
    """Register findings: ``aftersales-missing`` per case product without a form (error), and
    ``case-no-products`` for a contracted/invoiced/delivered case listing no product (warning).
    Cells point at the case's «کالاها (کد)» cell."""
    known = set(product_index(ws))
    raw: list[tuple[int, str, str, str, str]] = []
    for row, case in _live_cases(ws):
        no = str(case.get("case_no") or "")
        codes = split_codes(case.get("products"))
        for code in dict.fromkeys(codes):
            if code_key(code) not in known:
                raw.append(
                    (
                        row,
                        "aftersales-missing",
                        ERROR,
                        f"پرونده {no}: کالای «{code}» فرم خدمات پس از فروش (F-31-07-01) ندارد",
                        f"case {no}: product '{code}' has no after-sales form (F-31-07-01)",
                    )
                )
        try:
            status = CaseStatus.parse(case.get("status") or "open")
        except ValueError:
            status = CaseStatus.OPEN
        if not codes and status is not CaseStatus.OPEN:
            raw.append(
                (
                    row,
                    "case-no-products",
                    WARNING,
                    f"پرونده {no}: کالاهای فروخته‌شده (کد کالا) ثبت نشده است",
                    f"case {no}: the products sold (product codes) are not recorded",
                )
            )
    if not raw:
        return []
    book = FormBook.open(ws.register_path)
    path = ws.register_path
    return [
        _finding(
            code,
            sev,
            path,
            CASES.sheet,
            book.cell_ref(CASES.name, row, "products"),
            fa,
            en,
            "products",
        )
        for row, code, sev, fa, en in raw
    ]


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
    ("services", "خدمات ارائه‌شده (دوره — هزینه — ارائه‌دهنده)", 44),
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
        commitment += f" ({to_jalali_str(p.commitment_date, persian_digits=True)})"
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


def _row_height(values: Mapping[str, object], columns: Sequence[tuple[str, str, float]]) -> float:
    """Points for the tallest wrapped cell: XlsxWriter cannot measure text, and LibreOffice
    keeps a written row's default height, so wrapped lines would overlap the next row."""
    lines = 1
    for key, _, width in columns:
        text = str(values.get(key) or "")
        # Persian glyphs in Tahoma are narrower than the width unit; 1.15 chars per unit.
        per_line = max(1, int(width * 1.15))
        n = sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))
        lines = max(lines, n)
    return 15.0 * lines + 2


def write_catalog(target: Path, records: Sequence[ProductRecord], *, company: str) -> Path:
    """The catalog workbook: RTL, Tahoma, A4 landscape fit to width, one row per product."""
    from crm_xl.domain.schema import FONT_NAME, FONT_SIZE, RIAL_FORMAT
    from crm_xl.io.layout import FOOTER, new_workbook

    book = new_workbook(target)

    def fmt(**props: Any) -> Any:
        return book.add_format({"font_name": FONT_NAME, "font_size": FONT_SIZE, **props})

    title_fmt = fmt(bold=True, font_size=14, align="center", valign="vcenter")
    sub_fmt = fmt(bold=True, font_size=11, align="center", valign="vcenter")
    line_fmt = fmt(font_size=9, align="center", valign="vcenter", bottom=2, reading_order=2)
    head_fmt = fmt(
        bold=True, text_wrap=True, align="center", valign="vcenter", bg_color="#D9E1F2", border=1
    )
    # reading_order 2 (RTL): LibreOffice otherwise lays out a cell starting with digits or
    # Latin letters left-to-right, scrambling the Persian words that follow.
    cell_fmt = fmt(
        text_wrap=True,
        valign="top",
        border=1,
        border_color="#A6A6A6",
        reading_order=2,
        align="right",
    )
    rial_fmt = fmt(
        valign="top", border=1, border_color="#A6A6A6", num_format=RIAL_FORMAT, align="right"
    )
    link_fmt = fmt(
        valign="top",
        border=1,
        border_color="#A6A6A6",
        font_color="blue",
        underline=1,
        align="right",
    )
    updated = to_jalali_str(now_tehran(), with_time=True, persian_digits=True)

    def sheet(name: str, title: str, columns: Sequence[tuple[str, str, float]]) -> Any:
        sh = book.add_worksheet(name)
        sh.right_to_left()
        last = len(columns) - 1
        sh.merge_range(0, 0, 0, last, company, title_fmt)
        sh.merge_range(1, 0, 1, last, title, sub_fmt)
        sh.merge_range(
            2,
            0,
            2,
            last,
            f"بر پایه فرم‌های {F_31_07_01.code} ({F_31_07_01.title_fa}) | "
            f"به‌روزرسانی: {updated} | تعداد کالا: {len(records)}",
            line_fmt,
        )
        sh.set_row(0, 26)
        sh.set_row(1, 20)
        sh.set_row(2, 18)
        for c, (_, fa, width) in enumerate(columns):
            sh.set_column(c, c, width)
            sh.write_string(3, c, fa, head_fmt)
        sh.set_row(3, 45)
        sh.freeze_panes(4, 0)
        sh.set_paper(9)
        sh.set_landscape()
        sh.fit_to_pages(1, 0)
        sh.repeat_rows(0, 3)
        sh.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.6)
        sh.set_footer(FOOTER)
        sh.center_horizontally()
        return sh

    products = sheet("کالاها", "فهرست کالاها و خدمات پس از فروش", PRODUCT_COLUMNS)
    for i, rec in enumerate(records):
        r = 4 + i
        values = _product_row(rec)
        for c, (key, _, _) in enumerate(PRODUCT_COLUMNS):
            v = values.get(key, "")
            if key == "product_code":
                # A link to the product's own form, relative so the folder can move.
                products.write_url(r, c, f"external:{rec.path.name}", link_fmt, str(v))
            else:
                products.write_string(r, c, str(rtl_text(str(v))), cell_fmt)
        products.set_row(r, _row_height(values, PRODUCT_COLUMNS))
    if records:
        products.autofilter(3, 0, 3 + len(records), len(PRODUCT_COLUMNS) - 1)

    services = sheet("خدمات", "خدمات پس از فروش به تفکیک کالا", SERVICE_COLUMNS)
    r = 4
    for rec in records:
        p = rec.profile
        if p is None or not p.has_service:
            continue
        for s in p.services:
            if not (s.included and isinstance(s.service, AfterSalesService)):
                continue
            services.write_string(r, 0, rec.code, cell_fmt)
            services.write_string(r, 1, str(rtl_text(str(p.product or ""))), cell_fmt)
            services.write_string(r, 2, s.service.fa, cell_fmt)
            services.write_string(r, 3, str(rtl_text(str(s.period or ""))), cell_fmt)
            if s.charged and s.cost:
                services.write_number(r, 4, s.cost, rial_fmt)
            else:
                services.write_string(r, 4, "رایگان", cell_fmt)
            services.write_string(r, 5, str(rtl_text(str(s.provider or ""))), cell_fmt)
            services.write_string(r, 6, str(p.commitment_ref or ""), cell_fmt)
            r += 1
    if r > 4:
        services.autofilter(3, 0, r - 1, len(SERVICE_COLUMNS) - 1)
    book.define_name("crm_catalog", f'="{F_31_07_01.code}"')
    book.close()
    return target


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
    "case_product_findings",
    "cases_missing_products",
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
