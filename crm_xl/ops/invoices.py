"""Moadian-ready invoices on a workspace: issue with lines, correct, cancel, return, export.

The decisions are ``domain.invoicing`` (pure); this module reads what they need, runs them
through ``store.run`` (lock, decide, write) and writes the exports: one JSON per invoice in
the tax system's shape, or the two-sheet Excel. Signing and sending stay outside the toolkit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from crm_xl.domain import invoicing
from crm_xl.domain import moadian as m
from crm_xl.domain.changes import Plan
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.schema import F_31_08_02, INVOICE_LINES, INVOICES
from crm_xl.domain.settings import SETTINGS_FILE
from crm_xl.domain.text import normalize
from crm_xl.io.moadian_xlsx import write_tax_excel
from crm_xl.io.safety import atomic_write
from crm_xl.io.workbook import read_table_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.ops.books import in_period, parse_period
from crm_xl.ops.leads import read_source

# --- reading lines ------------------------------------------------------------------------------


def _with_file(e: InputError, path: Path) -> InputError:
    return InputError(e.fa, e.en, code=e.code, file=path, field=e.location.field)


def read_lines_file(path: Path) -> list[invoicing.LineInput]:
    """Lines from a .csv or .xlsx with a header row (sstid, sstt, am, mu, fee[, dis, vra])."""
    headers, rows, _ = read_source(Path(path))
    try:
        return invoicing.lines_from_table(headers, rows)
    except InputError as e:
        raise _with_file(e, Path(path)) from None


def parse_lines(specs: Iterable[str], file: Path | None = None) -> list[invoicing.LineInput]:
    """``--line`` texts then the rows of ``--lines FILE``, numbered in that order."""
    lines = [invoicing.parse_line(s, n) for n, s in enumerate(specs, 1)]
    if file is not None:
        lines += read_lines_file(file)
    return lines


def parse_returned(specs: Iterable[str]) -> dict[int, Decimal]:
    """``--returned "LINE|QTY"``: how much of each line of the original comes back."""
    out: dict[int, Decimal] = {}
    for text in specs:
        line, sep, qty = text.partition("|")
        n = m.parse_decimal(line, "am") if sep else Decimal(-1)
        if not sep or n != n.to_integral_value() or n < 1:
            raise InputError(
                f"«{text}» باید به شکل «ردیف|مقدار برگشتی» باشد، مثل 2|1",
                f"'{text}' must look like 'LINE|QTY returned', e.g. 2|1",
                code="type-error",
                field="returned",
            )
        out[int(n)] = out.get(int(n), Decimal(0)) + m.parse_decimal(qty, "am", int(n))
    return out


# --- the operations ----------------------------------------------------------------------------


def issue(
    ws: Workspace, case_no: str, inp: invoicing.NewInvoice, *, now: datetime | None = None
) -> Plan:
    """Issue an original invoice with lines on a case (every check before anything is spent)."""
    who = store.actor(now)
    return store.run(ws, lambda reg: invoicing.issue_invoice(reg, case_no, inp, who), now=who.now)


def _line_rows(ws: Workspace, number: str) -> list[dict[str, object]]:
    """The invoice's rows of the lines table, in line order (written once, never changed)."""
    no = normalize(number)
    rows = [
        r
        for _, r in read_table_fast(ws.register_path, F_31_08_02, INVOICE_LINES.name)
        if normalize(r.get("invoice_no")) == no
    ]
    return sorted(rows, key=lambda r: _int(r.get("line_no")))


def _int(v: object) -> int:
    try:
        return int(str(v))
    except ValueError:
        return 0


def follow_up(
    ws: Workspace, number: str, inp: invoicing.FollowUp, *, now: datetime | None = None
) -> Plan:
    """A corrective (2), void (3) or return (4) invoice referring to ``number``."""
    who = store.actor(now)
    lines = _line_rows(ws, number)
    return store.run(
        ws,
        lambda reg: invoicing.follow_up(reg, number, inp, who, original_lines=lines),
        now=who.now,
    )


# --- export -------------------------------------------------------------------------------------


@dataclass
class RegisterInvoice:
    number: str
    row: dict[str, object]
    lines: list[dict[str, object]]
    issued: datetime | None


def register_invoices(ws: Workspace) -> list[RegisterInvoice]:
    """Every invoice of the register with its lines (read-only: no lock needed)."""
    path = ws.register_path
    by_no: dict[str, list[dict[str, object]]] = {}
    for _, r in read_table_fast(path, F_31_08_02, INVOICE_LINES.name):
        by_no.setdefault(normalize(r.get("invoice_no")), []).append(r)
    out = []
    for _, row in read_table_fast(path, F_31_08_02, INVOICES.name):
        no = normalize(row.get("invoice_no"))
        if not no:
            continue
        lines = sorted(by_no.get(no, []), key=lambda r: _int(r.get("line_no")))
        out.append(RegisterInvoice(no, row, lines, invoicing.issued_moment(row)))
    return out


def select(
    invoices: Sequence[RegisterInvoice], numbers: Sequence[str], period: str | None
) -> list[RegisterInvoice]:
    """The invoices named, or those with lines issued in ``period`` (1405, 1405/08, 1405/Q3)."""
    if numbers and period:
        raise InputError(
            "یا شماره فاکتورها یا دوره، نه هر دو",
            "give invoice numbers or a period, not both",
            code="usage-error",
            field="period",
        )
    if not numbers and not period:
        raise InputError(
            "شماره فاکتور یا --period لازم است",
            "give invoice numbers or --period",
            code="required-error",
            field="period",
        )
    index = {i.number: i for i in invoices}
    if numbers:
        out = []
        for n in numbers:
            found = index.get(normalize(n))
            if found is None:
                raise InputError(
                    f"فاکتور «{n}» در دفتر ثبت نیست",
                    f"no invoice numbered '{n}' in the register",
                    code="not-found",
                    field="invoice_no",
                )
            out.append(found)
        return out
    p = parse_period(period)
    return [i for i in invoices if i.lines and i.issued is not None and in_period(i.issued, p)]


def tax_invoice(ri: RegisterInvoice) -> m.Invoice:
    """The invoice as the tax system takes it, or InputError naming invoice, line and field."""
    if not ri.lines:
        raise InputError(
            f"فاکتور {ri.number} ردیف کالا ندارد (فاکتور فقط‌مبلغ) و برای سامانه مودیان صادر نمی‌شود",
            f"invoice {ri.number} has no lines (an amount-only invoice): nothing to send to Moadian",
            code="required-error",
            field="lines",
        )
    inv, problems = invoicing.invoice_from_register(ri.row, ri.lines)
    problems += m.invoice_problems(inv)
    if problems:
        p = problems[0]
        more_fa = f" (و {len(problems) - 1} ایراد دیگر)" if len(problems) > 1 else ""
        more_en = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(
            f"فاکتور {ri.number}: {p.fa}{more_fa}",
            f"invoice {ri.number}: {p.en}{more_en}",
            code=p.code,
            sheet=INVOICE_LINES.sheet if p.line else INVOICES.sheet,
            field=p.field,
        )
    return inv


def check_output(ws: Workspace, path: Path, *, force: bool, folder: bool = False) -> Path:
    """Refuse an output that would land on a workspace record, or overwrite without ``force``."""
    target = Path(path).resolve()
    protected_dirs = (ws.customers_dir, ws.archive_dir, ws.aftersales_dir, ws.internal_dir)
    records = {(ws.root / f"F-31-08-02{s}").resolve() for s in (".xlsx", ".xlsm")} | {
        (ws.root / SETTINGS_FILE).resolve()
    }
    inside = any(
        target == d.resolve() or target.is_relative_to(d.resolve()) for d in protected_dirs
    )
    if inside or target in records:
        raise CrmError(
            f"«{target}» از سوابق پوشه کاری است و خروجی روی آن نوشته نمی‌شود",
            f"'{target}' is a workspace record; an export is never written there",
            code="unsafe-path",
            file=target,
        )
    if not folder and target.exists() and not force:
        raise CrmError(
            f"«{target.name}» از قبل هست؛ برای بازنویسی --force بدهید",
            f"'{target.name}' already exists; pass --force to overwrite it",
            code="file-exists",
            file=target,
        )
    return target


def _tax_invoices(
    ws: Workspace, numbers: Sequence[str], period: str | None
) -> list[tuple[str, m.Invoice]]:
    chosen = select(register_invoices(ws), numbers, period)
    return [(ri.number, tax_invoice(ri)) for ri in chosen]  # all checked before one is written


def export_json(
    ws: Workspace,
    directory: Path,
    *,
    numbers: Sequence[str] = (),
    period: str | None = None,
    force: bool = False,
) -> list[Path]:
    """One ``<invoice number>.json`` per invoice in ``directory``, in the tax system's shape."""
    folder = check_output(ws, directory, force=force, folder=True)
    invoices = _tax_invoices(ws, numbers, period)
    targets = [folder / f"{no}.json" for no, _ in invoices]
    for t in targets:
        check_output(ws, t, force=force)
    folder.mkdir(parents=True, exist_ok=True)
    for (_, inv), target in zip(invoices, targets, strict=True):
        atomic_write(target, _json_writer(inv), backups=None)
    return targets


def _json_writer(inv: m.Invoice) -> Callable[[Path], None]:
    text = json.dumps(inv.to_json(), ensure_ascii=False, indent=2) + "\n"

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return write


def export_xlsx(
    ws: Workspace,
    path: Path,
    *,
    numbers: Sequence[str] = (),
    period: str | None = None,
    force: bool = False,
) -> Path:
    """The two-sheet Excel (headers; lines keyed by invoice number) at ``path``."""
    target = check_output(ws, path, force=force)
    if target.suffix.lower() != ".xlsx":
        raise InputError(
            "خروجی اکسل باید پسوند .xlsx داشته باشد",
            "the Excel export must be a .xlsx file",
            code="type-error",
            file=target,
        )
    invoices = _tax_invoices(ws, numbers, period)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_tax_excel(target, invoices)


__all__ = [
    "RegisterInvoice",
    "check_output",
    "export_json",
    "export_xlsx",
    "follow_up",
    "issue",
    "parse_lines",
    "parse_returned",
    "read_lines_file",
    "register_invoices",
    "select",
    "tax_invoice",
]
