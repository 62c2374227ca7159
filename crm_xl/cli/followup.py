"""``crm-xl overdue`` and ``crm-xl refresh``: thin commands over ``control.tasks`` / ``control.refresh``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.console import Console

from crm_xl.cli.common import Context, emit, handle_errors, json_option, output_option, pass_ctx
from crm_xl.domain import decide
from crm_xl.domain.dates import now_tehran
from crm_xl.domain.errors import InputError
from crm_xl.domain.text import normalize


def _when(value: str | None) -> datetime:
    """--at as typed (Jalali or ISO), default now in Tehran."""
    return decide.parse_when(value, now_tehran(), "at")


_AT_HELP = "As of this moment (Jalali or ISO, e.g. «1403/07/15 10:00»; default now)"


@click.command("overdue")
@click.option("--at", "at", default=None, help=_AT_HELP)
@click.option("--expert", default=None, help="Only this expert's task list / فقط این کارشناس")
@output_option("--xlsx", help="Also write the task-list workbook here / ذخیره کارتابل در اکسل")
@click.option("--all", "show_all", is_flag=True, help="Also list on-time tasks due after tomorrow")
@json_option
@pass_ctx
@handle_errors
def overdue_cmd(
    ctx: Context,
    at: str | None,
    expert: str | None,
    xlsx: Path | None,
    force: bool,
    show_all: bool,
) -> None:
    """Each expert's task list (کارتابل): overdue, stalled and due follow-ups (R10)."""
    from crm_xl.ops.refresh import evaluate_workspace
    from crm_xl.ops.tasks import build_summary, build_tasks, print_tasks, write_tasks_workbook

    now = _when(at)
    if xlsx is not None:
        xlsx = ctx.output(xlsx, force)
    from crm_xl.ops.complaints import open_complaint_actions

    ws = ctx.ws()
    ev = evaluate_workspace(ws, now)
    tasks = build_tasks(ev, open_complaint_actions(ws, now))
    if expert:
        want = normalize(expert)
        tasks = {o: items for o, items in tasks.items() if normalize(o) == want}
        if not tasks:
            raise InputError(
                f"کارشناس «{expert}» کاری ندارد یا تعریف نشده است",
                f"expert '{expert}' has no tasks or is not configured",
                code="not-found",
                field="expert",
            )
    summary = build_summary(ev, tasks, expert=expert)
    if xlsx is not None:
        write_tasks_workbook(xlsx, tasks, summary, now)
    data = {
        **summary,
        "tasks": {o: [t.as_dict() for t in items] for o, items in tasks.items()},
        "xlsx": str(xlsx) if xlsx else None,
    }
    if ctx.json:
        emit(ctx, data)
        return
    console = Console()
    print_tasks(console, data["tasks"], now=now, show_all=show_all)
    for p in ev.problems:
        click.echo(f"! {p}", err=True)
    if xlsx is not None:
        click.echo(f"کارتابل ذخیره شد / task lists written: {xlsx}")


@click.command("refresh")
@click.option("--at", "at", default=None, help=_AT_HELP)
@json_option
@pass_ctx
@handle_errors
def refresh_cmd(ctx: Context, at: str | None) -> None:
    """Re-read the customer forms and write follow-up states into the register / به‌روزرسانی."""
    from crm_xl.domain.enums import FollowUpState
    from crm_xl.ops.refresh import refresh

    result = refresh(ctx.ws(), _when(at) if at else None)
    if ctx.json:
        emit(ctx, result.as_dict())
        return
    lines = [f"  {s.fa} / {s.en}: {result.counts.get(s.value, 0)}" for s in FollowUpState]
    lines.append(
        f"  {len(result.changed)} ردیف تغییر کرد / rows changed; "
        f"{result.forms_read} فرم خوانده شد / forms read; {result.seconds:.1f} s"
    )
    if result.problems:
        lines.append(f"مشکلات / problems ({len(result.problems)}):")
        lines.extend(f"  ! {p}" for p in result.problems)
    emit(
        ctx,
        result.as_dict(),
        "وضعیت پیگیری‌ها به‌روز شد",
        "follow-up states refreshed",
        lines,
    )


COMMANDS = [overdue_cmd, refresh_cmd]
