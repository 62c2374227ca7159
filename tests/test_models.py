"""The entry rules (domain.models): clean values in, precise bilingual errors naming field and
value out. The same rules run in every write operation and in validate (see test_rules_*)."""

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crm_xl.domain import models
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import (
    CaseStatus,
    Channel,
    FollowUpType,
    PersonType,
    RecordStatus,
    Stage,
)
from crm_xl.domain.ids import make_legal_id, make_national_code, make_tax_id
from crm_xl.domain.models import (
    FIELD_LABELS_FA,
    Case,
    Customer,
    FollowUp,
    Invoice,
    ModelInputError,
    Party,
    explain,
    validate_model,
)
from crm_xl.domain.schema import CASES, CUSTOMERS, FOLLOWUPS, REGISTRATION

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
        ({"person_type": "natural"}, "first_name", "first or last name"),
        ({"person_type": "legal"}, "company_name", "company name"),
        ({"person_type": "alien"}, "person_type", "allowed"),
        ({"first_name": "x"}, "person_type", "required"),
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


def test_a_field_of_the_other_person_type_is_a_warning_not_a_refusal() -> None:
    """validate calls it ``person-type-field`` (a warning), so no write refuses it."""
    p = validate_model(Party, natural(company_name="x", legal_id=LID))
    assert p.company_name == "x" and p.national_id is None
    found = models.party_problems(p.model_dump(), p.person_type)
    assert {(x.field, x.code) for x in found} == {
        ("company_name", "person-type-field"),
        ("legal_id", "person-type-field"),
    }


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
    """validate warns (postal-code-suspect); no write refuses it."""
    assert Party.model_validate(natural(postal_code="1025763411")).postal_code == "1025763411"


# --- customer (the F-31-08-01 registration block) --------------------------------------------


def customer(**kw: object) -> dict[str, object]:
    return {
        "customer_no": "C-00001",
        "channel": "تلگرام",
        "expert": "مريم احمدی",
        "need": "پمپ",
        "first_contact": "۱۴۰۳/۰۷/۱۵ ۱۰:۳۰",
        "stage": "تماس اول",
        **natural(),
        **kw,
    }


def test_customer_from_flat_registration_block() -> None:
    c = validate_model(Customer, customer(stage="مذاکره", priority="urgent"))
    assert c.party.person_type is PersonType.NATURAL and c.name == "علی رضایی"
    assert c.channel is Channel.TELEGRAM and c.stage is Stage.NEGOTIATION
    assert c.first_contact == datetime(2024, 10, 6, 10, 30, tzinfo=TEHRAN)
    assert c.expert == "مریم احمدی"
    block = c.block()
    assert set(block) <= set(REGISTRATION.keys)  # written to the form as it is
    assert block["first_name"] == "علی" and "national_code" not in block


@pytest.mark.parametrize(
    ("kw", "field", "reason"),
    [
        ({"customer_no": " "}, "customer_no", "required"),
        ({"need": ""}, "need", "required"),  # R1: the needs are recorded at first contact
        ({"channel": "کبوتر"}, "channel", "allowed"),
        ({"channel": None}, "channel", "required"),
        ({"expert": None}, "expert", "required"),
        ({"first_contact": "1403/13/01"}, "first_contact", "month 13"),
        ({"first_contact": None}, "first_contact", "required"),
        ({"stage": "won"}, "national_code", "required (from stage won)"),
        ({"importance": "huge"}, "importance", "allowed"),
        ({"mobile": "0912"}, "mobile", "09"),
    ],
)
def test_customer_rejects(kw: dict[str, object], field: str, reason: str) -> None:
    fails(Customer, customer(**kw), field, reason)


def test_customer_required_message_names_the_field_once() -> None:
    data = customer()
    del data["first_contact"]
    err = fails(Customer, data, "first_contact", "required")
    assert err.fa.count("تاریخ و ساعت اولین تماس") == 1


def test_legal_customer_needs_legal_id_after_sale() -> None:
    data = {k: v for k, v in customer(stage="won").items() if k not in ("first_name", "last_name")}
    fails(Customer, {**data, **legal()}, "legal_id", "required")
    ok = validate_model(Customer, {**data, **legal(legal_id=LID)})
    assert ok.party.legal_id == LID
    # A closed form cannot tell a sale from a lost customer: nothing is asked of it.
    assert validate_model(Customer, {**data, **legal(), "stage": "closed"}).party.legal_id is None


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


def test_followup_with_its_planned_action() -> None:
    f = validate_model(
        FollowUp,
        followup(
            next_type="email",
            next_action="ارسال کاتالوگ",
            next_due="1403/07/16 10:00",
            next_minutes="۱۵",
            minutes="۲۰",
            result="در حال پیگیری",
        ),
    )
    assert f.next_due is not None and f.next_type is FollowUpType.EMAIL and f.next_minutes == 15
    assert f.minutes == 20 and f.result is Stage.FOLLOW_UP
    assert validate_model(FollowUp, followup(next_type=None, next_action="")).next_due is None


@pytest.mark.parametrize(
    ("kw", "field", "reason"),
    [
        ({"next_type": "phone", "next_due": "1403/07/15 09:00"}, "next_due", "due after"),
        ({"next_type": "phone", "next_due": "1403/07/15 10:00"}, "next_due", "due after"),
        ({"next_action": "x"}, "next_due", "due date"),
        ({"next_owner": "رضا"}, "next_due", "due date"),
        ({"type": "telepathy"}, "type", "allowed"),
        ({"type": None}, "type", "required"),
        ({"description": " "}, "description", "required"),
        ({"minutes": "ده"}, "minutes", "whole number"),
        ({"minutes": -5}, "minutes", "at least 0"),
        ({"minutes": "-۵"}, "minutes", "at least 0"),
        ({"next_minutes": -1, "next_due": "1403/07/16"}, "next_minutes", "at least 0"),
        ({"at": "yesterday"}, "at", "unreadable"),
        ({"result": "???"}, "result", "allowed"),
    ],
)
def test_followup_rejects(kw: dict[str, object], field: str, reason: str) -> None:
    fails(FollowUp, followup(**kw), field, reason)


# --- cases, contracts, invoices -------------------------------------------------------------


def case(**kw: object) -> dict[str, object]:
    return {
        "case_no": "P-00001",
        "customer_no": "C-00001",
        "opened": "1403/07/20",
        "status": "باز",
        **kw,
    }


def test_case_contract_invoice() -> None:
    c = validate_model(Case, case(products="K-1، K-2; K-3"))
    assert c.products == ["K-1", "K-2", "K-3"] and c.status is CaseStatus.OPEN
    k = validate_model(
        Case,
        case(contract_no="Q-1403-0001", contract_date=45585, amount=1.0e9, status="contracted"),
    )
    assert k.contract_date == date(2024, 10, 20) and k.amount == 1_000_000_000
    issued = datetime(2024, 10, 6, 10, 0, tzinfo=TEHRAN)
    tid = make_tax_id("A11216", issued, 1)
    inv = validate_model(
        Invoice,
        {
            "invoice_no": "1403-000001",
            "case_no": "P-00001",
            "customer_no": "C-00001",
            "issued": issued,
            "amount": "۲۵۰٬۰۰۰٬۰۰۰ ریال",
            "tax_id": tid.lower(),
        },
    )
    assert inv.amount == 250_000_000 and inv.tax_id == tid
    # A date typed without a time (Tehran 00:00, the previous UTC day) still matches the id.
    assert validate_model(
        Invoice,
        {"invoice_no": "1", "case_no": "P", "customer_no": "C", "issued": "1403/07/15",
         "amount": 1, "tax_id": tid},
    )  # fmt: skip


def invoice(**kw: object) -> dict[str, object]:
    return {"invoice_no": "1", "case_no": "P", "customer_no": "C", "issued": "1403/07/15", **kw}


@pytest.mark.parametrize(
    ("cls", "data", "field", "reason"),
    [
        (Case, case(status="gone"), "status", "allowed"),
        (Case, case(customer_no=""), "customer_no", "required"),
        (Case, case(amount=-5), "amount", "at least 1"),
        (Case, case(amount=0), "amount", "at least 1"),
        (Case, case(contract_date="1403/07/31"), "contract_date", "30 days"),
        (
            Case,
            case(contract_no="Q-1", contract_date="1403/07/19"),
            "contract_date",
            "before the case was opened",
        ),
        (Invoice, invoice(amount=0), "amount", "at least 1"),
        (Invoice, invoice(amount=12.5), "amount", "whole number"),
        (Invoice, invoice(amount="12.5"), "amount", "whole number"),
        (Invoice, invoice(issued=None), "issued", "required"),
        (Invoice, invoice(tax_id="A1121604E2200000000010"), "tax_id", "check digit"),
        (
            Invoice,
            invoice(
                issued="1403/07/25",
                tax_id=make_tax_id("A11216", datetime(2024, 10, 6, 10, tzinfo=TEHRAN), 1),
            ),
            "tax_id",
            "does not match",
        ),
    ],
)
def test_sales_records_reject(cls: type, data: dict[str, object], field: str, reason: str) -> None:
    fails(cls, data, field, reason)


def test_a_voided_contract_is_not_held_to_its_date() -> None:
    row = case(contract_no="Q-1", contract_date="1403/07/19")
    with pytest.raises(ModelInputError, match="before the case"):
        validate_model(Case, row)
    voided = validate_model(Case, {**row, "contract_status": "باطل"})
    assert voided.contract_no == "Q-1" and voided.contract_status is RecordStatus.VOID


# --- the rule functions validate shares -------------------------------------------------------


def test_required_now_follows_stage_and_person_type() -> None:
    code, legal_id = REGISTRATION.field("national_code"), REGISTRATION.field("legal_id")
    ident = CUSTOMERS.field("national_id")
    assert not models.required_now(ident, Stage.PROPOSAL, PersonType.NATURAL)
    assert all(models.required_now(ident, s, None) for s in (Stage.WON, Stage.CRM_DONE))
    assert not models.required_now(ident, Stage.LOST, None)  # never bought
    assert models.required_now(code, Stage.WON, PersonType.NATURAL)
    assert not models.required_now(code, Stage.WON, PersonType.LEGAL)
    assert models.required_now(legal_id, Stage.CLOSED, PersonType.LEGAL)
    row = {"national_id": ""}
    assert models.newly_required(CUSTOMERS.fields, row, Stage.PROPOSAL, Stage.WON, None) == [ident]
    # Entering CLOSED asks nothing new: a record already incomplete is validate's to report.
    assert models.newly_required(CUSTOMERS.fields, row, Stage.CRM_DONE, Stage.CLOSED, None) == []


def test_order_rules_compare_days_or_moments() -> None:
    opened = datetime(2025, 10, 8, 23, 30)
    assert not models.CONTRACT_AFTER_CASE.broken(opened, date(2025, 10, 8))  # same day
    assert models.CONTRACT_AFTER_CASE.broken(opened, date(2025, 10, 7))
    at = datetime(2025, 10, 8, 10, 0, tzinfo=TEHRAN)
    assert models.NEXT_DUE_AFTER_FOLLOWUP.broken(at, at)  # due at the very moment: no plan
    assert models.NEXT_DUE_AFTER_FOLLOWUP.broken("1404/07/16 10:00", datetime(2025, 10, 8, 9))
    assert not models.FOLLOWUP_AFTER_FIRST_CONTACT.broken(at, at.replace(minute=0, second=0))
    assert not models.CLOSED_AFTER_CRM.broken("نامعلوم", date(2020, 1, 1))  # unreadable: not judged
    with pytest.raises(models.InputError) as e:
        models.CLOSED_AFTER_CRM.check(date(2025, 10, 8), date(2025, 10, 7))
    assert e.value.location.field == "closed" and "CRM" in e.value.en


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        (CUSTOMERS.field("mobile"), "123", "identifier-error"),
        (CUSTOMERS.field("first_contact"), "1404/13/01", "date-error"),
        (CUSTOMERS.field("stage"), "nonsense", "enum-error"),
        (FOLLOWUPS.field("minutes"), "-1", "constraint-error"),
        (CASES.field("amount"), "1.5", "type-error"),
        (CASES.field("amount"), 0, "constraint-error"),
    ],
)
def test_parse_value_codes_are_finding_codes(field: object, value: object, code: str) -> None:
    with pytest.raises(models.InputError) as e:
        models.parse_value(field, value)  # type: ignore[arg-type]
    assert e.value.code == code


def test_explain_is_usable_on_raw_validation_error() -> None:
    with pytest.raises(ValidationError) as e:
        Party.model_validate(
            {"person_type": "natural", "first_name": "x", "last_name": "y", "mobile": "1"}
        )
    errs = explain(e.value, file="f.xlsx", sheet="s")
    assert (
        len(errs) == 1 and errs[0].code == "identifier-error" and errs[0].location.file == "f.xlsx"
    )


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
