"""The after-sales clause of a contract or proforma (seed 003, 4-1 and 4-2), in Persian.

Digit style (one decision, used everywhere in clause text): amounts are written with
Persian digits and the Arabic thousands separator U+066C «٬» followed by «ریال», e.g.
``۱۲٬۵۰۰٬۰۰۰ ریال``; free services say «رایگان».  Numbering of the list, periods and the
commitment date use Persian digits as well.  The manufacturer's commitment reference and
the product code are identifiers and are kept exactly as recorded (ASCII stays ASCII).
"""

from __future__ import annotations

from datetime import date

from crm_xl.domain.aftersales import AfterSalesProfile, ServiceItem, check_profile, errors_of
from crm_xl.domain.dates import to_jalali_str
from crm_xl.domain.enums import NoServiceReason, Origin
from crm_xl.domain.errors import InputError
from crm_xl.domain.text import normalize, to_persian_digits

THOUSANDS = "\u066c"  # ٬ ARABIC THOUSANDS SEPARATOR
FREE = "رایگان"


def format_rial(amount: int) -> str:
    """``12500000`` → ``"۱۲٬۵۰۰٬۰۰۰ ریال"`` (whole Rials, Persian digits, «٬» grouping)."""
    grouped = f"{int(amount):,}".replace(",", THOUSANDS)
    return f"{to_persian_digits(grouped)} ریال"


def cost_text(item: ServiceItem) -> str:
    """«رایگان» for a free service, else its amount in Rial."""
    if item.charged and item.cost:
        return format_rial(item.cost)
    return FREE


def _jalali(d: date) -> str:
    return to_jalali_str(d, persian_digits=True)


def _product_line(p: AfterSalesProfile) -> str:
    details = [f"کد {p.product_code}"]
    if p.brand:
        details.append(f"برند {p.brand}")
    if p.manufacturer:
        details.append(f"سازنده {p.manufacturer}")
    if isinstance(p.origin, Origin):
        details.append(p.origin.fa)
    return f"کالا: «{p.product}» ({'، '.join(details)})"


def service_line(n: int, item: ServiceItem) -> str:
    """One numbered line: service, period, cost, provider."""
    parts = [f"{to_persian_digits(n)}- {item.service.fa}"]
    if item.period:
        parts.append(f"دوره / زمان‌بندی: {to_persian_digits(normalize(item.period))}")
    parts.append(f"هزینه: {cost_text(item)}")
    if item.provider:
        parts.append(f"ارائه‌دهنده: {item.provider}")
    if item.description:
        parts.append(f"توضیح: {item.description}")
    return "؛ ".join(parts) + "."


def _with_service(p: AfterSalesProfile, seller: str) -> list[str]:
    items = [s for s in p.services if s.included]
    commitment = f"تعهدنامه کتبی سازنده به شماره {p.commitment_ref}"
    if p.commitment_date:
        commitment += f" مورخ {_jalali(p.commitment_date)}"
    lines = [
        "خدمات پس از فروش",
        _product_line(p),
        f"{seller} خدمات پس از فروش زیر را برای این کالا، عیناً مطابق {commitment}، "
        "به خریدار ارائه می‌نماید:",
    ]
    lines += [service_line(n, s) for n, s in enumerate(items, 1)]
    charged = [s for s in items if s.charged and s.cost]
    if charged:
        total = sum(s.cost or 0 for s in charged)
        lines.append(
            "هزینه خدمات دارای هزینه، به شرح مبالغ فوق (جمعاً "
            f"{format_rial(total)})، بر عهده خریدار است؛ سایر خدمات فوق رایگان است."
        )
    else:
        lines.append("همه خدمات فوق رایگان است.")
    lines.append(
        "خدمات پس از فروش جدا از گارانتی و وارانتی کالا است و شرایط گارانتی و وارانتی "
        "مشمول این بند نیست."
    )
    if p.guarantee:
        lines.append(f"گارانتی کالا (جدا از خدمات پس از فروش): {p.guarantee}")
    if p.warranty:
        lines.append(f"وارانتی کالا (جدا از خدمات پس از فروش): {p.warranty}")
    return lines


def _reason_text(p: AfterSalesProfile) -> str:
    reason = p.no_service_reason
    label = reason.fa if isinstance(reason, NoServiceReason) else ""
    note = p.no_service_note or ""
    if reason is NoServiceReason.OTHER:
        return note
    return f"{label} ({note})" if note else label


def _without_service(p: AfterSalesProfile, seller: str) -> list[str]:
    lines = [
        "عدم ارائه خدمات پس از فروش",
        _product_line(p),
        "کالای فوق فاقد خدمات پس از فروش است.",
        f"علت: {_reason_text(p)}.",
        "خریدار با آگاهی کامل از اینکه کالای مورد درخواست خدمات پس از فروش ندارد، "
        "نسبت به خرید آن تصمیم‌گیری نموده است.",
        f"مسئولیت هرگونه عواقب در خصوص کیفیت و کارکرد کالا بر عهده {seller} نخواهد بود. "
        "این موضوع به‌صورت مکتوب و شفاهی به اطلاع خریدار رسانده شده است.",
    ]
    if p.guarantee:
        lines.append(f"گارانتی کالا (جدا از خدمات پس از فروش): {p.guarantee}")
    if p.warranty:
        lines.append(f"وارانتی کالا (جدا از خدمات پس از فروش): {p.warranty}")
    return lines


def clause_lines(profile: AfterSalesProfile, *, company: str | None = None) -> list[str]:
    """The clause as lines (title first); InputError ``aftersales-invalid`` if the form has errors."""
    errors = errors_of(check_profile(profile))
    if errors:
        raise InputError(
            "بند خدمات پس از فروش ساخته نشد؛ فرم کالا ایراد دارد: "
            + "؛ ".join(e.message_fa for e in errors),
            "cannot write the after-sales clause; the product form has errors: "
            + "; ".join(e.message_en for e in errors),
            code="aftersales-invalid",
            field=errors[0].field,
        )
    seller = normalize(company) or "شرکت"
    return (
        _with_service(profile, seller) if profile.has_service else _without_service(profile, seller)
    )


def clause_for(profile: AfterSalesProfile, *, company: str | None = None) -> str:
    """The Persian after-sales clause for a contract or proforma (one paragraph per line)."""
    return "\n".join(clause_lines(profile, company=company))


__all__ = [
    "FREE",
    "THOUSANDS",
    "clause_for",
    "clause_lines",
    "cost_text",
    "format_rial",
    "service_line",
]
