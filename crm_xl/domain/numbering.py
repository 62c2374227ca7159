"""Serial numbers for customers, cases, contracts, invoices and the tax serial (R5-R8, SPEC §4).

Pure functions: the caller passes the persisted high-water marks and every number the
workspace shows (register rows, the change log, customer folder names, archive registers,
the seal in ``.crm_xl/``); the next number is one above all of them, so neither a deleted row
nor a tampered counter nor a blanked register can make a number come back.

A number's *scope* is the period its sequence counts in: ``"all"`` for a kind that never
resets, else the Jalali year, read from the ``{jy}`` token or, for ``{jy2}``, the year with
those two last digits nearest to the year of the operation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from crm_xl.domain.settings import TOKEN, NumberRule
from crm_xl.domain.text import normalize, to_ascii_digits

ALL = "all"  # the scope of a kind that never resets

#: Every kind of serial number, the Moadian internal serial ("tax") included.
KINDS = ("customer", "case", "contract", "invoice", "tax")


@dataclass(frozen=True)
class Issued:
    kind: str
    number: str
    scope: str
    seq: int


def format_number(pattern: str, seq: int, jyear: int) -> str:
    def sub(m: re.Match[str]) -> str:
        name, width = m.group(1), int(m.group(2) or 0)
        if name == "jy":
            return f"{jyear:04d}"
        if name == "jy2":
            return f"{jyear % 100:02d}"
        return f"{seq:0{width}d}"

    return TOKEN.sub(sub, pattern)


def _pattern_source(pattern: str, token: Callable[[str, int], str]) -> str:
    """Regex source for ``pattern``: its literal text escaped, each token (name, width) as
    ``token`` writes it.  The one walk over a pattern's tokens for every number regex."""
    out, pos = [], 0
    for m in TOKEN.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        out.append(token(m.group(1), int(m.group(2) or 0)))
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return "".join(out)


def _seq_digits(width: int) -> str:
    return rf"\d{{{max(width, 1)},}}"  # at least the pattern's width: a sequence may outgrow it


_NAMED = {"jy": r"(?P<jy>\d{4})", "jy2": r"(?P<jy2>\d{2})"}


@functools.lru_cache(maxsize=64)
def number_regex(pattern: str) -> re.Pattern[str]:
    """The regex matching numbers written with ``pattern`` (groups ``seq``, ``jy``, ``jy2``)."""
    source = _pattern_source(
        pattern, lambda name, width: _NAMED.get(name) or f"(?P<seq>{_seq_digits(width)})"
    )
    return re.compile("^" + source + "$")


@dataclass(frozen=True)
class ParsedNumber:
    seq: int
    jyear: int | None  # None when the pattern has no year token
    jyear2: int | None


def clean_number(text: object) -> str:
    """A number as a cell or a folder name may hold it: normalised, ASCII digits."""
    if isinstance(text, str) and text.isascii() and "  " not in text:
        return text.strip()  # the usual case, without the cost of normalising
    return to_ascii_digits(normalize(text)).strip()


def parse_number(pattern: str, text: str) -> ParsedNumber | None:
    """The parts of a number written with ``pattern``; None when it does not fit."""
    m = number_regex(pattern).match(text.strip())
    if not m:
        return None
    d = m.groupdict()
    return ParsedNumber(
        int(d["seq"]),
        int(d["jy"]) if d.get("jy") else None,
        int(d["jy2"]) if d.get("jy2") else None,
    )


def scope_of(rule: NumberRule, jyear: int) -> str:
    return str(jyear) if rule.yearly_reset else ALL


def year_of_jy2(jy2: int, ref_year: int) -> int:
    """The Jalali year ending in ``jy2`` nearest to ``ref_year`` (``05`` near 1405 is 1405)."""
    base = ref_year - ref_year % 100 + jy2
    return min((base - 100, base, base + 100), key=lambda y: (abs(y - ref_year), y))


def locate(rule: NumberRule, text: str, ref_year: int) -> tuple[str, int] | None:
    """(scope, sequence) of a number written with ``rule``; None when it does not fit.

    A yearly kind whose pattern has no year token cannot tell its year from the number:
    such numbers are left to the counter (and ``validate`` reports their duplicates).
    """
    p = parse_number(rule.pattern, text)
    if p is None:
        return None
    if not rule.yearly_reset:
        return ALL, p.seq
    if p.jyear is not None:
        return str(p.jyear), p.seq
    if p.jyear2 is not None:
        return str(year_of_jy2(p.jyear2, ref_year)), p.seq
    return None


@functools.lru_cache(maxsize=64)
def _bulk_regex(pattern: str) -> tuple[re.Pattern[str], list[str]]:
    """One line per number: the pattern's groups unnamed (``findall`` gives tuples), then a
    catch-all group that is non-empty exactly when the line does not fit."""
    rx = number_regex(pattern)
    body = re.sub(r"\(\?P<\w+>", "(", rx.pattern[1:-1])
    names = [n for n, _ in sorted(rx.groupindex.items(), key=lambda kv: kv[1])]
    return re.compile(f"(?m)^(?:{body}|(.*))$"), names


def locate_many(
    rule: NumberRule, numbers: Sequence[str], ref_year: int
) -> list[tuple[str, int] | None]:
    """``locate`` of many numbers at once: one regex pass over them (registers hold 100k)."""
    if not numbers:
        return []
    text = "\n".join([n.strip() for n in numbers])
    if text.count("\n") != len(numbers) - 1 or "\r" in text:  # a line break inside a number
        return [locate(rule, n, ref_year) for n in numbers]
    multi, names = _bulk_regex(rule.pattern)
    found = multi.findall(text)
    if len(found) != len(numbers):  # cannot happen; stay safe rather than misalign
        return [locate(rule, n, ref_year) for n in numbers]
    si = names.index("seq")
    yi = names.index("jy") if "jy" in names else -1
    y2 = names.index("jy2") if "jy2" in names else -1
    # t[-1]: the catch-all took the line (it does not fit)
    if not rule.yearly_reset:
        return [None if t[-1] or not t[si] else (ALL, int(t[si])) for t in found]
    if yi >= 0:
        return [None if t[-1] or not t[si] else (str(int(t[yi])), int(t[si])) for t in found]
    if y2 >= 0:
        years = {f"{y:02d}": str(year_of_jy2(y, ref_year)) for y in range(100)}
        return [None if t[-1] or not t[si] else (years[t[y2]], int(t[si])) for t in found]
    return [None] * len(found)


@functools.lru_cache(maxsize=64)
def _scope_regex(pattern: str, yearly: bool, scope: str) -> re.Pattern[str] | None:
    """Lines holding a number of ``scope``, the sequence the only group (``findall`` gives
    strings); None when a yearly pattern has no year token to tell the scope by."""
    if yearly and "{jy" not in pattern:
        return None

    def token(name: str, width: int) -> str:
        if name == "seq":
            return f"({_seq_digits(width)})"
        if not yearly:
            return r"\d{4}" if name == "jy" else r"\d{2}"
        return f"{int(scope):04d}" if name == "jy" else f"{int(scope) % 100:02d}"

    return re.compile("(?m)^" + _pattern_source(pattern, token) + "$")


def highest_used(rule: NumberRule, numbers: Iterable[str], scope: str, ref_year: int) -> int:
    """Largest sequence among ``numbers`` that belong to ``scope`` under ``rule``.

    One regex pass over all the numbers (a register holds 100k), no object per number: this
    runs inside every operation, beside a loaded workbook.
    """
    if (scope == ALL) == rule.yearly_reset:
        return 0  # no number of this rule is in that scope
    rx = _scope_regex(rule.pattern, rule.yearly_reset, scope)
    texts = [n.strip() for n in numbers if isinstance(n, str)]
    if rx is None or not texts:
        return 0
    if rule.yearly_reset and "{jy}" not in rule.pattern and abs(int(scope) - ref_year) >= 50:
        # {jy2} only, far from now: the two digits name the year nearest to ref_year
        located = locate_many(rule, texts, ref_year)
        return max((g[1] for g in located if g and g[0] == scope), default=0)
    return max(map(int, rx.findall("\n".join(texts))), default=0)


def next_number(
    kind: str,
    rule: NumberRule,
    jyear: int,
    counters: Mapping[tuple[str, str], int],
    used: Iterable[str],
) -> Issued:
    """The next serial number of ``kind``: one above the counter and every number seen."""
    scope = scope_of(rule, jyear)
    high = max(counters.get((kind, scope), 0), highest_used(rule, used, scope, jyear))
    seq = high + 1
    return Issued(kind, format_number(rule.pattern, seq, jyear), scope, seq)


# --- evidence ------------------------------------------------------------------------------


def split_numbers(cell: object) -> Iterator[str]:
    """The numbers a change-log cell names: comma separated, ``first..last`` for a batch.

    A batch (lead import) names its first and last number; both ends are yielded, which is
    all the high-water mark needs (the numbers between are in the register's rows).
    """
    for part in to_ascii_digits(normalize(cell)).split(","):
        for n in part.split(".."):
            n = n.strip()
            if n:
                yield n


def tax_number(rule: NumberRule, serial: int) -> str:
    """The tax serial (``inno``) written with the tax rule, as evidence of the ``tax`` kind."""
    return format_number(rule.pattern, serial, 0)


def mark_key(kind: str, scope: str) -> str:
    """``"kind/scope"``: how high-water marks are keyed in JSON files (seal, caches)."""
    return f"{kind}/{scope}"


def parse_mark_key(key: str) -> tuple[str, str] | None:
    kind, sep, scope = key.partition("/")
    return (kind, scope) if sep and kind in KINDS and scope else None


@dataclass
class Evidence:
    """Numbers issued as far as the workspace can tell, beyond the counters.

    ``numbers``: every number text seen, per kind (rows, log cells, folder names);
    ``marks``: high-water marks known without the numbers themselves (the seal, a cached
    archive register), per (kind, scope).
    """

    numbers: dict[str, set[str]] = field(default_factory=dict)
    marks: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, kind: str, number: object) -> None:
        text = clean_number(number)
        if text:
            self.numbers.setdefault(kind, set()).add(text)

    def add_clean(self, kind: str, numbers: Iterable[str]) -> None:
        """Numbers already cleaned (``clean_number``, ``split_numbers``)."""
        self.numbers.setdefault(kind, set()).update(numbers)

    def mark(self, kind: str, scope: str, seq: int) -> None:
        if seq > self.marks.get((kind, scope), 0):
            self.marks[(kind, scope)] = seq

    def update(self, other: Evidence) -> None:
        for kind, nums in other.numbers.items():
            self.numbers.setdefault(kind, set()).update(nums)
        for (kind, scope), seq in other.marks.items():
            self.mark(kind, scope, seq)

    def highest(self, kind: str, rule: NumberRule, scope: str, ref_year: int) -> int:
        return max(
            self.marks.get((kind, scope), 0),
            highest_used(rule, self.numbers.get(kind, ()), scope, ref_year),
        )

    def high_marks(
        self, rules: Mapping[str, NumberRule], ref_year: int
    ) -> dict[tuple[str, str], int]:
        """The highest sequence per (kind, scope) over numbers and marks."""
        out = dict(self.marks)
        for kind, nums in self.numbers.items():
            rule = rules.get(kind)
            if rule is None:
                continue
            for got in locate_many(rule, list(nums), ref_year):
                if got is not None and got[1] > out.get((kind, got[0]), 0):
                    out[(kind, got[0])] = got[1]
        return out


# --- the audit ---------------------------------------------------------------------------------


def ranges(seqs: Iterable[int]) -> str:
    """``1, 3-5, 9``: sorted sequences as compact ranges."""
    out: list[str] = []
    items = sorted(set(seqs))
    if not items:
        return ""
    start = prev = items[0]
    for n in [*items[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)


@dataclass
class ScopeAudit:
    """What the evidence says about one kind in one period."""

    kind: str
    scope: str
    issued: set[int] = field(default_factory=set)  # sequences seen anywhere
    in_rows: set[int] = field(default_factory=set)  # sequences some register row holds
    voided: dict[int, str] = field(default_factory=dict)  # voided sequence -> its number
    numbers: dict[int, str] = field(default_factory=dict)  # sequence -> text, beyond the rows
    mark: int = 0  # high-water mark known without the number (seal, counters elsewhere)
    counter: int | None = None  # the live register's counter, None when it has no row

    @property
    def highest(self) -> int:
        return max([self.mark, *self.issued])

    @property
    def missing(self) -> list[int]:
        """Sequences below the highest one that no evidence shows were ever issued."""
        top = max(self.issued, default=0)
        return [s for s in range(1, top + 1) if s not in self.issued]

    @property
    def without_row(self) -> list[str]:
        """Numbers issued (log, folder) that no register row holds any more."""
        return [self.numbers[s] for s in sorted(self.issued - self.in_rows)]


def audit_scopes(
    rules: Mapping[str, NumberRule],
    ref_year: int,
    rows: Mapping[str, Iterable[tuple[str, bool]]],
    other: Evidence,
    counters: Mapping[tuple[str, str], int],
) -> list[ScopeAudit]:
    """Per kind and period: numbers issued, voided, missing, without a row, and the counter.

    ``rows``: per kind, (number, is void) of every register row (live and archive);
    ``other``: numbers and marks from everything else (log, folders, seal).
    """
    out: dict[tuple[str, str], ScopeAudit] = {}

    def scope_audit(kind: str, scope: str) -> ScopeAudit:
        if (kind, scope) not in out:
            out[(kind, scope)] = ScopeAudit(kind, scope)
        return out[(kind, scope)]

    for kind in KINDS:
        rule = rules.get(kind)
        if rule is None:
            continue
        pairs = list(rows.get(kind, ()))
        located = locate_many(rule, [n for n, _ in pairs], ref_year)
        by_scope: dict[str, list[int]] = {}
        if not rule.yearly_reset:  # one period: decided at C speed
            by_scope[ALL] = [g[1] for g in located if g is not None]
        else:
            for got in located:
                if got is not None:
                    by_scope.setdefault(got[0], []).append(got[1])
        for scope, seqs in by_scope.items():
            if seqs:
                a = scope_audit(kind, scope)
                a.issued.update(seqs)
                a.in_rows.update(seqs)
        for (number, void), got in zip(pairs, located, strict=True):
            if void and got is not None:
                scope_audit(kind, got[0]).voided[got[1]] = number
        others = list(other.numbers.get(kind, ()))
        for number, got in zip(others, locate_many(rule, others, ref_year), strict=True):
            if got is None:
                continue
            a = scope_audit(kind, got[0])
            a.issued.add(got[1])
            a.numbers.setdefault(got[1], number)
    for (kind, scope), seq in other.marks.items():
        scope_audit(kind, scope).mark = max(scope_audit(kind, scope).mark, seq)
    for (kind, scope), last in counters.items():
        if kind in KINDS:
            scope_audit(kind, scope).counter = last
    return [out[k] for k in sorted(out, key=lambda k: (KINDS.index(k[0]), k[1]))]


def tax_serial_of(tax_id: object) -> int | None:
    """The internal serial (``inno``) of a tax id, also one whose check digit was damaged:
    as evidence of a spent serial, any readable serial counts."""
    text = to_ascii_digits(normalize(tax_id)).upper()
    if len(text) != 22:
        return None
    try:
        return int(text[11:21], 16) or None
    except ValueError:
        return None
