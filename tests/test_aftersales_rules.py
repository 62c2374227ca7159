"""Seed 003's after-sales rules, one test (or more) per rule, and the CRM-done check."""

from __future__ import annotations

from typing import Any

import pytest

from crm_xl.domain import aftersales as rules
from crm_xl.domain.aftersales import AfterSalesProfile, ServiceItem
from crm_xl.domain.enums import AfterSalesService, NoServiceReason, Origin
from crm_xl.domain.errors import InputError
from crm_xl.ops.products import clean_code, parse_cost, parse_service


def svc(service: str, **kw: Any) -> ServiceItem:
    base: dict[str, Any] = {
        "service": AfterSalesService.parse(service),
        "included": True,
        "period": None,
        "charged": False,
        "cost": None,
        "provider": None,
        "description": None,
    }
    return ServiceItem.model_construct(**{**base, **kw})


def profile(**kw: Any) -> AfterSalesProfile:
    """A profile as a hand-edited form may hold it: not validated, so rules see everything."""
    base: dict[str, Any] = {
        "product_code": "PMP-100",
        "product": "پمپ",
        "origin": Origin.IMPORTED,
        "has_service": True,
        "product_group": None,
        "brand": None,
        "manufacturer": None,
        "no_service_reason": None,
        "no_service_note": None,
        "stated_in_contract": None,
        "services": [svc("installation")],
        "commitment_ref": "GF-118",
        "commitment_date": None,
        "guarantee": None,
        "warranty": None,
        "notes": None,
    }
    return AfterSalesProfile.model_construct(**{**base, **kw})


def no_service(**kw: Any) -> AfterSalesProfile:
    base: dict[str, Any] = {
        "has_service": False,
        "services": [],
        "commitment_ref": None,
        "no_service_reason": NoServiceReason.SANCTIONS,
        "stated_in_contract": True,
    }
    return profile(**{**base, **kw})


def codes(p: AfterSalesProfile) -> list[str]:
    return [f.code for f in rules.check_profile(p)]


def test_valid_profiles_have_no_findings() -> None:
    assert codes(profile()) == []
    assert codes(no_service()) == []


def test_identity_required() -> None:
    found = rules.check_profile(profile(product_code=None, product="", origin=None))
    assert [(f.code, f.field) for f in found] == [
        ("required-error", "product_code"),
        ("required-error", "product"),
        ("required-error", "origin"),
    ]


def test_has_service_must_be_stated() -> None:
    found = rules.check_profile(profile(has_service=None))
    assert [(f.code, f.field) for f in found] == [("required-error", "has_service")]


def test_no_service_needs_reason() -> None:
    found = rules.rule_no_service_reason(no_service(no_service_reason=None))
    assert [f.code for f in found] == ["aftersales-no-reason"]
    assert found[0].field == "no_service_reason"
    assert "علت" in found[0].message_fa and "reason" in found[0].message_en


def test_reason_other_needs_note() -> None:
    assert codes(no_service(no_service_reason=NoServiceReason.OTHER)) == ["aftersales-reason-note"]
    assert codes(no_service(no_service_reason=NoServiceReason.OTHER, no_service_note="x")) == []


@pytest.mark.parametrize("stated", [None, False])
def test_no_service_must_be_stated_in_contract(stated: bool | None) -> None:
    found = rules.rule_no_service_stated(no_service(stated_in_contract=stated))
    assert [f.code for f in found] == ["aftersales-not-stated"]
    assert "قرارداد" in found[0].message_fa and "contract" in found[0].message_en


def test_no_service_cannot_include_services() -> None:
    found = rules.rule_no_service_consistent(no_service(services=[svc("training")]))
    assert [(f.code, f.index) for f in found] == [("aftersales-services-without-service", 0)]


def test_reason_with_service_is_a_warning() -> None:
    found = rules.check_profile(profile(no_service_reason=NoServiceReason.SIMPLICITY))
    assert [(f.code, f.severity) for f in found] == [("aftersales-reason-with-service", "warning")]


def test_service_lists_at_least_one_included() -> None:
    p = profile(services=[svc("installation", included=False)])
    assert codes(p) == ["aftersales-no-services"]
    assert codes(profile(services=[])) == ["aftersales-no-services"]


def test_duplicate_service() -> None:
    found = rules.rule_services_listed(profile(services=[svc("training"), svc("آموزش اپراتور")]))
    assert [(f.code, f.index) for f in found] == [("aftersales-duplicate-service", 1)]


@pytest.mark.parametrize("ref", [None, "", "  "])
def test_service_needs_manufacturer_commitment(ref: str | None) -> None:
    assert codes(profile(commitment_ref=ref)) == ["aftersales-no-commitment"]


def test_no_commitment_needed_without_service() -> None:
    assert rules.rule_commitment(no_service(commitment_ref=None)) == []


@pytest.mark.parametrize("cost", [None, 0, -5])
def test_charged_service_states_its_amount(cost: int | None) -> None:
    found = rules.rule_charged_cost(profile(services=[svc("training", charged=True, cost=cost)]))
    assert [f.code for f in found] == ["aftersales-cost-missing"]
    assert "ریال" in found[0].message_fa and "Rial" in found[0].message_en


def test_cost_without_charged_flag_and_charged_not_included() -> None:
    p = profile(
        services=[
            svc("installation"),
            svc("training", cost=5_000_000),
            svc("calibration", included=False, charged=True, cost=1),
        ]
    )
    assert [(f.code, f.index) for f in rules.rule_charged_cost(p)] == [
        ("aftersales-cost-unmarked", 1),
        ("aftersales-charged-not-included", 2),
    ]


@pytest.mark.parametrize(
    "text", ["شامل گارانتی ۱۲ ماهه", "وارانتی تعویض", "Warranty 1 year", "GUARANTEE", "ضمانت‌نامه"]
)
def test_service_text_naming_guarantee_is_flagged(text: str) -> None:
    p = profile(services=[svc("installation", description=text)])
    found = rules.rule_separate_guarantee(p)
    assert [(f.code, f.field, f.index) for f in found] == [
        ("aftersales-guarantee-mixed", "description", 0)
    ]
    assert "جدا" in found[0].message_fa and "separate" in found[0].message_en


def test_guarantee_field_naming_after_sales_is_flagged() -> None:
    p = profile(guarantee="۱۸ ماه گارانتی و خدمات پس از فروش", warranty="2 years")
    found = rules.rule_separate_guarantee(p)
    assert [(f.code, f.field) for f in found] == [("aftersales-guarantee-mixed", "guarantee")]
    # Guarantee and warranty in their own fields are fine.
    assert rules.rule_separate_guarantee(profile(guarantee="۱۸ ماه گارانتی")) == []


def test_finding_as_dict_is_bilingual() -> None:
    (f,) = rules.check_profile(profile(commitment_ref=None))
    d = f.as_dict()
    assert set(d) == {"code", "severity", "field", "message_fa", "message_en"}
    assert d["severity"] == "error"


# --- input parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("12,500,000", 12_500_000),
        ("۱۲٬۵۰۰٬۰۰۰", 12_500_000),
        ("١٢٬٥٠٠", 12_500),
        ("12 500 000 ریال", 12_500_000),
        ("0", None),
        ("", None),
        ("رایگان", None),
        ("free", None),
    ],
)
def test_parse_cost(text: str, amount: int | None) -> None:
    assert parse_cost(text) == amount


@pytest.mark.parametrize("text", ["-5", "12.5", "abc", "۱۲ میلیون"])
def test_parse_cost_rejects(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_cost(text)
    assert e.value.code == "bad-cost"


def test_parse_service() -> None:
    s = parse_service("training:۲ روز:۱۲٬۵۰۰٬۰۰۰:نمایندگی: تهران")
    assert (s.service, s.period, s.charged, s.cost, s.provider) == (
        AfterSalesService.TRAINING,
        "۲ روز",
        True,
        12_500_000,
        "نمایندگی: تهران",
    )
    assert parse_service("راه‌اندازی").service is AfterSalesService.COMMISSIONING
    free = parse_service("installation::0")
    assert (free.charged, free.cost) == (False, None)
    with pytest.raises(InputError) as e:
        parse_service("massage")
    assert e.value.code == "unknown-service"


@pytest.mark.parametrize(
    "code", ["../x", "..", "a/b", "a\\b", "CON", "con", "LPT1", "a.", "", "a,b"]
)
def test_hostile_product_codes_refused(code: str) -> None:
    with pytest.raises(InputError) as e:
        clean_code(code)
    assert e.value.code == "bad-product-code"


def test_product_code_normalised() -> None:
    assert clean_code(" PMP-۱۰۰ ") == "PMP-100"
    assert clean_code("پمپ_۲") == "پمپ_2"


# --- link to sales ----------------------------------------------------------------------------


def test_crm_problems_missing_and_incomplete() -> None:
    known = {"pmp-100": True, "vlv-7": False}
    found = rules.crm_problems(known, ["PMP-۱۰۰", "VLV-7", "X-1", "X-1"])
    assert [(p["code"], p["product"]) for p in found] == [
        ("aftersales-incomplete", "VLV-7"),
        ("aftersales-missing", "X-1"),
    ]
    assert rules.crm_problems({"PMP-100"}, ["pmp-100"]) == []


def test_require_aftersales_refuses_naming_products() -> None:
    cases = [
        {"case_no": "P-1", "products": "PMP-100، X-1", "status": "باز"},
        {"case_no": "P-2", "products": "Y-2", "status": "لغو شد"},  # cancelled: not judged
        {"case_no": "P-3", "products": "Z-3", "record_status": "باطل"},  # void: not judged
    ]
    with pytest.raises(InputError) as e:
        rules.require_aftersales({"PMP-100"}, cases)
    assert e.value.code == "aftersales-missing"
    assert "X-1" in e.value.fa and "X-1" in e.value.en
    assert "Y-2" not in e.value.en and "Z-3" not in e.value.en
    rules.require_aftersales({"PMP-100", "x-1"}, cases)  # all recorded: no error
