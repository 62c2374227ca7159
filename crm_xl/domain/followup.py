"""Follow-up control as pure functions (R2, R3, R10; SPEC §6): one customer in, its state out.

Input is plain data — a register row, the follow-up rows of its F-31-08-01, the follow-up
rules and a moment ``now`` — so the CLI, the Excel buttons, ``refresh`` and the tests share
one rule book.  Nothing here opens a file.

The three deadlines of an open customer
---------------------------------------
* ``first_24h`` (R2): no follow-up recorded yet → the first call is due
  ``first_followup_hours`` after first contact, counted by :func:`dates.add_hours` in the
  configured mode (calendar hours rolled past closed days, or working hours only).
* ``next_action`` (R10): the planned next action of the latest follow-up is due at its due
  moment.  A due moment that falls on a closed day rolls to the next working day at the
  same time of day — the convention of ``add_hours`` ("nobody calls customers on Friday");
  the same roll is used in both hours modes.
* ``stalled`` (R10, §6): every open customer must be touched at least every
  ``stalled_days`` days; the clock starts at the last contact (latest follow-up, else the
  first contact) and is counted with ``add_hours(last, 24 × N, mode)`` — in working mode
  closed days do not count.

Closed days are the weekend, Iran's public holidays and the company's own closing days
(``FollowUpRules.work_calendar``).  When a holiday moved a deadline, the reason names it.

Precedence (how a sales manager reads the board)
-----------------------------------------------
``overdue`` > ``stalled`` > ``due today`` > ``no planned next action`` > ``on time``.

* **Overdue** first: a promised call or planned action was missed — a commitment made to a
  customer is broken and the customer feels it.  When several deadlines have passed, the
  oldest one is reported (it is the one that has hurt longest); a customer both overdue and
  stalled is overdue, and the reason mentions the silence too.
* **Stalled** next: nothing was promised for now, but nobody has talked to the customer for
  N days; R10 says the manager must investigate.  A planned action later today does not
  clear it — only a recorded contact does.
* **Due today**: the earliest pending deadline is later today (Tehran calendar day) and has
  not passed yet.  A deadline rolled from Friday to Saturday is "due today" on Saturday,
  not on Friday.
* **No planned next action**: the customer's latest follow-up planned nothing (no next
  action with a due date), so nobody will call unless someone decides to; ``due_at`` is the
  moment the customer becomes stalled.  Listed before on-time customers: a deal nobody plans
  to touch is the one that quietly gets lost.
* **On time**: everything else; ``due_at`` is then the next deadline.

A deadline has passed when ``now >= due`` (due at 10:00 is overdue at 10:00).

``FINAL`` (no follow-up due): lost, closed and CRM-done customers (``lifecycle.needs_followup``)
and voided register rows.  How late: calendar mode counts wall-clock time since the
deadline; working mode counts only working-day hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from crm_xl.domain.dates import (
    TEHRAN,
    WorkCalendar,
    add_hours,
    now_tehran,
    parse_datetime,
    working_delta,
)
from crm_xl.domain.dates import to_jalali_str as _jalali
from crm_xl.domain.enums import FollowUpState, FollowUpType, is_void
from crm_xl.domain.lifecycle import needs_followup, stage_of
from crm_xl.domain.settings import FollowUpRules, Settings
from crm_xl.domain.text import normalize, to_ascii_digits

__all__ = [
    "FIRST_ACTION_FA",
    "FollowUpFacts",
    "FollowUpStatus",
    "RowProblem",
    "Rule",
    "evaluate",
    "fa_moment",
    "facts_from_followups",
    "facts_from_row",
    "first_followup_due",
    "format_late",
    "roll_weekend",
]

#: What the register calls the R2 call (the same words ``core.register_customer`` writes).
FIRST_ACTION_FA = "پیگیری ۲۴ ساعته پس از اولین تماس"


class Rule(StrEnum):
    """Which deadline decided the state."""

    FIRST_24H = "first_24h"
    NEXT_ACTION = "next_action"
    STALLED = "stalled"
    FINAL = "final"
    NO_DATE = "no_date"  # neither first contact nor any follow-up could be read
    NO_NEXT_ACTION = "no_next_action"  # the latest follow-up planned nothing
    COMPLAINT = "complaint"  # a planned action of an open complaint (ISO 10002)


@dataclass(frozen=True)
class FollowUpStatus:
    """A customer's follow-up state with its reason (what the register and task lists show)."""

    customer_no: str
    state: FollowUpState
    rule: Rule
    due_at: datetime | None  # the deadline that decided the state (aware, Tehran)
    late_by: timedelta | None  # how late (overdue / stalled), else None
    owner: str  # who must act: the action's owner, else the customer's expert
    reason_fa: str
    reason_en: str

    @property
    def late_hours(self) -> float:
        return self.late_by.total_seconds() / 3600 if self.late_by else 0.0

    @property
    def late_days(self) -> float:
        return self.late_hours / 24

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_no": self.customer_no,
            "state": self.state.value,
            "state_fa": self.state.fa,
            "rule": self.rule.value,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "due_jalali": _jalali(self.due_at, with_time=True) if self.due_at else None,
            "late_hours": round(self.late_hours, 2) if self.late_by else None,
            "owner": self.owner,
            "reason_fa": self.reason_fa,
            "reason_en": self.reason_en,
        }


@dataclass(frozen=True)
class FollowUpFacts:
    """What follow-up control needs from a customer's follow-up log."""

    last_followup: datetime | None = None
    next_due: datetime | None = None
    next_action: str | None = None
    next_owner: str | None = None
    count: int = 0  # follow-ups counted (readable date, not in the future)
    #: The latest follow-up's identity in its log: its «ردیف» number, else "r<Excel row>".
    row_key: str | None = None
    next_type: str | None = None  # type of the planned action as written (Persian label)
    next_minutes: int | None = None  # its estimated duration


@dataclass(frozen=True)
class RowProblem:
    """A follow-up row that could not be read completely (the caller adds file and sheet)."""

    row: int  # Excel row
    field: str  # field key of the bad cell
    code: str
    fa: str
    en: str
    skipped: bool  # True: the whole row was ignored; False: only that cell


# --- reading values ------------------------------------------------------------------------


def _aware(v: datetime) -> datetime:
    return v.astimezone(TEHRAN) if v.tzinfo else v.replace(tzinfo=TEHRAN)


def to_moment(value: object) -> datetime | None:
    """An aware Tehran datetime from a cell value (real date, Jalali text, …); None if blank.

    Raises ValueError (``errors.InputError``) when the value is there but unreadable.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=TEHRAN)
    return parse_datetime(value)


def _moment_or_none(value: object) -> datetime | None:
    try:
        return to_moment(value)
    except ValueError:
        return None


def _text(v: object) -> str:
    return normalize(v) if v is not None else ""


def facts_from_row(row: Mapping[str, Any]) -> FollowUpFacts:
    """The facts as the register row states them (when the form is not read)."""
    return FollowUpFacts(
        last_followup=_moment_or_none(row.get("last_followup")),
        next_due=_moment_or_none(row.get("next_due")),
        next_action=_text(row.get("next_action")) or None,
        next_owner=_text(row.get("next_owner")) or None,
    )


def _bad_date(row: int, key: str, value: object, err: Exception, skipped: bool) -> RowProblem:
    label = "تاریخ پیگیری" if key == "at" else "موعد اقدام بعدی"
    label_en = "follow-up date" if key == "at" else "next action due"
    fa = getattr(err, "fa", str(err))
    en = getattr(err, "en", str(err))
    tail_fa = "ردیف نادیده گرفته شد" if skipped else "موعد نادیده گرفته شد"
    tail_en = "row skipped" if skipped else "due date ignored"
    return RowProblem(
        row,
        key,
        "type-error",
        f"{label} خوانا نیست: {fa}؛ {tail_fa}",
        f"{label_en}: {en}; {tail_en}",
        skipped,
    )


def facts_from_followups(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    now: datetime,
    *,
    expert: str = "",
) -> tuple[FollowUpFacts, list[RowProblem]]:
    """Facts from the follow-up log of F-31-08-01: rows as ``(excel_row, values)``.

    Values may be what Excel saved (real dates) or what a salesperson typed (Jalali text
    with Persian digits, a follow-up type in words).  The latest follow-up by date (the
    lower row on a tie) gives ``last_followup`` and its planned next action.  A row whose
    date is missing or unreadable is reported and skipped; so is a row dated after ``now``
    (it has not happened yet).  An unreadable due date or type is reported; the row counts.
    """
    problems: list[RowProblem] = []
    best: tuple[datetime, int, Mapping[str, Any]] | None = None
    count = 0
    for r, values in rows:
        if all(values.get(k) in (None, "") for k in values if k != "row_no"):
            continue  # a pre-numbered empty line
        try:
            at = to_moment(values.get("at"))
        except ValueError as e:
            problems.append(_bad_date(r, "at", values.get("at"), e, True))
            continue
        if at is None:
            problems.append(
                RowProblem(
                    r,
                    "at",
                    "required-error",
                    "تاریخ پیگیری خالی است؛ ردیف نادیده گرفته شد",
                    "follow-up date is empty; row skipped",
                    True,
                )
            )
            continue
        if at > now:
            problems.append(
                RowProblem(
                    r,
                    "at",
                    "constraint-error",
                    f"تاریخ پیگیری ({fa_moment(at)}) در آینده است؛ ردیف شمرده نشد",
                    f"follow-up dated in the future ({at:%Y-%m-%d %H:%M}); row not counted",
                    True,
                )
            )
            continue
        t = values.get("type")
        if t not in (None, ""):
            try:
                FollowUpType.parse(t)
            except ValueError as e:
                problems.append(
                    RowProblem(
                        r, "type", "constraint-error", f"نوع پیگیری: {e}", f"type: {e}", False
                    )
                )
        count += 1
        if best is None or (at, r) >= (best[0], best[1]):
            best = (at, r, values)
    if best is None:
        return FollowUpFacts(count=0), problems
    at, r, values = best
    try:
        due = to_moment(values.get("next_due"))
    except ValueError as e:
        problems.append(_bad_date(r, "next_due", values.get("next_due"), e, False))
        due = None
    action = _text(values.get("next_action")) or None
    owner = _text(values.get("next_owner")) or None
    kind = _text(values.get("next_type")) or None
    minutes = _minutes(values.get("next_minutes"))
    if due is None:
        # An action without a due date is no deadline (core refuses it too).
        action = owner = kind = None
        minutes = None
    else:
        owner = owner or _text(values.get("expert")) or expert or None
    return (
        FollowUpFacts(
            at, due, action, owner, count, _row_key(values.get("row_no"), r), kind, minutes
        ),
        problems,
    )


def _row_key(row_no: object, excel_row: int) -> str:
    """A follow-up's identity: its «ردیف» number (stable when rows move), else its Excel row."""
    try:
        n = float(to_ascii_digits(_text(row_no))) if row_no not in (None, "") else math.nan
    except ValueError:
        n = math.nan
    return str(int(n)) if math.isfinite(n) and n == int(n) else f"r{excel_row}"


def _minutes(value: object) -> int | None:
    try:
        n = float(to_ascii_digits(_text(value)))
    except ValueError:
        return None
    return int(n) if math.isfinite(n) and 0 < n <= 24 * 60 else None


# --- time arithmetic -------------------------------------------------------------------------


def roll_weekend(due: datetime, weekend: Iterable[int] | WorkCalendar) -> datetime:
    """A due moment on a closed day moves to the next working day, same time of day."""
    due = _aware(due)
    return datetime.combine(WorkCalendar.of(weekend).next_open_day(due.date()), due.timetz())


def first_followup_due(first_contact: datetime, rules: FollowUpRules) -> datetime:
    """When the R2 call after first contact is due under ``rules`` (hours, mode, closed days)."""
    return add_hours(
        first_contact, rules.first_followup_hours, rules.hours_mode, rules.work_calendar()
    )


def _holiday_note(
    cal: WorkCalendar, start: datetime, due: datetime, plain: Callable[[WorkCalendar], datetime]
) -> tuple[str, str]:
    """ "؛ پس از تعطیلی …" when holidays moved the deadline: ``due`` differs from ``plain``
    computed over the weekend alone (only computed when a holiday lies in between)."""
    first, last = _aware(start).date(), _aware(due).date()
    names = cal.holidays_between(first, last)
    if not names or plain(cal.weekend_only()) == due:
        return "", ""
    en = ", ".join(cal.holidays_between(first, last, "en"))
    return f"؛ پس از تعطیلی {'، '.join(names)}", f"; after the holidays: {en}"


def fa_moment(moment: datetime) -> str:
    """«1403/07/12 ساعت 10:00»: a Persian word between date and time keeps their order in
    right-to-left text (a bare "1403/07/12 10:00" inside Persian renders as "10:00 1403/07/12")."""
    m = _aware(moment)
    return f"{_jalali(m)} ساعت {m:%H:%M}"


def format_late(late: timedelta | None, lang: str = "fa") -> str:
    """ "3 ساعت" / "2 روز و 4 ساعت" (``lang="en"``: "3 h" / "2 d 4 h"); rounded down to hours."""
    if late is None:
        return ""
    hours = int(late.total_seconds() // 3600)
    if hours < 1:
        mins = max(int(late.total_seconds() // 60), 0)
        return f"{mins} دقیقه" if lang == "fa" else f"{mins} min"
    d, h = divmod(hours, 24)
    if lang == "fa":
        if not d:
            return f"{h} ساعت"
        return f"{d} روز" + (f" و {h} ساعت" if h else "")
    if not d:
        return f"{h} h"
    return f"{d} d" + (f" {h} h" if h else "")


# --- the decision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Deadline:
    rule: Rule
    due: datetime
    what_fa: str
    what_en: str
    owner: str


def _rules_of(settings: Settings | FollowUpRules) -> FollowUpRules:
    return settings.followup if isinstance(settings, Settings) else settings


def _is_void(row: Mapping[str, Any]) -> bool:
    return is_void(row.get("record_status"))


def evaluate(
    row: Mapping[str, Any],
    followups: FollowUpFacts | None = None,
    settings: Settings | FollowUpRules | None = None,
    now: datetime | None = None,
) -> FollowUpStatus:
    """The follow-up state of one register row at ``now`` (default: now in Tehran).

    ``followups``: facts from the customer's F-31-08-01 (:func:`facts_from_followups`);
    None uses the register row's own last follow-up / next due.  See the module doc.
    """
    rules = _rules_of(settings if settings is not None else FollowUpRules.model_validate({}))
    now = _aware(now) if now is not None else now_tehran()
    facts = followups if followups is not None else facts_from_row(row)
    no = _text(row.get("customer_no"))
    expert = _text(row.get("expert"))
    stage = stage_of(row)

    if _is_void(row):
        fa, en = "رکورد باطل شده است؛ پیگیری لازم نیست", "record is void; no follow-up due"
        return FollowUpStatus(no, FollowUpState.FINAL, Rule.FINAL, None, None, expert, fa, en)
    if not needs_followup(stage):
        fa, en = f"وضعیت «{stage.fa}»؛ پیگیری لازم نیست", f"stage '{stage.en}'; no follow-up due"
        return FollowUpStatus(no, FollowUpState.FINAL, Rule.FINAL, None, None, expert, fa, en)

    first = _moment_or_none(row.get("first_contact"))
    cal = rules.work_calendar()
    deadlines: list[_Deadline] = []
    if facts.last_followup is None and first is not None:
        h = rules.first_followup_hours
        due = add_hours(first, h, rules.hours_mode, cal)
        note_fa, note_en = _holiday_note(
            cal, first, due, lambda c: add_hours(first, h, rules.hours_mode, c)
        )
        deadlines.append(
            _Deadline(
                Rule.FIRST_24H,
                due,
                f"پیگیری {h} ساعته پس از اولین تماس ({fa_moment(first)}{note_fa})",
                f"{h}-hour follow-up after first contact ({first:%Y-%m-%d %H:%M}{note_en})",
                facts.next_owner or expert,
            )
        )
    if facts.next_due is not None:
        action = facts.next_action or "اقدام بعدی"
        planned = facts.next_due
        due = roll_weekend(planned, cal)
        note_fa, note_en = _holiday_note(cal, planned, due, lambda c: roll_weekend(planned, c))
        deadlines.append(
            _Deadline(
                Rule.NEXT_ACTION,
                due,
                f"اقدام برنامه‌ریزی‌شده «{action}»{note_fa}",
                f"planned action '{facts.next_action or 'next action'}'{note_en}",
                facts.next_owner or expert,
            )
        )
    last = facts.last_followup or first
    if last is None:
        fa = "تاریخ اولین تماس و هیچ پیگیری‌ای ثبت نشده است؛ بررسی شود"
        en = "no first-contact date and no follow-up recorded; investigate"
        return FollowUpStatus(no, FollowUpState.STALLED, Rule.NO_DATE, None, None, expert, fa, en)
    stall_hours = 24 * rules.stalled_days
    stall_due = add_hours(last, stall_hours, rules.hours_mode, cal)
    note_fa, note_en = _holiday_note(
        cal, last, stall_due, lambda c: add_hours(last, stall_hours, rules.hours_mode, c)
    )
    stall = _Deadline(
        Rule.STALLED,
        stall_due,
        f"تماس حداقل هر {rules.stalled_days} روز (آخرین تماس {fa_moment(last)}{note_fa})",
        f"contact at least every {rules.stalled_days} days "
        f"(last contact {last:%Y-%m-%d %H:%M}{note_en})",
        expert,
    )

    def late(d: _Deadline) -> timedelta:
        if rules.hours_mode == "working":
            return working_delta(d.due, now, cal)
        return now - d.due

    def when(d: _Deadline) -> tuple[str, str]:
        return fa_moment(d.due), f"{d.due:%Y-%m-%d %H:%M}"

    passed = sorted((d for d in deadlines if now >= d.due), key=lambda d: d.due)
    if passed:
        d = passed[0]
        lb = late(d)
        j, g = when(d)
        fa = f"معوق: {d.what_fa}، موعد {j}، {format_late(lb)} تأخیر"
        en = f"overdue: {d.what_en}, due {g}, {format_late(lb, 'en')} late"
        if now >= stall.due:
            silent = now - last
            fa += f"؛ {silent.days} روز بدون تماس"
            en += f"; no contact for {silent.days} days"
        return FollowUpStatus(no, FollowUpState.OVERDUE, d.rule, d.due, lb, d.owner, fa, en)
    if now >= stall.due:
        lb = late(stall)
        days = (now - last).days
        j = fa_moment(last)
        fa = f"راکد: {days} روز بدون تماس (آخرین تماس {j}؛ حد مجاز {rules.stalled_days} روز)"
        en = (
            f"stalled: no contact for {days} days (last contact {last:%Y-%m-%d %H:%M}; "
            f"limit {rules.stalled_days} days)"
        )
        return FollowUpStatus(
            no, FollowUpState.STALLED, Rule.STALLED, stall.due, lb, expert, fa, en
        )
    d = min([*deadlines, stall], key=lambda x: x.due)
    j, g = when(d)
    if d.due.date() == now.date():
        fa = f"موعد امروز: {d.what_fa} تا ساعت {d.due:%H:%M}"
        en = f"due today: {d.what_en} by {d.due:%H:%M}"
        return FollowUpStatus(no, FollowUpState.DUE_TODAY, d.rule, d.due, None, d.owner, fa, en)
    if not deadlines:
        # Followed up, nothing planned: due_at is when the silence becomes "stalled".
        fa = (
            f"بدون اقدام بعدی: در آخرین پیگیری ({fa_moment(last)}) اقدامی برنامه‌ریزی نشده است؛ "
            f"بدون تماس، از {j} راکد می‌شود"
        )
        en = (
            f"no planned next action: the last follow-up ({last:%Y-%m-%d %H:%M}) planned "
            f"nothing; stalled from {g} without contact"
        )
        return FollowUpStatus(
            no, FollowUpState.NO_NEXT_ACTION, Rule.NO_NEXT_ACTION, d.due, None, expert, fa, en
        )
    fa = f"به‌موقع: {d.what_fa} تا {j}"
    en = f"on time: {d.what_en} due {g}"
    return FollowUpStatus(no, FollowUpState.ON_TIME, d.rule, d.due, None, d.owner, fa, en)
