"""The one error type users see: Persian and English, with the place it happened.

Every failure a user can cause (bad input, a locked workbook, a broken file) is raised as
``CrmError`` so the CLI and the Excel buttons can show it without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where something is: file, sheet, cell (A1) and optionally the field key."""

    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.sheet, self.cell) if p]
        text = " › ".join(parts)
        if self.field:
            text = f"{text} [{self.field}]" if text else f"[{self.field}]"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sheet": self.sheet, "cell": self.cell, "field": self.field}


class CrmError(Exception):
    """A user-facing error with a stable ``code``, Persian and English text and a location."""

    exit_code = 1

    def __init__(
        self,
        fa: str,
        en: str,
        *,
        code: str = "error",
        file: str | Path | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        field: str | None = None,
    ) -> None:
        self.fa = fa
        self.en = en
        self.code = code
        self.location = Location(str(file) if file is not None else None, sheet, cell, field)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.location)
        suffix = f" ({where})" if where else ""
        return f"{self.fa} / {self.en}{suffix}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "fa": self.fa,
            "en": self.en,
            "location": self.location.as_dict(),
        }


class InputError(CrmError, ValueError):
    """A value a user typed or a cell held is not acceptable."""


class WorkbookBusyError(CrmError):
    """The workbook is open in Excel or LibreOffice, or another crm_xl process holds the lock."""

    exit_code = 3


class WorkspaceError(CrmError):
    """The workspace is missing, incomplete or would be overwritten."""

    exit_code = 2
