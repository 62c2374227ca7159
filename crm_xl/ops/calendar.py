"""Each expert's planned actions as a calendar feed (.ics), so reminders reach them in Outlook,
Google Calendar or a phone (SPEC §6).

One ``<expert>.ics`` per expert, written with the ``icalendar`` package:

* every **open planned action** is a ``VEVENT`` in Asia/Tehran with a ``VALARM`` (Outlook
  ignores ``VTODO``): the planned next action of an open customer's latest follow-up, or the
  R2 call after first contact while no follow-up is recorded.  It starts at the deadline the
  task list shows (a due on a closed day rolled to the next working day) and lasts the
  action's estimated minutes.  Summary and description are Persian, with the customer's
  number and name;
* its **UID** is derived from the workspace's identity (``.crm_xl/workspace-id``, made once),
  the customer number, the follow-up row («ردیف», else the Excel row; the R2 call is
  "first-contact") and the responsible expert — never from the due date, so a re-import
  updates the event instead of duplicating it.  Handing the action to another expert makes a
  new event in their feed and cancels the old one in the first expert's;
* ``SEQUENCE`` starts at 0 and rises whenever what an event says changes (rescheduled,
  renamed, cancelled); ``DTSTAMP`` is the moment of that change, so regenerating an unchanged
  workspace writes byte-identical feeds.  What each feed last said is kept in
  ``.crm_xl/calendar-state.json`` (the change log cannot tell: a due date edited by hand in
  F-31-08-01 never passes through it);
* an action that is no longer open — done (a later follow-up was recorded), the customer
  final, closed or archived — is emitted as ``STATUS:CANCELLED`` for
  :data:`CANCELLED_DAYS` days, so calendars that imported it drop it, then left out.  A
  customer whose form cannot be read keeps its events as they were: a read error never
  cancels anything.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import icalendar

from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import FollowUpState, FollowUpType
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.followup import (
    FIRST_ACTION_FA,
    FollowUpFacts,
    FollowUpStatus,
    fa_moment,
    first_followup_due,
    roll_weekend,
    to_moment,
)
from crm_xl.domain.names import safe_name
from crm_xl.domain.settings import CalendarFeeds, Settings
from crm_xl.domain.text import normalize
from crm_xl.io.safety import atomic_write, workspace_lock
from crm_xl.io.workspace import Workspace

__all__ = [
    "CANCELLED_DAYS",
    "Action",
    "FeedResult",
    "feed_dir",
    "planned_actions",
    "workspace_id",
    "write_feeds",
]

STATE_FILE = "calendar-state.json"
ID_FILE = "workspace-id"
#: How long a cancelled action stays in the feed (long enough for any client to pick it up).
CANCELLED_DAYS = 30
PRODID = "-//crm_xl//follow-up calendar//FA"
_STAMP = "%Y%m%dT%H%M%SZ"
#: Earliest VTIMEZONE rule written: Iran has kept +03:30 all year since 2022.
_TZ_FROM = date(2023, 1, 1)

Row = Mapping[str, Any]


class Evaluated(Protocol):
    """What the feeds are built from: ``refresh.Evaluation`` (kept structural, so refresh can
    regenerate the feeds without a module cycle)."""

    now: datetime
    settings: Settings
    rows: dict[str, dict[str, Any]]
    statuses: dict[str, FollowUpStatus]
    facts: dict[str, FollowUpFacts | None]


@dataclass(frozen=True)
class Action:
    """One open planned action, as its event says it."""

    uid: str
    owner: str
    customer_no: str
    start: datetime  # aware, Tehran
    minutes: int
    summary: str
    description: str


@dataclass
class FeedResult:
    """What ``write_feeds`` wrote."""

    files: dict[str, Path]  # expert → feed
    events: int  # open actions written
    cancelled: int  # cancelled events written
    changed: list[str] = field(default_factory=list)  # UIDs whose SEQUENCE rose
    skipped_customers: list[str] = field(default_factory=list)  # forms unreadable: kept as were

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": {k: str(v) for k, v in self.files.items()},
            "events": self.events,
            "cancelled": self.cancelled,
            "changed": self.changed,
            "skipped_customers": self.skipped_customers,
        }


def _s(v: object) -> str:
    return "" if v is None else normalize(str(v))


def feed_settings(settings: Settings) -> CalendarFeeds:
    return settings.calendar or CalendarFeeds()


def feed_dir(ws: Workspace) -> Path:
    """The feeds folder the settings name (relative to the workspace unless absolute)."""
    d = Path(feed_settings(ws.settings).dir)
    return d if d.is_absolute() else ws.root / d


def workspace_id(ws: Workspace) -> str:
    """The workspace's identity for event UIDs, made once and kept in ``.crm_xl``."""
    path = ws.internal_dir / ID_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if text:
        return text
    text = uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"), backups=None)
    return text


def _uid(ws_id: str, customer_no: str, row_key: str, owner: str) -> str:
    digest = hashlib.sha256("\x1f".join((ws_id, customer_no, row_key, owner)).encode()).hexdigest()
    return f"{digest[:32]}@crm-xl"


def _type_fa(value: str | None) -> str:
    if not value:
        return ""
    try:
        return FollowUpType.parse(value).fa
    except ValueError:
        return value


def _action(
    ws_id: str,
    no: str,
    row: Row,
    row_key: str,
    owner: str,
    what: str,
    kind: str | None,
    start: datetime,
    minutes: int,
) -> Action:
    name = _s(row.get("name"))
    who = f"{no} — {name}" if name else no
    lines = [
        f"مشتری: {who}",
        f"اقدام: {what}",
        *([f"نوع اقدام: {_type_fa(kind)}"] if kind else []),
        f"مسئول: {owner}",
        f"موعد: {fa_moment(start)}",
    ]
    phone = _s(row.get("mobile")) or _s(row.get("phone"))
    if phone:
        lines.append(f"تلفن: {phone}")
    return Action(
        _uid(ws_id, no, row_key, owner),
        owner,
        no,
        start,
        minutes,
        f"{what} — {no} {name}".strip(),
        "\n".join(lines),
    )


def planned_actions(ev: Evaluated, ws_id: str) -> tuple[list[Action], set[str]]:
    """Every open planned action, and the customers whose follow-up log could not be read."""
    rules = ev.settings.followup
    cal = rules.work_calendar()
    default_minutes = feed_settings(ev.settings).default_minutes
    actions: list[Action] = []
    unreadable: set[str] = set()
    for no, row in ev.rows.items():
        status = ev.statuses.get(no)
        if status is None or status.state is FollowUpState.FINAL:
            continue
        expert = _s(row.get("expert"))
        facts = ev.facts.get(no)
        if facts is None:  # form missing or unreadable: its log is unknown
            unreadable.add(no)
            continue
        if facts.count == 0:
            try:
                first = to_moment(row.get("first_contact"))
            except ValueError:
                first = None
            if first is None:
                continue
            hours = rules.first_followup_hours
            what = FIRST_ACTION_FA.replace("۲۴", str(hours)) if hours != 24 else FIRST_ACTION_FA
            actions.append(
                _action(
                    ws_id,
                    no,
                    row,
                    "first-contact",
                    expert,
                    what,
                    None,
                    first_followup_due(first, rules),
                    default_minutes,
                )
            )
        elif facts.next_due is not None:
            owner = facts.next_owner or expert
            actions.append(
                _action(
                    ws_id,
                    no,
                    row,
                    facts.row_key or "latest",
                    owner,
                    facts.next_action or "اقدام بعدی",
                    facts.next_type,
                    roll_weekend(facts.next_due, cal),
                    facts.next_minutes or default_minutes,
                )
            )
    return actions, unreadable


# --- the state of the published feeds ---------------------------------------------------------


def _fingerprint(a: Action) -> str:
    key = [a.start.isoformat(), a.minutes, a.summary, a.description, "CONFIRMED"]
    return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()[:16]


_STATE_KEYS = frozenset(
    {
        "owner",
        "customer_no",
        "start",
        "minutes",
        "summary",
        "description",
        "status",
        "sequence",
        "stamp",
    }
)


def _readable(entry: object) -> bool:
    if not isinstance(entry, dict) or not entry.keys() >= _STATE_KEYS:
        return False
    try:
        datetime.fromisoformat(str(entry["start"]))
        datetime.strptime(str(entry["stamp"]), _STAMP)
        datetime.fromisoformat(str(entry.get("cancelled") or entry["start"]))
        int(entry["minutes"]), int(entry["sequence"])
    except (TypeError, ValueError):
        return False
    return True


def _read_state(path: Path) -> dict[str, dict[str, Any]]:
    """The events the feeds last said.  A missing or damaged state (or entry) starts afresh:
    UIDs stay (they do not depend on it), SEQUENCE restarts at 0, so a client that saw a
    higher one may keep its copy of a rescheduled event until it changes again."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        events = data.get("events", {})
        return {str(k): dict(v) for k, v in events.items() if _readable(v)}
    except (OSError, ValueError, AttributeError):
        return {}


def _merge(
    state: dict[str, dict[str, Any]],
    actions: Iterable[Action],
    keep: set[str],
    now: datetime,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The new state: current actions confirmed, vanished ones cancelled, changes counted."""
    stamp = now.astimezone(UTC).strftime(_STAMP)
    new: dict[str, dict[str, Any]] = {}
    changed: list[str] = []
    for a in actions:
        old = state.get(a.uid)
        fp = _fingerprint(a)
        entry = {
            "owner": a.owner,
            "customer_no": a.customer_no,
            "start": a.start.isoformat(),
            "minutes": a.minutes,
            "summary": a.summary,
            "description": a.description,
            "status": "CONFIRMED",
            "fingerprint": fp,
            "sequence": 0,
            "stamp": stamp,
        }
        if old is not None:
            if old.get("fingerprint") == fp and old.get("status") == "CONFIRMED":
                entry.update(sequence=old.get("sequence", 0), stamp=old.get("stamp", stamp))
            else:
                entry["sequence"] = int(old.get("sequence", 0)) + 1
                changed.append(a.uid)
        new[a.uid] = entry
    horizon = now - timedelta(days=CANCELLED_DAYS)
    for uid, old in state.items():
        if uid in new:
            continue
        if old.get("customer_no") in keep:
            new[uid] = old  # its form could not be read: leave the event as it was
            continue
        if old.get("status") != "CANCELLED":
            new[uid] = {
                **old,
                "status": "CANCELLED",
                "sequence": int(old.get("sequence", 0)) + 1,
                "stamp": stamp,
                "cancelled": now.isoformat(),
            }
            changed.append(uid)
        elif datetime.fromisoformat(str(old.get("cancelled") or old["start"])) >= horizon:
            new[uid] = old
    return new, changed


# --- writing -------------------------------------------------------------------------------------


def _event(uid: str, e: Mapping[str, Any], alarm_minutes: int) -> icalendar.Event:
    ev = icalendar.Event()
    start = datetime.fromisoformat(e["start"]).astimezone(TEHRAN)
    stamp = datetime.strptime(e["stamp"], _STAMP).replace(tzinfo=UTC)
    ev.add("uid", uid)
    ev.add("dtstamp", stamp)
    ev.add("last-modified", stamp)
    ev.add("sequence", int(e["sequence"]))
    ev.add("dtstart", start)
    ev.add("dtend", start + timedelta(minutes=int(e["minutes"])))
    ev.add("summary", e["summary"])
    ev.add("description", e["description"])
    ev.add("status", e["status"])
    ev.add("transp", "OPAQUE")
    ev.add("categories", ["crm_xl"])
    if e["status"] == "CONFIRMED":
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", e["summary"])
        alarm.add("trigger", timedelta(minutes=-alarm_minutes))
        ev.add_component(alarm)
    return ev


def _calendar(owner: str, events: Sequence[tuple[str, Mapping[str, Any]]], alarm: int) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"کارتابل پیگیری — {owner}")
    cal.add("x-wr-timezone", "Asia/Tehran")
    first = min(
        [
            _TZ_FROM,
            *(datetime.fromisoformat(e["start"]).astimezone(TEHRAN).date() for _, e in events),
        ]
    )
    # The time zone is always there: an empty feed is still a valid calendar that clears a client.
    cal.add_component(icalendar.Timezone.from_tzinfo(TEHRAN, "Asia/Tehran", first_date=first))
    for uid, e in sorted(events, key=lambda x: (x[1]["start"], x[0])):
        cal.add_component(_event(uid, e, alarm))
    data: bytes = cal.to_ical()
    return data


def _writer(data: bytes) -> Callable[[Path], object]:
    return lambda tmp: tmp.write_bytes(data)


def _file_names(owners: Iterable[str]) -> dict[str, str]:
    """Expert → a file name safe on Windows and Linux, unique (case-insensitively)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for owner in owners:
        base = safe_name(owner or "بدون مسئول", max_len=60)
        name, n = f"{base}.ics", 2
        while name.casefold() in used:
            name, n = f"{base} ({n}).ics", n + 1
        used.add(name.casefold())
        out[owner] = name
    return out


def _refuse_existing(paths: Iterable[Path]) -> None:
    existing = [p for p in paths if p.exists()]
    if existing:
        names = "، ".join(str(p) for p in existing)
        raise InputError(
            f"فایل تقویم از قبل هست و بازنویسی نمی‌شود: {names}؛ برای جایگزینی --force بدهید",
            f"calendar file already exists and is not overwritten: {', '.join(map(str, existing))}; "
            "pass --force to replace it",
            code="output-exists",
            file=existing[0],
        )


def write_feeds(
    ws: Workspace,
    ev: Evaluated,
    out: Path,
    *,
    expert: str | None = None,
    overwrite: bool = False,
) -> FeedResult:
    """Write the feeds: every expert's into folder ``out``, or only ``expert``'s (then ``out``
    may also be the ``.ics`` file itself).  Existing feeds are refused unless ``overwrite``.

    The feeds and their state change together under the workspace lock.
    """
    opts = feed_settings(ev.settings)
    state_path = ws.internal_dir / STATE_FILE
    with workspace_lock(ws.root, timeout=ev.settings.lock_timeout):
        ws_id = workspace_id(ws)
        actions, unreadable = planned_actions(ev, ws_id)
        state, changed = _merge(_read_state(state_path), actions, unreadable, ev.now)
        owners = [normalize(e) for e in ev.settings.experts]
        for e in state.values():
            if e["owner"] not in owners:
                owners.append(e["owner"])
        if expert is not None:
            want = normalize(expert)
            if want not in owners:
                raise InputError(
                    f"کارشناس «{expert}» تعریف نشده و اقدامی ندارد",
                    f"expert '{expert}' is not configured and has no planned actions",
                    code="not-found",
                    field="expert",
                )
            owners = [want]
        names = _file_names(owners)
        single = expert is not None and out.suffix.lower() == ".ics"
        if not single and out.exists() and not out.is_dir():
            raise InputError(
                f"«{out}» پوشه نیست؛ تقویم‌ها در یک پوشه نوشته می‌شوند (یا با --expert در فایل .ics)",
                f"'{out}' is not a folder; feeds are written into a folder "
                "(or, with --expert, into a .ics file)",
                code="not-a-folder",
                file=out,
            )
        targets = {o: out if single else out / names[o] for o in owners}
        if not overwrite:
            _refuse_existing(targets.values())
        result = FeedResult({}, 0, 0, [u for u in changed if state[u]["owner"] in targets])
        result.skipped_customers = sorted(unreadable)
        for owner, path in targets.items():
            events = [(u, e) for u, e in state.items() if e["owner"] == owner]
            data = _calendar(owner, events, opts.alarm_minutes)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, _writer(data), backups=None)
            except OSError as e:
                raise CrmError(
                    f"فایل تقویم نوشته نشد: {e.strerror or e}",
                    f"calendar feed could not be written: {e.strerror or e}",
                    code="write-failed",
                    file=path,
                ) from None
            result.files[owner] = path
            result.events += sum(1 for _, e in events if e["status"] == "CONFIRMED")
            result.cancelled += sum(1 for _, e in events if e["status"] == "CANCELLED")
        if expert is not None:
            # Only this expert's feed was written: the others keep what they last said.
            old = _read_state(state_path)
            state = {
                **{u: e for u, e in old.items() if e.get("owner") not in targets},
                **{u: e for u, e in state.items() if e["owner"] in targets},
            }
        text = json.dumps(
            {"version": 1, "workspace_id": ws_id, "events": state},
            ensure_ascii=False,
            indent=1,
            sort_keys=True,
        )
        atomic_write(
            state_path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"), backups=None
        )
    return result
