"""The numbering audit of ``validate`` (SPEC §4): every number the workspace holds, per period.

Per register file (``register_rules``): rows out of serial order, and the change log's hash
chain (``log-tampered`` where a row was edited, inserted or deleted).

Over the evidence (``audit``: the live register, archive registers, customer folder names,
the seal in ``.crm_xl/``): per kind (customer, case, contract, invoice, tax serial) and period
the numbers issued, voided, missing (``number-gap``) and issued but without a register row
(``number-no-row``); a counter below the evidence (``counter-behind``, every kind); one
customer number with two folders (``number-two-folders``); the seal's chain head missing from
the log (``log-tampered``: rows deleted at its end); operations a crash left half-done that
no command has completed yet or that need a person (``unfinished-operation``); the toolkit's
own temporary files left behind (``leftover-file``). The per-period summary goes to
``Report.numbering``.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_xl.domain import schema
from crm_xl.domain.changes import LOG_HASH_FIELD, LOG_HASHED_FIELDS, verify_chain
from crm_xl.domain.enums import is_void
from crm_xl.domain.numbering import (
    ALL,
    KINDS,
    Evidence,
    ScopeAudit,
    audit_scopes,
    clean_number,
    format_number,
    locate,
    locate_many,
    parse_number,
    ranges,
    split_numbers,
    tax_number,
    tax_serial_of,
)
from crm_xl.domain.settings import Settings
from crm_xl.domain.text import normalize
from crm_xl.io import journal
from crm_xl.io.folders import numbered_folders
from crm_xl.io.safety import current_holder_token
from crm_xl.validation.findings import NumberSummary
from crm_xl.validation.rules import Sink, TableData, as_text

__all__ = ["RegisterNumbers", "audit", "register_rules"]

#: (table, key field, kind) of the register columns that hold issued numbers.
_COLUMNS = (
    ("Customers", "customer_no", "customer"),
    ("Cases", "case_no", "case"),
    ("Cases", "contract_no", "contract"),
    ("Invoices", "invoice_no", "invoice"),
)


def _forgive_missing_hash(sink: Sink, log: TableData | None) -> None:
    """A register made before the change log had its hash column is not an error: the column
    is added by the next write, and its rows before that carry no hash (the chain starts after
    them)."""
    if log is None or LOG_HASH_FIELD in log.letters:
        return
    sink.findings = [
        f
        for f in sink.findings
        if not (f.code == "missing-column" and f.sheet == log.sheet and f.field == LOG_HASH_FIELD)
    ]


def register_rules(sink: Sink, tables: dict[str, TableData], settings: Settings) -> None:
    """Rules of one register file: serial order per period, the change log's chain."""
    log = tables.get("Log")
    _forgive_missing_hash(sink, log)
    for tname, key, kind in _COLUMNS:
        td = tables.get(tname)
        if td is None or key not in td.letters:
            continue
        _order(sink, td, key, settings.rule(kind))
    if log is not None and LOG_HASH_FIELD in log.letters:
        rows = [
            {k: log.raw[k][i] for k in (*LOG_HASHED_FIELDS, LOG_HASH_FIELD)}
            for i in range(len(log))
        ]
        breaks, _ = verify_chain(rows)
        for b in breaks:
            if b.reason == "unhashed":
                fa = "ردیف گزارش تغییرات زنجیره کنترل ندارد: دستی افزوده یا ویرایش شده است"
                en = "change-log row has no chain hash: added or edited by hand"
            else:
                fa = "زنجیره کنترل گزارش تغییرات اینجا می‌شکند: این ردیف یا ردیفی پیش از آن ویرایش یا حذف شده است"
                en = (
                    "the change log's hash chain breaks here: this row, or a row before it,"
                    " was edited or deleted"
                )
            sink.add("log-tampered", fa, en, **log.where(LOG_HASH_FIELD, b.index))


def _order(sink: Sink, td: TableData, key: str, rule: Any) -> None:
    """Rows whose number is lower than the row before it in the same period."""
    col = td.parsed[key]
    idx = [i for i, v in enumerate(col) if v is not None]
    located = list(zip(idx, locate_many(rule, [str(col[i]) for i in idx], 0), strict=True))
    seqs = [got[1] for _, got in located if got is not None]
    if not rule.yearly_reset and not any(map(operator.lt, seqs[1:], seqs[:-1])):
        return  # in order: the usual case, decided at C speed
    last: dict[str, tuple[int, int]] = {}
    for i, got in located:
        if got is None:
            continue
        scope, seq = got
        prev = last.get(scope)
        if prev is not None and seq < prev[0]:
            sink.add("number-order", f"شماره کوچک‌تر از ردیف قبلی ({td.cell(key, prev[1])}) است",
                     f"number is lower than the previous row's ({td.cell(key, prev[1])})",
                     **td.where(key, i))  # fmt: skip
        last[scope] = (seq, i)


# --- the evidence of one register file --------------------------------------------------------------


@dataclass
class RegisterNumbers:
    """What one register file says about issued numbers."""

    sink: Sink
    rows: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # kind -> (no, void)
    logged: Evidence = field(default_factory=Evidence)
    ranges: list[tuple[str, str]] = field(default_factory=list)  # a batch: first..last
    counters: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # -> (last, i)
    counters_td: TableData | None = None
    hashes: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, sink: Sink, tables: dict[str, TableData], settings: Settings) -> RegisterNumbers:
        out = cls(sink)
        for tname, key, kind in _COLUMNS:
            td = tables.get(tname)
            if td is None or key not in td.letters:
                continue
            blank = [None] * len(td)
            void = td.parsed.get("record_status", blank)
            # A contract is voided by its own flag on a case row that stays live.
            flag = td.parsed.get("contract_status", blank) if kind == "contract" else blank
            pairs = out.rows.setdefault(kind, [])
            for parsed, raw, st, fl in zip(td.parsed[key], td.raw[key], void, flag, strict=True):
                dead = is_void(st) or is_void(fl)
                if parsed is not None:  # fits the pattern: already clean
                    pairs.append((str(parsed), dead))
                    continue
                text = as_text(raw)
                if text.strip():
                    pairs.append((clean_number(text), dead))
        inv = tables.get("Invoices")
        if inv is not None and "tax_id" in inv.letters:
            rule = settings.rule("tax")
            void = inv.parsed.get("record_status", [None] * len(inv))
            for raw, st in zip(inv.raw["tax_id"], void, strict=True):
                serial = tax_serial_of(as_text(raw))
                if serial:
                    out.rows.setdefault("tax", []).append((tax_number(rule, serial), is_void(st)))
        log = tables.get("Log")
        if log is not None:
            tax_rule = settings.rule("tax")
            logged: set[str] = set()
            for cell, det in zip(log.raw["numbers"], log.raw["details"], strict=True):
                text = as_text(cell)
                if not text:
                    continue
                logged.update(split_numbers(text))
                if ".." in text:
                    for part in text.split(","):
                        if ".." in part:
                            a, _, b = part.partition("..")
                            out.ranges.append((clean_number(a), clean_number(b)))
                det_text = as_text(det)
                if '"tax_id"' in det_text:
                    serial = _tax_in_details(det_text)
                    if serial:
                        out.logged.add("tax", tax_number(tax_rule, serial))
            # The log does not say which kind a number is: each kind's pattern picks its own.
            for kind in KINDS:
                out.logged.add_clean(kind, logged)
            if LOG_HASH_FIELD in log.letters:
                out.hashes = {as_text(h).strip().lower() for h in log.raw[LOG_HASH_FIELD]} - {""}
        counters = tables.get("Counters")
        if counters is not None:
            out.counters_td = counters
            for i in range(len(counters)):
                kind = normalize(as_text(counters.raw["kind"][i]))
                scope = normalize(as_text(counters.raw["scope"][i]))
                last = counters.parsed["last"][i]
                if isinstance(last, int):
                    out.counters[(kind, scope)] = (last, i)
        return out


def _tax_in_details(text: str) -> int | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return tax_serial_of(data.get("tax_id")) if isinstance(data, dict) else None


# --- the audit -------------------------------------------------------------------------------------


def _expand(
    rules: dict[str, Any], batches: Iterable[tuple[str, str]], ref_year: int, ev: Evidence
) -> None:
    """A batch logged as ``first..last`` issued every number between (lead import)."""
    for a, b in batches:
        for kind, rule in rules.items():
            la, lb = locate(rule, a, ref_year), locate(rule, b, ref_year)
            if la is None or lb is None or la[0] != lb[0] or lb[1] - la[1] > 1_000_000:
                continue
            year = int(la[0]) if la[0] != ALL else _year_in(rule, a)
            for seq in range(la[1], lb[1] + 1):
                ev.add(kind, format_number(rule.pattern, seq, year))


def _year_in(rule: Any, number: str) -> int:
    p = parse_number(rule.pattern, number)
    return (p.jyear or 0) if p is not None else 0


def audit(
    live: RegisterNumbers | None,
    archives: Sequence[RegisterNumbers],
    settings: Settings,
    ref_year: int,
    *,
    root: Path | None = None,
    root_sink: Sink | None = None,
    seal: journal.Seal | None = None,
) -> list[NumberSummary]:
    """The numbering audit over every piece of evidence; findings go to the registers' sinks
    (counters, log) and ``root_sink`` (folders, journals); returns the per-period summary.

    ``root``: the workspace (folders, journals); None for a register validated alone.
    ``seal``: the workspace's seal, read before the register (a writer replaces the register
    first, then the seal: read in that order the seal is never newer than the register).
    """
    rules = {k: settings.rule(k) for k in KINDS}
    registers = [r for r in (live, *archives) if r is not None]
    rows: dict[str, list[tuple[str, bool]]] = {}
    other = Evidence()
    for r in registers:
        for kind, pairs in r.rows.items():
            rows.setdefault(kind, []).extend(pairs)
        other.update(r.logged)
        _expand(rules, r.ranges, ref_year, other)
    for r in archives:  # an archive register's counters are evidence, not the live counters
        for (kind, scope), (last, _) in r.counters.items():
            if kind in KINDS:
                other.mark(kind, scope, last)
    folders: dict[str, list[Path]] = {}
    if root is not None:
        found = numbered_folders(root / "customers", root / "archive")
        folders = {no: [Path(p) for p in paths] for no, paths in found.items()}
        other.numbers.setdefault("customer", set()).update(folders)
    if seal is not None:
        for (kind, scope), seq in seal.mark_items().items():
            other.mark(kind, scope, seq)
    counters = {k: v[0] for k, v in live.counters.items()} if live is not None else {}
    scopes = audit_scopes(rules, ref_year, rows, other, counters)
    if live is not None:
        _counter_findings(live, scopes)
        _gap_findings(live, scopes, folders)
        if seal is not None and seal.log_head:
            hashes = set().union(*(r.hashes for r in registers))
            if seal.log_head not in hashes:
                live.sink.add(
                    "log-tampered",
                    "آخرین ردیف‌های گزارش تغییرات حذف شده‌اند: سرِ زنجیره‌ای که پس از آخرین عملیات"
                    " ثبت شد در دفتر ثبت نیست",
                    "the last rows of the change log were deleted: the chain head recorded after"
                    " the last operation (.crm_xl/seal.json) is not in the register",
                    sheet=schema.REGISTER_LOG.sheet,
                    field=LOG_HASH_FIELD,
                    value=seal.log_head,
                )
    if root is not None and root_sink is not None:
        _folder_findings(root_sink, folders, root)
        _journal_findings(root_sink, root)
    return [_summary(a) for a in scopes]


def _counter_findings(live: RegisterNumbers, scopes: list[ScopeAudit]) -> None:
    td = live.counters_td
    for a in scopes:
        high = a.highest
        if not high:
            continue
        got = live.counters.get((a.kind, a.scope))
        if got is None:
            if td is not None:
                live.sink.add("counter-behind",
                              f"شمارنده {a.kind}/{a.scope} نیست ولی شماره {high} مصرف شده",
                              f"no counter row for {a.kind}/{a.scope} though {high} is used",
                              sheet=td.sheet, field="last")  # fmt: skip
            continue
        last, i = got
        if last < high:
            assert td is not None
            live.sink.add("counter-behind",
                          f"شمارنده {a.kind}/{a.scope} = {last} ولی شماره {high} مصرف شده",
                          f"counter {a.kind}/{a.scope} is {last} but {high} is already used",
                          **td.where("last", i))  # fmt: skip


def _gap_findings(
    live: RegisterNumbers, scopes: list[ScopeAudit], folders: dict[str, list[Path]]
) -> None:
    names = {
        "customer": schema.CUSTOMERS.sheet,
        "case": schema.CASES.sheet,
        "contract": schema.CASES.sheet,
        "invoice": schema.INVOICES.sheet,
        "tax": schema.INVOICES.sheet,
    }
    keys = {
        "customer": "customer_no",
        "case": "case_no",
        "contract": "contract_no",
        "invoice": "invoice_no",
        "tax": "tax_id",
    }
    for a in scopes:
        missing = a.missing
        if missing:
            text = ranges(missing)
            live.sink.add("number-gap",
                          f"شماره‌های {a.kind} جاافتاده (دوره {a.scope}): {_short(text)}",
                          f"{a.kind} numbers missing (scope {a.scope}): {_short(text)}",
                          sheet=names[a.kind], field=keys[a.kind])  # fmt: skip
        # A folder alone (no row, no log entry) is reported as an orphan folder already.
        lost = [n for n in a.without_row if not (a.kind == "customer" and n in folders)]
        if lost:
            shown = ", ".join(lost[:10]) + (f" … (+{len(lost) - 10})" if len(lost) > 10 else "")
            live.sink.add("number-no-row",
                          f"شماره‌های {a.kind} صادرشده که ردیفی در دفتر ثبت ندارند: {shown}",
                          f"{a.kind} numbers issued but held by no register row: {shown}",
                          sheet=names[a.kind], field=keys[a.kind], value=lost[0])  # fmt: skip


def _short(text: str) -> str:
    parts = text.split(", ")
    return ", ".join(parts[:10]) + (f" … (+{len(parts) - 10})" if len(parts) > 10 else "")


def _folder_findings(sink: Sink, folders: dict[str, list[Path]], root: Path) -> None:
    for number, paths in sorted(folders.items()):
        if len(paths) < 2:
            continue
        rels = "، ".join(p.relative_to(root).as_posix() for p in paths)
        rels_en = ", ".join(p.relative_to(root).as_posix() for p in paths)
        sink.add("number-two-folders",
                 f"شماره مشتری {number} بیش از یک پوشه دارد: {rels}",
                 f"customer number {number} has more than one folder: {rels_en}",
                 file=str(paths[1]), value=number)  # fmt: skip


def _journal_findings(sink: Sink, root: Path) -> None:
    running = current_holder_token(root)
    for path, j in journal.journals(root):
        if j is not None and running and j.lock == running:
            continue  # the operation of the lock's holder, in progress right now
        if j is None:
            sink.add("unfinished-operation", f"فایل عملیات نیمه‌تمام «{path.name}» خوانا نیست",
                     f"the journal {path.name} of an unfinished operation cannot be read",
                     file=str(path))  # fmt: skip
            continue
        if j.problems:
            fa = "عملیات نیمه‌تمام که خودکار کامل نشد و بررسی لازم دارد: " + "؛ ".join(j.problems)
            en = "an interrupted operation could not be completed automatically: " + "; ".join(
                j.problems
            )
        else:
            fa = "عملیاتی نیمه‌تمام ماند (قطع برق یا بسته شدن برنامه)؛ دستور بعدی آن را کامل یا لغو می‌کند"
            en = (
                "an operation was interrupted (crash or power cut); the next command that"
                " changes the workspace completes or undoes it"
            )
        sink.add("unfinished-operation", f"{fa} ({j.describe()})", f"{en} ({j.describe()})",
                 file=str(path))  # fmt: skip
    for p in journal.leftovers(root):
        rel = p.relative_to(root).as_posix()
        sink.add("leftover-file", f"فایل/پوشهٔ موقت باقی‌مانده: {rel}",
                 f"temporary file or folder left behind: {rel}", file=str(p))  # fmt: skip


def _summary(a: ScopeAudit) -> NumberSummary:
    return NumberSummary(
        kind=a.kind,
        scope=a.scope,
        issued=len(a.issued),
        highest=a.highest,
        counter=a.counter,
        voided=[a.voided[s] for s in sorted(a.voided)],
        missing=ranges(a.missing),
        without_row=a.without_row,
    )
