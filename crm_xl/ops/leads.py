"""Lead import (R13): a CSV/XLSX list (an exhibition's visitors, a website export) into the register.

Steps: read the file; map its columns to customer fields (``--map`` and automatic mapping of
common Persian/English headers); normalise each row (Persian text, mobiles to 09…, national
codes checked); sort rows into *new*, *duplicate* (of a registered customer or of an earlier
row of the same file, by national code/ID, mobile, then normalised name — the rules of
``decide.find_duplicates``) and *invalid* (with reasons).  Preview writes nothing.  Commit
registers each new row with ``decide.register_customer`` — the decision ``customer add`` makes —
inside ONE locked read-decide-write of the register (``store.run``), so a second import of
the same file finds every row a duplicate and registers nothing.

Speed (2,000 rows): the core finds duplicates through its party index and scans used numbers
once per snapshot; the store buffers appends per table and stamps new customer forms from the
template's bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_xl.domain import decide, ids
from crm_xl.domain.changes import AppendRow, Plan
from crm_xl.domain.dates import parse_datetime
from crm_xl.domain.enums import Channel, PersonType
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.schema import (
    CASES,
    COUNTERS,
    CUSTOMERS,
    INVOICES,
    LOG,
)
from crm_xl.domain.text import name_key, normalize, to_ascii_digits
from crm_xl.io import guard
from crm_xl.io.workbook import read_table_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store

# --- column mapping ---------------------------------------------------------------------------

#: Import fields → header spellings recognised automatically (compared with ``name_key``).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "نام و نام خانوادگی",
        "نام کامل",
        "نام مشتری",
        "مشتری",
        "name",
        "full name",
        "customer",
    ),
    "first_name": ("نام", "first name", "firstname", "given name"),
    "last_name": ("نام خانوادگی", "فامیلی", "last name", "lastname", "surname", "family name"),
    "company": ("شرکت", "نام شرکت", "سازمان", "company", "company name", "organization"),
    "person_type": ("نوع شخص", "حقیقی/حقوقی", "person type", "type"),
    "national_code": ("کد ملی", "کدملی", "شماره ملی", "national code"),
    "national_id": ("شناسه ملی", "legal id", "national id"),
    "mobile": (
        "موبایل",
        "تلفن همراه",
        "همراه",
        "شماره همراه",
        "شماره موبایل",
        "mobile",
        "cell",
        "cellphone",
    ),
    "phone": ("تلفن", "تلفن ثابت", "phone", "tel", "telephone"),
    "email": ("ایمیل", "پست الکترونیک", "email", "e-mail"),
    "website": ("وب سایت", "وبسایت", "سایت", "website", "web"),
    "address": ("آدرس", "نشانی", "address"),
    "postal_code": ("کد پستی", "کدپستی", "postal code", "zip"),
    "need": ("نیاز", "نیاز مشتری", "محصول مورد نظر", "درخواست", "need", "interest"),
    "referrer": ("معرف", "referrer", "referred by"),
    "category": ("دسته", "دسته بندی", "category"),
    "activity": ("زمینه فعالیت", "activity", "industry"),
    "contact_person": ("شخص رابط", "رابط", "contact person", "contact"),
    "expert": ("کارشناس", "کارشناس فروش", "expert", "sales expert"),
    "channel": ("کانال", "کانال آشنایی", "منبع", "channel", "source"),
    "at": ("تاریخ", "تاریخ مراجعه", "تاریخ تماس", "date"),
}
FIELDS = (*tuple(SYNONYMS), "ignore")
#: Import fields that go to the customer's F-31-08-01 registration block as they are.
_BLOCK_EXTRA = ("email", "website", "address", "postal_code", "activity", "contact_person")

_SYN_INDEX = {name_key(s): f for f, spellings in SYNONYMS.items() for s in spellings}


def parse_map(text: str | None) -> dict[str, str]:
    """``"نام=name,موبایل=mobile"`` → {header key: field}; raises on unknown fields."""
    out: dict[str, str] = {}
    for part in re.split(r"[,،;]", text or ""):
        if not part.strip():
            continue
        header, sep, target = part.partition("=")
        target = normalize(target).lower()
        if not sep or target not in FIELDS:
            raise InputError(
                f"نگاشت «{part.strip()}» نادرست است؛ شکل درست: ستون=فیلد با فیلدهای {', '.join(FIELDS)}",
                f"mapping '{part.strip()}' is invalid; use header=field with fields {', '.join(FIELDS)}",
                code="constraint-error",
                field="map",
            )
        out[name_key(header)] = target
    return out


def map_columns(headers: list[str], explicit: Mapping[str, str] | None = None) -> dict[int, str]:
    """Column index → import field: explicit mapping first, then known header spellings."""
    explicit = explicit or {}
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for i, h in enumerate(headers):
        target = explicit.get(name_key(h))
        if target:
            mapping[i] = target
            taken.add(target)
    for i, h in enumerate(headers):
        if i in mapping:
            continue
        target = _SYN_INDEX.get(name_key(h))
        if target and target not in taken:
            mapping[i] = target
            taken.add(target)
    unknown = set(explicit) - {name_key(h) for h in headers}
    if unknown:
        raise InputError(
            f"ستون‌های نگاشت در فایل نیستند: {', '.join(sorted(unknown))}",
            f"mapped columns not found in the file: {', '.join(sorted(unknown))}",
            code="missing-column",
            field="map",
        )
    return {i: f for i, f in mapping.items() if f != "ignore"}


# --- reading the file ---------------------------------------------------------------------------


def read_source(path: Path) -> tuple[list[str], list[list[str]], int]:
    """Headers, data rows (as text) and the file line/row number of the first data row."""
    if not path.is_file():
        raise CrmError("فایل پیدا نشد", "file not found", code="file-not-found", file=path)
    suffix = path.suffix.lower()
    if suffix in (".xls", ".ods", ".xlsb"):
        # The untrusted path: only packages guard can look into before a parser does.
        raise CrmError(
            f"قالب {suffix} پذیرفته نیست؛ فایل را با قالب xlsx یا CSV (UTF-8) ذخیره کنید",
            f"{suffix} files are not accepted; save the list as .xlsx or CSV (UTF-8)",
            code="not-xlsx",
            file=path,
        )
    if suffix in (".xlsx", ".xlsm"):
        from python_calamine import CalamineWorkbook

        guard.inspect(path)  # bombs, stray cells, entity tricks: refused before calamine
        try:
            book = CalamineWorkbook.from_path(str(path))
            rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
        except Exception as e:
            raise CrmError(
                "فایل خوانده نشد", f"cannot read file: {e}", code="not-xlsx", file=path
            ) from e
        table = [[_cell_text(v) for v in r] for r in rows]
    else:
        guard.check_text_file(path)
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "cp1256"):  # Excel "CSV" from Persian Windows is often cp1256
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise CrmError(
                "کدگذاری فایل شناخته نشد؛ با UTF-8 ذخیره کنید",
                "unknown text encoding; save the CSV as UTF-8",
                code="type-error",
                file=path,
            )
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        table = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text), dialect)]
    start = next((i for i, r in enumerate(table) if any(c for c in r)), None)
    if start is None:
        raise CrmError("فایل خالی است", "the file is empty", code="empty-file", file=path)
    headers = [normalize(h) for h in table[start]]
    return headers, table[start + 1 :], start + 2


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v).strip()


# --- analysing rows ---------------------------------------------------------------------------


@dataclass
class Lead:
    line: int  # row number in the file (1-based, header included)
    status: str = "new"  # new | duplicate | invalid | registered
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicate_of: str | None = None  # a customer number or "row N"
    customer: decide.NewCustomer | None = None
    customer_no: str | None = None

    def as_dict(self) -> dict[str, Any]:
        c = self.customer
        return {
            "line": self.line,
            "status": self.status,
            "name": c.name if c else None,
            "mobile": c.mobile if c else None,
            "national_id": (c.national_code or c.national_id) if c else None,
            "duplicate_of": self.duplicate_of,
            "customer_no": self.customer_no,
            "reasons": self.reasons,
            "warnings": self.warnings,
        }


def _natural_or_legal(values: dict[str, str]) -> PersonType:
    if values.get("person_type"):
        return PersonType.parse(values["person_type"])
    digits = to_ascii_digits(normalize(values.get("national_id") or values.get("national_code")))
    if values.get("company") or len(re.sub(r"\D", "", digits)) == 11:
        return PersonType.LEGAL
    return PersonType.NATURAL


def _build(line: int, values: dict[str, str], channel: str | None, expert: str | None) -> Lead:
    """A Lead with its NewCustomer, normalised and checked (status invalid with reasons)."""
    lead = Lead(line)
    try:
        ptype = _natural_or_legal(values)
    except ValueError:
        lead.reasons.append(f"نوع شخص نامعتبر / invalid person type '{values.get('person_type')}'")
        ptype = PersonType.NATURAL
    person = normalize(values.get("name")) or normalize(
        f"{values.get('first_name', '')} {values.get('last_name', '')}"
    )
    company = normalize(values.get("company"))
    name = company if ptype is PersonType.LEGAL and company else person
    if not name:
        lead.reasons.append("نام خالی است / name is empty")
    mobile = ""
    if values.get("mobile"):
        try:
            mobile = ids.normalize_mobile(values["mobile"])
        except InputError as e:
            lead.reasons.append(str(e))
    phone = ""
    if values.get("phone"):
        try:
            phone = ids.normalize_phone(values["phone"], allow_mobile=False)
        except InputError as e:
            lead.warnings.append(f"تلفن ثابت کنار گذاشته شد / landline dropped: {e}")
    natcode, natid = "", ""
    raw_id = values.get("national_id") or values.get("national_code") or ""
    if raw_id:
        if ptype is PersonType.NATURAL:
            try:
                natcode = ids.normalize_national_code(raw_id)
            except InputError as e:
                lead.reasons.append(str(e))
        elif ids.is_legal_id(raw_id):
            natid = re.sub(r"\D", "", to_ascii_digits(normalize(raw_id)))
        else:
            lead.reasons.append(f"شناسه ملی نامعتبر / invalid legal national ID '{raw_id}'")
    who = normalize(values.get("expert")) or normalize(expert)
    if not who:
        lead.reasons.append("کارشناس فروش مشخص نیست (--expert) / no sales expert (use --expert)")
    chan_text = values.get("channel") or channel or Channel.OTHER.value
    try:
        chan = Channel.parse(chan_text)
    except ValueError:
        lead.warnings.append(
            f"کانال «{chan_text}» ناشناخته؛ «سایر» ثبت می‌شود / unknown channel, 'other' used"
        )
        chan = Channel.OTHER
    at: Any = None
    if values.get("at"):
        try:
            at = parse_datetime(values["at"])
        except ValueError as e:
            lead.warnings.append(
                f"تاریخ خوانا نیست، اکنون ثبت می‌شود / date unreadable, now used: {e}"
            )
    extra: dict[str, Any] = {}
    for key in _BLOCK_EXTRA:
        v = normalize(values.get(key))
        if not v:
            continue
        if key == "email" and not ids.is_email(v):
            lead.warnings.append(f"ایمیل نامعتبر کنار گذاشته شد / invalid email dropped: {v}")
            continue
        if key == "website":
            try:
                v = ids.normalize_website(v)
            except InputError:
                lead.warnings.append(
                    f"وب‌سایت نامعتبر کنار گذاشته شد / invalid website dropped: {v}"
                )
                continue
        if key == "postal_code":
            v = to_ascii_digits(v)
        extra[key] = v
    if ptype is PersonType.LEGAL and company and person:
        extra.setdefault("contact_person", person)
    lead.customer = decide.NewCustomer(
        name=name,
        person_type=ptype.value,
        channel=chan.value,
        expert=who,
        need=normalize(values.get("need")),
        national_code=natcode,
        national_id=natid,
        mobile=mobile,
        phone=phone,
        referrer=normalize(values.get("referrer")),
        category=normalize(values.get("category")),
        at=at,
        extra=extra,
    )
    if not lead.reasons:  # the entry rules customer add applies (a need, valid fields)
        try:
            decide.check_new_customer(lead.customer)
        except InputError as e:
            lead.reasons.append(str(e))
    if lead.reasons:
        lead.status = "invalid"
    return lead


def analyse(
    reg: decide.Register,
    headers: list[str],
    rows: Iterable[list[str]],
    first_line: int,
    *,
    mapping: Mapping[str, str] | None = None,
    channel: str | None = None,
    expert: str | None = None,
) -> tuple[list[Lead], dict[int, str]]:
    """Sort the file's rows into new / duplicate / invalid against ``reg`` and each other."""
    cols = map_columns(headers, mapping)
    fields = set(cols.values())
    if not fields & {"name", "first_name", "last_name", "company"}:
        raise InputError(
            "ستون نام پیدا نشد؛ با --map مشخص کنید (مثلاً «نام=name»)",
            "no name column found; map one with --map (e.g. 'Full name=name')",
            code="missing-column",
            field="map",
        )
    if "first_name" in fields and "last_name" not in fields and "name" not in fields:
        cols = {i: ("name" if f == "first_name" else f) for i, f in cols.items()}
    seen = decide.PartyIndex()  # accepted rows of this file, by the same rules as the register
    leads: list[Lead] = []
    for n, raw in enumerate(rows, first_line):
        if not any(c.strip() for c in raw):
            continue
        values = {f: raw[i] if i < len(raw) else "" for i, f in cols.items()}
        lead = _build(n, values, channel, expert)
        leads.append(lead)
        if lead.status == "invalid" or lead.customer is None:
            continue
        c = lead.customer
        natid = c.national_code or c.national_id
        found = (
            (
                decide.find_duplicates(
                    reg, {"national_id": natid, "mobile": c.mobile, "name": c.name}
                ),
                "",
            ),
            (seen.find(natid, c.mobile, c.name), "row "),
        )
        for hits, prefix in found:
            if hits:
                who, why = decide.PartyIndex.strongest(hits)
                lead.status = "duplicate"
                lead.duplicate_of = f"{prefix}{who}"
                lead.reasons.append(
                    f"همان {decide.PARTY_REASON_FA[why]} / same {why}: {prefix}{who}"
                )
                break
        if lead.status == "new":
            seen.add(str(n), natid, c.mobile, c.name)
    return leads, cols


def _fast_register(ws: Workspace) -> decide.Register:
    """A read-only snapshot through calamine (preview: no lock, nothing written)."""
    from crm_xl.domain.schema import F_31_08_02

    path = ws.register_path

    def rows(name: str) -> list[dict[str, Any]]:
        return [r for _, r in read_table_fast(path, F_31_08_02, name)]

    return decide.Register.from_rows(
        ws.settings,
        customers=rows(CUSTOMERS.name),
        cases=rows(CASES.name),
        invoices=rows(INVOICES.name),
        counters=rows(COUNTERS.name),
        log=rows(LOG.name),
    )


def import_leads(
    ws: Workspace,
    path: str | Path,
    *,
    mapping: str | Mapping[str, str] | None = None,
    channel: str | None = None,
    expert: str | None = None,
    commit: bool = False,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Preview (default) or commit an import; the result lists every row with its status."""
    path = Path(path)
    explicit = parse_map(mapping) if isinstance(mapping, str) or mapping is None else dict(mapping)
    headers, rows, first = read_source(path)
    if channel:
        try:
            channel = Channel.parse(channel).value
        except ValueError as e:
            raise InputError(str(e), str(e), code="constraint-error", field="channel") from None
    if not commit:
        leads, cols = analyse(
            _fast_register(ws),
            headers,
            rows,
            first,
            mapping=explicit,
            channel=channel,
            expert=expert,
        )
        return _summary(path, headers, cols, leads, committed=False)

    who = store.actor(now)
    box: dict[str, Any] = {}

    def plan_of(reg: decide.Register) -> Plan:
        # Decided again under the lock: the register may have changed since the preview.
        leads, cols = analyse(
            reg, headers, rows, first, mapping=explicit, channel=channel, expert=expert
        )
        box.update(leads=leads, cols=cols)
        return register_many(reg, [lead for lead in leads if lead.status == "new"], who, progress)

    store.run(ws, plan_of, now=who.now)
    return _summary(path, headers, box["cols"], box["leads"], committed=True)


def register_many(
    reg: decide.Register,
    leads: list[Lead],
    actor: decide.Actor,
    progress: Callable[[int, int], None] | None = None,
) -> Plan:
    """``decide.register_customer`` for each lead (already checked for duplicates), one merged plan."""
    plan = Plan("lead-import")
    if not leads:
        return plan
    numbers = []
    for i, lead in enumerate(leads, 1):
        assert lead.customer is not None
        try:
            p = decide.register_customer(reg, lead.customer, actor)
        except InputError as e:  # a row the core refuses is reported, the others go on
            lead.status = "invalid"
            lead.reasons.append(str(e))
            continue
        plan.register.extend(p.register)
        plan.folders.extend(p.folders)
        lead.customer_no = str(p.result["customer_no"])
        lead.status = "registered"
        numbers.append(lead.customer_no)
        if progress:
            progress(i, len(leads))
    if not numbers:
        return plan
    plan.register.append(
        AppendRow(
            LOG.name,
            decide.log_row(
                actor, "lead-import", [f"{numbers[0]}..{numbers[-1]}"], {"registered": len(numbers)}
            ),
        )
    )
    plan.result = {"registered": numbers}
    plan.message_fa = f"{len(numbers)} مشتری جدید ثبت شد"
    plan.message_en = f"{len(numbers)} new customers registered"
    return plan


def _summary(
    path: Path, headers: list[str], cols: dict[int, str], leads: list[Lead], *, committed: bool
) -> dict[str, Any]:
    count = {
        s: sum(1 for x in leads if x.status == s)
        for s in ("new", "registered", "duplicate", "invalid")
    }
    return {
        "file": str(path),
        "committed": committed,
        "mapping": {headers[i]: f for i, f in sorted(cols.items())},
        "rows": len(leads),
        **count,
        "leads": [x.as_dict() for x in leads],
    }


# --- one locked read-decide-write for a big plan ---------------------------------------------------
