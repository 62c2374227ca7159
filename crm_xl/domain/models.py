"""Domain records as pydantic models, with errors a salesperson can act on (SPEC §2, §5, §10).

Every string passes through :func:`crm_xl.text.normalize`, numeric identifiers through
:func:`crm_xl.text.to_ascii_digits`; enumerations accept the key, the Persian or the English
label.  Field validators raise :class:`~crm_xl.errors.InputError` (a ``ValueError``) so the
Persian and English reasons survive pydantic; :func:`explain` turns a ``ValidationError``
into one ``InputError`` per problem naming the field (Persian label), the value and the
reason, and :func:`validate_model` raises them as one :class:`ModelInputError`.

Field names follow the brief (``first_contact_at``, ``issued_at`` …); the form schema's keys
(``first_contact``, ``issued`` …) are accepted as aliases, and a flat registration row (party
fields beside customer fields) or a flat follow-up row (``next_*`` columns) is folded into the
nested models, so a row read from a form validates as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from crm_xl.domain import ids
from crm_xl.domain.dates import TEHRAN, parse_date, parse_datetime
from crm_xl.domain.enums import (
    CaseStatus,
    Channel,
    CompanyType,
    FollowUpType,
    Gender,
    Importance,
    LabeledEnum,
    MaritalStatus,
    PersonType,
    Priority,
    Stage,
    YesNo,
)
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.text import normalize, normalize_numeric, to_ascii_digits

E = TypeVar("E", bound=LabeledEnum)

# --- labels ------------------------------------------------------------------------------


def _schema_labels() -> tuple[dict[str, str], dict[str, str]]:
    from crm_xl.domain.schema import FORMS

    fa: dict[str, str] = {}
    en: dict[str, str] = {}
    for form in FORMS.values():
        for part in form.parts:
            for f in part.fields:
                fa.setdefault(f.key, f.fa)
                en.setdefault(f.key, f.en)
    return fa, en


_FA, _EN = _schema_labels()
_EXTRA_LABELS: dict[str, tuple[str, str]] = {
    "party": ("مشخصات شخص / شرکت", "Party"),
    "first_contact_at": ("تاریخ و ساعت اولین تماس", "First contact"),
    "result_stage": ("وضعیت حاصل", "Resulting status"),
    "next": ("اقدام بعدی", "Next action"),
    "owner": ("مسئول اقدام", "Responsible expert"),
    "due_at": ("موعد اقدام", "Due"),
    "estimated_minutes": ("زمان تخمینی (دقیقه)", "Estimated minutes"),
    "opened_at": ("تاریخ تشکیل پرونده", "Opened"),
    "signed_at": ("تاریخ قرارداد", "Contract date"),
    "issued_at": ("تاریخ و ساعت صدور", "Issued"),
    "services": ("خدمات", "Services"),
    "contract_no": ("شماره قرارداد", "Contract number"),
}
#: Persian label of every field key (schema labels first, then model-only names).
FIELD_LABELS_FA: dict[str, str] = {
    **_FA,
    **{k: v[0] for k, v in _EXTRA_LABELS.items() if k not in _FA},
}
FIELD_LABELS_EN: dict[str, str] = {
    **_EN,
    **{k: v[1] for k, v in _EXTRA_LABELS.items() if k not in _EN},
}


def _err(fa: str, en: str, code: str = "constraint-error") -> InputError:
    return InputError(fa, en, code=code)


class RuleErrors(ValueError):
    """Cross-field rule violations of one model; ``explain`` gives each its own field."""

    def __init__(self, problems: list[tuple[str, object, str, str]]) -> None:
        self.problems = problems  # (field, value, fa, en)
        super().__init__("; ".join(f"{f}: {fa} / {en}" for f, _, fa, en in problems))


class _Rules:
    """Collects rule violations inside a model validator."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, object, str, str]] = []

    def add(self, field: str, value: object, fa: str, en: str) -> None:
        self.problems.append((field, value, fa, en))

    def raise_if_any(self) -> None:
        if self.problems:
            raise RuleErrors(self.problems)


# --- value parsers (BeforeValidators) ---------------------------------------------------------


def _blank(v: object) -> bool:
    return (
        v is None
        or (isinstance(v, float) and v != v)
        or (isinstance(v, str) and normalize(v) == "")
    )


def _opt_text(v: object) -> str | None:
    if _blank(v):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)  # a number typed into a text cell comes back as 12.0
    return normalize(v)


def _req_text(v: object) -> str:
    text = _opt_text(v)
    if text is None:
        raise _err("الزامی است", "is required")
    return text


def _enum(cls: type[E]) -> Callable[[object], E | None]:
    def parse(v: object) -> E | None:
        if _blank(v):
            return None
        try:
            return cls.parse(v)
        except ValueError:
            raise _err(
                f"مقدار مجاز نیست؛ مقادیر مجاز: {'، '.join(cls.labels())}",
                f"not an allowed value; allowed: {', '.join(m.en for m in cls)}",
            ) from None

    return parse


def _req_enum(cls: type[E]) -> Callable[[object], E]:
    optional = _enum(cls)

    def parse(v: object) -> E:
        member = optional(v)
        if member is None:
            raise _err("الزامی است", "is required")
        return member

    return parse


def _bool(v: object) -> bool | None:
    if _blank(v):
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    text = normalize(v).casefold()
    if text in ("true", "1", "✓", "✔", "دارد", "هست"):
        return True
    if text in ("false", "0", "✗", "ندارد", "نیست"):
        return False
    try:
        return YesNo.parse(text) is YesNo.YES
    except ValueError:
        raise _err("باید «بله» یا «خیر» باشد", "must be yes or no", "type-error") from None


def _req_bool(v: object) -> bool:
    value = _bool(v)
    if value is None:
        raise _err("الزامی است", "is required")
    return value


def _int(v: object, *, minimum: int, what_fa: str, what_en: str) -> int | None:
    if _blank(v):
        return None
    if isinstance(v, bool):
        raise _err("عدد نیست", "not a number", "type-error")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, str):
        text = normalize_numeric(v)
        if to_ascii_digits(normalize(v)).startswith(("-", "−")):
            text = "-" + text  # a leading minus is a sign, not a separator
        for unit in ("ریال", "rial", "rials"):
            text = text.removesuffix(unit)
        if re.fullmatch(r"-?\d+(\.0+)?", text):
            v = int(text.split(".")[0])
        else:
            raise _err(
                f"{what_fa} باید عدد صحیح باشد", f"{what_en} must be a whole number", "type-error"
            )
    if not isinstance(v, int):
        raise _err(
            f"{what_fa} باید عدد صحیح باشد", f"{what_en} must be a whole number", "type-error"
        )
    if v < minimum:
        raise _err(f"{what_fa} باید دست‌کم {minimum} باشد", f"{what_en} must be at least {minimum}")
    return v


def _rial(minimum: int) -> Callable[[object], int | None]:
    return lambda v: _int(v, minimum=minimum, what_fa="مبلغ ریالی", what_en="a Rial amount")


def _req_rial(v: object) -> int:
    if _blank(v):
        raise _err("الزامی است", "is required")
    amount = _rial(1)(v)
    assert amount is not None
    return amount


def _count(v: object) -> int | None:
    return _int(v, minimum=0, what_fa="مقدار", what_en="the value")


def _opt_date(v: object) -> date | None:
    return None if _blank(v) else parse_date(v)


def _opt_datetime(v: object) -> datetime | None:
    return None if _blank(v) else parse_datetime(v)


def _req_datetime(v: object) -> datetime:
    if _blank(v):
        raise _err("الزامی است", "is required")
    return parse_datetime(v)


def _req_date(v: object) -> date:
    if _blank(v):
        raise _err("الزامی است", "is required")
    return parse_date(v)


def _national_code(v: object) -> str | None:
    return None if _blank(v) else ids.normalize_national_code(_int_text(v))


def _int_text(v: object) -> object:
    # Excel hands numeric identifiers back as floats (12345678.0).
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _numeric_text(v: object) -> str | None:
    # Registration numbers are digits typed any way; keep them as text ("12345").
    return None if _blank(v) else _opt_text(normalize_numeric(_int_text(v)))


def _legal_id(v: object) -> str | None:
    if _blank(v):
        return None
    d = normalize_numeric(_int_text(v))
    if len(d) != 11 or not d.isdigit():
        raise _err("شناسه ملی باید ۱۱ رقم باشد", "a legal national ID has 11 digits")
    if not ids.is_legal_id(d):
        raise _err("شناسه ملی نامعتبر است (رقم کنترل)", "invalid legal national ID (check digit)")
    return d


def _economic_code(v: object) -> str | None:
    if _blank(v):
        return None
    d = normalize_numeric(_int_text(v))
    if not d.isdigit() or len(d) not in (11, 14):
        raise _err(
            "کد اقتصادی باید ۱۱ رقم (حقوقی) یا ۱۴ رقم (حقیقی) باشد",
            "an economic code has 11 digits (legal) or 14 digits (natural person)",
        )
    if not ids.is_economic_code(d):
        raise _err(
            "کد اقتصادی ۱۱ رقمی باید شناسه ملی معتبر باشد",
            "an 11-digit economic code must be a valid legal ID",
        )
    return d


def _postal_code(v: object) -> str | None:
    if _blank(v):
        return None
    d = normalize_numeric(_int_text(v))
    if len(d) != 10 or not d.isdigit():
        raise _err("کد پستی باید ۱۰ رقم باشد", "a postal code has 10 digits")
    return d


def _mobile(v: object) -> str | None:
    return None if _blank(v) else ids.normalize_mobile(_int_text(v))


def _phone(v: object) -> str | None:
    return None if _blank(v) else ids.normalize_phone(_int_text(v))


def _email(v: object) -> str | None:
    if _blank(v):
        return None
    text = normalize(v)
    if not ids.is_email(text):
        raise _err("نشانی ایمیل نامعتبر است", "not an email address", "type-error")
    local, _, domain = text.partition("@")
    return f"{local}@{domain.lower()}"


def _website(v: object) -> str | None:
    return None if _blank(v) else ids.normalize_website(v)


_CATEGORY_SEP = re.compile(r"\s*[>/›»\\|]\s*")


def _category(v: object) -> str | None:
    """Tree path with one separator: "صنعتی > پتروشیمی" → "صنعتی › پتروشیمی"."""
    if _blank(v):
        return None
    parts = [p for p in (normalize(x) for x in _CATEGORY_SEP.split(normalize(v))) if p]
    return " › ".join(parts) or None


def _tax_id(v: object) -> str | None:
    if _blank(v):
        return None
    ids.parse_tax_id(v)  # raises InputError with the reason
    return normalize_numeric(v).upper()


def _products(v: object) -> list[str]:
    if _blank(v):
        return []
    items = v if isinstance(v, list | tuple) else re.split(r"[,،;؛\n]", str(v))
    return [t for t in (normalize(_int_text(x)) for x in items) if t]


# Annotated field types: the BeforeValidator does the work, the declared type documents it.
OptText = Annotated[str | None, BeforeValidator(_opt_text)]
ReqText = Annotated[str, BeforeValidator(_req_text)]
OptDate = Annotated[date | None, BeforeValidator(_opt_date)]
ReqDate = Annotated[date, BeforeValidator(_req_date)]
OptDateTime = Annotated[datetime | None, BeforeValidator(_opt_datetime)]
ReqDateTime = Annotated[datetime, BeforeValidator(_req_datetime)]
OptBool = Annotated[bool | None, BeforeValidator(_bool)]
Count = Annotated[int | None, BeforeValidator(_count)]
Rial = Annotated[int | None, BeforeValidator(_rial(0))]
PositiveRial = Annotated[int | None, BeforeValidator(_rial(1))]


def _alias(*names: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(*names))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=False)


# --- party ---------------------------------------------------------------------------------

NATURAL_FIELDS = (
    "first_name",
    "last_name",
    "national_code",
    "birth_date",
    "gender",
    "marital_status",
)
LEGAL_FIELDS = (
    "company_name",
    "legal_id",
    "registration_no",
    "registration_date",
    "company_type",
    "activity",
    "staff_count",
    "turnover",
)


class Party(_Model):
    """A natural person (حقیقی) or a legal entity (حقوقی), seed 004's party fields."""

    person_type: Annotated[PersonType, BeforeValidator(_req_enum(PersonType))]
    # natural
    first_name: OptText = None
    last_name: OptText = None
    national_code: Annotated[str | None, BeforeValidator(_national_code)] = None
    birth_date: OptDate = None
    gender: Annotated[Gender | None, BeforeValidator(_enum(Gender))] = None
    marital_status: Annotated[MaritalStatus | None, BeforeValidator(_enum(MaritalStatus))] = None
    # legal
    company_name: OptText = None
    legal_id: Annotated[str | None, BeforeValidator(_legal_id)] = None
    registration_no: Annotated[str | None, BeforeValidator(_numeric_text)] = None
    registration_date: OptDate = None
    company_type: Annotated[CompanyType | None, BeforeValidator(_enum(CompanyType))] = None
    activity: OptText = None
    staff_count: Count = None
    turnover: Rial = None
    # both
    economic_code: Annotated[str | None, BeforeValidator(_economic_code)] = None
    postal_code: Annotated[str | None, BeforeValidator(_postal_code)] = None
    phone: Annotated[str | None, BeforeValidator(_phone)] = None
    fax: Annotated[str | None, BeforeValidator(_phone)] = None
    mobile: Annotated[str | None, BeforeValidator(_mobile)] = None
    email: Annotated[str | None, BeforeValidator(_email)] = None
    website: Annotated[str | None, BeforeValidator(_website)] = None
    address: OptText = None
    category: Annotated[str | None, BeforeValidator(_category)] = None

    @model_validator(mode="after")
    def _by_person_type(self) -> Self:
        rules = _Rules()
        natural = self.person_type is PersonType.NATURAL
        if natural:
            for f, fa, en in (
                ("first_name", "نام", "first name"),
                ("last_name", "نام خانوادگی", "last name"),
            ):
                if not getattr(self, f):
                    rules.add(
                        f, None, f"{fa} شخص حقیقی الزامی است", f"a natural person needs a {en}"
                    )
        elif not self.company_name:
            rules.add(
                "company_name",
                None,
                "نام شرکت برای شخص حقوقی الزامی است",
                "a legal entity needs a company name",
            )
        wrong = LEGAL_FIELDS if natural else NATURAL_FIELDS
        kind_fa, kind_en = ("حقیقی", "a natural person") if natural else ("حقوقی", "a legal entity")
        for f in wrong:
            value = getattr(self, f)
            if value is not None:
                rules.add(
                    f,
                    value,
                    f"این فیلد برای شخص {kind_fa} نیست",
                    f"this field does not apply to {kind_en}",
                )
        if self.economic_code:
            if natural and len(self.economic_code) != 14:
                rules.add(
                    "economic_code",
                    self.economic_code,
                    "کد اقتصادی شخص حقیقی ۱۴ رقم است",
                    "a natural person's economic code has 14 digits",
                )
            if not natural and len(self.economic_code) != 11:
                rules.add(
                    "economic_code",
                    self.economic_code,
                    "کد اقتصادی شخص حقوقی ۱۱ رقم (همان شناسه ملی) است",
                    "a legal entity's economic code has 11 digits (its legal ID)",
                )
            elif not natural and self.legal_id and self.economic_code != self.legal_id:
                rules.add(
                    "economic_code",
                    self.economic_code,
                    "کد اقتصادی شخص حقوقی باید با شناسه ملی یکی باشد",
                    "a legal entity's economic code equals its legal ID",
                )
        rules.raise_if_any()
        return self

    @property
    def display_name(self) -> str:
        """Name as shown in the register and in folder names."""
        if self.person_type is PersonType.LEGAL:
            return self.company_name or ""
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def national_id(self) -> str | None:
        """National code (natural) or legal ID (legal): the register's one identity column."""
        return self.national_code if self.person_type is PersonType.NATURAL else self.legal_id

    def warnings(self) -> list[str]:
        """Non-blocking findings ("fa / en"), e.g. a postal code that breaks the usual pattern."""
        return ids.check_postal_code(self.postal_code) if self.postal_code else []


PARTY_FIELDS = frozenset(Party.model_fields)


# --- customer and follow-ups ------------------------------------------------------------------

POST_SALE = frozenset({Stage.WON, Stage.CRM_DONE, Stage.CLOSED})


class Customer(_Model):
    """A registered customer (F-31-08-01 registration block, one row of F-31-08-02)."""

    customer_no: ReqText
    party: Party
    channel: Annotated[Channel, BeforeValidator(_req_enum(Channel))]
    expert: ReqText
    first_contact_at: ReqDateTime = Field(
        validation_alias=AliasChoices("first_contact_at", "first_contact")
    )
    need: OptText = None
    referrer: OptText = None
    stage: Annotated[Stage, BeforeValidator(lambda v: _enum(Stage)(v) or Stage.FIRST_CONTACT)] = (
        Stage.FIRST_CONTACT
    )
    importance: Annotated[Importance | None, BeforeValidator(_enum(Importance))] = None
    priority: Annotated[Priority | None, BeforeValidator(_enum(Priority))] = None
    org_unit: OptText = None
    sales_rep: OptText = None
    contact_person: OptText = None
    crm_done_at: OptDate = _alias("crm_done_at", "crm_done")
    closed_at: OptDate = _alias("closed_at", "closed")

    @model_validator(mode="before")
    @classmethod
    def _fold_party(cls, data: Any) -> Any:
        # A registration block is flat: party fields sit beside the customer's.
        if isinstance(data, Mapping) and "party" not in data:
            data = dict(data)
            data["party"] = {k: data.pop(k) for k in list(data) if k in PARTY_FIELDS}
        return data

    @model_validator(mode="after")
    def _identity_after_sale(self) -> Self:
        # Schema: the national code / legal ID is required from the WON stage (invoices need it).
        if self.stage in POST_SALE and not self.party.national_id:
            f = "national_code" if self.party.person_type is PersonType.NATURAL else "legal_id"
            raise RuleErrors(
                [
                    (
                        f"party.{f}",
                        None,
                        "پس از فروش الزامی است",
                        "is required once the customer has bought",
                    )
                ]
            )
        return self

    @property
    def name(self) -> str:
        return self.party.display_name


class PlannedAction(_Model):
    """The next action planned with a follow-up; open ones make each expert's task list."""

    type: Annotated[FollowUpType, BeforeValidator(_req_enum(FollowUpType))]
    owner: ReqText
    due_at: ReqDateTime
    description: OptText = None
    estimated_minutes: Count = None


_NEXT_KEYS = {
    "next_type": "type",
    "next_action": "description",
    "next_owner": "owner",
    "next_due": "due_at",
    "next_minutes": "estimated_minutes",
}


class FollowUp(_Model):
    """One follow-up row of F-31-08-01 with its planned next action."""

    at: ReqDateTime
    type: Annotated[FollowUpType, BeforeValidator(_req_enum(FollowUpType))]
    expert: ReqText
    description: OptText = None
    minutes: Count = None
    result_stage: Annotated[Stage | None, BeforeValidator(_enum(Stage))] = _alias(
        "result_stage", "result"
    )
    next: PlannedAction | None = None
    row_no: Count = None

    @model_validator(mode="before")
    @classmethod
    def _fold_next(cls, data: Any) -> Any:
        # The form's row has flat next_* columns; an all-blank set means no planned action.
        if isinstance(data, Mapping) and any(k in data for k in _NEXT_KEYS):
            data = dict(data)
            nxt = {v: data.pop(k, None) for k, v in _NEXT_KEYS.items()}
            if any(not _blank(v) for v in nxt.values()) and "next" not in data:
                if _blank(nxt["owner"]):
                    nxt["owner"] = data.get("expert")  # the expert plans for themself by default
                data["next"] = nxt
        return data

    @model_validator(mode="after")
    def _due_after(self) -> Self:
        if self.next is not None and self.next.due_at <= self.at:
            raise RuleErrors(
                [
                    (
                        "next.due_at",
                        self.next.due_at,
                        "موعد اقدام بعدی باید پس از زمان پیگیری باشد",
                        "the next action must be due after the follow-up",
                    )
                ]
            )
        return self


# --- cases, contracts, invoices -------------------------------------------------------------


class Case(_Model):
    """A sales case (پرونده فروش, R6): one negotiation that became a sale."""

    case_no: ReqText
    customer_no: ReqText
    opened_at: ReqDateTime = Field(validation_alias=AliasChoices("opened_at", "opened"))
    expert: OptText = None
    products: Annotated[list[str], BeforeValidator(_products)] = Field(default_factory=list)
    amount: Rial = None
    status: Annotated[
        CaseStatus, BeforeValidator(lambda v: _enum(CaseStatus)(v) or CaseStatus.OPEN)
    ] = CaseStatus.OPEN


class Contract(_Model):
    """A contract (R7) of a case."""

    contract_no: ReqText
    case_no: ReqText
    signed_at: ReqDate = Field(validation_alias=AliasChoices("signed_at", "contract_date"))
    amount: PositiveRial = None


class Invoice(_Model):
    """A sales invoice (R8); ``tax_id`` is the 22-character INTA id when a memory id is set."""

    invoice_no: ReqText
    case_no: ReqText
    issued_at: ReqDateTime = Field(validation_alias=AliasChoices("issued_at", "issued"))
    amount: Annotated[int, BeforeValidator(_req_rial)]
    customer_no: OptText = None
    tax_id: Annotated[str | None, BeforeValidator(_tax_id)] = None

    @model_validator(mode="after")
    def _tax_day(self) -> Self:
        # The id carries the UTC day of issue.  A date typed without a time is Tehran 00:00,
        # i.e. the previous UTC day, so accept either UTC day that overlaps the Tehran date.
        if self.tax_id:
            day = ids.parse_tax_id(self.tax_id).day
            local = self.issued_at.astimezone(TEHRAN).date()
            start = (
                datetime.combine(local, datetime.min.time(), tzinfo=TEHRAN).astimezone(UTC).date()
            )
            if day not in (start, start + timedelta(days=1)):
                raise RuleErrors(
                    [
                        (
                            "tax_id",
                            self.tax_id,
                            f"روز صدور در شماره مالیاتی ({day}) با تاریخ فاکتور نمی‌خواند",
                            f"the issue day inside the tax id ({day}) does not match the invoice date",
                        )
                    ]
                )
        return self


# After-sales (F-31-07-01): ServiceItem and AfterSalesProfile live with their rules in
# crm_xl.domain.aftersales (seed 003), built on the value parsers above.


# --- errors for people ----------------------------------------------------------------------


class ModelInputError(InputError):
    """Several field problems of one record; ``errors`` holds one InputError per problem."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        first = errors[0]

        def line(e: InputError, text: str) -> str:
            return f"{text} ({e.location.cell})" if e.location.cell else text

        super().__init__(
            "\n".join(line(e, e.fa) for e in errors),
            "\n".join(line(e, e.en) for e in errors),
            code=first.code,
            file=first.location.file,
            sheet=first.location.sheet,
            cell=first.location.cell,
            field=first.location.field,
        )


_PYDANTIC_FA: dict[str, tuple[str, str, str]] = {
    "missing": ("الزامی است", "is required", "constraint-error"),
    "extra_forbidden": ("فیلد ناشناخته", "unknown field", "constraint-error"),
    "bool_parsing": ("باید «بله» یا «خیر» باشد", "must be yes or no", "type-error"),
    "bool_type": ("باید «بله» یا «خیر» باشد", "must be yes or no", "type-error"),
    "int_parsing": ("باید عدد صحیح باشد", "must be a whole number", "type-error"),
    "int_type": ("باید عدد صحیح باشد", "must be a whole number", "type-error"),
    "string_type": ("باید متن باشد", "must be text", "type-error"),
    "list_type": ("باید فهرست باشد", "must be a list", "type-error"),
    "model_type": ("ساختار داده نادرست است", "wrong structure", "type-error"),
    "dict_type": ("ساختار داده نادرست است", "wrong structure", "type-error"),
}


def _field_label(loc: tuple[str | int, ...]) -> tuple[str, str, str]:
    """(path, Persian label, English label) for a pydantic location."""
    path = ".".join(str(p) for p in loc)
    names = [p for p in loc if isinstance(p, str)]
    rows = [p for p in loc if isinstance(p, int)]
    if not names:
        return path, "رکورد", "record"
    key = names[-1]
    fa = FIELD_LABELS_FA.get(key, key)
    en = FIELD_LABELS_EN.get(key, key)
    if rows:
        fa, en = f"{fa} (ردیف {rows[-1] + 1})", f"{en} (row {rows[-1] + 1})"
    return path, fa, en


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, LabeledEnum):
        return value.fa
    if isinstance(value, datetime | date):
        from crm_xl.domain.dates import to_jalali_str

        return to_jalali_str(value, with_time=isinstance(value, datetime))
    if isinstance(value, Mapping):
        return ""
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _one(
    loc: tuple[str | int, ...],
    value: object,
    fa: str,
    en: str,
    code: str,
    file: str | None,
    sheet: str | None,
    cells: Mapping[str, str] | None,
) -> InputError:
    path, label_fa, label_en = _field_label(loc)
    shown = _shown(value)
    # ids' own messages start with the value; say it once, in the head.
    fa = fa.removeprefix(f"«{value}»: ")
    en = en.removeprefix(f"'{value}': ")
    has_value = bool(shown) and f"«{shown}»" not in fa
    head_fa = f"{label_fa}: «{shown}» — " if has_value else f"{label_fa}: "
    head_en = f"{label_en}: '{shown}' — " if has_value else f"{label_en}: "
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), path)
    cell = (cells.get(path) or cells.get(key)) if cells else None
    return InputError(
        head_fa + fa, head_en + en, code=code, file=file, sheet=sheet, cell=cell, field=path
    )


def explain(
    exc: ValidationError,
    file: str | None = None,
    sheet: str | None = None,
    cells: Mapping[str, str] | None = None,
) -> list[CrmError]:
    """One bilingual InputError per problem, naming field (Persian label), value and reason.

    ``cells`` maps a field path ("party.national_code") or key ("national_code") to its cell.
    """
    out: list[CrmError] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        source = (err.get("ctx") or {}).get("error")
        if isinstance(source, RuleErrors):
            for field, value, fa, en in source.problems:
                sub = tuple(int(p) if p.isdigit() else p for p in field.split("."))
                out.append(_one(loc + sub, value, fa, en, "constraint-error", file, sheet, cells))
        elif isinstance(source, CrmError):
            out.append(
                _one(loc, err["input"], source.fa, source.en, source.code, file, sheet, cells)
            )
        else:
            fa, en, code = _PYDANTIC_FA.get(
                err["type"], ("مقدار نامعتبر است", err["msg"], "type-error")
            )
            value = None if err["type"] == "missing" else err["input"]
            out.append(_one(loc, value, fa, en, code, file, sheet, cells))
    return out


M = TypeVar("M", bound=BaseModel)


def _known_keys(cls: type[BaseModel]) -> set[str]:
    keys: set[str] = set()
    for name, f in cls.model_fields.items():
        keys.add(name)
        if isinstance(f.validation_alias, AliasChoices):
            keys.update(c for c in f.validation_alias.choices if isinstance(c, str))
    if cls is Customer:
        keys |= PARTY_FIELDS
    if cls is FollowUp:
        keys |= set(_NEXT_KEYS)
    return keys


def validate_model(
    cls: type[M],
    data: Mapping[str, Any],
    *,
    file: str | None = None,
    sheet: str | None = None,
    cells: Mapping[str, str] | None = None,
    ignore_extra: bool = False,
) -> M:
    """``cls.model_validate(data)`` or :class:`ModelInputError` naming every bad field.

    ``ignore_extra`` drops keys the model does not know (a register row has display-only
    columns such as the customer name); without it they are reported as unknown fields.
    """
    if ignore_extra:
        known = _known_keys(cls)
        data = {k: v for k, v in data.items() if k in known}
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        errors = [e for e in explain(exc, file, sheet, cells) if isinstance(e, InputError)]
        raise ModelInputError(errors) from None


__all__ = [
    "FIELD_LABELS_EN",
    "FIELD_LABELS_FA",
    "Case",
    "Contract",
    "Customer",
    "FollowUp",
    "Invoice",
    "ModelInputError",
    "Party",
    "PlannedAction",
    "RuleErrors",
    "explain",
    "validate_model",
]
