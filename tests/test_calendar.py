"""Calendar feeds per expert (issue 18, acceptance 3): real workspaces, real .ics files parsed
back with ``icalendar``."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path

import icalendar
import jdatetime
import openpyxl
import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.schema import FIRST_DATA_ROW, FOLLOWUPS, KEY_ROW
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store
from crm_xl.ops.calendar import CANCELLED_DAYS, write_feeds
from crm_xl.ops.refresh import evaluate_workspace, refresh

ALI, MARYAM = "علی رضایی", "مریم احمدی"


def jt(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(jdatetime.date(y, m, d).togregorian(), time(hour, minute), TEHRAN)


NOW = jt(1405, 2, 1, 9)  # Tuesday 1405/02/01 09:00


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """C-00001 (Ali): called, proforma planned for 1405/02/05 10:00, 45 minutes.
    C-00002 (Maryam): registered today, no call yet: the 24-hour call is planned.
    C-00003 (Ali): called, nothing planned: no event."""
    ws = init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[ALI, MARYAM])
    for name, expert, when, mobile in (
        ("رضا کریمی", ALI, jt(1405, 1, 25, 10), "09121234567"),
        ("شرکت پتروشیمی نوین", MARYAM, jt(1405, 2, 1, 8), "09127654321"),
        ("امیر جعفری", ALI, jt(1405, 1, 26, 10), "09351112233"),
    ):
        store.add_customer(
            ws,
            decide.NewCustomer(
                need="پمپ",
                name=name,
                person_type="natural",
                channel="phone",
                expert=expert,
                mobile=mobile,
                at=when,
            ),
            now=when,
        )
    store.add_followup(
        ws,
        decide.NewFollowUp(
            customer_no="C-00001",
            type="phone",
            note="قیمت خواست",
            at=jt(1405, 1, 26, 11),
            next_action="ارسال پیش‌فاکتور",
            next_due=jt(1405, 2, 5, 10),
            next_type="email",
            next_minutes=45,
        ),
        now=jt(1405, 1, 26, 11),
    )
    store.add_followup(
        ws,
        decide.NewFollowUp(customer_no="C-00003", type="phone", note="تماس", at=jt(1405, 1, 27, 9)),
        now=jt(1405, 1, 27, 9),
    )
    return ws


def feeds(ws: Workspace, out: Path, now: datetime = NOW, **kw: object) -> dict[str, Path]:
    return write_feeds(ws, evaluate_workspace(ws, now), out, overwrite=True, **kw).files  # type: ignore[arg-type]


def events(path: Path) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def by_customer(path: Path, no: str) -> list[icalendar.Event]:
    return [e for e in events(path).values() if no in str(e["SUMMARY"])]


def form_path(ws: Workspace, no: str) -> Path:
    (path,) = ws.customers_dir.glob(f"{no} - */*.xlsx")
    return path


def edit_followup(path: Path, row_no: int, key: str, value: object) -> None:
    """Change one cell of a follow-up row, as a salesperson would in Excel."""
    wb = openpyxl.load_workbook(path)
    sheet = wb[FOLLOWUPS.sheet]
    cols = {c.value: c.column for c in sheet[KEY_ROW] if isinstance(c.value, str)}
    r = FIRST_DATA_ROW
    while sheet.cell(r, cols["row_no"]).value != row_no:
        r += 1
    sheet.cell(r, cols[key]).value = value
    wb.save(path)


def test_each_planned_action_is_one_event_with_an_alarm(ws: Workspace, tmp_path: Path) -> None:
    files = feeds(ws, tmp_path / "cal")
    assert set(files) == {ALI, MARYAM}
    assert files[ALI].name == f"{ALI}.ics"

    cal = icalendar.Calendar.from_ical(files[ALI].read_bytes())
    assert str(cal["METHOD"]) == "PUBLISH" and ALI in str(cal["X-WR-CALNAME"])
    assert [str(t["TZID"]) for t in cal.walk("VTIMEZONE")] == ["Asia/Tehran"]
    (ev,) = cal.walk("VEVENT")  # C-00003 planned nothing: no event
    assert str(ev["SUMMARY"]) == "ارسال پیش‌فاکتور — C-00001 رضا کریمی"
    text = str(ev["DESCRIPTION"])
    assert "C-00001" in text and "رضا کریمی" in text and "ارسال ایمیل" in text
    assert "1405/02/05 ساعت 10:00" in text and "09121234567" in text
    start = ev.decoded("DTSTART")
    assert start == jt(1405, 2, 5, 10) and str(start.tzinfo) == "Asia/Tehran"
    assert ev.decoded("DTEND") - start == timedelta(minutes=45)
    assert str(ev["STATUS"]) == "CONFIRMED" and ev["SEQUENCE"] == 0
    (alarm,) = ev.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-15)

    # Maryam's new customer: the 24-hour call after first contact (1405/02/01 08:00).
    (call,) = icalendar.Calendar.from_ical(files[MARYAM].read_bytes()).walk("VEVENT")
    assert call.decoded("DTSTART") == jt(1405, 2, 2, 8)
    assert "پیگیری ۲۴ ساعته" in str(call["SUMMARY"]) and "C-00002" in str(call["SUMMARY"])
    assert call.walk("VALARM")


def test_regeneration_keeps_uids_and_bytes(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "cal"
    first = {o: p.read_bytes() for o, p in feeds(ws, out).items()}
    uids = {o: set(events(out / f"{o}.ics")) for o in first}
    later = NOW + timedelta(hours=3)  # time passes, nothing changes
    second = {o: p.read_bytes() for o, p in feeds(ws, out, later).items()}
    assert {o: set(events(out / f"{o}.ics")) for o in second} == uids
    assert second == first  # same DTSTAMP and SEQUENCE: clients see no change


def test_reschedule_raises_sequence_and_done_action_is_cancelled(
    ws: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "cal"
    feeds(ws, out)
    (uid,) = events(out / f"{ALI}.ics")

    # The salesperson moves the due date in the form in Excel: same event, SEQUENCE 1.
    edit_followup(form_path(ws, "C-00001"), 1, "next_due", "1405/02/08 11:30")
    feeds(ws, out, NOW + timedelta(minutes=5))
    moved = events(out / f"{ALI}.ics")
    assert set(moved) == {uid}
    assert moved[uid]["SEQUENCE"] == 1
    assert moved[uid].decoded("DTSTART") == jt(1405, 2, 8, 11, 30)
    assert moved[uid].decoded("DTSTAMP") == (NOW + timedelta(minutes=5)).astimezone(
        moved[uid].decoded("DTSTAMP").tzinfo
    )

    # The proforma is sent and logged with the next step: the old action is done (cancelled,
    # SEQUENCE 2, no alarm), the new one is a new event.
    store.add_followup(
        ws,
        decide.NewFollowUp(
            customer_no="C-00001",
            type="email",
            note="پیش‌فاکتور ارسال شد",
            at=jt(1405, 2, 1, 10),
            next_action="پیگیری پاسخ پیش‌فاکتور",
            next_due=jt(1405, 2, 12, 10),
        ),
        now=jt(1405, 2, 1, 10),
    )
    feeds(ws, out, jt(1405, 2, 1, 11))
    now_events = events(out / f"{ALI}.ics")
    assert str(now_events[uid]["STATUS"]) == "CANCELLED" and now_events[uid]["SEQUENCE"] == 2
    assert not now_events[uid].walk("VALARM")
    (new,) = [e for u, e in now_events.items() if u != uid]
    assert str(new["STATUS"]) == "CONFIRMED" and new["SEQUENCE"] == 0
    assert "پیگیری پاسخ پیش‌فاکتور" in str(new["SUMMARY"])

    # A cancelled event stays long enough for every client to see it, then leaves the feed.
    feeds(ws, out, jt(1405, 2, 1, 11) + timedelta(days=CANCELLED_DAYS + 1))
    assert uid not in events(out / f"{ALI}.ics")


def test_closed_customer_and_first_call_done(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "cal"
    feeds(ws, out)
    ((call_uid, _),) = events(out / f"{MARYAM}.ics").items()
    store.add_followup(
        ws,
        decide.NewFollowUp(customer_no="C-00002", type="phone", note="تماس", at=jt(1405, 2, 1, 9)),
        now=jt(1405, 2, 1, 9),
    )
    store.close_customer(ws, "C-00001", lost=True, now=jt(1405, 2, 1, 9, 30))
    feeds(ws, out, jt(1405, 2, 1, 10))
    assert [str(e["STATUS"]) for e in events(out / f"{MARYAM}.ics").values()] == ["CANCELLED"]
    assert call_uid in events(out / f"{MARYAM}.ics")
    assert [str(e["STATUS"]) for e in by_customer(out / f"{ALI}.ics", "C-00001")] == ["CANCELLED"]


def test_unreadable_form_cancels_nothing(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "cal"
    feeds(ws, out)
    before = events(out / f"{ALI}.ics")
    form_path(ws, "C-00001").write_bytes(b"not a workbook")
    result = write_feeds(ws, evaluate_workspace(ws, NOW), out, overwrite=True)
    assert result.skipped_customers == ["C-00001"]
    after = events(out / f"{ALI}.ics")
    assert set(after) == set(before)
    assert all(str(e["STATUS"]) == "CONFIRMED" and e["SEQUENCE"] == 0 for e in after.values())


def test_reassigned_action_moves_to_the_new_owner(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "cal"
    feeds(ws, out)
    edit_followup(form_path(ws, "C-00001"), 1, "next_owner", MARYAM)
    feeds(ws, out, NOW + timedelta(minutes=1))
    (old,) = by_customer(out / f"{ALI}.ics", "C-00001")
    (new,) = by_customer(out / f"{MARYAM}.ics", "C-00001")
    assert str(old["STATUS"]) == "CANCELLED" and str(new["STATUS"]) == "CONFIRMED"
    assert str(old["UID"]) != str(new["UID"])


# --- the command -------------------------------------------------------------------------------


def test_cli_writes_refuses_and_forces(ws: Workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "feeds"
    base = ["-w", str(ws.root), "--json", "calendar", "--at", "1405/02/01 09:00", "--out", str(out)]
    res = runner.invoke(main, base)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["events"] == 2 and set(data["files"]) == {ALI, MARYAM}
    uids = {o: set(events(Path(p))) for o, p in data["files"].items()}

    res = runner.invoke(main, base)  # the feeds exist: refused, nothing written
    assert res.exit_code == 1
    assert json.loads(res.output)["error"]["code"] == "output-exists"

    res = runner.invoke(main, [*base, "--force"])
    assert res.exit_code == 0, res.output
    assert {o: set(events(Path(p))) for o, p in json.loads(res.output)["files"].items()} == uids

    one = tmp_path / "ali.ics"
    res = runner.invoke(
        main,
        ["-w", str(ws.root), "calendar", "--expert", ALI, "--out", str(one), "--at", "1405/02/01"],
    )
    assert res.exit_code == 0, res.output
    assert set(events(one)) == uids[ALI]

    res = runner.invoke(
        main, ["-w", str(ws.root), "calendar", "--expert", "کسی", "--out", str(out)]
    )
    assert res.exit_code == 1 and "Traceback" not in res.output and "کسی" in res.output

    # A workspace record is never a feed: not a .ics file, and not a folder to write into.
    register = ws.register_path
    before = register.read_bytes()
    for extra in ([], ["--expert", ALI]):
        res = runner.invoke(
            main, ["-w", str(ws.root), "--json", "calendar", *extra, "--out", str(register)]
        )
        assert res.exit_code == 1, res.output
        assert json.loads(res.output)["error"]["code"] == "not-a-folder"
    assert register.read_bytes() == before


def test_refresh_regenerates_feeds_when_settings_ask(ws: Workspace) -> None:
    path = ws.root / "settings.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["calendar"] = {"dir": "feeds", "on_refresh": True, "alarm_minutes": 30}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    ws = Workspace.open(ws.root)
    result = refresh(ws, NOW)
    assert result.calendar is not None and result.calendar["events"] == 2
    feed = ws.root / "feeds" / f"{ALI}.ics"
    ((uid, ev),) = events(feed).items()
    assert ev.walk("VALARM")[0].decoded("TRIGGER") == timedelta(minutes=-30)
    edit_followup(form_path(ws, "C-00001"), 1, "next_due", "1405/02/09 10:00")
    refresh(ws, NOW + timedelta(hours=1))
    assert events(feed)[uid]["SEQUENCE"] == 1  # overwritten in place, same event


def test_refresh_writes_no_feeds_by_default(ws: Workspace) -> None:
    assert refresh(ws, NOW).calendar is None
    assert not (ws.root / "calendar").exists()


def test_damaged_state_keeps_uids(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "cal"
    feeds(ws, out)
    uids = set(events(out / f"{ALI}.ics"))
    (ws.internal_dir / "calendar-state.json").write_text("{not json", encoding="utf-8")
    feeds(ws, out, NOW + timedelta(hours=1))
    assert set(events(out / f"{ALI}.ics")) == uids
    state = json.loads((ws.internal_dir / "calendar-state.json").read_text(encoding="utf-8"))
    assert set(state["events"]) >= uids  # rewritten whole
