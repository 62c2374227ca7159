"""The after-sales models obey the after-sales rules: one rule set (review §B5).

``AfterSalesProfile`` / ``ServiceItem`` parse the cells; their validators call
``aftersales.check_profile`` / ``service_findings``.  So a profile built with ``model_validate``
is refused exactly when the rules find an error, with the rules' own codes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crm_xl.domain import aftersales
from crm_xl.domain.aftersales import AfterSalesError, AfterSalesProfile, ServiceItem
from crm_xl.domain.enums import AfterSalesService, NoServiceReason, Origin
from crm_xl.domain.models import ModelInputError, validate_model


def with_service(**kw: object) -> dict[str, object]:
    return {
        "product_code": "K-1",
        "product": "پمپ سانتریفیوژ",
        "origin": "وارداتی",
        "has_service": "بله",
        "commitment_ref": "۱۲۳/ت",
        "services": [
            {
                "service": "نصب در محل مشتری",
                "included": "بله",
                "charged": "بله",
                "cost": "5,000,000",
                "provider": "سازنده",
            },
            {"service": "calibration", "included": "خیر"},
        ],
        "guarantee": "۱۲ ماه",
        **kw,
    }


def without_service(**kw: object) -> dict[str, object]:
    return {
        "product_code": "K-2",
        "product": "شیر دستی",
        "origin": "domestic",
        "has_service": "خیر",
        "no_service_reason": "سادگی کالا",
        "stated_in_contract": "بله",
        **kw,
    }


def test_profiles_parse_cells() -> None:
    a = validate_model(AfterSalesProfile, with_service())
    assert a.has_service and a.services[0].service is AfterSalesService.INSTALLATION
    assert a.services[0].cost == 5_000_000 and not a.services[1].included
    assert a.guarantee == "۱۲ ماه" and a.warranty is None  # kept apart from the service
    b = validate_model(AfterSalesProfile, without_service())
    assert not b.has_service and b.stated_in_contract is True


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (with_service(commitment_ref=""), "aftersales-no-commitment"),
        (with_service(services=[]), "aftersales-no-services"),
        (
            with_service(no_service_reason="sanctions", commitment_ref=""),
            "aftersales-no-commitment",
        ),
        (without_service(no_service_reason=None), "aftersales-no-reason"),
        (without_service(stated_in_contract="خیر"), "aftersales-not-stated"),
        (without_service(no_service_reason="سایر"), "aftersales-reason-note"),
        (
            without_service(services=[{"service": "training", "included": True}]),
            "aftersales-services-without-service",
        ),
        (with_service(warranty="۲ سال، شامل خدمات پس از فروش"), "aftersales-guarantee-mixed"),
        (
            with_service(services=[{"service": "training", "included": "بله", "charged": "بله"}]),
            "aftersales-cost-missing",
        ),
    ],
)
def test_model_refuses_with_the_rules_code(data: dict[str, object], code: str) -> None:
    with pytest.raises(ModelInputError) as e:
        validate_model(AfterSalesProfile, data)
    assert e.value.code == code
    assert e.value.fa and e.value.en


def test_a_warning_does_not_refuse() -> None:
    p = validate_model(AfterSalesProfile, with_service(no_service_reason="sanctions"))
    assert [f.code for f in aftersales.check_profile(p)] == ["aftersales-reason-with-service"]


def test_unreadable_cells_are_named() -> None:
    with pytest.raises(ModelInputError) as e:
        validate_model(AfterSalesProfile, without_service(has_service="شاید", origin="mars"))
    assert {err.location.field for err in e.value.errors} == {"has_service", "origin"}


# --- the property: the model accepts exactly what the rules accept --------------------------------

TEXT = st.sampled_from([None, "", "نمایندگی", "شامل گارانتی ۱۲ ماهه", "Warranty 1 year"])
items = st.builds(
    dict,
    service=st.sampled_from(list(AfterSalesService)),
    included=st.booleans(),
    charged=st.booleans(),
    cost=st.sampled_from([None, 0, 1, 12_500_000]),
    period=TEXT,
    description=TEXT,
)
profiles = st.builds(
    dict,
    product_code=st.just("K-1"),
    product=st.just("پمپ"),
    origin=st.sampled_from(list(Origin)),
    has_service=st.booleans(),
    no_service_reason=st.sampled_from([None, *NoServiceReason]),
    no_service_note=st.sampled_from([None, "نماینده ندارد"]),
    stated_in_contract=st.sampled_from([None, True, False]),
    services=st.lists(items, max_size=3),
    commitment_ref=st.sampled_from([None, "GF-1"]),
    guarantee=st.sampled_from([None, "۱۸ ماه", "۱۸ ماه، خدمات پس از فروش رایگان"]),
)


def _construct(data: dict[str, Any]) -> AfterSalesProfile:
    """The profile as typed values, without validation (what a form read gives the rules)."""
    blank = {"", None}
    items = [
        ServiceItem.model_construct(
            **{
                k: (None if v in blank and k in ("period", "description") else v)
                for k, v in s.items()
            },
            provider=None,
        )
        for s in data["services"]
    ]
    return AfterSalesProfile.model_construct(
        **{**data, "services": items},
        product_group=None,
        brand=None,
        manufacturer=None,
        commitment_date=None,
        warranty=None,
        notes=None,
    )


@settings(max_examples=400, deadline=None)
@given(profiles)
def test_model_accepts_exactly_what_the_rules_accept(data: dict[str, Any]) -> None:
    """Fails on the old code: the models had their own copy of the rules (no guarantee/warranty
    separation, no cost-unmarked check on a free service, constraint-error codes)."""
    expected = aftersales.errors_of(aftersales.check_profile(_construct(data)))
    try:
        AfterSalesProfile.model_validate(data)
    except ValidationError as e:
        assert expected, e
        # Each item is judged first (on its own), then the profile: the rules' codes either way.
        raised = set()
        for err in e.errors(include_url=False):
            source = (err.get("ctx") or {}).get("error")
            assert isinstance(source, AfterSalesError), err
            raised |= {f.code for f in source.findings}
        assert raised and raised <= {f.code for f in expected}
    else:
        assert not expected, [f.code for f in expected]
