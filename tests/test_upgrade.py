"""`crm-xl upgrade`: a workspace made by crm_xl 0.1 (tests/data/workspace-0.1, written by the
first release: two customers, a follow-up, a case with contract and invoice) comes to the
current forms with every value kept, and numbering continues above what it had issued."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain.schema import CASES, CUSTOMERS, INVOICES, LOG
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace

OLD = Path(__file__).parent / "data" / "workspace-0.1"


@pytest.fixture
def old_ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(OLD, root)
    return root


def run(root: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["-w", str(root), *args])
    return res.exit_code, res.output


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".crm_xl" not in p.parts
    }


def _rows(path: Path, table: str) -> list[dict[str, object]]:
    return [r for _, r in FormBook.open(path).read_table(table)]


def test_an_old_register_is_refused_with_the_way_out(old_ws: Path) -> None:
    before = _hashes(old_ws)
    code, out = run(
        old_ws, "customer", "add", "--name", "مینا کریمی", "--type", "natural",
        "--channel", "phone", "--expert", "سارا احمدی", "--need", "پمپ",
    )  # fmt: skip
    assert code == 1 and "crm-xl upgrade" in out
    assert _hashes(old_ws) == before


def test_upgrade_keeps_every_value_and_numbering_continues(old_ws: Path) -> None:
    import openpyxl

    old = openpyxl.load_workbook(OLD / "F-31-08-02.xlsx")
    old_customers = old[CUSTOMERS.sheet]
    old_names = {old_customers.cell(r, 2).value for r in range(4, old_customers.max_row + 1)} - {
        None
    }

    code, out = run(old_ws, "--json", "upgrade")
    assert code == 0, out
    done = json.loads(out)["upgraded"]
    assert [Path(u["file"]).name for u in done] == ["F-31-08-02.xlsx"]
    assert any("اقلام" in m or ":" in m for m in done[0]["missing"])

    ws = Workspace.open(old_ws)
    reg = ws.register_path
    customers = _rows(reg, CUSTOMERS.name)
    assert [c["customer_no"] for c in customers] == ["C-00001", "C-00002"]
    assert {c["name"] for c in customers} >= {"علی رضایی", "شرکت پارس تجارت"}
    assert old_names  # the old sheet had the names in its second column
    cases = _rows(reg, CASES.name)
    assert cases[0]["case_no"] == "P-00001" and cases[0]["contract_no"]
    invoices = _rows(reg, INVOICES.name)
    assert invoices[0]["invoice_no"] == "1404-000001" and len(str(invoices[0]["tax_id"])) == 22
    assert len(_rows(reg, LOG.name)) >= 5
    assert list(ws.backups_dir.glob("F-31-08-02*.xlsx")), "the old register is kept as a backup"

    code, out = run(old_ws, "validate")
    assert code == 0, out
    code, out = run(
        old_ws, "--json", "customer", "add", "--name", "مینا کریمی", "--type", "natural",
        "--channel", "phone", "--expert", "سارا احمدی", "--need", "پمپ",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["customer_no"] == "C-00003"
    # A second upgrade has nothing to do and changes nothing.
    before = _hashes(old_ws)
    code, out = run(old_ws, "--json", "upgrade")
    assert code == 0 and json.loads(out)["upgraded"] == []
    assert _hashes(old_ws) == before
