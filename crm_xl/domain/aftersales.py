"""The after-sales rules of seed 003 as pure functions over an ``AfterSalesProfile``.

Each rule returns :class:`Finding` s with a stable machine code; nothing here reads a file,
so the same rules judge a product being added from the CLI, a form a salesperson edited
by hand (``catalog.check_product_form``) and a customer's CRM step (``require_aftersales``).

Profiles read from a hand-edited form are built with ``model_construct`` (see ``catalog``),
so every rule tolerates ``None`` where the model would insist on a value.

Codes:

=====================================  ========  =============================================
code                                   severity  rule (seed 003)
=====================================  ========  =============================================
aftersales-required                    error     product code, name, origin are stated
aftersales-has-service-missing         error     the form says whether there is service
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
aftersales-missing                     error     a product sold has no F-31-07-01
aftersales-incomplete                  error     a product sold has an F-31-07-01 with errors
=====================================  ========  =============================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crm_xl.domain.enums import AfterSalesService, CaseStatus, NoServiceReason, RecordStatus
from crm_xl.domain.errors import InputError
from crm_xl.domain.models import AfterSalesProfile, ServiceItem
from crm_xl.domain.text import normalize, to_ascii_digits

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One rule violation of a product; ``index`` is the position in ``profile.services``."""

    code: str
    severity: str
    field: str
    message_fa: str
    message_en: str
    index: int | None = None

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


def _f(code: str, field: str, fa: str, en: str, *, sev: str = ERROR, index: int | None = None):
    return Finding(code, sev, field, fa, en, index)


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not normalize(v))


def _included(p: AfterSalesProfile) -> list[tuple[int, ServiceItem]]:
    return [(i, s) for i, s in enumerate(p.services or []) if s.included]


def _label(s: ServiceItem) -> str:
    return s.service.fa if isinstance(s.service, AfterSalesService) else str(s.service)


# --- the rules ---------------------------------------------------------------------------


def rule_identity(p: AfterSalesProfile) -> list[Finding]:
    """A form names the product (code, name) and says whether it is imported or domestic."""
    out = []
    for key, fa, en in (
        ("product_code", "کد کالا", "product code"),
        ("product", "نام کالا", "product name"),
        ("origin", "وارداتی / تولید داخل", "imported or domestic"),
    ):
        if _blank(getattr(p, key, None)):
            out.append(_f("aftersales-required", key, f"«{fa}» الزامی است", f"{en} is required"))
    return out


def rule_service_flag(p: AfterSalesProfile) -> list[Finding]:
    """Every product is in one of seed 003's two groups: with or without after-sales service."""
    if p.has_service is None:
        return [
            _f(
                "aftersales-has-service-missing",
                "has_service",
                "مشخص نیست کالا خدمات پس از فروش دارد یا نه",
                "the form does not say whether the product has after-sales service",
            )
        ]
    return []


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
                sev=WARNING,
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


def rule_charged_cost(p: AfterSalesProfile) -> list[Finding]:
    """4-2: a service that costs the customer states its amount, transparently, in Rial."""
    out = []
    for i, s in enumerate(p.services or []):
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


#: Words that mean guarantee or warranty (Persian spellings, English, the "ضمانت" family).
GUARANTEE_WORDS = re.compile(r"گارانتی|وارانتی|ضمانت|guarant|warrant", re.IGNORECASE)
AFTERSALES_WORDS = re.compile(r"پس\s*از\s*فروش|after[\s-]*sales?", re.IGNORECASE)


def rule_separate_guarantee(p: AfterSalesProfile) -> list[Finding]:
    """4-2: after-sales is separate from guarantee and warranty; mixed texts are flagged."""
    out = []
    for i, s in enumerate(p.services or []):
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


def errors_of(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_error]


# --- product codes and the link to sales ---------------------------------------------------------

_CODE_SPLIT = re.compile(r"[,،;؛\n]")


def code_key(code: object) -> str:
    """Key for comparing product codes: normalised, ASCII digits, case-folded."""
    return to_ascii_digits(normalize(code)).casefold()


def split_codes(value: object) -> list[str]:
    """Product codes of a Cases.products cell ("A-1, B-2"; Persian comma too)."""
    if value is None:
        return []
    return [c for c in (normalize(x) for x in _CODE_SPLIT.split(str(value))) if c]


def _live_case(case: Mapping[str, Any]) -> bool:
    if normalize(case.get("record_status")) == RecordStatus.VOID.fa:
        return False
    try:
        return CaseStatus.parse(case.get("status") or "open") is not CaseStatus.CANCELLED
    except ValueError:
        return True


def case_codes(cases: Iterable[Mapping[str, Any]]) -> list[str]:
    """Distinct product codes sold in the live (not void, not cancelled) cases, first spelling kept."""
    out: dict[str, str] = {}
    for c in cases:
        if _live_case(c):
            for code in split_codes(c.get("products")):
                out.setdefault(code_key(code), code)
    return list(out.values())


#: What the CRM check needs to know: the product codes (keys) with a form, optionally whether
#: each form is complete (True) or has errors (False).
ProductLookup = Mapping[str, bool] | Collection[str]


def crm_problems(known: ProductLookup, product_codes: Iterable[str]) -> list[dict[str, Any]]:
    """Problems of the products sold: no F-31-07-01 (missing) or one with errors (incomplete)."""
    keys = {code_key(k): v for k, v in known.items()} if isinstance(known, Mapping) else None
    present = set(keys) if keys is not None else {code_key(k) for k in known}
    out: list[dict[str, Any]] = []
    for code in dict.fromkeys(normalize(c) for c in product_codes if normalize(c)):
        k = code_key(code)
        if k not in present:
            out.append(
                {
                    "code": "aftersales-missing",
                    "product": code,
                    "message_fa": f"کالای «{code}» فرم خدمات پس از فروش (F-31-07-01) ندارد",
                    "message_en": f"product '{code}' has no after-sales form (F-31-07-01)",
                }
            )
        elif keys is not None and keys[k] is False:
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

    Pure: the hook for ``core.crm_done`` — the store passes ``known`` in, the core passes the
    customer's cases.  Cases without product codes are not judged here (validation warns).
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


__all__ = [
    "ERROR",
    "RULES",
    "WARNING",
    "Finding",
    "ProductLookup",
    "case_codes",
    "check_profile",
    "code_key",
    "crm_problems",
    "errors_of",
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
    "split_codes",
]
