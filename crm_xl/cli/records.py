"""``crm-xl complaint|survey|plan|parties|import``: thin commands over ``crm_xl.extras``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, output_option, pass_ctx
from crm_xl.domain.changes import Plan
from crm_xl.domain.dates import now_tehran, to_jalali_str

_XLSX_HELP = "Also write the report workbook here / ذخیره گزارش در اکسل"


def _out(ctx: Context, plan: Plan) -> None:
    emit(ctx, plan.result, plan.message_fa, plan.message_en)


# --- complaints ------------------------------------------------------------------------------------


@click.group("complaint")
def complaint_group() -> None:
    """Customer complaints (ISO 10002/10003) / شکایات مشتریان."""


@complaint_group.command("add")
@click.argument("customer")
@click.option("--subject", required=True, help="What the customer complains about / موضوع")
@click.option("--channel", required=True, help="phone, email, in_person, telegram, … / کانال")
@click.option("--severity", required=True, help="low|medium|high / شدت")
@click.option("--case", "case_no", default=None, help="Case number (P-…) / شماره پرونده")
@click.option(
    "--cause",
    default=None,
    help="quality, delivery, price, service, staff, contract, warranty, other",
)
@click.option("--responsible", default=None, help="Who handles it (default: the customer's expert)")
@click.option("--at", default=None, help="Received (Jalali or ISO; default now)")
@json_option
@pass_ctx
@handle_errors
def complaint_add(ctx: Context, customer: str, **kw: Any) -> None:
    """Register a complaint; prints its number (CMP-00001) / ثبت شکایت."""
    from crm_xl.ops import complaints

    _out(ctx, complaints.add_complaint(ctx.ws(), customer, **kw))


@complaint_group.command("ack")
@click.argument("number")
@click.option("--at", default=None, help="When (default now)")
@json_option
@pass_ctx
@handle_errors
def complaint_ack(ctx: Context, number: str, at: str | None) -> None:
    """Acknowledge receipt to the complainant / اعلام وصول."""
    from crm_xl.ops import complaints

    _out(ctx, complaints.acknowledge(ctx.ws(), number, at=at))


@complaint_group.command("action")
@click.argument("number")
@click.option("--action", required=True, help="What will be done / شرح اقدام")
@click.option("--owner", required=True, help="Responsible person / مسئول")
@click.option("--due", required=True, help="Due (Jalali or ISO) / موعد")
@json_option
@pass_ctx
@handle_errors
def complaint_action(ctx: Context, number: str, action: str, owner: str, due: str) -> None:
    """Plan a follow-up action; it joins the owner's task list / ثبت اقدام."""
    from crm_xl.ops import complaints

    _out(ctx, complaints.add_action(ctx.ws(), number, action=action, owner=owner, due=due))


@complaint_group.command("action-done")
@click.argument("number")
@click.argument("row", type=int)
@click.option("--at", default=None, help="When (default now)")
@json_option
@pass_ctx
@handle_errors
def complaint_action_done(ctx: Context, number: str, row: int, at: str | None) -> None:
    """Mark action ROW of a complaint done / انجام اقدام."""
    from crm_xl.ops import complaints

    _out(ctx, complaints.action_done(ctx.ws(), number, row, at=at))


@complaint_group.command("resolve")
@click.argument("number")
@click.option("--resolution", required=True, help="How it was resolved / راه‌حل")
@click.option("--at", default=None, help="When (default now)")
@json_option
@pass_ctx
@handle_errors
def complaint_resolve(ctx: Context, number: str, resolution: str, at: str | None) -> None:
    """Record the resolution / ثبت راه‌حل."""
    from crm_xl.ops import complaints

    _out(ctx, complaints.resolve(ctx.ws(), number, resolution=resolution, at=at))


@complaint_group.command("close")
@click.argument("number")
@click.option("--at", default=None, help="When (default now)")
@json_option
@pass_ctx
@handle_errors
def complaint_close(ctx: Context, number: str, at: str | None) -> None:
    """Close a resolved complaint / بستن شکایت."""
    from crm_xl.ops import complaints

    _out(ctx, complaints.close(ctx.ws(), number, at=at))


@complaint_group.command("escalate")
@click.argument("number")
@click.option("--to", default="", help="Dispute resolution provider / مرجع حل اختلاف")
@click.option("--at", default=None, help="When (default now)")
@json_option
@pass_ctx
@handle_errors
def complaint_escalate(ctx: Context, number: str, to: str, at: str | None) -> None:
    """Refer an unresolved complaint to dispute resolution (ISO 10003) / ارجاع."""
    from crm_xl.ops import complaints

    _out(ctx, complaints.escalate(ctx.ws(), number, to=to, at=at))


@complaint_group.command("report")
@output_option("--xlsx", "out", help=_XLSX_HELP)
@json_option
@pass_ctx
@handle_errors
def complaint_report(ctx: Context, out: Path | None, force: bool) -> None:
    """Open complaints, overdue actions, counts by cause / گزارش شکایات."""
    from crm_xl.ops import complaints

    out = ctx.output(out, force) if out else None
    data = complaints.complaint_report(ctx.ws(), now_tehran(), out)
    lines = [f"open: {len(data['open'])} / total: {data['total']} / escalated: {data['escalated']}"]
    lines += [
        f"overdue: {a['complaint_no']} #{a['row_no']} {a['owner']} {to_jalali_str(a['due'])} {a['description']}"
        for a in data["overdue_actions"]
    ]
    lines += [f"{k}: {v}" for k, v in data["by_cause"].items()]
    if out:
        lines.append(str(out))
    emit(ctx, data, "گزارش شکایات", "complaints report", lines)


# --- satisfaction ------------------------------------------------------------------------------------


@click.group("survey")
def survey_group() -> None:
    """Customer satisfaction surveys (ISO 10004) / سنجش رضایت."""


@survey_group.command("add")
@click.argument("customer")
@click.option("--score", "scores", multiple=True, required=True, help="qN=1..5 (repeatable)")
@click.option("--case", "case_no", default=None, help="Case number (P-…)")
@click.option("--comment", default="", help="The customer's comment / نظر مشتری")
@click.option("--expert", default="", help="Expert (default: the case's or customer's)")
@click.option("--group", default="", help="Product group (default: from the case's products)")
@click.option("--at", default=None, help="Survey date (default today)")
@json_option
@pass_ctx
@handle_errors
def survey_add(ctx: Context, customer: str, scores: tuple[str, ...], **kw: Any) -> None:
    """Record a survey; marks the CRM step done for a Won customer / ثبت نظرسنجی.

    Questions: q1 product quality, q2 on-time delivery, q3 price and terms, q4 the sales
    expert, q5 after-sales service, q6 buy again / recommend.
    """
    from crm_xl.ops import surveys

    plan = surveys.add_survey(ctx.ws(), customer, scores=scores, **kw)
    crm = plan.result["crm"]
    lines = [] if crm["done"] else [f"CRM: {crm['reason']}"]
    emit(ctx, plan.result, plan.message_fa, plan.message_en, lines)


@survey_group.command("report")
@output_option("--xlsx", "out", help=_XLSX_HELP)
@json_option
@pass_ctx
@handle_errors
def survey_report(ctx: Context, out: Path | None, force: bool) -> None:
    """Averages and trends by expert, product group, Jalali month and quarter / گزارش رضایت."""
    from crm_xl.ops import surveys

    out = ctx.output(out, force) if out else None
    data = surveys.survey_report(ctx.ws(), now_tehran(), out)
    lines = [f"surveys: {data['count']}"]
    for title, key in (
        ("month", "by_month"),
        ("quarter", "by_quarter"),
        ("expert", "by_expert"),
        ("group", "by_group"),
    ):
        lines += [f"{title} {r['key']}: {r['average']} (n={r['count']})" for r in data[key]]
    if out:
        lines.append(str(out))
    emit(ctx, data, "گزارش رضایت مشتریان", "satisfaction report", lines)


# --- sales plans ------------------------------------------------------------------------------------


@click.group("plan")
def plan_group() -> None:
    """Sales plans against actual sales / برنامه فروش."""


@plan_group.command("add")
@click.option("--period", required=True, help="1405, 1405/Q2 or 1405/03 (Jalali) / دوره")
@click.option("--horizon", required=True, help="long|short / افق")
@click.option("--market", required=True, help="B2B|B2C / بازار")
@click.option("--group", default="", help="Product group / گروه کالا")
@click.option("--region", default="", help="Region / حوزه جغرافیایی")
@click.option("--expert", default="", help="Sales expert / کارشناس")
@click.option("--target", required=True, help="Target in Rial / هدف (ریال)")
@click.option("--note", default="", help="Note")
@json_option
@pass_ctx
@handle_errors
def plan_add(ctx: Context, **kw: Any) -> None:
    """Record a sales target / ثبت برنامه فروش."""
    from crm_xl.ops import plans

    _out(ctx, plans.add_plan(ctx.ws(), **kw))


@plan_group.command("report")
@output_option("--xlsx", "out", help=_XLSX_HELP)
@json_option
@pass_ctx
@handle_errors
def plan_report(ctx: Context, out: Path | None, force: bool) -> None:
    """Plan vs actual sales (invoices) with a chart / مقایسه برنامه و فروش واقعی."""
    from crm_xl.ops import plans

    out = ctx.output(out, force) if out else None
    data = plans.plan_report(ctx.ws(), now_tehran(), out)
    lines = [
        f"{r['period']} {r['market']} {r['product_group'] or '-'} {r['expert'] or '-'}: "
        f"{r['target']:,} / {r['actual']:,} ({r['achievement']}%)"
        for r in data["rows"]
    ]
    if out:
        lines.append(str(out))
    emit(ctx, data, "برنامه در برابر فروش واقعی", "plan vs actual", lines)


# --- parties and import ---------------------------------------------------------------------------------


@click.group("parties")
def parties_group() -> None:
    """The party database / بانک اطلاعات اشخاص."""


@parties_group.command("export")
@output_option("out", argument=True)
@json_option
@pass_ctx
@handle_errors
def parties_export(ctx: Context, out: Path, force: bool) -> None:
    """Export every party with all fields and the category tree to OUT (.xlsx) / خروجی اکسل."""
    from crm_xl.ops import parties

    out = ctx.output(out, force)
    data = parties.export_parties(ctx.ws(), out)
    lines = [f"parties: {data['parties']}, categories: {data['categories']}", data["xlsx"]]
    if data["missing_forms"]:
        lines.append(f"missing F-31-08-01: {', '.join(data['missing_forms'])}")
    emit(ctx, data, "خروجی اشخاص ساخته شد", "party database exported", lines)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--map", "mapping", default=None, help='Column mapping: "نام=name,موبایل=mobile,…"')
@click.option("--channel", default=None, help="Channel of rows without one (e.g. exhibition)")
@click.option("--expert", default=None, help="Sales expert of rows without one")
@click.option(
    "--preview/--commit", default=True, help="Only show what would happen (default) / write"
)
@json_option
@pass_ctx
@handle_errors
def import_cmd(
    ctx: Context,
    file: Path,
    mapping: str | None,
    channel: str | None,
    expert: str | None,
    preview: bool,
) -> None:
    """Import leads from CSV/XLSX: preview new/duplicate/invalid rows, then --commit / ورود سرنخ‌ها."""
    from crm_xl.ops import leads

    def progress(i: int, n: int) -> None:
        if not ctx.json and (i % 200 == 0 or i == n):
            click.echo(f"\r{i}/{n}", nl=i == n, err=True)

    data = leads.import_leads(
        ctx.ws(),
        file,
        mapping=mapping,
        channel=channel,
        expert=expert,
        commit=not preview,
        progress=progress,
    )
    if ctx.json:
        emit(ctx, data)
        return
    click.echo(f"mapping: {data['mapping']}")
    for x in data["leads"]:
        if x["status"] in ("duplicate", "invalid"):
            click.echo(
                f"  row {x['line']}: {x['status']} — {x['name'] or ''} — {'; '.join(x['reasons'])}"
            )
    if preview:
        click.echo(
            f"پیش‌نمایش: {data['new']} جدید، {data['duplicate']} تکراری، {data['invalid']} نامعتبر؛ برای ثبت --commit"
        )
        click.echo(
            f"preview: {data['new']} new, {data['duplicate']} duplicate, {data['invalid']} invalid; "
            "nothing written (use --commit)"
        )
    else:
        click.echo(
            f"{data['registered']} مشتری ثبت شد، {data['duplicate']} تکراری، {data['invalid']} نامعتبر"
        )
        click.echo(
            f"registered {data['registered']}, duplicate {data['duplicate']}, invalid {data['invalid']}"
        )


COMMANDS = [complaint_group, survey_group, plan_group, parties_group, import_cmd]
