"""``crm-xl``: the command line, a thin layer over the library (every command is a Python call).

Feature areas add their own click groups in their own modules; ``main`` lists them in
:data:`LAZY_COMMANDS` and imports a module only when one of its commands runs, so that
``crm-xl --help`` and every command pay only for what they use (issue 14: start-up).
"""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path
from typing import Any

import click

from crm_xl.cli.common import (
    FORCE_HELP,
    Context,
    emit,
    force_dates_option,
    handle_errors,
    json_option,
    pass_ctx,
)
from crm_xl.domain.errors import InputError

#: Commands kept in their own modules: name -> ("module:attribute", short help). The help is
#: what ``crm-xl --help`` lists without importing the module; a test keeps it equal to the
#: command's own.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "overdue": (
        "crm_xl.cli.followup:overdue_cmd",
        "Each expert's task list (کارتابل): overdue, stalled and due follow-ups (R10).",
    ),
    "refresh": (
        "crm_xl.cli.followup:refresh_cmd",
        "Re-read the customer forms and write follow-up states into the register / به\u200cروزرسانی.",
    ),
    "validate": (
        "crm_xl.cli.validate:validate_cmd",
        "Validate workbooks, folders or the workspace / بررسی فرم\u200cها و پوشه کاری.",
    ),
    "product": (
        "crm_xl.cli.products:product_group",
        "After-sales service of products, form F-31-07-01 / خدمات پس از فروش کالا.",
    ),
    "excel": (
        "crm_xl.cli.excel:excel_group",
        "Each expert's panel with buttons (Excel + xlwings) / پنل هر کارشناس.",
    ),
    "complaint": (
        "crm_xl.cli.records:complaint_group",
        "Customer complaints (ISO 10002/10003) / شکایات مشتریان.",
    ),
    "survey": (
        "crm_xl.cli.records:survey_group",
        "Customer satisfaction surveys (ISO 10004) / سنجش رضایت.",
    ),
    "plan": ("crm_xl.cli.records:plan_group", "Sales plans against actual sales / برنامه فروش."),
    "parties": ("crm_xl.cli.records:parties_group", "The party database / بانک اطلاعات اشخاص."),
    "import": (
        "crm_xl.cli.records:import_cmd",
        "Import leads from CSV/XLSX: preview new/duplicate/invalid rows, then --commit"
        " / ورود سرنخ\u200cها.",
    ),
    "calendar": (
        "crm_xl.cli.calendar:calendar_cmd",
        "Write each expert's planned actions as a calendar feed (.ics) / تقویم پیگیری\u200cها.",
    ),
    "upgrade": (
        "crm_xl.cli.upgrade:upgrade_cmd",
        "Bring every record to today's form and dates, data kept and backed up / به\u200cروزرسانی.",
    ),
    "authority": (
        "crm_xl.cli.authority:authority_group",
        "Company-wide numbers on PostgreSQL for several offices / سرور شماره\u200cدهی شرکت.",
    ),
}

#: The ``invoice`` group's commands kept in ``cli/invoices.py``, listed the same way.
LAZY_INVOICE_COMMANDS: dict[str, tuple[str, str]] = {
    "issue": (
        "crm_xl.cli.invoices:issue_cmd",
        "Issue an invoice; with --line/--lines a Moadian-ready one, checked before it is"
        " numbered (R8, SPEC §11) / صدور فاکتور.",
    ),
    "correct": (
        "crm_xl.cli.invoices:correct_cmd",
        "Issue a corrective invoice (ins 2) restating every line; the original is marked / اصلاحی.",
    ),
    "cancel": (
        "crm_xl.cli.invoices:cancel_cmd",
        "Issue a void invoice (ins 3) with the original's buyer and lines / ابطالی.",
    ),
    "return": (
        "crm_xl.cli.invoices:return_cmd",
        "Issue a return invoice (ins 4): the original's lines less what comes back"
        " / برگشت از فروش.",
    ),
    "export": (
        "crm_xl.cli.invoices:export_cmd",
        "Export invoices for the tax system (Moadian): JSON (header, body, payments) or Excel.",
    ),
}


class LazyGroup(click.Group):
    """A group whose listed commands are imported only when run (click's LazyGroup recipe)."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attr = self.lazy[cmd_name][0].partition(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command) or command.name != cmd_name:
                raise RuntimeError(f"{self.lazy[cmd_name][0]} is not the command {cmd_name!r}")
            self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The table's short help, so that listing commands imports none of them.
        rows: list[tuple[str, str]] = []
        limit = formatter.width - 6 - max((len(n) for n in self.list_commands(ctx)), default=0)
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if cmd.hidden:
                    continue
                rows.append((name, cmd.get_short_help_str(limit)))
            else:
                short = click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)
                rows.append((name, short))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    lazy=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-w",
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Workspace folder / پوشه کاری",
)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON / خروجی JSON")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors")
@click.version_option(package_name="crm-xl")
@click.pass_context
def main(ctx: click.Context, workspace: Path, as_json: bool, debug: bool) -> None:
    """crm_xl — ثبت و پیگیری مشتریان (F-31-08-01/02) و خدمات پس از فروش (F-31-07-01).

    Customer register, follow-ups, serial numbers, customer folders and after-sales forms,
    kept in Excel workbooks.
    """
    obj = ctx.ensure_object(Context)
    obj.workspace = workspace
    obj.json = obj.json or as_json
    obj.debug = debug


# --- workspace ---------------------------------------------------------------------------------


@main.command("init")
@click.argument("directory", type=click.Path(path_type=Path))  # a file there: init says so
@click.option("--company", help="Company name for the form headers / نام شرکت")
@click.option(
    "--expert", "experts", multiple=True, help="A sales expert (repeatable) / کارشناس فروش"
)
@click.option("--memory-id", help="Fiscal memory id for tax ids / شناسه حافظه مالیاتی")
# The register is a plain .xlsx now; the buttons live in each expert's panel (excel panel).
@click.option("--no-macros", is_flag=True, hidden=True, help="No effect (kept for old scripts)")
@json_option
@pass_ctx
@handle_errors
def init_cmd(
    ctx: Context,
    directory: Path,
    company: str | None,
    experts: tuple[str, ...],
    memory_id: str | None,
    no_macros: bool,
) -> None:
    """Create a workspace (register, folders, settings) / ساخت پوشه کاری."""
    from crm_xl.io.workspace import init_workspace

    ws = init_workspace(
        directory, company=company, experts=list(experts), fiscal_memory_id=memory_id
    )
    del no_macros
    result: dict[str, Any] = {"workspace": str(ws.root), "register": str(ws.register_path)}
    emit(
        ctx,
        result,
        f"پوشه کاری ساخته شد: {ws.root}",
        f"workspace created: {ws.root}",
        [
            f"register: {ws.register_path}",
            f'buttons: crm-xl -w "{ws.root}" excel panel --expert "…" (on each expert\'s computer)',
        ],
    )


@main.group("templates")
def templates_group() -> None:
    """The blank ISO forms / فرم‌های خام."""


@templates_group.command("build")
@click.argument(
    "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("templates")
)
@click.option("--company", default=None, help="Company name in the headers")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@json_option
@pass_ctx
@handle_errors
def templates_build(ctx: Context, directory: Path, company: str | None, force: bool) -> None:
    """Write F-31-08-01, F-31-08-02 and F-31-07-01 from the schema / ساخت قالب‌ها.

    Blank templates only: a workspace's register or any other record is never replaced.
    """
    from crm_xl.io.layout import DEFAULT_COMPANY, build_form, template_paths
    from crm_xl.io.workspace import write_output

    name = company or DEFAULT_COMPANY
    # Every target checked before the first is written: all three or none.
    targets = [(form, ctx.output(path, force)) for form, path in template_paths(directory)]
    paths = [
        write_output(path, lambda tmp, f=form: build_form(tmp, f, company=name))  # type: ignore[misc]
        for form, path in targets
    ]
    emit(
        ctx,
        {"templates": [str(p) for p in paths]},
        "قالب‌ها ساخته شدند",
        "templates written",
        [str(p) for p in paths],
    )


# --- customers -----------------------------------------------------------------------------------


@main.group("customer")
def customer_group() -> None:
    """Register, finish and close customers / مشتریان."""


def _plan_out(ctx: Context, plan: Any, key: str | None = None) -> None:
    lines = [str(plan.result[key])] if key and not ctx.json else []
    if not ctx.json:
        click.echo(plan.message_fa)
        click.echo(plan.message_en)
        for line in lines:
            click.echo(line)
    else:
        emit(ctx, plan.result)


@customer_group.command("add")
@click.option("--name", required=True, help="Customer or company name / نام")
@click.option("--type", "person_type", required=True, help="natural|legal (حقیقی|حقوقی)")
@click.option("--national-code", default="", help="کد ملی (natural)")
@click.option("--national-id", default="", help="شناسه ملی (legal)")
@click.option("--mobile", default="", help="Mobile / تلفن همراه")
@click.option("--phone", default="", help="Landline with area code / تلفن ثابت")
@click.option("--channel", required=True, help="in_person, phone, telegram, … / کانال آشنایی")
@click.option("--expert", required=True, help="Sales expert / کارشناس فروش")
@click.option("--need", default="", help="Customer need / نیاز مشتری")
@click.option("--referrer", default="", help="Referrer / معرف")
@click.option("--category", default="", help="Tree category, e.g. «صنعتی › پتروشیمی»")
@click.option("--at", "at", default=None, help="First contact (Jalali or ISO; default now)")
@force_dates_option
@click.option(
    "--allow-duplicate", is_flag=True, help="Register even if it looks like an existing customer"
)
@json_option
@pass_ctx
@handle_errors
def customer_add(ctx: Context, **kw: Any) -> None:
    """Register a customer: number, folder, F-31-08-01 / ثبت مشتری."""
    from crm_xl.domain import decide
    from crm_xl.ops import store

    plan = store.add_customer(ctx.ws(), decide.NewCustomer(**kw))
    _plan_out(ctx, plan, "customer_no")


@customer_group.command("crm-done")
@click.argument("customer")
@click.option("--at", default=None, help="When (Jalali or ISO; default now)")
@force_dates_option
@json_option
@pass_ctx
@handle_errors
def customer_crm_done(ctx: Context, customer: str, at: str | None) -> None:
    """Mark the after-sales/CRM stage done (R11) / ثبت انجام CRM."""
    from crm_xl.ops import store

    _plan_out(ctx, store.crm_done(ctx.ws(), customer, at=at))


@customer_group.command("close")
@click.argument("customer")
@click.option("--lost", is_flag=True, help="The customer did not buy: close as lost")
@click.option("--at", default=None, help="When (Jalali or ISO; default now)")
@force_dates_option
@json_option
@pass_ctx
@handle_errors
def customer_close(ctx: Context, customer: str, lost: bool, at: str | None) -> None:
    """Close and archive a customer's file / بستن و بایگانی."""
    from crm_xl.ops import store

    _plan_out(ctx, store.close_customer(ctx.ws(), customer, lost=lost, at=at), "folder")


@customer_group.command("reopen")
@click.argument("customer")
@click.option("--reason", required=True, help="Why the file is reopened / علت بازگشایی")
@click.option("--at", default=None, help="When (Jalali or ISO; default now)")
@force_dates_option
@json_option
@pass_ctx
@handle_errors
def customer_reopen(ctx: Context, customer: str, reason: str, at: str | None) -> None:
    """Reopen a lost or closed customer; an archived folder comes back / بازگشایی."""
    from crm_xl.ops import store

    plan = store.reopen_customer(ctx.ws(), customer, reason=reason, at=at)
    _plan_out(ctx, plan, "folder")


def _readable(row: dict[str, Any], table: Any, *, iso: bool) -> dict[str, Any]:
    """A register row as a person reads it: every date as zero-padded Jalali text (the
    register's own spelling); with ``iso`` each date also as ISO 8601 with its offset, for
    scripts (``first_contact_iso``)."""
    from crm_xl.domain.dates import to_iso
    from crm_xl.io.workbook import date_text

    out: dict[str, Any] = {}
    for key, v in row.items():
        f = next((f for f in table.fields if f.key == key), None)
        if f is not None and f.is_date and isinstance(v, date):
            out[key] = date_text(f, v)
            if iso:
                out[f"{key}_iso"] = to_iso(v)
        else:
            out[key] = v
    return out


@customer_group.command("show")
@click.argument("customer")
@json_option
@pass_ctx
@handle_errors
def customer_show(ctx: Context, customer: str) -> None:
    """Show one customer's register row and cases / نمایش مشتری."""
    from crm_xl.domain.schema import CASES, CUSTOMERS
    from crm_xl.ops import store

    reg = store.load_register(ctx.ws())
    row = reg.customer(customer)
    no = str(row.get("customer_no"))
    if ctx.json:
        emit(
            ctx,
            {
                "customer": _readable(row, CUSTOMERS, iso=True),
                "cases": [_readable(c, CASES, iso=True) for c in reg.cases_of(no)],
            },
        )
        return
    row = _readable(row, CUSTOMERS, iso=False)
    cases = [_readable(c, CASES, iso=False) for c in reg.cases_of(no)]
    for k, v in row.items():
        if v not in (None, ""):
            click.echo(f"{k}: {v}")
    for c in cases:
        click.echo(
            f"case {c.get('case_no')}: {c.get('status')} {c.get('contract_no') or ''} {c.get('invoice_nos') or ''}"
        )


@customer_group.command("list")
@click.option("--expert", default=None, help="Only this expert's customers")
@click.option("--stage", default=None, help="Only this stage")
@json_option
@pass_ctx
@handle_errors
def customer_list(ctx: Context, expert: str | None, stage: str | None) -> None:
    """List customers of the register / فهرست مشتریان."""
    from crm_xl.domain import decide
    from crm_xl.domain.enums import Stage
    from crm_xl.domain.schema import CUSTOMERS
    from crm_xl.domain.text import normalize
    from crm_xl.ops import store

    reg = store.load_register(ctx.ws())
    rows = list(reg.customers.values())
    if expert:
        rows = [r for r in rows if normalize(str(r.get("expert") or "")) == normalize(expert)]
    if stage:
        want = Stage.parse(stage)
        rows = [r for r in rows if decide.stage_of(r) is want]
    if ctx.json:
        emit(ctx, [_readable(r, CUSTOMERS, iso=True) for r in rows])
        return
    rows = [_readable(r, CUSTOMERS, iso=False) for r in rows]
    from rich.console import Console
    from rich.table import Table

    t = Table("customer_no", "name", "expert", "stage", "next_due")
    for r in rows:
        t.add_row(
            *(str(r.get(k) or "") for k in ("customer_no", "name", "expert", "stage", "next_due"))
        )
    Console().print(t)


# --- follow-ups, cases, contracts, invoices -----------------------------------------------------


@main.group("followup")
def followup_group() -> None:
    """Follow-ups and planned next actions / پیگیری‌ها."""


@followup_group.command("add")
@click.argument("customer")
@click.option("--type", "type_", required=True, help="phone, email, messenger, in_person, visit, …")
@click.option("--note", required=True, help="What was said or done / شرح")
@click.option("--at", default=None, help="When (Jalali or ISO; default now)")
@force_dates_option
@click.option("--expert", default="", help="Who followed up (default: the customer's expert)")
@click.option("--minutes", default=None, help="Minutes spent (a whole number ≥ 0)")
@click.option("--result", default="", help="Resulting pre-sale stage (negotiation, proposal, …)")
@click.option("--next-action", default="", help="Planned next action / اقدام بعدی")
@click.option("--next-due", default=None, help="Its due date (Jalali or ISO)")
@click.option("--next-owner", default="", help="Responsible expert")
@click.option("--next-type", default="", help="Type of the next action")
@json_option
@pass_ctx
@handle_errors
def followup_add(ctx: Context, customer: str, type_: str, **kw: Any) -> None:
    """Log a follow-up with its next action (R2, R10) / ثبت پیگیری."""
    from crm_xl.domain import decide
    from crm_xl.ops import store

    inp = decide.NewFollowUp(customer_no=customer, type=type_, **kw)
    _plan_out(ctx, store.add_followup(ctx.ws(), inp))


@main.group("case")
def case_group() -> None:
    """Sales cases / پرونده‌های فروش."""


@case_group.command("open")
@click.argument("customer")
@click.option("--product", "products", multiple=True, help="Product code sold (repeatable)")
@click.option("--at", default=None, help="When (Jalali or ISO; default now)")
@force_dates_option
@click.option("--national-code", default="", help="کد ملی of the buyer, if not registered yet")
@click.option("--national-id", default="", help="شناسه ملی of the buyer, if not registered yet")
@json_option
@pass_ctx
@handle_errors
def case_open(
    ctx: Context,
    customer: str,
    products: tuple[str, ...],
    at: str | None,
    national_code: str,
    national_id: str,
) -> None:
    """Open a sales case; prints its number (R6) / تشکیل پرونده.

    A sale needs the buyer's national code (natural) or legal ID (legal): give it here when
    the customer was registered without it.
    """
    from crm_xl.ops import store

    if national_code and national_id:
        raise InputError(
            "یکی از --national-code (حقیقی) یا --national-id (حقوقی) را بدهید، نه هر دو",
            "give --national-code (natural) or --national-id (legal), not both",
            code="constraint-error",
            field="national_id",
        )
    plan = store.open_case(
        ctx.ws(), customer, products=products, at=at, national_id=national_code or national_id
    )
    _plan_out(ctx, plan, "case_no")


@case_group.command("cancel")
@click.argument("case")
@click.option("--reason", required=True, help="Why the sale fell through / علت لغو")
@click.option("--at", default=None, help="When (Jalali or ISO; default now)")
@force_dates_option
@json_option
@pass_ctx
@handle_errors
def case_cancel(ctx: Context, case: str, reason: str, at: str | None) -> None:
    """Cancel a sales case (void its invoices first); it stays, marked cancelled / لغو پرونده."""
    from crm_xl.ops import store

    _plan_out(ctx, store.cancel_case(ctx.ws(), case, reason=reason, at=at))


@main.group("contract")
def contract_group() -> None:
    """Contracts / قراردادها."""


@contract_group.command("add")
@click.argument("case")
@click.option("--amount", default=None, help="Contract amount in Rial")
@click.option("--at", default=None, help="Signing date (Jalali or ISO; default now)")
@force_dates_option
@json_option
@pass_ctx
@handle_errors
def contract_add(ctx: Context, case: str, amount: str | None, at: str | None) -> None:
    """Record a contract on a case; prints its number (R7) / ثبت قرارداد."""
    from crm_xl.ops import store

    _plan_out(ctx, store.add_contract(ctx.ws(), case, amount=amount, at=at), "contract_no")


@main.group("invoice", cls=LazyGroup, lazy=LAZY_INVOICE_COMMANDS)
def invoice_group() -> None:
    """Invoices and tax ids / فاکتورها."""


@main.command("void")
@click.argument("number")
@click.option("--reason", default="", help="Why it is voided")
@json_option
@pass_ctx
@handle_errors
def void_cmd(ctx: Context, number: str, reason: str) -> None:
    """Void a customer, case, contract or invoice number; it is never reused / ابطال شماره."""
    from crm_xl.ops import store

    _plan_out(ctx, store.void_number(ctx.ws(), number, reason=reason))


@main.command("demo")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--customers", default=36, show_default=True, help="How many sample customers")
@click.option("--seed", default=1405, show_default=True, help="Random seed")
@click.option("--no-macros", is_flag=True, hidden=True, help="No effect (kept for old scripts)")
@json_option
@pass_ctx
@handle_errors
def demo_cmd(ctx: Context, directory: Path, customers: int, seed: int, no_macros: bool) -> None:
    """A workspace with realistic sample data, then the manager's first view / نمونه."""
    from crm_xl.ops.demo import build_demo, print_overview

    del no_macros
    ws, summary = build_demo(directory, customers=customers, seed=seed)
    if ctx.json:
        emit(ctx, summary)
    else:
        print_overview(ws, summary)
