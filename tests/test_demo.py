"""`crm-xl demo` (the README's main job) and `crm-xl --help`."""

from __future__ import annotations

import unicodedata
from collections import Counter
from datetime import datetime
from pathlib import Path

import click
import pytest
from helpers_cli import Cli
from helpers_office import pdf_text, to_pdfs

from crm_xl.cli.main import main
from crm_xl.domain import decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import Stage
from crm_xl.ops import store
from crm_xl.ops.demo import build_demo
from crm_xl.validation import validate_paths

NOW = datetime(2025, 10, 8, 16, 0, tzinfo=TEHRAN)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict[str, object]]:
    return build_demo(tmp_path_factory.mktemp("demo") / "ws", customers=24, now=NOW)


@pytest.mark.slow  # the demo workspace takes ~20 s to build
def test_demo_covers_the_funnel_and_leaves_some_overdue(demo: tuple[object, dict]) -> None:
    ws, summary = demo
    reg = store.load_register(ws)  # type: ignore[arg-type]
    assert len(reg.customers) == 24
    stages = Counter(decide.stage_of(r) for r in reg.customers.values())
    for stage in (
        Stage.FIRST_CONTACT,
        Stage.FOLLOW_UP,
        Stage.NEGOTIATION,
        Stage.PROPOSAL,
        Stage.WON,
        Stage.CRM_DONE,
        Stage.CLOSED,
    ):
        assert stages[stage] > 0, stage
    kinds = Counter(str(r.get("person_type")) for r in reg.customers.values())
    assert kinds["حقیقی"] and kinds["حقوقی"]
    states = Counter(str(r.get("followup_state")) for r in reg.customers.values())
    assert states["معوق"] > 0 and states["به‌موقع"] > 0
    assert str(summary["register"]).endswith(".xlsx")  # the CLI adds the macro register
    assert all(r.get("tax_id") for r in reg.invoices.values())
    report = validate_paths([ws.root])  # type: ignore[attr-defined]
    assert report.exit_code == 0, [f.code for f in report.findings if f.severity == "error"]


@pytest.mark.slow
@pytest.mark.libreoffice
def test_demo_register_opens_in_libreoffice(demo: tuple[object, dict], tmp_path: Path) -> None:
    ws, _ = demo
    (pdf,) = to_pdfs([ws.register_path], tmp_path)  # type: ignore[attr-defined]
    text = unicodedata.normalize("NFKC", pdf_text(pdf))
    assert "F-31-08-02" in text and "C-00001" in text


def test_help_lists_every_command_with_one_line(cli: Cli) -> None:
    out = cli(None, "--help", terminal_width=200).output
    listed = out.split("Commands:")[1].strip().splitlines()
    names = {line.split()[0] for line in listed}
    assert names == set(main.list_commands(click.Context(main)))  # lazy ones included
    assert {
        "init",
        "demo",
        "customer",
        "followup",
        "case",
        "contract",
        "invoice",
        "void",
        "overdue",
        "refresh",
        "validate",
        "product",
        "excel",
        "complaint",
        "survey",
        "plan",
        "parties",
        "import",
        "templates",
    } <= names
    assert all(len(line.split(maxsplit=1)) == 2 for line in listed)  # each has its help line


@pytest.mark.slow
def test_demo_cli_json(tmp_path: Path, cli: Cli) -> None:
    res = cli(None, "demo", str(tmp_path / "d"), "--customers", "6", "--no-macros", json=True)
    assert res.exit_code == 0, res.output
    assert res.data["customers"] == 6 and res.data["register"].endswith("F-31-08-02.xlsx")
    res = cli(None, "demo", str(tmp_path / "m"), "--customers", "3", json=True)
    assert res.exit_code == 0, res.output
    assert res.data["register"].endswith("F-31-08-02.xlsx")  # buttons: each expert's panel
    res = cli(None, "demo", str(tmp_path / "d"))
    assert res.exit_code == 2 and "already holds a workspace" in res.output
