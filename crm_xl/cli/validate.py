"""The ``validate`` command: a thin layer over ``validate_paths``, ``annotate``, ``apply_fixes``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crm_xl.cli.common import (
    FORCE_HELP,
    Context,
    handle_errors,
    json_option,
    pass_ctx,
    to_json,
)
from crm_xl.domain.errors import CrmError
from crm_xl.validation.findings import Report

#: Show a progress bar from this many files on (only on a terminal, never with JSON).
PROGRESS_FROM = 20


def _progress_bar(enabled: bool):  # type: ignore[no-untyped-def]
    """(callback, close) for rich.progress on stderr, or (None, no-op)."""
    if not enabled:
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("[bold]validate"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = None

    def cb(done: int, total: int, name: str) -> None:
        nonlocal task
        if total < PROGRESS_FROM:
            return
        if task is None:
            bar.start()
            task = bar.add_task("", total=total)
        bar.update(task, completed=done, total=total, description=name[:40])

    return cb, bar.stop


def print_table(report: Report) -> None:
    """Findings as a terminal table (rich), then one summary line in both languages."""
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False)
    if report.findings:
        t = Table(show_lines=False, expand=False)
        for col in ("sev", "code", "file", "sheet", "cell", "message"):
            t.add_column(col, overflow="fold")
        style = {"error": "red", "warning": "yellow", "info": "cyan"}
        for f in report.findings:
            t.add_row(
                f"[{style[f.severity]}]{f.severity}[/]" + (" (fixed)" if f.fixed else ""),
                f.code,
                Path(f.file).name if f.file else "",
                f.sheet or "",
                f.cell or "",
                f"{f.message_fa}\n{f.message_en}",
            )
        console.print(t)
    for fx in report.fixes:
        console.print(
            f"fixed {Path(fx.file).name} › {fx.sheet} › {fx.cell}: {fx.old!r} → {fx.new!r}"
        )
    c = report.counts
    console.print(
        f"{len(report.files)} فایل، {c.error} خطا، {c.warning} هشدار / "
        f"{len(report.files)} file(s), {c.error} error(s), {c.warning} warning(s)",
        markup=False,
    )


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default=None,
    help="Output format (default table; --json = json) / قالب خروجی",
)  # fmt: skip
@click.option(
    "--annotate", "annotate_out", type=click.Path(path_type=Path),
    help="Write a copy with comments on offending cells (a folder for several files)",
)  # fmt: skip
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option("--fix", is_flag=True, help="Apply safe normalisations (letters, digits, spaces)")
@json_option
@pass_ctx
@handle_errors
def validate_cmd(
    ctx: Context,
    paths: tuple[Path, ...],
    fmt: str | None,
    annotate_out: Path | None,
    force: bool,
    fix: bool,
) -> None:
    """Validate workbooks, folders or the workspace / بررسی فرم‌ها و پوشه کاری.

    PATHS default to the workspace (-w). Exit code: 0 clean (warnings allowed),
    1 errors found, 2 cannot run.
    """
    from crm_xl.validation.annotate import annotate_file, apply_fixes, targets
    from crm_xl.validation.run import ValidateError, validate_paths

    as_json = fmt == "json" or (fmt is None and ctx.json)
    ctx.json = as_json  # so an error that stops the run is JSON too

    def output(path: Path, folder: bool = False) -> Path:
        try:
            return ctx.output(path, force, folder=folder)
        except CrmError as e:  # the run cannot do what was asked: exit 2, not "errors found"
            raise ValidateError(e.fa, e.en, code=e.code, file=e.location.file) from None

    if annotate_out:  # refuse before a long run, not after it
        output(annotate_out, folder=annotate_out.suffix.lower() not in (".xlsx", ".xlsm"))
    show = not as_json and sys.stderr.isatty()
    cb, close = _progress_bar(show)
    try:
        report = validate_paths(list(paths) or [ctx.workspace], progress=cb)
    finally:
        close()
    if fix:
        apply_fixes(report)
    todo = targets(report, annotate_out) if annotate_out else []
    checked = [(src, items, output(target)) for src, items, target in todo]  # all, then write
    written = [annotate_file(src, items, target) for src, items, target in checked]
    if as_json:
        data = report.model_dump(mode="json")
        if annotate_out:
            data["annotated"] = [str(p) for p in written]
        click.echo(to_json(data))
    else:
        print_table(report)
        for p in written:
            click.echo(f"annotated: {p}")
    sys.exit(report.exit_code)


COMMANDS = [validate_cmd]

if __name__ == "__main__":  # python -m crm_xl.cli.validate
    validate_cmd()
