"""Workspace settings: company, experts, numbering patterns, follow-up rules, fiscal memory id.

Stored as ``settings.json`` at the workspace root so a manager can read and edit it; loaded
through pydantic so a broken edit gets an error naming the setting instead of odd behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from crm_xl.domain.errors import WorkspaceError

SETTINGS_FILE = "settings.json"


class NumberRule(BaseModel):
    """How one kind of number looks. Tokens: ``{jy}`` Jalali year, ``{jy2}`` its last two
    digits, ``{seq:N}`` the sequence zero-padded to N digits."""

    pattern: str
    yearly_reset: bool = False

    @field_validator("pattern")
    @classmethod
    def _has_seq(cls, v: str) -> str:
        if "{seq" not in v:
            raise ValueError("الگو باید {seq:N} داشته باشد / pattern needs a {seq:N} token")
        return v


DEFAULT_NUMBERING: dict[str, NumberRule] = {
    "customer": NumberRule(pattern="C-{seq:5}"),
    "case": NumberRule(pattern="P-{seq:5}"),
    "contract": NumberRule(pattern="Q-{jy}-{seq:4}"),
    # Invoices restart each fiscal (Jalali) year, as the tax authority's books do.
    "invoice": NumberRule(pattern="{jy}-{seq:6}", yearly_reset=True),
    # The Moadian internal serial (inno) of tax ids: never resets, never repeats.
    "tax": NumberRule(pattern="{seq:10}"),
}


class FollowUpRules(BaseModel):
    first_followup_hours: int = Field(24, ge=1, le=24 * 14)
    #: "calendar": plain hours, due day rolled past the weekend; "working": weekend hours skipped.
    hours_mode: Literal["calendar", "working"] = "calendar"
    #: An open customer with no contact for this many days is stalled (R10).
    stalled_days: int = Field(7, ge=1, le=365)
    #: Python weekday numbers of the weekend (Monday=0 … Friday=4).
    weekend: list[int] = Field(default_factory=lambda: [4])


class Settings(BaseModel):
    company: str = "شرکت بازرگانی نمونه"
    experts: list[str] = Field(default_factory=list)
    numbering: dict[str, NumberRule] = Field(default_factory=lambda: dict(DEFAULT_NUMBERING))
    followup: FollowUpRules = Field(default_factory=lambda: FollowUpRules())
    #: The company's fiscal memory id (شناسه یکتای حافظه مالیاتی); tax ids are made when set.
    fiscal_memory_id: str | None = None
    backups_keep: int = Field(20, ge=1, le=1000)
    lock_timeout: float = Field(60.0, gt=0)
    #: Seconds without a heartbeat after which a colleague may break the workspace lock; a
    #: writer stalled longer (laptop asleep, share hung) notices it lost the lock and aborts.
    lock_stale_after: float = Field(600.0, ge=1, le=86400)

    @field_validator("fiscal_memory_id")
    @classmethod
    def _memory_id(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        v = v.strip().upper()
        if len(v) != 6 or not v.isascii() or not v.isalnum():
            raise ValueError(
                "شناسه حافظه مالیاتی باید ۶ نویسه A-Z0-9 باشد / "
                "fiscal memory id must be 6 characters A-Z0-9"
            )
        return v

    def rule(self, kind: str) -> NumberRule:
        return self.numbering.get(kind) or DEFAULT_NUMBERING[kind]


def load_settings(root: Path) -> Settings:
    path = root / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Settings.model_validate(data)
    except FileNotFoundError:
        raise WorkspaceError(
            "فایل تنظیمات پیدا نشد", "settings file not found", code="no-settings", file=path
        ) from None
    except json.JSONDecodeError as e:
        raise WorkspaceError(
            f"فایل تنظیمات خراب است: سطر {e.lineno}",
            f"settings file is not valid JSON: line {e.lineno}, column {e.colno}",
            code="bad-settings",
            file=path,
        ) from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WorkspaceError(
            f"تنظیم «{where}» نادرست است: {first['msg']}",
            f"setting '{where}' is invalid: {first['msg']}",
            code="bad-settings",
            file=path,
            field=where,
        ) from None


def save_settings(root: Path, settings: Settings) -> Path:
    path = root / SETTINGS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(settings.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    tmp.replace(path)
    return path
