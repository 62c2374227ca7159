"""Satisfaction surveys (ISO 10004): scores 1-5, the CRM step, averages by period and expert."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import Stage
from crm_xl.domain.errors import InputError
from crm_xl.domain.ids import make_national_code
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store, surveys

NOW = dt.datetime(2025, 5, 1, 10, 0, tzinfo=TEHRAN)


@pytest.fixture
def ws(ws: Workspace) -> Workspace:
    """The shared workspace with two customers, one per expert."""
    for name, expert in (("رضا کریمی", "علی رضایی"), ("زهرا موسوی", "مریم احمدی")):
        inp = decide.NewCustomer(
            need="پمپ", name=name, person_type="natural", channel="phone", expert=expert
        )
        store.add_customer(ws, inp, now=NOW)
    return ws


def test_scores_are_whole_numbers_1_to_5() -> None:
    assert surveys.parse_scores(["q1=5", "Q2=۴", "q6 = 1"]) == {"q1": 5, "q2": 4, "q6": 1}
    for bad in (["q1=0"], ["q1=6"], ["q1=4.5"], ["q1=x"], ["q9=3"], ["q1"], []):
        with pytest.raises(InputError):
            surveys.parse_scores(bad)


def test_survey_is_the_crm_step_for_a_won_customer(ws: Workspace) -> None:
    ident = make_national_code("001234567")
    case = store.open_case(ws, "C-00001", national_id=ident, now=NOW).result["case_no"]
    out = surveys.add_survey(ws, "C-00001", scores=["q1=5", "q2=3"], comment="خوب بود", now=NOW)
    assert out.result["survey_no"] == "SRV-00001" and out.result["case_no"] == case
    assert out.result["average"] == 4.0
    assert out.result["crm"]["done"] is True
    reg = store.load_register(ws)
    assert decide.stage_of(reg.customer("C-00001")) is Stage.CRM_DONE

    # Not at Won: the survey is kept and the result says why the stage did not move.
    out = surveys.add_survey(ws, "C-00002", scores={"q1": 2}, now=NOW)
    assert out.result["survey_no"] == "SRV-00002"
    assert out.result["crm"]["done"] is False and "not Won" in out.result["crm"]["reason"]
    # A second survey after CRM done does not fail either.
    out = surveys.add_survey(ws, "C-00001", scores={"q1": 4}, now=NOW)
    assert out.result["crm"]["done"] is False


def test_report_averages_by_expert_month_quarter(ws: Workspace, tmp_path: Path) -> None:
    surveys.add_survey(ws, "C-00001", scores={"q1": 5, "q2": 3}, at="1404/01/10", now=NOW)
    surveys.add_survey(ws, "C-00001", scores={"q1": 3}, at="1404/02/10", group="پمپ", now=NOW)
    surveys.add_survey(ws, "C-00002", scores={"q1": 1, "q2": 2}, at="1404/04/01", now=NOW)
    data = surveys.survey_report(ws, NOW, tmp_path / "sat.xlsx")
    by_expert = {r["key"]: r for r in data["by_expert"]}
    assert by_expert["علی رضایی"]["count"] == 2 and by_expert["علی رضایی"]["q1"] == 4.0
    assert by_expert["علی رضایی"]["average"] == 3.5  # (4 + 3) / 2
    assert by_expert["مریم احمدی"]["average"] == 1.5
    assert [r["key"] for r in data["by_month"]] == ["1404/01", "1404/02", "1404/04"]
    assert {r["key"]: r["count"] for r in data["by_quarter"]} == {"1404/Q1": 2, "1404/Q2": 1}
    assert {r["key"] for r in data["by_group"]} == {"پمپ", "نامشخص"}
    assert (tmp_path / "sat.xlsx").exists()
