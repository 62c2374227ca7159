"""Register operations as pure functions: a snapshot of the register in, a ``Plan`` out.

Nothing here opens a file. The stores (``store`` for files, ``excel.store`` for the live
workbook) read the snapshot, call one of these functions and apply its plan, so the CLI
and the Excel buttons run exactly the same decisions.

Every input passes the entry rules of :mod:`crm_xl.domain.models` (the pydantic models and
rule functions ``validate`` reports from) and the lifecycle guards of
:mod:`crm_xl.domain.lifecycle` before anything is decided, and before a number is issued:
a refused operation changes nothing, and what an operation writes, validate accepts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import jdatetime

from crm_xl.domain import ids, lifecycle, models
from crm_xl.domain.aftersales import ProductLookup, code_key, require_aftersales, split_codes
from crm_xl.domain.changes import (
    AppendFollowUp,
    AppendRow,
    ArchiveFolder,
    CreateCustomerForm,
    Plan,
    RestoreFolder,
    SetCounter,
    UpdateCustomerForm,
    UpdateRow,
    chain_head,
)
from crm_xl.domain.dates import TEHRAN, now_tehran, parse_datetime, to_jalali_str
from crm_xl.domain.enums import (
    CaseStatus,
    FollowUpState,
    PersonType,
    RecordStatus,
    Stage,
)
from crm_xl.domain.errors import InputError
from crm_xl.domain.followup import first_followup_due
from crm_xl.domain.models import (
    CLOSED_AFTER_CRM,
    FOLLOWUP_AFTER_FIRST_CONTACT,
    INVOICE_AFTER_CASE,
    Case,
    Customer,
    FollowUp,
    Invoice,
    is_void,
    parse_value,
    validate_model,
)
from crm_xl.domain.names import customer_folder_name
from crm_xl.domain.numbering import (
    KINDS,
    Evidence,
    Issued,
    clean_number,
    highest_used,
    next_number,
    scope_of,
    split_numbers,
    tax_number,
    tax_serial_of,
)
from crm_xl.domain.schema import CASES, CUSTOMERS, INVOICES, LOG
from crm_xl.domain.schema import Field as SchemaField
from crm_xl.domain.settings import NumberRule, Settings
from crm_xl.domain.text import name_key, normalize, to_ascii_digits

Row = dict[str, Any]


# --- the snapshot -------------------------------------------------------------------------


class NumberSource(Protocol):
    """Who picks a new number's sequence when not the register's own counters: the company-wide
    authority of SPEC §12. ``floor`` is the highest sequence this workspace has seen; the
    answer is above it, and the decision formats the number as usual."""

    def next_seq(self, kind: str, rule: NumberRule, jyear: int, floor: int) -> int: ...


_PARTY_KEYS = ("national_id", "mobile", "name")
#: How a duplicate's reason reads in Persian (the English message names the key).
PARTY_REASON_FA = {"national_id": "کد/شناسه ملی", "mobile": "تلفن همراه", "name": "نام"}


class PartyIndex:
    """Customers by national code/ID, mobile and normalised name: the duplicate rules, used by
    the writes (``find_duplicates``) and by validate (``duplicate_customers``).

    A party matching on several keys is reported once, by the strongest (national id, then
    mobile, then name); hits come in the order the customers were added.  ``*_keys`` take
    the (national id, mobile, ``name_key``) triple, for a caller that computed the name keys
    of a whole column at once.
    """

    def __init__(self) -> None:
        self.by: dict[str, dict[str, list[str]]] = {k: {} for k in _PARTY_KEYS}
        self.order: dict[str, int] = {}

    @staticmethod
    def keys(national_id: str, mobile: str, name: object) -> tuple[str, str, str]:
        return national_id, mobile, name_key(name)

    def add(self, who: str, national_id: str, mobile: str, name: object) -> None:
        self.add_keys(who, self.keys(national_id, mobile, name))

    def add_keys(self, who: str, keys: tuple[str, str, str]) -> None:
        self.order.setdefault(who, len(self.order))
        for kind, value in zip(_PARTY_KEYS, keys, strict=True):
            if value:
                self.by[kind].setdefault(value, []).append(who)

    def find(self, national_id: str, mobile: str, name: object) -> list[tuple[str, str]]:
        """(who, reason key) of every entry sharing a key, strongest reason per entry."""
        return self.find_keys(self.keys(national_id, mobile, name))

    def find_keys(self, keys: tuple[str, str, str]) -> list[tuple[str, str]]:
        hits: dict[str, str] = {}
        for kind, value in zip(_PARTY_KEYS, keys, strict=True):
            for who in self.by[kind].get(value, ()) if value else ():
                hits.setdefault(who, kind)
        return sorted(hits.items(), key=lambda h: self.order[h[0]])

    @staticmethod
    def strongest(hits: list[tuple[str, str]]) -> tuple[str, str]:
        """The hit with the strongest reason (the earliest entry among equals)."""
        return min(hits, key=lambda h: _PARTY_KEYS.index(h[1]))


@dataclass
class Register:
    """What the operations need to know about the register, keyed by number."""

    settings: Settings
    customers: dict[str, Row] = field(default_factory=dict)
    cases: dict[str, Row] = field(default_factory=dict)
    invoices: dict[str, Row] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Every number the log says was ever issued: guards against re-issuing after a row is
    #: deleted by hand and the counter lowered.
    logged_numbers: set[str] = field(default_factory=set)
    #: Tax serials (inno) of the invoice rows' tax ids and of the tax ids the log recorded.
    tax_serials: set[int] = field(default_factory=set)
    #: The change log's chain head: the hash the next appended log row chains to.
    log_head: str = ""
    #: Numbers the workspace shows outside this register (customer folder names, archive
    #: registers, the seal in .crm_xl/); asked for once, on the first number issued.
    outside: Callable[[], Evidence] | None = field(default=None, repr=False)
    _outside: Evidence | None = field(default=None, repr=False)
    #: Highest sequence found among used numbers, per (kind, scope): scanned once per snapshot,
    #: later issues only raise the counter above it.
    scanned_high: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Set by the store when an authority issues the numbers (SPEC §12); None: the counters.
    numbers: NumberSource | None = field(default=None, repr=False)
    _parties: PartyIndex | None = field(default=None, repr=False)

    def parties(self) -> PartyIndex:
        """The duplicate index of the customers, built on first use and kept up to date."""
        if self._parties is None:
            self._parties = PartyIndex()
            for no, row in self.customers.items():
                self._index(no, row)
        return self._parties

    def _index(self, no: str, row: Row) -> None:
        assert self._parties is not None
        self._parties.add(no, _s(row.get("national_id")), _s(row.get("mobile")), row.get("name"))

    def put_customer(self, no: str, row: Row) -> None:
        """Add a customer row decided in this snapshot (later decisions see it)."""
        self.customers[no] = row
        if self._parties is not None:
            self._index(no, row)

    @classmethod
    def from_rows(
        cls,
        settings: Settings,
        customers: Iterable[Row] = (),
        cases: Iterable[Row] = (),
        invoices: Iterable[Row] = (),
        counters: Iterable[Row] = (),
        log: Iterable[Row] = (),
    ) -> Register:
        reg = cls(settings)
        for table, rows, key in (
            (reg.customers, customers, "customer_no"),
            (reg.cases, cases, "case_no"),
            (reg.invoices, invoices, "invoice_no"),
        ):
            for r in rows:
                k = _s(r.get(key))
                if k:
                    table[k] = r
        for r in counters:
            try:
                reg.counters[(_s(r.get("kind")), _s(r.get("scope")))] = int(r.get("last") or 0)
            except (TypeError, ValueError):
                continue  # a damaged counter row: the scan of used numbers still guards
        log_rows = list(log)
        for r in log_rows:
            reg.logged_numbers.update(split_numbers(r.get("numbers")))
            details = _s(r.get("details"))
            if '"tax_id"' in details:
                serial = tax_serial_of(_json_field(details, "tax_id"))
                if serial:
                    reg.tax_serials.add(serial)
        for inv in reg.invoices.values():
            serial = tax_serial_of(inv.get("tax_id"))
            if serial:
                reg.tax_serials.add(serial)
        reg.log_head = chain_head(log_rows)
        return reg

    def used_numbers(self, kind: str) -> set[str]:
        """Every number of ``kind`` this register shows: its rows and its change log."""
        used = set(self.logged_numbers)
        if kind == "customer":
            used |= set(self.customers)
        elif kind == "case":
            used |= set(self.cases)
        elif kind == "contract":
            used |= {clean_number(c.get("contract_no")) for c in self.cases.values()}
        elif kind == "invoice":
            used |= set(self.invoices)
        elif kind == "tax":
            rule = self.settings.rule("tax")
            used |= {tax_number(rule, s) for s in self.tax_serials}
        return used

    def evidence(self) -> Evidence:
        """This register's numbers of every kind and its counters, as evidence for another."""
        ev = Evidence()
        for kind in KINDS:
            ev.add_clean(kind, {clean_number(n) for n in self.used_numbers(kind)} - {""})
        for (kind, scope), last in self.counters.items():
            if kind in KINDS:
                ev.mark(kind, scope, last)
        return ev

    def highest_seen(self, kind: str, scope: str, jyear: int) -> int:
        """Highest sequence of ``kind`` in ``scope`` over all the evidence, counters aside."""
        rule = self.settings.rule(kind)
        high = highest_used(rule, self.used_numbers(kind), scope, jyear)
        if self.outside is not None and self._outside is None:
            self._outside = self.outside()
        if self._outside is not None:
            high = max(high, self._outside.highest(kind, rule, scope, jyear))
        return high

    def customer(self, number: str) -> Row:
        row = self.customers.get(_number_key(self.customers, number))
        if row is None:
            raise InputError(
                f"مشتری با شماره «{number}» در دفتر ثبت نیست",
                f"no customer numbered '{number}' in the register",
                code="not-found",
                field="customer_no",
            )
        return row

    def case(self, number: str) -> Row:
        row = self.cases.get(_number_key(self.cases, number))
        if row is None:
            raise InputError(
                f"پرونده با شماره «{number}» در دفتر ثبت نیست",
                f"no case numbered '{number}' in the register",
                code="not-found",
                field="case_no",
            )
        return row

    def live_invoices(self, case_no: str) -> list[str]:
        """Numbers of the case's invoices that are not void, in issue order."""
        return [
            n
            for n, i in self.invoices.items()
            if _s(i.get("case_no")) == case_no and not _is_void(i)
        ]

    def cases_of(self, customer_no: str) -> list[Row]:
        return [c for c in self.cases.values() if _s(c.get("customer_no")) == customer_no]


def _s(v: Any) -> str:
    return "" if v is None else normalize(str(v))


def _number_key(table: Mapping[str, Row], number: object) -> str:
    """The key of a number as typed: Persian digits and lower case find it too."""
    n = normalize(number)
    if n in table:
        return n
    return to_ascii_digits(n).upper()


def _json_field(text: str, key: str) -> Any:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data.get(key) if isinstance(data, dict) else None


stage_of = lifecycle.stage_of


def _is_void(row: Row) -> bool:
    return is_void(row.get("record_status"))


def _case_status(row: Row) -> CaseStatus:
    try:
        return CaseStatus.parse(row.get("status") or CaseStatus.OPEN)
    except ValueError:
        return CaseStatus.OPEN


def _live_case(row: Row) -> bool:
    return not _is_void(row) and _case_status(row) is not CaseStatus.CANCELLED


def customer_state(reg: Register, customer_no: str) -> lifecycle.CustomerState:
    row = reg.customer(customer_no)
    cases = [c for c in reg.cases_of(_s(row.get("customer_no"))) if not _is_void(c)]
    live = [c for c in cases if _live_case(c)]
    return lifecycle.CustomerState(stage_of(row), len(cases), len(live), _is_void(row))


def _has_contract(row: Row) -> bool:
    return bool(_s(row.get("contract_no"))) and not is_void(row.get("contract_status"))


def case_state(reg: Register, case_no: str) -> lifecycle.CaseState:
    row = reg.case(case_no)
    return lifecycle.CaseState(
        _case_status(row),
        _has_contract(row),
        len(reg.live_invoices(_s(row.get("case_no")))),
        _is_void(row),
    )


def _guarded_case(reg: Register, case_no: str, operation: str) -> tuple[str, Row, str]:
    """(case number, case row, customer number) once ``operation`` passes the lifecycle guard."""
    case = reg.case(case_no)
    cno = _s(case.get("case_no"))
    customer_no = _s(case.get("customer_no"))
    lifecycle.check(operation, customer_state(reg, customer_no), case_state(reg, cno))
    return cno, case, customer_no


# --- shared pieces of a plan -----------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who runs the operation and when (injectable for tests)."""

    user: str
    host: str
    now: datetime
    #: The person confirmed dates outside the settings' date window (``--force``).
    far_dates: bool = False


def issue_year(moment: datetime) -> int:
    """The Jalali year (Tehran) a number issued at ``moment`` belongs to."""
    return int(jdatetime.date.fromgregorian(date=moment.astimezone(TEHRAN).date()).year)


def _peek(reg: Register, kind: str, moment: datetime) -> Issued:
    """The number ``kind`` would get now; nothing is spent until :func:`_take`."""
    rule = reg.settings.rule(kind)
    jyear = issue_year(moment)
    key = (kind, scope_of(rule, jyear))
    if key not in reg.scanned_high:
        reg.scanned_high[key] = reg.highest_seen(kind, key[1], jyear)
    high = max(reg.counters.get(key, 0), reg.scanned_high[key])
    if reg.numbers is not None:  # the company-wide authority (SPEC §12) has the last word
        high = reg.numbers.next_seq(kind, rule, jyear, high) - 1
    return next_number(kind, rule, jyear, {key: high}, ())


def _issue(reg: Register, kind: str, moment: datetime, plan: Plan) -> Issued:
    return _take(reg, plan, _peek(reg, kind, moment))


def _take(reg: Register, plan: Plan, issued: Issued) -> Issued:
    kind = issued.kind
    plan.register.append(SetCounter(kind, issued.scope, issued.seq))
    reg.counters[(kind, issued.scope)] = issued.seq
    return issued


def log_row(
    actor: Actor, operation: str, numbers: Iterable[str], details: Mapping[str, Any] | str
) -> dict[str, Any]:
    """A row of the append-only change log (the register's ``_log`` or a workbook's own)."""
    return {
        "at": actor.now,
        "user": actor.user,
        "host": actor.host,
        "operation": operation,
        "numbers": ",".join(numbers),
        "details": details
        if isinstance(details, str)
        else json.dumps(details, ensure_ascii=False, default=str),
    }


def _log(plan: Plan, actor: Actor, numbers: list[str], details: Mapping[str, Any]) -> None:
    plan.register.append(AppendRow(LOG.name, log_row(actor, plan.operation, numbers, details)))


def parse_when(value: Any, default: datetime, field_name: str) -> datetime:
    """A moment a user typed (Jalali or ISO text, date, datetime) as aware Tehran time."""
    if value is None or value == "":
        return default
    try:
        return parse_datetime(value)
    except ValueError as e:  # dates' InputError carries each language's reason separately
        raise InputError(
            f"تاریخ «{value}» خوانا نیست: {getattr(e, 'fa', e)}",
            f"date '{value}' cannot be read: {getattr(e, 'en', e)}",
            code="type-error",
            field=field_name,
        ) from None


def first_due(reg: Register, first_contact: datetime) -> datetime:
    return first_followup_due(first_contact, reg.settings.followup)


# --- operations ------------------------------------------------------------------------------


def _checked(f: SchemaField, raw: object) -> Any:
    """``raw`` through the entry rule of field ``f`` (None when blank), errors naming the field."""
    if raw is None or (isinstance(raw, str) and not normalize(raw)):
        return None
    try:
        return parse_value(f, raw)
    except InputError as e:
        raise InputError(f"{f.fa}: {e.fa}", f"{f.en}: {e.en}", code=e.code, field=f.key) from None


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_window(reg: Register, actor: Actor, when: date | None, field_name: str) -> None:
    """Refuse a typed date farther from today than the settings' date window allows, unless
    the person confirmed it (``--force``): a typo such as 1410 for 1401 must not slip in."""
    if when is None or actor.far_dates:
        return
    day = when.astimezone(TEHRAN).date() if isinstance(when, datetime) else when
    today = actor.now.astimezone(TEHRAN).date()
    w = reg.settings.date_window
    low, high = _years_from(today, -w.years_back), _years_from(today, w.years_ahead)
    if low <= day <= high:
        return
    shown = to_jalali_str(day)
    if day < low:
        fa, en = f"بیش از {w.years_back} سال پیش", f"more than {w.years_back} year(s) ago"
    else:
        fa, en = f"بیش از {w.years_ahead} سال بعد", f"more than {w.years_ahead} year(s) ahead"
    raise InputError(
        f"تاریخ {shown} {fa} است؛ اگر درست است با --force تأیید کنید "
        "(بازه در تنظیمات: date_window)",
        f"date {shown} is {en}; if it is right, confirm it with --force "
        "(the window is the settings' date_window)",
        code="date-out-of-window",
        field=field_name,
    )


def _moment(reg: Register, raw: object, actor: Actor, f: SchemaField) -> datetime:
    """When an operation happened: ``raw`` as typed (a date or date-time field), else now."""
    value = _checked(f, raw)
    if value is None:
        return actor.now
    check_window(reg, actor, value, f.key)
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, actor.now.astimezone(TEHRAN).timetz())


def _day(reg: Register, raw: object, actor: Actor, f: SchemaField) -> Any:
    """The Tehran calendar day of an operation typed into a date field (default today)."""
    return _moment(reg, raw, actor, f).astimezone(TEHRAN).date()


def _reason(text: str, operation: str) -> str:
    reason = normalize(text)
    if not reason:
        op_fa, op_en = lifecycle.OPERATIONS[operation]
        raise InputError(
            f"{op_fa}: علت لازم است (--reason)",
            f"{op_en}: a reason is required (--reason)",
            code="required-error",
            field="reason",
        )
    return reason


def _validated(model: type[models.M], values: Mapping[str, Any]) -> models.M:
    # Unknown keys are refused, never dropped: an ``extra`` field with a typo is an error.
    return validate_model(model, values)


def _stage_entered(row: Row, before: Stage, after: Stage, hint: tuple[str, str]) -> None:
    """``required_from`` is enforced by the write that enters the stage (models.newly_required)."""
    try:
        person: PersonType | None = PersonType.parse(row.get("person_type") or "")
    except ValueError:
        person = None
    missing = models.newly_required(CUSTOMERS.fields, row, before, after, person)
    if missing:
        raise models.required_error(missing[0], *hint)


@dataclass
class NewCustomer:
    """Input of ``register_customer``: what the expert records at first contact (R1)."""

    name: str
    person_type: str
    channel: str
    expert: str
    need: str = ""
    national_code: str = ""  # natural persons
    national_id: str = ""  # legal entities (شناسه ملی)
    mobile: str = ""
    phone: str = ""
    referrer: str = ""
    category: str = ""
    at: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # more F-31-08-01 block fields
    allow_duplicate: bool = False


def _registration_input(inp: NewCustomer, first: object) -> dict[str, Any]:
    """The F-31-08-01 registration block as typed: the party by person type, then the rest."""
    try:
        legal = PersonType.parse(inp.person_type) is PersonType.LEGAL
    except ValueError:
        legal = False  # the model reports the person type
    name = normalize(inp.name)
    block: dict[str, Any] = {
        **inp.extra,
        "person_type": inp.person_type,
        "mobile": inp.mobile,
        "phone": inp.phone,
        "category": inp.category,
        "need": inp.need,
        "channel": inp.channel,
        "referrer": inp.referrer,
        "first_contact": first,
        "expert": inp.expert,
        "stage": Stage.FIRST_CONTACT,
    }
    # One identity per person type: either option is accepted for either type.
    if legal:
        block.update(company_name=name, legal_id=inp.national_id or inp.national_code)
    else:
        first_name, _, last_name = name.partition(" ")
        block.update(
            first_name=first_name,
            last_name=last_name,
            national_code=inp.national_code or inp.national_id,
        )
    return block


def check_new_customer(inp: NewCustomer) -> Customer:
    """The registration as the entry rules accept it (``InputError`` naming every bad field).

    What ``register_customer`` checks before it numbers anyone; lead import previews with it.
    """
    block = _registration_input(inp, inp.at if inp.at not in (None, "") else now_tehran())
    return _validated(Customer, {**block, "customer_no": "-"})


def find_duplicates(reg: Register, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Existing customers that look like the same party: (customer number, reason key)."""
    hits = reg.parties().find(
        values.get("national_id") or "", values.get("mobile") or "", values.get("name")
    )
    return [(no, why) for no, why in hits if not _is_void(reg.customers[no])]


def register_customer(reg: Register, inp: NewCustomer, actor: Actor) -> Plan:
    """R1, R4, R5, R12: number the customer, list them in the register, make their folder."""
    block = _registration_input(inp, inp.at if inp.at not in (None, "") else actor.now)
    if normalize(inp.expert):  # one of the configured experts: a typo would split task lists
        block["expert"] = reg.settings.expert(inp.expert)
    # The year in a number is the year of the operation's date, not of today (an --at in 1404).
    issued = _peek(reg, "customer", _moment(reg, inp.at, actor, CUSTOMERS.field("first_contact")))
    customer = _validated(Customer, {**block, "customer_no": issued.number})
    party = customer.party
    values: dict[str, Any] = {
        "name": customer.name,
        "person_type": party.person_type,
        "national_id": party.national_id or "",
        "mobile": party.mobile or "",
        "phone": party.phone or "",
        "channel": customer.channel,
        "referrer": customer.referrer or "",
        "expert": customer.expert,
        "category": party.category or "",
        "need": customer.need,
    }
    dups = find_duplicates(reg, values)
    if dups and not inp.allow_duplicate:
        no, why = PartyIndex.strongest(dups)
        raise InputError(
            f"این مشتری قبلاً با شماره {no} ثبت شده است (همان {PARTY_REASON_FA[why]})",
            f"this customer is already registered as {no} (same {why}); "
            "use --allow-duplicate to register anyway",
            code="duplicate-customer",
            field=why,
        )
    assert customer.first_contact is not None and customer.expert is not None
    first = customer.first_contact
    plan = Plan("customer-add")
    _take(reg, plan, issued)
    folder = customer_folder_name(issued.number, customer.name)
    due = first_due(reg, first)
    row = {
        "customer_no": issued.number,
        **values,
        "first_contact": first,
        "stage": Stage.FIRST_CONTACT,
        "next_due": due,
        "next_action": "پیگیری ۲۴ ساعته پس از اولین تماس",
        "next_owner": customer.expert,
        "followup_state": FollowUpState.ON_TIME,
        "folder": f"customers/{folder}",
        "record_status": RecordStatus.ACTIVE,
    }
    plan.register.append(AppendRow(CUSTOMERS.name, row))
    reg.put_customer(issued.number, row)
    plan.folders.append(CreateCustomerForm(issued.number, folder, customer.block()))
    _log(plan, actor, [issued.number], {"name": customer.name, "expert": customer.expert})
    plan.result = {
        "customer_no": issued.number,
        "folder": row["folder"],
        "next_due": due.isoformat(),
        "duplicates": [no for no, _ in dups],
    }
    plan.message_fa = f"مشتری {customer.name} با شماره {issued.number} ثبت شد"
    plan.message_en = f"customer {customer.name} registered as {issued.number}"
    return plan


@dataclass
class NewFollowUp:
    customer_no: str
    type: str
    note: str
    at: Any = None
    expert: str = ""
    minutes: Any = None  # as typed: the entry rules read "۱۵" as well as 15
    result: str = ""  # a pre-sale stage the follow-up moved the customer to
    next_type: str = ""
    next_action: str = ""
    next_due: Any = None
    next_owner: str = ""
    next_minutes: Any = None


def log_followup(reg: Register, inp: NewFollowUp, actor: Actor) -> Plan:
    """R2, R10: record a follow-up with its planned next action in F-31-08-01 and the register."""
    row = reg.customer(inp.customer_no)
    no = _s(row.get("customer_no"))
    state = customer_state(reg, no)
    lifecycle.check("followup", state)
    # Experts named here are configured ones (a typo would start a task list nobody reads).
    expert = reg.settings.expert(inp.expert) if normalize(inp.expert) else _s(row.get("expert"))
    owner = reg.settings.expert(inp.next_owner, "next_owner") if normalize(inp.next_owner) else ""
    planned = inp.next_due not in (None, "")
    fu = _validated(
        FollowUp,
        {
            "at": inp.at if inp.at not in (None, "") else actor.now,
            "type": inp.type,
            "expert": expert,
            "minutes": inp.minutes,
            "description": inp.note,
            "result": inp.result,
            # The planned action defaults to the same kind of contact, by the same expert.
            "next_type": inp.next_type or (inp.type if planned else None),
            "next_action": inp.next_action,
            "next_owner": owner or (expert if planned else None),
            "next_due": inp.next_due,
            "next_minutes": inp.next_minutes,
        },
    )
    assert fu.at is not None and fu.type is not None
    if inp.at not in (None, ""):
        check_window(reg, actor, fu.at, "at")
    check_window(reg, actor, fu.next_due, "next_due")
    FOLLOWUP_AFTER_FIRST_CONTACT.check(row.get("first_contact"), fu.at)
    if fu.result is not None:
        new_stage = lifecycle.apply("set_stage", state, target=fu.result)
    else:
        new_stage = lifecycle.apply("followup", state)
    values = fu.model_dump(exclude={"row_no"})
    values["result"] = new_stage
    plan = Plan("followup-add")
    update = {
        "last_followup": fu.at,
        "stage": new_stage,
        "next_due": fu.next_due,
        "next_action": fu.next_action,
        "next_owner": fu.next_owner,
    }
    plan.register.append(UpdateRow(CUSTOMERS.name, no, update))
    row.update(update)
    plan.folders.append(AppendFollowUp(no, _folder_name(row), values, {"stage": new_stage}))
    _log(plan, actor, [no], {"type": fu.type.value, "next_due": fu.next_due})
    plan.result = {"customer_no": no, "stage": new_stage.value, "next_due": fu.next_due}
    plan.message_fa = f"پیگیری مشتری {no} ثبت شد"
    plan.message_en = f"follow-up of customer {no} recorded"
    return plan


def _folder_name(row: Row) -> str:
    folder = _s(row.get("folder"))
    return folder.split("/", 1)[1] if "/" in folder else folder


def unknown_products(catalog: ProductLookup | None, codes: Iterable[str]) -> list[str]:
    """Codes not in the after-sales catalog, when the catalog has products (else none)."""
    if not catalog:
        return []
    known = {code_key(k) for k in catalog}
    return [c for c in codes if code_key(c) not in known]


def open_case(
    reg: Register,
    customer_no: str,
    actor: Actor,
    *,
    products: Iterable[str] = (),
    at: Any = None,
    national_id: str = "",
    catalog: ProductLookup | None = None,
) -> Plan:
    """R6: a sale gets a serial case number; the customer moves to Won.

    Winning needs the buyer's national code / legal ID (``required_from="won"``); a customer
    registered without it gives it here (``national_id``). With a catalog of products, every
    product code sold must be one of them (``catalog``: the codes of the after-sales forms).
    """
    row = reg.customer(customer_no)
    no = _s(row.get("customer_no"))
    state = customer_state(reg, no)
    new_stage = lifecycle.apply("open_case", state)
    update: dict[str, Any] = {"stage": new_stage}
    registration: dict[str, Any] = {"stage": new_stage}
    if normalize(national_id):
        try:
            person: PersonType | None = PersonType.parse(row.get("person_type") or "")
        except ValueError:
            person = None
        f = models.identity_field(person)
        ident = _checked(f, national_id)
        known = _s(row.get("national_id"))
        if known and known != ident:
            raise InputError(
                f"{f.fa} مشتری {no} از قبل «{known}» ثبت شده است",
                f"customer {no} already has {f.en} '{known}'",
                code="constraint-error",
                field=f.key,
            )
        update["national_id"] = ident
        registration[f.key] = ident
    _stage_entered(
        {**row, **update},
        state.stage,
        new_stage,
        (
            " — کد/شناسه ملی را با پرونده بدهید: crm-xl case open … --national-code / --national-id",
            " — give it with the case: crm-xl case open … --national-code / --national-id",
        ),
    )
    items = [code for p in products for code in split_codes(p)]
    unknown = unknown_products(catalog, items)
    if unknown:
        raise InputError(
            f"کالای «{'، '.join(unknown)}» در فهرست کالاها نیست؛ ابتدا فرم خدمات پس از فروش آن را "
            "ثبت کنید (crm-xl product add)",
            f"product {', '.join(unknown)} is not in the catalog; record its after-sales form "
            "first (crm-xl product add)",
            code="unknown-product",
            field="products",
        )
    issued = _peek(reg, "case", _moment(reg, at, actor, CASES.field("opened")))
    case_model = _validated(
        Case,
        {
            "case_no": issued.number,
            "customer_no": no,
            "customer_name": row.get("name"),
            "opened": at if at not in (None, "") else actor.now,
            "expert": row.get("expert"),
            "products": items,
            "status": CaseStatus.OPEN,
            "record_status": RecordStatus.ACTIVE,
        },
    )
    plan = Plan("case-open")
    _take(reg, plan, issued)
    case = {
        **case_model.model_dump(exclude_none=True),
        "products": ", ".join(case_model.products),
    }
    plan.register.append(AppendRow(CASES.name, case))
    reg.cases[issued.number] = case
    plan.register.append(UpdateRow(CUSTOMERS.name, no, update))
    row.update(update)
    plan.folders.append(UpdateCustomerForm(no, _folder_name(row), registration))
    _log(plan, actor, [issued.number, no], {"products": case["products"]})
    plan.result = {"case_no": issued.number, "customer_no": no}
    plan.message_fa = f"پرونده فروش {issued.number} برای مشتری {no} تشکیل شد"
    plan.message_en = f"case {issued.number} opened for customer {no}"
    return plan


def parse_rial(value: Any, field_name: str) -> int | None:
    """A Rial amount as typed (Persian digits, digit grouping); None when blank, else whole, > 0."""
    try:
        return models._rial(1)(value)
    except InputError as e:
        raise InputError(e.fa, e.en, code=e.code, field=field_name) from None


def add_contract(
    reg: Register, case_no: str, actor: Actor, *, at: Any = None, amount: Any = None
) -> Plan:
    """R7: a contract on a case gets a serial contract number."""
    cno, case, _ = _guarded_case(reg, case_no, "add_contract")
    value = _checked(
        CASES.field("amount"), amount
    )  # before a number is peeked (an authority spends it)
    signed = _moment(reg, at, actor, CASES.field("contract_date"))
    issued = _peek(reg, "contract", signed)
    update: dict[str, Any] = {
        "contract_no": issued.number,
        "contract_date": signed.astimezone(TEHRAN).date(),
        "status": CaseStatus.CONTRACTED,
        "contract_status": None,  # a new contract after a voided one is live
    }
    if value is not None:
        update["amount"] = value
    # The case as it will be: its own rules (contract not before the case) decide.
    _validated(Case, {**case, **update})
    plan = Plan("contract-add")
    _take(reg, plan, issued)
    plan.register.append(UpdateRow(CASES.name, cno, update))
    case.update(update)
    _log(plan, actor, [issued.number, cno], {"amount": value})
    plan.result = {"contract_no": issued.number, "case_no": cno}
    plan.message_fa = f"قرارداد {issued.number} برای پرونده {cno} ثبت شد"
    plan.message_en = f"contract {issued.number} recorded on case {cno}"
    return plan


def _rial_or_none(v: Any) -> int | None:
    """A register cell holding Rials as a number (None when blank or unreadable)."""
    try:
        return models._rial(0)(v)
    except InputError:
        return None


def _invoice_totals(reg: Register, cno: str, case: Row) -> dict[str, Any]:
    """The case's invoice list, invoiced total and status from its live invoices.

    The contract amount (``amount``) is the case's own and never changes here: an invoice
    or a void moves only the invoiced total (``invoiced``).
    """
    live = reg.live_invoices(cno)
    total = sum(_rial_or_none(reg.invoices[n].get("amount")) or 0 for n in live)
    update: dict[str, Any] = {"invoice_nos": ", ".join(live) or None, "invoiced": total or None}
    if live:
        update["status"] = CaseStatus.INVOICED
    elif _case_status(case) is CaseStatus.INVOICED:
        update["status"] = CaseStatus.CONTRACTED if _has_contract(case) else CaseStatus.OPEN
    return update


def over_contract(case: Row) -> tuple[int, int] | None:
    """(invoiced, contract amount) when the case's live invoices exceed its live contract."""
    contract = _rial_or_none(case.get("amount")) if _has_contract(case) else None
    invoiced = _rial_or_none(case.get("invoiced")) or 0
    return (invoiced, contract) if contract and invoiced > contract else None


def settle_case(reg: Register, plan: Plan, cno: str) -> list[dict[str, str]]:
    """After an invoice: the case's list, total and status follow; past the contract, a warning.

    The warnings (code, fa, en) go into the plan's result: the invoice stands (a price rise
    or an extra delivery is real), but the person is told at once.
    """
    case = reg.cases[cno]
    update = _invoice_totals(reg, cno, case)
    plan.register.append(UpdateRow(CASES.name, cno, update))
    case.update(update)
    over = over_contract(case)
    if not over:
        return []
    invoiced, contract = over
    return [
        {
            "code": "invoiced-over-contract",
            "fa": f"جمع فاکتورهای پرونده {cno} ({invoiced:,} ریال) از مبلغ قرارداد "
            f"({contract:,} ریال) بیشتر است",
            "en": f"the invoices of case {cno} ({invoiced:,} Rial) exceed its contract "
            f"amount ({contract:,} Rial)",
        }
    ]


def split_case_amounts(reg: Register, log: Iterable[Row]) -> dict[str, dict[str, Any]]:
    """For a register written when a case kept one amount, which its first invoice overwrote:
    per case with invoices, the update that puts the live invoices' total into ``invoiced``
    and gives ``amount`` back the contract amount its ``contract-add`` log row recorded."""
    contract: dict[str, Any] = {}
    for r in log:
        if _s(r.get("operation")) == "contract-add":
            numbers = list(split_numbers(r.get("numbers")))
            if len(numbers) >= 2:
                contract[numbers[-1]] = _json_field(_s(r.get("details")), "amount")
    out: dict[str, dict[str, Any]] = {}
    for cno, case in reg.cases.items():
        if not any(_s(i.get("case_no")) == cno for i in reg.invoices.values()):
            continue  # no invoice ever touched its amount
        update = {"invoiced": _invoice_totals(reg, cno, case)["invoiced"]}
        if cno in contract:
            update["amount"] = _rial_or_none(contract[cno])
        out[cno] = update
    return out


def tax_id_for(reg: Register, moment: datetime, plan: Plan) -> str | None:
    """Spend the next tax serial and make the Moadian tax id (None without a memory id)."""
    memory_id = reg.settings.fiscal_memory_id
    if not memory_id:
        return None
    # The internal serial (inno) never resets and never repeats, even after a rejection.
    serial = _issue(reg, "tax", moment, plan)
    return ids.make_tax_id(memory_id, moment, serial.seq)


def issue_invoice(
    reg: Register, case_no: str, actor: Actor, *, amount: Any = None, at: Any = None
) -> Plan:
    """R8: a serial invoice number, plus the Moadian tax id when a memory id is configured."""
    cno, case, customer_no = _guarded_case(reg, case_no, "issue_invoice")
    issued_at = _moment(reg, at, actor, INVOICES.field("issued"))
    INVOICE_AFTER_CASE.check(case.get("opened"), issued_at)
    # Checked before a number is peeked: a refused invoice spends no number and no tax serial.
    value = _checked(INVOICES.field("amount"), amount)
    if value is None:
        raise InputError(
            "مبلغ فاکتور لازم است: --amount به ریال، یا ردیف‌های کالا (--line یا --lines)",
            "an invoice needs an amount: --amount in Rial, or lines (--line or --lines)",
            code="required-error",
            field="amount",
        )
    number = _peek(reg, "invoice", issued_at)
    values = {"invoice_no": number.number, "case_no": cno, "customer_no": customer_no}
    _validated(Invoice, {**values, "issued": issued_at, "amount": value})
    plan = Plan("invoice-issue")
    issued = _take(reg, plan, number)
    tax_id = tax_id_for(reg, issued_at, plan)
    invoice = {
        "invoice_no": issued.number,
        "case_no": cno,
        "customer_no": customer_no,
        "issued": issued_at,
        "amount": value,
        "tax_id": tax_id,
        "record_status": RecordStatus.ACTIVE,
    }
    plan.register.append(AppendRow(INVOICES.name, invoice))
    reg.invoices[issued.number] = invoice
    plan.result = {"invoice_no": issued.number, "case_no": cno, "tax_id": tax_id}
    if warnings := settle_case(reg, plan, cno):
        plan.result["warnings"] = warnings
    _log(plan, actor, [issued.number, cno], {"amount": value, "tax_id": tax_id})
    plan.message_fa = f"فاکتور {issued.number} برای پرونده {cno} صادر شد"
    plan.message_en = f"invoice {issued.number} issued on case {cno}"
    if tax_id:
        plan.message_fa += f" (شماره مالیاتی {tax_id})"
        plan.message_en += f" (tax id {tax_id})"
    return plan


def crm_done(
    reg: Register,
    customer_no: str,
    actor: Actor,
    *,
    at: Any = None,
    products: ProductLookup | None = None,
) -> Plan:
    """R11's last stage: after-sales / satisfaction done for the customer's sale.

    ``products`` (product code key → its F-31-07-01 is complete) makes the step refuse while
    a product sold to this customer has no complete after-sales form (seed 003). Every entrance
    passes it (the store reads it from the workspace); None is for callers with no workspace.
    """
    row = reg.customer(customer_no)
    no = _s(row.get("customer_no"))
    state = customer_state(reg, no)
    new_stage = lifecycle.apply("crm_done", state)
    _stage_entered(row, state.stage, new_stage, ("", ""))
    if products is not None:
        require_aftersales(products, reg.cases_of(no))
    when = _day(reg, at, actor, CUSTOMERS.field("crm_done"))
    plan = Plan("crm-done")
    update = {"stage": new_stage, "crm_done": when, "next_due": None, "next_action": None}
    plan.register.append(UpdateRow(CUSTOMERS.name, no, update))
    row.update(update)
    plan.folders.append(UpdateCustomerForm(no, _folder_name(row), {"stage": new_stage}))
    _log(plan, actor, [no], {})
    plan.result = {"customer_no": no, "stage": new_stage.value}
    plan.message_fa = f"CRM مشتری {no} انجام شد"
    plan.message_en = f"CRM done for customer {no}"
    return plan


def close_customer(
    reg: Register, customer_no: str, actor: Actor, *, lost: bool = False, at: Any = None
) -> Plan:
    """R11: close and temporarily archive; refused before CRM done unless the customer is lost."""
    row = reg.customer(customer_no)
    no = _s(row.get("customer_no"))
    state = customer_state(reg, no)
    if lost and state.stage is not Stage.LOST:
        lost_stage = lifecycle.apply("mark_lost", state)
        state = lifecycle.CustomerState(lost_stage, state.case_count, state.live_case_count)
    new_stage = lifecycle.apply("close", state)
    when = _day(reg, at, actor, CUSTOMERS.field("closed"))
    CLOSED_AFTER_CRM.check(row.get("crm_done"), when)
    folder = _folder_name(row)
    plan = Plan("customer-close")
    update = {
        "stage": new_stage,
        "closed": when,
        "folder": f"archive/{folder}",
        "next_due": None,
        "next_action": None,
        "followup_state": FollowUpState.FINAL,
        "state_reason": None,
    }
    plan.register.append(UpdateRow(CUSTOMERS.name, no, update))
    # The form is updated first, then its folder moves: the archived form says "closed".
    plan.folders.append(UpdateCustomerForm(no, folder, {"stage": new_stage}))
    plan.folders.append(ArchiveFolder(no, folder))
    row.update(update)
    _log(plan, actor, [no], {"lost": lost, "folder": update["folder"]})
    plan.result = {"customer_no": no, "stage": new_stage.value, "folder": update["folder"]}
    plan.message_fa = f"پرونده مشتری {no} بسته و بایگانی شد"
    plan.message_en = f"customer {no} closed and archived"
    return plan


def cancel_case(reg: Register, case_no: str, actor: Actor, *, reason: str, at: Any = None) -> Plan:
    """Cancel a sales case (the negotiation fell through): it stays, marked cancelled.

    Refused while the case has live invoices (void them first). A won customer whose every
    case is cancelled can then be closed as lost, or sold to again.
    """
    cno, case, customer_no = _guarded_case(reg, case_no, "cancel_case")
    why = _reason(reason, "cancel_case")
    when = _moment(reg, at, actor, LOG.field("at"))
    models.CANCELLED_AFTER_CASE.check(case.get("opened"), when)
    plan = Plan("case-cancel")
    update = {"status": CaseStatus.CANCELLED}
    plan.register.append(UpdateRow(CASES.name, cno, update))
    case.update(update)
    _log(plan, actor, [cno, customer_no], {"reason": why, "at": when})
    plan.result = {"case_no": cno, "customer_no": customer_no, "status": CaseStatus.CANCELLED.value}
    plan.message_fa = f"پرونده {cno} لغو شد"
    plan.message_en = f"case {cno} cancelled"
    return plan


def reopen_customer(
    reg: Register, customer_no: str, actor: Actor, *, reason: str, at: Any = None
) -> Plan:
    """Bring a lost or closed customer back to follow-up (R11 archives only "temporarily").

    A closed customer's folder comes back from archive/ to customers/; the closing and CRM
    dates of the finished cycle are cleared (the change log keeps them) and a follow-up is
    planned as at first contact.
    """
    row = reg.customer(customer_no)
    no = _s(row.get("customer_no"))
    state = customer_state(reg, no)
    new_stage = lifecycle.apply("reopen", state)
    why = _reason(reason, "reopen")
    when = _moment(reg, at, actor, LOG.field("at"))
    # The follow-up it plans must come after the last contact (validate's next-due rule).
    last = row.get("last_followup") or row.get("first_contact")
    models.REOPENED_AFTER_LAST_CONTACT.check(last, when)
    folder = _folder_name(row)
    archived = _s(row.get("folder")).startswith("archive/") or state.stage is Stage.CLOSED
    expert = _s(row.get("expert"))
    due = first_due(reg, when)
    update: dict[str, Any] = {
        "stage": new_stage,
        "crm_done": None,
        "closed": None,
        "folder": f"customers/{folder}",
        "next_due": due,
        "next_action": "پیگیری پس از بازگشایی پرونده",
        "next_owner": expert or None,
        "followup_state": FollowUpState.ON_TIME,
        "state_reason": None,
    }
    plan = Plan("customer-reopen")
    plan.register.append(UpdateRow(CUSTOMERS.name, no, update))
    if archived:
        plan.folders.append(RestoreFolder(no, folder, {"stage": new_stage}))
    else:
        plan.folders.append(UpdateCustomerForm(no, folder, {"stage": new_stage}))
    row.update(update)
    _log(plan, actor, [no], {"reason": why, "from": state.stage.value, "at": when})
    plan.result = {
        "customer_no": no,
        "stage": new_stage.value,
        "folder": update["folder"],
        "next_due": due.isoformat(),
    }
    plan.message_fa = f"پرونده مشتری {no} بازگشایی شد"
    plan.message_en = f"customer {no} reopened"
    return plan


def void_number(reg: Register, number: str, actor: Actor, *, reason: str = "") -> Plan:
    """Mark a number void: it stays in the register, marked, and is never issued again.

    A customer is voided only once its cases are void or cancelled, a case once its invoices
    are void: nothing live is left pointing at a void number.
    """
    n = normalize(number)
    if n and not any(n in t for t in (reg.customers, reg.cases, reg.invoices)):
        n = to_ascii_digits(n).upper()  # typed with Persian digits or in lower case
    plan = Plan("void")
    if n in reg.customers:
        table, key = CUSTOMERS.name, n
        live = [_s(c.get("case_no")) for c in reg.cases_of(n) if _live_case(c)]
        if live and not _is_void(reg.customers[n]):
            raise InputError(
                f"مشتری {n} پرونده فعال دارد ({'، '.join(live)})؛ ابتدا آن را لغو کنید "
                "(crm-xl case cancel) یا باطل کنید (crm-xl void)",
                f"customer {n} has live cases ({', '.join(live)}); cancel them "
                "(crm-xl case cancel) or void them (crm-xl void) first",
                code="void-refused",
            )
    elif n in reg.cases:
        table, key = CASES.name, n
        invoices = reg.live_invoices(n)
        if invoices and not _is_void(reg.cases[n]):
            raise InputError(
                f"پرونده {n} فاکتور فعال دارد ({'، '.join(invoices)})؛ ابتدا آن را باطل کنید (crm-xl void)",
                f"case {n} has live invoices ({', '.join(invoices)}); void them first (crm-xl void)",
                code="void-refused",
            )
    elif n in reg.invoices:
        table, key = INVOICES.name, n
    else:
        contracts = {clean_number(c.get("contract_no")): k for k, c in reg.cases.items()}
        owner = contracts.get(n) if n else None
        if owner is None:
            raise InputError(
                f"شماره «{number}» در دفتر ثبت پیدا نشد",
                f"number '{number}' is not in the register",
                code="not-found",
            )
        case = reg.cases[owner]
        if is_void(case.get("contract_status")):
            raise InputError(
                f"شماره {n} قبلاً باطل شده است", f"number {n} is already void", code="already-void"
            )
        # A contract lives on its case row: the number stays, flagged; the case loses its contract.
        update: dict[str, Any] = {"contract_status": RecordStatus.VOID}
        if _case_status(case) is CaseStatus.CONTRACTED:
            update["status"] = CaseStatus.OPEN
        plan.register.append(UpdateRow(CASES.name, owner, update))
        case.update(update)
        _log(plan, actor, [n], {"reason": normalize(reason), "kind": "contract"})
        plan.result = {"voided": n}
        plan.message_fa, plan.message_en = f"شماره {n} باطل شد", f"number {n} voided"
        return plan
    rows = {CUSTOMERS.name: reg.customers, CASES.name: reg.cases, INVOICES.name: reg.invoices}
    if _is_void(rows[table][key]):
        raise InputError(
            f"شماره {n} قبلاً باطل شده است", f"number {n} is already void", code="already-void"
        )
    plan.register.append(UpdateRow(table, key, {"record_status": RecordStatus.VOID}))
    rows[table][key]["record_status"] = RecordStatus.VOID.fa
    if table == INVOICES.name:
        # The case's invoice list and total follow its live invoices.
        cno = _s(reg.invoices[key].get("case_no"))
        if cno in reg.cases:
            totals = _invoice_totals(reg, cno, reg.cases[cno])
            plan.register.append(UpdateRow(CASES.name, cno, totals))
            reg.cases[cno].update(totals)
    _log(plan, actor, [n], {"reason": normalize(reason)})
    plan.result = {"voided": n}
    plan.message_fa, plan.message_en = f"شماره {n} باطل شد", f"number {n} voided"
    return plan
