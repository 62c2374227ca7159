"""``crm-xl product …``: after-sales forms (F-31-07-01), a thin layer over ``crm_xl.ops.products``."""

from __future__ import annotations

from typing import Any

import click

from crm_xl.cli.common import Context, emit, handle_errors, json_option, pass_ctx
from crm_xl.domain.clause import clause_lines
from crm_xl.ops import products

SERVICE_HELP = (
    "An after-sales service the product includes (repeatable): "
    "SERVICE[:PERIOD[:COST[:PROVIDER]]]. SERVICE: installation, commissioning, training, "
    "inspection, servicing, replacement, calibration (or the Persian label). COST in Rial, "
    "grouping and Persian digits accepted (12,500,000 / ۱۲٬۵۰۰٬۰۰۰); empty or 0 = free "
    "(رایگان). ':' separates the parts. "
    "Example: --service 'installation:یک‌بار:0:نمایندگی' --service 'training::12,500,000'"
)


@click.group("product")
def product_group() -> None:
    """After-sales service of products, form F-31-07-01 / خدمات پس از فروش کالا.

    One form per product in after-sales/, and after-sales/catalog.xlsx across products,
    rebuilt on every change.
    """


@product_group.command("add")
@click.option("--code", required=True, help="Product code (also the file name) / کد کالا")
@click.option("--name", required=True, help="Product name / نام کالا")
@click.option("--group", default=None, help="Product group / گروه کالا")
@click.option("--brand", default=None, help="Brand / برند")
@click.option("--manufacturer", default=None, help="Manufacturer / سازنده")
@click.option("--origin", required=True, help="imported|domestic (وارداتی|تولید داخل)")
@click.option("--service", "services", multiple=True, metavar="SPEC", help=SERVICE_HELP)
@click.option(
    "--commitment", default=None, help="Reference of the manufacturer's written commitment"
)
@click.option("--commitment-date", default=None, help="Its date (Jalali or ISO)")
@click.option(
    "--no-service",
    is_flag=True,
    help="The product has no after-sales service (needs --reason); recorded as to be stated "
    "in every contract / proforma (see 'product clause')",
)
@click.option(
    "--reason", default=None, help="sanctions|simplicity|distance|no_knowledge|other (علت)"
)
@click.option("--reason-note", default=None, help="Details of the reason (required for 'other')")
@click.option("--guarantee", default=None, help="Guarantee terms, kept apart / گارانتی")
@click.option("--warranty", default=None, help="Warranty terms, kept apart / وارانتی")
@click.option("--note", "notes", default=None, help="Notes / توضیحات")
@click.option("--replace", is_flag=True, help="Overwrite an existing product (old form backed up)")
@json_option
@pass_ctx
@handle_errors
def product_add(
    ctx: Context, services: tuple[str, ...], no_service: bool, replace: bool, **kw: Any
) -> None:
    """Record a product's after-sales service (writes its F-31-07-01) / ثبت کالا.

    \b
    With service:    --service SPEC ... --commitment REF [--commitment-date D]
    Without service: --no-service --reason REASON [--reason-note TEXT]
    """
    ws = ctx.ws()
    profile = products.build_profile(services=list(services), no_service=no_service, **kw)
    path = products.add_product(ws, profile, replace=replace)
    emit(
        ctx,
        {"code": profile.product_code, "file": path, "catalog": products.catalog_path(ws)},
        f"فرم خدمات پس از فروش کالای {profile.product_code} ثبت شد",
        f"after-sales form of product {profile.product_code} written",
        [str(path)],
    )


@product_group.command("list")
@json_option
@pass_ctx
@handle_errors
def product_list(ctx: Context) -> None:
    """List products and their after-sales status / فهرست کالاها."""
    records = products.list_products(ctx.ws())
    rows = [products.record_summary(r) for r in records]
    if ctx.json:
        emit(ctx, rows)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("code", "name", "service", "detail", "form")
    for r in rows:
        if r.get("has_service"):
            detail = ", ".join(s["service"] for s in r["services"])
        else:
            detail = str(r.get("no_service_reason") or "")
        t.add_row(
            r["code"],
            str(r.get("name") or ""),
            {True: "yes", False: "no"}.get(r.get("has_service"), "?"),  # type: ignore[arg-type]
            detail,
            "ok" if r["complete"] else f"{len(r['findings'])} finding(s)",
        )
    Console().print(t)


@product_group.command("show")
@click.argument("code")
@json_option
@pass_ctx
@handle_errors
def product_show(ctx: Context, code: str) -> None:
    """Show one product's after-sales record and its findings / نمایش کالا."""
    data = products.record_summary(products.product_record(ctx.ws(), code))
    if ctx.json:
        emit(ctx, data)
        return
    for k, v in data.items():
        if k in ("services", "findings") or v in (None, ""):
            continue
        click.echo(f"{k}: {v}")
    for s in data.get("services", []):
        click.echo(
            f"  - {s['service']}: {s['period'] or ''} {s['cost_text']} {s['provider'] or ''}"
        )
    for f in data["findings"]:
        click.echo(f"{f['severity']} {f['code']} {f['sheet']}!{f['cell']}: {f['message_fa']}")
        click.echo(f"    {f['message_en']}")


@product_group.command("clause")
@click.argument("code")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Plain Persian text, or JSON with the lines",
)
@json_option
@pass_ctx
@handle_errors
def product_clause(ctx: Context, code: str, fmt: str) -> None:
    """The after-sales clause for a contract or proforma / بند خدمات پس از فروش."""
    ws = ctx.ws()
    profile = products.load_product(ws, code)
    lines = clause_lines(profile, company=ws.settings.company)
    if fmt == "json" or ctx.json:
        ctx.json = True
        emit(
            ctx,
            {
                "code": profile.product_code,
                "has_service": profile.has_service,
                "lines": lines,
                "clause": "\n".join(lines),
            },
        )
        return
    for line in lines:
        click.echo(line)


@product_group.command("catalog")
@json_option
@pass_ctx
@handle_errors
def product_catalog(ctx: Context) -> None:
    """Rebuild after-sales/catalog.xlsx from the forms (after editing them by hand)."""
    path = products.rebuild_catalog(ctx.ws())
    emit(ctx, {"catalog": path}, "فهرست کالاها بازسازی شد", "catalog rebuilt", [str(path)])


COMMANDS = [product_group]
