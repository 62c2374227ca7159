"""What an operation decided, as data: the boundary between the pure core and the stores.

The core returns a ``Plan``; the file store (openpyxl, ``store``) and the live-workbook store
(xlwings, ``excel.store``) apply the same plan. Register changes name tables and field keys
from the schema, never cell positions; folder changes name the customer folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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


@dataclass(frozen=True)
class RestoreFolder:
    """Move a reopened customer's folder from archive/ back to customers/, its form updated."""

    customer_no: str
    folder: str
    registration: dict[str, Any] = field(default_factory=dict)


RegisterChange = AppendRow | UpdateRow | SetCounter
FolderChange = (
    CreateCustomerForm | AppendFollowUp | UpdateCustomerForm | ArchiveFolder | RestoreFolder
)


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
# Every row the toolkit appends to the register's change log carries ``hash`` = SHA-256 (hex,
# UTF-8) of: the previous hashed row's hash, U+001F, the row's time, U+0000, and its other
# fields joined by U+0000 (a character no cell can hold). So an edited, deleted or inserted
# row breaks the chain at that point. The content is canonical in the way the row reads back
# from any reader (openpyxl, calamine, Excel, a LibreOffice save): the time to the minute in
# Tehran wall time (``YYYY-MM-DD HH:MM``), whether the cell holds a date-time, the bare serial
# number a LibreOffice save leaves or Jalali text; text trimmed. The toolkit writes the text
# already normalised (``clean_log_row``: Persian ی/ک, single spaces, ASCII digits), so
# ``validate --fix`` finds nothing to change in it and verifying needs no normalisation.
# A log written before the chain existed has rows without a hash: the chain starts at the
# first hashed row (its predecessor is ""); every later row must carry one.

#: The change-log fields a hash covers, in order (the schema's log table minus ``hash``).
LOG_HASHED_FIELDS = ("at", "user", "host", "operation", "numbers", "details")
LOG_HASH_FIELD = "hash"

_SEP = "\x00"
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def _canonical_time(value: Any) -> str:
    """The log row's time to the minute in Tehran wall time, whatever the cell holds now."""
    if value is None or value == "":
        return ""
    if value.__class__ is dt.datetime:
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = _EXCEL_EPOCH + dt.timedelta(days=value)  # a LibreOffice save drops the format
    else:
        try:
            moment = parse_datetime(value)  # Jalali or ISO text, a date
        except ValueError:
            return str(value).strip()
    if moment.tzinfo is not None:
        moment = moment.astimezone(TEHRAN).replace(tzinfo=None)
    if moment.microsecond >= 500_000:  # Excel keeps times as day fractions: off by microseconds
        moment += dt.timedelta(seconds=1)
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:{moment.minute:02d}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value.__class__ is str:
        return value.strip()  # type: ignore[no-any-return]
    if isinstance(value, dt.datetime | dt.date):
        return _canonical_time(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def clean_log_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A change-log row as the toolkit writes it: its time in whole seconds (it reads back
    exactly), its text normalised (nothing for ``--fix`` to change)."""
    out = dict(values)
    for key, v in values.items():
        if key == "at" and isinstance(v, dt.datetime):
            out[key] = v.replace(microsecond=0)
        elif isinstance(v, str):
            out[key] = to_ascii_digits(normalize(v))
    return out


def log_hash(previous: str, row: Mapping[str, Any]) -> str:
    """The chain hash of a change-log row whose predecessor's hash is ``previous``."""
    text = _SEP.join([_text(row.get(k)) for k in LOG_HASHED_FIELDS[1:]])
    content = f"{previous}\x1f{_canonical_time(row.get('at'))}{_SEP}{text}"
    return hashlib.sha256(content.encode()).hexdigest()


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
