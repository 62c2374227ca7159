"""Moadian invoices in the register: the checks ``invoice issue`` runs, on what the register holds.

Every invoice with lines (or a Moadian subject) is rebuilt from its row and its rows of the
lines table and given ``moadian.invoice_problems`` and, when it refers to an invoice of the
register, ``moadian.correction_problems``: one rule set for the write commands and ``validate``
(SPEC §10). Amount-only invoices are register records without lines and are left alone.
A cell the column checks already reported (unreadable, or a required one left blank) is not
reported again.
"""

from __future__ import annotations

from crm_xl.domain import invoicing
from crm_xl.domain import moadian as m
from crm_xl.domain.settings import Settings
from crm_xl.validation.rules import Sink, TableData, as_text, is_blank


def _reported(td: TableData, key: str, i: int, code: str) -> bool:
    """The column checks already spoke about this cell."""
    raw, parsed = td.raw[key][i], td.parsed[key][i]
    if parsed is None and not is_blank(raw):
        return True  # unreadable or invalid: reported with its cell
    f = td.table.field(key)
    return code == "required-error" and is_blank(raw) and f.required


class _Where:
    """Locates a problem of invoice row ``i`` (lines ``js``) at its register cell."""

    def __init__(self, invoices: TableData, lines: TableData | None) -> None:
        self.invoices, self.lines = invoices, lines

    def __call__(self, p: m.Problem, i: int, js: list[int]) -> tuple[TableData, int, str]:
        if p.line and self.lines is not None and p.line <= len(js):
            key = p.key if p.key in self.lines.letters else "invoice_no"
            return self.lines, js[p.line - 1], key
        key = invoicing.REGISTER_COLUMN.get(p.key, p.key)
        return self.invoices, i, key if key in self.invoices.letters else "invoice_no"


def invoice_rules(
    sink: Sink, invoices: TableData | None, lines: TableData | None, settings: Settings
) -> None:
    """Lines belong to an invoice; each Moadian invoice passes the offline checks."""
    if invoices is None:
        return
    P = invoices.parsed
    numbers = {str(n) for n in P["invoice_no"] if n is not None}
    by_no: dict[str, list[int]] = {}
    if lines is not None:
        for j, no in enumerate(lines.parsed["invoice_no"]):
            if no is None:
                continue
            if str(no) not in numbers:
                sink.add("cross-field-error", f"ردیف کالای فاکتور «{no}» که در جدول فاکتورها نیست",
                         f"a line of invoice {no}, which is not in the invoices table",
                         **lines.where("invoice_no", j))  # fmt: skip
                continue
            by_no.setdefault(str(no), []).append(j)
    where = _Where(invoices, lines)
    seller_required = bool(settings.fiscal_memory_id)
    built: dict[int, tuple[m.Invoice, list[int], bool]] = {}
    by_tax: dict[str, int] = {}
    for i in range(len(invoices)):
        no = P["invoice_no"][i]
        js = by_no.get(str(no), []) if no is not None else []
        row = {k: invoices.raw[k][i] for k in invoices.table.keys}
        if not js and is_blank(row["ins"]):
            continue  # an amount-only invoice
        if lines is not None:
            js = sorted(js, key=lambda j: int(lines.parsed["line_no"][j] or 0))  # type: ignore[call-overload]
            line_rows = [{k: lines.raw[k][j] for k in lines.table.keys} for j in js]
        else:
            line_rows = []
        inv, problems = invoicing.invoice_from_register(row, line_rows)
        readable = not problems
        issued = not is_blank(row["tax_id"])
        problems += m.invoice_problems(inv, issued=issued, seller_required=seller_required)
        amount = P["amount"][i]
        if isinstance(amount, int) and inv.header.tbill is not None and amount != inv.header.tbill:
            problems.append(
                m.Problem(
                    "total-error",
                    f"مبلغ فاکتور {amount:,} با مجموع صورتحساب (tbill) {inv.header.tbill:,} یکی نیست",
                    f"the amount {amount:,} differs from the invoice total (tbill) {inv.header.tbill:,}",
                    "amount",
                )
            )
        _report(sink, where, problems, i, js)
        built[i] = (inv, js, readable)
        if inv.header.taxid:
            by_tax.setdefault(inv.header.taxid, i)
    for i, (inv, js, readable) in built.items():
        ref = inv.header.irtaxid
        if inv.header.ins not in (2, 3, 4) or not ref or ref not in by_tax:
            continue
        o = by_tax[ref]
        if readable and built[o][2]:  # an unreadable cell would only echo as a mismatch here
            _report(sink, where, m.correction_problems(built[o][0], inv), i, js)
        if is_blank(invoices.raw["superseded_by"][o]):
            later = as_text(P["invoice_no"][i])
            sink.add("correction-error",
                     f"فاکتور {later} به این فاکتور ارجاع دارد ولی «فاکتور جایگزین» آن خالی است",
                     f"invoice {later} refers to this one, but its 'superseded by' is blank",
                     **invoices.where("superseded_by", o))  # fmt: skip


def _report(sink: Sink, where: _Where, problems: list[m.Problem], i: int, js: list[int]) -> None:
    seen: set[tuple[str, int, str]] = set()
    for p in problems:
        td, idx, key = where(p, i, js)
        if _reported(td, key, idx, p.code) or (td.sheet, idx, key) in seen:
            continue
        seen.add((td.sheet, idx, key))  # one finding per cell: the first reason is the cause
        sink.add(p.code, p.fa, p.en, **td.where(key, idx))


__all__ = ["invoice_rules"]
