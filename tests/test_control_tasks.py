"""Task lists (کارتابل), the manager's summary and the task-list workbook."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from helpers_cli import Cli
from helpers_office import pdf_text, to_pdf
from helpers_workspace import COMPANY, copy_workspace, with_settings
from rich.console import Console

from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import FollowUpState
from crm_xl.io.layout import text_lines
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.ops.refresh import evaluate_workspace
from crm_xl.ops.tasks import (
    build_summary,
    build_tasks,
    overview,
    print_overdue,
    safe_sheet_name,
    write_tasks_workbook,
)

EXPERTS = ["علی رضایی", "مریم احمدی", "حسین: فروش/شمال"]  # the last needs a safe sheet name
NOW = datetime(2024, 10, 8, 11, 0, tzinfo=TEHRAN)  # Tuesday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 10, day, hour, minute, tzinfo=TEHRAN)


@pytest.fixture(scope="module")
def ws(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = copy_workspace(pristine, tmp_path_factory.mktemp("tasks") / "ws")
    ws = with_settings(ws, experts=EXPERTS)
    people = [
        ("رضا کریمی", EXPERTS[0], at(2, 10)),  # never called back: overdue since Thu 10:00
        ("شرکت پتروشیمی نوین", EXPERTS[0], at(6, 9)),  # 24 h call due Mon 09:00: overdue
        ("زهرا موسوی", EXPERTS[1], at(8, 9)),  # first contact today: due tomorrow, on time
        ("صنایع فولاد البرز", EXPERTS[1], at(2, 12)),  # followed up, action due today 15:00
        ("امیر جعفری", EXPERTS[2], at(2, 9)),  # followed up Thu, nothing planned: no next action
    ]
    for name, expert, when in people:
        store.add_customer(
            ws,
            decide.NewCustomer(
                need="پمپ",
                name=name,
                person_type="natural",
                channel="phone",
                expert=expert,
                at=when,
            ),
            now=when,
        )
    store.add_followup(
        ws,
        decide.NewFollowUp(
            customer_no="C-00004",
            type="visit",
            note="بازدید",
            at=at(3, 10),
            next_action="ارسال پیش‌فاکتور",
            next_due=at(8, 15),
            result="proposal",
        ),
        now=at(3, 10),
    )
    store.add_followup(
        ws,
        decide.NewFollowUp(customer_no="C-00005", type="phone", note="تماس", at=at(1 + 2, 9)),
        now=at(3, 9),
    )
    return ws


def test_task_lists_sorted_by_due(ws: Workspace) -> None:
    ev = evaluate_workspace(ws, NOW)
    tasks = build_tasks(ev)
    assert list(tasks) == EXPERTS  # every configured expert has a list, in settings order
    ali = tasks[EXPERTS[0]]
    assert [t.customer_no for t in ali] == ["C-00001", "C-00002"]
    assert [t.state for t in ali] == [FollowUpState.OVERDUE, FollowUpState.OVERDUE]
    assert ali[0].due_at == at(3, 10)
    maryam = tasks[EXPERTS[1]]
    assert [(t.customer_no, t.state) for t in maryam] == [
        ("C-00004", FollowUpState.DUE_TODAY),
        ("C-00003", FollowUpState.ON_TIME),
    ]
    assert maryam[0].action == "ارسال پیش‌فاکتور"
    assert tasks[EXPERTS[2]][0].state is FollowUpState.NO_NEXT_ACTION  # touched Thu, no plan


def test_summary_counts_and_funnel(ws: Workspace) -> None:
    data = overview(ws, NOW)
    states = {s["state"]: s["count"] for s in data["by_state"]}
    assert states == {
        "overdue": 2,
        "stalled": 0,
        "due_today": 1,
        "no-next-action": 1,
        "on_time": 1,
        "final": 0,
    }
    by_expert = {e["expert"]: e for e in data["by_expert"]}
    assert by_expert[EXPERTS[0]]["overdue"] == 2 and by_expert[EXPERTS[1]]["open"] == 2
    assert [t["customer_no"] for t in data["oldest_overdue"]] == ["C-00001", "C-00002"]
    funnel = {f["step"]: f["count"] for f in data["funnel"]}
    assert funnel == {"first_contact": 5, "follow_up": 2, "negotiation": 1, "won": 0, "crm_done": 0}
    assert data["as_of_jalali"] == "1403/07/17 11:00"
    json.dumps(data, ensure_ascii=False)  # JSON-ready for --json and the demo

    console = Console(width=100, record=True)
    print_overdue(console, data)
    text = console.export_text()
    assert "C-00001" in text and "1403/07/12 10:00" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_safe_sheet_names() -> None:
    assert safe_sheet_name("حسین: فروش/شمال") == "حسین- فروش-شمال"
    long = "کارشناس فروش با نام بسیار بسیار طولانی شرکت"
    assert len(safe_sheet_name(long)) <= 31
    first = safe_sheet_name(long)
    second = safe_sheet_name(long, [first])
    assert second != first and len(second) <= 31 and second.endswith("(2)")
    assert safe_sheet_name("[*?]") not in ("", "[*?]")
    assert safe_sheet_name("History") != "History"


def _workbook(ws: Workspace, path: Path) -> Path:
    ev = evaluate_workspace(ws, NOW)
    tasks = build_tasks(ev)
    return write_tasks_workbook(path, tasks, build_summary(ev, tasks), NOW)


def test_workbook_layout(ws: Workspace, tmp_path: Path) -> None:
    path = _workbook(ws, tmp_path / "tasks.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["خلاصه مدیر", "علی رضایی", "مریم احمدی", "حسین- فروش-شمال"]
    for sheet in wb.worksheets:
        assert sheet.sheet_view.rightToLeft
        header = [str(c.value) for row in sheet.iter_rows(max_row=3) for c in row if c.value]
        assert COMPANY in header and "کارتابل پیگیری‌ها" in header
        assert any("1403/07/17" in h for h in header)  # the report's date, Jalali
        assert "صفحه &P از &N" in sheet.oddFooter.center.text
    ali = wb["علی رضایی"]
    header = [str(c.value) for row in ali.iter_rows(max_row=3) for c in row if c.value]
    assert "کارتابل پیگیری‌ها — علی رضایی" in header
    assert ali["C5"].value == "1403/07/12 10:00"  # Jalali as text, the only date column
    assert ali.max_column == 10
    assert ali["B5"].font.name == "Tahoma"
    assert ali.print_title_rows == "$1:$4" and int(ali.page_setup.scale or 100) >= 60
    # a row is as tall as its longest wrapped text (the state reason)
    assert (ali.row_dimensions[5].height or 15) >= 13 * text_lines(ali["J5"].value, 46)
    assert len(wb["خلاصه مدیر"]._charts) == 2  # type: ignore[attr-defined]  # overdue, funnel


@pytest.mark.libreoffice
def test_workbook_opens_in_libreoffice(ws: Workspace, tmp_path: Path) -> None:
    path = _workbook(ws, tmp_path / "tasks.xlsx")
    text = pdf_text(to_pdf(path, tmp_path))
    text = re.sub(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", text)  # bidi marks
    assert "علی رضایی" in text
    assert "1403/07/12 10:00" in text  # Jalali date text of the oldest overdue task
    assert "C-00004" in text


def test_overdue_cli(ws: Workspace, tmp_path: Path, cli: Cli) -> None:
    out_xlsx = tmp_path / "out" / "tasks.xlsx"
    res = cli(ws, "overdue", "--at", "1403/07/17 11:00", "--xlsx", str(out_xlsx))
    assert res.exit_code == 0, res.output
    assert "C-00001" in res.output and out_xlsx.exists()
    res = cli(ws, "overdue", "--at", "2024-10-08T11:00", "--expert", EXPERTS[1], json=True)
    assert res.exit_code == 0, res.output
    assert list(res.data["tasks"]) == [EXPERTS[1]]
    assert res.data["tasks"][EXPERTS[1]][0]["due_jalali"] == "1403/07/17 15:00"
    res = cli(ws, "overdue", "--expert", "کسی دیگر")
    assert res.exit_code != 0 and "Traceback" not in res.output


def test_open_complaint_actions_join_the_owners_task_list(pristine: Path, tmp_path: Path) -> None:
    from crm_xl.domain.dates import parse_datetime
    from crm_xl.ops import complaints

    ws = with_settings(
        copy_workspace(pristine, tmp_path / "cw"), experts=["سارا احمدی", "نگار کریمی"]
    )
    first = parse_datetime("1405/08/20 10:00")
    store.add_customer(
        ws,
        decide.NewCustomer(
            need="پمپ",
            name="علی رضایی",
            person_type="natural",
            channel="phone",
            expert="سارا احمدی",
            at=first,
        ),
        now=first,
    )
    no = complaints.add_complaint(
        ws, "C-00001", subject="تاخیر در تحویل", channel="phone", severity="high", now=first
    ).result["complaint_no"]
    complaints.add_action(
        ws, no, action="تماس با انبار", owner="نگار کریمی", due="1405/08/25 10:00", now=first
    )
    view = overview(ws, now=parse_datetime("1405/08/27 10:00"))
    (task,) = view["tasks"]["نگار کریمی"]
    assert task["rule"] == "complaint" and task["state"] == "overdue"
    assert no in task["action"] and task["customer_no"] == "C-00001"
