"""What every ``crm-xl`` command shares: the workspace option, JSON output, bilingual errors.

Commands stay thin: parse options, call one library function, print its result with
``emit``. A ``CrmError`` becomes a two-language message naming file, sheet and cell and an
exit code; the operating system's refusals (disk full, read-only share, no permission) become
a message saying what to do (exit 2); anything else becomes a short message too (``--debug``
shows the traceback).

Every command that writes a file a person asked for (``--xlsx``, ``--annotate``, an export)
takes it through ``output_option`` and ``Context.output``: never a workspace record, an existing
file only with ``--force``.
"""

from __future__ import annotations

import functools
import json
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from crm_xl.domain.errors import CrmError, InputError

if TYPE_CHECKING:  # the workspace layer (openpyxl) loads only when a command uses it
    from crm_xl.io.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    workspace: Path = Path(".")
    json: bool = False
    debug: bool = False

    def ws(self) -> Workspace:
        from crm_xl.io.workspace import Workspace

        return Workspace.open(self.workspace)

    def output(self, path: Path, force: bool, *, folder: bool = False) -> Path:
        """Where an output may be written (resolved): never a record of the ``-w`` workspace
        or of any workspace ``path`` lies in; an existing file only with ``--force``."""
        from crm_xl.io.workspace import check_output_path, looks_like_workspace

        root = self.workspace.resolve()
        ws = root if looks_like_workspace(root) else None
        return check_output_path(path, force=force, ws=ws, folder=folder)


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


FORCE_DATES_HELP = (
    "Accept dates outside the settings' date_window (default 5 years back, 1 ahead) / "
    "پذیرش تاریخ دور از امروز"
)


def force_dates_option(f: F) -> F:
    """``--force`` on a write command that takes dates: a date farther from today than the
    settings' ``date_window`` is refused unless the person confirms it here."""

    def cb(ctx: click.Context, _p: click.Parameter, value: bool) -> bool:
        if value:
            from crm_xl.ops import store

            token = store.FAR_DATES.set(True)
            ctx.call_on_close(lambda: store.FAR_DATES.reset(token))
        return value

    return click.option(
        "--force", "force_dates", is_flag=True, expose_value=False, callback=cb,
        help=FORCE_DATES_HELP,
    )(f)  # fmt: skip


FORCE_HELP = (
    "Replace the output file if it exists (never a workspace record) / جایگزینی فایل خروجی موجود"
)


def output_option(
    *param_decls: str, help: str = "", argument: bool = False, dir_okay: bool = False
) -> Callable[[F], F]:
    """An output path (option, or argument when ``argument``) and the ``--force`` flag.

    The command checks the path with ``Context.output(path, force)`` before it writes.
    """

    def deco(f: F) -> F:
        kind = click.Path(dir_okay=dir_okay, path_type=Path)
        if argument:
            f = click.argument(*param_decls, type=kind)(f)
        else:
            f = click.option(*param_decls, type=kind, default=None, help=help)(f)
        return click.option("--force", is_flag=True, help=FORCE_HELP)(f)

    return deco


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
            known = known_failure(e, ctx.workspace.resolve())
            if known is not None:
                _report(ctx, known.as_dict(), str(known))
                sys.exit(known.exit_code)
            text = (
                f"خطای پیش‌بینی‌نشده: {type(e).__name__}: {e} / "
                f"unexpected error: {type(e).__name__}: {e} (run with --debug for details)"
            )
            _report(ctx, {"code": "internal-error", "fa": text, "en": text, "location": {}}, text)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def known_failure(e: BaseException, workspace: Path | None = None) -> CrmError | None:
    """A clear error for failures that are not bugs: the operating system refusing a write
    (disk full, read-only share, no permission; also when a library wrapped the OSError, as
    XlsxWriter does), and text a workbook cannot hold (control characters)."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno is not None:
            from crm_xl.io.workspace import environment_error

            return environment_error(cur, workspace)
        if type(cur).__name__ == "IllegalCharacterError":  # openpyxl: a control character
            text = str(cur.args[0] if cur.args else "").removesuffix(
                " cannot be used in worksheets."
            )
            shown = "".join(
                f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in text
            )
            return InputError(
                f"متن «{shown}» نویسهٔ کنترلی نامرئی دارد (مثلاً از کپی‌کردن) که در اکسل نوشته "
                "نمی‌شود؛ آن را دوباره تایپ کنید. چیزی ثبت نشد.",
                f"the text '{shown}' holds an invisible control character (often from "
                "copy-paste) that Excel cannot store; type it again. Nothing was recorded.",
                code="control-character",
            )
        nested = next((a for a in cur.args if isinstance(a, BaseException)), None)
        cur = cur.__cause__ or nested or cur.__context__
    return None


def _report(ctx: Context, data: dict[str, Any], text: str) -> None:
    if ctx.json:
        click.echo(to_json({"error": data}))
    else:
        click.echo(f"خطا / error: {text}", err=True)


pass_ctx = click.make_pass_decorator(Context, ensure=True)
