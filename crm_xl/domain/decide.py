"""Register operations as pure functions: a snapshot of the register in, a ``Plan`` out.

Nothing here opens a file. The stores (``store`` for files, ``excel.store`` for the live
workbook) read the snapshot, call one of these functions and apply its plan, so the CLI
and the Excel buttons run exactly the same decisions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import jdatetime

from crm_xl.domain import ids, lifecycle
from crm_xl.domain.changes import (
    AppendFollowUp,
    AppendRow,
    ArchiveFolder,
    CreateCustomerForm,
    Plan,
    SetCounter,
    UpdateCustomerForm,
    UpdateRow,
)
from crm_xl.domain.dates import TEHRAN, parse_datetime
from crm_xl.domain.enums import (
    CaseStatus,
    Channel,
    FollowUpState,
    FollowUpType,
    PersonType,
    RecordStatus,
    Stage,
)
from crm_xl.domain.errors import InputError
from crm_xl.domain.followup import first_followup_due
from crm_xl.domain.names import customer_folder_name
from crm_xl.domain.numbering import Issued, highest_used, next_number, scope_of
from crm_xl.domain.schema import CASES, CUSTOMERS, INVOICES, LOG
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


class PartyIndex:
    """Customers by national code/ID, mobile and normalised name: the duplicate rules.

    A party matching on several keys is reported once, by the strongest (national id, then
    mobile, then name); hits come in the order the customers were added.
    """

    def __init__(self) -> None:
        self.by: dict[str, dict[str, list[str]]] = {k: {} for k in _PARTY_KEYS}
        self.order: dict[str, int] = {}

    def add(self, who: str, national_id: str, mobile: str, name: object) -> None:
        self.order.setdefault(who, len(self.order))
        for kind, value in zip(_PARTY_KEYS, (national_id, mobile, name_key(name)), strict=True):
            if value:
                self.by[kind].setdefault(value, []).append(who)

    def find(self, national_id: str, mobile: str, name: object) -> list[tuple[str, str]]:
        """(who, reason key) of every entry sharing a key, strongest reason per entry."""
        hits: dict[str, str] = {}
        for kind, value in zip(_PARTY_KEYS, (national_id, mobile, name_key(name)), strict=True):
            for who in self.by[kind].get(value, ()) if value else ():
                hits.setdefault(who, kind)
        return sorted(hits.items(), key=lambda h: self.order[h[0]])


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
        for r in log:
            for n in _s(r.get("numbers")).split(","):
                if n.strip():
                    reg.logged_numbers.add(n.strip())
        return reg

    def used_numbers(self, kind: str) -> set[str]:
        used = set(self.logged_numbers)
        if kind == "customer":
            used |= set(self.customers)
        elif kind == "case":
            used |= set(self.cases)
        elif kind == "contract":
            used |= {_s(c.get("contract_no")) for c in self.cases.values()}
        elif kind == "invoice":
            used |= set(self.invoices)
        return used

    def customer(self, number: str) -> Row:
        row = self.customers.get(normalize(number))
        if row is None:
            raise InputError(
                f"مشتری با شماره «{number}» در دفتر ثبت نیست",
                f"no customer numbered '{number}' in the register",
                code="not-found",
                field="customer_no",
            )
        return row

    def case(self, number: str) -> Row:
        row = self.cases.get(normalize(number))
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


def stage_of(row: Row) -> Stage:
    try:
        return Stage.parse(row.get("stage") or Stage.FIRST_CONTACT)
    except ValueError:
        return Stage.FOLLOW_UP  # an unreadable stage typed by hand: treat as open


def _is_void(row: Row) -> bool:
    return _s(row.get("record_status")) == RecordStatus.VOID.fa


def _case_status(row: Row) -> CaseStatus:
    try:
        return CaseStatus.parse(row.get("status") or CaseStatus.OPEN)
    except ValueError:
        return CaseStatus.OPEN


def customer_state(reg: Register, customer_no: str) -> lifecycle.CustomerState:
    row = reg.customer(customer_no)
    cases = [c for c in reg.cases_of(customer_no) if not _is_void(c)]
    live = [c for c in cases if _case_status(c) is not CaseStatus.CANCELLED]
    return lifecycle.CustomerState(stage_of(row), len(cases), len(live))


def case_state(reg: Register, case_no: str) -> lifecycle.CaseState:
    row = reg.case(case_no)
    return lifecycle.CaseState(
        _case_status(row), bool(_s(row.get("contract_no"))), len(reg.live_invoices(case_no))
    )


def _guarded_case(reg: Register, case_no: str, operation: str) -> tuple[str, Row, str]:
    """(case number, case row, customer number) once ``operation`` passes the lifecycle guard."""
    cno = normalize(case_no)
    case = reg.case(cno)
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


def _jyear(moment: datetime) -> int:
    return int(jdatetime.date.fromgregorian(date=moment.astimezone(TEHRAN).date()).year)


def _issue(reg: Register, kind: str, moment: datetime, plan: Plan) -> Issued:
    rule = reg.settings.rule(kind)
    jyear = _jyear(moment)
    key = (kind, scope_of(rule, jyear))
    if key not in reg.scanned_high:
        reg.scanned_high[key] = highest_used(rule, reg.used_numbers(kind), key[1])
    high = max(reg.counters.get(key, 0), reg.scanned_high[key])
    if reg.numbers is not None:
        high = reg.numbers.next_seq(kind, rule, jyear, high) - 1
    issued = next_number(kind, rule, jyear, {key: high}, ())
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


def _when(value: Any, actor: Actor, field_name: str) -> datetime:
    return parse_when(value, actor.now, field_name)


def first_due(reg: Register, first_contact: datetime) -> datetime:
    return first_followup_due(first_contact, reg.settings.followup)


# --- operations ------------------------------------------------------------------------------


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


def _clean_new_customer(inp: NewCustomer) -> tuple[dict[str, Any], PersonType]:
    name = normalize(inp.name)
    if not name:
        raise InputError("نام مشتری خالی است", "customer name is empty", field="name")
    try:
        ptype = PersonType.parse(inp.person_type)
        channel = Channel.parse(inp.channel)
    except ValueError as e:
        raise InputError(str(e), str(e), code="constraint-error", field="person_type") from None
    expert = normalize(inp.expert)
    if not expert:
        raise InputError("کارشناس فروش خالی است", "sales expert is empty", field="expert")
    natid = ""
    if ptype is PersonType.NATURAL and inp.national_code:
        natid = ids.normalize_national_code(inp.national_code)
    elif ptype is PersonType.LEGAL and (inp.national_id or inp.national_code):
        raw = normalize(inp.national_id or inp.national_code)
        if not ids.is_legal_id(raw):
            raise InputError(
                f"شناسه ملی «{raw}» نامعتبر است (۱۱ رقم با رقم کنترل)",
                f"legal national ID '{raw}' is invalid (11 digits with a check digit)",
                code="constraint-error",
                field="national_id",
            )
        natid = to_ascii_digits(raw)
    mobile = ids.normalize_mobile(inp.mobile) if inp.mobile else ""
    phone = ids.normalize_phone(inp.phone) if inp.phone else ""
    values = {
        "name": name,
        "person_type": ptype,
        "national_id": natid,
        "mobile": mobile,
        "phone": phone,
        "channel": channel,
        "referrer": normalize(inp.referrer),
        "expert": expert,
        "category": normalize(inp.category),
        "need": normalize(inp.need),
    }
    return values, ptype


def find_duplicates(reg: Register, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Existing customers that look like the same party: (customer number, reason key)."""
    hits = reg.parties().find(
        values.get("national_id") or "", values.get("mobile") or "", values.get("name")
    )
    return [(no, why) for no, why in hits if not _is_void(reg.customers[no])]


def register_customer(reg: Register, inp: NewCustomer, actor: Actor) -> Plan:
    """R1, R4, R5, R12: number the customer, list them in the register, make their folder."""
    values, ptype = _clean_new_customer(inp)
    values["expert"] = reg.settings.expert(values["expert"])  # a typo would split task lists
    dups = find_duplicates(reg, values)
    if dups and not inp.allow_duplicate:
        no, why = dups[0]
        why_fa = {"national_id": "کد/شناسه ملی", "mobile": "تلفن همراه", "name": "نام"}[why]
        raise InputError(
            f"این مشتری قبلاً با شماره {no} ثبت شده است (همان {why_fa})",
            f"this customer is already registered as {no} (same {why}); "
            "use --allow-duplicate to register anyway",
            code="duplicate-customer",
            field=why,
        )
    first = _when(inp.at, actor, "first_contact")
    plan = Plan("customer-add")
    issued = _issue(reg, "customer", actor.now, plan)
    folder = customer_folder_name(issued.number, values["name"])
    due = first_due(reg, first)
    row = {
        "customer_no": issued.number,
        **values,
        "first_contact": first,
        "stage": Stage.FIRST_CONTACT,
        "next_due": due,
        "next_action": "پیگیری ۲۴ ساعته پس از اولین تماس",
        "next_owner": values["expert"],
        "followup_state": FollowUpState.ON_TIME,
        "folder": f"customers/{folder}",
        "record_status": RecordStatus.ACTIVE,
    }
    plan.register.append(AppendRow(CUSTOMERS.name, row))
    reg.put_customer(issued.number, row)
    registration = _registration_block(values, ptype, issued.number, first, inp.extra)
    plan.folders.append(CreateCustomerForm(issued.number, folder, registration))
    _log(plan, actor, [issued.number], {"name": values["name"], "expert": values["expert"]})
    plan.result = {
        "customer_no": issued.number,
        "folder": row["folder"],
        "next_due": due.isoformat(),
        "duplicates": [no for no, _ in dups],
    }
    plan.message_fa = f"مشتری {values['name']} با شماره {issued.number} ثبت شد"
    plan.message_en = f"customer {values['name']} registered as {issued.number}"
    return plan


def _registration_block(
    values: Mapping[str, Any],
    ptype: PersonType,
    number: str,
    first: datetime,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "customer_no": number,
        "person_type": ptype,
        "mobile": values["mobile"],
        "phone": values["phone"],
        "category": values["category"],
        "need": values["need"],
        "channel": values["channel"],
        "referrer": values["referrer"],
        "first_contact": first,
        "expert": values["expert"],
        "stage": Stage.FIRST_CONTACT,
    }
    if ptype is PersonType.NATURAL:
        first_name, _, last_name = values["name"].partition(" ")
        block.update(
            first_name=first_name, last_name=last_name, national_code=values["national_id"]
        )
    else:
        block.update(company_name=values["name"], legal_id=values["national_id"])
    block.update({k: v for k, v in extra.items() if v not in (None, "")})
    return block


@dataclass
class NewFollowUp:
    customer_no: str
    type: str
    note: str
    at: Any = None
    expert: str = ""
    minutes: int | None = None
    result: str = ""  # a pre-sale stage the follow-up moved the customer to
    next_type: str = ""
    next_action: str = ""
    next_due: Any = None
    next_owner: str = ""
    next_minutes: int | None = None


def log_followup(reg: Register, inp: NewFollowUp, actor: Actor) -> Plan:
    """R2, R10: record a follow-up with its planned next action in F-31-08-01 and the register."""
    no = normalize(inp.customer_no)
    row = reg.customer(no)
    state = customer_state(reg, no)
    at = _when(inp.at, actor, "at")
    first = row.get("first_contact")
    if isinstance(first, datetime):
        first_aware = first if first.tzinfo else first.replace(tzinfo=TEHRAN)
        if at < first_aware - timedelta(minutes=1):
            raise InputError(
                "تاریخ پیگیری پیش از اولین تماس است",
                "the follow-up is dated before the first contact",
                code="constraint-error",
                field="at",
            )
    try:
        ftype = FollowUpType.parse(inp.type)
    except ValueError as e:
        raise InputError(str(e), str(e), code="constraint-error", field="type") from None
    note = normalize(inp.note)
    if not note:
        raise InputError("شرح پیگیری خالی است", "the follow-up note is empty", field="note")
    if inp.result:
        try:
            target = Stage.parse(inp.result)
        except ValueError as e:
            raise InputError(str(e), str(e), code="constraint-error", field="result") from None
        new_stage = lifecycle.apply("set_stage", state, target=target)
    else:
        new_stage = lifecycle.apply("followup", state)
    next_due = None
    next_type = None
    if inp.next_action or inp.next_due:
        if not inp.next_due:
            raise InputError(
                "برای اقدام بعدی موعد لازم است",
                "a next action needs a due date (--next-due)",
                field="next_due",
            )
        next_due = _when(inp.next_due, actor, "next_due")
        if next_due <= at:
            raise InputError(
                "موعد اقدام بعدی باید پس از این پیگیری باشد",
                "the next action must be due after this follow-up",
                code="constraint-error",
                field="next_due",
            )
        next_type = FollowUpType.parse(inp.next_type) if inp.next_type else ftype
    expert = reg.settings.expert(inp.expert) if normalize(inp.expert) else _s(row.get("expert"))
    owner = (
        reg.settings.expert(inp.next_owner, "next_owner") if normalize(inp.next_owner) else expert
    )
    values = {
        "at": at,
        "type": ftype,
        "expert": expert,
        "minutes": inp.minutes,
        "description": note,
        "result": new_stage,
        "next_type": next_type,
        "next_action": normalize(inp.next_action) if next_due else None,
        "next_owner": owner if next_due else None,
        "next_due": next_due,
        "next_minutes": inp.next_minutes if next_due else None,
    }
    plan = Plan("followup-add")
    update = {
        "last_followup": at,
        "stage": new_stage,
        "next_due": next_due,
        "next_action": values["next_action"],
        "next_owner": values["next_owner"],
    }
    plan.register.append(UpdateRow(CUSTOMERS.name, no, update))
    row.update(update)
    plan.folders.append(AppendFollowUp(no, _folder_name(row), values, {"stage": new_stage}))
    _log(plan, actor, [no], {"type": ftype.value, "next_due": next_due})
    plan.result = {"customer_no": no, "stage": new_stage.value, "next_due": next_due}
    plan.message_fa = f"پیگیری مشتری {no} ثبت شد"
    plan.message_en = f"follow-up of customer {no} recorded"
    return plan


def _folder_name(row: Row) -> str:
    folder = _s(row.get("folder"))
    return folder.split("/", 1)[1] if "/" in folder else folder


def open_case(
    reg: Register, customer_no: str, actor: Actor, *, products: Iterable[str] = (), at: Any = None
) -> Plan:
    """R6: a sale gets a serial case number; the customer moves to Won."""
    no = normalize(customer_no)
    row = reg.customer(no)
    new_stage = lifecycle.apply("open_case", customer_state(reg, no))
    opened = _when(at, actor, "opened")
    plan = Plan("case-open")
    issued = _issue(reg, "case", actor.now, plan)
    case = {
        "case_no": issued.number,
        "customer_no": no,
        "customer_name": row.get("name"),
        "opened": opened,
        "expert": row.get("expert"),
        "products": ", ".join(normalize(p) for p in products if normalize(p)),
        "status": CaseStatus.OPEN,
        "record_status": RecordStatus.ACTIVE,
    }
    plan.register.append(AppendRow(CASES.name, case))
    reg.cases[issued.number] = case
    plan.register.append(UpdateRow(CUSTOMERS.name, no, {"stage": new_stage}))
    row["stage"] = new_stage
    plan.folders.append(UpdateCustomerForm(no, _folder_name(row), {"stage": new_stage}))
    _log(plan, actor, [issued.number, no], {"products": case["products"]})
    plan.result = {"case_no": issued.number, "customer_no": no}
    plan.message_fa = f"پرونده فروش {issued.number} برای مشتری {no} تشکیل شد"
    plan.message_en = f"case {issued.number} opened for customer {no}"
    return plan


def parse_rial(value: Any, field_name: str) -> int | None:
    """A Rial amount as typed (Persian digits, digit grouping); None when blank, else > 0."""
    if value is None or value == "":
        return None
    text = to_ascii_digits(normalize(str(value)))
    text = text.replace(",", "").replace("٬", "").replace(" ", "")
    try:
        amount = int(float(text)) if "." in text else int(text)
    except ValueError:
        raise InputError(
            f"مبلغ «{value}» عدد نیست",
            f"amount '{value}' is not a number",
            code="type-error",
            field=field_name,
        ) from None
    if amount <= 0:
        raise InputError(
            "مبلغ باید مثبت باشد",
            "the amount must be positive",
            code="constraint-error",
            field=field_name,
        )
    return amount


def add_contract(
    reg: Register, case_no: str, actor: Actor, *, at: Any = None, amount: Any = None
) -> Plan:
    """R7: a contract on a case gets a serial contract number."""
    cno, case, _ = _guarded_case(reg, case_no, "add_contract")
    signed = _when(at, actor, "contract_date")
    plan = Plan("contract-add")
    issued = _issue(reg, "contract", actor.now, plan)
    update: dict[str, Any] = {
        "contract_no": issued.number,
        "contract_date": signed.date(),
        "status": CaseStatus.CONTRACTED,
    }
    value = parse_rial(amount, "amount")
    if value is not None:
        update["amount"] = value
    plan.register.append(UpdateRow(CASES.name, cno, update))
    case.update(update)
    _log(plan, actor, [issued.number, cno], {"amount": value})
    plan.result = {"contract_no": issued.number, "case_no": cno}
    plan.message_fa = f"قرارداد {issued.number} برای پرونده {cno} ثبت شد"
    plan.message_en = f"contract {issued.number} recorded on case {cno}"
    return plan


def issue_invoice(
    reg: Register, case_no: str, actor: Actor, *, amount: Any = None, at: Any = None
) -> Plan:
    """R8: a serial invoice number, plus the Moadian tax id when a memory id is configured."""
    cno, case, customer_no = _guarded_case(reg, case_no, "issue_invoice")
    issued_at = _when(at, actor, "issued")
    value = parse_rial(amount, "amount")
    plan = Plan("invoice-issue")
    issued = _issue(reg, "invoice", issued_at, plan)
    tax_id = None
    memory_id = reg.settings.fiscal_memory_id
    if memory_id:
        # The internal serial (inno) never resets and never repeats, even after a rejection.
        serial = _issue(reg, "tax", issued_at, plan)
        tax_id = ids.make_tax_id(memory_id, issued_at, serial.seq)
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
    live = reg.live_invoices(cno)
    total = sum(int(reg.invoices[n].get("amount") or 0) for n in live)
    update: dict[str, Any] = {"invoice_nos": ", ".join(live), "status": CaseStatus.INVOICED}
    if total:
        update["amount"] = total
    plan.register.append(UpdateRow(CASES.name, cno, update))
    case.update(update)
    _log(plan, actor, [issued.number, cno], {"amount": value, "tax_id": tax_id})
    plan.result = {"invoice_no": issued.number, "case_no": cno, "tax_id": tax_id}
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
    products: Mapping[str, bool] | None = None,
) -> Plan:
    """R11's last stage: after-sales / satisfaction done for the customer's sale.

    ``products`` (product code key → its F-31-07-01 is complete) makes the step refuse while
    a product sold to this customer has no complete after-sales form (seed 003).
    """
    no = normalize(customer_no)
    row = reg.customer(no)
    new_stage = lifecycle.apply("crm_done", customer_state(reg, no))
    if products is not None:
        from crm_xl.domain.aftersales import require_aftersales

        require_aftersales(products, reg.cases_of(no))
    when = _when(at, actor, "crm_done")
    plan = Plan("crm-done")
    update = {"stage": new_stage, "crm_done": when.date(), "next_due": None, "next_action": None}
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
    no = normalize(customer_no)
    row = reg.customer(no)
    state = customer_state(reg, no)
    if lost and state.stage is not Stage.LOST:
        lost_stage = lifecycle.apply("mark_lost", state)
        state = lifecycle.CustomerState(lost_stage, state.case_count, state.live_case_count)
    new_stage = lifecycle.apply("close", state)
    when = _when(at, actor, "closed")
    folder = _folder_name(row)
    plan = Plan("customer-close")
    update = {
        "stage": new_stage,
        "closed": when.date(),
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


def void_number(reg: Register, number: str, actor: Actor, *, reason: str = "") -> Plan:
    """Mark a number void: it stays in the register, marked, and is never issued again."""
    n = normalize(number)
    plan = Plan("void")
    if n in reg.customers:
        table, key = CUSTOMERS.name, n
    elif n in reg.cases:
        table, key = CASES.name, n
    elif n in reg.invoices:
        table, key = INVOICES.name, n
    else:
        owner = next((k for k, c in reg.cases.items() if _s(c.get("contract_no")) == n), None)
        if owner is None:
            raise InputError(
                f"شماره «{number}» در دفتر ثبت پیدا نشد",
                f"number '{number}' is not in the register",
                code="not-found",
            )
        # A contract lives on its case row: the case goes back to open, the number stays logged.
        update = {"contract_no": f"{n} (باطل)", "status": CaseStatus.OPEN}
        plan.register.append(UpdateRow(CASES.name, owner, update))
        reg.cases[owner].update(update)
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
    _log(plan, actor, [n], {"reason": normalize(reason)})
    plan.result = {"voided": n}
    plan.message_fa, plan.message_en = f"شماره {n} باطل شد", f"number {n} voided"
    return plan
