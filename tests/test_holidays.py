"""Iran's public holidays in follow-up working time (issue 18, acceptance 2).

The holiday table comes from the ``holidays`` package; its Persian-calendar days are checked
here against jdatetime (the toolkit's own Jalali calendar), so a package update that moved
Nowruz would fail loudly rather than shift every deadline.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path

import jdatetime
import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain.dates import TEHRAN, WorkCalendar, iran_public_holidays
from crm_xl.domain.enums import FollowUpState
from crm_xl.domain.errors import WorkspaceError
from crm_xl.domain.followup import FollowUpFacts, Rule, evaluate
from crm_xl.domain.settings import FollowUpRules
from crm_xl.io.settings_file import load_settings
from crm_xl.io.workspace import Workspace, init_workspace

EXPERT = "علی رضایی"


def jt(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(jdatetime.date(y, m, d).togregorian(), time(hour, minute), TEHRAN)


@pytest.mark.parametrize("jy", range(1395, 1416))
def test_fixed_holidays_match_jdatetime(jy: int) -> None:
    """Nowruz 1-4 Farvardin, 12-13 Farvardin, 14-15 Khordad, 22 Bahman, 29 Esfand and 30 Esfand
    of leap years fall where jdatetime puts them, with Persian names."""
    days = {
        (1, 1): "جشن نوروز",
        (1, 2): "عیدنوروز",
        (1, 3): "عیدنوروز",
        (1, 4): "عیدنوروز",
        (1, 12): "روز جمهوری اسلامی",
        (1, 13): "روز طبیعت",
        (3, 14): "رحلت حضرت امام خمینی",
        (3, 15): "قیام 15 خرداد",
        (11, 22): "پیروزی انقلاب اسلامی",
        (12, 29): "روز ملی شدن صنعت نفت ایران",
    }
    if jdatetime.date(jy, 1, 1).isleap():
        days[(12, 30)] = "آخرین روز سال"
    for (m, d), name in days.items():
        g = jdatetime.date(jy, m, d).togregorian()
        assert name in iran_public_holidays(g.year).get(g, ()), (jy, m, d)
    # Nothing extra on an ordinary day: 5 Farvardin is a working day unless a lunar holiday
    # happens to fall on it.
    g = jdatetime.date(jy, 1, 5).togregorian()
    assert all("نوروز" not in n for n in iran_public_holidays(g.year).get(g, ()))


def test_persian_names_are_persian_and_english_ones_english() -> None:
    nowruz = jdatetime.date(1405, 1, 1).togregorian()
    fa = iran_public_holidays(nowruz.year)[nowruz]
    en = iran_public_holidays(nowruz.year, "en")[nowruz]
    assert "جشن نوروز" in fa and all(not n.isascii() for n in fa)
    assert "Nowruz" in en and all(n.isascii() for n in en)


def test_a_lunar_holiday_is_closed() -> None:
    # Ashura 1404 (2025-07-06) per the package: a Sunday, closed.
    ashura = jt(1404, 4, 15).date()
    assert "عاشورای حسینی" in WorkCalendar().holidays(ashura)
    assert WorkCalendar().is_closed(ashura) and not WorkCalendar(public_holidays=False).is_closed(
        ashura
    )


# --- the 24-hour rule across Nowruz --------------------------------------------------------------


ROW = {
    "customer_no": "C-00001",
    "name": "رضا کریمی",
    "expert": EXPERT,
    "stage": "تماس اول",
    "first_contact": jt(1404, 12, 28, 15).replace(tzinfo=None),
    "record_status": "فعال",
}


@pytest.mark.parametrize("mode", ["working", "calendar"])
def test_first_call_after_nowruz_names_the_holiday(mode: str) -> None:
    rules = FollowUpRules(hours_mode=mode)  # type: ignore[arg-type]
    st = evaluate(ROW, FollowUpFacts(), rules, jt(1404, 12, 28, 18))
    assert (st.state, st.rule, st.due_at) == (
        FollowUpState.ON_TIME,
        Rule.FIRST_24H,
        jt(1405, 1, 5, 15),
    )
    assert "جشن نوروز" in st.reason_fa and "عیدنوروز" in st.reason_fa
    assert "Nowruz" in st.reason_en
    # The same day one hour late: overdue, counted in working hours only.
    late = evaluate(ROW, FollowUpFacts(), rules, jt(1405, 1, 5, 16))
    assert late.state is FollowUpState.OVERDUE and late.late_hours == 1
    assert "جشن نوروز" in late.reason_fa


def test_a_week_without_holidays_does_not_mention_any() -> None:
    row = {**ROW, "first_contact": jt(1404, 8, 5, 10).replace(tzinfo=None)}  # a Monday in Aban
    st = evaluate(row, FollowUpFacts(), FollowUpRules(hours_mode="working"), jt(1404, 8, 5, 12))
    assert st.due_at == jt(1404, 8, 6, 10)
    assert "تعطیل" not in st.reason_fa and "holiday" not in st.reason_en


def test_next_action_typed_on_a_holiday_rolls_and_says_why() -> None:
    facts = FollowUpFacts(jt(1404, 12, 27, 10), jt(1405, 1, 2, 11), "ارسال پیش‌فاکتور", EXPERT, 1)
    row = {**ROW, "stage": "در حال پیگیری"}
    st = evaluate(row, facts, FollowUpRules(stalled_days=30), jt(1404, 12, 28, 12))
    assert (st.rule, st.due_at) == (Rule.NEXT_ACTION, jt(1405, 1, 5, 11))
    assert "عیدنوروز" in st.reason_fa


def test_company_closing_day_from_settings() -> None:
    rules = FollowUpRules(hours_mode="working", closed_days=["1405/01/05 انبارگردانی"])
    st = evaluate(ROW, FollowUpFacts(), rules, jt(1404, 12, 28, 18))
    assert st.due_at == jt(1405, 1, 6, 15)
    assert "انبارگردانی" in st.reason_fa and "جشن نوروز" in st.reason_fa


def test_bad_closing_day_in_settings_is_named(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", experts=[EXPERT])
    path = ws.root / "settings.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["followup"]["closed_days"] = ["1405/01/05", "1405/13/01"]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(WorkspaceError) as e:
        load_settings(ws.root)
    assert e.value.code == "bad-settings"
    assert e.value.location.field == "followup.closed_days"
    assert "13" in e.value.en and "13" in e.value.fa


# --- end to end: a customer registered the afternoon before Nowruz --------------------------------


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[EXPERT])
    path = ws.root / "settings.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["followup"]["hours_mode"] = "working"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return ws


def test_cli_first_followup_due_after_nowruz(ws: Workspace) -> None:
    runner = CliRunner()
    args = ["-w", str(ws.root), "--json"]
    out = runner.invoke(
        main,
        [
            *args,
            "customer",
            "add",
            "--name",
            "رضا کریمی",
            "--type",
            "natural",
            "--channel",
            "phone",
            "--expert",
            EXPERT,
            "--at",
            "1404/12/28 15:00",
            "--need",
            "پمپ",
        ],
    )
    assert out.exit_code == 0, out.output
    assert datetime.fromisoformat(json.loads(out.output)["next_due"]) == jt(1405, 1, 5, 15)

    out = runner.invoke(main, [*args, "overdue", "--at", "1404/12/29 10:00"])
    assert out.exit_code == 0, out.output
    (task,) = json.loads(out.output)["tasks"][EXPERT]
    assert task["due_jalali"] == "1405/01/05 15:00"
    assert task["state"] == "on_time"
    assert "جشن نوروز" in task["reason_fa"] and "عیدنوروز" in task["reason_fa"]

    out = runner.invoke(main, [*args, "refresh", "--at", "1404/12/29 10:00"])
    assert out.exit_code == 0, out.output
    (status,) = json.loads(out.output)["statuses"]
    assert status["due_jalali"] == "1405/01/05 15:00" and "جشن نوروز" in status["reason_fa"]
