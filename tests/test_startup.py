"""Start-up (issue 14): ``crm-xl --help`` lists every command without importing its module,
and the button module loads without the heavy libraries a press does not need."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from crm_xl.cli.main import LAZY_COMMANDS, LAZY_INVOICE_COMMANDS, main

#: Libraries that only some commands need; none may load for ``--help`` (issue 14).
HEAVY = ("openpyxl", "pydantic", "xlsxwriter", "pyopenvba", "rich", "holidays", "pandas")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_every_lazy_command_is_listed_with_its_own_short_help() -> None:
    ctx = click.Context(main)
    for group, table in (
        (main, LAZY_COMMANDS),
        (main.get_command(ctx, "invoice"), LAZY_INVOICE_COMMANDS),
    ):
        assert isinstance(group, click.Group)
        for name, (_, short) in table.items():
            command = group.get_command(ctx, name)
            assert command is not None and command.name == name
            assert command.get_short_help_str(200) == click.Command(
                name, help=short
            ).get_short_help_str(200)
    listed = CliRunner().invoke(main, ["--help"]).output
    for name in [*LAZY_COMMANDS, "customer", "invoice", "init", "demo"]:
        assert f"\n  {name} " in listed


def test_help_loads_no_command_module_nor_heavy_library() -> None:
    loaded = _loaded_after(
        "import sys\nfrom crm_xl.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    modules = {
        t.partition(":")[0] for t, _ in [*LAZY_COMMANDS.values(), *LAZY_INVOICE_COMMANDS.values()]
    }
    assert not modules & loaded
    assert "crm_xl.ops.store" not in loaded


def test_a_command_loads_only_its_own_module() -> None:
    loaded = _loaded_after(
        "from crm_xl.cli.main import main\n"
        "try:\n    main(['calendar', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert "crm_xl.cli.calendar" in loaded
    assert not {"crm_xl.cli.records", "crm_xl.cli.invoices", "crm_xl.cli.authority"} & loaded


def test_button_module_loads_no_workbook_or_vba_library() -> None:
    # pydantic still comes with the schema (its Moadian labels live beside the models).
    loaded = _loaded_after("import crm_xl.excel.buttons")
    heavy = {m.split(".")[0] for m in loaded} & {
        "openpyxl",
        "xlsxwriter",
        "pyopenvba",
        "rich",
        "holidays",
        "xlwings",
    }
    assert not heavy
    assert "crm_xl.ops.store" not in loaded
