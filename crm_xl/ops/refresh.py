"""Refresh follow-up control: re-read every customer's F-31-08-01, recompute states, write them.

Salespeople often type a follow-up straight into their customer's form in Excel, with a
Jalali date as text.  ``refresh`` picks those rows up, so the register's last follow-up,
next action and follow-up state always match the forms (R9, R10):

1. read the register's customers and every form under ``customers/`` with calamine
   (read-only, ~0.5 ms a form) — outside the workspace lock, so a long scan never makes
   other operations wait;
2. take the lock through ``store.run``; re-read only the forms whose file changed since the
   scan (mtime) or that are new, so a follow-up logged meanwhile is not missed;
3. compute each customer's state (``state.evaluate``) and write only the cells that differ,
   plus one ``refresh`` entry in the Log table — locked, atomic, backed up, like any operation.

Archived customers (folder under ``archive/``) are final and their forms are not read.
Final customers (lost, closed, CRM done) only get ``last_followup`` refreshed: their next
action fields belong to the operations that closed them.
"""

from __future__ import annotations

import contextlib
import json
import re
import time as _time
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from crm_xl.domain import decide
from crm_xl.domain.changes import AppendRow, Plan, UpdateRow
from crm_xl.domain.dates import TEHRAN, now_tehran
from crm_xl.domain.enums import FollowUpState, LabeledEnum, is_void
from crm_xl.domain.errors import CrmError
from crm_xl.domain.followup import (
    FIRST_ACTION_FA,
    FollowUpFacts,
    FollowUpStatus,
    Rule,
    evaluate,
    facts_from_followups,
    first_followup_due,
    to_moment,
)
from crm_xl.domain.schema import CASES, CUSTOMERS, F_31_08_01, F_31_08_02, FOLLOWUPS, LOG
from crm_xl.domain.settings import Settings
from crm_xl.domain.text import normalize
from crm_xl.io import journal, ooxml
from crm_xl.io.durable import write_atomic
from crm_xl.io.layout import STATE_FILLS
from crm_xl.io.workbook import read_table_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store

__all__ = [
    "Evaluation",
    "Problem",
    "RefreshResult",
    "evaluate_workspace",
    "missing_state_formatting",
    "refresh",
]

Row = dict[str, Any]
#: Register fields refresh owns.
FIELDS = (
    "last_followup",
    "next_due",
    "next_action",
    "next_owner",
    "followup_state",
    "state_reason",
)


@dataclass(frozen=True)
class Problem:
    """Something refresh could not read, with its place (SPEC §10: file, sheet, cell)."""

    code: str
    fa: str
    en: str
    customer_no: str | None = None
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    field: str | None = None
    severity: str = "warning"

    @property
    def where(self) -> str:
        return " › ".join(p for p in (self.file, self.sheet, self.cell) if p)

    def __str__(self) -> str:
        return f"{self.fa} / {self.en}" + (f" ({self.where})" if self.where else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "customer_no": self.customer_no,
            "fa": self.fa,
            "en": self.en,
            "location": {
                "file": self.file,
                "sheet": self.sheet,
                "cell": self.cell,
                "field": self.field,
            },
        }


@dataclass
class _Scan:
    """One customer's form as read: where, its mtime, the facts (None: form not readable)."""

    path: Path | None
    mtime_ns: int
    facts: FollowUpFacts | None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Evaluation:
    """Every customer's refreshed row and state at ``now`` (nothing written)."""

    now: datetime
    settings: Settings
    rows: dict[str, Row]  # register row with the refreshed follow-up fields
    statuses: dict[str, FollowUpStatus]
    problems: list[Problem]
    forms_read: int = 0
    #: Sales cases (not void, cancelled included) per customer: how far a lost customer got.
    case_counts: dict[str, int] = field(default_factory=dict)
    #: Each customer's follow-up log as read (None: the form could not be read); customers
    #: whose form was not read (archived, or ``read_forms=False``) are absent.
    facts: dict[str, FollowUpFacts | None] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        c = Counter(s.state.value for s in self.statuses.values())
        return {st.value: c.get(st.value, 0) for st in FollowUpState}


@dataclass
class RefreshResult:
    now: datetime
    counts: dict[str, int]
    changed: list[str]
    problems: list[Problem]
    statuses: list[FollowUpStatus]
    forms_read: int
    seconds: float
    formatting_missing: list[str] = field(default_factory=list)
    #: Calendar feeds regenerated because the settings ask for it (``calendar.on_refresh``).
    calendar: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.now.isoformat(),
            "counts": self.counts,
            "changed": self.changed,
            "forms_read": self.forms_read,
            "seconds": round(self.seconds, 3),
            "problems": [p.as_dict() for p in self.problems],
            "formatting_missing": self.formatting_missing,
            "calendar": self.calendar,
            "statuses": [s.as_dict() for s in self.statuses],
        }


# --- reading the forms ----------------------------------------------------------------------

_FU_COLS = {k: i for i, k in enumerate(FOLLOWUPS.keys)}


def _s(v: object) -> str:
    return "" if v is None else normalize(str(v))


def _rel(ws: Workspace, path: Path) -> str:
    try:
        return str(path.relative_to(ws.root))
    except ValueError:
        return str(path)


def _form_path(ws: Workspace, no: str, row: Mapping[str, Any]) -> Path | None:
    """The customer's F-31-08-01 under customers/, or None (archived or missing)."""
    return store.find_customer_form(ws, no, _s(row.get("folder")))


#: The follow-up logs as last read, by form, in ``.crm_xl/``: a form whose file is unchanged
#: (same inode, size and modification time, as Excel and the toolkit both replace or rewrite
#: the file on save) is not opened again, so the daily refresh costs a ``stat`` per customer.
INDEX_NAME = "refresh-index.json"
_INDEX_FORMAT = "1:" + ",".join(FOLLOWUPS.keys)


def _enc(v: object) -> object:
    if isinstance(v, datetime):
        return {"dt": v.isoformat()}
    if isinstance(v, date):
        return {"d": v.isoformat()}
    if isinstance(v, time):
        return {"t": v.isoformat()}
    if isinstance(v, timedelta):
        return {"td": v.total_seconds()}
    if v is None or isinstance(v, str | int | float):
        return v
    raise TypeError(type(v).__name__)


def _dec(v: Any) -> object:
    if not isinstance(v, dict):
        return v
    ((tag, x),) = v.items()
    if tag == "dt":
        return datetime.fromisoformat(x)
    if tag == "d":
        return date.fromisoformat(x)
    if tag == "t":
        return time.fromisoformat(x)
    if tag == "td":
        return timedelta(seconds=float(x))
    raise ValueError(tag)


class _Index:
    """Follow-up rows of each form as read, keyed by the file's identity."""

    def __init__(self, ws: Workspace) -> None:
        self.path = ws.root / ".crm_xl" / INDEX_NAME
        self.forms: dict[str, Any] = {}
        self.seen: set[str] = set()
        self.dirty = False
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") == _INDEX_FORMAT and isinstance(data.get("forms"), dict):
                self.forms = data["forms"]

    @staticmethod
    def _stamp(path: Path) -> list[int]:
        st = path.stat()
        return [st.st_ino, st.st_size, st.st_mtime_ns]

    def rows(self, rel: str, path: Path) -> tuple[int, list[tuple[int, Row]]] | None:
        """(mtime, rows) kept for the form at ``rel`` if its file is unchanged, else None."""
        self.seen.add(rel)
        entry = self.forms.get(rel)
        if entry is None:
            return None
        try:
            if entry["stamp"] != self._stamp(path):
                return None
            rows = [(int(r), {k: _dec(v) for k, v in row.items()}) for r, row in entry["rows"]]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        return int(entry["stamp"][2]), rows

    def put(self, rel: str, stamp: list[int], rows: list[tuple[int, Row]]) -> None:
        try:
            kept = [[r, {k: _enc(v) for k, v in row.items()}] for r, row in rows]
        except TypeError:
            return  # a value the index cannot spell: read this form each time
        self.seen.add(rel)
        self.forms[rel] = {"stamp": stamp, "rows": kept}
        self.dirty = True

    def save(self) -> None:
        """Write the index if a form was read anew or is gone (archived): never for a refresh
        that found every form as it was."""
        if set(self.forms) - self.seen:
            self.forms = {k: v for k, v in self.forms.items() if k in self.seen}
            self.dirty = True
        if not self.dirty or not self.path.parent.is_dir():
            return
        data = json.dumps({"format": _INDEX_FORMAT, "forms": self.forms}, ensure_ascii=False)
        with contextlib.suppress(OSError):  # only a cache: the next refresh reads the forms
            write_atomic(self.path, data.encode("utf-8"), sync=False)
        self.dirty = False


def _read_followups(
    path: Path, rel: str, index: _Index | None
) -> tuple[int, list[tuple[int, Row]]]:
    """The form's mtime and follow-up rows: from the index when unchanged, else read."""
    if index is not None:
        kept = index.rows(rel, path)
        if kept is not None:
            return kept
    stamp = _Index._stamp(path)
    rows = read_table_fast(path, F_31_08_01, FOLLOWUPS.name)
    if index is not None and _Index._stamp(path) == stamp:  # not changed while read
        index.put(rel, stamp, rows)
    return stamp[2], rows


def _scan_one(
    ws: Workspace, no: str, row: Mapping[str, Any], now: datetime, index: _Index | None = None
) -> _Scan | None:
    """Read one customer's follow-up log; None when the customer has no form to read."""
    folder = _s(row.get("folder"))
    if folder.startswith("archive/"):
        return None
    path = _form_path(ws, no, row)
    if path is None:
        return _Scan(
            None,
            0,
            None,
            [
                Problem(
                    "missing-form",
                    f"فرم {F_31_08_01.code} مشتری {no} پیدا نشد؛ از اطلاعات دفتر ثبت استفاده شد",
                    f"form {F_31_08_01.code} of customer {no} not found; register values used",
                    no,
                    file=folder or None,
                )
            ],
        )
    file = _rel(ws, path)
    try:
        mtime, rows = _read_followups(path, file, index)
    except (CrmError, OSError) as e:
        fa = getattr(e, "fa", str(e))
        en = getattr(e, "en", str(e))
        return _Scan(
            path,
            0,
            None,
            [
                Problem(
                    getattr(e, "code", "unreadable"),
                    f"فرم خوانده نشد: {fa}؛ از اطلاعات دفتر ثبت استفاده شد",
                    f"form could not be read: {en}; register values used",
                    no,
                    file=file,
                    severity="error",
                )
            ],
        )
    facts, row_problems = facts_from_followups(rows, now, expert=_s(row.get("expert")))
    problems = [
        Problem(
            p.code,
            p.fa,
            p.en,
            no,
            file=file,
            sheet=FOLLOWUPS.sheet,
            cell=f"{get_column_letter(_FU_COLS[p.field] + 1)}{p.row}",
            field=p.field,
            severity="error" if p.skipped else "warning",
        )
        for p in row_problems
    ]
    return _Scan(path, mtime, facts, problems)


def _read_register_rows(ws: Workspace) -> list[tuple[int, Row]]:
    return [(r, dict(v)) for r, v in read_table_fast(ws.register_path, F_31_08_02, CUSTOMERS.name)]


def scan_forms(
    ws: Workspace, rows: Mapping[str, Row], now: datetime, index: _Index | None = None
) -> dict[str, _Scan]:
    """Read every customer's F-31-08-01 (fast reader); what ``refresh_plan`` works from."""
    scans: dict[str, _Scan] = {}
    for no, row in rows.items():
        scan = _scan_one(ws, no, row, now, index)
        if scan is not None:
            scans[no] = scan
    return scans


def _fresh(ws: Workspace, no: str, row: Row, scan: _Scan | None, now: datetime) -> _Scan | None:
    """The scan, re-read if the form changed since (or was not there when) it was made."""
    if scan is not None and scan.path is not None:
        try:
            if scan.path.stat().st_mtime_ns == scan.mtime_ns:
                return scan
        except OSError:
            pass
    return _scan_one(ws, no, row, now)


# --- deciding -------------------------------------------------------------------------------


def _assess(
    row: Row, scan: _Scan | None, settings: Settings, now: datetime
) -> tuple[FollowUpStatus, Row]:
    """The customer's state and the register values refresh wants for it."""
    facts = scan.facts if scan is not None else None
    status = evaluate(row, facts, settings, now)
    want: Row = {"followup_state": status.state, "state_reason": status.reason_fa}
    if facts is None:
        return status, want
    want["last_followup"] = facts.last_followup
    if status.rule is Rule.FINAL:
        return status, want
    if facts.count == 0:
        # No follow-up yet: the R2 call is the next action, exactly as core writes it.
        first = _moment(row.get("first_contact"))
        due = first_followup_due(first, settings.followup) if first else None
        expert = _s(row.get("expert")) or None
        want.update(next_due=due, next_action=FIRST_ACTION_FA if due else None, next_owner=expert)
    else:
        want.update(
            next_due=facts.next_due, next_action=facts.next_action, next_owner=facts.next_owner
        )
    return status, want


def _moment(v: object) -> datetime | None:
    try:
        return to_moment(v)
    except ValueError:
        return None


def _cmp(v: object) -> object:
    """A comparable form of a cell value: naive Tehran minute, Persian label, normalised text."""
    if v is None:
        return None
    if isinstance(v, LabeledEnum):
        return v.fa
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            v = v.astimezone(TEHRAN).replace(tzinfo=None)
        return v.replace(second=0, microsecond=0)
    if isinstance(v, str):
        return normalize(v) or None
    return v


def _changes(old: Mapping[str, Any], want: Mapping[str, Any]) -> Row:
    return {k: v for k, v in want.items() if _cmp(old.get(k)) != _cmp(v)}


def _apply(
    ws: Workspace,
    rows: Mapping[str, Row],
    scans: dict[str, _Scan],
    settings: Settings,
    now: datetime,
    *,
    recheck: bool,
) -> tuple[dict[str, FollowUpStatus], dict[str, Row], dict[str, Row], list[Problem]]:
    statuses: dict[str, FollowUpStatus] = {}
    merged: dict[str, Row] = {}
    updates: dict[str, Row] = {}
    problems: list[Problem] = []
    for no, row in rows.items():
        scan = scans.get(no)
        if recheck:
            scan = _fresh(ws, no, row, scan, now)
            if scan is not None:
                scans[no] = scan
        if scan is not None:
            problems.extend(scan.problems)
        status, want = _assess(row, scan, settings, now)
        statuses[no] = status
        merged[no] = {**row, **want}
        diff = _changes(row, want)
        if diff:
            updates[no] = diff
    return statuses, merged, updates, problems


def _register_problems(
    ws: Workspace, excel_rows: Mapping[str, int], rows: Mapping[str, Row]
) -> list[Problem]:
    """Unreadable dates typed into the register's own follow-up columns."""
    out: list[Problem] = []
    keys = CUSTOMERS.keys
    for no, row in rows.items():
        for key in ("first_contact", "last_followup", "next_due"):
            v = row.get(key)
            if v is None or isinstance(v, datetime):
                continue
            try:
                to_moment(v)
            except ValueError as e:
                r = excel_rows.get(no)
                out.append(
                    Problem(
                        "type-error",
                        f"تاریخ «{v}» خوانا نیست: {getattr(e, 'fa', e)}",
                        f"date '{v}' cannot be read: {getattr(e, 'en', e)}",
                        no,
                        file=ws.register_path.name,
                        sheet=CUSTOMERS.sheet,
                        cell=f"{get_column_letter(keys.index(key) + 1)}{r}" if r else None,
                        field=key,
                        severity="error",
                    )
                )
    return out


def _keyed(rows: list[tuple[int, Row]]) -> tuple[dict[str, Row], dict[str, int]]:
    by_no: dict[str, Row] = {}
    excel: dict[str, int] = {}
    for r, row in rows:
        no = _s(row.get("customer_no"))
        if no and no not in by_no:
            by_no[no] = row
            excel[no] = r
    return by_no, excel


def evaluate_workspace(
    ws: Workspace, now: datetime | None = None, *, read_forms: bool = True
) -> Evaluation:
    """Every customer's state at ``now`` from the register and (by default) the forms; read-only."""
    now = now or now_tehran()
    settings = ws.settings
    rows, excel = _keyed(_read_register_rows(ws))
    scans = scan_forms(ws, rows, now, _Index(ws)) if read_forms else {}  # index only read
    statuses, merged, _, problems = _apply(ws, rows, scans, settings, now, recheck=False)
    problems = _register_problems(ws, excel, rows) + problems
    forms = sum(1 for s in scans.values() if s.facts is not None)
    facts = {no: s.facts for no, s in scans.items()}
    return Evaluation(now, settings, merged, statuses, problems, forms, _case_counts(ws), facts)


def _case_counts(ws: Workspace) -> dict[str, int]:
    out: Counter[str] = Counter()
    for _, c in read_table_fast(ws.register_path, F_31_08_02, CASES.name):
        if is_void(c.get("record_status")):
            continue  # a cancelled case still shows the customer reached a sale
        out[_s(c.get("customer_no"))] += 1
    return dict(out)


@dataclass
class RefreshDecision:
    """What a refresh decided: the register plan and the states behind it."""

    plan: Plan
    statuses: dict[str, FollowUpStatus]
    updates: dict[str, Row]
    problems: list[Problem]
    counts: dict[str, int]
    rows: dict[str, Row] = field(default_factory=dict)  # register rows with the refreshed values


def refresh_plan(
    ws: Workspace,
    customers: Mapping[str, Row],
    scans: dict[str, _Scan],
    now: datetime,
    who: decide.Actor,
    *,
    recheck: bool,
) -> RefreshDecision:
    """The state columns to write and the log entry: one decision for the CLI and the button."""
    statuses, merged, updates, problems = _apply(
        ws, customers, scans, ws.settings, now, recheck=recheck
    )
    plan = Plan("refresh")
    for no, values in updates.items():
        plan.register.append(UpdateRow(CUSTOMERS.name, no, values))
    tally = Counter(s.state.value for s in statuses.values())
    counts = {st.value: tally.get(st.value, 0) for st in FollowUpState}
    details = {
        "as_of": now.isoformat(),
        "counts": counts,
        "changed": len(updates),
        "problems": len(problems),
    }
    plan.register.append(AppendRow(LOG.name, decide.log_row(who, "refresh", [], details)))
    plan.result = details
    plan.message_fa = (
        f"وضعیت پیگیری {len(statuses)} مشتری به‌روز شد ({len(updates)} تغییر، {len(problems)} مشکل)"
    )
    plan.message_en = (
        f"follow-up state of {len(statuses)} customers refreshed "
        f"({len(updates)} changed, {len(problems)} problems)"
    )
    return RefreshDecision(plan, statuses, updates, problems, counts, merged)


def refresh(
    ws: Workspace, now: datetime | None = None, *, runner: store.Runner = store.run
) -> RefreshResult:
    """Re-read the forms, recompute every state, write what changed into the register.

    ``runner`` writes the decision (the file by default; an Excel button's live workbook).
    """
    started = _time.perf_counter()
    when = now or now_tehran()
    pre_rows, excel = _keyed(_read_register_rows(ws))
    index = _Index(ws)
    scans = scan_forms(ws, pre_rows, when, index)
    out: dict[str, Any] = {}

    def keep(d: RefreshDecision) -> None:
        out.update(
            statuses=d.statuses,
            updates=d.updates,
            problems=d.problems,
            counts=d.counts,
            rows=d.rows,
        )

    def plan_of(reg: decide.Register) -> Plan:
        # The register read under the lock is the truth; forms changed since the scan are re-read.
        d = refresh_plan(ws, reg.customers, scans, when, store.actor(), recheck=True)
        keep(d)
        return d.plan

    # Decided first on the calamine read: when no state moved, nothing is locked or written
    # (no log entry, no backup), so the daily refresh leaves every file as it was. A change
    # made meanwhile is the next refresh's; the result is this read's truth. An operation
    # left half-done (a journal) still goes through the lock, which completes it first.
    keep(first := refresh_plan(ws, pre_rows, scans, when, store.actor(), recheck=False))
    if first.updates or journal.journals(ws.root):
        runner(ws, plan_of, now=None)
    index.save()
    problems: list[Problem] = _register_problems(ws, excel, pre_rows) + out["problems"]
    missing = missing_state_formatting(ws.register_path)
    if missing:
        problems.append(
            Problem(
                "missing-formatting",
                "قالب‌بندی شرطی وضعیت پیگیری در برگه مشتریان نیست: " + "، ".join(missing),
                "conditional formatting of follow-up states missing on the Customers sheet: "
                + ", ".join(missing),
                file=ws.register_path.name,
                sheet=CUSTOMERS.sheet,
            )
        )
    statuses = out["statuses"]
    forms = sum(1 for s in scans.values() if s.facts is not None)
    feeds = None
    feed_settings = ws.settings.calendar
    if feed_settings is not None and feed_settings.on_refresh:
        from crm_xl.ops import calendar  # icalendar is loaded only when feeds are wanted

        ev = Evaluation(
            when,
            ws.settings,
            out["rows"],
            statuses,
            [],
            forms,
            facts={no: s.facts for no, s in scans.items()},
        )
        try:
            feeds = calendar.write_feeds(ws, ev, calendar.feed_dir(ws), overwrite=True).as_dict()
        except CrmError as e:  # the register is written; a feed that failed is reported
            problems.append(
                Problem(
                    e.code,
                    f"تقویم کارشناسان به‌روز نشد: {e.fa}",
                    f"calendar feeds not regenerated: {e.en}",
                    file=e.location.file,
                    severity="error",
                )
            )
    return RefreshResult(
        when,
        out["counts"],
        sorted(out["updates"]),
        problems,
        [statuses[k] for k in sorted(statuses)],
        forms,
        _time.perf_counter() - started,
        missing,
        feeds,
    )


# --- checking the register's row colours ---------------------------------------------------------

_CF_RE = re.compile(rb"<(?:\w+:)?conditionalFormatting\b.*?</(?:\w+:)?conditionalFormatting>", re.S)


def missing_state_formatting(register: Path) -> list[str]:
    """States (overdue, due today, stalled) with no conditional format on the Customers sheet."""
    try:
        with zipfile.ZipFile(register) as zf:
            sheet_xml = ooxml.sheet_part(
                ooxml.zip_reader(set(zf.namelist()), zf.read), CUSTOMERS.sheet
            )
            data = zf.read(sheet_xml) if sheet_xml else b""
    except (OSError, zipfile.BadZipFile, KeyError):
        return [s.value for s in STATE_FILLS]
    blocks = b"".join(_CF_RE.findall(data)).decode("utf-8", "replace")
    blocks = blocks.replace("&quot;", '"')
    return [s.value for s in STATE_FILLS if f'"{s.fa}"' not in blocks]
