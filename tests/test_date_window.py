"""Review §A14: dates far from today are refused unless confirmed with ``--force``; the window
comes from the settings (``date_window``). Through the CLI on real workspaces."""

from __future__ import annotations

import jdatetime
from helpers_cli import Cli
from helpers_workspace import EXPERTS, register_snapshot, rows_by_key, with_settings

from crm_xl.domain.dates import now_tehran
from crm_xl.domain.schema import CUSTOMERS
from crm_xl.domain.settings import DateWindow
from crm_xl.io.workspace import Workspace


def _jalali_year(offset: int) -> int:
    return int(jdatetime.date.fromgregorian(date=now_tehran().date()).year) + offset


def _add(cli: Cli, ws: Workspace, at: str, *extra: str) -> tuple[int, str]:
    res = cli(
        ws, "customer", "add", "--name", "علی رضایی", "--type", "natural", "--channel", "phone",
        "--expert", EXPERTS[0], "--need", "پمپ", "--at", at, *extra,
    )  # fmt: skip
    return res.exit_code, res.output


def test_a_first_contact_decades_ago_is_refused_unless_forced(cli: Cli, ws: Workspace) -> None:
    before = register_snapshot(ws)
    old = f"{_jalali_year(-20)}/01/15 10:00"
    code, out = _add(cli, ws, old)
    assert code == 1 and "--force" in out and "date_window" in out and "Traceback" not in out
    assert register_snapshot(ws) == before  # nothing spent, nothing written
    code, out = _add(cli, ws, old, "--force")
    assert code == 0, out
    assert list(rows_by_key(ws, CUSTOMERS)) == ["C-00001"]


def test_a_follow_up_planned_years_ahead_is_refused_unless_forced(cli: Cli, ws: Workspace) -> None:
    assert _add(cli, ws, f"{_jalali_year(0)}/01/01 09:00")[0] == 0
    far = f"{_jalali_year(5)}/01/01"
    args = ("followup", "add", "C-00001", "--type", "phone", "--note", "x",
            "--next-action", "تماس", "--next-due", far)  # fmt: skip
    before = register_snapshot(ws)
    res = cli(ws, *args)
    assert res.exit_code == 1 and "next_due" in res.output
    assert register_snapshot(ws) == before
    res = cli(ws, *args, "--force")
    assert res.exit_code == 0, res.output
    assert rows_by_key(ws, CUSTOMERS)["C-00001"]["next_due"] is not None


def test_the_window_is_a_setting(cli: Cli, ws: Workspace) -> None:
    ws = with_settings(ws, date_window=DateWindow(years_back=30, years_ahead=1))
    assert _add(cli, ws, f"{_jalali_year(-20)}/01/15 10:00")[0] == 0  # within 30 years
    ws = with_settings(ws, date_window=DateWindow(years_back=0, years_ahead=0))
    code, out = _add(cli, ws, f"{_jalali_year(-1)}/01/15 10:00")
    assert code == 1 and "0 year" in out


def test_numbers_typed_with_persian_digits_or_lower_case_are_found(cli: Cli, ws: Workspace) -> None:
    assert _add(cli, ws, f"{_jalali_year(0)}/01/01 09:00", "--national-code", "0013542419")[0] == 0
    res = cli(ws, "followup", "add", "c-۰۰۰۰۱", "--type", "phone", "--note", "x")
    assert res.exit_code == 0, res.output
    res = cli(ws, "case", "open", "c-۰۰۰۰۱")
    assert res.exit_code == 0, res.output
    res = cli(ws, "contract", "add", "p-۰۰۰۰۱", "--amount", "۱۰۰۰")
    assert res.exit_code == 0, res.output
