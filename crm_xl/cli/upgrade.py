"""``crm-xl upgrade``: convert an older workspace's records (thin over ``ops.upgrade``)."""

from __future__ import annotations

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, pass_ctx


@click.command("upgrade")
@json_option
@pass_ctx
@handle_errors
def upgrade_cmd(ctx: Context) -> None:
    """Rewrite the dates of every record as Jalali text (backed up) / به‌روزرسانی پوشه کاری.

    Records of older versions hold real Excel dates, which LibreOffice and PDFs print as
    serial numbers.  Each record is also converted the first time a command writes it; this
    converts them all now.  Running it again changes nothing.
    """
    from crm_xl.ops.upgrade import upgrade_workspace

    result = upgrade_workspace(ctx.ws())
    lines = [f"  {c['file']}: {c['cells']}" for c in result["converted"]]
    lines += [f"  ! {p['file']}: {p['fa']} / {p['en']}" for p in result["problems"]]
    n = len(result["converted"])
    emit(
        ctx,
        result,
        f"{result['checked']} فایل بررسی شد؛ تاریخ‌های {n} فایل به متن شمسی تبدیل شد",
        f"{result['checked']} records checked; dates of {n} rewritten as Jalali text",
        lines,
    )
    if result["problems"]:
        ctx_exit = click.get_current_context()
        ctx_exit.exit(1)


COMMANDS = [upgrade_cmd]
