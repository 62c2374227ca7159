"""``refresh`` on a real workspace: a follow-up typed straight into F-31-08-01 is picked up."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from helpers_cli import Cli
from helpers_workspace import EXPERTS, cell_ref, form_path, rows, rows_by_key, set_cells

from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import FollowUpState, Stage
from crm_xl.domain.schema import CUSTOMERS, FIRST_DATA_ROW, FOLLOWUPS, LOG
from crm_xl.io.layout import STATE_FILLS
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.ops.refresh import missing_state_formatting, refresh


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 10, day, hour, minute, tzinfo=TEHRAN)  # 2 Oct 2024 is a Wednesday


def customers(ws: Workspace) -> dict[str, dict[str, object]]:
    return rows_by_key(ws, CUSTOMERS)


def type_row(path: Any, values: dict[str, Any]) -> int:
    """Write a follow-up row as Excel saves what a salesperson typed (text cells); its row."""
    r = FIRST_DATA_ROW + len(FormBook.open(path).read_table(FOLLOWUPS.name))
    set_cells(path, FOLLOWUPS, r, values)
    return r


@pytest.fixture
def ws(ws: Workspace) -> Workspace:
    """Two customers (Wed 10:00 and 11:00); C-00002 followed up Thu with an action for Sun."""
    store.add_customer(
        ws,
        decide.NewCustomer(
            need="پمپ",
            name="رضا کریمی",
            person_type="natural",
            channel="phone",
            expert=EXPERTS[0],
            at=at(2, 10),
        ),
        now=at(2, 10),
    )
    store.add_customer(
        ws,
        decide.NewCustomer(
            need="پمپ",
            name="شرکت نوین",
            person_type="legal",
            channel="email",
            expert=EXPERTS[1],
            at=at(2, 11),
        ),
        now=at(2, 11),
    )
    store.add_followup(
        ws,
        decide.NewFollowUp(
            customer_no="C-00002",
            type="phone",
            note="تماس اول",
            at=at(3, 9),
            next_action="ارسال کاتالوگ",
            next_due=at(6, 10),
        ),
        now=at(3, 9),
    )
    return ws


def test_typed_followup_is_picked_up(ws: Workspace) -> None:
    # Thursday 11:00: the 24 h call to C-00001 (first contact Wed 10:00) is an hour late.
    first = refresh(ws, at(3, 11))
    assert first.counts[FollowUpState.OVERDUE.value] == 1
    assert first.counts[FollowUpState.ON_TIME.value] == 1
    row = customers(ws)["C-00001"]
    assert row["followup_state"] == FollowUpState.OVERDUE.fa
    assert "معوق" in str(row["state_reason"]) and "1 ساعت تأخیر" in str(row["state_reason"])

    # The salesperson calls at 11:30 and types it into the form in Excel: Jalali text dates
    # with Persian digits, the type in words, a next action for Saturday with its owner.
    path = form_path(ws, "C-00001")
    type_row(
        path,
        {
            "row_no": 1,
            "at": "۱۴۰۳/۰۷/۱۲ ۱۱:۳۰",
            "type": "تماس تلفنی",
            "expert": EXPERTS[0],
            "description": "قیمت خواست",
            "next_action": "ارسال پیش‌فاکتور",
            "next_owner": EXPERTS[1],
            "next_due": "۱۴۰۳/۰۷/۱۴ ۱۰:۰۰",
        },
    )
    bad_row = type_row(path, {"row_no": 2, "at": "۱۴۰۳/۱۳/۰۲", "type": "تماس تلفنی"})

    result = refresh(ws, at(3, 12))
    row = customers(ws)["C-00001"]
    assert row["last_followup"] == datetime(2024, 10, 3, 11, 30)
    assert row["next_due"] == datetime(2024, 10, 5, 10, 0)
    assert row["next_action"] == "ارسال پیش‌فاکتور"
    assert row["next_owner"] == EXPERTS[1]
    assert row["followup_state"] == FollowUpState.ON_TIME.fa
    assert result.changed == ["C-00001"]
    assert result.counts[FollowUpState.ON_TIME.value] == 2

    (problem,) = result.problems
    assert problem.customer_no == "C-00001"
    assert problem.file and problem.file.endswith(path.name)
    assert problem.sheet == FOLLOWUPS.sheet
    assert problem.cell == cell_ref(path, FOLLOWUPS, bad_row, "at")  # the typed row's date
    assert "skipped" in problem.en and "ردیف" in problem.fa

    # Saturday 12:00: the typed action is two hours late, in the register too.
    refresh(ws, at(5, 12))
    assert customers(ws)["C-00001"]["followup_state"] == FollowUpState.OVERDUE.fa


def _files(root: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def test_only_changed_rows_written_and_logged(ws: Workspace) -> None:
    first = refresh(ws, at(3, 11))
    assert first.changed  # states written through the store: logged and backed up
    log = [r for r in rows(ws, LOG) if r["operation"] == "refresh"]
    assert len(log) == 1
    details = json.loads(str(log[-1]["details"]))
    assert details["changed"] == len(first.changed) and details["counts"]["overdue"] == 1
    assert list(ws.backups_dir.iterdir())
    before = _files(ws.root)
    again = refresh(ws, at(3, 11, 30))
    assert again.changed == []  # nothing moved in half an hour
    assert again.counts == first.counts and again.forms_read == first.forms_read
    # Nothing written at all: every file keeps its bytes and its modification time.
    assert _files(ws.root) == before


def test_final_and_stage_changes(ws: Workspace) -> None:
    store.close_customer(ws, "C-00001", lost=True, now=at(3, 12))
    result = refresh(ws, at(20, 10))
    rows = customers(ws)
    assert result.counts[FollowUpState.FINAL.value] == 1  # lost and archived: not read
    assert rows["C-00001"]["followup_state"] == FollowUpState.FINAL.fa
    # C-00002: action due Sun 6 Oct; on the 20th it is overdue (and silent for 17 days).
    assert rows["C-00002"]["followup_state"] == FollowUpState.OVERDUE.fa
    assert rows["C-00002"]["stage"] == Stage.FOLLOW_UP.fa


def test_conditional_formatting_survives_refresh(ws: Workspace) -> None:
    refresh(ws, at(3, 11))
    assert missing_state_formatting(ws.register_path) == []
    wb = openpyxl.load_workbook(ws.register_path)
    fills = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for cf in wb[CUSTOMERS.sheet].conditional_formatting
        for rule in cf.rules
        if rule.formula
    }
    for state in (
        FollowUpState.OVERDUE,
        FollowUpState.DUE_TODAY,
        FollowUpState.STALLED,
        FollowUpState.NO_NEXT_ACTION,
    ):
        (color,) = [c for f, c in fills.items() if f'"{state.fa}"' in f]
        assert str(color).endswith(STATE_FILLS[state].lstrip("#")), state
    assert len(set(fills.values())) == len(fills)  # each state its own colour


def test_broken_form_is_a_problem_not_a_crash(ws: Workspace) -> None:
    form_path(ws, "C-00002").write_bytes(b"not a workbook")
    result = refresh(ws, at(3, 11))
    (problem,) = result.problems
    assert problem.customer_no == "C-00002" and problem.severity == "error"
    # The register's own values are used for that customer.
    assert customers(ws)["C-00002"]["followup_state"] == FollowUpState.ON_TIME.fa


def test_refresh_cli(ws: Workspace, cli: Cli) -> None:
    out = cli(ws, "refresh", "--at", "1403/07/12 11:00")
    assert out.exit_code == 0, out.output
    assert "معوق / Overdue: 1" in out.output
    out = cli(ws, "refresh", "--at", "2024-10-03T11:00", json=True)
    assert out.exit_code == 0, out.output
    assert out.data["counts"]["overdue"] == 1 and out.data["problems"] == []
    out = cli(ws, "refresh", "--at", "1403/13/01")
    assert out.exit_code != 0 and "Traceback" not in out.output


# --- no planned next action (issue 18, acceptance 1) -------------------------------------------


def test_no_planned_next_action_in_register_and_overdue_json(ws: Workspace) -> None:
    """A customer whose last follow-up planned nothing is "no-next-action" in the register and
    in ``overdue --json``; one whose last follow-up planned an action is not."""
    from crm_xl.cli.main import main

    store.add_followup(
        ws,
        decide.NewFollowUp(
            customer_no="C-00001", type="phone", note="فعلاً نیازی ندارد", at=at(3, 9)
        ),
        now=at(3, 9),
    )
    result = refresh(ws, at(3, 12))
    rows = customers(ws)
    assert rows["C-00001"]["followup_state"] == FollowUpState.NO_NEXT_ACTION.fa
    assert "برنامه‌ریزی نشده" in str(rows["C-00001"]["state_reason"])
    assert rows["C-00001"]["next_due"] is None and rows["C-00001"]["next_action"] is None
    assert rows["C-00002"]["followup_state"] == FollowUpState.ON_TIME.fa  # action planned
    assert result.counts["no-next-action"] == 1

    out = CliRunner().invoke(
        main, ["-w", str(ws.root), "--json", "overdue", "--at", "1403/07/12 12:00"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    states = {t["customer_no"]: t["state"] for ts in data["tasks"].values() for t in ts}
    assert states == {"C-00001": "no-next-action", "C-00002": "on_time"}
    counts = {s["state"]: s["count"] for s in data["by_state"]}
    assert counts["no-next-action"] == 1 and counts["on_time"] == 1
    ali = next(e for e in data["by_expert"] if e["expert"] == EXPERTS[0])
    assert ali["no-next-action"] == 1

    # Planning the next call takes the customer off the list.
    store.add_followup(
        ws,
        decide.NewFollowUp(
            customer_no="C-00001",
            type="phone",
            note="دوباره تماس گرفت",
            at=at(3, 12),
            next_action="تماس پس از جلسه",
            next_due=at(7, 10),
        ),
        now=at(3, 12),
    )
    refresh(ws, at(3, 13))
    assert customers(ws)["C-00001"]["followup_state"] == FollowUpState.ON_TIME.fa


def test_no_next_action_listed_before_on_time(ws: Workspace) -> None:
    """In an expert's task list the customer nobody plans to touch comes before on-time work,
    even when the on-time call is due sooner."""
    from crm_xl.ops.refresh import evaluate_workspace
    from crm_xl.ops.tasks import build_tasks, overview

    store.add_followup(
        ws,
        decide.NewFollowUp(customer_no="C-00001", type="phone", note="تماس", at=at(3, 9)),
        now=at(3, 9),
    )
    store.add_customer(
        ws,
        decide.NewCustomer(
            need="پمپ",
            name="زهرا موسوی",
            person_type="natural",
            channel="phone",
            expert=EXPERTS[0],
            at=at(5, 9),
        ),
        now=at(5, 9),
    )
    now = at(5, 10)  # C-00003's 24 h call is due tomorrow 09:00, C-00001 stalls on the 10th
    tasks = build_tasks(evaluate_workspace(ws, now))[EXPERTS[0]]
    assert [(t.customer_no, t.state) for t in tasks] == [
        ("C-00001", FollowUpState.NO_NEXT_ACTION),
        ("C-00003", FollowUpState.ON_TIME),
    ]
    assert tasks[1].due_at is not None and tasks[0].due_at is not None
    assert tasks[1].due_at < tasks[0].due_at
    assert "برنامه‌ریزی اقدام بعدی" in tasks[0].action
    states = [s["state"] for s in overview(ws, now)["by_state"]]
    assert states.index("no-next-action") < states.index("on_time")
