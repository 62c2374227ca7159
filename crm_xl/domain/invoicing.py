"""Moadian-ready invoices as register decisions: a snapshot and what was typed in, a ``Plan`` out.

An invoice issued with lines carries the tax system's header (``moadian.Header``) in its
register row and one row per line in the lines table. Every offline check runs here *before*
``decide._issue`` spends an invoice number or a tax serial: a refusal leaves counters,
register and change log as they were (the plan is never applied).

A corrective (ins 2), void (ins 3) or return (ins 4) invoice refers to the original's tax id
(``irtaxid``); the original is then marked: record status void and ``superseded_by``. A void
invoice is itself recorded void, so neither counts in the case's total; the corrective or
return invoice is the live one. Amount-only invoices (``decide.issue_invoice``) stay as they
are: register records without lines, which the tax export refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm_xl.domain import decide, ids
from crm_xl.domain import moadian as m
from crm_xl.domain.changes import AppendRow, Plan, UpdateRow
from crm_xl.domain.dates import TEHRAN, parse_datetime
from crm_xl.domain.enums import LabeledEnum, PersonType, RecordStatus, is_void
from crm_xl.domain.errors import InputError
from crm_xl.domain.schema import INVOICE_LINES, INVOICES
from crm_xl.domain.text import normalize, normalize_numeric

Row = dict[str, Any]

#: Register column of a header field where the two names differ.
REGISTER_COLUMN = {"taxid": "tax_id", "inno": "tax_id", "indatim": "issued", "indati2m": "issued"}
#: Header fields the register keeps, by their specification key.
HEADER_KEYS = (
    "ins",
    "irtaxid",
    "inty",
    "inp",
    "tob",
    "bid",
    "tinb",
    "bpc",
    "tins",
    "setm",
    "cap",
    "insp",
    "tprdis",
    "tdis",
    "tadis",
    "tvam",
    "todam",
    "tbill",
)
LINE_KEYS = ("sstid", "sstt", "am", "mu", "fee", "prdis", "dis", "adis", "vra", "vam", "tsstam")
_ENUM_OF: dict[str, type[LabeledEnum]] = {
    "ins": m.InvoiceSubject,
    "inty": m.InvoiceType,
    "inp": m.InvoicePattern,
    "tob": m.BuyerType,
    "setm": m.Settlement,
}
_TEXT_KEYS = ("irtaxid", "bid", "tinb", "bpc", "tins")
_SUBJECT_OPERATION = {2: "invoice-correct", 3: "invoice-cancel", 4: "invoice-return"}


# --- what a person typed ----------------------------------------------------------------------


@dataclass
class LineInput:
    """One line as typed: ``--line "SSTID|description|qty|unit|fee[|discount[|vat%]]"`` or a
    row of a lines file. ``given`` holds amounts the file stated (prdis, adis, vam, tsstam):
    they must agree with the toolkit's own arithmetic."""

    sstid: str
    sstt: str
    am: Decimal
    mu: str
    fee: int
    dis: int = 0
    dis_percent: Decimal | None = None
    vra: Decimal | None = None
    given: dict[str, int] = field(default_factory=dict)


def _parts_error(n: int, text: str) -> InputError:
    return InputError(
        f"ردیف {n}: «{text}» باید به شکل «شناسه|شرح|مقدار|واحد|مبلغ واحد[|تخفیف[|نرخ مالیات]]» باشد",
        f"line {n}: '{text}' must look like 'SSTID|description|qty|unit|fee[|discount[|vat%]]'",
        code="type-error",
        field=f"lines[{n}]",
    )


def _discount(text: str, n: int) -> tuple[int, Decimal | None]:
    t = normalize(text)
    if not t:
        return 0, None
    if t.endswith(("%", "٪")):
        return 0, m.parse_decimal(t[:-1], "dis", n)
    return m.parse_rials(t, "dis", n), None


def _rate(text: object, n: int) -> Decimal | None:
    t = normalize(text)
    return m.parse_decimal(t.rstrip("%٪"), "vra", n) if t else None


def parse_line(text: str, n: int) -> LineInput:
    """``SSTID|description|qty|unit|fee[|discount[|vat%]]``; a discount ending in % is a share."""
    parts = [p.strip() for p in text.split("|")]
    if not 5 <= len(parts) <= 7:
        raise _parts_error(n, text)
    sstid, sstt, qty, unit, fee = parts[:5]
    dis, share = _discount(parts[5] if len(parts) > 5 else "", n)
    return LineInput(
        sstid=normalize_numeric(sstid),
        sstt=normalize(sstt),
        am=m.parse_decimal(qty, "am", n),
        mu=m.unit_code(unit, n),
        fee=m.parse_rials(fee, "fee", n),
        dis=dis,
        dis_percent=share,
        vra=_rate(parts[6] if len(parts) > 6 else "", n),
    )


#: Column names a lines file may use, by field (keys, Persian labels and plain words).
_FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "sstid": ("sstid", "شناسه کالا", "کد کالا", "goods id"),
    "sstt": ("sstt", "شرح", "شرح کالا", "description"),
    "am": ("am", "تعداد", "مقدار", "qty", "quantity"),
    "mu": ("mu", "واحد", "unit"),
    "fee": ("fee", "مبلغ واحد", "فی", "unit fee", "price"),
    "dis": ("dis", "تخفیف", "discount"),
    "vra": ("vra", "نرخ مالیات", "نرخ مالیات بر ارزش افزوده", "vat", "vat%"),
    "prdis": ("prdis",),
    "adis": ("adis",),
    "vam": ("vam", "مالیات بر ارزش افزوده"),
    "tsstam": ("tsstam", "مبلغ کل", "total"),
}


def lines_from_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[LineInput]:
    """Lines from a file's header row and rows (text cells); blank rows are skipped.

    Columns are found by key (sstid, sstt, am, mu, fee, dis, vra), Persian label or plain
    word; prdis, adis, vam and tsstam, when present, are checked against the arithmetic.
    """
    names = {normalize(h).lower(): i for i, h in enumerate(headers) if normalize(h)}
    cols: dict[str, int] = {}
    for key, words in _FILE_COLUMNS.items():
        for w in (*words, m.label(key)[0]):
            if w.lower() in names:
                cols[key] = names[w.lower()]
                break
    missing = [k for k in ("sstid", "sstt", "am", "mu", "fee") if k not in cols]
    if missing:
        raise InputError(
            f"ستون‌های {', '.join(missing)} در سطر عنوان فایل اقلام نیست",
            f"the lines file has no column for {', '.join(missing)}",
            code="missing-column",
            field=missing[0],
        )
    out: list[LineInput] = []
    for row in rows:
        cells = {k: (row[i] if i < len(row) else "") for k, i in cols.items()}
        if not any(normalize(v) for v in cells.values()):
            continue
        n = len(out) + 1
        dis, share = _discount(cells.get("dis", ""), n)
        given = {
            k: m.parse_rials(cells[k], k, n)
            for k in ("prdis", "adis", "vam", "tsstam")
            if normalize(cells.get(k, ""))
        }
        out.append(
            LineInput(
                sstid=normalize_numeric(cells["sstid"]),
                sstt=normalize(cells["sstt"]),
                am=m.parse_decimal(cells["am"], "am", n),
                mu=m.unit_code(cells["mu"], n),
                fee=m.parse_rials(cells["fee"], "fee", n),
                dis=dis,
                dis_percent=share,
                vra=_rate(cells.get("vra", ""), n),
                given=given,
            )
        )
    return out


@dataclass
class Buyer:
    """The buyer as typed; blanks are taken from the customer's register row."""

    type: str | None = None  # tob: natural, legal, civil, foreign, consumer or 1-5
    id: str | None = None  # bid: national code (natural), foreign national's code
    economic_code: str | None = None  # tinb
    postal_code: str | None = None  # bpc


@dataclass
class NewInvoice:
    """Input of :func:`issue_invoice`: lines, buyer, settlement, issue time."""

    lines: list[LineInput]
    buyer: Buyer = field(default_factory=Buyer)
    invoice_type: str | None = None  # inty: 1 (default) or 2
    vat: Any = None  # the VAT rate of lines that state none (default moadian.DEFAULT_VAT_RATE)
    settlement: str | None = None  # setm: cash (default), credit or mixed
    cash: Any = None  # cap when mixed
    total: Any = None  # the total the user expects: refused when tbill differs
    at: Any = None


# --- building an invoice --------------------------------------------------------------------------


def build_lines(lines: Sequence[LineInput], vat: Any = None) -> list[m.Line]:
    """The lines with their amounts computed; amounts a file stated are kept for the checks."""
    default = m.parse_decimal(vat, "vra") if vat not in (None, "") else m.DEFAULT_VAT_RATE
    out: list[m.Line] = []
    for li in lines:
        rate = li.vra if li.vra is not None else default
        dis = li.dis
        if li.dis_percent is not None:
            dis = m.rial(m.rial(li.am * li.fee) * li.dis_percent / 100)
        line = m.compute_line(
            sstid=li.sstid, sstt=li.sstt, am=li.am, mu=li.mu, fee=li.fee, dis=dis, vra=rate
        )
        out.append(line.model_copy(update=li.given) if li.given else line)
    return out


def _s(v: Any) -> str:
    return normalize_numeric(v) if isinstance(v, int) else normalize(v)


def buyer_header(customer: Row, buyer: Buyer) -> dict[str, Any]:
    """tob, bid, tinb, bpc: as typed, else from the customer's person type and national id."""
    natid = _s(customer.get("national_id"))
    try:
        person = PersonType.parse(customer.get("person_type") or "")
    except ValueError:
        person = None
    default = {PersonType.NATURAL: "1", PersonType.LEGAL: "2"}.get(person) if person else None
    tob = m.code_of(m.parse_choice(m.BuyerType, buyer.type, "tob")) if buyer.type else None
    tob = tob or (int(default) if default else None)
    bid, tinb = _s(buyer.id) or None, _s(buyer.economic_code) or None
    same_kind = default is not None and tob == int(default)
    if same_kind and tob == 1 and not bid:
        bid = natid or None
    if same_kind and tob == 2 and not tinb:
        tinb = natid or None
    return {"tob": tob, "bid": bid, "tinb": tinb, "bpc": _s(buyer.postal_code) or None}


def _settlement(setm_text: Any, default: int, tbill: int, cash: Any) -> dict[str, int]:
    member = (
        m.parse_choice(m.Settlement, setm_text, "setm")
        if setm_text not in (None, "")
        else m.Settlement(str(default))
    )
    cash_part = m.parse_rials(cash, "cap") if cash not in (None, "") else None
    if cash_part is not None and member is not m.Settlement.MIXED:
        raise InputError(
            "مبلغ نقدی جداگانه فقط در تسویه «نقدی و نسیه» (--settlement mixed) معنا دارد",
            "a separate cash part only goes with a mixed settlement (--settlement mixed)",
            code="usage-error",
            field="cap",
        )
    cap, insp = m.settle(member, tbill, cash_part)
    return {"setm": m.code_of(member), "cap": cap, "insp": insp}


def _with_totals(header: dict[str, Any], body: Sequence[m.Line]) -> dict[str, Any]:
    return {**header, **m.totals(body).as_dict()}


def _expected_total(total: Any, h: m.Header) -> list[m.Problem]:
    if total in (None, ""):
        return []
    want = m.parse_rials(total, "tbill")
    if h.tbill == want:
        return []
    return [
        m.Problem(
            "total-error",
            f"مجموع صورتحساب (tbill) {h.tbill:,} است نه {want:,} که انتظار داشتید",
            f"the invoice total (tbill) is {h.tbill:,}, not the {want:,} you expected",
            "tbill",
        )
    ]


# --- register rows ↔ the model -------------------------------------------------------------------


def _cell(v: Any) -> Any:
    """A model value as the register keeps it: codes as their enum member, Decimals as numbers."""
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def register_rows(
    number: str, case_no: str, customer_no: str, issued_at: datetime, inv: m.Invoice
) -> tuple[Row, list[Row]]:
    """The invoice's register row and its line rows."""
    h = inv.header
    row: Row = {
        "invoice_no": number,
        "case_no": case_no,
        "customer_no": customer_no,
        "issued": issued_at,
        "amount": h.tbill,
        "tax_id": h.taxid,
        "record_status": RecordStatus.ACTIVE,
    }
    for key in HEADER_KEYS:
        v = getattr(h, key)
        row[key] = _ENUM_OF[key](str(v)) if key in _ENUM_OF and v is not None else v
    lines = []
    for n, ln in enumerate(inv.body, 1):
        lr: Row = {"invoice_no": number, "line_no": n}
        for key in LINE_KEYS:
            v = getattr(ln, key)
            lr[key] = m.MeasurementUnit(v) if key == "mu" and v else _cell(v)
        lines.append(lr)
    return row, lines


def _from_cell(key: str, v: Any, line: int | None, problems: list[m.Problem]) -> Any:
    """A register cell as the model's value; an unreadable cell becomes a problem and None."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        if key in _ENUM_OF:
            return m.code_of(m.parse_member(_ENUM_OF[key], v if isinstance(v, int) else str(v)))
        if key == "mu":
            return m.unit_code(v, line)
        if key in ("am", "vra"):
            return m.parse_decimal(v, key, line)
        if key in ("sstid", *_TEXT_KEYS):
            return _s(v).upper() if key == "irtaxid" else _s(v)
        if key == "sstt":
            return normalize(v)
        return m.parse_rials(v, key, line)
    except (ValueError, InputError):
        fa, en = m.label(key)
        where_fa, where_en = (f"ردیف {line}، ", f"line {line}, ") if line else ("", "")
        problems.append(
            m.Problem(
                "type-error",
                f"{where_fa}{fa} ({key}): «{v}» خوانا نیست",
                f"{where_en}{en.lower()} ({key}): '{v}' cannot be read",
                key,
                line,
            )
        )
        return None


def invoice_from_register(
    row: Mapping[str, Any], line_rows: Sequence[Mapping[str, Any]]
) -> tuple[m.Invoice, list[m.Problem]]:
    """The invoice a register row and its lines (in line order) describe, and what was unreadable."""
    problems: list[m.Problem] = []
    header: dict[str, Any] = {k: _from_cell(k, row.get(k), None, problems) for k in HEADER_KEYS}
    tax_id = _s(row.get("tax_id")).upper() or None
    header["taxid"] = tax_id
    if tax_id:
        with suppress(InputError):  # a bad tax id is the checks' to report
            header["inno"] = ids.parse_tax_id(tax_id).inno
    issued = row.get("issued")
    if issued not in (None, ""):
        try:
            header["indatim"] = header["indati2m"] = m.epoch_ms(parse_datetime(issued))
        except (ValueError, InputError):
            problems.append(
                m.Problem(
                    "type-error",
                    f"تاریخ صدور «{issued}» خوانا نیست",
                    f"issue time '{issued}' cannot be read",
                    "indatim",
                )
            )
    body = [
        m.Line(**{k: _from_cell(k, lr.get(k), n, problems) for k in LINE_KEYS})
        for n, lr in enumerate(line_rows, 1)
    ]
    return m.Invoice(header=m.Header(**header), body=body), problems


# --- the decisions ----------------------------------------------------------------------------------


def _record(
    reg: decide.Register,
    plan: Plan,
    actor: decide.Actor,
    inv: m.Invoice,
    *,
    case_no: str,
    customer_no: str,
    issued_at: datetime,
    void: bool = False,
    original: str | None = None,
) -> str:
    """Spend the invoice number and tax serial, then append the invoice and its lines."""
    issued = decide._issue(reg, "invoice", issued_at, plan)
    tax_id = decide.tax_id_for(reg, issued_at, plan)
    h = inv.header
    if tax_id:
        h.taxid, h.inno = tax_id, ids.parse_tax_id(tax_id).inno
        h.indatim = h.indati2m = m.epoch_ms(issued_at)
        m.check(inv)  # the tax id, serial and issue day agree (a guard, never expected to fire)
    row, lines = register_rows(issued.number, case_no, customer_no, issued_at, inv)
    if void:
        row["record_status"] = RecordStatus.VOID
    plan.register.append(AppendRow(INVOICES.name, row))
    plan.register.extend(AppendRow(INVOICE_LINES.name, lr) for lr in lines)
    # The snapshot holds what a cell would: the Persian label (decide compares with it).
    reg.invoices[issued.number] = {**row, "record_status": row["record_status"].fa}
    if original:
        mark = {"record_status": RecordStatus.VOID, "superseded_by": issued.number}
        plan.register.append(UpdateRow(INVOICES.name, original, mark))
        reg.invoices[original].update(
            superseded_by=issued.number, record_status=RecordStatus.VOID.fa
        )
    warnings = decide.settle_case(reg, plan, case_no)
    numbers = [issued.number, *([original] if original else []), case_no]
    decide._log(
        plan,
        actor,
        numbers,
        {
            "tax_id": tax_id,
            "ins": h.ins,
            "irtaxid": h.irtaxid,
            "tbill": h.tbill,
            "lines": len(lines),
        },
    )
    plan.result = {
        "invoice_no": issued.number,
        "case_no": case_no,
        "tax_id": tax_id,
        "ins": h.ins,
        "irtaxid": h.irtaxid,
        "tbill": h.tbill,
        "lines": len(lines),
    }
    if original:
        plan.result["original"] = original
    if warnings:
        plan.result["warnings"] = warnings
    return issued.number


def issue_invoice(reg: decide.Register, case_no: str, inp: NewInvoice, actor: decide.Actor) -> Plan:
    """R8 with lines: an original (ins 1) pattern-1 sale invoice, checked before it is numbered."""
    cno, _, customer_no = decide._guarded_case(reg, case_no, "issue_invoice")
    issued_at = decide.parse_when(inp.at, actor.now, "issued")
    if inp.at not in (None, ""):
        decide.check_window(reg, actor, issued_at, "issued")
    if not inp.lines:
        raise InputError(
            "دست‌کم یک ردیف کالا لازم است (--line یا --lines)",
            "at least one line is needed (--line or --lines)",
            code="required-error",
            field="lines",
        )
    inty = m.parse_choice(m.InvoiceType, inp.invoice_type or "1", "inty")
    body = build_lines(inp.lines, inp.vat)
    header: dict[str, Any] = {
        "inty": m.code_of(inty),
        "inp": 1,
        "ins": 1,
        "tins": reg.settings.economic_code,
        **buyer_header(reg.customer(customer_no), inp.buyer),
    }
    header = _with_totals(header, body)
    header.update(_settlement(inp.settlement, 1, header["tbill"], inp.cash))
    inv = m.Invoice(header=m.Header(**header), body=body)
    needs_seller = bool(reg.settings.fiscal_memory_id)
    m.refuse(
        m.invoice_problems(inv, issued=False, seller_required=needs_seller)
        + _expected_total(inp.total, inv.header)
    )
    plan = Plan("invoice-issue")
    no = _record(reg, plan, actor, inv, case_no=cno, customer_no=customer_no, issued_at=issued_at)
    _messages(plan, no, cno, inv.header)
    return plan


def _messages(plan: Plan, no: str, cno: str, h: m.Header, original: str | None = None) -> None:
    subject = m.InvoiceSubject(str(h.ins))
    ref_fa = f" (مرجع {original})" if original else ""
    ref_en = f" (refers to {original})" if original else ""
    plan.message_fa = (
        f"فاکتور {subject.fa} {no} برای پرونده {cno} صادر شد{ref_fa}؛ مبلغ کل {h.tbill:,} ریال"
    )
    plan.message_en = (
        f"{subject.en.lower()} invoice {no} issued on case {cno}{ref_en}; total {h.tbill:,} Rial"
    )
    if h.taxid:
        plan.message_fa += f" (شماره مالیاتی {h.taxid})"
        plan.message_en += f" (tax id {h.taxid})"


@dataclass
class FollowUp:
    """Input of :func:`follow_up`: what changes against the original invoice."""

    subject: int  # 2 corrective, 3 void, 4 return
    lines: list[LineInput] = field(default_factory=list)  # corrective: the new lines
    returned: dict[int, Decimal] = field(default_factory=dict)  # return: line → quantity back
    vat: Any = None
    settlement: str | None = None
    cash: Any = None
    total: Any = None
    at: Any = None


def _original(
    reg: decide.Register, number: str, line_rows: Sequence[Mapping[str, Any]]
) -> tuple[str, Row, m.Invoice]:
    no = normalize(number)
    row = reg.invoices.get(no)
    if row is None:
        raise InputError(
            f"فاکتور «{number}» در دفتر ثبت نیست",
            f"no invoice numbered '{number}' in the register",
            code="not-found",
            field="invoice_no",
        )
    if is_void(row.get("record_status")):
        later = _s(row.get("superseded_by"))
        raise InputError(
            f"فاکتور {no} باطل است" + (f" و فاکتور {later} جای آن را گرفته است" if later else ""),
            f"invoice {no} is void" + (f"; invoice {later} took its place" if later else ""),
            code="already-void",
            field="invoice_no",
        )
    if not _s(row.get("tax_id")):
        raise InputError(
            f"فاکتور {no} شماره مالیاتی ندارد؛ اصلاحی، ابطالی و برگشتی با شماره مالیاتی مرجع صادر می‌شوند",
            f"invoice {no} has no tax id; corrective, void and return invoices refer to one",
            code="required-error",
            field="irtaxid",
        )
    if not line_rows:
        raise InputError(
            f"فاکتور {no} ردیف کالا ندارد (فاکتور فقط‌مبلغ)؛ برای سامانه مودیان قابل اصلاح نیست",
            f"invoice {no} has no lines (an amount-only invoice); it cannot be corrected for Moadian",
            code="required-error",
            field="lines",
        )
    original, problems = invoice_from_register(row, line_rows)
    m.refuse(problems)
    return no, row, original


def follow_up(
    reg: decide.Register,
    number: str,
    inp: FollowUp,
    actor: decide.Actor,
    *,
    original_lines: Sequence[Mapping[str, Any]],
) -> Plan:
    """A corrective, void or return invoice referring to ``number``; the original is marked.

    ``original_lines`` are the original's rows of the lines table, in line order (lines never
    change once written, so they may be read before the register is locked).
    """
    no, row, original = _original(reg, number, original_lines)
    cno, _, customer_no = decide._guarded_case(reg, _s(row.get("case_no")), "issue_invoice")
    if not reg.settings.fiscal_memory_id:
        raise InputError(
            "شناسه حافظه مالیاتی در تنظیمات نیست؛ بدون آن شماره مالیاتی ساخته نمی‌شود",
            "no fiscal memory id in the settings; no tax id can be made without it",
            code="required-error",
            field="fiscal_memory_id",
        )
    issued_at = decide.parse_when(inp.at, actor.now, "issued")
    if inp.at not in (None, ""):
        decide.check_window(reg, actor, issued_at, "issued")
    o = original.header
    if inp.subject == 2:
        if not inp.lines:
            raise InputError(
                "صورتحساب اصلاحی همه ردیف‌ها را دوباره می‌گوید (--line یا --lines)",
                "a corrective invoice restates every line (--line or --lines)",
                code="required-error",
                field="lines",
            )
        body = build_lines(inp.lines, inp.vat)
    elif inp.subject == 3:
        body = [ln.model_copy() for ln in original.body]
    elif inp.subject == 4:
        if not inp.returned:
            raise InputError(
                "مقدار برگشتی را بدهید (--returned «ردیف|مقدار»)",
                "say what comes back (--returned 'LINE|QTY')",
                code="required-error",
                field="lines",
            )
        body = m.returned_lines(original.body, inp.returned)
        if not body:
            raise InputError(
                "همه اقلام برگشت می‌خورند؛ به جای برگشت از فروش، فاکتور را ابطال کنید (invoice cancel)",
                "everything comes back: cancel the invoice instead (invoice cancel)",
                code="correction-error",
                field="am",
            )
    else:  # the CLI and ops only pass 2, 3 or 4
        raise ValueError(f"subject {inp.subject} is not a follow-up invoice")
    header: dict[str, Any] = {
        **{k: getattr(o, k) for k in ("inty", "inp", "tob", "bid", "tinb", "bpc", "tins")},
        "ins": inp.subject,
        "irtaxid": o.taxid,
    }
    header = _with_totals(header, body)
    if inp.subject == 3:
        header.update(setm=o.setm, cap=o.cap, insp=o.insp)
    else:
        # New totals: a mixed original needs the cash part stated again (settle refuses).
        header.update(_settlement(inp.settlement, o.setm or 1, header["tbill"], inp.cash))
    inv = m.Invoice(header=m.Header(**header), body=body)
    m.refuse(
        m.correction_problems(original, inv)
        + m.invoice_problems(inv, issued=False)
        + _expected_total(inp.total, inv.header)
    )
    plan = Plan(_SUBJECT_OPERATION[inp.subject])
    new_no = _record(
        reg,
        plan,
        actor,
        inv,
        case_no=cno,
        customer_no=customer_no,
        issued_at=issued_at,
        void=inp.subject == 3,
        original=no,
    )
    _messages(plan, new_no, cno, inv.header, original=no)
    return plan


def issued_moment(row: Mapping[str, Any]) -> datetime | None:
    """The register row's issue time as an aware Tehran datetime (None when unreadable)."""
    v = row.get("issued")
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=TEHRAN)
    try:
        return parse_datetime(v) if v not in (None, "") else None
    except (ValueError, InputError):
        return None


__all__ = [
    "Buyer",
    "FollowUp",
    "LineInput",
    "NewInvoice",
    "build_lines",
    "follow_up",
    "invoice_from_register",
    "issue_invoice",
    "issued_moment",
    "lines_from_table",
    "parse_line",
    "register_rows",
]
