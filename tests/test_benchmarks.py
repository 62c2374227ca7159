"""The benchmarks' synthetic workspace is one the toolkit accepts (issue 14): validate finds no
error in it, operations work on it, and its archive registers are the live register's form."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers_cli import Cli
from python_calamine import CalamineWorkbook

from crm_xl.domain.schema import CUSTOMERS, F_31_08_02, KEY_ROW
from crm_xl.io.workbook import read_table_fast
from crm_xl.io.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from gen_synthetic import OPEN_STAGES, write_workspace


def _keys(path: Path) -> list[object]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(CUSTOMERS.sheet).to_python()
    return [v for v in rows[KEY_ROW - 1] if v != ""]


def test_generated_workspace_validates_and_takes_operations(tmp_path: Path, cli: Cli) -> None:
    info = write_workspace(tmp_path / "ws", 40, 90, archive_forms=5)
    ws = Workspace.open(tmp_path / "ws")
    live = [r for _, r in read_table_fast(ws.register_path, F_31_08_02, CUSTOMERS.name)]
    assert [r["customer_no"] for r in live] == [f"C-{n:05d}" for n in range(91, 131)]
    assert {r["stage"] for r in live} == {s.fa for s, _ in OPEN_STAGES}  # every open stage
    archives = sorted((ws.root / "archive").glob("F-31-08-02 *.xlsx"))
    assert [p.name for p in archives] == [f"F-31-08-02 {y}.xlsx" for y in info["archive_registers"]]  # type: ignore[union-attr]
    closed = [r for p in archives for _, r in read_table_fast(p, F_31_08_02, CUSTOMERS.name)]
    assert sorted(str(r["customer_no"]) for r in closed) == [f"C-{n:05d}" for n in range(1, 91)]
    assert all(_keys(p) == _keys(ws.register_path) for p in archives)  # the same columns
    forms = sorted(ws.customers_dir.glob("*/F-31-08-01 *.xlsx"))
    assert len(forms) == 40

    checked = cli(None, "validate", str(ws.root), json=True)
    assert checked.data["counts"]["error"] == 0, checked.data["by_code"]
    added = cli(ws, "customer", "add", "--name", "مشتری تازه", "--type", "natural",
                "--channel", "telegram", "--expert", "علی رضایی", "--need", "پمپ")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "C-00131" in added.output  # numbers go on after every archived one
    refreshed = cli(ws, "refresh", json=True)
    assert refreshed.exit_code == 0 and refreshed.data["forms_read"] == 41
