"""After-sales service of one product (seed 003, SPEC §3 F-31-07-01): the record and its rules.

This module is the one rule set of the after-sales procedure.  Everything that judges a
product reports from the functions here:

* ``crm-xl product add`` (``ops.products.build_profile`` / ``add_product``) refuses a profile
  with error findings of :func:`check_profile`;
* ``crm-xl product show`` and ``crm-xl validate`` judge a form a salesperson edited by hand
  with :func:`judge_form` — the same findings, codes and cells, whichever reader (openpyxl or
  calamine) handed over the cell values;
* CRM done (``decide.crm_done`` → :func:`require_aftersales`) and ``validate``'s register
  check (:func:`case_findings`) judge the products sold with :func:`crm_problems`;
* the models (:class:`AfterSalesProfile`, :class:`ServiceItem`) call the same rules in their
  validators, so a profile built with ``model_validate`` obeys them too.

Profiles read from a hand-edited form are built with ``model_construct``, so every rule
tolerates ``None`` where the model would insist on a value.

Codes (also in ``crm_xl.validation.CODES``, from :data:`CODES`; docs/validate-json.md):

=====================================  ========  =============================================
code                                   severity  rule (seed 003)
=====================================  ========  =============================================
aftersales-no-reason                   error     4-1: no service → the reason is given
aftersales-reason-note                 error     4-1: reason "other" → it is described
aftersales-not-stated                  error     4-1: no service → stated in contract/proforma
aftersales-services-without-service    error     no service → no service is offered
aftersales-reason-with-service         warning   service → no "reason for no service"
aftersales-no-services                 error     4-2: service → at least one service included
aftersales-duplicate-service           error     4-2: each service once per product
aftersales-no-commitment               error     4-2: manufacturer's written commitment (ref)
aftersales-cost-missing                error     4-2: a charged service states its Rial cost
aftersales-cost-unmarked               error     a cost is given but "charged" is not yes
aftersales-charged-not-included        error     a service not offered cannot be charged
aftersales-guarantee-mixed             error     4-2: after-sales kept apart from guarantee /
                                                 warranty (service text naming them, or the
                                                 guarantee/warranty text naming after-sales)
aftersales-missing                     error     a product sold to a customer whose CRM is
                                                 done has no F-31-07-01
aftersales-incomplete                  error     … has an F-31-07-01 with errors
aftersales-pending                     warning   a product of a live case has no complete
                                                 F-31-07-01 yet (CRM done will refuse)
=====================================  ========  =============================================

A blank required cell is ``required-error`` and an unreadable one ``type-error`` /
``enum-error`` / ``date-error`` / ``constraint-error``: the codes ``validate`` gives every form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache, partial
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic import Field as ModelField

from crm_xl.domain.enums import (
    AfterSalesService,
    CaseStatus,
    NoServiceReason,
    Origin,
    is_void,
)
from crm_xl.domain.errors import CrmError, InputError

# The value parsers of every domain model: one way to read yes/no, enums, text, Rial, dates.
from crm_xl.domain.models import (
    OptBool,
    OptDate,
    OptText,
    ReqText,
    Rial,
    _bool,
    _enum,
    _req_bool,
    _req_enum,
)
from crm_xl.domain.schema import F_31_07_01, PRODUCT, SERVICES, FieldType
from crm_xl.domain.schema import Field as SchemaField
from crm_xl.domain.text import normalize, to_ascii_digits

ERROR = "error"
WARNING = "warning"
Severity = Literal["error", "warning"]

#: code → (severity, Persian description, English description); merged into the validation
#: catalogue (``crm_xl.validation.CODES``), so a code and its severity are declared once.
CODES: dict[str, tuple[Severity, str, str]] = {
    "aftersales-no-reason": (
        "error",
        "علت نداشتن خدمات پس از فروش نیامده",
        "no reason given for having no after-sales service",
    ),
    "aftersales-reason-note": ("error", "علت «سایر» توضیح ندارد", "reason 'other' not described"),
    "aftersales-not-stated": (
        "error",
        "نداشتن خدمات در قرارداد / پیش‌فاکتور قید نشده",
        "lack of service not stated in contract / proforma",
    ),
    "aftersales-services-without-service": (
        "error",
        "کالای بدون خدمات، خدمت ارائه‌شده دارد",
        "services offered for a product without service",
    ),
    "aftersales-reason-with-service": (
        "warning",
        "کالای دارای خدمات، علت نداشتن خدمات دارد",
        "product with service has a no-service reason",
    ),
    "aftersales-no-services": (
        "error",
        "کالای دارای خدمات هیچ خدمت ارائه‌شده ندارد",
        "product with service offers no service",
    ),
    "aftersales-duplicate-service": ("error", "خدمت تکراری", "service listed twice"),
    "aftersales-no-commitment": (
        "error",
        "شماره تعهدنامه کتبی سازنده نیامده",
        "manufacturer's written commitment reference missing",
    ),
    "aftersales-cost-missing": (
        "error",
        "خدمت هزینه‌دار بدون مبلغ ریالی",
        "charged service without its Rial cost",
    ),
    "aftersales-cost-unmarked": (
        "error",
        "هزینه آمده ولی «هزینه دارد؟» بله نیست",
        "cost given but 'charged?' is not yes",
    ),
    "aftersales-charged-not-included": (
        "error",
        "خدمتی که ارائه نمی‌شود هزینه دارد",
        "service not offered is marked charged",
    ),
    "aftersales-guarantee-mixed": (
        "error",
        "خدمات پس از فروش با گارانتی / وارانتی درآمیخته",
        "after-sales mixed with guarantee / warranty",
    ),
    "aftersales-missing": (
        "error",
        "کالای فروخته‌شده (CRM انجام‌شده) فرم F-31-07-01 ندارد",
        "product sold (CRM done) has no F-31-07-01",
    ),
    "aftersales-incomplete": (
        "error",
        "فرم F-31-07-01 کالای فروخته‌شده (CRM انجام‌شده) ایراد دارد",
        "F-31-07-01 of a product sold (CRM done) has errors",
    ),
    "aftersales-pending": (
        "warning",
        "کالای پرونده هنوز فرم کامل F-31-07-01 ندارد",
        "product of a case has no complete F-31-07-01 yet",
    ),
}

#: File name of a product's form in ``after-sales/``: ``F-31-07-01 <code>.xlsx``.
FORM_PREFIX = F_31_07_01.code
#: The toolkit's own overview of every product (not a form), beside the forms.
CATALOG_NAME = "catalog.xlsx"
#: Defined name that marks the catalog as the toolkit's output (validate skips it).
CATALOG_MARKER = "crm_catalog"


# --- the record --------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=False)


#: A yes/no cell where blank means no ("included?", "charged?").
Flag = Annotated[bool, BeforeValidator(lambda v: bool(_bool(v)))]


class ServiceItem(_Model):
    """One after-sales service of a product; a blank "included" means not included."""

    service: Annotated[AfterSalesService, BeforeValidator(_req_enum(AfterSalesService))]
    included: Flag = False
    period: OptText = None
    charged: Flag = False
    cost: Rial = None
    provider: OptText = None
    description: OptText = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _raise_errors(service_findings(self))
        return self


class AfterSalesProfile(_Model):
    """After-sales commitment of one product (seed 003); kept apart from guarantee/warranty."""

    product_code: ReqText
    product: ReqText
    origin: Annotated[Origin, BeforeValidator(_req_enum(Origin))]
    has_service: Annotated[bool, BeforeValidator(_req_bool)]
    product_group: OptText = None
    brand: OptText = None
    manufacturer: OptText = None
    no_service_reason: Annotated[
        NoServiceReason | None, BeforeValidator(_enum(NoServiceReason))
    ] = None
    no_service_note: OptText = None
    stated_in_contract: OptBool = None
    services: list[ServiceItem] = ModelField(default_factory=list)
    commitment_ref: OptText = None
    commitment_date: OptDate = None
    guarantee: OptText = None
    warranty: OptText = None
    notes: OptText = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _raise_errors(check_profile(self))
        return self


# --- findings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One rule violation of a product.

    ``index`` is the position in ``profile.services``; ``sheet``/``cell``/``row``/``value``
    are filled when the profile was read from a form (:func:`judge_form`).
    """

    code: str
    severity: str
    field: str
    message_fa: str
    message_en: str
    index: int | None = None
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None
    value: object = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "field": self.field,
            "message_fa": self.message_fa,
            "message_en": self.message_en,
        }


def _f(code: str, field: str, fa: str, en: str, *, index: int | None = None) -> Finding:
    return Finding(code, CODES[code][0], field, fa, en, index)


class AfterSalesError(InputError):
    """A profile breaks the rules; ``findings`` holds every error, the code is the first's."""

    def __init__(self, findings: Sequence[Finding], hint: Callable[[Finding], str] | None = None):
        self.findings = list(findings)
        more = hint or (lambda f: "")
        super().__init__(
            "\n".join(f.message_fa + more(f) for f in self.findings),
            "\n".join(f.message_en + more(f) for f in self.findings),
            code=self.findings[0].code,
            field=self.findings[0].field,
        )


def _raise_errors(findings: Iterable[Finding]) -> None:
    errors = errors_of(findings)
    if errors:
        raise AfterSalesError(errors)


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not normalize(v))


def _included(p: AfterSalesProfile) -> list[tuple[int, ServiceItem]]:
    return [(i, s) for i, s in enumerate(p.services or []) if s.included]


def _label(s: ServiceItem) -> str:
    return s.service.fa if isinstance(s.service, AfterSalesService) else str(s.service)


def _required(key: str) -> Finding:
    f = PRODUCT.field(key)
    return _required_finding(f)


def _required_finding(f: SchemaField, index: int | None = None) -> Finding:
    # Same code and wording as validate's schema check of every other form.
    return Finding(
        "required-error", ERROR, f.key, f"«{f.fa}» لازم است", f"'{f.en}' is required", index
    )


# --- the rules ---------------------------------------------------------------------------


def rule_identity(p: AfterSalesProfile) -> list[Finding]:
    """A form names the product (code, name) and says whether it is imported or domestic."""
    return [
        _required(key)
        for key in ("product_code", "product", "origin")
        if _blank(getattr(p, key, None))
    ]


def rule_service_flag(p: AfterSalesProfile) -> list[Finding]:
    """Every product is in one of seed 003's two groups: with or without after-sales service."""
    return [_required("has_service")] if p.has_service is None else []


def rule_no_service_reason(p: AfterSalesProfile) -> list[Finding]:
    """4-1: goods without service are identified with their reason (sanctions, simplicity …)."""
    if p.has_service is not False:
        return []
    if p.no_service_reason is None:
        return [
            _f(
                "aftersales-no-reason",
                "no_service_reason",
                "علت نداشتن خدمات پس از فروش مشخص نیست (تحریم، سادگی کالا، دوری از سازنده، عدم دانش فنی، سایر)",
                "the reason for having no after-sales service is missing "
                "(sanctions, simplicity, distance, no_knowledge, other)",
            )
        ]
    if p.no_service_reason is NoServiceReason.OTHER and _blank(p.no_service_note):
        return [
            _f(
                "aftersales-reason-note",
                "no_service_note",
                "برای علت «سایر» توضیح علت لازم است",
                "reason 'other' needs a description",
            )
        ]
    return []


def rule_no_service_stated(p: AfterSalesProfile) -> list[Finding]:
    """4-1: the absence of service is stated transparently in the contract or proforma."""
    if p.has_service is False and p.stated_in_contract is not True:
        return [
            _f(
                "aftersales-not-stated",
                "stated_in_contract",
                "نداشتن خدمات پس از فروش باید در قرارداد / پیش‌فاکتور قید شود («بله»)",
                "the lack of after-sales service must be stated in the contract / proforma (yes)",
            )
        ]
    return []


def rule_no_service_consistent(p: AfterSalesProfile) -> list[Finding]:
    """The two groups exclude each other: no offered services without service, no reason with it."""
    out = []
    if p.has_service is False:
        for i, s in _included(p):
            out.append(
                _f(
                    "aftersales-services-without-service",
                    "included",
                    f"کالا خدمات پس از فروش ندارد ولی «{_label(s)}» ارائه‌شده آمده است",
                    f"the product has no after-sales service but '{s.service}' is marked included",
                    index=i,
                )
            )
    if p.has_service is True and p.no_service_reason is not None:
        out.append(
            _f(
                "aftersales-reason-with-service",
                "no_service_reason",
                "کالا خدمات پس از فروش دارد؛ «علت نداشتن خدمات» باید خالی باشد",
                "the product has after-sales service; 'reason for no service' should be empty",
            )
        )
    return out


def rule_services_listed(p: AfterSalesProfile) -> list[Finding]:
    """4-2: a product with service lists its services, each once, at least one offered."""
    out = []
    seen: set[object] = set()
    for i, s in enumerate(p.services or []):
        if s.service in seen:
            out.append(
                _f(
                    "aftersales-duplicate-service",
                    "service",
                    f"خدمت «{_label(s)}» دو بار آمده است",
                    f"service '{s.service}' is listed twice",
                    index=i,
                )
            )
        seen.add(s.service)
    if p.has_service is True and not _included(p):
        out.append(
            _f(
                "aftersales-no-services",
                "included",
                "کالا خدمات پس از فروش دارد ولی هیچ خدمتی «ارائه می‌شود: بله» نیست",
                "the product has after-sales service but no service is marked included",
            )
        )
    return out


def rule_commitment(p: AfterSalesProfile) -> list[Finding]:
    """4-2: the manufacturer's written commitment is obtained; its reference is recorded."""
    if p.has_service is True and _blank(p.commitment_ref):
        return [
            _f(
                "aftersales-no-commitment",
                "commitment_ref",
                "شماره تعهدنامه کتبی سازنده برای خدمات پس از فروش ثبت نشده است",
                "the reference of the manufacturer's written after-sales commitment is missing",
            )
        ]
    return []


def _cost_findings(s: ServiceItem, i: int) -> list[Finding]:
    out = []
    cost = s.cost if isinstance(s.cost, int) else None
    if s.charged and s.included and not (cost and cost > 0):
        out.append(
            _f(
                "aftersales-cost-missing",
                "cost",
                f"خدمت «{_label(s)}» هزینه دارد ولی مبلغ آن (ریال، بیش از صفر) نیامده است",
                f"service '{s.service}' is charged but its cost (Rial, > 0) is not stated",
                index=i,
            )
        )
    if cost and cost > 0 and not s.charged:
        out.append(
            _f(
                "aftersales-cost-unmarked",
                "charged",
                f"برای «{_label(s)}» هزینه آمده ولی «هزینه دارد؟» بله نیست",
                f"service '{s.service}' has a cost but 'charged?' is not yes",
                index=i,
            )
        )
    if s.charged and not s.included:
        out.append(
            _f(
                "aftersales-charged-not-included",
                "included",
                f"خدمت «{_label(s)}» ارائه نمی‌شود ولی هزینه دارد",
                f"service '{s.service}' is not included but marked charged",
                index=i,
            )
        )
    return out


def rule_charged_cost(p: AfterSalesProfile) -> list[Finding]:
    """4-2: a service that costs the customer states its amount, transparently, in Rial."""
    return [f for i, s in enumerate(p.services or []) for f in _cost_findings(s, i)]


#: Words that mean guarantee or warranty (Persian spellings, English, the "ضمانت" family).
GUARANTEE_WORDS = re.compile(r"گارانتی|وارانتی|ضمانت|guarant|warrant", re.IGNORECASE)
AFTERSALES_WORDS = re.compile(r"پس\s*از\s*فروش|after[\s-]*sales?", re.IGNORECASE)


def _mixed_findings(s: ServiceItem, i: int) -> list[Finding]:
    out = []
    # Not the provider: service companies are often named «… گارانتی» (a name, not terms).
    for key in ("description", "period"):
        text = getattr(s, key, None)
        if isinstance(text, str) and GUARANTEE_WORDS.search(normalize(text)):
            out.append(
                _f(
                    "aftersales-guarantee-mixed",
                    key,
                    f"شرح خدمت «{_label(s)}» از گارانتی / وارانتی نام می‌برد؛ خدمات پس از فروش "
                    "جدا از گارانتی و وارانتی است — آن را در خانه گارانتی / وارانتی بنویسید",
                    f"service '{s.service}' mentions guarantee/warranty; after-sales service is "
                    "separate from guarantee and warranty — put it in the guarantee/warranty field",
                    index=i,
                )
            )
    return out


def rule_separate_guarantee(p: AfterSalesProfile) -> list[Finding]:
    """4-2: after-sales is separate from guarantee and warranty; mixed texts are flagged."""
    out = [f for i, s in enumerate(p.services or []) for f in _mixed_findings(s, i)]
    for key, fa in (("guarantee", "گارانتی"), ("warranty", "وارانتی")):
        text = getattr(p, key, None)
        if isinstance(text, str) and AFTERSALES_WORDS.search(normalize(text)):
            out.append(
                _f(
                    "aftersales-guarantee-mixed",
                    key,
                    f"متن {fa} از خدمات پس از فروش نام می‌برد؛ خدمات پس از فروش را جداگانه در برگه «خدمات» ثبت کنید",
                    f"the {key} text mentions after-sales service; record after-sales services "
                    "separately on the services sheet",
                )
            )
    return out


RULES: tuple[Callable[[AfterSalesProfile], list[Finding]], ...] = (
    rule_identity,
    rule_service_flag,
    rule_no_service_reason,
    rule_no_service_stated,
    rule_no_service_consistent,
    rule_services_listed,
    rule_commitment,
    rule_charged_cost,
    rule_separate_guarantee,
)


def check_profile(profile: AfterSalesProfile) -> list[Finding]:
    """Every rule's findings for one product, errors and warnings, in rule order."""
    return [f for rule in RULES for f in rule(profile)]


def service_findings(item: ServiceItem, index: int = 0) -> list[Finding]:
    """The rules that judge one service on its own (cost transparency, apart from guarantee)."""
    return _cost_findings(item, index) + _mixed_findings(item, index)


def errors_of(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_error]


# --- judging a form -----------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)
BlockCell = Callable[[str], str | None]
ServiceCell = Callable[[int, str], str | None]
_CELL = re.compile(r"[A-Z]+(\d+)")


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    return TypeAdapter(model.model_fields[name].rebuild_annotation())


def reason_of(e: ValidationError) -> tuple[str, str, str]:
    """(fa, en, code) of the first problem of a field's ValidationError."""
    err = e.errors(include_url=False)[0]
    source = (err.get("ctx") or {}).get("error")
    if isinstance(source, CrmError):
        return source.fa, source.en, source.code
    return "مقدار نامعتبر است", str(err.get("msg", "invalid value")), "type-error"


def _cell_code(f: SchemaField, code: str) -> str:
    """The catalogue code of an unreadable cell, as validate names it for every form."""
    if f.type == FieldType.ENUM:
        return "enum-error"
    if f.is_date:
        return "date-error"
    return code if code in ("type-error", "constraint-error") else "type-error"


def parse_field(model: type[BaseModel], key: str, raw: object) -> Any:
    """One field through the model's own parser (``ValidationError`` when unreadable)."""
    return _adapter(model, key).validate_python(raw)


def _row_of(cell: str | None) -> int | None:
    m = _CELL.fullmatch(cell) if cell else None
    return int(m.group(1)) if m else None


def _shown(raw: object) -> str:
    if isinstance(raw, date):
        return raw.isoformat()
    return str(raw)


@dataclass
class JudgedForm:
    """An F-31-07-01 as judged: the profile its cells make, and every finding with its cell."""

    profile: AfterSalesProfile
    findings: list[Finding] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """No error finding: the product's after-sales service counts as recorded."""
        return not errors_of(self.findings)


class _Cells:
    """Reads one record's cells leniently: each cell parsed alone, findings with their cell."""

    def __init__(self, model: type[BaseModel], fields: Sequence[SchemaField], sheet: str) -> None:
        self.model, self.fields, self.sheet = model, fields, sheet
        self.findings: list[Finding] = []
        self.bad: set[str] = set()

    def read(
        self,
        data: Mapping[str, object],
        cell: Callable[[str], str | None],
        index: int | None = None,
        row: int | None = None,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in self.fields:
            if f.key not in self.model.model_fields:
                continue
            raw = data.get(f.key)
            ref = cell(f.key)
            at = row if row is not None else _row_of(ref)
            if _blank(raw):
                values[f.key] = None
                if f.required and ref:  # a missing key line is the reader's own finding
                    found = _required_finding(f, index)
                    self.findings.append(replace(found, sheet=self.sheet, cell=ref, row=at))
                    self.bad.add(f.key)
                continue
            try:
                values[f.key] = parse_field(self.model, f.key, raw)
            except ValidationError as e:
                fa, en, code = reason_of(e)
                in_fa, in_en = (f" (ردیف {row})", f" (row {row})") if row else ("", "")
                self.findings.append(
                    Finding(
                        _cell_code(f, code),
                        ERROR,
                        f.key,
                        f"{f.fa}{in_fa}: «{_shown(raw)}» — {fa}",
                        f"{f.en}{in_en}: {_shown(raw)!r} — {en}",
                        index,
                        sheet=self.sheet,
                        cell=ref,
                        row=at,
                        value=raw,
                    )
                )
                values[f.key] = None
                self.bad.add(f.key)
        return values


def judge_form(
    block: Mapping[str, object],
    rows: Iterable[tuple[int, Mapping[str, object]]],
    *,
    block_cell: BlockCell,
    service_cell: ServiceCell,
) -> JudgedForm:
    """Judge an F-31-07-01 from its cell values (reader convention of ``io.workbook``).

    ``block`` holds the product sheet's values by key; ``rows`` the services sheet's non-empty
    rows as (Excel row, values by key).  ``block_cell(key)`` / ``service_cell(row, key)`` give
    a cell's A1 reference (None when the form has no such line/column).  A cell that cannot be
    read is reported once, with its own code, and the rules skip it.
    """
    head = _Cells(AfterSalesProfile, PRODUCT.fields, PRODUCT.sheet)
    values = head.read(block, block_cell)
    findings = head.findings
    bad: set[tuple[int | None, str]] = {(None, k) for k in head.bad}

    items: list[ServiceItem] = []
    item_rows: list[int] = []
    raw_rows: list[Mapping[str, object]] = []
    for row, rec in rows:
        line = _Cells(ServiceItem, SERVICES.fields, SERVICES.sheet)
        svc = line.read(rec, partial(service_cell, row), len(items), row)
        findings += line.findings
        if svc.get("service") is None:
            continue  # a row without a known service cannot take part in the rules
        bad |= {(len(items), k) for k in line.bad}
        svc["included"] = bool(svc.get("included"))
        svc["charged"] = bool(svc.get("charged"))
        items.append(ServiceItem.model_construct(**svc))
        item_rows.append(row)
        raw_rows.append(rec)
    values["services"] = items
    profile = AfterSalesProfile.model_construct(**values)

    first_row = item_rows[0] if item_rows else None
    for f in check_profile(profile):
        if (f.index, f.field) in bad or (None, f.field) in bad:
            continue  # the cell is already reported as blank or unreadable
        if f.index is not None or f.field in SERVICES.keys:
            at = item_rows[f.index] if f.index is not None else first_row
            cell = service_cell(at, f.field) if at else None
            raw = raw_rows[f.index].get(f.field) if f.index is not None else None
            findings.append(replace(f, sheet=SERVICES.sheet, cell=cell, row=at, value=raw))
        else:
            cell = block_cell(f.field)
            findings.append(
                replace(
                    f, sheet=PRODUCT.sheet, cell=cell, row=_row_of(cell), value=block.get(f.field)
                )
            )
    return JudgedForm(profile, findings)


# --- product codes and the link to sales ---------------------------------------------------------

_CODE_SPLIT = re.compile(r"[,،;؛\n]")


def code_key(code: object) -> str:
    """Key for comparing product codes: normalised, ASCII digits, case-folded."""
    return _code_key(code) if isinstance(code, str) else to_ascii_digits(normalize(code)).casefold()


@cache
def _code_key(code: str) -> str:  # a register repeats a few codes over thousands of cases
    return to_ascii_digits(normalize(code)).casefold()


def code_from_filename(stem: str) -> str:
    """The product code in a form's file name (``F-31-07-01 PMP-100`` → ``PMP-100``)."""
    return stem.removeprefix(FORM_PREFIX).strip()


def is_form_filename(name: str) -> bool:
    """Whether ``name`` follows ``F-31-07-01 <code>.xlsx``: the forms the toolkit counts."""
    return name.startswith(f"{FORM_PREFIX} ") and name.lower().endswith(".xlsx")


def split_codes(value: object) -> list[str]:
    """Product codes of a Cases.products cell ("A-1, B-2"; Persian comma too)."""
    if value is None:
        return []
    return list(_split_codes(str(value)))


@cache
def _split_codes(text: str) -> tuple[str, ...]:
    return tuple(c for c in (normalize(x) for x in _CODE_SPLIT.split(text)) if c)


def live_case(case: Mapping[str, Any]) -> bool:
    """Neither void nor cancelled: its products count as sold."""
    return _live(case.get("record_status"), case.get("status"))


@cache
def _live(record_status: object, status: object) -> bool:  # few distinct values per register
    if is_void(record_status):
        return False
    try:
        return CaseStatus.parse(status or "open") is not CaseStatus.CANCELLED
    except ValueError:
        return True


def case_codes(cases: Iterable[Mapping[str, Any]]) -> list[str]:
    """Distinct product codes sold in the live (not void, not cancelled) cases, first spelling kept."""
    out: dict[str, str] = {}
    for c in cases:
        if live_case(c):
            for code in split_codes(c.get("products")):
                out.setdefault(code_key(code), code)
    return list(out.values())


#: What the CRM check needs to know: the product codes (keys) with a form, optionally whether
#: each form is complete (True) or has errors (False).
ProductLookup = Mapping[str, bool] | Collection[str]


def _index(known: ProductLookup) -> dict[str, bool | None]:
    """Code key → complete (None: the lookup does not say)."""
    if isinstance(known, Mapping):
        return {code_key(k): bool(v) for k, v in known.items()}
    return {code_key(k): None for k in known}


def crm_problems(known: ProductLookup, product_codes: Iterable[str]) -> list[dict[str, Any]]:
    """Problems of the products sold: no F-31-07-01 (missing) or one with errors (incomplete)."""
    return _problems(_index(known), product_codes)


def _problems(
    index: Mapping[str, bool | None], product_codes: Iterable[str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for code in dict.fromkeys(normalize(c) for c in product_codes if normalize(c)):
        complete = index.get(code_key(code), "missing")
        if complete == "missing":
            out.append(
                {
                    "code": "aftersales-missing",
                    "product": code,
                    "message_fa": f"کالای «{code}» فرم خدمات پس از فروش (F-31-07-01) ندارد",
                    "message_en": f"product '{code}' has no after-sales form (F-31-07-01)",
                }
            )
        elif complete is False:
            out.append(
                {
                    "code": "aftersales-incomplete",
                    "product": code,
                    "message_fa": f"فرم خدمات پس از فروش کالای «{code}» ایراد دارد (crm-xl product show)",
                    "message_en": f"the after-sales form of product '{code}' has errors (crm-xl product show)",
                }
            )
    return out


def require_aftersales(known: ProductLookup, cases: Iterable[Mapping[str, Any]]) -> None:
    """Refuse (InputError ``aftersales-missing``) unless every product sold has a complete form.

    Pure: the hook for ``decide.crm_done`` — the store passes ``known`` in, the decision the
    customer's cases.  Cases without product codes are not judged here.
    """
    problems = crm_problems(known, case_codes(cases))
    if not problems:
        return
    missing = [p["product"] for p in problems if p["code"] == "aftersales-missing"]
    broken = [p["product"] for p in problems if p["code"] == "aftersales-incomplete"]
    fa, en = [], []
    if missing:
        fa.append(f"کالاهای بدون فرم خدمات پس از فروش: {'، '.join(missing)}")
        en.append(f"products without an after-sales form: {', '.join(missing)}")
    if broken:
        fa.append(f"کالاهای با فرم ناقص: {'، '.join(broken)}")
        en.append(f"products whose after-sales form has errors: {', '.join(broken)}")
    raise InputError(
        "CRM انجام نشد؛ خدمات پس از فروش کالاهای فروخته‌شده ثبت نشده است — "
        + "؛ ".join(fa)
        + " (crm-xl product add)",
        "CRM not done: the after-sales service of the products sold is not recorded — "
        + "; ".join(en)
        + " (crm-xl product add)",
        code="aftersales-missing",
        field="products",
    )


K = TypeVar("K")


def case_findings(
    cases: Iterable[tuple[K, Mapping[str, Any]]],
    crm_done: Collection[str],
    known: ProductLookup,
) -> list[tuple[K, Finding]]:
    """The register's view of the products sold, per live case (``K``: where the case is).

    A customer whose CRM is done (``crm_done``: their numbers) passed :func:`require_aftersales`,
    so each product of their cases must still have a complete form (:func:`crm_problems`:
    ``aftersales-missing`` / ``aftersales-incomplete``, errors).  Before CRM done a product
    without a complete form is ``aftersales-pending`` (warning): CRM done would refuse it.
    """
    index = _index(known)
    done = {normalize(c) for c in crm_done}
    out: list[tuple[K, Finding]] = []
    for where, case in cases:
        codes = split_codes(case.get("products"))
        if not codes or not live_case(case):
            continue
        if all(index.get(code_key(c), False) is not False for c in codes):
            continue  # the common case, every product recorded: nothing to build
        no = normalize(case.get("case_no"))
        sold = normalize(case.get("customer_no")) in done
        for p in _problems(index, codes):
            if sold:
                fa, en, code = p["message_fa"], p["message_en"], p["code"]
            else:
                fa = f"{p['message_fa']} — پیش از ثبت CRM لازم است"
                en = f"{p['message_en']} — needed before CRM done"
                code = "aftersales-pending"
            out.append((where, _f(code, "products", f"پرونده {no}: {fa}", f"case {no}: {en}")))
    return out


__all__ = [
    "CATALOG_MARKER",
    "CATALOG_NAME",
    "CODES",
    "ERROR",
    "FORM_PREFIX",
    "RULES",
    "WARNING",
    "AfterSalesError",
    "AfterSalesProfile",
    "Finding",
    "JudgedForm",
    "ProductLookup",
    "ServiceItem",
    "case_codes",
    "case_findings",
    "check_profile",
    "code_from_filename",
    "code_key",
    "crm_problems",
    "errors_of",
    "is_form_filename",
    "judge_form",
    "live_case",
    "parse_field",
    "reason_of",
    "require_aftersales",
    "rule_charged_cost",
    "rule_commitment",
    "rule_identity",
    "rule_no_service_consistent",
    "rule_no_service_reason",
    "rule_no_service_stated",
    "rule_separate_guarantee",
    "rule_service_flag",
    "rule_services_listed",
    "service_findings",
    "split_codes",
]
