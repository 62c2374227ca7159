"""Domain models: clean values in, precise bilingual errors naming field and value out."""

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import (
    CaseStatus,
    Channel,
    FollowUpType,
    PersonType,
    Stage,
)
from crm_xl.domain.ids import make_legal_id, make_national_code, make_tax_id
from crm_xl.domain.models import (
    FIELD_LABELS_FA,
    Case,
    Contract,
    Customer,
    FollowUp,
    Invoice,
    ModelInputError,
    Party,
    PlannedAction,
    explain,
    validate_model,
)

NC = make_national_code("049937089")
LID = make_legal_id("1010030274")


def natural(**kw: object) -> dict[str, object]:
    return {"person_type": "حقیقی", "first_name": "علي", "last_name": "رضايي", **kw}


def legal(**kw: object) -> dict[str, object]:
    return {"person_type": "legal", "company_name": "شركت  پارس", **kw}


def fails(cls: type, data: dict[str, object], field: str, reason_en: str = "") -> ModelInputError:
    """Assert validation fails naming ``field`` (Persian label and key) and the reason."""
    with pytest.raises(ModelInputError) as e:
        validate_model(cls, data)
    err = e.value
    hits = [x for x in err.errors if x.location.field and x.location.field.split(".")[-1] == field]
    assert hits, [x.as_dict() for x in err.errors]
    hit = hits[0]
    assert hit.fa.startswith(FIELD_LABELS_FA.get(field, field))
    assert reason_en in hit.en, hit.en
    assert isinstance(err, ValueError)
    return err


# --- party ----------------------------------------------------------------------------------


def test_party_natural_normalised() -> None:
    p = Party.model_validate(
        natural(
            national_code=int(NC),  # Excel dropped the leading zero
            mobile="۰۹۱۲ ۳۴۵ ۶۷۸۹",
            phone="021-12345678",
            email="Ali@Example.IR",
            postal_code="۱۳۱۵۷-۶۳۴۱۱",
            category="صنعتی>پتروشیمی / اوره",
            gender="مرد",
            birth_date="۱۳۶۰/۰۵/۰۱",
            economic_code="4" * 14,
        )
    )
    assert p.display_name == "علی رضایی"
    assert p.national_code == NC == p.national_id
    assert p.mobile == "09123456789" and p.phone == "02112345678"
    assert p.email == "Ali@example.ir"
    assert p.postal_code == "1315763411"
    assert p.category == "صنعتی › پتروشیمی › اوره"
    assert p.birth_date == date(1981, 7, 23)
    assert p.warnings() == []


def test_party_legal() -> None:
    p = Party.model_validate(
        legal(legal_id=LID, economic_code=LID, staff_count="۱۲", turnover="1,500,000,000")
    )
    assert p.display_name == "شرکت پارس"
    assert p.national_id == LID
    assert p.staff_count == 12 and p.turnover == 1_500_000_000


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (natural(national_code="0499370898"), "national_code", "check digit"),
        (natural(national_code="12345"), "national_code", "10 digits"),
        ({"person_type": "natural", "last_name": "x"}, "first_name", "first name"),
        ({"person_type": "natural", "first_name": "x"}, "last_name", "last name"),
        ({"person_type": "legal"}, "company_name", "company name"),
        ({"person_type": "alien"}, "person_type", "allowed"),
        (natural(company_name="x"), "company_name", "does not apply"),
        (natural(legal_id=LID), "legal_id", "does not apply"),
        (legal(national_code=NC), "national_code", "does not apply"),
        (legal(gender="male"), "gender", "does not apply"),
        (legal(legal_id="10100302745"), "legal_id", "check digit"),
        (legal(legal_id=LID, economic_code="4" * 14), "economic_code", "11 digits"),
        (
            legal(legal_id=LID, economic_code=make_legal_id("1410030274")),
            "economic_code",
            "equals its legal ID",
        ),
        (natural(economic_code=LID), "economic_code", "14 digits"),
        (natural(economic_code="123"), "economic_code", "11 digits"),
        (natural(mobile="12345"), "mobile", "09"),
        (natural(phone="88776655"), "phone", "area code"),
        (natural(fax="0912345678x"), "fax", "landline"),
        (natural(email="ali@"), "email", "email"),
        (natural(website="no site"), "website", "website"),
        (natural(postal_code="12345"), "postal_code", "10 digits"),
        (natural(birth_date="1404/12/30"), "birth_date", "leap year"),
        (natural(gender="maybe"), "gender", "allowed"),
        (legal(staff_count="-3"), "staff_count", "at least 0"),
        (legal(staff_count="3.5"), "staff_count", "whole number"),
        (legal(staff_count=-3), "staff_count", "at least 0"),
        (legal(turnover="-۵۰۰"), "turnover", "at least 0"),
        (legal(turnover="دویست"), "turnover", "whole number"),
        (natural(nickname="x"), "nickname", "unknown field"),
    ],
)
def test_party_rejects(data: dict[str, object], field: str, reason: str) -> None:
    fails(Party, data, field, reason)


def test_error_names_value_and_cell() -> None:
    with pytest.raises(ModelInputError) as e:
        validate_model(
            Party, natural(mobile="123"), file="c.xlsx", sheet="ثبت مشتری", cells={"mobile": "C20"}
        )
    err = e.value.errors[0]
    assert err.fa.startswith("تلفن همراه: «123»")
    assert err.en.startswith("Mobile: '123'")
    assert (err.location.file, err.location.sheet, err.location.cell) == (
        "c.xlsx",
        "ثبت مشتری",
        "C20",
    )
    assert e.value.location.cell == "C20" and "C20" in str(e.value)


def test_postal_heuristic_is_a_warning_not_an_error() -> None:
    p = Party.model_validate(natural(postal_code="1025763411"))
    assert any("0 or 2" in w for w in p.warnings())


# --- customer -------------------------------------------------------------------------------


def customer(**kw: object) -> dict[str, object]:
    return {
        "customer_no": "C-00001",
        "channel": "تلگرام",
        "expert": "مريم احمدی",
        "first_contact": "۱۴۰۳/۰۷/۱۵ ۱۰:۳۰",
        **natural(),
        **kw,
    }


def test_customer_from_flat_registration_row() -> None:
    c = validate_model(Customer, customer(need="پمپ", stage="مذاکره", priority="urgent"))
    assert c.party.person_type is PersonType.NATURAL and c.name == "علی رضایی"
    assert c.channel is Channel.TELEGRAM and c.stage is Stage.NEGOTIATION
    assert c.first_contact_at == datetime(2024, 10, 6, 10, 30, tzinfo=TEHRAN)
    assert c.expert == "مریم احمدی"
    nested = Customer.model_validate(
        {
            "customer_no": "C-1",
            "party": natural(),
            "channel": "phone",
            "expert": "x",
            "first_contact_at": "2024-10-06 10:30",
        }
    )
    assert nested.stage is Stage.FIRST_CONTACT


@pytest.mark.parametrize(
    ("kw", "field", "reason"),
    [
        ({"customer_no": " "}, "customer_no", "required"),
        ({"channel": "کبوتر"}, "channel", "allowed"),
        ({"expert": None}, "expert", "required"),
        ({"first_contact": "1403/13/01"}, "first_contact", "month 13"),
        ({"first_contact": None}, "first_contact", "required"),
        ({"stage": "won"}, "national_code", "required once the customer has bought"),
        ({"importance": "huge"}, "importance", "allowed"),
        ({"mobile": "0912"}, "mobile", "09"),
    ],
)
def test_customer_rejects(kw: dict[str, object], field: str, reason: str) -> None:
    fails(Customer, customer(**kw), field, reason)


def test_customer_missing_first_contact_names_the_field() -> None:
    data = customer()
    del data["first_contact"]
    err = fails(Customer, data, "first_contact_at", "required")
    assert "تاریخ و ساعت اولین تماس" in err.fa


def test_legal_customer_needs_legal_id_after_sale() -> None:
    data = {k: v for k, v in customer(stage="won").items() if k not in ("first_name", "last_name")}
    fails(Customer, {**data, **legal()}, "legal_id", "required")
    ok = validate_model(Customer, {**data, **legal(legal_id=LID)})
    assert ok.party.legal_id == LID


def test_ignore_extra_drops_display_columns() -> None:
    row = {**customer(), "name": "علی رضایی", "folder": "x"}
    fails(Customer, row, "folder", "unknown field")
    assert validate_model(Customer, row, ignore_extra=True).customer_no == "C-00001"


# --- follow-ups -------------------------------------------------------------------------------


def followup(**kw: object) -> dict[str, object]:
    return {
        "at": "1403/07/15 10:00",
        "type": "تماس تلفنی",
        "expert": "مریم",
        "description": "معرفی محصول",
        **kw,
    }


def test_followup_flat_next_action() -> None:
    f = validate_model(
        FollowUp,
        followup(
            next_type="email",
            next_action="ارسال کاتالوگ",
            next_due="1403/07/16 10:00",
            next_minutes="۱۵",
            result="در حال پیگیری",
        ),
    )
    assert f.next is not None
    assert f.next.owner == "مریم"  # defaults to the expert
    assert f.next.type is FollowUpType.EMAIL and f.next.estimated_minutes == 15
    assert f.result_stage is Stage.FOLLOW_UP
    blank = validate_model(FollowUp, followup(next_type=None, next_action="", next_due=None))
    assert blank.next is None


@pytest.mark.parametrize(
    ("kw", "field", "reason"),
    [
        ({"next_type": "phone", "next_due": "1403/07/15 09:00"}, "due_at", "due after"),
        ({"next_type": "phone", "next_due": "1403/07/15 10:00"}, "due_at", "due after"),
        ({"next_action": "x", "next_due": "1403/07/16"}, "type", "required"),
        ({"next_type": "phone"}, "due_at", "required"),
        ({"type": "telepathy"}, "type", "allowed"),
        ({"minutes": "ده"}, "minutes", "whole number"),
        ({"at": "yesterday"}, "at", "unreadable"),
        ({"result": "???"}, "result", "allowed"),
    ],
)
def test_followup_rejects(kw: dict[str, object], field: str, reason: str) -> None:
    fails(FollowUp, followup(**kw), field, reason)


def test_planned_action_direct() -> None:
    a = PlannedAction(type="بازدید", owner="رضا", due_at="1403/07/20 09:00")  # type: ignore[arg-type]
    assert a.type is FollowUpType.VISIT and a.due_at.tzinfo is TEHRAN


# --- cases, contracts, invoices -------------------------------------------------------------


def test_case_contract_invoice() -> None:
    c = validate_model(
        Case,
        {
            "case_no": "P-00001",
            "customer_no": "C-00001",
            "opened": "1403/07/20",
            "products": "K-1، K-2; K-3",
        },
    )
    assert c.products == ["K-1", "K-2", "K-3"] and c.status is CaseStatus.OPEN
    k = validate_model(
        Contract,
        {
            "contract_no": "Q-1403-0001",
            "case_no": "P-00001",
            "contract_date": 45571,
            "amount": 1.0e9,
        },
    )
    assert k.signed_at == date(2024, 10, 6) and k.amount == 1_000_000_000
    issued = datetime(2024, 10, 6, 10, 0, tzinfo=TEHRAN)
    tid = make_tax_id("A11216", issued, 1)
    inv = validate_model(
        Invoice,
        {
            "invoice_no": "1403-000001",
            "case_no": "P-00001",
            "issued": issued,
            "amount": "۲۵۰٬۰۰۰٬۰۰۰ ریال",
            "tax_id": tid.lower(),
        },
    )
    assert inv.amount == 250_000_000 and inv.tax_id == tid
    # A date typed without a time (Tehran 00:00, the previous UTC day) still matches the id.
    assert validate_model(
        Invoice,
        {"invoice_no": "1", "case_no": "P", "issued": "1403/07/15", "amount": 1, "tax_id": tid},
    )


@pytest.mark.parametrize(
    ("cls", "data", "field", "reason"),
    [
        (
            Case,
            {"case_no": "P-1", "customer_no": "C-1", "opened": "1403/07/20", "status": "gone"},
            "status",
            "allowed",
        ),
        (
            Case,
            {"case_no": "P-1", "customer_no": "", "opened": "1403/07/20"},
            "customer_no",
            "required",
        ),
        (
            Case,
            {"case_no": "P-1", "customer_no": "C-1", "opened": "1403/07/20", "amount": -5},
            "amount",
            "at least 0",
        ),
        (
            Contract,
            {"contract_no": "Q-1", "case_no": "P-1", "contract_date": "1403/07/31", "amount": 5},
            "contract_date",
            "30 days",
        ),
        (
            Contract,
            {"contract_no": "Q-1", "case_no": "P-1", "signed_at": "1403/02/01", "amount": 0},
            "amount",
            "at least 1",
        ),
        (
            Invoice,
            {"invoice_no": "1", "case_no": "P", "issued": "1403/07/15", "amount": 0},
            "amount",
            "at least 1",
        ),
        (
            Invoice,
            {"invoice_no": "1", "case_no": "P", "issued": "1403/07/15"},
            "amount",
            "required",
        ),
        (
            Invoice,
            {"invoice_no": "1", "case_no": "P", "issued": "1403/07/15", "amount": 12.5},
            "amount",
            "whole number",
        ),
        (
            Invoice,
            {
                "invoice_no": "1",
                "case_no": "P",
                "issued": "1403/07/15",
                "amount": 10,
                "tax_id": "A1121604E2200000000010",
            },
            "tax_id",
            "check digit",
        ),
        (
            Invoice,
            {
                "invoice_no": "1",
                "case_no": "P",
                "issued": "1403/07/25",
                "amount": 10,
                "tax_id": make_tax_id("A11216", datetime(2024, 10, 6, 10, tzinfo=TEHRAN), 1),
            },
            "tax_id",
            "does not match",
        ),
    ],
)
def test_sales_records_reject(cls: type, data: dict[str, object], field: str, reason: str) -> None:
    fails(cls, data, field, reason)


def test_explain_is_usable_on_raw_validation_error() -> None:
    with pytest.raises(ValidationError) as e:
        Party.model_validate(
            {"person_type": "natural", "first_name": "x", "last_name": "y", "mobile": "1"}
        )
    errs = explain(e.value, file="f.xlsx", sheet="s")
    assert len(errs) == 1 and errs[0].code == "type-error" and errs[0].location.file == "f.xlsx"


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=9, max_size=9).filter(
        lambda s: s[3:9] != "000000" and len(set(s)) > 1
    )
)
def test_any_valid_national_code_is_accepted_in_any_digit_script(first9: str) -> None:
    code = make_national_code(first9)
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert Party.model_validate(natural(national_code=persian)).national_code == code
