"""Moadian (سامانه مودیان) sale invoices, pattern 1: the data, its arithmetic, the offline checks.

Source: the e-invoice specification the Iranian National Tax Administration (INTA) publishes
for the Moadian system («مستندات فنی سامانه مودیان — صورتحساب الکترونیکی», intamedia.ir):
the header, body (line) and payment fields and their codes. The JSON names and types below
follow the SDKs built on that specification, chiefly github.com/Jooyeshgar/moadian
(``src/InvoiceHeader.php``, ``InvoiceItem.php``, ``Payment.php``): text for identifiers,
codes of a catalogue and the tax id; integers for enumerations and times (milliseconds since
1970-01-01 UTC); numbers for quantities, rates and amounts. The tax id itself is
``ids.make_tax_id`` (SPEC §4). The measurement units are package data
(``crm_xl/data/moadian_units.json``, its source named inside).

Money is whole Rials (``int``); quantities and rates are ``Decimal`` so ``am × fee`` is exact
before it is rounded (half up) to a Rial. A value the toolkit did not compute itself (a lines
file, a register row typed by hand) is accepted when it is the exact result rounded either way.

Pure: no file is written here (the unit table is read once from the package, like a constant).
Checks return :class:`Problem` lists so ``validate`` reports all of them and a write command
refuses with the first (:func:`refuse`), naming the line and field in Persian and English.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from crm_xl.domain import ids
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import ENUMS, LabeledEnum
from crm_xl.domain.errors import InputError
from crm_xl.domain.text import normalize, normalize_numeric

SPEC_SOURCE = (
    "INTA, «مستندات فنی سامانه مودیان — صورتحساب الکترونیکی» (intamedia.ir); JSON names and "
    "types as in github.com/Jooyeshgar/moadian src/InvoiceHeader.php, InvoiceItem.php, Payment.php"
)

#: VAT rate (percent) a line gets when none is given: the general rate since 1403.
DEFAULT_VAT_RATE = Decimal(10)
SSTID_LENGTH = 13

# --- the fields of the specification ------------------------------------------------------------

Kind = Literal["str", "int", "num"]


@dataclass(frozen=True)
class SpecField:
    """One field of the tax system's JSON: its key, JSON kind and labels."""

    key: str
    kind: Kind  # "str" text, "int" integer (codes, times), "num" number (amounts, rates)
    fa: str
    en: str


def _spec(*rows: tuple[str, Kind, str, str]) -> tuple[SpecField, ...]:
    return tuple(SpecField(*r) for r in rows)


HEADER_FIELDS = _spec(
    ("taxid", "str", "شماره منحصربه‌فرد مالیاتی", "Tax id"),
    ("indatim", "int", "تاریخ و زمان صدور", "Issue time"),
    ("indati2m", "int", "تاریخ و زمان ایجاد", "Creation time"),
    ("inty", "int", "نوع صورتحساب", "Invoice type"),
    ("inno", "str", "سریال صورتحساب", "Internal serial"),
    ("irtaxid", "str", "شماره مالیاتی صورتحساب مرجع", "Reference tax id"),
    ("inp", "int", "الگوی صورتحساب", "Invoice pattern"),
    ("ins", "int", "موضوع صورتحساب", "Invoice subject"),
    ("tins", "str", "شماره اقتصادی فروشنده", "Seller economic code"),
    ("tob", "int", "نوع شخص خریدار", "Buyer type"),
    ("bid", "str", "شناسه ملی/کد ملی خریدار", "Buyer id"),
    ("tinb", "str", "شماره اقتصادی خریدار", "Buyer economic code"),
    ("sbc", "str", "کد شعبه فروشنده", "Seller branch code"),
    ("bpc", "str", "کد پستی خریدار", "Buyer postal code"),
    ("bbc", "str", "کد شعبه خریدار", "Buyer branch code"),
    ("ft", "int", "نوع پرواز", "Flight type"),
    ("bpn", "str", "شماره گذرنامه خریدار", "Buyer passport number"),
    ("scln", "str", "شماره پروانه گمرکی", "Customs licence number"),
    ("scc", "str", "کد گمرک", "Customs code"),
    ("crn", "str", "شناسه یکتای ثبت قرارداد", "Contract registration number"),
    ("billid", "str", "شماره اشتراک/شناسه قبض", "Billing id"),
    ("tprdis", "num", "مجموع مبلغ قبل از کسر تخفیف", "Total before discount"),
    ("tdis", "num", "مجموع تخفیفات", "Total discount"),
    ("tadis", "num", "مجموع مبلغ پس از کسر تخفیف", "Total after discount"),
    ("tvam", "num", "مجموع مالیات بر ارزش افزوده", "Total VAT"),
    ("todam", "num", "مجموع سایر مالیات، عوارض و وجوه قانونی", "Total other duties"),
    ("tbill", "num", "مجموع صورتحساب", "Invoice total"),
    ("setm", "int", "روش تسویه", "Settlement method"),
    ("cap", "num", "مبلغ پرداختی نقدی", "Cash part"),
    ("insp", "num", "مبلغ نسیه", "Credit part"),
    ("tvop", "num", "مجموع سهم مالیات بر ارزش افزوده از پرداخت", "Total VAT of payment"),
    ("tax17", "num", "مالیات موضوع ماده ۱۷", "Article 17 tax"),
)

BODY_FIELDS = _spec(
    ("sstid", "str", "شناسه کالا/خدمت", "Goods/service id"),
    ("sstt", "str", "شرح کالا/خدمت", "Description"),
    ("am", "num", "تعداد/مقدار", "Quantity"),
    ("mu", "str", "واحد اندازه‌گیری", "Measurement unit"),
    ("fee", "num", "مبلغ واحد", "Unit fee"),
    ("cfee", "num", "میزان ارز", "Fee in currency"),
    ("cut", "str", "نوع ارز", "Currency"),
    ("exr", "num", "نرخ برابری ارز به ریال", "Exchange rate"),
    ("prdis", "num", "مبلغ قبل از تخفیف", "Amount before discount"),
    ("dis", "num", "مبلغ تخفیف", "Discount"),
    ("adis", "num", "مبلغ بعد از تخفیف", "Amount after discount"),
    ("vra", "num", "نرخ مالیات بر ارزش افزوده", "VAT rate"),
    ("vam", "num", "مبلغ مالیات بر ارزش افزوده", "VAT amount"),
    ("odt", "str", "موضوع سایر مالیات و عوارض", "Other duty title"),
    ("odr", "num", "نرخ سایر مالیات و عوارض", "Other duty rate"),
    ("odam", "num", "مبلغ سایر مالیات و عوارض", "Other duty amount"),
    ("olt", "str", "موضوع سایر وجوه قانونی", "Other legal fund title"),
    ("olr", "num", "نرخ سایر وجوه قانونی", "Other legal fund rate"),
    ("olam", "num", "مبلغ سایر وجوه قانونی", "Other legal fund amount"),
    ("consfee", "num", "اجرت ساخت", "Construction fee"),
    ("spro", "num", "سود فروشنده", "Seller profit"),
    ("bros", "num", "حق‌العمل", "Broker fee"),
    ("tcpbs", "num", "جمع کل اجرت، حق‌العمل و سود", "Total of fee, profit and brokerage"),
    ("cop", "num", "سهم نقدی از پرداخت", "Cash share of payment"),
    ("vop", "num", "سهم مالیات بر ارزش افزوده از پرداخت", "VAT share of payment"),
    ("bsrn", "str", "شناسه یکتای ثبت قرارداد حق‌العمل‌کاری", "Brokerage contract number"),
    ("tsstam", "num", "مبلغ کل کالا/خدمت", "Line total"),
)

PAYMENT_FIELDS = _spec(
    ("iinn", "str", "شماره سوییچ پرداخت", "Payment switch number"),
    ("acn", "str", "شماره پذیرنده", "Acceptor number"),
    ("trmn", "str", "شماره پایانه", "Terminal number"),
    ("trn", "str", "شماره پیگیری", "Tracking number"),
    ("pcn", "str", "شماره کارت پرداخت‌کننده", "Payer card number"),
    ("pid", "str", "کد/شناسه ملی پرداخت‌کننده", "Payer id"),
    ("pdt", "int", "تاریخ و زمان پرداخت", "Payment time"),
)

FIELDS: dict[str, SpecField] = {f.key: f for f in (*HEADER_FIELDS, *BODY_FIELDS, *PAYMENT_FIELDS)}


def label(key: str) -> tuple[str, str]:
    """(Persian, English) label of a field of the specification."""
    f = FIELDS[key]
    return f.fa, f.en


# --- enumerations (cells hold the Persian label, the JSON the code) ------------------------------


class InvoiceType(LabeledEnum):
    """``inty``: type 1 carries the buyer's details, type 2 may leave them out."""

    WITH_BUYER = "1", "نوع اول (با مشخصات خریدار)", "Type 1 (with buyer)"
    WITHOUT_BUYER = "2", "نوع دوم (بدون مشخصات خریدار)", "Type 2 (without buyer)"


class InvoicePattern(LabeledEnum):
    """``inp``: only pattern 1 (sale) is produced by this toolkit."""

    SALE = "1", "الگوی اول (فروش)", "Pattern 1 (sale)"


class InvoiceSubject(LabeledEnum):
    """``ins``: an original, or a later invoice referring to it by ``irtaxid``."""

    ORIGINAL = "1", "اصلی", "Original"
    CORRECTIVE = "2", "اصلاحی", "Corrective"
    VOID = "3", "ابطالی", "Void"
    RETURN = "4", "برگشت از فروش", "Return"


class BuyerType(LabeledEnum):
    """``tob``."""

    NATURAL = "1", "حقیقی", "Natural person"
    LEGAL = "2", "حقوقی", "Legal entity"
    CIVIL_PARTNERSHIP = "3", "مشارکت مدنی", "Civil partnership"
    FOREIGN = "4", "اتباع غیرایرانی", "Foreign national"
    CONSUMER = "5", "مصرف‌کننده نهایی", "Final consumer"


class Settlement(LabeledEnum):
    """``setm``: with ``cap`` (cash part) and ``insp`` (credit part)."""

    CASH = "1", "نقدی", "Cash"
    CREDIT = "2", "نسیه", "Credit"
    MIXED = "3", "نقدی و نسیه", "Cash and credit"


def _load_units() -> tuple[str, list[dict[str, str]]]:
    text = resources.files("crm_xl").joinpath("data/moadian_units.json").read_text("utf-8")
    doc = json.loads(text)
    return str(doc["source"]), list(doc["units"])


UNITS_SOURCE, _UNITS = _load_units()

#: ``mu``: the tax system's measurement units (code, Persian and English name).
MeasurementUnit: type[LabeledEnum] = LabeledEnum(  # type: ignore[assignment]
    "MeasurementUnit",
    [(f"U{u['code']}", (u["code"], u["fa"], u["en"])) for u in _UNITS],  # type: ignore[arg-type]
)

# Drop-downs and readers look enumerations up by name in ENUMS: register ours once.
for _cls in (InvoiceType, InvoicePattern, InvoiceSubject, BuyerType, Settlement, MeasurementUnit):
    ENUMS.setdefault(_cls.__name__, _cls)

#: Words people type for the codes, beside the codes and both labels.
ALIASES: dict[type[LabeledEnum], dict[str, str]] = {
    BuyerType: {
        "natural": "1",
        "legal": "2",
        "civil": "3",
        "partnership": "3",
        "foreign": "4",
        "consumer": "5",
    },
    Settlement: {"cash": "1", "credit": "2", "mixed": "3"},
    InvoiceType: {"with-buyer": "1", "without-buyer": "2"},
}


@lru_cache(maxsize=4096)
def parse_member(enum: type[LabeledEnum], value: str | int) -> LabeledEnum:
    """``enum.parse``, remembered: a register repeats a few units and codes thousands of times
    and ``parse`` compares with every member's labels (ValueError when none matches)."""
    return enum.parse(value)


def parse_choice(enum: type[LabeledEnum], value: object, key: str) -> LabeledEnum:
    """The member for a code, either label or an alias; InputError naming the field."""
    digits = normalize_numeric(value)
    alias = ALIASES.get(enum, {}).get(normalize(value).lower())
    try:
        return parse_member(enum, alias or (digits if digits.isdigit() else str(value)))
    except ValueError:
        fa, en = label(key)
        raise InputError(
            f"{fa} ({key}): «{value}» مجاز نیست؛ مجاز: "
            + "، ".join(f"{m.value} {m.fa}" for m in enum),
            f"{en} ({key}): '{value}' is not allowed; allowed: "
            + ", ".join(f"{m.value} {m.en}" for m in enum),
            code="enum-error",
            field=key,
        ) from None


def code_of(member: LabeledEnum) -> int:
    return int(member.value)


# --- the models -----------------------------------------------------------------------------------


def _json_number(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


#: A quantity or rate: exact in Python, a JSON number (3, not "3") in the export.
Number = Annotated[
    Decimal, PlainSerializer(_json_number, return_type=int | float, when_used="json")
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Header(_Spec):
    """The header (سربرگ) of a pattern-1 invoice; None where a field does not apply."""

    taxid: str | None = None
    indatim: int | None = None
    indati2m: int | None = None
    inty: int | None = None
    inno: str | None = None
    irtaxid: str | None = None
    inp: int | None = None
    ins: int | None = None
    tins: str | None = None
    tob: int | None = None
    bid: str | None = None
    tinb: str | None = None
    sbc: str | None = None
    bpc: str | None = None
    bbc: str | None = None
    ft: int | None = None
    bpn: str | None = None
    scln: str | None = None
    scc: str | None = None
    crn: str | None = None
    billid: str | None = None
    tprdis: int | None = None
    tdis: int | None = None
    tadis: int | None = None
    tvam: int | None = None
    todam: int | None = None
    tbill: int | None = None
    setm: int | None = None
    cap: int | None = None
    insp: int | None = None
    tvop: int | None = None
    tax17: int | None = None


class Line(_Spec):
    """One line (بدنه) of an invoice: goods or service, quantity, unit, fee, discount, VAT."""

    sstid: str | None = None
    sstt: str | None = None
    am: Number | None = None
    mu: str | None = None
    fee: int | None = None
    cfee: Number | None = None
    cut: str | None = None
    exr: Number | None = None
    prdis: int | None = None
    dis: int | None = None
    adis: int | None = None
    vra: Number | None = None
    vam: int | None = None
    odt: str | None = None
    odr: Number | None = None
    odam: int | None = None
    olt: str | None = None
    olr: Number | None = None
    olam: int | None = None
    consfee: int | None = None
    spro: int | None = None
    bros: int | None = None
    tcpbs: int | None = None
    cop: int | None = None
    vop: int | None = None
    bsrn: str | None = None
    tsstam: int | None = None


class Payment(_Spec):
    """One payment (پرداخت) recorded on the invoice."""

    iinn: str | None = None
    acn: str | None = None
    trmn: str | None = None
    trn: str | None = None
    pcn: str | None = None
    pid: str | None = None
    pdt: int | None = None


class Invoice(_Spec):
    header: Header
    body: list[Line]
    payments: list[Payment] = []

    def to_json(self) -> dict[str, Any]:
        """The tax system's shape: every field of the specification, null where unused."""
        return self.model_dump(mode="json")


# --- arithmetic -----------------------------------------------------------------------------------


def rial(x: Decimal | int) -> int:
    """A whole Rial, rounded half up (0.5 → 1)."""
    return int(Decimal(x).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _whole_either_way(value: int, exact: Decimal) -> bool:
    """``value`` is ``exact`` rounded to a whole Rial, down or up."""
    return (
        exact.to_integral_value(rounding="ROUND_FLOOR")
        <= value
        <= exact.to_integral_value(rounding="ROUND_CEILING")
    )


def compute_line(
    *,
    sstid: str,
    sstt: str,
    am: Decimal | int,
    mu: str,
    fee: int,
    dis: int = 0,
    vra: Decimal | int = DEFAULT_VAT_RATE,
    odt: str | None = None,
    odam: int | None = None,
    olt: str | None = None,
    olam: int | None = None,
) -> Line:
    """A line with its amounts computed: prdis = am × fee, adis = prdis − dis,
    vam = adis × vra / 100, tsstam = adis + vam + other duties and legal funds."""
    qty, rate = Decimal(am), Decimal(vra)
    prdis = rial(qty * fee)
    adis = prdis - dis
    vam = rial(adis * rate / 100)
    return Line(
        sstid=sstid,
        sstt=sstt,
        am=qty,
        mu=mu,
        fee=fee,
        prdis=prdis,
        dis=dis,
        adis=adis,
        vra=rate,
        vam=vam,
        odt=odt,
        odam=odam,
        olt=olt,
        olam=olam,
        tsstam=adis + vam + (odam or 0) + (olam or 0),
    )


@dataclass(frozen=True)
class Totals:
    tprdis: int
    tdis: int
    tadis: int
    tvam: int
    todam: int
    tbill: int

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("tprdis", "tdis", "tadis", "tvam", "todam", "tbill")}


def totals(lines: Iterable[Line]) -> Totals:
    """The header totals as sums of the lines (blank amounts count 0)."""
    ls = list(lines)

    def s(key: str) -> int:
        return sum(int(getattr(ln, key) or 0) for ln in ls)

    return Totals(
        tprdis=s("prdis"),
        tdis=s("dis"),
        tadis=s("adis"),
        tvam=s("vam"),
        todam=s("odam") + s("olam"),
        tbill=s("tsstam"),
    )


def settle(setm: LabeledEnum, tbill: int, cash: int | None = None) -> tuple[int, int]:
    """(cap, insp) for a settlement method: all cash, all credit, or ``cash`` and the rest."""
    if setm is Settlement.CASH:
        return tbill, 0
    if setm is Settlement.CREDIT:
        return 0, tbill
    if cash is None:
        raise InputError(
            "برای تسویه نقدی و نسیه، مبلغ نقدی (cap) را بدهید",
            "a mixed settlement needs the cash part (cap)",
            code="required-error",
            field="cap",
        )
    return cash, tbill - cash


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970-01-01 UTC (naive datetimes are Tehran time)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TEHRAN)
    return int(moment.astimezone(UTC).timestamp() * 1000)


# --- offline checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why an invoice would be rejected: a stable code, both languages, the line and field."""

    code: str
    fa: str
    en: str
    key: str
    line: int | None = None  # 1-based line number; None for the header

    @property
    def field(self) -> str:
        return f"lines[{self.line}].{self.key}" if self.line else self.key

    def error(self) -> InputError:
        return InputError(self.fa, self.en, code=self.code, field=self.field)


def _problem(code: str, key: str, fa: str, en: str, line: int | None = None) -> Problem:
    lfa, len_ = label(key)
    where_fa = f"ردیف {line}، " if line else ""
    where_en = f"line {line}, " if line else ""
    return Problem(
        code, f"{where_fa}{lfa} ({key}): {fa}", f"{where_en}{len_.lower()} ({key}): {en}", key, line
    )


def _required(key: str, line: int | None = None) -> Problem:
    return _problem("required-error", key, "لازم است", "is required", line)


def refuse(problems: Sequence[Problem]) -> None:
    """Raise the first problem as InputError (saying how many more there are)."""
    if not problems:
        return
    first = problems[0]
    err = first.error()
    if len(problems) > 1:
        err.fa += f" (و {len(problems) - 1} ایراد دیگر)"
        err.en += f" (and {len(problems) - 1} more)"
        err.args = (str(err),)
    raise err


_UNIT_CODES = frozenset(str(u.value) for u in MeasurementUnit)


def _unit_known(code: str) -> bool:
    return code in _UNIT_CODES


def line_problems(n: int, ln: Line) -> list[Problem]:
    """Required fields, ranges and the arithmetic of line ``n`` (1-based)."""
    out: list[Problem] = []
    if not ln.sstid:
        out.append(_required("sstid", n))
    elif not (ln.sstid.isascii() and ln.sstid.isdigit() and len(ln.sstid) == SSTID_LENGTH):
        out.append(
            _problem(
                "identifier-error",
                "sstid",
                f"«{ln.sstid}» باید {SSTID_LENGTH} رقم باشد",
                f"'{ln.sstid}' must have {SSTID_LENGTH} digits",
                n,
            )
        )
    if not (ln.sstt or "").strip():
        out.append(_required("sstt", n))
    if ln.am is None:
        out.append(_required("am", n))
    elif ln.am <= 0:
        out.append(_problem("constraint-error", "am", "باید بیش از صفر باشد", "must be above 0", n))
    if not ln.mu:
        out.append(_required("mu", n))
    elif not _unit_known(ln.mu):
        out.append(
            _problem(
                "enum-error",
                "mu",
                f"کد «{ln.mu}» در جدول واحدهای سامانه مودیان نیست",
                f"code '{ln.mu}' is not in the Moadian table of units",
                n,
            )
        )
    if ln.fee is None:
        out.append(_required("fee", n))
    elif ln.fee < 0:
        out.append(_problem("constraint-error", "fee", "منفی نمی‌شود", "must not be negative", n))
    if ln.vra is None:
        out.append(_required("vra", n))
    elif not 0 <= ln.vra <= 100:
        out.append(
            _problem("constraint-error", "vra", "باید بین ۰ و ۱۰۰ باشد", "must be 0 to 100", n)
        )
    for key in ("dis", "odam", "olam"):
        v = getattr(ln, key)
        if v is not None and v < 0:
            out.append(_problem("constraint-error", key, "منفی نمی‌شود", "must not be negative", n))
    out += _line_arithmetic(n, ln)
    return out


def _fmt(d: Decimal) -> str:
    """An exact amount as people read it: digit groups, no trailing zeros."""
    return f"{int(d):,}" if d == d.to_integral_value() else f"{d.normalize():,f}"


def _mismatch(key: str, got: int, want: str, line: int | None = None) -> Problem:
    code = "total-error"
    return _problem(
        code, key, f"{got:,} با {want} نمی‌خواند", f"{got:,} does not equal {want}", line
    )


def _line_arithmetic(n: int, ln: Line) -> list[Problem]:
    out: list[Problem] = []
    if ln.prdis is None:
        out.append(_required("prdis", n))
    elif ln.am is not None and ln.fee is not None:
        exact = ln.am * ln.fee
        if not _whole_either_way(ln.prdis, exact):
            out.append(_mismatch("prdis", ln.prdis, f"am × fee = {_fmt(exact)}", n))
    dis = ln.dis or 0
    if ln.prdis is not None and dis > ln.prdis:
        out.append(
            _problem(
                "constraint-error",
                "dis",
                f"تخفیف {dis:,} بیش از مبلغ قبل از تخفیف ({ln.prdis:,}) است",
                f"discount {dis:,} exceeds the amount before discount ({ln.prdis:,})",
                n,
            )
        )
    if ln.adis is None:
        out.append(_required("adis", n))
    elif ln.prdis is not None and ln.adis != ln.prdis - dis:
        out.append(_mismatch("adis", ln.adis, f"prdis − dis = {ln.prdis - dis:,}", n))
    if ln.vam is None:
        out.append(_required("vam", n))
    elif ln.adis is not None and ln.vra is not None:
        exact = ln.adis * ln.vra / 100
        if not _whole_either_way(ln.vam, exact):
            out.append(_mismatch("vam", ln.vam, f"adis × vra / 100 = {_fmt(exact)}", n))
    if ln.tsstam is None:
        out.append(_required("tsstam", n))
    elif ln.adis is not None and ln.vam is not None:
        want = ln.adis + ln.vam + (ln.odam or 0) + (ln.olam or 0)
        if ln.tsstam != want:
            out.append(_mismatch("tsstam", ln.tsstam, f"adis + vam + odam + olam = {want:,}", n))
    return out


def totals_problems(h: Header, lines: Sequence[Line]) -> list[Problem]:
    """The header totals equal the sums of the lines, and tadis = tprdis − tdis."""
    t = totals(lines)
    out: list[Problem] = []
    for key, want, how in (
        ("tprdis", t.tprdis, "Σ prdis"),
        ("tdis", t.tdis, "Σ dis"),
        ("tadis", t.tadis, "Σ adis"),
        ("tvam", t.tvam, "Σ vam"),
        ("todam", t.todam, "Σ (odam + olam)"),
        ("tbill", t.tbill, "Σ tsstam"),
    ):
        got = getattr(h, key)
        if got is None:
            out.append(_required(key))
        elif got != want:
            out.append(_mismatch(key, got, f"{how} = {want:,}"))
    if (
        h.tprdis is not None
        and h.tdis is not None
        and h.tadis is not None
        and h.tadis != h.tprdis - h.tdis
        and not any(p.key == "tadis" for p in out)
    ):
        out.append(_mismatch("tadis", h.tadis, f"tprdis − tdis = {h.tprdis - h.tdis:,}"))
    return out


def settlement_problems(h: Header) -> list[Problem]:
    """setm 1: cap = tbill; 2: insp = tbill; 3: both parts above 0 and cap + insp = tbill."""
    if h.setm is None:
        return [_required("setm")]
    if h.setm not in (1, 2, 3):
        return [_enum("setm", h.setm, Settlement)]
    if h.tbill is None:
        return []
    cap, insp = h.cap or 0, h.insp or 0
    if cap < 0 or insp < 0:
        key = "cap" if cap < 0 else "insp"
        return [_problem("constraint-error", key, "منفی نمی‌شود", "must not be negative")]
    if h.setm == 1 and (cap != h.tbill or insp):
        return [_mismatch("cap", cap, f"tbill = {h.tbill:,} (cash)")]
    if h.setm == 2 and (insp != h.tbill or cap):
        return [_mismatch("insp", insp, f"tbill = {h.tbill:,} (credit)")]
    if h.setm == 3:
        if cap <= 0 or insp <= 0:
            key = "cap" if cap <= 0 else "insp"
            return [
                _problem(
                    "constraint-error",
                    key,
                    "در تسویه نقدی و نسیه هر دو بخش باید بیش از صفر باشند",
                    "a mixed settlement has both parts above 0",
                )
            ]
        if cap + insp != h.tbill:
            return [_mismatch("insp", insp, f"tbill − cap = {h.tbill - cap:,}")]
    return []


def _enum(key: str, value: object, enum: type[LabeledEnum]) -> Problem:
    allowed = ", ".join(m.value for m in enum)
    return _problem(
        "enum-error",
        key,
        f"«{value}» مجاز نیست (مجاز: {allowed})",
        f"'{value}' is not allowed (allowed: {allowed})",
    )


def _bad_id(key: str, value: str, fa: str, en: str) -> Problem:
    return _problem("identifier-error", key, f"«{value}» {fa}", f"'{value}' {en}")


def buyer_problems(h: Header) -> list[Problem]:
    """Required buyer fields by invoice and buyer type, with their checksums.

    Type 1 needs a buyer type 1-4: natural → ``bid`` a national code (``tinb`` optional, the
    14-digit economic code); legal → ``tinb`` the 11-digit national ID (its economic code);
    civil partnership → ``tinb`` 14 digits; foreign → ``bid`` or ``bpn``. Type 2 may leave the
    buyer out; whatever is given is still checked.
    """
    out: list[Problem] = []
    if h.inty not in (1, 2):
        return [_required("inty")] if h.inty is None else [_enum("inty", h.inty, InvoiceType)]
    if h.tob is None:
        return [_required("tob")] if h.inty == 1 else []
    if h.tob not in (1, 2, 3, 4, 5):
        return [_enum("tob", h.tob, BuyerType)]
    if h.inty == 1 and h.tob == 5:
        out.append(
            _problem(
                "constraint-error",
                "tob",
                "مصرف‌کننده نهایی فقط در صورتحساب نوع دوم",
                "a final consumer only on a type 2 invoice",
            )
        )
    need = h.inty == 1
    bid, tinb = h.bid or "", h.tinb or ""
    if h.tob == 1:
        if not bid:
            out += [_required("bid")] if need else []
        elif not ids.is_national_code(bid):
            out.append(_bad_id("bid", bid, "کد ملی معتبر نیست", "is not a valid national code"))
        if tinb and not ids.is_economic_code(tinb, "natural"):
            out.append(
                _bad_id("tinb", tinb, "کد اقتصادی ۱۴ رقمی نیست", "is not a 14-digit economic code")
            )
    elif h.tob == 2:
        if not tinb:
            out += [_required("tinb")] if need else []
        elif not ids.is_legal_id(tinb):
            out.append(
                _bad_id("tinb", tinb, "شناسه ملی معتبر نیست", "is not a valid legal national ID")
            )
        if bid and not ids.is_legal_id(bid):
            out.append(
                _bad_id("bid", bid, "شناسه ملی معتبر نیست", "is not a valid legal national ID")
            )
    elif h.tob == 3:
        if not tinb:
            out += [_required("tinb")] if need else []
        elif not (tinb.isdigit() and len(tinb) == 14):
            out.append(_bad_id("tinb", tinb, "باید ۱۴ رقم باشد", "must have 14 digits"))
    elif h.tob == 4 and need and not (bid or h.bpn):
        out.append(_required("bid"))
    if h.bpc and len(ids.digits_only(h.bpc)) != 10:
        out.append(_bad_id("bpc", h.bpc, "باید ۱۰ رقم باشد", "must have 10 digits"))
    return out


def header_problems(
    h: Header, *, issued: bool = True, seller_required: bool = True
) -> list[Problem]:
    """Enumerations, the seller, the reference tax id and, once issued, the tax id itself."""
    out: list[Problem] = []
    if h.inp != 1:
        out.append(_required("inp") if h.inp is None else _enum("inp", h.inp, InvoicePattern))
    if h.ins not in (1, 2, 3, 4):
        out.append(_required("ins") if h.ins is None else _enum("ins", h.ins, InvoiceSubject))
    elif h.ins == 1 and h.irtaxid:
        out.append(
            _problem(
                "constraint-error",
                "irtaxid",
                "صورتحساب اصلی مرجع ندارد",
                "an original invoice has no reference",
            )
        )
    elif h.ins != 1:
        if not h.irtaxid:
            out.append(_required("irtaxid"))
        elif not ids.is_tax_id(h.irtaxid):
            out.append(
                _bad_id("irtaxid", h.irtaxid, "شماره مالیاتی معتبر نیست", "is not a valid tax id")
            )
    if not h.tins:
        out += [_required("tins")] if seller_required or issued else []
    elif not ids.is_economic_code(h.tins):
        out.append(
            _bad_id(
                "tins",
                h.tins,
                "کد اقتصادی معتبر نیست (۱۱ یا ۱۴ رقم)",
                "is not a valid economic code",
            )
        )
    if issued:
        out += _tax_id_problems(h)
    return out


def _tax_id_problems(h: Header) -> list[Problem]:
    if not h.taxid:
        return [_required("taxid")]
    try:
        parts = ids.parse_tax_id(h.taxid)
    except InputError as e:
        return [_problem("tax-id-error", "taxid", e.fa, e.en)]
    out: list[Problem] = []
    if h.inno != parts.inno:
        out.append(
            _problem("tax-id-error", "inno", f"باید {parts.inno} باشد", f"must be {parts.inno}")
        )
    if h.indatim is None:
        out.append(_required("indatim"))
    elif h.indatim // 86_400_000 != parts.day_number:
        out.append(
            _problem(
                "tax-id-error",
                "indatim",
                "روز صدور با روز درون شماره مالیاتی یکی نیست",
                "the issue day differs from the day inside the tax id",
            )
        )
    return out


def invoice_problems(
    inv: Invoice, *, issued: bool = True, seller_required: bool = True
) -> list[Problem]:
    """Every offline check of one invoice: header, buyer, lines, totals, settlement.

    ``issued``: the tax id, serial and issue time are there (before a number is spent they
    are not). ``seller_required``: the seller's economic code must be given.
    """
    h = inv.header
    out = header_problems(h, issued=issued, seller_required=seller_required)
    out += buyer_problems(h)
    if not inv.body:
        out.append(
            _problem(
                "required-error", "sstid", "صورتحساب بدون ردیف کالا", "the invoice has no lines"
            )
        )
    for n, ln in enumerate(inv.body, 1):
        out += line_problems(n, ln)
    out += totals_problems(h, inv.body)
    out += settlement_problems(h)
    return out


def check(inv: Invoice, *, issued: bool = True, seller_required: bool = True) -> None:
    """Refuse (InputError naming the line and field) unless every offline check passes."""
    refuse(invoice_problems(inv, issued=issued, seller_required=seller_required))


# --- corrections: corrective (2), void (3), return (4) --------------------------------------------

_BUYER = ("tob", "bid", "tinb")
_LINE_KEYS = ("sstid", "am", "mu", "fee", "dis", "vra")


def _key(ln: Line) -> tuple[object, ...]:
    return (ln.sstid, ln.mu, ln.fee, ln.vra)


def correction_problems(original: Invoice, new: Invoice) -> list[Problem]:
    """The rules a later invoice keeps towards the one it refers to.

    All three refer to the original's tax id and keep its type, pattern and buyer. A void
    repeats the original's lines; a return restates them with quantities reduced (never
    above the original's, matched by goods id, unit, fee and VAT rate, something returned).
    """
    o, h = original.header, new.header
    out: list[Problem] = []
    if h.ins not in (2, 3, 4):
        return out
    if o.ins == 3:
        out.append(
            _problem(
                "correction-error",
                "irtaxid",
                "صورتحساب ابطالی را نمی‌توان اصلاح، ابطال یا برگشت کرد",
                "a void invoice cannot be corrected, voided or returned",
            )
        )
    if h.irtaxid != o.taxid:
        out.append(
            _problem(
                "correction-error",
                "irtaxid",
                f"باید شماره مالیاتی صورتحساب مرجع ({o.taxid}) باشد",
                f"must be the original's tax id ({o.taxid})",
            )
        )
    for key in ("inty", "inp", *_BUYER):
        if getattr(h, key) != getattr(o, key):
            out.append(
                _problem(
                    "correction-error",
                    key,
                    f"باید همان صورتحساب مرجع ({getattr(o, key)}) بماند",
                    f"must stay as on the original ({getattr(o, key)})",
                )
            )
    if h.ins == 3:
        out += _same_lines(original.body, new.body)
    elif h.ins == 4:
        out += _reduced_lines(original.body, new.body)
    return out


def _same_lines(orig: Sequence[Line], new: Sequence[Line]) -> list[Problem]:
    if len(orig) != len(new):
        return [
            _problem(
                "correction-error",
                "sstid",
                f"صورتحساب ابطالی همان {len(orig)} ردیف مرجع را دارد",
                f"a void invoice repeats the original's {len(orig)} lines",
            )
        ]
    for n, (a, b) in enumerate(zip(orig, new, strict=True), 1):
        for key in _LINE_KEYS:
            if getattr(a, key) != getattr(b, key):
                return [
                    _problem(
                        "correction-error",
                        key,
                        "صورتحساب ابطالی همان ردیف‌های مرجع را دارد",
                        "a void invoice repeats the original's lines",
                        n,
                    )
                ]
    return []


def _reduced_lines(orig: Sequence[Line], new: Sequence[Line]) -> list[Problem]:
    left: dict[tuple[object, ...], Decimal] = {}
    for ln in orig:
        left[_key(ln)] = left.get(_key(ln), Decimal(0)) + (ln.am or 0)
    out: list[Problem] = []
    for n, ln in enumerate(new, 1):
        k = _key(ln)
        if k not in left:
            out.append(
                _problem(
                    "correction-error",
                    "sstid",
                    "این کالا با این واحد، مبلغ واحد و نرخ در صورتحساب مرجع نیست",
                    "no line of the original has this goods id, unit, fee and VAT rate",
                    n,
                )
            )
            continue
        left[k] -= ln.am or 0
        if left[k] < 0:
            out.append(
                _problem(
                    "correction-error",
                    "am",
                    "مقدار برگشت از فروش بیش از مقدار صورتحساب مرجع است",
                    "a return cannot hold more than the original's quantity",
                    n,
                )
            )
    if not out and sum(ln.am or 0 for ln in new) >= sum(ln.am or 0 for ln in orig):
        out.append(
            _problem(
                "correction-error",
                "am",
                "در برگشت از فروش مقدار دست‌کم یک ردیف کم می‌شود",
                "a return reduces the quantity of at least one line",
            )
        )
    return out


def returned_lines(orig: Sequence[Line], returned: Mapping[int, Decimal]) -> list[Line]:
    """The original's lines after ``returned`` (line number → quantity back), recomputed.

    Discounts shrink in proportion; a line returned whole is left out. InputError (naming the
    line) for an unknown line number or more than the line's quantity.
    """
    for n, qty in returned.items():
        if not 1 <= n <= len(orig):
            raise _problem(
                "correction-error",
                "am",
                f"صورتحساب مرجع ردیف {n} ندارد",
                f"the original has no line {n}",
                n,
            ).error()
        have = orig[n - 1].am or Decimal(0)
        if qty <= 0 or qty > have:
            raise _problem(
                "correction-error",
                "am",
                f"مقدار برگشتی باید بیش از صفر و حداکثر {have} باشد",
                f"the quantity returned must be above 0 and at most {have}",
                n,
            ).error()
    out: list[Line] = []
    for n, ln in enumerate(orig, 1):
        have = ln.am or Decimal(0)
        left = have - returned.get(n, Decimal(0))
        if left <= 0:
            continue
        dis = rial(Decimal(ln.dis or 0) * left / have) if have else 0
        out.append(
            compute_line(
                sstid=ln.sstid or "",
                sstt=ln.sstt or "",
                am=left,
                mu=ln.mu or "",
                fee=ln.fee or 0,
                dis=dis,
                vra=ln.vra if ln.vra is not None else DEFAULT_VAT_RATE,
            )
        )
    return out


# --- reading typed values (a --line, a lines file, a register cell) -------------------------------


def parse_decimal(value: object, key: str, line: int | None = None) -> Decimal:
    """A number as typed (Persian digits, digit grouping, a decimal point) as an exact Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = normalize(value)
    sign = "-" if text[:1] in ("-", "\u2212") else ""  # normalize_numeric drops dashes
    # "/" and "٫" are the decimal points people type in Persian ("2/5" is two and a half).
    text = sign + normalize_numeric(text.replace("/", "."))
    try:
        d = Decimal(text)
    except InvalidOperation:
        d = Decimal("NaN")
    if not d.is_finite():
        raise _problem(
            "type-error", key, f"«{value}» عدد نیست", f"'{value}' is not a number", line
        ).error()
    return d


def parse_rials(value: object, key: str, line: int | None = None) -> int:
    """Whole Rials as typed; a fraction of a Rial is refused, not truncated."""
    d = parse_decimal(value, key, line)
    if d != d.to_integral_value():
        raise _problem(
            "type-error",
            key,
            f"«{value}» ریال کامل نیست",
            f"'{value}' is not a whole number of Rials",
            line,
        ).error()
    return int(d)


def unit_code(value: object, line: int | None = None) -> str:
    """The unit's code from a code, its Persian or English name (عدد, 1627, piece…)."""
    digits = normalize_numeric(value)
    try:
        return str(parse_member(MeasurementUnit, digits if digits.isdigit() else str(value)).value)
    except ValueError:
        raise _problem(
            "enum-error",
            "mu",
            f"«{value}» در جدول واحدهای سامانه مودیان نیست (مثل ۱۶۲۷ عدد، ۱۶۴ کیلوگرم)",
            f"'{value}' is not in the Moadian table of units (e.g. 1627 piece, 164 kilogram)",
            line,
        ).error() from None


__all__ = [
    "BODY_FIELDS",
    "DEFAULT_VAT_RATE",
    "FIELDS",
    "HEADER_FIELDS",
    "PAYMENT_FIELDS",
    "SPEC_SOURCE",
    "UNITS_SOURCE",
    "BuyerType",
    "Header",
    "Invoice",
    "InvoicePattern",
    "InvoiceSubject",
    "InvoiceType",
    "Line",
    "MeasurementUnit",
    "Payment",
    "Problem",
    "Settlement",
    "check",
    "compute_line",
    "correction_problems",
    "epoch_ms",
    "invoice_problems",
    "label",
    "parse_choice",
    "parse_decimal",
    "parse_rials",
    "refuse",
    "returned_lines",
    "settle",
    "totals",
    "unit_code",
]
