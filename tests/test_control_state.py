"""Follow-up control rules (R2, R10) over a built timeline: Wednesday first contact, Friday weekend."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import FollowUpState as S
from crm_xl.domain.enums import Stage
from crm_xl.domain.followup import (
    FollowUpFacts,
    Rule,
    evaluate,
    facts_from_followups,
    format_late,
    roll_weekend,
)
from crm_xl.domain.settings import FollowUpRules

EXPERT = "علی رضایی"
OWNER = "مریم احمدی"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in October 2024, Tehran (2 = Wednesday, 4 = Friday, 5 = Saturday)."""
    return datetime(2024, 10, day, hour, minute, tzinfo=TEHRAN)


def test_timeline_days() -> None:
    assert date(2024, 10, 2).strftime("%A") == "Wednesday"
    assert date(2024, 10, 4).strftime("%A") == "Friday"  # the default weekend


FIRST = at(2, 10)  # Wednesday 10:00
ROW: dict[str, Any] = {
    "customer_no": "C-00001",
    "name": "رضا کریمی",
    "expert": EXPERT,
    "stage": Stage.FIRST_CONTACT.fa,
    "first_contact": FIRST.replace(tzinfo=None),  # the register holds naive Tehran wall time
    "record_status": "فعال",
}
NO_FOLLOWUP = FollowUpFacts()
#: Followed up Thursday 09:30; next action due Saturday 10:00, owned by another expert.
NEXT_SAT = FollowUpFacts(at(3, 9, 30), at(5, 10), "ارسال پیش‌فاکتور", OWNER, 1)
#: Followed up Thursday 09:30 with nothing planned.
NOTHING_PLANNED = FollowUpFacts(at(3, 9, 30), None, None, None, 1)
#: Next action typed for Friday 10:00: rolls to Saturday 10:00 like add_hours.
NEXT_FRI = FollowUpFacts(at(3, 9, 30), at(4, 10), "تماس", None, 1)
#: A next action planned three weeks ahead; nobody calls meanwhile.
FAR_PLAN = FollowUpFacts(at(3, 9, 30), at(12, 15), "تماس بعد از نمایشگاه", None, 1)

RULES = FollowUpRules(first_followup_hours=24, hours_mode="calendar", stalled_days=7)

CASES = [
    # (id, facts, now, state, rule, due, late, owner)
    ("wed-15-on-time", NO_FOLLOWUP, at(2, 15), S.ON_TIME, Rule.FIRST_24H, at(3, 10), None, EXPERT),
    (
        "thu-09-due-today",
        NO_FOLLOWUP,
        at(3, 9),
        S.DUE_TODAY,
        Rule.FIRST_24H,
        at(3, 10),
        None,
        EXPERT,
    ),
    (
        "thu-11-overdue-24h",
        NO_FOLLOWUP,
        at(3, 11),
        S.OVERDUE,
        Rule.FIRST_24H,
        at(3, 10),
        timedelta(hours=1),
        EXPERT,
    ),
    (
        "thu-10-due-moment",
        NO_FOLLOWUP,
        at(3, 10),
        S.OVERDUE,
        Rule.FIRST_24H,
        at(3, 10),
        timedelta(0),
        EXPERT,
    ),
    ("fri-on-time", NEXT_SAT, at(4, 12), S.ON_TIME, Rule.NEXT_ACTION, at(5, 10), None, OWNER),
    ("sat-08-due-today", NEXT_SAT, at(5, 8), S.DUE_TODAY, Rule.NEXT_ACTION, at(5, 10), None, OWNER),
    (
        "sat-12-overdue",
        NEXT_SAT,
        at(5, 12),
        S.OVERDUE,
        Rule.NEXT_ACTION,
        at(5, 10),
        timedelta(hours=2),
        OWNER,
    ),
    ("friday-due-rolls", NEXT_FRI, at(4, 11), S.ON_TIME, Rule.NEXT_ACTION, at(5, 10), None, EXPERT),
    ("friday-due-sat", NEXT_FRI, at(5, 9), S.DUE_TODAY, Rule.NEXT_ACTION, at(5, 10), None, EXPERT),
    # Nothing planned: "no planned next action" until the 7-day rule (Thu 09:30 + 7 d =
    # Thu 10 Oct 09:30) makes it due today, then stalled.
    (
        "quiet-no-next-action",
        NOTHING_PLANNED,
        at(9, 12),
        S.NO_NEXT_ACTION,
        Rule.NO_NEXT_ACTION,
        at(10, 9, 30),
        None,
        EXPERT,
    ),
    (
        "quiet-due-today",
        NOTHING_PLANNED,
        at(10, 8),
        S.DUE_TODAY,
        Rule.STALLED,
        at(10, 9, 30),
        None,
        EXPERT,
    ),
    (
        "quiet-stalled",
        NOTHING_PLANNED,
        at(10, 10),
        S.STALLED,
        Rule.STALLED,
        at(10, 9, 30),
        timedelta(minutes=30),
        EXPERT,
    ),
    # Overdue beats stalled: the missed Saturday action is what the report names.
    (
        "overdue-beats-stalled",
        NEXT_SAT,
        at(12, 10),
        S.OVERDUE,
        Rule.NEXT_ACTION,
        at(5, 10),
        timedelta(days=7),
        OWNER,
    ),
    # Stalled beats due today: a call planned for later today does not undo 9 silent days.
    (
        "stalled-beats-due-today",
        FAR_PLAN,
        at(12, 10),
        S.STALLED,
        Rule.STALLED,
        at(10, 9, 30),
        timedelta(days=2, minutes=30),
        EXPERT,
    ),
]


@pytest.mark.parametrize(
    ("facts", "now", "state", "rule", "due", "late", "owner"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_timeline(
    facts: FollowUpFacts,
    now: datetime,
    state: S,
    rule: Rule,
    due: datetime,
    late: timedelta | None,
    owner: str,
) -> None:
    row = {**ROW, "stage": Stage.FOLLOW_UP.fa} if facts.count else ROW
    st = evaluate(row, facts, RULES, now)
    assert (st.state, st.rule, st.due_at, st.late_by, st.owner) == (state, rule, due, late, owner)
    assert st.customer_no == "C-00001"
    assert st.reason_fa and st.reason_en


def test_reasons_name_rule_due_and_lateness() -> None:
    st = evaluate(ROW, NO_FOLLOWUP, RULES, at(3, 11))
    assert st.reason_fa == (
        "معوق: پیگیری 24 ساعته پس از اولین تماس (1403/07/11 ساعت 10:00)، "
        "موعد 1403/07/12 ساعت 10:00، 1 ساعت تأخیر"
    )
    assert st.reason_en == (
        "overdue: 24-hour follow-up after first contact (2024-10-02 10:00), "
        "due 2024-10-03 10:00, 1 h late"
    )
    st = evaluate({**ROW, "stage": Stage.FOLLOW_UP.fa}, NEXT_SAT, RULES, at(12, 10))
    assert "ارسال پیش‌فاکتور" in st.reason_fa and "7 روز تأخیر" in st.reason_fa
    assert "no contact for 9 days" in st.reason_en  # the silence is mentioned too
    st = evaluate({**ROW, "stage": Stage.FOLLOW_UP.fa}, NOTHING_PLANNED, RULES, at(12, 10))
    assert st.reason_en.startswith("stalled: no contact for 9 days")
    st = evaluate(ROW, NO_FOLLOWUP, RULES, at(3, 9))
    assert st.reason_fa.startswith("موعد امروز") and "10:00" in st.reason_fa


@pytest.mark.parametrize("stage", [Stage.LOST, Stage.CLOSED, Stage.CRM_DONE])
def test_final_stages(stage: Stage) -> None:
    st = evaluate({**ROW, "stage": stage.fa}, NO_FOLLOWUP, RULES, at(20, 10))
    assert st.state is S.FINAL and st.rule is Rule.FINAL
    assert st.due_at is None and st.late_by is None
    assert stage.fa in st.reason_fa


def test_void_record_is_final() -> None:
    st = evaluate({**ROW, "record_status": "باطل"}, NO_FOLLOWUP, RULES, at(20, 10))
    assert st.state is S.FINAL


def test_won_still_followed_up() -> None:
    st = evaluate({**ROW, "stage": Stage.WON.fa}, NOTHING_PLANNED, RULES, at(20, 10))
    assert st.state is S.STALLED


def test_register_row_alone() -> None:
    """Without form facts the register's own columns are used (values as Excel holds them)."""
    row = {
        **ROW,
        "stage": Stage.FOLLOW_UP.fa,
        "last_followup": datetime(2024, 10, 3, 9, 30),
        "next_due": "1403/07/14 10:00",  # typed in the register as Jalali text
        "next_owner": OWNER,
    }
    st = evaluate(row, None, RULES, at(5, 12))
    assert (st.state, st.rule, st.due_at, st.owner) == (
        S.OVERDUE,
        Rule.NEXT_ACTION,
        at(5, 10),
        OWNER,
    )


def test_no_dates_at_all_needs_investigation() -> None:
    st = evaluate({**ROW, "first_contact": None}, NO_FOLLOWUP, RULES, at(5, 12))
    assert st.state is S.STALLED and st.rule is Rule.NO_DATE


# --- working-hours mode: where it differs from calendar mode --------------------------------

WORKING = FollowUpRules(first_followup_hours=24, hours_mode="working", stalled_days=7)


@pytest.mark.parametrize(
    ("first", "hours", "now", "calendar", "working"),
    [
        # Wednesday 10:00 + 24 h: the same in both modes.
        (at(2, 10), 24, at(3, 11), (S.OVERDUE, at(3, 10)), (S.OVERDUE, at(3, 10))),
        # Thursday 10:00 + 48 h: calendar Sat 10:00; working skips Friday → Sun 10:00.
        (at(3, 10), 48, at(5, 12), (S.OVERDUE, at(5, 10)), (S.ON_TIME, at(6, 10))),
        # First contact on Friday (an exhibition): calendar Sat 10:00; working Sun 00:00.
        (at(4, 10), 24, at(5, 12), (S.OVERDUE, at(5, 10)), (S.ON_TIME, at(6, 0))),
    ],
)
def test_working_mode_due(
    first: datetime,
    hours: int,
    now: datetime,
    calendar: tuple[S, datetime],
    working: tuple[S, datetime],
) -> None:
    row = {**ROW, "first_contact": first}
    for mode, (state, due) in (("calendar", calendar), ("working", working)):
        rules = FollowUpRules.model_validate(
            {"first_followup_hours": hours, "hours_mode": mode, "stalled_days": 7}
        )
        st = evaluate(row, NO_FOLLOWUP, rules, now)
        assert (st.state, st.due_at) == (state, due), mode


def test_working_mode_lateness_and_stalling_skip_fridays() -> None:
    # Due Thursday 10:00, now Saturday 10:00: 48 wall-clock hours, 24 working hours.
    assert evaluate(ROW, NO_FOLLOWUP, RULES, at(5, 10)).late_by == timedelta(hours=48)
    assert evaluate(ROW, NO_FOLLOWUP, WORKING, at(5, 10)).late_by == timedelta(hours=24)
    # Last contact Thu 09:30: 7 calendar days → Thu 10 Oct; 7 working days → Fri→ Sat 12 Oct.
    row = {**ROW, "stage": Stage.FOLLOW_UP.fa}
    assert evaluate(row, NOTHING_PLANNED, RULES, at(11, 12)).state is S.STALLED
    st = evaluate(row, NOTHING_PLANNED, WORKING, at(11, 12))
    assert (st.state, st.due_at) == (S.NO_NEXT_ACTION, at(12, 9, 30))


def test_roll_weekend_and_format_late() -> None:
    assert roll_weekend(at(4, 10), [4]) == at(5, 10)
    assert roll_weekend(at(4, 10), [3, 4]) == at(5, 10)
    assert roll_weekend(at(5, 10), [4]) == at(5, 10)
    assert format_late(timedelta(hours=50)) == "2 روز و 2 ساعت"
    assert format_late(timedelta(hours=50), "en") == "2 d 2 h"
    assert format_late(timedelta(minutes=30), "en") == "30 min"
    assert format_late(None) == ""


# --- reading the follow-up log as typed in Excel ----------------------------------------------


def test_facts_from_typed_rows() -> None:
    rows: list[tuple[int, dict[str, Any]]] = [
        (6, {"row_no": 1, "at": datetime(2024, 10, 3, 9, 30), "type": "تماس تلفنی",
             "next_due": datetime(2024, 10, 5, 10), "next_action": "الف", "expert": EXPERT}),
        # Typed by hand: Jalali text with Persian digits, type in words, Arabic yeh.
        (7, {"row_no": 2, "at": "۱۴۰۳/۰۷/۱۴ ۱۱:۰۰", "type": "تماس تلفني", "expert": EXPERT,
             "next_action": "ارسال پیش‌فاکتور", "next_due": "۱۴۰۳/۰۷/۱۶ ۱۰:۰۰", "next_owner": OWNER}),
        # Typed below, but dated earlier: not the latest.
        (8, {"row_no": 3, "at": "1403/07/13 12:00", "type": "email", "next_due": "1403/07/20"}),
        (9, {"row_no": 4, "at": "۱۴۰۳/۱۳/۰۱", "type": "تماس تلفنی"}),  # month 13
        (10, {"row_no": 5, "at": "1403/08/30 10:00", "type": "تماس تلفنی"}),  # after now
        (11, {"row_no": 6, "at": None, "description": "تماس گرفتم"}),  # no date
        (12, {"row_no": 7, "at": None}),  # a pre-numbered empty line: ignored silently
        (13, {"row_no": 8, "at": "1403/07/10 09:00", "type": "کبوتر نامه‌بر"}),  # odd type
    ]  # fmt: skip
    facts, problems = facts_from_followups(rows, at(6, 12), expert=EXPERT)
    assert facts == FollowUpFacts(at(5, 11), at(7, 10), "ارسال پیش‌فاکتور", OWNER, 4, row_key="2")
    found = {(p.row, p.field, p.skipped) for p in problems}
    assert found == {(9, "at", True), (10, "at", True), (11, "at", True), (13, "type", False)}
    bad = next(p for p in problems if p.row == 9)
    assert "13" in bad.en and "skipped" in bad.en and "ردیف" in bad.fa


def test_facts_latest_without_plan_and_bad_due() -> None:
    rows = [
        (6, {"at": "1403/07/12 09:30", "type": "تماس تلفنی", "next_due": "1403/07/14"}),
        (
            7,
            {
                "at": "1403/07/13 09:30",
                "type": "تماس تلفنی",
                "next_due": "فردا",
                "next_action": "x",
            },
        ),
    ]
    facts, problems = facts_from_followups(rows, at(6, 12), expert=EXPERT)
    assert facts.last_followup == at(4, 9, 30)
    assert facts.next_due is None and facts.next_action is None  # unreadable due: no deadline
    assert [(p.row, p.field, p.skipped) for p in problems] == [(7, "next_due", False)]
