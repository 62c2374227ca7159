"""Iran's holiday tables kept in the workspace, ``.crm_xl/holidays-<year>-<lang>.json``.

Importing the ``holidays`` package and computing a year costs 0.14-0.33 s, paid by every
command that computes a due date; the table only changes with the package.  So each year's
table is computed once and kept beside the lock and backups, stamped with the package's
version: an upgraded package (new or confirmed Islamic holiday dates) recomputes it.  A
folder that cannot be written (read-only share) just computes the table each time.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from crm_xl.domain import dates
from crm_xl.io.durable import write_atomic

__all__ = ["cache_path", "install"]


@functools.cache
def _package_version() -> str:
    try:
        return importlib.metadata.version("holidays")
    except importlib.metadata.PackageNotFoundError:
        return ""


def cache_path(folder: Path, year: int, lang: str) -> Path:
    return Path(folder) / f"holidays-{year}-{lang}.json"


def _kept(
    folder: Path, year: int, lang: str, compute: Callable[[], dates.HolidayTable]
) -> dates.HolidayTable:
    path = cache_path(folder, year, lang)
    version = _package_version()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["holidays_version"] == version and data["year"] == year:
            return {date.fromisoformat(k): tuple(v) for k, v in data["days"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # none yet, another package version, or damaged: compute it again
    table = compute()
    if folder.is_dir():
        record = {
            "holidays_version": version,
            "year": year,
            "lang": lang,
            "days": {d.isoformat(): list(names) for d, names in table.items()},
        }
        with contextlib.suppress(OSError):  # a cache: never fail a command over it
            write_atomic(path, json.dumps(record, ensure_ascii=False).encode(), sync=False)
    return table


_installed: list[Path] = []


def install(folder: Path) -> None:
    """Keep holiday tables in ``folder`` (a workspace's ``.crm_xl``) from now on."""
    folder = Path(folder)
    if _installed != [folder]:  # the same folder again keeps the tables already read
        _installed[:] = [folder]
        dates.use_holiday_cache(functools.partial(_kept, folder))
