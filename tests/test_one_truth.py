"""Each piece of knowledge once (review §B6, issue 12): the same behaviour from every entrance.

* **Void is a flag.** A voided number stays, and its row says so in one place,
  ``record_status`` (customer, case, invoice) or the case's ``contract_status`` (a contract is
  voided on a case row that stays live).  Every reader (the write guards, validate, the
  numbering audit, the task lists) asks ``enums.is_void`` of that flag; none looks at the
  number's text or at a message.  ``crm-xl upgrade`` turns the old «(باطل)» suffix into the flag.
* **One duplicate rule.** What ``customer add`` calls a duplicate, ``validate`` reports as
  ``duplicate-customer`` on the same field, naming the same customer.  Keys, strongest first:
  national code/ID, mobile, name (spelling-blind); void customers do not count.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers_cli import Cli
from helpers_workspace import EXPERTS, row_of, rows_by_key, set_cells

from crm_xl.domain import decide, ids
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import InputError
from crm_xl.domain.schema import CASES, CUSTOMERS, KEY_ROW
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store, tasks
from crm_xl.validation import validate_paths

NOW = datetime(2025, 10, 8, 10, 0, tzinfo=TEHRAN)  # 1404/07/16
OLD = Path(__file__).parent / "data" / "workspace-0.1"


def _new(name: str, code: str, mobile: str = "", **kw: Any) -> decide.NewCustomer:
    return decide.NewCustomer(
        name=name,
        person_type="natural",
        channel="phone",
        expert=EXPERTS[0],
        need="پمپ",
        at="1404/07/10 09:00",
        national_code=ids.make_national_code(code),
        mobile=mobile,
        **kw,
    )


def _add(ws: Workspace, new: decide.NewCustomer) -> str:
    return str(store.add_customer(ws, new, now=NOW).result["customer_no"])


def _contract(ws: Workspace, customer: str) -> tuple[str, str]:
    case = str(store.open_case(ws, customer, at="1404/07/12 10:00", now=NOW).result["case_no"])
    plan = store.add_contract(ws, case, at="1404/07/13", now=NOW)
    return case, str(plan.result["contract_no"])


def _validate(ws: Workspace) -> tuple[set[tuple[str, str | None]], dict[str, set[str]]]:
    """validate's errors (code, field) and the numbering audit's voided numbers per kind."""
    report = validate_paths([ws.root])
    errors = {(f.code, f.field) for f in report.findings if f.severity == "error"}
    voided: dict[str, set[str]] = {}
    for s in report.numbering:
        if s.voided:
            voided.setdefault(s.kind, set()).update(s.voided)
    return errors, voided


def test_a_voided_contract_keeps_its_number_and_sets_its_flag(ws: Workspace, cli: Cli) -> None:
    case, contract = _contract(ws, _add(ws, _new("علی محمدی", "001234567")))
    res = cli(ws, "void", contract, "--reason", "اشتباه")
    assert res.exit_code == 0, res.output
    row = rows_by_key(ws, CASES)[case]
    assert row["contract_no"] == contract  # the number itself, never a marked text
    assert row["contract_status"] == "باطل"
    assert row["status"] == "باز" and row["record_status"] == "فعال"  # the case lives on
    errors, voided = _validate(ws)
    assert errors == set()
    assert voided == {"contract": {contract}}
    again = cli(ws, "void", contract)
    assert again.exit_code == 1 and "already void" in again.output
    # The case may get a new contract; the voided number is never issued again.
    second = str(store.add_contract(ws, case, at="1404/07/14", now=NOW).result["contract_no"])
    assert second != contract
    row = rows_by_key(ws, CASES)[case]
    assert row["contract_no"] == second and row["contract_status"] is None
    assert _validate(ws)[0] == set()


def test_a_flag_set_by_hand_is_read_alike_by_writes_validate_numbering_and_lists(
    ws: Workspace,
) -> None:
    """A person picks «باطل» in the drop-down: every entrance sees the same void number."""
    keep = _add(ws, _new("مریم کریمی", "001234567"))
    gone = _add(ws, _new("حسین نادری", "002345678"))
    case, contract = _contract(ws, keep)
    assert _validate(ws) == (set(), {})
    at = row_of(ws, CASES, case)
    set_cells(ws.register_path, CASES, at, {"contract_status": "باطل"})
    # The flag alone leaves the case "contracted" without a live contract: validate says so.
    assert ("cross-field-error", "status") in _validate(ws)[0]
    set_cells(ws.register_path, CASES, at, {"status": "باز"})
    set_cells(ws.register_path, CUSTOMERS, row_of(ws, CUSTOMERS, gone), {"record_status": "باطل"})

    errors, voided = _validate(ws)
    assert errors == set()
    assert voided == {"contract": {contract}, "customer": {gone}}
    for number in (contract, gone):
        with pytest.raises(InputError, match="already void"):
            store.void_number(ws, number, now=NOW)
    with pytest.raises(InputError) as err:
        store.add_followup(ws, decide.NewFollowUp(gone, "phone", "x"), now=NOW)
    assert err.value.code == "void-number"
    # The manager's view counts only live customers.
    overview = tasks.overview(ws, NOW)
    assert overview["customers"] == 1
    assert gone not in {t["customer_no"] for ts in overview["tasks"].values() for t in ts}
    # The case no longer has a live contract: a new one may be made.
    assert store.add_contract(ws, case, at="1404/07/14", now=NOW).result["contract_no"] != contract


def _old_void_suffix(root: Path) -> None:
    """What crm_xl before the flag wrote when it voided the contract of workspace-0.1."""
    path = root / "F-31-08-02.xlsx"
    wb = openpyxl.load_workbook(path)
    sheet = wb[CASES.sheet]
    col = next(c.column for c in sheet[KEY_ROW] if c.value == "contract_no")
    cell = sheet.cell(KEY_ROW + 2, col)
    assert cell.value == "Q-1405-0001"
    cell.value = "Q-1405-0001 (باطل)"
    wb.save(path)


def test_upgrade_turns_the_old_void_suffix_into_the_flag(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "ws"
    shutil.copytree(OLD, root)
    _old_void_suffix(root)
    res = cli(root, "upgrade", json=True)
    assert res.exit_code == 0, res.output
    assert res.data["voided"] == [{"file": "F-31-08-02.xlsx", "contracts": 1}]
    row = rows_by_key(root / "F-31-08-02.xlsx", CASES)["P-00001"]
    assert row["contract_no"] == "Q-1405-0001" and row["contract_status"] == "باطل"
    backups = list((root / ".crm_xl" / "backups").glob("F-31-08-02*"))
    assert any(
        "(باطل)" in str(c.value)
        for b in backups
        for c in openpyxl.load_workbook(b)[CASES.sheet]["G"]  # the old layout kept as it was
    )
    ws = Workspace(root)
    with pytest.raises(InputError, match="already void"):
        store.void_number(ws, "Q-1405-0001", now=NOW)
    errors, voided = _validate(ws)
    assert "Q-1405-0001" in voided["contract"]
    assert not any(field == "contract_no" for _, field in errors)
    # A second run finds nothing to convert and changes nothing.
    before = (root / "F-31-08-02.xlsx").read_bytes()
    again = cli(root, "upgrade", json=True)
    assert again.exit_code == 0 and again.data["voided"] == []
    assert (root / "F-31-08-02.xlsx").read_bytes() == before


# --- one duplicate rule --------------------------------------------------------------------


def _refused_then_forced(ws: Workspace, new: decide.NewCustomer) -> tuple[str, str, str]:
    """(field, message, number) of the refusal, and the customer registered anyway."""
    with pytest.raises(InputError) as err:
        _add(ws, new)
    assert err.value.code == "duplicate-customer"
    forced = _add(ws, decide.NewCustomer(**{**vars(new), "allow_duplicate": True}))
    return str(err.value.location.field), err.value.en, forced


def _duplicates(ws: Workspace) -> dict[int, tuple[str | None, str]]:
    """validate's duplicate-customer findings: Excel row → (field, English message)."""
    report = validate_paths([ws.root])
    return {
        int(f.row or 0): (f.field, f.message_en)
        for f in report.findings
        if f.code == "duplicate-customer"
    }


def test_writes_and_validate_name_the_same_duplicate_by_the_same_key(ws: Workspace) -> None:
    a = _add(ws, _new("علی محمدی", "001234567", "09121111111"))
    b_field, b_msg, b = _refused_then_forced(ws, _new("رضا کریمی", "002345678", "09121111111"))
    assert (b_field, a in b_msg) == ("mobile", True)
    # Arabic letters and extra spaces: the same name.
    c_field, c_msg, c = _refused_then_forced(ws, _new("علي  محمدي", "003456789", "09123333333"))
    assert (c_field, a in c_msg) == ("name", True)
    # Same mobile as the first customer, same national code as the second: the national code
    # is the stronger reason, whichever customer came first.
    d_field, d_msg, d = _refused_then_forced(ws, _new("نادر نوری", "002345678", "09121111111"))
    assert (d_field, b in d_msg) == ("national_id", True)

    found = _duplicates(ws)
    assert found == {
        row_of(ws, CUSTOMERS, b): ("mobile", f"same mobile as customer {a}"),
        row_of(ws, CUSTOMERS, c): ("name", f"same name as customer {a}"),
        row_of(ws, CUSTOMERS, d): ("national_id", f"same national_id as customer {b}"),
    }

    # A void customer is nobody's duplicate, for validate and for the write.
    store.void_number(ws, a, reason="تکراری", now=NOW)
    assert _duplicates(ws) == {
        row_of(ws, CUSTOMERS, d): ("national_id", f"same national_id as customer {b}"),
    }
    only_a = _add(ws, _new("سیما رادان", "001234567", "09128888888"))  # A's national code
    assert row_of(ws, CUSTOMERS, only_a) not in _duplicates(ws)
