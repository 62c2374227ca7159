"""The Persian after-sales clause of a contract / proforma (seed 003, 4-1 and 4-2)."""

from __future__ import annotations

from datetime import date

import pytest

from crm_xl.domain.aftersales import AfterSalesProfile
from crm_xl.domain.clause import clause_for, clause_lines, format_rial
from crm_xl.domain.enums import AfterSalesService, NoServiceReason, Origin
from crm_xl.domain.errors import InputError


def with_service() -> AfterSalesProfile:
    return AfterSalesProfile.model_validate(
        dict(
            product_code="PMP-100",
            product="پمپ سانتریفیوژ",
            brand="Grundfos",
            manufacturer="گروندفوس",
            origin=Origin.IMPORTED,
            has_service=True,
            commitment_ref="GF-1403/118",
            commitment_date=date(2024, 7, 31),
            guarantee="۱۸ ماه گارانتی سازنده",
            services=[
                {
                    "service": "installation",
                    "included": True,
                    "period": "یک‌بار",
                    "provider": "نمایندگی",
                },
                {
                    "service": AfterSalesService.TRAINING,
                    "included": True,
                    "period": "2 روز",
                    "charged": True,
                    "cost": 12_500_000,
                },
                {"service": "calibration", "included": False},
            ],
        )
    )


def without_service(reason: NoServiceReason = NoServiceReason.SANCTIONS) -> AfterSalesProfile:
    return AfterSalesProfile.model_validate(
        dict(
            product_code="VLV-7",
            product="شیر توپی",
            origin="domestic",
            has_service=False,
            no_service_reason=reason,
            no_service_note="سازنده نماینده‌ای در ایران ندارد",
            stated_in_contract=True,
        )
    )


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (12_500_000, "۱۲٬۵۰۰٬۰۰۰ ریال"),
        (1_000, "۱٬۰۰۰ ریال"),
        (999, "۹۹۹ ریال"),
        (1_234_567_890, "۱٬۲۳۴٬۵۶۷٬۸۹۰ ریال"),
    ],
)
def test_format_rial(amount: int, text: str) -> None:
    assert format_rial(amount) == text


def test_clause_with_service() -> None:
    text = clause_for(with_service(), company="شرکت بازرگانی نمونه")
    lines = text.splitlines()
    assert lines[0] == "خدمات پس از فروش"
    assert "«پمپ سانتریفیوژ»" in lines[1] and "PMP-100" in lines[1] and "وارداتی" in lines[1]
    # the manufacturer's written commitment, with its Jalali date in Persian digits
    assert "تعهدنامه کتبی سازنده به شماره GF-1403/118 مورخ ۱۴۰۳/۰۵/۱۰" in text
    assert "شرکت بازرگانی نمونه خدمات پس از فروش زیر" in text
    assert (
        "۱- نصب در محل مشتری؛ دوره / زمان‌بندی: یک‌بار؛ هزینه: رایگان؛ ارائه‌دهنده: نمایندگی." in lines
    )
    assert "۲- آموزش اپراتور؛ دوره / زمان‌بندی: ۲ روز؛ هزینه: ۱۲٬۵۰۰٬۰۰۰ ریال." in lines
    assert "کالیبراسیون" not in text  # not included: not promised
    assert "جمعاً ۱۲٬۵۰۰٬۰۰۰ ریال" in text
    assert "جدا از گارانتی و وارانتی" in text
    assert "گارانتی کالا (جدا از خدمات پس از فروش): ۱۸ ماه گارانتی سازنده" in lines
    assert "12" not in text.replace("GF-1403/118", "")  # amounts never in ASCII digits


def test_clause_all_free() -> None:
    p = with_service()
    p.services = [s for s in p.services if not s.charged]
    assert "همه خدمات فوق رایگان است." in clause_lines(p)


def test_clause_without_service() -> None:
    text = clause_for(without_service(), company="شرکت بازرگانی نمونه")
    assert "کالای فوق فاقد خدمات پس از فروش است." in text
    assert "علت: تحریم (سازنده نماینده‌ای در ایران ندارد)." in text
    assert "کیفیت و کارکرد کالا بر عهده شرکت بازرگانی نمونه نخواهد بود" in text
    assert "مکتوب و شفاهی" in text
    assert "ریال" not in text


def test_clause_reason_other_uses_the_note() -> None:
    text = clause_for(without_service(NoServiceReason.OTHER))
    assert "علت: سازنده نماینده‌ای در ایران ندارد." in text
    assert "بر عهده شرکت نخواهد بود" in text  # no company name given


def test_clause_refuses_a_broken_profile() -> None:
    p = AfterSalesProfile.model_construct(
        **{**without_service().__dict__, "stated_in_contract": None}
    )
    with pytest.raises(InputError) as e:
        clause_for(p)
    assert e.value.code == "aftersales-invalid"
    assert "قرارداد" in e.value.fa and "contract" in e.value.en
