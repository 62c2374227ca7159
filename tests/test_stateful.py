"""Acceptance 2 of issue 12: random operation sequences through the Python API keep one rule set.

A hypothesis ``RuleBasedStateMachine`` registers customers, logs follow-ups, opens cases, adds
contracts and invoices, voids numbers, marks CRM done, closes, cancels and reopens, through
``crm_xl.ops.store``, with valid and invalid inputs (blank and hostile names, bad national
codes, impossible Jalali dates, negative minutes, unknown and voided numbers, dates before the
first contact, amounts ≤ 0 or fractional, Arabic ي/ك, Persian digits). After every step:

* ``validate`` reports no error on the workspace: what a write accepts, validate accepts;
* a refused step (``CrmError``) left every file of the workspace byte-identical, and said why
  in Persian and English;
* an operation on a voided number was refused.

The clock is injected (``now``) and moves forward with every step; the workspace is a copy of
the session's pristine one. Examples and steps are capped to keep the run under a minute.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from helpers_workspace import EXPERTS, changed, copy_workspace, digests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN, to_jalali_str
from crm_xl.domain.errors import CrmError
from crm_xl.domain.ids import make_legal_id, make_national_code
from crm_xl.io.workspace import Workspace
from crm_xl.ops import products, store
from crm_xl.validation import validate_paths

#: 1403/12/11 10:00 Tehran, a Saturday; every step moves the clock on by STEP.
START = datetime(2025, 3, 1, 10, 0, tzinfo=TEHRAN)
STEP = timedelta(hours=5)
FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

NAMES = [
    "رضا کریمی",
    "علي كريمي",  # Arabic ي and ك
    "شرکت پتروشیمی نوین",
    "زهرا موسوی\u200cنژاد",
    "شركت فولاد ۲",  # Arabic ك, a Persian digit
]
BAD_NAMES = [
    "",
    "   ",
    "\u200c",
    "=1+1",
    "@SUM(A1)",
    "+989121234567",
    "-",
    "\u200f=cmd|' /C calc'!A0",
]
NATURAL = ["natural", "حقیقی"]
LEGAL = ["legal", "حقوقی"]
NATIONAL_CODES = ["", make_national_code("001234567"), make_national_code("001234568")]
NATIONAL_CODES.append(NATIONAL_CODES[1].translate(FA_DIGITS))  # typed with Persian digits
LEGAL_IDS = ["", make_legal_id("1010203040"), make_legal_id("1010203041")]
BAD_IDS = ["0012345678", "1111111111", "12345", "10102030400", "abc"]
BAD_PERSON_TYPES = ["robot", ""]
CHANNELS = ["phone", "تلفن", "telegram", "نمایشگاه"]
BAD_CHANNELS = ["carrier pigeon", ""]
EXPERT_INPUTS = [*EXPERTS, "علي رضايي"]
BAD_EXPERTS = ["", "   "]
NEEDS = ["پمپ سانتریفیوژ", "خرید ۱۰ دستگاه 2"]
BAD_NEEDS = ["", "  "]
MOBILES = ["", "09121234567", "۰۹۱۲۱۲۳۴۵۶۸", "+989121234569"]
BAD_MOBILES = ["12345", "۰۹۱۲", "phone"]
FOLLOWUP_TYPES = ["phone", "visit", "تماس تلفنی", "email"]
BAD_FOLLOWUP_TYPES = ["telepathy", ""]
NOTES = ["قیمت خواست", "كاتالوگ ارسال شد", '=HYPERLINK("http://x")']
BAD_NOTES = ["", "   "]
RESULTS = ["", "", "negotiation", "proposal", "پیش‌فاکتور"]
BAD_RESULTS = ["won", "lost", "closed", "nonsense"]
MINUTES = [None, 0, 15, 90]
BAD_MINUTES = [-5, -1]
PRODUCT_CODES = ["PMP-100", "VLV-7", "ZZZ-1", "pmp-۱۰۰"]
AMOUNTS: list[object] = [None, 1_500_000_000, "1500000", "۱٬۵۰۰٬۰۰۰", "2,000,000"]
BAD_AMOUNTS: list[object] = [0, -5, "-100", "12.5", 0.5, "abc"]
FIXED_DATES = [
    "1403/12/30",  # 1403 is a leap year: a real date
    "1404/12/30",  # 1404 is not: impossible
    "1403/13/01",
    "1403/00/10",
    "فردا",
    "2025-02-30",
]
UNKNOWN_NUMBERS = ["C-99999", "P-99999", "Q-1403-9999", "1403-999999", "", "  ", "garbage"]
#: Two complete after-sales profiles (seed 003): with services, and without (with a reason).
PRODUCTS = {
    "PMP-100": {
        "code": "PMP-100",
        "name": "پمپ سانتریفیوژ",
        "origin": "imported",
        "services": ["installation:یک‌بار:0:نمایندگی رسمی", "training:۲ روز:۱۲٬۵۰۰٬۰۰۰"],
        "commitment": "GF-1403/118",
    },
    "VLV-7": {
        "code": "VLV-7",
        "name": "شیر توپی",
        "origin": "domestic",
        "no_service": True,
        "reason": "simplicity",
    },
}


class Entry:
    """What a user types for one operation: every field right, or (half the time) one wrong.

    One wrong field at a time keeps sequences long enough to reach late stages, and a failure
    names the field that did it (the ``wrong`` draw).
    """

    def __init__(self, data: st.DataObject, fields: list[str]) -> None:
        self.data = data
        self.wrong = data.draw(st.sampled_from([None] * len(fields) + fields), label="wrong")

    def pick(self, name: str, good: list[Any], bad: list[Any]) -> Any:
        return self.data.draw(st.sampled_from(bad if name == self.wrong else good), label=name)


def _text_date(moment: datetime, persian: bool = False) -> str:
    text = to_jalali_str(moment, with_time=True)
    return text.translate(FA_DIGITS) if persian else text


class CrmMachine(RuleBasedStateMachine):
    """One workspace per example; each rule is one operation as a user could call it."""

    pristine: ClassVar[Path]

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="crm-stateful-"))
        self.ws: Workspace = copy_workspace(self.pristine, self.tmp / "ws")
        self.now = START
        self.customers: list[str] = []
        self.cases: list[str] = []
        self.contracts: list[str] = []
        self.invoices: list[str] = []
        self.voided: set[str] = set()
        self.steps: list[str] = []
        self.state = digests(self.ws.root)
        self.validated: dict[str, str] | None = None

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- drawing inputs --------------------------------------------------------------------

    def when(self, entry: Entry, name: str, *, back_days: int = 2) -> object:
        """A moment as typed: blank (now), Jalali text up to ``back_days`` before now (Persian
        digits or not), ISO; wrong: impossible, unreadable, or long before everything."""
        if entry.wrong == name:
            long_ago = _text_date(START - timedelta(days=90))
            return entry.data.draw(st.sampled_from([*FIXED_DATES, long_ago]), label=name)
        now = self.now

        def typed(hours: int, persian: bool) -> str:
            return _text_date(now - timedelta(hours=hours), persian)

        near = st.builds(typed, st.integers(-24, 24 * back_days), st.booleans())
        iso = st.just(self.now.isoformat())
        return entry.data.draw(st.one_of(st.none(), near, iso), label=name)

    def number(self, entry: Entry, name: str, pool: list[str]) -> str:
        """A number of ``pool`` as issued; wrong: unknown, of another kind, or typed with
        Persian digits."""
        if entry.wrong == name or not pool:
            others = [n for n in self.customers + self.cases + self.invoices if n not in pool]
            typed = [n.translate(FA_DIGITS) for n in pool]
            return entry.data.draw(st.sampled_from(UNKNOWN_NUMBERS + others + typed), label=name)
        return entry.data.draw(st.sampled_from(pool), label=name)

    # -- running one operation -------------------------------------------------------------

    def attempt(self, step: str, operation: Callable[[datetime], Any], target: str = "") -> Any:
        """Run one operation at the machine's clock; check what a refusal left behind.

        ``target`` is the voided number the operation names, if any: it must be refused.
        """
        now = self.now
        self.now += STEP
        self.steps.append(f"{to_jalali_str(now, with_time=True)} {step}")
        before = self.state
        try:
            result = operation(now)
        except CrmError as e:
            after = digests(self.ws.root)
            assert not changed(before, after), (
                f"refused ({e.code}: {e.en}) but changed {changed(before, after)}\n"
                + "\n".join(self.steps)
            )
            assert e.fa.strip() and e.en.strip(), f"refusal without both languages: {e!r}"
            self.steps[-1] += f"  → refused {e.code}"
            return None
        self.state = digests(self.ws.root)
        self.steps[-1] += "  → done"
        assert not target, f"an operation on the voided number {target} was accepted\n" + "\n".join(
            self.steps
        )
        return result

    def voided_target(self, number: str) -> str:
        """``number`` when it names a voided number (also typed with Persian digits), else ''."""
        plain = number.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")).strip()
        return plain if plain and plain in self.voided else ""

    # -- the operations ------------------------------------------------------------------------

    @initialize(codes=st.lists(st.sampled_from(sorted(PRODUCTS)), max_size=3))
    def after_sales_forms(self, codes: list[str]) -> None:
        """The after-sales forms (seed 003) of some products: CRM done checks the ones sold.

        A second form for the same product is refused (and must leave no trace)."""
        for code in codes:
            profile = products.build_profile(**PRODUCTS[code])  # type: ignore[arg-type]

            def add(now: datetime, profile: Any = profile) -> Path:
                return products.add_product(self.ws, profile)

            self.attempt(f"add_product {code}", add)

    @rule(data=st.data(), legal=st.booleans(), allow_duplicate=st.booleans())
    def add_customer(self, data: st.DataObject, legal: bool, allow_duplicate: bool) -> None:
        e = Entry(
            data,
            ["name", "person_type", "id", "channel", "expert", "need", "mobile", "first_contact"],
        )
        ident = e.pick("id", LEGAL_IDS if legal else NATIONAL_CODES, BAD_IDS)
        inp = decide.NewCustomer(
            name=e.pick("name", NAMES, BAD_NAMES),
            person_type=e.pick("person_type", LEGAL if legal else NATURAL, BAD_PERSON_TYPES),
            channel=e.pick("channel", CHANNELS, BAD_CHANNELS),
            expert=e.pick("expert", EXPERT_INPUTS, BAD_EXPERTS),
            need=e.pick("need", NEEDS, BAD_NEEDS),
            national_code="" if legal else ident,
            national_id=ident if legal else "",
            mobile=e.pick("mobile", MOBILES, BAD_MOBILES),
            at=self.when(e, "first_contact", back_days=20),
            allow_duplicate=allow_duplicate,
        )
        plan = self.attempt(
            f"add_customer {inp!r}", lambda now: store.add_customer(self.ws, inp, now=now)
        )
        if plan is not None:
            self.customers.append(str(plan.result["customer_no"]))

    @precondition(lambda self: self.customers)
    @rule(data=st.data(), plan_next=st.booleans())
    def add_followup(self, data: st.DataObject, plan_next: bool) -> None:
        fields = ["customer_no", "type", "note", "minutes", "result", "at"]
        e = Entry(data, [*fields, "next_due"] if plan_next else fields)
        no = self.number(e, "customer_no", self.customers)
        due: object = None
        if plan_next:  # right: three days on; wrong: impossible, unreadable or long ago
            due = (
                self.when(e, "next_due") if e.wrong == "next_due" else self.now + timedelta(days=3)
            )
        inp = decide.NewFollowUp(
            customer_no=no,
            type=e.pick("type", FOLLOWUP_TYPES, BAD_FOLLOWUP_TYPES),
            note=e.pick("note", NOTES, BAD_NOTES),
            at=self.when(e, "at"),
            minutes=e.pick("minutes", MINUTES, BAD_MINUTES),
            result=e.pick("result", RESULTS, BAD_RESULTS),
            next_action="ارسال پیش‌فاکتور" if plan_next else "",
            next_due=_text_date(due) if isinstance(due, datetime) else due,
        )
        self.attempt(
            f"add_followup {inp!r}",
            lambda now: store.add_followup(self.ws, inp, now=now),
            self.voided_target(no),
        )

    @precondition(lambda self: self.customers)
    @rule(data=st.data(), items=st.lists(st.sampled_from(PRODUCT_CODES), max_size=2))
    def open_case(self, data: st.DataObject, items: list[str]) -> None:
        e = Entry(data, ["customer_no", "opened"])
        no = self.number(e, "customer_no", self.customers)
        at = self.when(e, "opened")
        plan = self.attempt(
            f"open_case {no!r} products={items!r} at={at!r}",
            lambda now: store.open_case(self.ws, no, products=items, at=at, now=now),
            self.voided_target(no),
        )
        if plan is not None:
            self.cases.append(str(plan.result["case_no"]))

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def add_contract(self, data: st.DataObject) -> None:
        e = Entry(data, ["case_no", "amount", "contract_date"])
        case = self.number(e, "case_no", self.cases)
        amount = e.pick("amount", AMOUNTS, BAD_AMOUNTS)
        at = self.when(e, "contract_date")
        plan = self.attempt(
            f"add_contract {case!r} amount={amount!r} at={at!r}",
            lambda now: store.add_contract(self.ws, case, amount=amount, at=at, now=now),
            self.voided_target(case),
        )
        if plan is not None:
            self.contracts.append(str(plan.result["contract_no"]))

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def issue_invoice(self, data: st.DataObject) -> None:
        e = Entry(data, ["case_no", "amount", "issued"])
        case = self.number(e, "case_no", self.cases)
        amount = e.pick("amount", AMOUNTS, BAD_AMOUNTS)
        at = self.when(e, "issued")
        plan = self.attempt(
            f"issue_invoice {case!r} amount={amount!r} at={at!r}",
            lambda now: store.issue_invoice(self.ws, case, amount=amount, at=at, now=now),
            self.voided_target(case),
        )
        if plan is not None:
            self.invoices.append(str(plan.result["invoice_no"]))

    @precondition(lambda self: self.customers)
    @rule(data=st.data(), reason=st.sampled_from(["", "اشتباه ثبت شد"]))
    def void_number(self, data: st.DataObject, reason: str) -> None:
        e = Entry(data, ["number"])
        number = self.number(
            e, "number", self.customers + self.cases + self.contracts + self.invoices
        )
        plan = self.attempt(
            f"void_number {number!r} reason={reason!r}",
            lambda now: store.void_number(self.ws, number, reason=reason, now=now),
            self.voided_target(number),  # voiding twice is refused too
        )
        if plan is not None:
            self.voided.add(str(plan.result["voided"]))

    @precondition(lambda self: self.customers)
    @rule(data=st.data())
    def crm_done(self, data: st.DataObject) -> None:
        e = Entry(data, ["customer_no", "crm_done"])
        no = self.number(e, "customer_no", self.customers)
        at = self.when(e, "crm_done")
        self.attempt(
            f"crm_done {no!r} at={at!r}",
            lambda now: store.crm_done(self.ws, no, at=at, now=now),
            self.voided_target(no),
        )

    @precondition(lambda self: self.customers)
    @rule(data=st.data(), lost=st.booleans())
    def close_customer(self, data: st.DataObject, lost: bool) -> None:
        e = Entry(data, ["customer_no", "closed"])
        no = self.number(e, "customer_no", self.customers)
        at = self.when(e, "closed")
        self.attempt(
            f"close_customer {no!r} lost={lost} at={at!r}",
            lambda now: store.close_customer(self.ws, no, lost=lost, at=at, now=now),
            self.voided_target(no),
        )

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def cancel_case(self, data: st.DataObject) -> None:
        e = Entry(data, ["case_no", "reason", "cancelled"])
        case = self.number(e, "case_no", self.cases)
        reason = e.pick("reason", ["مشتری منصرف شد"], ["", "  "])
        at = self.when(e, "cancelled")
        self.attempt(
            f"cancel_case {case!r} reason={reason!r} at={at!r}",
            lambda now: store.cancel_case(self.ws, case, reason=reason, at=at, now=now),  # type: ignore[attr-defined]
            self.voided_target(case),
        )

    @precondition(lambda self: self.customers)
    @rule(data=st.data())
    def reopen_customer(self, data: st.DataObject) -> None:
        e = Entry(data, ["customer_no", "reason", "reopened"])
        no = self.number(e, "customer_no", self.customers)
        reason = e.pick("reason", ["دوباره تماس گرفت"], ["", "  "])
        at = self.when(e, "reopened")
        self.attempt(
            f"reopen_customer {no!r} reason={reason!r} at={at!r}",
            lambda now: store.reopen_customer(self.ws, no, reason=reason, at=at, now=now),  # type: ignore[attr-defined]
            self.voided_target(no),
        )

    # -- after every step ----------------------------------------------------------------------

    @invariant()
    def validate_reports_no_error(self) -> None:
        if self.validated == self.state:
            return  # nothing changed since the last validation (a refused step)
        report = validate_paths([self.ws.root])
        errors = [
            f"{f.code} {Path(f.file).name if f.file else ''} › {f.sheet or ''} › {f.cell or ''}: "
            f"{f.message_en}"
            for f in report.findings
            if f.severity == "error"
        ]
        assert not errors, "validate found errors after:\n" + "\n".join(
            [*self.steps, "---", *errors]
        )
        self.validated = self.state


@pytest.mark.slow
def test_random_operations_keep_one_rule_set(pristine: Path) -> None:
    CrmMachine.pristine = pristine
    run_state_machine_as_test(
        CrmMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
