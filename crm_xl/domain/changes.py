"""What an operation decided, as data: the boundary between the pure core and the stores.

The core returns a ``Plan``; the file store (openpyxl, ``store``) and the live-workbook store
(xlwings, ``excel.store``) apply the same plan. Register changes name tables and field keys
from the schema, never cell positions; folder changes name the customer folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
