"""Complaint handling (ISO 10002) with escalation to dispute resolution (ISO 10003).

Lifecycle (``check``): received → acknowledged → in progress (an action was planned) →
resolved → closed.  A complaint is closed only after it has a resolution; it is escalated
to external dispute resolution only while unresolved (and once).  Every planned action has
an owner and a due date; open actions feed the experts' task lists through
:func:`open_complaint_actions`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from crm_xl.domain.changes import Plan
from crm_xl.domain.dates import TEHRAN, to_jalali_str
from crm_xl.domain.enums import Channel, Importance, YesNo
from crm_xl.domain.errors import InputError
from crm_xl.domain.text import normalize
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.ops.books import (
    COMPLAINT_ACTIONS,
    COMPLAINTS,
    COMPLAINTS_FORM,
    ComplaintCause,
    ComplaintStatus,
    Report,
    as_int,
    find_row,
    issue_number,
    label,
    log_row,
    number_rule,
    read_rows,
    when,
    write_book,
)

KIND = "complaint"
DEFAULT_PATTERN = "CMP-{seq:5}"
S = ComplaintStatus

_OPS = {
    "ack": ("اعلام وصول", "acknowledge"),
    "action": ("ثبت اقدام", "add an action"),
    "resolve": ("ثبت راه‌حل", "resolve"),
    "close": ("بستن شکایت", "close"),
    "escalate": ("ارجاع به حل اختلاف", "escalate"),
}


def _refuse(op: str, status: ComplaintStatus, fa: str, en: str) -> InputError:
    op_fa, op_en = _OPS[op]
    return InputError(
        f"{op_fa} ممکن نیست: {fa} (وضعیت فعلی: {status.fa})",
        f"cannot {op_en}: {en} (current status: {status.en})",
        code="lifecycle-guard",
        field="status",
    )


def check(op: str, status: ComplaintStatus, *, has_resolution: bool = False) -> None:
    """Raise InputError (code "lifecycle-guard") when ``op`` is not allowed in ``status``."""
    if status is S.CLOSED:
        raise _refuse(op, status, "شکایت بسته شده است", "the complaint is closed")
    if op == "ack" and status is not S.RECEIVED:
        raise _refuse(op, status, "قبلاً اعلام وصول شده است", "already acknowledged")
    if op == "resolve" and status is S.RESOLVED:
        raise _refuse(op, status, "قبلاً حل شده است", "already resolved")
    if op == "close" and (status is not S.RESOLVED or not has_resolution):
        raise _refuse(
            op,
            status,
            "پیش از بستن باید راه‌حل ثبت شود",
            "a complaint is closed only after its resolution is recorded",
        )
    if op == "escalate":
        if status is S.RESOLVED or has_resolution:
            raise _refuse(
                op,
                status,
                "شکایت حل شده است؛ ارجاع فقط برای شکایت حل‌نشده است",
                "only an unresolved complaint is escalated",
            )
        if status is S.ESCALATED:
            raise _refuse(op, status, "قبلاً ارجاع شده است", "already escalated")


def status_of(row: dict[str, Any]) -> ComplaintStatus:
    try:
        return ComplaintStatus.parse(row.get("status") or S.RECEIVED)
    except ValueError:
        return S.IN_PROGRESS  # typed by hand and unreadable: treat as open


def _plan(op: str, result: dict[str, Any], fa: str, en: str) -> Plan:
    return Plan(op, result=result, message_fa=fa, message_en=en)


def _enum(enum: Any, value: Any, field: str) -> Any:
    try:
        return enum.parse(value)
    except ValueError as e:
        raise InputError(str(e), str(e), code="constraint-error", field=field) from None


# --- operations ---------------------------------------------------------------------------------


def add_complaint(
    ws: Workspace,
    customer_no: str,
    *,
    subject: str,
    channel: str,
    severity: str,
    case_no: str | None = None,
    cause: str | None = None,
    responsible: str | None = None,
    at: Any = None,
    now: dt.datetime | None = None,
) -> Plan:
    """Register a complaint of a registered customer; returns its serial number (CMP-00001)."""
    who = store.actor(now)
    reg = store.load_register(ws)
    customer = reg.customer(customer_no)
    cno = str(customer["customer_no"])
    case = None
    if case_no:
        case_row = reg.case(case_no)
        if normalize(str(case_row.get("customer_no") or "")) != cno:
            raise InputError(
                f"پرونده {case_no} متعلق به مشتری {cno} نیست",
                f"case {case_no} does not belong to customer {cno}",
                code="constraint-error",
                field="case_no",
            )
        case = str(case_row["case_no"])
    text = normalize(subject)
    if not text:
        raise InputError("موضوع شکایت خالی است", "the complaint subject is empty", field="subject")
    values = {
        "customer_no": cno,
        "customer_name": customer.get("name"),
        "case_no": case,
        "channel": _enum(Channel, channel, "channel"),
        "subject": text,
        "cause": _enum(ComplaintCause, cause, "cause") if cause else None,
        "severity": _enum(Importance, severity, "severity"),
        "received": when(at, who.now, "received"),
        "responsible": normalize(responsible) or normalize(str(customer.get("expert") or "")),
        "status": S.RECEIVED,
    }
    rule = number_rule(ws, KIND, DEFAULT_PATTERN)

    def change(book: FormBook) -> str:
        number = issue_number(book, KIND, rule, who.now, "complaint_no")
        book.append_rows(COMPLAINTS.name, [{"complaint_no": number, **values}])
        log_row(
            book,
            who,
            "complaint-add",
            [number, cno],
            json.dumps({"subject": text}, ensure_ascii=False),
        )
        return number

    number = write_book(ws, COMPLAINTS_FORM, change)
    return _plan(
        "complaint-add",
        {"complaint_no": number, "customer_no": cno, "case_no": case},
        f"شکایت {number} برای مشتری {cno} ثبت شد",
        f"complaint {number} registered for customer {cno}",
    )


def _update(
    ws: Workspace,
    number: str,
    op: str,
    now: dt.datetime | None,
    make: Any,
) -> Plan:
    """Read the complaint, check ``op`` is allowed, write what ``make(row, who)`` returns."""
    who = store.actor(now)
    no = normalize(number).upper()

    def change(book: FormBook) -> dict[str, Any]:
        r, row = find_row(book, COMPLAINTS, "complaint_no", no)
        status = status_of(row)
        check(op, status, has_resolution=bool(row.get("resolution")))
        update, extra = make(book, row, who)
        book.update_row(COMPLAINTS.name, r, update)
        log_row(
            book, who, f"complaint-{op}", [no], json.dumps(extra, ensure_ascii=False, default=str)
        )
        return {"complaint_no": no, **extra}

    result = write_book(ws, COMPLAINTS_FORM, change)
    fa, en = _OPS[op]
    return _plan(
        f"complaint-{op}", result, f"{fa}: شکایت {no} ثبت شد", f"complaint {no}: {en} recorded"
    )


def acknowledge(
    ws: Workspace, number: str, *, at: Any = None, now: dt.datetime | None = None
) -> Plan:
    def make(
        book: FormBook, row: dict[str, Any], who: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        t = when(at, who.now, "acknowledged")
        return {"acknowledged": t, "status": S.ACKNOWLEDGED}, {"status": S.ACKNOWLEDGED.value}

    return _update(ws, number, "ack", now, make)


def add_action(
    ws: Workspace,
    number: str,
    *,
    action: str,
    owner: str,
    due: Any,
    now: dt.datetime | None = None,
) -> Plan:
    """Plan a follow-up action (owner and due date required); it appears in the owner's tasks."""
    text, who_owns = normalize(action), normalize(owner)
    if not text:
        raise InputError("شرح اقدام خالی است", "the action is empty", field="action")
    if not who_owns:
        raise InputError("مسئول اقدام خالی است", "the action owner is empty", field="owner")
    if due in (None, ""):
        raise InputError("موعد اقدام لازم است", "the action needs a due date", field="due")

    def make(
        book: FormBook, row: dict[str, Any], who: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        due_at = when(due, who.now, "due")
        no = str(row["complaint_no"])
        rows = [
            v for _, v in book.read_table(COMPLAINT_ACTIONS.name) if v.get("complaint_no") == no
        ]
        seq = max((as_int(v.get("row_no")) for v in rows), default=0) + 1
        book.append_rows(
            COMPLAINT_ACTIONS.name,
            [
                {
                    "complaint_no": no,
                    "row_no": seq,
                    "at": who.now,
                    "action": text,
                    "owner": who_owns,
                    "due": due_at,
                    "done": YesNo.NO,
                }
            ],
        )
        status = status_of(row)
        update: dict[str, Any] = {}
        if status in (S.RECEIVED, S.ACKNOWLEDGED):
            update["status"] = S.IN_PROGRESS
        return update, {"row_no": seq, "owner": who_owns, "due": due_at.isoformat()}

    return _update(ws, number, "action", now, make)


def action_done(
    ws: Workspace, number: str, row_no: int, *, at: Any = None, now: dt.datetime | None = None
) -> Plan:
    """Mark one planned action of a complaint done (it leaves the task list)."""

    def make(
        book: FormBook, row: dict[str, Any], who: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        no = str(row["complaint_no"])
        for r, v in book.read_table(COMPLAINT_ACTIONS.name):
            if v.get("complaint_no") == no and as_int(v.get("row_no")) == int(row_no):
                t = when(at, who.now, "done_at")
                book.update_row(COMPLAINT_ACTIONS.name, r, {"done": YesNo.YES, "done_at": t})
                return {}, {"row_no": int(row_no), "done": True}
        raise InputError(
            f"اقدام ردیف {row_no} برای شکایت {no} پیدا نشد",
            f"action {row_no} of complaint {no} not found",
            code="not-found",
            field="row_no",
        )

    return _update(ws, number, "action", now, make)


def resolve(
    ws: Workspace, number: str, *, resolution: str, at: Any = None, now: dt.datetime | None = None
) -> Plan:
    text = normalize(resolution)
    if not text:
        raise InputError("راه‌حل خالی است", "the resolution is empty", field="resolution")

    def make(
        book: FormBook, row: dict[str, Any], who: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        t = when(at, who.now, "resolved")
        return {"resolution": text, "resolved": t, "status": S.RESOLVED}, {
            "status": S.RESOLVED.value
        }

    return _update(ws, number, "resolve", now, make)


def close(ws: Workspace, number: str, *, at: Any = None, now: dt.datetime | None = None) -> Plan:
    def make(
        book: FormBook, row: dict[str, Any], who: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        t = when(at, who.now, "closed")
        no = str(row["complaint_no"])
        still_open = [
            as_int(v.get("row_no"))
            for _, v in book.read_table(COMPLAINT_ACTIONS.name)
            if v.get("complaint_no") == no and not _is_done(v)
        ]
        return {"closed": t, "status": S.CLOSED}, {
            "status": S.CLOSED.value,
            "open_actions": still_open,  # reported, not refused: the resolution is what counts
        }

    return _update(ws, number, "close", now, make)


def escalate(
    ws: Workspace, number: str, *, to: str = "", at: Any = None, now: dt.datetime | None = None
) -> Plan:
    """ISO 10003: refer an unresolved complaint to external dispute resolution."""

    def make(
        book: FormBook, row: dict[str, Any], who: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        t = when(at, who.now, "escalated")
        return {"escalated": t, "escalated_to": normalize(to) or None, "status": S.ESCALATED}, {
            "status": S.ESCALATED.value
        }

    return _update(ws, number, "escalate", now, make)


# --- queries --------------------------------------------------------------------------------------


def _is_done(v: dict[str, Any]) -> bool:
    try:
        return YesNo.parse(v.get("done") or YesNo.NO) is YesNo.YES
    except ValueError:
        return False


def _aware(t: Any) -> dt.datetime | None:
    if isinstance(t, dt.datetime):
        return t if t.tzinfo else t.replace(tzinfo=TEHRAN)
    if isinstance(t, dt.date):
        return dt.datetime.combine(t, dt.time(23, 59), tzinfo=TEHRAN)
    return None


def open_complaint_actions(ws: Workspace, now: dt.datetime) -> list[dict[str, Any]]:
    """Open planned actions of complaints that are not closed, earliest due first.

    Each: owner, due (aware datetime), description, complaint_no, customer_no, row_no,
    overdue (due before ``now``), severity — for the experts' task lists (کارتابل).
    """
    complaints = {
        str(r.get("complaint_no")): r
        for r in read_rows(ws, COMPLAINTS_FORM, COMPLAINTS)
        if r.get("complaint_no")
    }
    out: list[dict[str, Any]] = []
    for v in read_rows(ws, COMPLAINTS_FORM, COMPLAINT_ACTIONS):
        c = complaints.get(str(v.get("complaint_no")))
        if c is None or status_of(c) is S.CLOSED or _is_done(v):
            continue
        due = _aware(v.get("due"))
        out.append(
            {
                "kind": "complaint-action",
                "owner": v.get("owner"),
                "due": due,
                "description": v.get("action"),
                "complaint_no": v.get("complaint_no"),
                "customer_no": c.get("customer_no"),
                "row_no": v.get("row_no"),
                "severity": label(Importance, c.get("severity")),
                "overdue": due is not None and due < now,
            }
        )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(out, key=lambda a: a["due"] or far)


def complaint_summary(ws: Workspace, now: dt.datetime) -> dict[str, Any]:
    """Open complaints, overdue actions and counts by cause, status and severity."""
    rows = read_rows(ws, COMPLAINTS_FORM, COMPLAINTS)
    open_rows = [r for r in rows if status_of(r) is not S.CLOSED]
    actions = open_complaint_actions(ws, now)
    return {
        "total": len(rows),
        "open": open_rows,
        "overdue_actions": [a for a in actions if a["overdue"]],
        "open_actions": actions,
        "by_cause": dict(Counter(label(ComplaintCause, r.get("cause")) or "نامشخص" for r in rows)),
        "by_status": dict(Counter(status_of(r).fa for r in rows)),
        "by_severity": dict(Counter(label(Importance, r.get("severity")) for r in rows)),
        "escalated": sum(1 for r in rows if r.get("escalated")),
    }


def _jt(t: Any) -> str:
    return to_jalali_str(t, with_time=isinstance(t, dt.datetime)) if isinstance(t, dt.date) else ""


def complaint_report(ws: Workspace, now: dt.datetime, out: Path | None = None) -> dict[str, Any]:
    """The summary; with ``out`` also a workbook (open, overdue actions, by cause with a chart)."""
    data = complaint_summary(ws, now)
    if out is None:
        return data
    stamp = f"تاریخ گزارش: {to_jalali_str(now, with_time=True)}"
    rep = Report(
        out,
        company=ws.settings.company,
        title="گزارش شکایات مشتریان (ISO 10002)",
        meta=(f"بر پایه: {COMPLAINTS_FORM.code}", stamp),
    )
    rep.sheet(
        "شکایات باز",
        f"شکایات باز: {len(data['open'])}",
        [
            ("شماره شکایت", 13),
            ("مشتری", 12),
            ("نام مشتری", 22),
            ("موضوع", 34),
            ("علت", 15),
            ("شدت", 8),
            ("وضعیت", 15),
            ("دریافت", 16),
            ("مسئول", 14),
        ],
        [
            [
                r.get("complaint_no"),
                r.get("customer_no"),
                r.get("customer_name"),
                r.get("subject"),
                label(ComplaintCause, r.get("cause")),
                label(Importance, r.get("severity")),
                status_of(r).fa,
                _jt(r.get("received")),
                r.get("responsible"),
            ]
            for r in data["open"]
        ],
    )
    rep.sheet(
        "اقدامات معوق",
        f"اقدامات معوق: {len(data['overdue_actions'])}",
        [
            ("شماره شکایت", 13),
            ("مشتری", 12),
            ("ردیف", 6),
            ("شرح اقدام", 40),
            ("مسئول", 14),
            ("موعد", 16),
            ("روز تأخیر", 10),
        ],
        [
            [
                a["complaint_no"],
                a["customer_no"],
                a["row_no"],
                a["description"],
                a["owner"],
                _jt(a["due"]),
                (now - a["due"]).days,
            ]
            for a in data["overdue_actions"]
        ],
        number_cols=[2, 6],
    )
    causes = sorted(data["by_cause"].items(), key=lambda kv: -kv[1])
    sh = rep.sheet(
        "بر اساس علت",
        "شکایات بر اساس علت",
        [("علت / دسته", 24), ("تعداد", 10)],
        [[k, v] for k, v in causes],
        number_cols=[1],
        totals=[1],
        beside=(2,) + (10,) * 7,  # the chart prints beside the table
    )
    if causes:
        ch = rep.chart("bar")
        n = len(causes)
        ch.add_series(
            {
                "name": "تعداد شکایات",
                "categories": ["بر اساس علت", 4, 0, 3 + n, 0],
                "values": ["بر اساس علت", 4, 1, 3 + n, 1],
                "fill": {"color": "#C0504D"},
                "data_labels": {"value": True, "font": {"name": "Tahoma", "size": 9}},
            }
        )
        ch.set_title({"name": "شکایات بر اساس علت", "name_font": {"name": "Tahoma", "size": 11}})
        # Horizontal bars read from the right in an RTL sheet: value axis reversed.
        ch.set_x_axis(
            {
                "reverse": True,
                "min": 0,
                "major_unit": 1,
                "num_format": "0",
                "num_font": {"name": "Tahoma", "size": 8},
            }
        )
        ch.set_y_axis({"num_font": {"name": "Tahoma", "size": 9}, "reverse": True})
        ch.set_size({"width": 520, "height": 300})
        sh.insert_chart(4, 3, ch, {"x_offset": 4})
    rep.close()
    return {**data, "xlsx": str(out)}
