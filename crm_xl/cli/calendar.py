"""``crm-xl calendar``: each expert's planned actions as an .ics feed (thin over ``ops.calendar``)."""

from __future__ import annotations

from pathlib import Path

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, pass_ctx
from crm_xl.domain import decide
from crm_xl.domain.dates import now_tehran


@click.command("calendar")
@click.option("--expert", default=None, help="Only this expert's feed / فقط تقویم این کارشناس")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder of the feeds (<expert>.ics each); with --expert also a .ics file / مسیر خروجی",
)
@click.option("--force", is_flag=True, help="Replace existing feed files / بازنویسی فایل‌های موجود")
@click.option(
    "--at",
    "at",
    default=None,
    help="As of this moment (Jalali or ISO, e.g. «1403/07/15 10:00»; default now)",
)
@json_option
@pass_ctx
@handle_errors
def calendar_cmd(ctx: Context, expert: str | None, out: Path, force: bool, at: str | None) -> None:
    """Write each expert's planned actions as a calendar feed (.ics) / تقویم پیگیری‌ها.

    Import or subscribe to the file in Outlook, Google Calendar or a phone: each open planned
    action is an event with a reminder; running the command again updates the same events.
    """
    from crm_xl.ops.calendar import write_feeds
    from crm_xl.ops.refresh import evaluate_workspace

    ws = ctx.ws()
    ev = evaluate_workspace(ws, decide.parse_when(at, now_tehran(), "at"))
    # Until the shared output-path helper exists: refuse existing files unless --force.
    result = write_feeds(ws, ev, out, expert=expert, overwrite=force)
    lines = [f"  {owner}: {path}" for owner, path in result.files.items()]
    lines.append(
        f"  {result.events} اقدام باز / open actions; {result.cancelled} لغوشده / cancelled; "
        f"{len(result.changed)} تغییر / changed"
    )
    if result.skipped_customers:
        lines.append(
            "  فرم این مشتریان خوانده نشد؛ رویدادهایشان دست نخورد / forms unreadable, events "
            "kept: " + ", ".join(result.skipped_customers)
        )
    emit(ctx, result.as_dict(), "تقویم کارشناسان نوشته شد", "calendar feeds written", lines)


COMMANDS = [calendar_cmd]
