"""Serial numbers for customers, cases, contracts and invoices (R5-R8, SPEC §4).

Pure functions: the caller passes the persisted high-water marks and every number already
seen (register rows and the change log); the next number is one above the larger of the
two, so neither a deleted row nor a tampered counter can make a number come back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm_xl.domain.settings import NumberRule

_TOKEN = re.compile(r"\{(jy2|jy|seq)(?::(\d+))?\}")
ALL = "all"  # the scope of a kind that never resets


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

    return _TOKEN.sub(sub, pattern)


def number_regex(pattern: str) -> re.Pattern[str]:
    """The regex matching numbers written with ``pattern`` (groups ``seq``, ``jy``, ``jy2``)."""
    out, pos = [], 0
    for m in _TOKEN.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        name, width = m.group(1), int(m.group(2) or 0)
        if name == "jy":
            out.append(r"(?P<jy>\d{4})")
        elif name == "jy2":
            out.append(r"(?P<jy2>\d{2})")
        else:
            out.append(rf"(?P<seq>\d{{{max(width, 1)},}})")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(out) + "$")


@dataclass(frozen=True)
class ParsedNumber:
    seq: int
    jyear: int | None  # None when the pattern has no year token
    jyear2: int | None


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


def _scope_of_parsed(rule: NumberRule, p: ParsedNumber) -> str | None:
    if not rule.yearly_reset:
        return ALL
    if p.jyear is not None:
        return str(p.jyear)
    return None  # a yearly pattern without a year token: cannot tell, counter decides


def highest_used(rule: NumberRule, numbers: Iterable[str], scope: str) -> int:
    """Largest sequence among ``numbers`` that belong to ``scope`` under ``rule``."""
    rx = number_regex(rule.pattern)
    best = 0
    for n in numbers:
        m = rx.match(n.strip()) if isinstance(n, str) else None
        if not m:
            continue
        p = ParsedNumber(int(m["seq"]), int(m["jy"]) if "jy" in rx.groupindex else None, None)
        if _scope_of_parsed(rule, p) == scope and p.seq > best:
            best = p.seq
    return best


def next_number(
    kind: str,
    rule: NumberRule,
    jyear: int,
    counters: dict[tuple[str, str], int],
    used: Iterable[str],
) -> Issued:
    """The next serial number of ``kind``: one above the counter and every number seen."""
    scope = scope_of(rule, jyear)
    high = max(counters.get((kind, scope), 0), highest_used(rule, used, scope))
    seq = high + 1
    return Issued(kind, format_number(rule.pattern, seq, jyear), scope, seq)
