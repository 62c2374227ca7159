"""Complaints (ISO 10002/10003): numbering, lifecycle guards, open actions, report."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import InputError
from crm_xl.io.workbook import read_table_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops import complaints, store
from crm_xl.ops.books import COMPLAINT_ACTIONS, COMPLAINTS, COMPLAINTS_FORM, ComplaintStatus

NOW = dt.datetime(2025, 5, 1, 10, 0, tzinfo=TEHRAN)
S = ComplaintStatus


@pytest.fixture
def ws(ws: Workspace) -> Workspace:
    """The shared workspace with one customer, C-00001."""
    inp = decide.NewCustomer(
        need="پمپ", name="شرکت پارس", person_type="legal", channel="phone", expert="علی رضایی"
    )
    store.add_customer(ws, inp, now=NOW)
    return ws


def _add(ws: Workspace, **kw: object) -> str:
    args: dict[str, object] = {"subject": "تأخیر در تحویل", "channel": "phone", "severity": "high"}
    args.update(kw)
    return str(complaints.add_complaint(ws, "C-00001", now=NOW, **args).result["complaint_no"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("op", "status", "resolved", "allowed"),
    [
        ("close", S.RECEIVED, False, False),
        ("close", S.IN_PROGRESS, False, False),
        ("close", S.ESCALATED, False, False),
        ("close", S.RESOLVED, True, True),
        ("escalate", S.IN_PROGRESS, False, True),
        ("escalate", S.RESOLVED, True, False),
        ("escalate", S.ESCALATED, False, False),
        ("resolve", S.ESCALATED, False, True),
        ("resolve", S.RESOLVED, True, False),
        ("ack", S.RECEIVED, False, True),
        ("ack", S.ACKNOWLEDGED, False, False),
        ("action", S.CLOSED, True, False),
    ],
)
def test_guards(op: str, status: ComplaintStatus, resolved: bool, allowed: bool) -> None:
    if allowed:
        complaints.check(op, status, has_resolution=resolved)
    else:
        with pytest.raises(InputError) as e:
            complaints.check(op, status, has_resolution=resolved)
        assert e.value.code == "lifecycle-guard"


def test_lifecycle_in_the_workbook(ws: Workspace) -> None:
    no = _add(ws, cause="delivery")
    assert no == "CMP-00001" and _add(ws) == "CMP-00002"
    complaints.acknowledge(ws, no, now=NOW)
    complaints.add_action(
        ws, no, action="پیگیری با انبار", owner="علی رضایی", due="1404/02/12", now=NOW
    )
    with pytest.raises(InputError, match="resolution"):
        complaints.close(ws, no, now=NOW)
    complaints.resolve(ws, no, resolution="کالا ارسال شد", now=NOW)
    with pytest.raises(InputError, match="unresolved"):
        complaints.escalate(ws, no, now=NOW)
    out = complaints.close(ws, no, now=NOW)
    assert out.result["open_actions"] == [1]
    with pytest.raises(InputError, match="closed"):
        complaints.add_action(ws, no, action="x", owner="y", due="1404/03/01", now=NOW)

    other = "CMP-00002"
    complaints.escalate(ws, other, to="مرکز داوری اتاق بازرگانی", now=NOW)
    with pytest.raises(InputError, match="already escalated"):
        complaints.escalate(ws, other, now=NOW)

    path = ws.root / COMPLAINTS_FORM.filename
    rows = {
        r["complaint_no"]: r for _, r in read_table_fast(path, COMPLAINTS_FORM, COMPLAINTS.name)
    }
    assert rows[no]["status"] == S.CLOSED.fa and rows[no]["customer_name"] == "شرکت پارس"
    assert rows[other]["status"] == S.ESCALATED.fa and rows[other]["escalated_to"]
    actions = read_table_fast(path, COMPLAINTS_FORM, COMPLAINT_ACTIONS.name)
    assert [r["action"] for _, r in actions] == ["پیگیری با انبار"]
    # The counter is persisted in the hidden counter sheet and a row deleted by hand is not reused.
    wb = openpyxl.load_workbook(path)
    assert wb["_counters"].sheet_state == "hidden"


def test_unknown_customer_and_bad_values(ws: Workspace) -> None:
    with pytest.raises(InputError):
        complaints.add_complaint(ws, "C-09999", subject="x", channel="phone", severity="low")
    with pytest.raises(InputError):
        _add(ws, severity="catastrophic")
    with pytest.raises(InputError):
        _add(ws, case_no="P-00001")  # no such case


def test_open_actions_for_task_lists(ws: Workspace) -> None:
    a, b = _add(ws), _add(ws, severity="low")
    complaints.add_action(
        ws, a, action="تماس با مشتری", owner="علی رضایی", due="1404/02/05 09:00", now=NOW
    )
    complaints.add_action(ws, a, action="بازدید", owner="مریم احمدی", due="1404/03/20", now=NOW)
    complaints.add_action(ws, b, action="ارسال قطعه", owner="علی رضایی", due="1404/02/01", now=NOW)
    complaints.action_done(ws, b, 1, now=NOW)
    later = NOW + dt.timedelta(days=10)
    tasks = complaints.open_complaint_actions(ws, later)
    assert [(t["complaint_no"], t["owner"], t["overdue"]) for t in tasks] == [
        (a, "علی رضایی", True),
        (a, "مریم احمدی", False),
    ]
    assert tasks[0]["customer_no"] == "C-00001" and tasks[0]["description"] == "تماس با مشتری"
    assert tasks[0]["due"].tzinfo is not None

    out = complaints.complaint_report(ws, later, ws.root / "r.xlsx")
    assert len(out["open"]) == 2 and len(out["overdue_actions"]) == 1
    wb = openpyxl.load_workbook(ws.root / "r.xlsx")
    assert wb.sheetnames == ["شکایات باز", "اقدامات معوق", "بر اساس علت"]
    assert all(wb[s].sheet_view.rightToLeft for s in wb.sheetnames)
