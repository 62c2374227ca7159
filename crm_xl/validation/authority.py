"""Cross-check of a workspace and the company-wide number authority (SPEC §12).

With an authority, an office's register has gaps by design (the other offices' numbers), so
the register's own ``number-gap`` findings give way to the authority's account of every
number this office was issued: used ones must be in the register, pending ones are still to
be settled, void ones were issued but never used. Every number in the register must have
been issued to this office; one the authority gave another office is a company-wide
duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from crm_xl.domain.errors import CrmError
from crm_xl.domain.settings import Settings
from crm_xl.validation.rules import Sink, TableData, as_text
from crm_xl.validation.workspace import logged_numbers

#: (table, key field, kind) of the numbers a register row carries.
_NUMBERED = (
    ("Customers", "customer_no", "customer"),
    ("Cases", "case_no", "case"),
    ("Cases", "contract_no", "contract"),
    ("Invoices", "invoice_no", "invoice"),
)


def _register_numbers(
    tables: Mapping[str, TableData],
) -> dict[str, tuple[str, TableData, int, str]]:
    """number → (kind, table, row index, field) of every number in the register's rows."""
    out: dict[str, tuple[str, TableData, int, str]] = {}
    for tname, key, kind in _NUMBERED:
        td = tables.get(tname)
        if td is None or key not in td.parsed:
            continue
        for i, v in enumerate(td.parsed[key]):
            if v is not None:
                out.setdefault(as_text(v).strip(), (kind, td, i, key))
    return out


def check_authority(
    sink: Sink,
    reg_sink: Sink | None,
    tables: Mapping[str, TableData],
    settings: Settings,
    root: Path,
) -> None:
    """Compare the register (rows and change log) with the authority's issues to this office."""
    from crm_xl.io.authority import office_issues, workspace_id
    from crm_xl.io.workspace import Workspace

    cfg = settings.authority
    if cfg is None:
        return
    in_rows = _register_numbers(tables)
    logged, _ = logged_numbers(tables.get("Log"))
    try:
        got = office_issues(cfg, in_rows)
    except CrmError as e:
        sink.add("authority-unreachable", e.fa, e.en, field=e.location.field)
        return
    where = {"file": str(root / "settings.json"), "field": "authority.office"}
    office = got["office"]
    if office is None:
        sink.add("authority-office",
                 f"دفتر «{cfg.office}» هنوز در سرور شماره‌دهی ثبت نشده است («crm-xl authority init»)",
                 f"office '{cfg.office}' is not known to the authority yet (run 'crm-xl authority init')",
                 **where)  # fmt: skip
    elif office[0] != workspace_id(Workspace(root), create=False):  # a path differs per computer
        sink.add("authority-office",
                 f"سرور شماره‌دهی دفتر «{cfg.office}» را با پوشه دیگری می‌شناسد ({office[1]} روی {office[2]})",
                 f"the authority knows office '{cfg.office}' as another workspace ({office[1]} on {office[2]})",
                 **where)  # fmt: skip
    if reg_sink is not None:
        # Gaps are the other offices' numbers; the authority accounts for this office's.
        reg_sink.findings = [f for f in reg_sink.findings if f.code != "number-gap"]
    issued: dict[str, str] = {}
    for issue in got["issues"]:
        number, status, kind = issue["number"], issue["status"], issue["kind"]
        issued[number] = status
        what = f"{kind} {number} ({issue['operation']})"
        if status == "void":
            sink.add("authority-void",
                     f"شماره {number} صادر شد ولی به کار نرفت (باطل)؛ دیگر صادر نمی‌شود",
                     f"{what} was issued but not used (void); it is never issued again",
                     value=number)  # fmt: skip
        elif status == "pending":
            sink.add("authority-pending",
                     f"شماره {number} صادر شده و هنوز تسویه نشده؛ دستور بعدی این دفتر آن را تسویه می‌کند",
                     f"{what} is issued but not settled yet; the office's next command settles it",
                     value=number)  # fmt: skip
        elif kind != "tax" and number not in in_rows and number not in logged:
            sink.add("authority-missing",
                     f"شماره {number} به این دفتر صادر و به کار رفته ولی در دفتر ثبت نیست"
                     " (نسخه پشتیبان قدیمی؟ ردیف پاک‌شده؟)",
                     f"{what} was issued to this office and used but is not in the register"
                     " (an old backup restored? a row deleted?)",
                     value=number)  # fmt: skip
    elsewhere = {e["number"]: e["office"] for e in got["elsewhere"]}
    target = reg_sink or sink
    for number, (_kind, td, i, key) in in_rows.items():
        if number in elsewhere:
            target.add("authority-other-office",
                       f"شماره {number} را سرور به دفتر «{elsewhere[number]}» داده است: در شرکت تکراری است",
                       f"{number} was issued to office '{elsewhere[number]}': a duplicate company-wide",
                       **td.where(key, i))  # fmt: skip
        elif number not in issued:
            target.add("authority-unknown",
                       f"شماره {number} را سرور شماره‌دهی صادر نکرده است (پیش از آن یا دستی)",
                       f"{number} was not issued by the number authority (made before it, or by hand)",
                       **td.where(key, i))  # fmt: skip
    log = tables.get("Log")
    if office is not None and log is not None and office[3] < len(log):
        sink.add("authority-log-behind",
                 f"{len(log) - office[3]} ردیف گزارش تغییرات هنوز به گزارش شرکت نرسیده؛ دستور بعدی می‌فرستد",
                 f"{len(log) - office[3]} change-log rows are not in the company log yet;"
                 " the next command copies them",
                 **where)  # fmt: skip
