"""What an operation decided, as data: the boundary between the pure core and the stores.

The core returns a ``Plan``; the file store (openpyxl, ``store``) and the live-workbook store
(xlwings, ``excel.store``) apply the same plan. Register changes name tables and field keys
from the schema, never cell positions; folder changes name the customer folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_xl.domain.dates import TEHRAN, parse_datetime
from crm_xl.domain.text import normalize, to_ascii_digits


@dataclass(frozen=True)
class AppendRow:
    table: str
    values: dict[str, Any]


@dataclass(frozen=True)
class UpdateRow:
    """Set ``values`` on the row of ``table`` whose key field equals ``key``."""

    table: str
    key: str
    values: dict[str, Any]


@dataclass(frozen=True)
class SetCounter:
    kind: str
    scope: str
    last: int


@dataclass(frozen=True)
class CreateCustomerForm:
    """Make the customer's folder and its F-31-08-01 with the registration block filled."""

    customer_no: str
    folder: str  # folder name under customers/
    registration: dict[str, Any]


@dataclass(frozen=True)
class AppendFollowUp:
    """Append a row to the follow-up log of the customer's F-31-08-01 and update its block."""

    customer_no: str
    folder: str
    values: dict[str, Any]
    registration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateCustomerForm:
    customer_no: str
    folder: str
    registration: dict[str, Any]


@dataclass(frozen=True)
class ArchiveFolder:
    """Move the customer's folder from customers/ to archive/ (never delete)."""

    customer_no: str
    folder: str


RegisterChange = AppendRow | UpdateRow | SetCounter
FolderChange = CreateCustomerForm | AppendFollowUp | UpdateCustomerForm | ArchiveFolder


@dataclass
class Plan:
    """An operation's decision: register changes, folder changes, and what to tell the user."""

    operation: str
    register: list[RegisterChange] = field(default_factory=list)
    folders: list[FolderChange] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    message_fa: str = ""
    message_en: str = ""


# --- the change log's hash chain ---------------------------------------------------------------
#
# Every row the toolkit appends to the register's change log carries ``hash`` =
# SHA-256 (hex) of the previous hashed row's hash, a unit separator, and the row's canonical
# content, so an edited, deleted or inserted row breaks the chain at that point. The content
# is canonical in the way the row reads back from any reader (openpyxl, calamine, Excel, a
# LibreOffice save): the time to the second in Tehran wall time, text normalised
# (``text.normalize``, ASCII digits; what ``validate --fix`` does cannot break the chain).
# A log written before the chain existed has rows without a hash: the chain starts at the
# first hashed row (its predecessor is ""); every later row must carry one.

#: The change-log fields a hash covers, in order (the schema's log table minus ``hash``).
LOG_HASHED_FIELDS = ("at", "user", "host", "operation", "numbers", "details")
LOG_HASH_FIELD = "hash"


def _canonical_time(value: Any) -> str:
    """The log row's time to the minute in Tehran wall time, whatever the cell holds now: a
    date-time, the serial number a LibreOffice save leaves (it drops the Persian date format),
    or Jalali text (how records show dates)."""
    if value is None or value == "":
        return ""
    try:
        moment = parse_datetime(value)
    except ValueError:
        return to_ascii_digits(normalize(str(value)))
    moment = moment.astimezone(TEHRAN).replace(tzinfo=None)
    # Excel keeps times as fractions of a day: the read-back value is off by microseconds.
    moment = (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    return moment.strftime("%Y-%m-%d %H:%M")


def _canonical(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return _canonical_time(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return to_ascii_digits(normalize(str(value)))


def log_time(moment: Any) -> Any:
    """A log row's time as it is written: whole seconds (so it reads back exactly)."""
    if isinstance(moment, dt.datetime):
        return moment.replace(microsecond=0)
    return moment


def log_hash(previous: str, row: Mapping[str, Any]) -> str:
    """The chain hash of a change-log row whose predecessor's hash is ``previous``."""
    content = json.dumps(
        [_canonical_time(row.get("at")), *(_canonical(row.get(k)) for k in LOG_HASHED_FIELDS[1:])],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{previous}\x1f{content}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """A change-log row where the chain does not hold: ``index`` into the rows given."""

    index: int
    reason: str  # "edited" (hash does not match: this row or one before it changed) or "unhashed"


def verify_chain(rows: Sequence[Mapping[str, Any]]) -> tuple[list[ChainBreak], set[str]]:
    """Breaks of the chain over the log rows in order, and every hash seen.

    After a break the chain goes on from the stored hash, so each tampered place is
    reported once. Rows before the first hashed row predate the chain and are not checked.
    """
    breaks: list[ChainBreak] = []
    seen: set[str] = set()
    prev: str | None = None
    for i, row in enumerate(rows):
        h = str(row.get(LOG_HASH_FIELD) or "").strip().lower()
        if not h:
            if prev is not None:
                breaks.append(ChainBreak(i, "unhashed"))
            continue
        if log_hash(prev or "", row) != h:
            breaks.append(ChainBreak(i, "edited"))
        seen.add(h)
        prev = h
    return breaks, seen


def chain_head(rows: Iterable[Mapping[str, Any]]) -> str:
    """The hash the next appended row chains to: the last stored hash, "" before the chain."""
    head = ""
    for row in rows:
        h = str(row.get(LOG_HASH_FIELD) or "").strip().lower()
        if h:
            head = h
    return head
