"""``crm-xl upgrade``: carry an older workspace's records into today's forms (thin over
``ops.upgrade``)."""

from __future__ import annotations

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, pass_ctx


@click.command("upgrade")
@json_option
@pass_ctx
@handle_errors
def upgrade_cmd(ctx: Context) -> None:
    """Bring every record to today's form and dates, data kept and backed up / به‌روزرسانی.

    Records of older versions may lack sheets or columns (carried over by key) and hold real
    Excel dates, which LibreOffice and PDFs print as serial numbers (rewritten as Jalali
    text).  Each record is also converted the first time a command writes it; this converts
    them all now.  Running it again changes nothing.
    """
    from crm_xl.ops.upgrade import upgrade_workspace

    result = upgrade_workspace(ctx.ws())
    lines: list[str] = []
    for u in result["upgraded"]:
        lines.append(f"  {u['file']}: {u['rows']} ردیف منتقل شد / rows carried over")
        if u["extra_sheets"]:
            lines.append(
                "    برگه‌های افزوده در نسخه پشتیبان مانده‌اند / sheets kept in the backup: "
                + ", ".join(u["extra_sheets"])
            )
    lines += [f"  {c['file']}: {c['cells']}" for c in result["converted"]]
    lines += [
        f"  {v['file']}: {v['contracts']} قرارداد باطل علامت خورد / void contracts flagged"
        for v in result["voided"]
    ]
    lines += [f"  ! {p['file']}: {p['fa']} / {p['en']}" for p in result["problems"]]
    n, m = len(result["upgraded"]), len(result["converted"])
    emit(
        ctx,
        result,
        f"{result['checked']} فایل بررسی شد؛ {n} فایل به فرم فعلی منتقل شد؛ "
        f"تاریخ‌های {m} فایل به متن شمسی تبدیل شد",
        f"{result['checked']} records checked; {n} carried into the current form; "
        f"dates of {m} rewritten as Jalali text",
        lines,
    )
    if result["problems"]:
        click.get_current_context().exit(1)


COMMANDS = [upgrade_cmd]
