"""``crm-xl excel build|check``: the macro-enabled register from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, pass_ctx
from crm_xl.domain.errors import CrmError

__all__ = ["COMMANDS", "excel_group"]


@click.group("excel")
def excel_group() -> None:
    """The macro-enabled register with buttons (Excel + xlwings) / دفتر ثبت ماکرودار."""


@excel_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild an existing .xlsm (backed up, data kept)")
@click.option(
    "--interpreter",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Python the buttons run (default: this Python) / مسیر پایتون",
)
@json_option
@pass_ctx
@handle_errors
def excel_build(ctx: Context, force: bool, interpreter: Path | None) -> None:
    """Build F-31-08-02.xlsm: panel, buttons, VBA; carries the register's data over."""
    from crm_xl.excel.build import build_macro_register

    python = str(interpreter) if interpreter else sys.executable
    path = build_macro_register(ctx.ws(), interpreter=python, force=force)
    emit(
        ctx,
        {"register": str(path), "interpreter": python},
        f"دفتر ثبت ماکرودار ساخته شد: {path}",
        f"macro register built: {path}",
        [f"interpreter: {python}"],
    )


@excel_group.command("check")
@json_option
@pass_ctx
@handle_errors
def excel_check(ctx: Context) -> None:
    """Check that the .xlsm still has its VBA project, buttons and macro content type."""
    from crm_xl.io.vba import check_xlsm

    path = ctx.ws().root / "F-31-08-02.xlsm"
    if not path.exists():
        raise CrmError(
            "دفتر ثبت ماکرودار (F-31-08-02.xlsm) در این پوشه نیست؛ «crm-xl excel build» را اجرا کنید",
            "no macro register (F-31-08-02.xlsm) here; run 'crm-xl excel build'",
            code="missing-file",
            file=path,
        )
    problems = check_xlsm(path)
    emit(
        ctx,
        {"register": str(path), "ok": not problems, "problems": problems},
        "دفتر ثبت ماکرودار سالم است" if not problems else "دفتر ثبت ماکرودار ایراد دارد:",
        "macro register is intact" if not problems else "macro register has problems:",
        problems,
    )
    if problems:
        sys.exit(1)


COMMANDS = [excel_group]
