"""Sales plans (B2B/B2C, long/short term) against actual sales from the register.

Actual sales are the register's active invoices: amount by the Jalali period of the issue
date, the expert of the invoice's case (else the customer's), the market of the customer
(legal person → B2B, natural person → B2C) and the product group of the case when the after-
sales catalog (F-31-07-01 per product: product code → product group) tells it and all the
case's products fall in one group.  A plan row's actual is the sum of the invoices inside
its period that match its market and, when the row names them, its expert and product group.
Region is not recorded on invoices or customers, so it does not filter the actual (it is
shown as planned).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from crm_xl.domain import decide
from crm_xl.domain.changes import Plan
from crm_xl.domain.dates import to_jalali_str
from crm_xl.domain.enums import PersonType, is_void
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.schema import F_31_07_01, PRODUCT
from crm_xl.domain.text import name_key, normalize
from crm_xl.io.workbook import FormBook, read_block_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.ops.books import (
    PLANS,
    PLANS_FORM,
    Horizon,
    Market,
    Report,
    as_int,
    in_period,
    jalali_month_key,
    jalali_quarter_key,
    label,
    log_row,
    parse_period,
    period_label,
    read_rows,
    write_book,
)

UNKNOWN_GROUP = "نامشخص"


def product_groups(ws: Workspace) -> dict[str, str]:
    """Product code → product group from the after-sales forms (F-31-07-01) of the workspace."""
    groups: dict[str, str] = {}
    root = ws.aftersales_dir
    if not root.exists():
        return groups
    for path in sorted(root.rglob("*.xlsx")):
        if path.name.startswith((".", "~$")):
            continue
        try:
            block = read_block_fast(path, F_31_07_01, PRODUCT.name)
        except (CrmError, KeyError):
            continue  # not an after-sales form (the catalog, a stray file)
        code, group = normalize(block.get("product_code")), normalize(block.get("product_group"))
        if code and group:
            groups[code] = group
    return groups


def case_group(case: dict[str, Any], groups: dict[str, str]) -> str:
    """The single product group of a case's products, else UNKNOWN_GROUP."""
    codes = [normalize(c) for c in str(case.get("products") or "").split(",") if normalize(c)]
    found = {groups.get(c) for c in codes}
    if len(found) == 1 and None not in found:
        return str(found.pop())
    return UNKNOWN_GROUP


def market_of(customer: dict[str, Any] | None) -> Market | None:
    if customer is None:
        return None
    try:
        ptype = PersonType.parse(customer.get("person_type"))
    except ValueError:
        return None
    return Market.B2B if ptype is PersonType.LEGAL else Market.B2C


def _rial(value: Any) -> int:
    amount = decide.parse_rial(value, "target")
    if amount is None:
        raise InputError(
            "هدف فروش خالی است", "the sales target is empty", code="required-error", field="target"
        )
    return amount


def add_plan(
    ws: Workspace,
    *,
    period: str,
    horizon: str,
    market: str,
    target: Any,
    group: str = "",
    region: str = "",
    expert: str = "",
    note: str = "",
    now: dt.datetime | None = None,
) -> Plan:
    who = store.actor(now)
    p = parse_period(period)
    try:
        hz, mk = Horizon.parse(horizon), Market.parse(market)
    except ValueError as e:
        raise InputError(str(e), str(e), code="constraint-error", field="horizon/market") from None
    values = {
        "period": period_label(p),
        "horizon": hz,
        "market": mk,
        "product_group": normalize(group) or None,
        "region": normalize(region) or None,
        "expert": normalize(expert) or None,
        "target": _rial(target),
        "note": normalize(note) or None,
    }

    def change(book: FormBook) -> int:
        rows = book.read_table(PLANS.name)
        seq = max((as_int(v.get("row_no")) for _, v in rows), default=0) + 1
        book.append_rows(PLANS.name, [{"row_no": seq, **values}])
        log_row(
            book, who, "plan-add", [str(seq)], json.dumps(values, ensure_ascii=False, default=str)
        )
        return seq

    seq = write_book(ws, PLANS_FORM, change)
    return Plan(
        "plan-add",
        result={"row_no": seq, **{k: str(v) if v is not None else None for k, v in values.items()}},
        message_fa=f"برنامه فروش ردیف {seq} ({values['period']}) ثبت شد",
        message_en=f"sales plan row {seq} ({values['period']}) recorded",
    )


def actual_sales(ws: Workspace, reg: decide.Register | None = None) -> list[dict[str, Any]]:
    """One record per active invoice: issued, month, quarter, amount, expert, market, group."""
    reg = reg or store.load_register(ws)
    groups = product_groups(ws)
    out: list[dict[str, Any]] = []
    for inv in reg.invoices.values():
        if is_void(inv.get("record_status")):
            continue
        issued, amount = inv.get("issued"), inv.get("amount")
        if not isinstance(issued, dt.date) or not isinstance(amount, int | float):
            continue
        case = reg.cases.get(normalize(str(inv.get("case_no") or ""))) or {}
        customer = reg.customers.get(normalize(str(inv.get("customer_no") or "")))
        expert = normalize(str(case.get("expert") or (customer or {}).get("expert") or ""))
        mk = market_of(customer)
        out.append(
            {
                "invoice_no": inv.get("invoice_no"),
                "issued": issued,
                "month": jalali_month_key(issued),
                "quarter": jalali_quarter_key(issued),
                "amount": int(amount),
                "expert": expert,
                "market": mk.value if mk else None,
                "group": case_group(case, groups),
            }
        )
    return out


def _matches(plan: dict[str, Any], sale: dict[str, Any], period: tuple[int, str, int]) -> bool:
    if not in_period(sale["issued"], period):
        return False
    try:
        if sale["market"] != Market.parse(plan.get("market")).value:
            return False
    except ValueError:
        return False
    expert = name_key(plan.get("expert"))
    if expert and name_key(sale["expert"]) != expert:
        return False
    group = name_key(plan.get("product_group"))
    return not (group and name_key(sale["group"]) != group)


def plan_vs_actual(ws: Workspace, reg: decide.Register | None = None) -> list[dict[str, Any]]:
    """Each plan row with its actual sales and achievement (percent of target)."""
    sales = actual_sales(ws, reg)
    out: list[dict[str, Any]] = []
    for plan in read_rows(ws, PLANS_FORM, PLANS):
        try:
            period = parse_period(plan.get("period"))
        except InputError:
            continue  # a hand-typed unreadable period; `validate` is where such cells are reported
        actual = sum(s["amount"] for s in sales if _matches(plan, s, period))
        target = as_int(plan.get("target"))
        out.append(
            {
                "row_no": plan.get("row_no"),
                "period": period_label(period),
                "horizon": label(Horizon, plan.get("horizon")),
                "market": label(Market, plan.get("market")),
                "product_group": plan.get("product_group") or "",
                "region": plan.get("region") or "",
                "expert": plan.get("expert") or "",
                "target": target,
                "actual": actual,
                "achievement": round(100 * actual / target, 1) if target else None,
            }
        )
    return out


def plan_report(ws: Workspace, now: dt.datetime, out: Path | None = None) -> dict[str, Any]:
    """Plan against actual; with ``out`` a workbook with a clustered bar chart (RTL)."""
    rows = plan_vs_actual(ws)
    data: dict[str, Any] = {"rows": rows}
    if out is None:
        return data
    rep = Report(
        out,
        company=ws.settings.company,
        title="مقایسه برنامه فروش با فروش واقعی",
        meta=(f"بر پایه: {PLANS_FORM.code}", f"تاریخ گزارش: {to_jalali_str(now, with_time=True)}"),
    )
    sheet = "برنامه و واقعی"
    sh = rep.sheet(
        sheet,
        "مبالغ به ریال",
        [
            ("دوره", 10),
            ("افق", 10),
            ("بازار", 13),
            ("گروه کالا", 14),
            ("حوزه", 12),
            ("کارشناس", 14),
            ("هدف (ریال)", 18),
            ("فروش واقعی (ریال)", 18),
            ("تحقق ٪", 9),
            ("برچسب نمودار", 26),
        ],
        [
            [
                r["period"],
                r["horizon"],
                r["market"],
                r["product_group"],
                r["region"],
                r["expert"],
                r["target"],
                r["actual"],
                r["achievement"],
                " · ".join(x for x in (r["expert"], r["product_group"], r["period"]) if x),
            ]
            for r in rows
        ],
        number_cols=[6, 7],
        decimals=[8],
        totals=[6, 7],
        printed=8,  # the chart's label column (J) stays off paper
    )
    if rows:
        n = len(rows)
        ch = rep.chart("column")
        for col, name, color in ((6, "هدف", "#4F81BD"), (7, "فروش واقعی", "#9BBB59")):
            ch.add_series(
                {
                    "name": name,
                    "categories": [sheet, 4, 9, 3 + n, 9],
                    "values": [sheet, 4, col, 3 + n, col],
                    "fill": {"color": color},
                    "gap": 80,
                }
            )
        ch.set_title(
            {"name": "برنامه در برابر فروش واقعی", "name_font": {"name": "Tahoma", "size": 11}}
        )
        # Categories run right to left like the sheet; the value axis then sits on the right.
        ch.set_x_axis({"reverse": True, "num_font": {"name": "Tahoma", "size": 8, "rotation": -30}})
        ch.set_y_axis(
            {
                "num_format": "#,##0",
                "num_font": {"name": "Tahoma", "size": 8},
                "major_gridlines": {"visible": True},
            }
        )
        ch.set_size({"width": 760, "height": 340})
        sh.insert_chart(5 + n, 0, ch)
    rep.close()
    data["xlsx"] = str(out)
    return data
