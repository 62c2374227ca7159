"""Per-field and per-row rules, compiled once per field from the schema and run column-wise.

The rules themselves are the entry rules of :mod:`crm_xl.domain.models`, the ones every write
operation enforces: value rules (``parse_value``), required fields (``required_now``) and the
cross-field rules (``party_problems``, the ``Order`` rules, ``planned_action_problems``,
``tax_day_matches``). This module only applies them to whole columns, fast, and turns their
refusals into findings with cells; it declares no rule of its own beyond the register's
internal consistency (a closed row's dates, numbers, references between its tables).

Speed matters (a register holds 100k customers): a table is validated one *column* at a
time, each distinct value is checked once (most columns have few distinct values: stages,
experts, channels) and only cells holding a bad value are visited again to report them.
A check turns a raw cell value into its parsed value (dates as naive datetimes, enums as
members, identifiers as canonical text) or an issue; row rules then work on parsed columns,
so a value already reported as malformed is not reported again by a cross-field rule.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from openpyxl.utils import get_column_letter

from crm_xl.domain import ids, models, schema
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import CaseStatus, PersonType, Stage, is_void
from crm_xl.domain.errors import InputError
from crm_xl.domain.models import (
    CLOSED_AFTER_CRM,
    CONTRACT_AFTER_CASE,
    FOLLOWUP_AFTER_FIRST_CONTACT,
    INVOICE_AFTER_CASE,
    NEXT_DUE_AFTER_FOLLOWUP,
    Problem,
)
from crm_xl.domain.numbering import number_regex
from crm_xl.domain.schema import NUMBER_KINDS, REGISTRATION, Block, Field, FieldType, Table
from crm_xl.domain.settings import Settings
from crm_xl.domain.text import (
    ARABIC_LETTERS,
    NON_ASCII_DIGITS,
    as_text,
    fast_name_key,
    normalize,
    to_ascii_digits,
)
from crm_xl.validation.findings import Finding, finding

T = FieldType
Issue = tuple[str, str, str]  # code, fa, en
Check = Callable[[object], tuple[object, Issue | None]]

_NUMERIC_TYPES = frozenset(
    {
        T.INTEGER,
        T.RIAL,
        T.NATIONAL_CODE,
        T.LEGAL_ID,
        T.NATIONAL_ID,
        T.ECONOMIC_CODE,
        T.POSTAL_CODE,
        T.MOBILE,
        T.PHONE,
        *NUMBER_KINDS.values(),
        T.TAX_ID,
    }
)
_ARABIC = ARABIC_LETTERS
_FA_DIGIT = NON_ASCII_DIGITS
_ASCII_DIGIT = re.compile("[0-9]")
_BAD_SPACE = re.compile(r"^\s|\s$| {2,}|\u00a0")


def is_blank(v: object) -> bool:
    return v is None or v == "" or (v.__class__ is str and not v.strip())  # type: ignore[union-attr]


def _issue(code: str, fa: str, en: str) -> Issue:
    return (code, fa, en)


def _from_error(code: str, e: InputError) -> Issue:
    return (code, e.fa, e.en)


# --- field checks: the entry rules of the schema, per distinct value --------------------------


def _rule(f: Field) -> Check:
    """``models.parse_value`` of ``f`` as a check: (parsed, None) or (None, issue)."""

    def check(v: object) -> tuple[object, Issue | None]:
        try:
            return models.parse_value(f, v), None
        except InputError as e:
            return None, _from_error(e.code, e)

    return check


_national_code_rule = _rule(REGISTRATION.field("national_code"))
_legal_id_rule = _rule(REGISTRATION.field("legal_id"))


def check_national_code(v: object) -> tuple[object, Issue | None]:
    s = as_text(v)
    if len(s) == 10 and s.isascii() and s.isdigit() and ids.national_code_digits_ok(s):
        return s, None  # the common case, without normalising
    return _national_code_rule(s)


def check_legal_id(v: object) -> tuple[object, Issue | None]:
    return _legal_id_rule(as_text(v))


def _date_check(f: Field) -> Check:
    rule = _rule(f)

    def check(v: object) -> tuple[object, Issue | None]:
        p, issue = rule(v)
        # Validation compares naive Tehran wall times.
        if isinstance(p, dt.datetime):
            return p.astimezone(TEHRAN).replace(tzinfo=None) if p.tzinfo else p, None
        if isinstance(p, dt.date):
            return dt.datetime.combine(p, dt.time()), None
        return p, issue

    return check


def _postal(f: Field) -> Check:
    rule = _rule(f)

    def check(v: object) -> tuple[object, Issue | None]:
        p, issue = rule(as_text(v))
        if issue is not None:
            return None, issue
        warnings = ids.check_postal_code(p)
        if warnings:  # the heuristics are a warning: the value stands
            fa, _, en = warnings[0].partition(" / ")
            return p, ("postal-code-suspect", fa, en)
        return p, None

    return check


def _number_check(kind: str, settings: Settings) -> Check:
    rule = settings.rule(kind)
    rx = number_regex(rule.pattern)

    def check(v: object) -> tuple[object, Issue | None]:
        s = to_ascii_digits(normalize(as_text(v)))
        if rx.match(s):
            return s, None
        return None, _issue(
            "number-format",
            f"شماره «{v}» با الگوی «{rule.pattern}» نمی‌خواند",
            f"number '{v}' does not fit the pattern '{rule.pattern}'",
        )

    return check


def _tax_check(settings: Settings) -> Check:
    memory = settings.fiscal_memory_id

    def check(v: object) -> tuple[object, Issue | None]:
        try:
            parts = ids.parse_tax_id(v)
        except InputError as e:
            return None, _from_error("tax-id-error", e)
        if memory and parts.memory_id != memory:
            return None, _issue(
                "tax-id-error",
                f"شناسه حافظه «{parts.memory_id}» با تنظیمات ({memory}) یکی نیست",
                f"memory id {parts.memory_id} differs from the settings ({memory})",
            )
        return parts, None

    return check


def _text(v: object) -> tuple[object, Issue | None]:
    return v, None


def compile_check(f: Field, settings: Settings) -> Check:
    """The value check of one field (built once per field and run once per distinct value)."""
    t = f.type
    if f.is_date:
        return _date_check(f)
    if t == T.NATIONAL_CODE:
        return check_national_code
    if t == T.POSTAL_CODE:
        return _postal(f)
    if t == T.TAX_ID:
        return _tax_check(settings)
    for kind, ft in NUMBER_KINDS.items():
        if t == ft:
            return _number_check(kind, settings)
    if t in (T.TEXT, T.LONGTEXT, T.CATEGORY, T.NATIONAL_ID):
        return _text  # any text is a value (NATIONAL_ID is checked per row by person type)
    return _rule(f)


def hygiene(f: Field, v: str) -> list[Issue]:
    """Text-hygiene warnings of one string value (all fixable by ``fixed_value``)."""
    out: list[Issue] = []
    if _ARABIC.search(v):
        out.append(
            _issue("arabic-letters", "حروف عربی ي/ك به جای ی/ک", "Arabic ي/ك instead of ی/ک")
        )
    if _FA_DIGIT.search(v):
        if _ASCII_DIGIT.search(v):
            out.append(_issue("mixed-digits", "ارقام فارسی و لاتین با هم", "mixed digit scripts"))
        elif f.type in _NUMERIC_TYPES:
            out.append(_issue("persian-digits", "ارقام فارسی در فیلد عددی", "Persian digits"))
    if _BAD_SPACE.search(v) and not (f.type == T.LONGTEXT and "  " not in v.strip(" \t")):
        out.append(_issue("spacing", "فاصله اضافه در ابتدا/انتها یا میان کلمات", "extra spaces"))
    return out


def fixed_value(f: Field, v: str) -> str:
    """The safe normalisation of a text cell: Persian letters, single spaces, ASCII digits
    where the value is numeric or mixes scripts; line breaks of long text are kept."""
    if f.type == T.LONGTEXT:
        new = "\n".join(normalize(line) for line in v.split("\n")).strip("\n")
    else:
        new = normalize(v)
    if f.type in _NUMERIC_TYPES or (_FA_DIGIT.search(new) and _ASCII_DIGIT.search(new)):
        new = to_ascii_digits(new)
    return new


# --- tables --------------------------------------------------------------------------------


@dataclass
class Sink:
    """Where findings of one file go, with the file's name for their location."""

    file: str
    findings: list[Finding] = field(default_factory=list)

    def add(self, code: str, fa: str, en: str, **where: Any) -> None:
        where.setdefault("file", self.file)
        self.findings.append(finding(code, fa, en, **where))


@dataclass
class TableData:
    """A table's data rows, column-wise: raw values and parsed values (None: blank or invalid)."""

    table: Table
    sheet: str
    rownos: list[int]
    letters: dict[str, str]
    raw: dict[str, list[object]]
    parsed: dict[str, list[object]]

    def cell(self, key: str, i: int) -> str:
        return f"{self.letters[key]}{self.rownos[i]}"

    def where(self, key: str, i: int, value: object = None) -> dict[str, Any]:
        v = self.raw[key][i] if value is None and key in self.raw else value
        return {
            "sheet": self.sheet,
            "cell": self.cell(key, i),
            "row": self.rownos[i],
            "field": key,
            "value": None if is_blank(v) else as_text(v),
        }

    def __len__(self) -> int:
        return len(self.rownos)


def col_letter(i: int) -> str:
    """0-based column index → Excel letters."""
    return get_column_letter(i + 1)


# --- bulk paths: whole columns at C speed, per-value Python only for what they cannot settle ---

_HYGIENE_CHARS = re.compile(f"{_ARABIC.pattern}|{_FA_DIGIT.pattern}|\u00a0")
# The rules of domain.ids, vectorised (tests/test_validate_rules.py holds them equal).
_NC_WEIGHTS = np.array(ids.NATIONAL_CODE_WEIGHTS, dtype=np.int64)
_LEGAL_WEIGHTS = np.array(ids.LEGAL_ID_WEIGHTS, dtype=np.int64)


def _digit_matrix(values: list[str], width: int) -> np.ndarray:
    return (
        np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8)
        .reshape(-1, width)
        .astype(np.int64)
        - 48
    )


def bulk_national_codes(values: list[str]) -> set[str]:
    """The valid 10-digit national codes among ``values`` (numpy: one pass, no Python loop)."""
    cand = [v for v in values if len(v) == 10 and v.isascii() and v.isdigit()]
    if not cand:
        return set()
    d = _digit_matrix(cand, 10)
    r = (d[:, :9] @ _NC_WEIGHTS) % 11
    check = np.where(r < 2, r, 11 - r)
    ok = (check == d[:, 9]) & d[:, 3:9].any(axis=1) & (d != d[:, :1]).any(axis=1)
    return {v for v, good in zip(cand, ok.tolist(), strict=True) if good}


def bulk_legal_ids(values: list[str]) -> set[str]:
    cand = [v for v in values if len(v) == 11 and v.isascii() and v.isdigit()]
    if not cand:
        return set()
    d = _digit_matrix(cand, 11)
    k = d[:, 9:10] + 2
    r = ((d[:, :10] + k) @ _LEGAL_WEIGHTS) % 11
    r = np.where(r == 10, 0, r)
    ok = r == d[:, 10]
    return {v for v, good in zip(cand, ok.tolist(), strict=True) if good}


def _bulk_regex(rx: re.Pattern[str]) -> Callable[[list[str]], set[str]]:
    """Values fully matching ``rx``, found with one multiline findall over the joined column."""
    body = rx.pattern.removeprefix("^").removesuffix("$")
    body = re.sub(r"\(\?P<\w+>", "(?:", body)  # no groups: findall returns whole lines
    multi = re.compile("(?m)^" + body + "$")

    def bulk(values: list[str]) -> set[str]:
        if not values:
            return set()
        return set(multi.findall("\n".join(values))).intersection(values)

    return bulk


_MOBILE = _bulk_regex(re.compile(r"^09\d{9}$"))

Bulk = Callable[[list[str]], set[str]]


def compile_bulk(f: Field, settings: Settings) -> Bulk | None:
    """Strings already canonical and valid for ``f`` (parsed value = the string itself)."""
    t = f.type
    if t == T.NATIONAL_CODE:
        return bulk_national_codes
    if t == T.LEGAL_ID:
        return bulk_legal_ids
    if t == T.MOBILE:
        return _MOBILE
    if t in (T.TEXT, T.LONGTEXT, T.CATEGORY, T.NATIONAL_ID):
        return lambda values: set(values)
    for kind, ft in NUMBER_KINDS.items():
        if t == ft:
            return _bulk_regex(number_regex(settings.rule(kind).pattern))
    return None


def column_hygiene(f: Field, strings: list[str]) -> dict[str, list[Issue]]:
    """Hygiene issues by value; one regex pass over the joined column decides if any exist."""
    if not strings:
        return {}
    joined = "\x00".join(strings)
    # Three C-speed tests instead of one slow alternation: odd characters, double spaces,
    # and spaces at either end of any value (the stripped join differs then).
    if (
        not _HYGIENE_CHARS.search(joined)
        and "  " not in joined
        and joined == "\x00".join(map(str.strip, strings))
    ):
        return {}
    out: dict[str, list[Issue]] = {}
    for v in strings:
        issues = hygiene(f, v)
        if issues:
            out[v] = issues
    return out


def check_column(
    sink: Sink,
    td: TableData,
    f: Field,
    col: list[object] | tuple[object, ...],
    check: Check,
    bulk: Bulk | None = None,
) -> list[object]:
    """Field-level checks of one column; returns the parsed column (None: blank or invalid)."""
    distinct = set(col)
    distinct.discard("")
    types = set(map(type, distinct))  # C speed; lets the common one-type column skip filters
    if types == {str}:
        strings: list[str] = list(distinct)  # type: ignore[arg-type]
    else:
        strings = [v for v in distinct if v.__class__ is str] if str in types else []  # type: ignore[misc]
    special: dict[object, object] = {}  # values whose parsed form is not the value itself
    bad: dict[object, list[Issue]] = {}
    if f.is_date:
        if types <= {dt.datetime}:
            rest: list[object] = []
        else:
            rest = [v for v in distinct if v.__class__ is not dt.datetime]
    elif check is _text:
        rest = []  # free text: any value is a valid value (hygiene is checked below)
    elif bulk is not None:
        rest = list(distinct.difference(bulk(strings)))  # type: ignore[arg-type]
    else:
        rest = list(distinct)
    for v in rest:
        if v.__class__ is str and v.isspace():  # type: ignore[union-attr]
            special[v] = None
            continue
        p, issue = check(v)
        if issue is None:
            if p is not v:
                special[v] = p
        else:
            special[v] = None
            bad[v] = [issue]
    for v, issues in column_hygiene(f, strings).items():  # type: ignore[arg-type]
        bad.setdefault(v, []).extend(issues)
    if bad:
        for i, v in enumerate(col):
            if v in bad:
                where = td.where(f.key, i, v)
                for code, fa, en in bad[v]:
                    sink.add(code, f"{f.fa}: {fa}", f"{f.en}: {en}", **where)
    special[""] = None
    return list(map(special.get, col, col))  # parsed value, else the value itself


def read_table(
    sink: Sink, table: Table, rows: list[list[Any]], settings: Settings, key_row: int, first: int
) -> TableData:
    """Locate the columns by the hidden key row, check every column, return the table's data."""
    keys = rows[key_row - 1] if len(rows) >= key_row else []
    cols = schema.key_positions(keys, table.keys)
    for f in table.fields:
        if f.key not in cols:
            sink.add(
                "missing-column",
                f"ستون «{f.fa}» ({f.key}) در ردیف کلیدهای پنهان نیست",
                f"column {f.key!r} is missing from the hidden key row",
                sheet=table.sheet,
                row=key_row,
                field=f.key,
            )
    data = rows[first - 1 :]
    blank = [""] * (len(data[0]) if data else 0)
    keep = [i for i, r in enumerate(data) if r != blank]  # list == exits at the first value
    kept = [data[i] for i in keep] if len(keep) != len(data) else data
    width = max(cols.values(), default=0) + 1
    if any(len(r) < width for r in kept):
        kept = [r + [""] * (width - len(r)) if len(r) < width else r for r in kept]
    td = TableData(
        table=table,
        sheet=table.sheet,
        rownos=[first + i for i in keep],
        letters={k: col_letter(i) for k, i in cols.items()},
        raw={},
        parsed={},
    )
    columns = list(zip(*kept, strict=False)) if kept else []  # transpose at C speed
    for f in table.fields:
        if f.key not in cols:
            td.raw[f.key] = [""] * len(kept)
            td.parsed[f.key] = [None] * len(kept)
            continue
        col: Any = columns[cols[f.key]] if columns else []
        td.raw[f.key] = col  # type: ignore[assignment]
        td.parsed[f.key] = check_column(
            sink, td, f, col, compile_check(f, settings), compile_bulk(f, settings)
        )
    _required(sink, td)
    return td


def _required(sink: Sink, td: TableData) -> None:
    """``models.required_now`` over the rows (only rows with a blank cell are visited)."""
    stage = td.parsed.get("stage")
    person = td.parsed.get("person_type")
    crm = td.parsed.get("crm_done")
    for f in td.table.fields:
        if f.key not in td.letters or not (f.required or f.required_from):
            continue
        col = td.parsed[f.key]
        raw = td.raw[f.key]
        if None not in col:
            continue
        for i, p in enumerate(col):
            if p is not None or not is_blank(raw[i]):
                continue  # filled (maybe invalid: already reported)
            st = stage[i] if stage is not None else None
            if st is Stage.CLOSED and crm is not None and crm[i] is None:
                st = (
                    Stage.LOST
                )  # closed without CRM = closed as lost (else the CRM rule reports it)
            who = person[i] if person is not None else None
            if models.required_now(f, st, who):  # type: ignore[arg-type]
                _missing(sink, td, f, i)


def _missing(sink: Sink, td: TableData, f: Field, i: int) -> None:
    fa, en = models.required_message(f)
    sink.add("required-error", fa, en, **td.where(f.key, i))


def cross(sink: Sink, td: TableData, key: str, i: int, fa: str, en: str) -> None:
    sink.add("cross-field-error", fa, en, **td.where(key, i))


def rule(sink: Sink, td: TableData, key: str, i: int, problem: Problem) -> None:
    """A broken entry rule of ``models`` at row ``i``, reported on column ``key``."""
    sink.add(problem.code, problem.fa, problem.en, **td.where(key, i))


def _dt(v: object) -> dt.datetime | None:
    return v if isinstance(v, dt.datetime) else None


# --- row rules of the register's tables ------------------------------------------------------


def national_ids(sink: Sink, td: TableData) -> None:
    """Register: «کد ملی / شناسه ملی» checked as a national code or a legal ID by person type."""
    raw, person = td.raw["national_id"], td.parsed["person_type"]
    natural = [
        v
        for v, p in zip(raw, person, strict=True)
        if v.__class__ is str and p is not PersonType.LEGAL
    ]
    legal = [
        v
        for v, p in zip(raw, person, strict=True)
        if v.__class__ is str and p is not PersonType.NATURAL
    ]
    ok_nat, ok_legal = bulk_national_codes(natural), bulk_legal_ids(legal)  # type: ignore[arg-type]
    out: list[object] = []
    cache: dict[tuple[object, object], tuple[object, Issue | None]] = {}
    for i, (v, p) in enumerate(zip(raw, person, strict=True)):
        if v == "":
            out.append(None)
            continue
        if (p is not PersonType.LEGAL and v in ok_nat) or (
            p is not PersonType.NATURAL and v in ok_legal
        ):
            out.append(v)
            continue
        if is_blank(v):
            out.append(None)
            continue
        res = cache.get((p, v))
        if res is None:
            if p is PersonType.LEGAL:
                res = check_legal_id(v)
            elif p is PersonType.NATURAL:
                res = check_national_code(v)
            else:
                res = check_national_code(v)
                if res[1] is not None and ids.is_legal_id(as_text(v)):
                    res = check_legal_id(v)
            cache[(p, v)] = res
        out.append(res[0])
        if res[1] is not None:
            code, fa, en = res[1]
            sink.add(code, fa, en, **td.where("national_id", i))
    td.parsed["national_id"] = out


def customer_rows(sink: Sink, td: TableData, lost_closed: set[str], with_case: set[str]) -> None:
    """Cross-field rules of the customers table."""
    P = td.parsed
    no, stage, first, last, due = (
        P["customer_no"],
        P["stage"],
        P["first_contact"],
        P["last_followup"],
        P["next_due"],
    )
    crm, closed, rec = P["crm_done"], P["closed"], P["record_status"]
    rows = zip(stage, first, last, due, strict=True)
    for i, (st, f0, l0, d0) in enumerate(rows):
        if l0 is not None and FOLLOWUP_AFTER_FIRST_CONTACT.broken(f0, l0):
            rule(sink, td, "last_followup", i, FOLLOWUP_AFTER_FIRST_CONTACT.problem())
        if d0 is not None and NEXT_DUE_AFTER_FOLLOWUP.broken(l0 or f0, d0):
            rule(sink, td, "next_due", i, NEXT_DUE_AFTER_FOLLOWUP.problem())
        if st not in _SOLD and closed[i] is None:
            continue  # the usual pre-sale / lost row: nothing more to compare
        is_closed = st is Stage.CLOSED or closed[i] is not None
        if is_closed and crm[i] is None and st is not Stage.LOST and no[i] not in lost_closed:
            cross(sink, td, "crm_done", i, "پرونده بدون انجام CRM بسته شده است (و ناموفق نبوده)",
                  "closed without CRM done (and not lost)")  # fmt: skip
        if CLOSED_AFTER_CRM.broken(crm[i], closed[i]):
            rule(sink, td, "closed", i, CLOSED_AFTER_CRM.problem())
        if st is Stage.CLOSED and closed[i] is None and is_blank(td.raw["closed"][i]):
            cross(sink, td, "closed", i, "مرحله «بسته» است ولی تاریخ بستن خالی است",
                  "stage is closed but the closing date is empty")  # fmt: skip
        if (
            st in (Stage.WON, Stage.CRM_DONE)
            and no[i] is not None
            and no[i] not in with_case
            and not is_void(rec[i])
        ):
            cross(sink, td, "stage", i, "مشتری «فروش انجام شد» بدون پرونده فروش",
                  "customer marked won without a sales case")  # fmt: skip


_SOLD = frozenset({Stage.WON, Stage.CRM_DONE, Stage.CLOSED})


def case_rows(
    sink: Sink, td: TableData, customers: dict[object, tuple[int, object]], invoices: set[str]
) -> None:
    """Cases: a known customer, the contract's date and number together, known invoices."""

    P = td.parsed
    for i in range(len(td)):
        cno = P["customer_no"][i]
        if cno is not None:
            known = customers.get(cno)  # type: ignore[call-overload]
            if known is None:
                cross(sink, td, "customer_no", i, f"مشتری «{cno}» در فهرست مشتریان نیست",
                      f"customer {cno} is not in the customers table")  # fmt: skip
            elif (
                (nm := td.raw["customer_name"][i]) != known[1]
                and not is_blank(nm)
                and fast_name_key(nm) != fast_name_key(known[1])
            ):
                cross(sink, td, "customer_name", i, f"نام با نام مشتری در فهرست («{known[1]}») یکی نیست",
                      f"name differs from the customers table ('{known[1]}')")  # fmt: skip
        contract, cdate = P["contract_no"][i], P["contract_date"][i]
        raw_contract = td.raw["contract_no"][i]
        if cdate is not None and is_blank(raw_contract):
            cross(sink, td, "contract_no", i, "تاریخ قرارداد هست ولی شماره قرارداد نیست",
                  "contract date without a contract number")  # fmt: skip
        if contract is not None and not is_void(P["contract_status"][i]):
            if cdate is None and is_blank(td.raw["contract_date"][i]):
                cross(sink, td, "contract_date", i, "قرارداد بدون تاریخ قرارداد",
                      "contract without a contract date")  # fmt: skip
            if CONTRACT_AFTER_CASE.broken(P["opened"][i], cdate):
                rule(sink, td, "contract_date", i, CONTRACT_AFTER_CASE.problem())
        elif P["status"][i] is CaseStatus.CONTRACTED:
            cross(sink, td, "status", i, "وضعیت «قرارداد بسته شد» بدون قرارداد معتبر (نه باطل)",
                  "status contracted without a live (not void) contract")  # fmt: skip
        inv = td.raw["invoice_nos"][i]
        if not is_blank(inv):
            missing = [
                n
                for n in (
                    x.strip() if x.isascii() else to_ascii_digits(normalize(x))
                    for x in as_text(inv).split(",")
                )
                if n and n not in invoices
            ]
            if missing:
                cross(sink, td, "invoice_nos", i, f"فاکتور(های) {', '.join(missing)} در جدول فاکتورها نیست",
                      f"invoice(s) {', '.join(missing)} not in the invoices table")  # fmt: skip


def invoice_rows(
    sink: Sink, td: TableData, cases: dict[str, tuple[str | None, dt.datetime | None]]
) -> None:
    """Invoices: a known case (an invoice needs a case, which holds its contract) of the same customer."""
    P = td.parsed
    for i in range(len(td)):
        case_no, cust = P["case_no"][i], P["customer_no"][i]
        if case_no is not None:
            case = cases.get(case_no)  # type: ignore[call-overload]
            if case is None:
                cross(sink, td, "case_no", i, f"فاکتور بدون پرونده: پرونده «{case_no}» در جدول پرونده‌ها نیست",
                      f"invoice without a case: case {case_no} is not in the cases table")  # fmt: skip
            else:
                if cust is not None and case[0] is not None and cust != case[0]:
                    cross(sink, td, "customer_no", i, f"مشتری فاکتور با مشتری پرونده ({case[0]}) یکی نیست",
                          f"customer differs from the case's customer ({case[0]})")  # fmt: skip
                if INVOICE_AFTER_CASE.broken(case[1], P["issued"][i]):
                    rule(sink, td, "issued", i, INVOICE_AFTER_CASE.problem())
        tax, issued = P["tax_id"][i], _dt(P["issued"][i])
        if (
            tax is not None and issued is not None and not models.tax_day_matches(tax.day, issued)  # type: ignore[attr-defined]
        ):
            sink.add("tax-id-error", "روز صدور در شماره مالیاتی با تاریخ صدور فاکتور یکی نیست",
                         "the tax id's issue day differs from the invoice's issue date",
                         **td.where("tax_id", i))  # fmt: skip


def invoiced_over_contract(sink: Sink, cases: TableData, invoices: TableData) -> None:
    """A warning on each case whose live invoices add up to more than its live contract's amount
    (``invoice issue`` warns at the time; a hand edit or an old register can get here too)."""
    IP = invoices.parsed
    invoiced: dict[str, int] = {}
    for case_no, amount, status in zip(
        IP["case_no"], IP["amount"], IP["record_status"], strict=True
    ):
        if case_no is not None and isinstance(amount, int) and not is_void(status):
            invoiced[str(case_no)] = invoiced.get(str(case_no), 0) + amount
    P = cases.parsed
    for i in range(len(cases)):
        contract, total = P["amount"][i], invoiced.get(str(P["case_no"][i]), 0)
        if (
            isinstance(contract, int)
            and total > contract
            and not is_void(P["record_status"][i])
            and not is_blank(cases.raw["contract_no"][i])
            and not is_void(P["contract_status"][i])
        ):
            sink.add(
                "invoiced-over-contract",
                f"جمع فاکتورهای فعال ({total:,} ریال) از مبلغ قرارداد ({contract:,} ریال) بیشتر است",
                f"live invoices total {total:,} Rial, more than the contract amount "
                f"({contract:,} Rial)",
                **cases.where("amount", i),
            )


def void_references(
    sink: Sink, customers: TableData, cases: TableData | None, invoices: TableData | None
) -> None:
    """Nothing live points at a void number: no live case of a void customer, no live invoice
    of a void case (``void`` refuses to leave them; a hand edit can)."""
    CP = customers.parsed
    void_customers = {
        str(no) for no, r in zip(CP["customer_no"], CP["record_status"], strict=True) if is_void(r)
    }
    void_cases: set[str] = set()
    if cases is not None:
        P = cases.parsed
        for i in range(len(cases)):
            if is_void(P["record_status"][i]):
                void_cases.add(str(P["case_no"][i]))
            elif (
                str(P["customer_no"][i]) in void_customers
                and P["status"][i] is not CaseStatus.CANCELLED
            ):
                cno = P["customer_no"][i]
                cross(sink, cases, "customer_no", i, f"پرونده فعال برای مشتری باطل‌شده {cno}",
                      f"a live case of the void customer {cno}")  # fmt: skip
    if invoices is not None and void_cases:
        P = invoices.parsed
        for i in range(len(invoices)):
            if not is_void(P["record_status"][i]) and str(P["case_no"][i]) in void_cases:
                cno = P["case_no"][i]
                cross(sink, invoices, "case_no", i, f"فاکتور فعال برای پرونده باطل‌شده {cno}",
                      f"a live invoice of the void case {cno}")  # fmt: skip


def followup_rows(sink: Sink, td: TableData, first_contact: dt.datetime | None) -> None:
    """F-31-08-01 follow-ups: after the first contact; a planned action due after the follow-up."""
    P = td.parsed
    for i in range(len(td)):
        at = P["at"][i]
        if FOLLOWUP_AFTER_FIRST_CONTACT.broken(first_contact, at):
            rule(sink, td, "at", i, FOLLOWUP_AFTER_FIRST_CONTACT.problem())
        if NEXT_DUE_AFTER_FOLLOWUP.broken(at, P["next_due"][i]):
            rule(sink, td, "next_due", i, NEXT_DUE_AFTER_FOLLOWUP.problem())
        row = {k: P[k][i] if P[k][i] is not None else td.raw[k][i] for k in _PLANNED}
        for problem in models.planned_action_problems(row):
            rule(sink, td, problem.field, i, problem)


_PLANNED = ("next_due", *models.NEXT_ACTION_KEYS)


# --- blocks --------------------------------------------------------------------------------


@dataclass
class BlockData:
    block: Block
    sheet: str
    rows: dict[str, int]  # key → Excel row
    raw: dict[str, object]
    parsed: dict[str, object]

    def where(self, key: str) -> dict[str, Any]:
        v = self.raw.get(key)
        r = self.rows.get(key)
        return {
            "sheet": self.sheet,
            "cell": f"{col_letter(schema.BLOCK_VALUE_COL - 1)}{r}" if r else None,
            "row": r,
            "field": key,
            "value": None if is_blank(v) else as_text(v),
        }


def read_block(sink: Sink, block: Block, rows: list[list[Any]], settings: Settings) -> BlockData:
    kc, vc = schema.BLOCK_KEY_COL - 1, schema.BLOCK_VALUE_COL - 1
    found = schema.key_positions((row[kc] if len(row) > kc else "" for row in rows), block.keys, 1)
    raw: dict[str, object] = {
        k: rows[r - 1][vc] if len(rows[r - 1]) > vc else "" for k, r in found.items()
    }
    bd = BlockData(block, block.sheet, found, raw, {})
    for f in block.fields:
        if f.key not in found:
            sink.add(
                "missing-column",
                f"سطر «{f.fa}» ({f.key}) در ستون کلیدهای پنهان نیست",
                f"line {f.key!r} is missing from the hidden key column",
                sheet=block.sheet,
                field=f.key,
            )
            bd.parsed[f.key] = None
            continue
        v = raw[f.key]
        if is_blank(v):
            bd.parsed[f.key] = None
            continue
        p, issue = compile_check(f, settings)(v)
        issues = [issue] if issue else []
        if isinstance(v, str):
            issues += hygiene(f, v)
        for code, fa, en in issues:
            sink.add(code, f"{f.fa}: {fa}", f"{f.en}: {en}", **bd.where(f.key))
        bd.parsed[f.key] = p if issue is None else None
    _block_required(sink, bd)
    return bd


def _block_required(sink: Sink, bd: BlockData) -> None:
    """``models.required_now`` over a block's lines."""
    stage, person = bd.parsed.get("stage"), bd.parsed.get("person_type")
    # A form cannot tell a customer closed after a sale from one closed as lost.
    st = None if stage is Stage.CLOSED or not isinstance(stage, Stage) else stage
    who = person if isinstance(person, PersonType) else None
    for f in bd.block.fields:
        if f.key not in bd.rows or not is_blank(bd.raw.get(f.key)):
            continue
        if models.required_now(f, st, who):
            fa, en = models.required_message(f)
            sink.add("required-error", fa, en, **bd.where(f.key))


def registration_rules(sink: Sink, bd: BlockData) -> None:
    """F-31-08-01 registration: ``models.party_problems`` (name, identifiers, fields by type)."""
    values = {k: p if (p := bd.parsed.get(k)) is not None else bd.raw.get(k) for k in bd.block.keys}
    values["economic_code"] = bd.parsed.get("economic_code")  # only a valid code is compared
    for problem in models.party_problems(values, bd.parsed.get("person_type")):
        sink.add(problem.code, problem.fa, problem.en, **bd.where(problem.field))
