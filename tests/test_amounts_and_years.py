"""Review §A11 (contract amount and invoiced total apart, voids, over-contract warning, an
invoice without an amount spends nothing) and number years from the operation's date, through
the CLI on real workspaces, the register read back."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from helpers_cli import Cli
from helpers_workspace import (
    EXPERTS,
    copy_workspace,
    register_snapshot,
    rows_by_key,
    with_settings,
)

from crm_xl.domain import ids
from crm_xl.domain.schema import CASES, CUSTOMERS, FIRST_DATA_ROW, INVOICES, KEY_ROW
from crm_xl.io.workspace import Workspace

CODE = "0013542419"  # a valid national code


def _customer(cli: Cli, ws: Workspace, at: str = "1405/08/01 10:00") -> str:
    res = cli(
        ws, "customer", "add", "--name", "علی رضایی", "--type", "natural", "--channel", "phone",
        "--expert", EXPERTS[0], "--need", "پمپ", "--national-code", CODE, "--at", at,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return res.stdout.strip().splitlines()[-1]


def _last(cli: Cli, ws: Workspace, *args: str) -> str:
    res = cli(ws, *args)
    assert res.exit_code == 0, res.output
    return res.stdout.strip().splitlines()[-1]


def _case_with_contract(cli: Cli, ws: Workspace, amount: str = "1,000,000") -> str:
    cust = _customer(cli, ws)
    case = _last(cli, ws, "case", "open", cust, "--at", "1405/08/02 10:00")
    _last(cli, ws, "contract", "add", case, "--amount", amount, "--at", "1405/08/03")
    return case


def _warnings(cli: Cli, ws: Workspace) -> list[dict[str, object]]:
    res = cli(ws, "validate", json=True)
    assert res.data["counts"]["error"] == 0, res.output
    return [f for f in res.data["findings"] if f["code"] == "invoiced-over-contract"]


def test_invoices_never_overwrite_the_contract_amount_and_voids_leave_the_total(
    cli: Cli, ws: Workspace
) -> None:
    case = _case_with_contract(cli, ws)
    first = _last(cli, ws, "invoice", "issue", case, "--amount", "400000", "--at", "1405/08/04")
    row = rows_by_key(ws, CASES)[case]
    assert row["amount"] == 1_000_000 and row["invoiced"] == 400_000
    assert row["invoice_nos"] == first

    # Past the contract: the invoice stands (exit 0) and the person is warned in both languages.
    res = cli(ws, "invoice", "issue", case, "--amount", "700000", "--at", "1405/08/05")
    assert res.exit_code == 0, res.output
    second = res.stdout.strip().splitlines()[-1]
    assert "1,100,000" in res.stderr and "contract" in res.stderr and "قرارداد" in res.stderr
    row = rows_by_key(ws, CASES)[case]
    assert row["amount"] == 1_000_000 and row["invoiced"] == 1_100_000
    (warning,) = _warnings(cli, ws)
    assert warning["severity"] == "warning" and warning["field"] == "amount"
    assert cli(ws, "validate").exit_code == 0  # a warning, not an error

    # A voided invoice leaves the total and the case's list; the warning goes with it.
    assert cli(ws, "void", second, "--reason", "اشتباه").exit_code == 0
    row = rows_by_key(ws, CASES)[case]
    assert row["amount"] == 1_000_000 and row["invoiced"] == 400_000
    assert row["invoice_nos"] == first
    assert _warnings(cli, ws) == []


def test_json_output_carries_the_over_contract_warning(cli: Cli, ws: Workspace) -> None:
    case = _case_with_contract(cli, ws, amount="100")
    res = cli(ws, "invoice", "issue", case, "--amount", "101", json=True)
    assert res.exit_code == 0
    assert [w["code"] for w in res.data["warnings"]] == ["invoiced-over-contract"]
    assert "warning" in res.stderr


def test_an_invoice_without_a_positive_whole_amount_spends_no_number_and_no_tax_id(
    cli: Cli, ws: Workspace
) -> None:
    ws = with_settings(ws, fiscal_memory_id="A1B2C3")
    case = _case_with_contract(cli, ws)
    before = register_snapshot(ws)  # counters (tax included) and the change log among them
    for amount in (None, "", "12.5", "0", "-5", "abc"):
        args = ["invoice", "issue", case] + ([] if amount is None else ["--amount", amount])
        res = cli(ws, *args)
        assert res.exit_code == 1, (amount, res.output)
        assert "خطا / error:" in res.stderr and "Traceback" not in res.output
        assert register_snapshot(ws) == before, amount
    res = cli(ws, "invoice", "issue", case, "--amount", "5000", json=True)
    assert res.exit_code == 0, res.output
    assert res.data["invoice_no"].endswith("-000001")  # the first number, nothing was spent
    assert ids.parse_tax_id(res.data["tax_id"]).serial == 1
    assert list(rows_by_key(ws, INVOICES)) == [res.data["invoice_no"]]


def test_number_years_come_from_the_operation_date_not_today(cli: Cli, ws: Workspace) -> None:
    ws = with_settings(
        ws,
        numbering={
            **{k: r for k, r in ws.settings.numbering.items()},
            "customer": ws.settings.rule("customer").model_copy(
                update={"pattern": "C{jy2}-{seq:4}"}
            ),
            "case": ws.settings.rule("case").model_copy(update={"pattern": "P{jy}-{seq:4}"}),
        },
    )
    cust = _customer(cli, ws, at="1404/05/01 09:00")
    assert cust == "C04-0001"
    case = _last(cli, ws, "case", "open", cust, "--at", "1404/05/02 10:00")
    assert case == "P1404-0001"
    contract = _last(cli, ws, "contract", "add", case, "--amount", "1000", "--at", "1404/06/01")
    assert contract.startswith("Q-1404-")
    invoice = _last(cli, ws, "invoice", "issue", case, "--amount", "10", "--at", "1404/06/02")
    assert invoice.startswith("1404-")
    assert rows_by_key(ws, CASES)[case]["contract_no"] == contract
    assert cust in rows_by_key(ws, CUSTOMERS)


def test_upgrade_gives_an_old_case_its_contract_amount_back(cli: Cli, tmp_path: Path) -> None:
    """The 0.1 register: contract Q-1405-0001 of 500,000,000 Rial, whose first invoice
    (200,000,000) overwrote the case's amount; the change log still has the contract's."""
    ws = copy_workspace(Path(__file__).parent / "data" / "workspace-0.1", tmp_path / "ws")
    sheet = openpyxl.load_workbook(ws.register_path)[CASES.sheet]
    keys = [c.value for c in sheet[KEY_ROW]]
    row = [c.value for c in sheet[FIRST_DATA_ROW]]
    assert row[keys.index("amount")] == 200_000_000  # the old bug's trace
    res = cli(ws, "upgrade")
    assert res.exit_code == 0, res.output
    case = rows_by_key(ws, CASES)["P-00001"]
    assert case["amount"] == 500_000_000 and case["invoiced"] == 200_000_000
    assert cli(ws, "validate").exit_code == 0
