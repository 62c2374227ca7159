"""What every ``crm-xl`` command shares: the workspace option, JSON output, bilingual errors.

Commands stay thin: parse options, call one library function, print its result with
``emit``. A ``CrmError`` becomes a two-language message naming file, sheet and cell and an
exit code; any other exception becomes a short message too (``--debug`` shows the traceback).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from crm_xl.domain.errors import CrmError
from crm_xl.io.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    workspace: Path = Path(".")
    json: bool = False
    debug: bool = False

    def ws(self) -> Workspace:
        return Workspace.open(self.workspace)


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    if hasattr(o, "as_dict"):
        return o.as_dict()
    return str(o)


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def json_option(f: F) -> F:
    """``--json`` on a command, also accepted before the command on the group."""

    def cb(ctx: click.Context, _p: click.Parameter, value: bool) -> bool:
        if value:
            ctx.ensure_object(Context).json = True
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=cb,
        help="Print the result as JSON / خروجی JSON",
    )(f)


def emit(
    ctx: Context,
    result: Mapping[str, Any] | list[Any],
    fa: str = "",
    en: str = "",
    lines: list[str] | None = None,
) -> None:
    """Print a command's result: JSON when asked, else the messages and the given lines."""
    if ctx.json:
        click.echo(to_json(result))
        return
    if fa:
        click.echo(fa)
    if en:
        click.echo(en)
    for line in lines or []:
        click.echo(line)


def handle_errors(f: F) -> F:
    """Turn errors into a clear two-language message and an exit code, never a traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context().find_object(Context) or Context()
        try:
            return f(*args, **kwargs)
        except CrmError as e:
            _report(ctx, e.as_dict(), str(e))
            sys.exit(e.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("لغو شد / cancelled", err=True)
            sys.exit(130)
        except Exception as e:  # the last guard: a clear message, traceback only on --debug
            if ctx.debug:
                raise
            text = (
                f"خطای پیش‌بینی‌نشده: {type(e).__name__}: {e} / "
                f"unexpected error: {type(e).__name__}: {e} (run with --debug for details)"
            )
            _report(ctx, {"code": "internal-error", "fa": text, "en": text, "location": {}}, text)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _report(ctx: Context, data: dict[str, Any], text: str) -> None:
    if ctx.json:
        click.echo(to_json({"error": data}))
    else:
        click.echo(f"خطا / error: {text}", err=True)


pass_ctx = click.make_pass_decorator(Context, ensure=True)
