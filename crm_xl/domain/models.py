"""The entry rules of crm_xl, declared once (SPEC §5, §10 "One rule set").

What a record may hold is decided here and nowhere else.  Every write decision
(:mod:`crm_xl.domain.decide`: the CLI, the Python API and the Excel buttons) validates its
input through the pydantic models below, and ``validate`` (:mod:`crm_xl.validation.rules`)
reports from the same functions: what a write accepts, validate accepts; what validate calls
an error, no write creates.  The rules are driven by the form schema:

* **values**: :func:`parse_value` gives the canonical value of a filled field of a schema
  type, or an ``InputError`` whose code is the finding code validate reports
  (``identifier-error``, ``date-error``, ``enum-error``, ``type-error``, ``constraint-error``).
  Bounds: counts and minutes are whole and ≥ 0; contract and invoice amounts are whole,
  positive Rials.
* **required fields**: :func:`required_now` reads ``required``, ``required_from`` (the stage
  from which a field must be filled; the write that enters that stage enforces it, see
  :func:`newly_required`) and the person type a field applies to.
* **cross-field rules**: :func:`party_problems` (name, identifiers and fields by person type),
  :class:`Order` (temporal order), :func:`planned_action_problems`, :func:`tax_day_matches`.
  Whether a number is void is ``enums.is_void`` of its flag.

Decision: «نیاز مشتری» (``need``) is required at registration.  R1 says the expert records
"all the customer's data and needs" in F-31-08-01 at first contact, and the form declares it
required; so ``customer add`` (and the button, and lead import) refuse a customer without it,
as validate reports a form without it.

Validators raise :class:`~crm_xl.domain.errors.InputError` (a ``ValueError``) so the Persian
and English reasons survive pydantic; :func:`explain` turns a ``ValidationError`` into one
``InputError`` per problem naming the field (Persian label), the value and the reason, and
:func:`validate_model` raises them as one :class:`ModelInputError`.  Model fields are the
schema's keys; a flat registration block (party fields beside the customer's) folds into
:class:`Customer`, so a block read from a form validates as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, NamedTuple, Self, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from crm_xl.domain import ids, lifecycle
from crm_xl.domain.dates import TEHRAN, parse_date, parse_datetime
from crm_xl.domain.enums import (
    ENUMS,
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
    RecordStatus,
    Stage,
    YesNo,
    is_void,
)
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.schema import (
    CASES,
    FOLLOWUPS,
    INVOICES,
    NUMBER_KINDS,
    REGISTRATION,
    Block,
    FieldType,
    Table,
)
from crm_xl.domain.schema import Field as SchemaField
from crm_xl.domain.text import normalize, normalize_numeric, to_ascii_digits

E = TypeVar("E", bound=LabeledEnum)
T = FieldType

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
    "services": ("خدمات", "Services"),
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

    def extend(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            self.add(p.field, p.value, p.fa, p.en)

    def raise_if_any(self) -> None:
        if self.problems:
            raise RuleErrors(self.problems)


class Problem(NamedTuple):
    """A cross-field rule broken by a record: the field to blame and the finding code."""

    field: str
    value: object
    fa: str
    en: str
    code: str = "cross-field-error"

    def error(self) -> InputError:
        return InputError(self.fa, self.en, code=self.code, field=self.field)


# --- value parsers -------------------------------------------------------------------------


def _blank(v: object) -> bool:
    return (
        v is None
        or (isinstance(v, float) and v != v)
        or (isinstance(v, str) and normalize(v) == "")
    )


def _int_text(v: object) -> object:
    # Excel hands numbers typed into text cells back as floats (12345678.0).
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _opt_text(v: object) -> str | None:
    return None if _blank(v) else normalize(_int_text(v))


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
    """A whole number ≥ ``minimum``, as typed: Persian digits, digit grouping, "ریال"."""
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
        for unit in ("ریال", "rials", "rial"):
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


def _opt_date(v: object) -> date | None:
    return None if _blank(v) else parse_date(v)


# Annotated field types: the BeforeValidator does the work, the declared type documents it.
OptText = Annotated[str | None, BeforeValidator(_opt_text)]
ReqText = Annotated[str, BeforeValidator(_req_text)]
OptDate = Annotated[date | None, BeforeValidator(_opt_date)]
OptBool = Annotated[bool | None, BeforeValidator(_bool)]
Rial = Annotated[int | None, BeforeValidator(_rial(0))]


# --- the value rule of each schema field type --------------------------------------------------

#: Smallest value of a number field: contract and invoice amounts are positive whole Rials.
_MINIMUM: dict[str, int] = {"amount": 1}


def minimum(f: SchemaField) -> int:
    """The smallest value a number field (integer or Rial) accepts."""
    return _MINIMUM.get(f.key, 0)


def _recoded(code: str, parse: Callable[[object], object], v: object) -> object:
    try:
        return parse(v)
    except InputError as e:
        if e.code == code:
            raise
        raise InputError(e.fa, e.en, code=code) from None


def _text(f: SchemaField, v: object) -> object:
    v = _int_text(v)
    if f.type == T.LONGTEXT:  # a long note keeps its line breaks
        return "\n".join(normalize(line) for line in str(v).splitlines()).strip("\n")
    return normalize(v)


_CATEGORY_SEP = re.compile(r"\s*[>/›»\\|]\s*")


def _category(f: SchemaField, v: object) -> object:
    """Tree path with one separator: "صنعتی > پتروشیمی" → "صنعتی › پتروشیمی"."""
    parts = [p for p in (normalize(x) for x in _CATEGORY_SEP.split(normalize(v))) if p]
    return " › ".join(parts)


def _number(f: SchemaField, v: object) -> object:
    what = ("مبلغ ریالی", "a Rial amount") if f.type == T.RIAL else ("مقدار", "the value")
    return _int(v, minimum=minimum(f), what_fa=what[0], what_en=what[1])


def _decimal(f: SchemaField, v: object) -> object:
    """A quantity or a rate: may have a fraction («۲٫۵», "2.5"), never negative."""
    if isinstance(v, bool):
        raise _err(f"«{v}» عدد نیست", f"'{v}' is not a number", "type-error")
    if isinstance(v, int | float):
        value = float(v)
    else:
        text = normalize_numeric(str(v)).replace("٫", ".").replace("/", ".")
        try:
            value = float(text)
        except ValueError:
            raise _err(f"«{v}» عدد نیست", f"'{v}' is not a number", "type-error") from None
    if value != value or value < 0 or value in (float("inf"),):
        raise _err(
            "مقدار باید عددی نامنفی باشد", "the value must be a number ≥ 0", "constraint-error"
        )
    return value


def _date(f: SchemaField, v: object) -> object:
    if isinstance(v, bool | timedelta | time):
        raise _err(f"«{v}» تاریخ نیست", f"'{v}' is not a date", "date-error")
    parse = parse_datetime if f.type == T.DATETIME else parse_date
    return _recoded("date-error", parse, v)


def _choice(f: SchemaField, v: object) -> object:
    cls = ENUMS[f.enum or ""]
    try:
        return cls.parse(v)
    except ValueError:  # the keys are what a command line takes; the labels what a cell shows
        raise _err(
            f"مقدار مجاز نیست؛ مقادیر مجاز: {'، '.join(cls.labels())}",
            f"not an allowed value; allowed: {', '.join(m.value for m in cls)}",
            "enum-error",
        ) from None


def _national_code(f: SchemaField, v: object) -> object:
    return _recoded("identifier-error", ids.normalize_national_code, _int_text(v))


def _legal_id(f: SchemaField, v: object) -> object:
    d = normalize_numeric(_int_text(v))
    if len(d) != 11 or not d.isdigit():
        raise _err(
            "شناسه ملی باید ۱۱ رقم باشد", "a legal national ID has 11 digits", "identifier-error"
        )
    if not ids.is_legal_id(d):
        raise _err(
            "شناسه ملی نامعتبر است (رقم کنترل)",
            "invalid legal national ID (check digit)",
            "identifier-error",
        )
    return d


def _national_id(f: SchemaField, v: object) -> object:
    """The register's one identity column: a national code or a legal ID (the row's person
    type decides which; validate checks it per row with :func:`identity_field`)."""
    d = normalize_numeric(_int_text(v))
    if ids.is_legal_id(d):
        return d
    return _national_code(f, v)


def _economic_code(f: SchemaField, v: object) -> object:
    d = normalize_numeric(_int_text(v))
    if not d.isdigit() or len(d) not in (11, 14):
        raise _err(
            "کد اقتصادی باید ۱۱ رقم (حقوقی) یا ۱۴ رقم (حقیقی) باشد",
            "an economic code has 11 digits (legal) or 14 digits (natural person)",
            "identifier-error",
        )
    if not ids.is_economic_code(d):
        raise _err(
            "کد اقتصادی ۱۱ رقمی باید شناسه ملی معتبر باشد",
            "an 11-digit economic code must be a valid legal ID",
            "identifier-error",
        )
    return d


def _postal_code(f: SchemaField, v: object) -> object:
    d = normalize_numeric(_int_text(v))
    if len(d) != 10 or not d.isdigit():
        raise _err("کد پستی باید ۱۰ رقم باشد", "a postal code has 10 digits", "identifier-error")
    return d  # the heuristic checks (ids.check_postal_code) are warnings, never refusals


def _mobile(f: SchemaField, v: object) -> object:
    return _recoded("identifier-error", ids.normalize_mobile, _int_text(v))


def _phone(f: SchemaField, v: object) -> object:
    return _recoded("identifier-error", ids.normalize_phone, _int_text(v))


def _email(f: SchemaField, v: object) -> object:
    text = normalize(v)
    if not ids.is_email(text):
        raise _err("نشانی ایمیل نامعتبر است", "not an email address", "type-error")
    local, _, domain = text.partition("@")
    return f"{local}@{domain.lower()}"


def _website(f: SchemaField, v: object) -> object:
    return _recoded("type-error", ids.normalize_website, v)


def _tax_id(f: SchemaField, v: object) -> object:
    _recoded("tax-id-error", ids.parse_tax_id, v)  # raises with the reason
    return normalize_numeric(v).upper()


def _serial_number(f: SchemaField, v: object) -> object:
    # Issued by the numbering service; its pattern is a setting, checked by validate.
    return to_ascii_digits(normalize(_int_text(v)))


_PARSERS: dict[FieldType, Callable[[SchemaField, object], object]] = {
    T.TEXT: _text,
    T.LONGTEXT: _text,
    T.CATEGORY: _category,
    T.INTEGER: _number,
    T.RIAL: _number,
    T.DECIMAL: _decimal,
    T.DATE: _date,
    T.DATETIME: _date,
    T.ENUM: _choice,
    T.NATIONAL_CODE: _national_code,
    T.LEGAL_ID: _legal_id,
    T.NATIONAL_ID: _national_id,
    T.ECONOMIC_CODE: _economic_code,
    T.POSTAL_CODE: _postal_code,
    T.MOBILE: _mobile,
    T.PHONE: _phone,
    T.EMAIL: _email,
    T.URL: _website,
    T.TAX_ID: _tax_id,
    **dict.fromkeys(NUMBER_KINDS.values(), _serial_number),
}


def parse_value(f: SchemaField, v: object) -> object:
    """The canonical value of a filled field, or InputError with the finding code.

    Dates come back as ``date`` (DATE) or aware Tehran ``datetime`` (DATETIME), enumerations
    as members, identifiers and phones as canonical text, numbers as ``int``.
    """
    return _PARSERS[f.type](f, v)


def value_of(f: SchemaField) -> BeforeValidator:
    """A pydantic validator applying :func:`parse_value` of ``f`` (blank → None)."""
    return BeforeValidator(lambda v: None if _blank(v) else parse_value(f, v))


def identity_field(person: PersonType | None) -> SchemaField:
    """The F-31-08-01 field holding the identity of a person type (national code / legal ID)."""
    key = "legal_id" if person is PersonType.LEGAL else "national_code"
    return REGISTRATION.field(key)


# --- required fields -----------------------------------------------------------------------


def required_now(f: SchemaField, stage: Stage | None, person: PersonType | None) -> bool:
    """Whether ``f`` must be filled on a record in ``stage`` of ``person`` type.

    ``stage`` None: unknown (or a closed form that cannot tell a sale from a lost customer),
    so only fields required on every record count.
    """
    if f.person and person is not None and f.person != person.value:
        return False
    if f.required:
        return True
    return bool(f.required_from) and stage in lifecycle.at_or_after(f.required_from or "")


def required_reason(f: SchemaField) -> tuple[str, str]:
    """Why a blank field is refused, without its label (``explain`` puts the label first)."""
    if not f.required_from:
        return "لازم است", "is required"
    st = Stage.parse(f.required_from)
    return f"لازم است (از مرحله «{st.fa}»)", f"is required (from stage {st.value})"


def required_message(f: SchemaField) -> tuple[str, str]:
    fa, en = required_reason(f)
    return f"«{f.fa}» {fa}", f"'{f.en}' {en}"


def missing_fields(
    fields: Iterable[SchemaField],
    values: Mapping[str, object],
    stage: Stage | None,
    person: PersonType | None,
) -> list[SchemaField]:
    """The fields required in ``stage`` that ``values`` leaves blank."""
    return [f for f in fields if required_now(f, stage, person) and _blank(values.get(f.key))]


def newly_required(
    fields: Iterable[SchemaField],
    values: Mapping[str, object],
    before: Stage,
    after: Stage,
    person: PersonType | None,
) -> list[SchemaField]:
    """Blank fields that become required when a record moves from ``before`` to ``after``.

    ``required_from`` is enforced by the write that enters the stage; a later write does not
    refuse over a record that was already incomplete (validate reports that one).
    """
    return [
        f
        for f in missing_fields(fields, values, after, person)
        if not required_now(f, before, person)
    ]


def required_error(f: SchemaField, hint_fa: str = "", hint_en: str = "") -> InputError:
    fa, en = required_message(f)
    return InputError(fa + hint_fa, en + hint_en, code="required-error", field=f.key)


def _missing_problems(
    part: Block | Table, values: Mapping[str, object], stage: Stage | None, person: object
) -> list[Problem]:
    p = person if isinstance(person, PersonType) else None
    return [
        Problem(f.key, None, *required_reason(f), "required-error")
        for f in missing_fields(part.fields, values, stage, p)
    ]


# --- cross-field rules ---------------------------------------------------------------------

NATURAL_FIELDS = tuple(f.key for f in REGISTRATION.fields if f.person == PersonType.NATURAL.value)
LEGAL_FIELDS = tuple(f.key for f in REGISTRATION.fields if f.person == PersonType.LEGAL.value)


def party_problems(values: Mapping[str, object], person: object) -> list[Problem]:
    """Rules of a party by person type (values: parsed where valid, else as typed).

    A natural person has a first or last name, a legal entity a company name; the other
    type's fields stay empty (``person-type-field``); the economic code has 14 digits for a
    natural person, 11 (the legal ID itself) for a legal entity.
    """
    if not isinstance(person, PersonType):
        return []
    out: list[Problem] = []
    natural = person is PersonType.NATURAL
    if natural and _blank(values.get("first_name")) and _blank(values.get("last_name")):
        out.append(
            Problem(
                "first_name",
                None,
                "نام یا نام خانوادگی شخص حقیقی لازم است",
                "a natural person needs a first or last name",
                "required-error",
            )
        )
    if not natural and _blank(values.get("company_name")):
        out.append(
            Problem(
                "company_name",
                None,
                "نام شرکت برای شخص حقوقی لازم است",
                "a legal entity needs a company name",
                "required-error",
            )
        )
    kind_fa, kind_en = ("حقیقی", "a natural person") if natural else ("حقوقی", "a legal entity")
    for key in LEGAL_FIELDS if natural else NATURAL_FIELDS:
        value = values.get(key)
        if not _blank(value):
            label = FIELD_LABELS_FA.get(key, key)
            out.append(
                Problem(
                    key,
                    value,
                    f"«{label}» برای شخص {kind_fa} نیست",
                    f"this field does not apply to {kind_en}",
                    "person-type-field",
                )
            )
    code = values.get("economic_code")
    if isinstance(code, str) and code.isdigit():
        if not ids.is_economic_code(code, person):
            out.append(
                Problem(
                    "economic_code",
                    code,
                    "کد اقتصادی با نوع شخص نمی‌خواند (حقیقی ۱۴ رقم، حقوقی ۱۱ رقم)",
                    "the economic code does not fit the person type: a natural person's has "
                    "14 digits, a legal entity's 11 digits",
                    "identifier-error",
                )
            )
        elif not natural and isinstance(values.get("legal_id"), str) and code != values["legal_id"]:
            out.append(
                Problem(
                    "economic_code",
                    code,
                    "کد اقتصادی شخص حقوقی باید با شناسه ملی یکی باشد",
                    "a legal entity's economic code equals its legal ID",
                    "identifier-error",
                )
            )
    return out


#: Codes of problems a write refuses (the others are warnings in validate's catalogue).
_REFUSED = frozenset({"required-error", "identifier-error", "cross-field-error"})


def _instant(v: object) -> datetime | None:
    """A moment as naive Tehran wall time (what validate reads); None when unreadable."""
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.astimezone(TEHRAN).replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, date):
        return datetime.combine(v, time())
    try:
        return parse_datetime(v).replace(tzinfo=None)
    except (InputError, ValueError):
        return None  # an unreadable cell is reported as such, not as an order problem


@dataclass(frozen=True)
class Order:
    """Temporal order of two fields of a record (or of a record and the one it belongs to)."""

    later: str  # the field blamed
    earlier: str
    fa: str
    en: str
    by_day: bool = False  # compare calendar days (a date beside a date-time)
    strict: bool = False  # ``later`` must be after ``earlier``, not at the same moment
    slack: timedelta = timedelta(0)

    def broken(self, earlier: object, later: object) -> bool:
        a, b = _instant(earlier), _instant(later)
        if a is None or b is None:
            return False
        if self.by_day:
            return b.date() <= a.date() if self.strict else b.date() < a.date()
        return b <= a - self.slack if self.strict else b < a - self.slack

    def problem(self, later: object = None) -> Problem:
        return Problem(self.later, later, self.fa, self.en, "cross-field-error")

    def check(self, earlier: object, later: object) -> None:
        """Raise the rule's InputError when ``later`` comes before ``earlier``."""
        if self.broken(earlier, later):
            raise self.problem(later).error()


FOLLOWUP_AFTER_FIRST_CONTACT = Order(
    "at",
    "first_contact",
    "تاریخ پیگیری پیش از اولین تماس است",
    "the follow-up is dated before the first contact",
    slack=timedelta(minutes=1),  # a follow-up logged in the minute of the first contact
)
NEXT_DUE_AFTER_FOLLOWUP = Order(
    "next_due",
    "at",
    "موعد اقدام بعدی باید پس از همین پیگیری باشد",
    "the next action must be due after the follow-up it is planned at",
    strict=True,
)
CONTRACT_AFTER_CASE = Order(
    "contract_date",
    "opened",
    "تاریخ قرارداد پیش از تشکیل پرونده است",
    "the contract is dated before the case was opened",
    by_day=True,
)
INVOICE_AFTER_CASE = Order(
    "issued",
    "opened",
    "تاریخ فاکتور پیش از تشکیل پرونده است",
    "the invoice is dated before the case was opened",
    by_day=True,
)
CLOSED_AFTER_CRM = Order(
    "closed",
    "crm_done",
    "تاریخ بستن پیش از تاریخ انجام CRM است",
    "the closing date is before CRM was done",
    by_day=True,
)
#: Orders a write keeps so that what it records next stays in order (a cancellation is only
#: logged; a reopening plans the next follow-up from its own date).
CANCELLED_AFTER_CASE = Order(
    "at",
    "opened",
    "تاریخ لغو پیش از تشکیل پرونده است",
    "the cancellation is dated before the case was opened",
    by_day=True,
)
REOPENED_AFTER_LAST_CONTACT = Order(
    "at",
    "last_followup",
    "تاریخ بازگشایی پیش از آخرین تماس با مشتری است",
    "the reopening is dated before the last contact with the customer",
)

#: The planned next action's columns besides its due date.
NEXT_ACTION_KEYS = ("next_type", "next_action", "next_owner", "next_minutes")


def planned_action_problems(values: Mapping[str, object]) -> list[Problem]:
    """A planned next action has its due date (else it never reaches a task list)."""
    if _blank(values.get("next_due")) and any(not _blank(values.get(k)) for k in NEXT_ACTION_KEYS):
        return [
            Problem(
                "next_due",
                None,
                "برای اقدام بعدی موعد لازم است",
                "a planned next action needs its due date",
                "required-error",
            )
        ]
    return []


def tax_day_matches(day: date, issued: object) -> bool:
    """Whether the UTC day inside a tax id fits the invoice's issue date.

    A date typed without a time is Tehran 00:00, i.e. the previous UTC day, so either UTC day
    that overlaps the Tehran date is accepted.
    """
    moment = _instant(issued)
    if moment is None:
        return True
    local = moment.date()
    start = datetime.combine(local, time(), tzinfo=TEHRAN).astimezone(UTC).date()
    return day in (start, start + timedelta(days=1))


# --- models ---------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=False)


def _v(part: Block | Table, key: str) -> BeforeValidator:
    return value_of(part.field(key))


R = REGISTRATION


class Party(_Model):
    """A natural person (حقیقی) or a legal entity (حقوقی), seed 004's party fields."""

    person_type: Annotated[PersonType | None, _v(R, "person_type")] = None
    # natural
    first_name: Annotated[str | None, _v(R, "first_name")] = None
    last_name: Annotated[str | None, _v(R, "last_name")] = None
    national_code: Annotated[str | None, _v(R, "national_code")] = None
    birth_date: Annotated[date | None, _v(R, "birth_date")] = None
    gender: Annotated[Gender | None, _v(R, "gender")] = None
    marital_status: Annotated[MaritalStatus | None, _v(R, "marital_status")] = None
    # legal
    company_name: Annotated[str | None, _v(R, "company_name")] = None
    legal_id: Annotated[str | None, _v(R, "legal_id")] = None
    registration_no: Annotated[str | None, _v(R, "registration_no")] = None
    registration_date: Annotated[date | None, _v(R, "registration_date")] = None
    company_type: Annotated[CompanyType | None, _v(R, "company_type")] = None
    activity: Annotated[str | None, _v(R, "activity")] = None
    staff_count: Annotated[int | None, _v(R, "staff_count")] = None
    turnover: Annotated[int | None, _v(R, "turnover")] = None
    # both
    economic_code: Annotated[str | None, _v(R, "economic_code")] = None
    postal_code: Annotated[str | None, _v(R, "postal_code")] = None
    phone: Annotated[str | None, _v(R, "phone")] = None
    fax: Annotated[str | None, _v(R, "fax")] = None
    mobile: Annotated[str | None, _v(R, "mobile")] = None
    email: Annotated[str | None, _v(R, "email")] = None
    website: Annotated[str | None, _v(R, "website")] = None
    address: Annotated[str | None, _v(R, "address")] = None
    category: Annotated[str | None, _v(R, "category")] = None

    @model_validator(mode="after")
    def _by_person_type(self) -> Self:
        rules = _Rules()
        values = self.model_dump()
        if self.person_type is None:
            rules.add("person_type", None, *required_reason(R.field("person_type")))
        # A field of the other person type is a warning (validate's person-type-field), not a
        # refusal: what a write refuses, validate calls an error, and nothing more.
        rules.extend(p for p in party_problems(values, self.person_type) if p.code in _REFUSED)
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


PARTY_FIELDS = frozenset(Party.model_fields)


class Customer(_Model):
    """The F-31-08-01 registration block: who the customer is and what they need (R1)."""

    customer_no: Annotated[str | None, _v(R, "customer_no")] = None
    party: Party
    need: Annotated[str | None, _v(R, "need")] = None
    channel: Annotated[Channel | None, _v(R, "channel")] = None
    referrer: Annotated[str | None, _v(R, "referrer")] = None
    first_contact: Annotated[datetime | None, _v(R, "first_contact")] = None
    expert: Annotated[str | None, _v(R, "expert")] = None
    contact_person: Annotated[str | None, _v(R, "contact_person")] = None
    sales_rep: Annotated[str | None, _v(R, "sales_rep")] = None
    org_unit: Annotated[str | None, _v(R, "org_unit")] = None
    importance: Annotated[Importance | None, _v(R, "importance")] = None
    priority: Annotated[Priority | None, _v(R, "priority")] = None
    stage: Annotated[Stage | None, _v(R, "stage")] = None

    @model_validator(mode="before")
    @classmethod
    def _fold_party(cls, data: Any) -> Any:
        # A registration block is flat: party fields sit beside the customer's.
        if isinstance(data, Mapping) and "party" not in data:
            data = dict(data)
            data["party"] = {k: data.pop(k) for k in list(data) if k in PARTY_FIELDS}
        return data

    @model_validator(mode="after")
    def _required(self) -> Self:
        rules = _Rules()
        # A closed form cannot tell a sale from a lost customer: only always-required fields.
        stage = None if self.stage is Stage.CLOSED else self.stage
        rules.extend(_missing_problems(R, self.block(), stage, self.party.person_type))
        rules.raise_if_any()
        return self

    def block(self) -> dict[str, Any]:
        """The registration block's values by schema key (blank fields left out)."""
        values = {**self.party.model_dump(), **self.model_dump(exclude={"party"})}
        return {k: v for k, v in values.items() if v is not None}

    @property
    def name(self) -> str:
        return self.party.display_name


class FollowUp(_Model):
    """One follow-up row of F-31-08-01 with its planned next action."""

    row_no: Annotated[int | None, _v(FOLLOWUPS, "row_no")] = None
    at: Annotated[datetime | None, _v(FOLLOWUPS, "at")] = None
    type: Annotated[FollowUpType | None, _v(FOLLOWUPS, "type")] = None
    expert: Annotated[str | None, _v(FOLLOWUPS, "expert")] = None
    minutes: Annotated[int | None, _v(FOLLOWUPS, "minutes")] = None
    description: Annotated[str | None, _v(FOLLOWUPS, "description")] = None
    result: Annotated[Stage | None, _v(FOLLOWUPS, "result")] = None
    next_type: Annotated[FollowUpType | None, _v(FOLLOWUPS, "next_type")] = None
    next_action: Annotated[str | None, _v(FOLLOWUPS, "next_action")] = None
    next_owner: Annotated[str | None, _v(FOLLOWUPS, "next_owner")] = None
    next_due: Annotated[datetime | None, _v(FOLLOWUPS, "next_due")] = None
    next_minutes: Annotated[int | None, _v(FOLLOWUPS, "next_minutes")] = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        rules = _Rules()
        values = self.model_dump()
        rules.extend(_missing_problems(FOLLOWUPS, values, None, None))
        rules.extend(planned_action_problems(values))
        if NEXT_DUE_AFTER_FOLLOWUP.broken(self.at, self.next_due):
            rules.extend([NEXT_DUE_AFTER_FOLLOWUP.problem(self.next_due)])
        rules.raise_if_any()
        return self


def _products(v: object) -> list[str]:
    if _blank(v):
        return []
    items = v if isinstance(v, list | tuple) else [v]
    out: list[str] = []
    for item in items:
        out += [t for t in (normalize(x) for x in re.split(r"[,،;؛\n]", str(_int_text(item)))) if t]
    return list(dict.fromkeys(out))


class Case(_Model):
    """A sales case (پرونده فروش, R6) with its contract (R7): one row of the register's cases."""

    case_no: Annotated[str | None, _v(CASES, "case_no")] = None
    customer_no: Annotated[str | None, _v(CASES, "customer_no")] = None
    customer_name: Annotated[str | None, _v(CASES, "customer_name")] = None
    opened: Annotated[datetime | None, _v(CASES, "opened")] = None
    expert: Annotated[str | None, _v(CASES, "expert")] = None
    products: Annotated[list[str], BeforeValidator(_products)] = Field(default_factory=list)
    contract_no: Annotated[str | None, _v(CASES, "contract_no")] = None
    contract_date: Annotated[date | None, _v(CASES, "contract_date")] = None
    contract_status: Annotated[RecordStatus | None, _v(CASES, "contract_status")] = None
    invoice_nos: Annotated[str | None, _v(CASES, "invoice_nos")] = None
    amount: Annotated[int | None, _v(CASES, "amount")] = None
    invoiced: Annotated[int | None, _v(CASES, "invoiced")] = None
    status: Annotated[CaseStatus | None, _v(CASES, "status")] = None
    record_status: Annotated[RecordStatus | None, _v(CASES, "record_status")] = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        rules = _Rules()
        rules.extend(_missing_problems(CASES, self.model_dump(), None, None))
        live_contract = self.contract_no and not is_void(self.contract_status)
        if live_contract and CONTRACT_AFTER_CASE.broken(self.opened, self.contract_date):
            rules.extend([CONTRACT_AFTER_CASE.problem(self.contract_date)])
        rules.raise_if_any()
        return self


class Invoice(_Model):
    """A sales invoice (R8); ``tax_id`` is the 22-character INTA id when a memory id is set."""

    invoice_no: Annotated[str | None, _v(INVOICES, "invoice_no")] = None
    case_no: Annotated[str | None, _v(INVOICES, "case_no")] = None
    customer_no: Annotated[str | None, _v(INVOICES, "customer_no")] = None
    issued: Annotated[datetime | None, _v(INVOICES, "issued")] = None
    amount: Annotated[int | None, _v(INVOICES, "amount")] = None
    tax_id: Annotated[str | None, _v(INVOICES, "tax_id")] = None
    record_status: Annotated[RecordStatus | None, _v(INVOICES, "record_status")] = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        rules = _Rules()
        rules.extend(_missing_problems(INVOICES, self.model_dump(), None, None))
        if self.tax_id and self.issued is not None:
            day = ids.parse_tax_id(self.tax_id).day
            if not tax_day_matches(day, self.issued):
                rules.add(
                    "tax_id",
                    self.tax_id,
                    f"روز صدور در شماره مالیاتی ({day}) با تاریخ فاکتور نمی‌خواند",
                    f"the issue day inside the tax id ({day}) does not match the invoice date",
                )
        rules.raise_if_any()
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
    "CLOSED_AFTER_CRM",
    "CONTRACT_AFTER_CASE",
    "FIELD_LABELS_EN",
    "FIELD_LABELS_FA",
    "FOLLOWUP_AFTER_FIRST_CONTACT",
    "INVOICE_AFTER_CASE",
    "NEXT_DUE_AFTER_FOLLOWUP",
    "Case",
    "Customer",
    "FollowUp",
    "Invoice",
    "ModelInputError",
    "Order",
    "Party",
    "Problem",
    "RuleErrors",
    "explain",
    "identity_field",
    "is_void",
    "missing_fields",
    "newly_required",
    "parse_value",
    "party_problems",
    "planned_action_problems",
    "required_error",
    "required_message",
    "required_now",
    "tax_day_matches",
    "validate_model",
]
