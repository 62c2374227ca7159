"""Each expert's task list (کارتابل), the manager's summary, and the task-list workbook (R10).

A task is the most pressing deadline of one open customer (``state.evaluate``): the 24-hour
call, the planned next action, or the "touch every N days" contact.  It lands in the list of
whoever must act — the action's owner, else the customer's expert — sorted by due time, so
overdue work comes first.

The workbook is a ``layout.Report``: the forms' look (ISO header, right-to-left, Tahoma,
rows as tall as their text, A4).  Dates are zero-padded Jalali text, which also sorts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from crm_xl.domain.dates import TEHRAN, now_tehran, to_jalali_str
from crm_xl.domain.enums import FollowUpState, Stage, is_void
from crm_xl.domain.followup import FIRST_ACTION_FA, FollowUpStatus, Rule, fa_moment, format_late
from crm_xl.domain.lifecycle import stage_of
from crm_xl.domain.schema import FONT_NAME
from crm_xl.domain.text import normalize
from crm_xl.io.layout import STATE_FILLS, Column, Report, print_setup, row_height
from crm_xl.io.workspace import Workspace, write_output
from crm_xl.ops.refresh import Evaluation, evaluate_workspace

__all__ = [
    "TITLE_FA",
    "Task",
    "build_summary",
    "build_tasks",
    "overview",
    "print_overdue",
    "print_tasks",
    "safe_sheet_name",
    "write_tasks_workbook",
]

TITLE_FA = "کارتابل پیگیری‌ها"
TITLE_EN = "Follow-up task lists"
#: Terminal and summary order of states: what needs action first.
STATE_ORDER = (
    FollowUpState.OVERDUE,
    FollowUpState.STALLED,
    FollowUpState.DUE_TODAY,
    FollowUpState.NO_NEXT_ACTION,
    FollowUpState.ON_TIME,
    FollowUpState.FINAL,
)
#: Funnel steps: (key, Persian, English, level reached).
FUNNEL = (
    ("first_contact", "تماس اول", "First contact", 0),
    ("follow_up", "پیگیری", "Followed up", 1),
    ("negotiation", "مذاکره / پیش‌فاکتور", "Negotiation / proposal", 2),
    ("won", "فروش", "Won", 3),
    ("crm_done", "CRM انجام شد", "CRM done", 4),
)
_LEVEL = {
    Stage.FIRST_CONTACT: 0,
    Stage.FOLLOW_UP: 1,
    Stage.NEGOTIATION: 2,
    Stage.PROPOSAL: 2,
    Stage.WON: 3,
    Stage.CRM_DONE: 4,
}
NO_OWNER = "بدون مسئول"


@dataclass(frozen=True)
class Task:
    """One line of a task list."""

    owner: str
    customer_no: str
    customer_name: str
    expert: str
    stage: Stage
    state: FollowUpState
    rule: Rule
    action: str
    due_at: datetime | None
    late_by: timedelta | None
    contact: str
    reason_fa: str
    reason_en: str

    @property
    def due_jalali(self) -> str:
        return to_jalali_str(self.due_at, with_time=True) if self.due_at else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "customer_no": self.customer_no,
            "customer_name": self.customer_name,
            "expert": self.expert,
            "stage": self.stage.value,
            "stage_fa": self.stage.fa,
            "state": self.state.value,
            "state_fa": self.state.fa,
            "rule": self.rule.value,
            "action": self.action,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "due_jalali": self.due_jalali,
            "late_hours": round(self.late_by.total_seconds() / 3600, 2) if self.late_by else None,
            "late_fa": format_late(self.late_by),
            "contact": self.contact,
            "reason_fa": self.reason_fa,
            "reason_en": self.reason_en,
        }


def _s(v: object) -> str:
    return "" if v is None else normalize(str(v))


def _action(row: Mapping[str, Any], st: FollowUpStatus, hours: int) -> str:
    if st.rule is Rule.NEXT_ACTION:
        return _s(row.get("next_action")) or "اقدام بعدی"
    if st.rule is Rule.FIRST_24H:
        return FIRST_ACTION_FA.replace("۲۴", str(hours)) if hours != 24 else FIRST_ACTION_FA
    if st.rule is Rule.STALLED:
        return "تماس با مشتری (بدون تماس طولانی)"
    if st.rule is Rule.NO_NEXT_ACTION:
        return "برنامه‌ریزی اقدام بعدی (اقدامی برنامه‌ریزی نشده است)"
    return "بررسی پرونده: تاریخ تماس ثبت نشده"


def _sort_key(t: Task) -> tuple[bool, int, datetime]:
    """On-time work last (a customer nobody plans to touch comes before it), then by due time."""
    far = datetime.max.replace(tzinfo=TEHRAN)
    return (t.state is FollowUpState.ON_TIME, 0 if t.due_at else 1, t.due_at or far)


def _complaint_task(ev: Evaluation, item: Mapping[str, Any]) -> Task:
    """An open complaint action (extras.complaints) as a task of its owner."""
    no = _s(item.get("customer_no"))
    row = ev.rows.get(no, {})
    due = item.get("due")
    late = ev.now - due if isinstance(due, datetime) and due < ev.now else None
    if late is not None:
        state = FollowUpState.OVERDUE
    elif isinstance(due, datetime) and due.date() == ev.now.date():
        state = FollowUpState.DUE_TODAY
    else:
        state = FollowUpState.ON_TIME
    complaint = _s(item.get("complaint_no"))
    return Task(
        owner=_s(item.get("owner")) or _s(row.get("expert")) or NO_OWNER,
        customer_no=no,
        customer_name=_s(row.get("name")),
        expert=_s(row.get("expert")),
        stage=stage_of(row) if row else Stage.FOLLOW_UP,
        state=state,
        rule=Rule.COMPLAINT,
        action=f"شکایت {complaint}: {_s(item.get('description'))}",
        due_at=due if isinstance(due, datetime) else None,
        late_by=late,
        contact=_s(row.get("mobile")) or _s(row.get("phone")),
        reason_fa=f"اقدام شکایت {complaint}",
        reason_en=f"action on complaint {complaint}",
    )


def build_tasks(
    ev: Evaluation, complaint_actions: Iterable[Mapping[str, Any]] = ()
) -> dict[str, list[Task]]:
    """Owner → their open tasks sorted by due time; every configured expert has a list.

    ``complaint_actions`` (from ``extras.complaints.open_complaint_actions``) join the same lists.
    """
    hours = ev.settings.followup.first_followup_hours
    lists: dict[str, list[Task]] = {e: [] for e in (normalize(x) for x in ev.settings.experts)}
    for no, st in ev.statuses.items():
        if st.state is FollowUpState.FINAL:
            continue
        row = ev.rows[no]
        owner = st.owner or _s(row.get("expert")) or NO_OWNER
        task = Task(
            owner=owner,
            customer_no=no,
            customer_name=_s(row.get("name")),
            expert=_s(row.get("expert")),
            stage=stage_of(row),
            state=st.state,
            rule=st.rule,
            action=_action(row, st, hours),
            due_at=st.due_at,
            late_by=st.late_by,
            contact=_s(row.get("mobile")) or _s(row.get("phone")),
            reason_fa=st.reason_fa,
            reason_en=st.reason_en,
        )
        lists.setdefault(owner, []).append(task)
    for item in complaint_actions:
        task = _complaint_task(ev, item)
        lists.setdefault(task.owner, []).append(task)
    for items in lists.values():
        items.sort(key=_sort_key)
    return lists


def _level(row: Mapping[str, Any], cases: int) -> int:
    """How far down the funnel a customer got (lost/closed ones from what they left behind)."""
    stage = stage_of(row)
    if stage in _LEVEL:
        return _LEVEL[stage]
    if row.get("crm_done") not in (None, ""):
        return 4
    if cases:
        return 3
    return 1 if row.get("last_followup") not in (None, "") else 0


def build_summary(
    ev: Evaluation, tasks: Mapping[str, list[Task]], *, expert: str | None = None
) -> dict[str, Any]:
    """The manager's numbers: by state, stage, expert; oldest overdue; the funnel.

    With ``expert`` only that expert's customers count: those registered to them and those
    in their task list (``tasks`` is then their list alone).
    """
    mine: set[str] | None = None
    if expert is not None:
        want = normalize(expert)
        mine = {t.customer_no for items in tasks.values() for t in items}
        mine |= {no for no, r in ev.rows.items() if _s(r.get("expert")) == want}
    live = {
        no: r
        for no, r in ev.rows.items()
        if not is_void(r.get("record_status")) and (mine is None or no in mine)
    }
    by_state = Counter(ev.statuses[no].state for no in live)
    by_stage = Counter(stage_of(r) for r in live.values())
    experts: dict[str, Counter[FollowUpState]] = {o: Counter() for o in tasks}
    for owner, items in tasks.items():
        for t in items:
            experts[owner][t.state] += 1
    levels = [_level(r, ev.case_counts.get(no, 0)) for no, r in live.items()]
    total = len(levels)
    funnel = []
    for key, fa, en, lvl in FUNNEL:
        n = sum(1 for x in levels if x >= lvl)
        funnel.append(
            {
                "step": key,
                "fa": fa,
                "en": en,
                "count": n,
                "pct": round(100 * n / total, 1) if total else 0.0,
            }
        )
    overdue = [t for items in tasks.values() for t in items if t.state is FollowUpState.OVERDUE]
    overdue.sort(key=lambda t: t.late_by or timedelta(0), reverse=True)
    return {
        "company": ev.settings.company,
        "as_of": ev.now.isoformat(),
        "as_of_jalali": to_jalali_str(ev.now, with_time=True),
        "customers": total,
        "by_state": [
            {"state": s.value, "fa": s.fa, "en": s.en, "count": by_state.get(s, 0)}
            for s in STATE_ORDER
        ],
        "by_stage": [
            {"stage": s.value, "fa": s.fa, "en": s.en, "count": by_stage.get(s, 0)} for s in Stage
        ],
        "by_expert": [
            {
                "expert": owner,
                "open": sum(c.values()),
                **{s.value: c.get(s, 0) for s in STATE_ORDER[:-1]},  # all but final
            }
            for owner, c in experts.items()
        ],
        "oldest_overdue": [t.as_dict() for t in overdue[:10]],
        "overdue": [t.as_dict() for t in overdue],
        "funnel": funnel,
        "forms_read": ev.forms_read,
        "problems": [p.as_dict() for p in ev.problems],
    }


def overview(ws: Workspace, now: datetime | None = None) -> dict[str, Any]:
    """The manager's first view (read-only): counts by state/stage/expert, today's overdue list,
    the funnel, and every expert's tasks (``tasks``: owner → task dicts)."""
    from crm_xl.ops.complaints import open_complaint_actions

    ev = evaluate_workspace(ws, now or now_tehran())
    tasks = build_tasks(ev, open_complaint_actions(ws, ev.now))
    summary = build_summary(ev, tasks)
    summary["tasks"] = {o: [t.as_dict() for t in items] for o, items in tasks.items()}
    return summary


# --- terminal ------------------------------------------------------------------------------

_STYLE = {
    FollowUpState.OVERDUE.value: "bold red",
    FollowUpState.STALLED.value: "grey50",
    FollowUpState.DUE_TODAY.value: "yellow",
    FollowUpState.NO_NEXT_ACTION.value: "magenta",
    FollowUpState.ON_TIME.value: "green",
}


def _short_late(hours: float | None) -> str:
    """Lateness that fits a terminal column: "5 ساعت" below a day, else "3.5 روز"."""
    if not hours:
        return ""
    return f"{int(hours)} ساعت" if hours < 24 else f"{hours / 24:.1f} روز"


def _widths(console_width: int, first: int = 7) -> tuple[int, int]:
    """Widths of the customer and action columns so a task table fits the terminal: the
    fixed columns (first, due 16, late 8) and the borders and padding (14) come first."""
    free = max(console_width - first - 16 - 8 - 15, 20)  # one column spare: ZWNJ
    customer = min(max(free // 2, 10), 30)
    return customer, min(free - customer, 48)


def _task_table(title: str, rows: Iterable[Mapping[str, Any]], width: int = 80) -> RichTable:
    customer, action = _widths(width)
    t = RichTable(title=title, title_justify="left", show_lines=False, expand=False, pad_edge=False)
    t.add_column("state", width=7, overflow="ellipsis", no_wrap=True)
    t.add_column("due (Jalali)", width=16, no_wrap=True)
    t.add_column("late", width=8, overflow="ellipsis", no_wrap=True)
    t.add_column("customer", width=customer, overflow="ellipsis", no_wrap=True)
    t.add_column("action", width=action, overflow="ellipsis", no_wrap=True)
    for r in rows:
        style = _STYLE.get(str(r["state"]), "")
        t.add_row(
            f"[{style}]{r['state_fa']}[/]" if style else str(r["state_fa"]),
            str(r["due_jalali"] or ""),
            _short_late(r.get("late_hours")),
            f"{r['customer_no']} {r['customer_name']}",
            str(r["action"]),
        )
    return t


def print_tasks(
    console: Console,
    tasks: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    now: datetime,
    show_all: bool = False,
) -> None:
    """Each owner's list; by default on-time items due after tomorrow are only counted."""
    horizon = (now.astimezone(TEHRAN) + timedelta(days=1)).date()
    for owner, items in tasks.items():
        rows = list(items)
        shown = [
            r
            for r in rows
            if show_all
            or r["state"] != FollowUpState.ON_TIME.value
            or (r["due_at"] and datetime.fromisoformat(r["due_at"]).date() <= horizon)
        ]
        title = f"{owner} — {len(rows)} کار / tasks"
        if not rows:
            console.print(f"[bold]{title}[/]: کاری نیست / nothing to do")
            continue
        console.print(_task_table(title, shown, console.width))
        hidden = len(rows) - len(shown)
        if hidden:
            console.print(f"  + {hidden} کار بعدی به‌موقع / later on-time tasks (--all)")


def print_overdue(console: Console, overview: Mapping[str, Any]) -> None:
    """The manager's first view in the terminal: counts by state and expert, today's overdue."""
    console.print(
        f"[bold]{overview.get('company', '')}[/] — {TITLE_FA} / {TITLE_EN} — "
        f"{overview.get('as_of_jalali', '')}"
    )
    states = RichTable(title="وضعیت پیگیری / follow-up states", title_justify="left")
    states.add_column("state")
    states.add_column("n", justify="right")
    for s in overview["by_state"]:
        style = _STYLE.get(s["state"], "")
        label = f"{s['fa']} / {s['en']}"
        states.add_row(f"[{style}]{label}[/]" if style else label, str(s["count"]))
    console.print(states)
    experts = RichTable(title="کارشناسان / experts", title_justify="left")
    experts.add_column("expert", max_width=16, overflow="ellipsis", no_wrap=True)
    keys = ("open", "overdue", "stalled", "due_today", "no-next-action", "on_time")
    for head in ("open", "overdue", "stalled", "today", "no plan", "on time"):
        experts.add_column(head, justify="right")
    for e in overview["by_expert"]:
        experts.add_row(e["expert"], *(str(e.get(k, 0)) for k in keys))
    console.print(experts)
    overdue = overview.get("overdue") or []
    if overdue:
        console.print(_overdue_table(overdue[:20], console.width))
        if len(overdue) > 20:
            console.print(f"  + {len(overdue) - 20} …")
    else:
        console.print("[green]هیچ پیگیری معوقی نیست / nothing overdue[/]")


def _overdue_table(rows: list[Mapping[str, Any]], width: int = 80) -> RichTable:
    customer, action = _widths(width, 11)
    t = RichTable(title="معوق‌ها / overdue", title_justify="left", pad_edge=False)
    t.add_column("owner", width=11, overflow="ellipsis", no_wrap=True)
    t.add_column("due (Jalali)", width=16, no_wrap=True)
    t.add_column("late", width=8, overflow="ellipsis", no_wrap=True)
    t.add_column("customer", width=customer, overflow="ellipsis", no_wrap=True)
    t.add_column("action", width=action, overflow="ellipsis", no_wrap=True)
    for r in rows:
        t.add_row(
            str(r["owner"]),
            str(r["due_jalali"]),
            f"[red]{_short_late(r.get('late_hours'))}[/]",
            f"{r['customer_no']} {r['customer_name']}",
            str(r["action"]),
        )
    return t


# --- workbook --------------------------------------------------------------------------------

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def safe_sheet_name(name: str, taken: Iterable[str] = ()) -> str:
    """An Excel-safe, unique sheet name: ≤31 characters, none of []:*?/\\, no edge apostrophes."""
    base = _BAD_SHEET_CHARS.sub("-", normalize(name)).strip().strip("'").strip() or "کارشناس"
    if base.casefold() == "history":  # reserved by Excel
        base = f"{base} (1)"
    base = base[:31].rstrip()
    used = {t.casefold() for t in taken}
    candidate, n = base, 2
    while candidate.casefold() in used:
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)].rstrip() + suffix
        n += 1
    return candidate


#: Expert sheet columns (dates are Jalali text, which also sorts right).
_TASK_COLS = (
    Column("ردیف", 5, "center"),
    Column("وضعیت", 10),
    Column("موعد (شمسی)", 16, "date"),
    Column("تأخیر", 13),
    Column("شماره مشتری", 11, "center"),
    Column("نام مشتری", 22),
    Column("مرحله", 13),
    Column("تلفن", 13, "center"),
    Column("اقدام", 26),
    Column("علت وضعیت", 46),
)


def _state_fill(state: str) -> str | None:
    for s, color in STATE_FILLS.items():
        if s.value == state:
            return color
    return None


def _expert_sheet(rep: Report, name: str, owner: str, items: list[Task]) -> None:
    rows = [
        [
            i + 1,
            t.state.fa,
            t.due_jalali,
            format_late(t.late_by),
            t.customer_no,
            t.customer_name,
            t.stage.fa,
            t.contact,
            t.action,
            t.reason_fa,
        ]
        for i, t in enumerate(items)
    ]
    ws = rep.sheet(
        name,
        f"{TITLE_FA} — {owner}",
        _TASK_COLS,
        rows,
        keys=1,
        fills=[_state_fill(t.state.value) for t in items],
    )
    if not items:
        ws.merge_range(
            Report.HEADER_ROW + 1,
            0,
            Report.HEADER_ROW + 1,
            len(_TASK_COLS) - 1,
            "کاری در کارتابل نیست",
            rep.fmt(align="center", italic=True, reading_order=2),
        )


def _summary_sheet(rep: Report, name: str, summary: Mapping[str, Any]) -> None:
    widths = (24, 12, 14, 17, 15, 11, 30)
    ws, plan = rep.blank(name, "خلاصه مدیر فروش", widths)
    f = rep.fmt
    last = len(widths) - 1
    title = f(bold=True, font_size=11, bg_color="#D9E1F2", border=1, reading_order=2)
    head = f(bold=True, align="center", bg_color="#EDEDED", border=1, text_wrap=True)
    cell = f(border=1, border_color="#808080", reading_order=2)
    num = f(border=1, border_color="#808080", align="center")
    r = 4

    def section(label: str, headers: list[str]) -> None:
        nonlocal r
        ws.merge_range(r, 0, r, last, "", title)
        ws.write_string(r, 0, label, title)
        r += 1
        for c, h in enumerate(headers):
            ws.write_string(r, c, h, head)
        r += 1

    section("وضعیت پیگیری مشتریان", ["وضعیت", "تعداد"])
    for s in summary["by_state"]:
        fill = _state_fill(s["state"])
        ws.write_string(
            r,
            0,
            s["fa"],
            f(border=1, border_color="#808080", **({"bg_color": fill} if fill else {})),
        )
        ws.write_number(r, 1, s["count"], num)
        r += 1
    r += 1
    section("مشتریان بر حسب مرحله", ["مرحله", "تعداد"])
    for s in summary["by_stage"]:
        ws.write_string(r, 0, s["fa"], cell)
        ws.write_number(r, 1, s["count"], num)
        r += 1
    r += 1
    section("کارشناسان", ["کارشناس", "کار باز", "معوق", "راکد", "موعد امروز", "به‌موقع"])
    expert_first = r
    for e in summary["by_expert"]:
        ws.write_string(r, 0, e["expert"], cell)
        for c, k in enumerate(("open", "overdue", "stalled", "due_today", "on_time"), start=1):
            ws.write_number(r, c, e[k], num)
        r += 1
    expert_last = r - 1
    r += 1
    section("قیف تبدیل", ["مرحله", "تعداد", "درصد"])
    funnel_first = r
    for s in summary["funnel"]:
        ws.write_string(r, 0, s["fa"], cell)
        ws.write_number(r, 1, s["count"], num)
        ws.write_string(r, 2, f"{s['pct']:.0f}%", num)
        r += 1
    funnel_last = r - 1
    r += 1
    section(
        "قدیمی‌ترین پیگیری‌های معوق",
        ["مشتری", "شماره", "مسئول", "موعد (شمسی)", "تأخیر", "", ""],
    )
    ws.merge_range(r - 1, 5, r - 1, last, "اقدام", head)
    action_width = widths[5] + widths[6]
    oldest = summary.get("oldest_overdue") or []
    wrap = f(border=1, border_color="#808080", text_wrap=True, valign="top", reading_order=2)
    for t in oldest:
        ws.write_string(r, 0, t["customer_name"], wrap)
        ws.write_string(r, 1, t["customer_no"], cell)
        ws.write_string(r, 2, t["owner"], cell)
        ws.write_string(r, 3, t["due_jalali"], num)
        ws.write_string(
            r, 4, t["late_fa"], f(border=1, border_color="#808080", font_color="#C00000")
        )
        ws.merge_range(r, 5, r, last, "", wrap)
        ws.write_string(r, 5, t["action"], wrap)
        h = row_height([(t["customer_name"], widths[0]), (t["action"], action_width)])
        if h:
            ws.set_row(r, h)
        r += 1
    if not oldest:
        ws.merge_range(r, 0, r, last, "", f(align="center", italic=True))
        ws.write_string(r, 0, "هیچ پیگیری معوقی نیست", f(align="center", italic=True))
        r += 1
    r += 1
    ws.set_h_pagebreaks([r])  # the charts print together on their own page
    sheet = "'" + name.replace("'", "''") + "'"
    if summary["by_expert"]:
        chart = rep.book.add_chart({"type": "bar"})
        chart.add_series(
            {
                "name": "معوق",
                "categories": f"={sheet}!$A${expert_first + 1}:$A${expert_last + 1}",
                "values": f"={sheet}!$C${expert_first + 1}:$C${expert_last + 1}",
                "fill": {"color": "#C00000"},
                "data_labels": {"value": True},
            }
        )
        chart.set_title(
            {"name": "پیگیری‌های معوق بر حسب کارشناس", "name_font": {"name": FONT_NAME, "size": 11}}
        )
        chart.set_legend({"none": True})
        chart.set_x_axis({"num_font": {"name": FONT_NAME}})
        chart.set_y_axis({"num_font": {"name": FONT_NAME}, "reverse": True})
        chart.set_size({"width": 620, "height": 260})
        ws.insert_chart(r, 0, chart)
        r += 14
    funnel = rep.book.add_chart({"type": "bar"})
    funnel.add_series(
        {
            "name": "قیف",
            "categories": f"={sheet}!$A${funnel_first + 1}:$A${funnel_last + 1}",
            "values": f"={sheet}!$B${funnel_first + 1}:$B${funnel_last + 1}",
            "fill": {"color": "#2F5597"},
            "data_labels": {"value": True},
        }
    )
    funnel.set_title({"name": "قیف تبدیل مشتری", "name_font": {"name": FONT_NAME, "size": 11}})
    funnel.set_legend({"none": True})
    funnel.set_x_axis({"num_font": {"name": FONT_NAME}})
    funnel.set_y_axis({"num_font": {"name": FONT_NAME}, "reverse": True})
    funnel.set_size({"width": 620, "height": 260})
    ws.insert_chart(r, 0, funnel)
    r += 14
    print_setup(ws, plan, repeat_to=2, rows=r)


def write_tasks_workbook(
    path: str | Path,
    tasks: Mapping[str, list[Task]],
    summary: Mapping[str, Any],
    now: datetime,
) -> Path:
    """The task-list workbook: the manager's summary sheet, then one sheet per expert."""

    def write(tmp: Path) -> None:
        as_of = fa_moment(now)
        rep = Report(
            company=str(summary.get("company", "")),
            title=TITLE_FA,
            meta=(f"تاریخ گزارش: {as_of}", f"کارشناسان: {len(tasks)}"),
        )
        taken: list[str] = []
        name = safe_sheet_name("خلاصه مدیر", taken)
        taken.append(name)
        _summary_sheet(rep, name, summary)
        for owner, items in tasks.items():
            sheet = safe_sheet_name(owner, taken)
            taken.append(sheet)
            _expert_sheet(rep, sheet, owner, items)
        rep.save(tmp)

    # Never over a record, never half-written, not while open in Excel (SPEC §10).
    return write_output(path, write)
