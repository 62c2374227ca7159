"""``crm-xl invoice issue|correct|cancel|return|export``: Moadian-ready invoices (SPEC §11).

Thin commands over ``ops.invoices``; ``main`` adds them to its ``invoice`` group. ``issue``
without lines is the amount-only invoice it always was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crm_xl.cli.common import (
    Context,
    emit,
    force_dates_option,
    handle_errors,
    json_option,
    pass_ctx,
)
from crm_xl.domain.changes import Plan
from crm_xl.domain.errors import InputError
from crm_xl.domain.invoicing import Buyer, FollowUp, NewInvoice
from crm_xl.ops import invoices, store

_FILE = click.Path(dir_okay=False, path_type=Path)


def _out(ctx: Context, plan: Plan) -> None:
    # A warning never stops the invoice (exit 0) but always reaches the person, JSON or not.
    for w in plan.result.get("warnings", ()):
        click.echo(f"هشدار / warning: {w['fa']} / {w['en']}", err=True)
    if ctx.json:
        emit(ctx, plan.result)
        return
    click.echo(plan.message_fa)
    click.echo(plan.message_en)
    click.echo(plan.result["invoice_no"])
    if plan.result.get("tax_id"):
        click.echo(plan.result["tax_id"])


def _lines_options(f: Any) -> Any:
    f = click.option(
        "--lines",
        "lines_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Lines from a .xlsx/.csv with columns sstid, sstt, am, mu, fee[, dis, vra]",
    )(f)
    return click.option(
        "--line",
        "line_specs",
        multiple=True,
        metavar="'SSTID|DESCRIPTION|QTY|UNIT|FEE[|DISCOUNT[|VAT%]]'",
        help="One invoice line (repeatable); unit as code or name (1627, عدد); "
        "discount in Rial or as a percent (10%)",
    )(f)


def _settlement_options(f: Any) -> Any:
    for opt in reversed(
        [
            click.option("--vat", default=None, help="VAT rate (%) of lines that give none [10]"),
            click.option(
                "--settlement", default=None, help="cash (default) | credit | mixed / روش تسویه"
            ),
            click.option("--cash", default=None, help="Cash part (Rial) of a mixed settlement"),
            click.option(
                "--total", default=None, help="The total you expect (Rial): refused if different"
            ),
            click.option("--at", default=None, help="Issue time (Jalali or ISO; default now)"),
            force_dates_option,
        ]
    ):
        f = opt(f)
    return f


@click.command("issue")
@click.argument("case")
@click.option("--amount", default=None, help="Amount in Rial (an invoice without lines)")
@_lines_options
@_settlement_options
@click.option("--type", "invoice_type", default=None, help="Invoice type (inty): 1 (default) or 2")
@click.option(
    "--buyer-type",
    default=None,
    help="natural|legal|civil|foreign|consumer (tob; default from the customer)",
)
@click.option("--buyer-id", default=None, help="Buyer id (bid): national code, foreign id")
@click.option("--buyer-economic-code", default=None, help="Buyer economic code (tinb)")
@click.option("--buyer-postal", default=None, help="Buyer postal code (bpc)")
@json_option
@pass_ctx
@handle_errors
def issue_cmd(
    ctx: Context,
    case: str,
    amount: str | None,
    line_specs: tuple[str, ...],
    lines_file: Path | None,
    vat: str | None,
    settlement: str | None,
    cash: str | None,
    total: str | None,
    at: str | None,
    invoice_type: str | None,
    buyer_type: str | None,
    buyer_id: str | None,
    buyer_economic_code: str | None,
    buyer_postal: str | None,
) -> None:
    """Issue an invoice; with --line/--lines a Moadian-ready one, checked before it is numbered
    (R8, SPEC §11) / صدور فاکتور."""
    moadian_opts = (vat, settlement, cash, total, invoice_type, buyer_type, buyer_id)
    if not line_specs and lines_file is None:
        if any(v is not None for v in (*moadian_opts, buyer_economic_code, buyer_postal)):
            raise InputError(
                "این گزینه‌ها فقط با ردیف‌های کالا (--line یا --lines) معنا دارند",
                "these options need invoice lines (--line or --lines)",
                code="usage-error",
                field="lines",
            )
        _out(ctx, store.issue_invoice(ctx.ws(), case, amount=amount, at=at))
        return
    if amount is not None:
        raise InputError(
            "مبلغ فاکتور با ردیف‌ها از جمع آن‌ها حساب می‌شود؛ --amount ندهید (برای کنترل --total)",
            "an invoice with lines totals its lines; drop --amount (use --total to check it)",
            code="usage-error",
            field="amount",
        )
    inp = NewInvoice(
        lines=invoices.parse_lines(line_specs, lines_file),
        buyer=Buyer(buyer_type, buyer_id, buyer_economic_code, buyer_postal),
        invoice_type=invoice_type,
        vat=vat,
        settlement=settlement,
        cash=cash,
        total=total,
        at=at,
    )
    _out(ctx, invoices.issue(ctx.ws(), case, inp))


@click.command("correct")
@click.argument("number")
@_lines_options
@_settlement_options
@json_option
@pass_ctx
@handle_errors
def correct_cmd(
    ctx: Context,
    number: str,
    line_specs: tuple[str, ...],
    lines_file: Path | None,
    **kw: Any,
) -> None:
    """Issue a corrective invoice (ins 2) restating every line; the original is marked / اصلاحی."""
    inp = FollowUp(2, lines=invoices.parse_lines(line_specs, lines_file), **kw)
    _out(ctx, invoices.follow_up(ctx.ws(), number, inp))


@click.command("cancel")
@click.argument("number")
@click.option("--at", default=None, help="Issue time (Jalali or ISO; default now)")
@force_dates_option
@json_option
@pass_ctx
@handle_errors
def cancel_cmd(ctx: Context, number: str, at: str | None) -> None:
    """Issue a void invoice (ins 3) with the original's buyer and lines / ابطالی."""
    _out(ctx, invoices.follow_up(ctx.ws(), number, FollowUp(3, at=at)))


@click.command("return")
@click.argument("number")
@click.option(
    "--returned",
    multiple=True,
    required=True,
    metavar="'LINE|QTY'",
    help="Quantity of the original's line LINE that comes back (repeatable)",
)
@click.option("--settlement", default=None, help="cash | credit | mixed (default: the original's)")
@click.option("--cash", default=None, help="Cash part (Rial) of a mixed settlement")
@click.option("--total", default=None, help="The total you expect (Rial): refused if different")
@click.option("--at", default=None, help="Issue time (Jalali or ISO; default now)")
@force_dates_option
@json_option
@pass_ctx
@handle_errors
def return_cmd(ctx: Context, number: str, returned: tuple[str, ...], **kw: Any) -> None:
    """Issue a return invoice (ins 4): the original's lines less what comes back / برگشت از فروش."""
    inp = FollowUp(4, returned=invoices.parse_returned(returned), **kw)
    _out(ctx, invoices.follow_up(ctx.ws(), number, inp))


@click.command("export")
@click.argument("numbers", nargs=-1)
@click.option("--period", default=None, help="Invoices issued in 1405, 1405/08 or 1405/Q3")
@click.option(
    "--json",
    "json_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one tax-system JSON per invoice into this folder",
)
@click.option("--xlsx", type=_FILE, default=None, help="Write the two-sheet Excel to this file")
@click.option("--force", is_flag=True, help="Overwrite existing output files")
@pass_ctx
@handle_errors
def export_cmd(
    ctx: Context,
    numbers: tuple[str, ...],
    period: str | None,
    json_dir: Path | None,
    xlsx: Path | None,
    force: bool,
) -> None:
    """Export invoices for the tax system (Moadian): JSON (header, body, payments) or Excel.

    Every invoice is checked first; nothing is written unless all pass. Signing and sending
    stay outside the toolkit. / خروجی سامانه مودیان.
    """
    if json_dir is None and xlsx is None:
        raise InputError(
            "--json پوشه یا --xlsx فایل را بدهید",
            "give --json FOLDER or --xlsx FILE",
            code="usage-error",
            field="json",
        )
    ws = ctx.ws()
    written: list[str] = []
    if json_dir is not None:
        paths = invoices.export_json(ws, json_dir, numbers=numbers, period=period, force=force)
        written += [str(p) for p in paths]
    if xlsx is not None:
        path = invoices.export_xlsx(ws, xlsx, numbers=numbers, period=period, force=force)
        written.append(str(path))
    emit(
        ctx,
        {"written": written},
        f"{len(written)} فایل نوشته شد",
        f"{len(written)} file(s) written",
        written,
    )


#: Added to main's ``invoice`` group (``issue`` replaces the amount-only command it extends).
INVOICE_COMMANDS = [issue_cmd, correct_cmd, cancel_cmd, return_cmd, export_cmd]
