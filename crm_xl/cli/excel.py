"""``crm-xl excel panel|check``: an expert's panel workbook from the command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, pass_ctx
from crm_xl.domain.errors import CrmError

__all__ = ["COMMANDS", "excel_group"]


@click.group("excel")
def excel_group() -> None:
    """Each expert's panel with buttons (Excel + xlwings) / پنل هر کارشناس."""


@excel_group.command("panel")
@click.option("--expert", required=True, help="The expert the panel belongs to / کارشناس")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the .xlsm (default: Documents) / مسیر پنل",
)
@click.option(
    "--interpreter",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Python the buttons run (default: this Python) / مسیر پایتون",
)
@json_option
@pass_ctx
@handle_errors
def excel_panel(ctx: Context, expert: str, out: Path | None, interpreter: Path | None) -> None:
    """Build (or rebuild) an expert's panel .xlsm on this computer."""
    from crm_xl.excel.panel import build_panel

    python = str(interpreter) if interpreter else sys.executable
    ws = ctx.ws()
    recorded = os.path.abspath(ctx.workspace)  # not resolved: a UNC path stays one
    path = build_panel(ws, expert, out=out, interpreter=python, workspace_path=recorded)
    emit(
        ctx,
        {"panel": str(path), "expert": expert, "interpreter": python, "workspace": str(ws.root)},
        f"پنل «{expert}» ساخته شد: {path}",
        f"panel of {expert} built: {path}",
        [f"interpreter: {python}", f"workspace: {recorded}"],
    )


@excel_group.command("check")
@click.argument("panel", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@json_option
@pass_ctx
@handle_errors
def excel_check(ctx: Context, panel: Path) -> None:
    """Check that a panel still has its VBA project, buttons and macro content type."""
    from crm_xl.io.vba import check_xlsm

    problems = check_xlsm(panel)
    emit(
        ctx,
        {"panel": str(panel), "ok": not problems, "problems": problems},
        "پنل سالم است" if not problems else "پنل ایراد دارد:",
        "panel is intact" if not problems else "panel has problems:",
        problems,
    )
    if problems:
        sys.exit(1)


@excel_group.command("build", hidden=True)
@pass_ctx
@handle_errors
def excel_build(ctx: Context) -> None:
    """Retired: the register is a plain .xlsx; each expert builds a panel."""
    raise CrmError(
        "دفتر ثبت ماکرودار کنار گذاشته شد؛ هر کارشناس روی رایانهٔ خود "
        "«crm-xl excel panel --expert …» را اجرا کند؛ دفتر ‎.xlsm قدیمی را «crm-xl upgrade» "
        "به ‎.xlsx تبدیل می‌کند",
        "the macro-enabled register is retired; each expert runs 'crm-xl excel panel --expert …' "
        "on their own computer; 'crm-xl upgrade' converts an old .xlsm register to .xlsx",
        code="retired-command",
    )


COMMANDS = [excel_group]
