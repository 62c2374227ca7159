"""``settings.json`` on disk: read as a manager's editor saved it, written atomically.

Windows editors save in several encodings: Notepad's UTF-8 starts with a BOM, its "Unicode"
is UTF-16, and "ANSI" on a Persian Windows is code page 1256.  UTF-8 (with or without a
BOM) and UTF-16 with a BOM are read; anything else is refused with a message saying how to
save the file as UTF-8, rather than guessing a code page and putting misread names into
every form header.
"""

from __future__ import annotations

import codecs
import json
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from crm_xl.domain.errors import CrmError, WorkspaceError
from crm_xl.domain.settings import SETTINGS_FILE, Settings, did_you_mean
from crm_xl.io.durable import write_atomic

__all__ = ["SETTINGS_FILE", "load_settings", "read_settings_text", "save_settings"]

_SAVE_AS_UTF8_FA = (
    "فایل را در Notepad باز کنید، «Save As» را بزنید، Encoding را «UTF-8» بگذارید و ذخیره کنید"
)
_SAVE_AS_UTF8_EN = "open it in Notepad, choose Save As, set Encoding to UTF-8 and save"


def read_settings_text(path: Path) -> str:
    """The text of ``path``: UTF-8 with or without BOM, or UTF-16 with BOM; else WorkspaceError."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"  # also plain UTF-8: the BOM is optional
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise WorkspaceError(
            f"فایل تنظیمات با کدگذاری UTF-8 ذخیره نشده است (سطر {line}؛ احتمالاً «ANSI» "
            f"ویندوز یعنی cp1256)؛ {_SAVE_AS_UTF8_FA}",
            f"the settings file is not saved as UTF-8 (line {line}; probably Windows 'ANSI', "
            f"code page 1256); {_SAVE_AS_UTF8_EN}",
            code="settings-not-utf8",
            file=path,
        ) from None


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The settings model that holds the key at ``loc`` (None when it is not a model)."""
    model: Any = Settings
    expect_key = False  # the previous part was a dict: this part is one of its keys
    for part in loc:
        if expect_key:
            expect_key = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = field.annotation
        if typing.get_origin(model) in (typing.Union, types.UnionType):
            model = next((a for a in typing.get_args(model) if a is not type(None)), None)
        if typing.get_origin(model) is dict:
            model = typing.get_args(model)[1]
            expect_key = True
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _settings_error(e: ValidationError, path: Path) -> WorkspaceError:
    first = e.errors()[0]
    loc = tuple(first["loc"])
    where = ".".join(str(p) for p in loc) or "(root)"
    if first["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model else []
        hint_fa, hint_en = did_you_mean(str(loc[-1]), known)
        return WorkspaceError(
            f"تنظیم «{where}» شناخته نیست{hint_fa} (تنظیم‌های این بخش: {', '.join(known)})",
            f"unknown setting '{where}'{hint_en} (known here: {', '.join(known)})",
            code="unknown-setting",
            file=path,
            field=where,
        )
    cause = (first.get("ctx") or {}).get("error")
    code = "bad-settings"
    if isinstance(cause, CrmError):
        fa, en, code = cause.fa, cause.en, cause.code
    else:
        fa = en = str(first["msg"]).removeprefix("Value error, ")
    return WorkspaceError(
        f"تنظیم «{where}» نادرست است: {fa}",
        f"setting '{where}' is invalid: {en}",
        code=code,
        file=path,
        field=where,
    )


def load_settings(root: Path) -> Settings:
    """The settings of the workspace at ``root``; WorkspaceError naming what is wrong."""
    path = Path(root) / SETTINGS_FILE
    try:
        text = read_settings_text(path)
    except FileNotFoundError:
        raise WorkspaceError(
            "فایل تنظیمات پیدا نشد", "settings file not found", code="no-settings", file=path
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise WorkspaceError(
            f"فایل تنظیمات خراب است: سطر {e.lineno}، ستون {e.colno}",
            f"settings file is not valid JSON: line {e.lineno}, column {e.colno}",
            code="bad-settings",
            file=path,
        ) from None
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        raise _settings_error(e, path) from None


def save_settings(root: Path, settings: Settings) -> Path:
    """Write ``settings.json`` (UTF-8, no BOM) atomically: a crash leaves the old or the new file."""
    path = Path(root) / SETTINGS_FILE
    text = json.dumps(settings.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
    write_atomic(path, text.encode("utf-8"))  # temp file, fsync, rename
    return path
