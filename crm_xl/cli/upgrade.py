"""``crm-xl upgrade``: carry workbooks made by an older crm_xl into the current forms."""

from __future__ import annotations

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, pass_ctx
from crm_xl.ops.upgrade import upgrade_workspace


@click.command("upgrade")
@json_option
@pass_ctx
@handle_errors
def upgrade_cmd(ctx: Context) -> None:
    """Bring the register and forms to the current form, data kept and backed up / به‌روزرسانی."""
    done = [u.as_dict() for u in upgrade_workspace(ctx.ws())]
    if ctx.json:
        emit(ctx, {"upgraded": done})
        return
    if not done:
        click.echo("همه فایل‌ها به‌روزند / every workbook is current")
    for u in done:
        click.echo(f"{u['file']}: {u['rows']} ردیف منتقل شد / rows carried over")
        if u["extra_sheets"]:
            click.echo(
                "  برگه‌های افزوده در نسخه پشتیبان مانده‌اند / sheets kept in the backup: "
                + ", ".join(u["extra_sheets"])
            )


COMMANDS = [upgrade_cmd]
