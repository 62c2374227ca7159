"""Evidence of issued numbers outside the live register (SPEC §4): one scan per operation.

The next number is above everything the workspace holds. The live register (rows, counters,
change log) is read by the operation itself; this module adds the rest:

* customer folder names in ``customers/`` and ``archive/`` (one directory scan each);
* archive registers ``archive/F-31-08-02 <year>.xlsx`` (any list of register files): read
  through calamine once, then remembered in ``.crm_xl/evidence-cache.json`` by size, mtime
  and numbering settings, since an archive register changes only when files are closed;
* the seal ``.crm_xl/seal.json`` (the high-water marks after the last operation).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from crm_xl.domain.decide import Register
from crm_xl.domain.errors import CrmError
from crm_xl.domain.numbering import Evidence, mark_key, parse_mark_key
from crm_xl.domain.schema import CASES, COUNTERS, CUSTOMERS, F_31_08_02, INVOICES, REGISTER_LOG
from crm_xl.domain.settings import Settings
from crm_xl.io.durable import write_atomic
from crm_xl.io.folders import numbered_folders
from crm_xl.io.journal import INTERNAL, read_seal
from crm_xl.io.workbook import read_table_fast

log = logging.getLogger(__name__)

__all__ = ["archive_registers", "read_register_rows", "register_evidence", "workspace_evidence"]

CACHE_FILE = "evidence-cache.json"


def archive_registers(archive_dir: Path) -> list[Path]:
    """The archive registers of closed files, ``F-31-08-02 <Jalali year>.xlsx`` in ``archive/``."""
    try:
        found = [
            p
            for p in Path(archive_dir).iterdir()
            if p.is_file()
            and p.name.startswith(f"{F_31_08_02.code} ")
            and p.suffix.lower() in (".xlsx", ".xlsm")
        ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found)


def read_register_rows(path: Path) -> dict[str, list[dict[str, object]]]:
    """The rows of a register file's tables, by table name (calamine, read-only)."""
    return {
        t.name: [r for _, r in read_table_fast(path, F_31_08_02, t.name)]
        for t in (CUSTOMERS, CASES, INVOICES, COUNTERS, REGISTER_LOG)
    }


def register_evidence(path: Path, settings: Settings) -> Evidence:
    """Every number a register file shows (rows, counters, change log), as evidence."""
    rows = read_register_rows(path)
    reg = Register.from_rows(
        settings,
        customers=rows[CUSTOMERS.name],
        cases=rows[CASES.name],
        invoices=rows[INVOICES.name],
        counters=rows[COUNTERS.name],
        log=rows[REGISTER_LOG.name],
    )
    return reg.evidence()


def _rules_key(settings: Settings) -> str:
    data = json.dumps(
        {k: v.model_dump() for k, v in sorted(settings.numbering.items())}, sort_keys=True
    )
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def _cached_marks(
    root: Path, registers: Iterable[Path], settings: Settings, ref_year: int
) -> dict[tuple[str, str], int]:
    """High-water marks of the given register files, from the cache where it is current."""
    cache_path = root / INTERNAL / CACHE_FILE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    rules = _rules_key(settings)
    out: dict[tuple[str, str], int] = {}
    changed = False
    for path in registers:
        try:
            st = path.stat()
        except OSError:
            continue
        name = path.name
        stamp = [st.st_size, st.st_mtime_ns, rules]
        entry = cache.get(name)
        if not (isinstance(entry, dict) and entry.get("stamp") == stamp):
            try:
                ev = register_evidence(path, settings)
            except (CrmError, OSError) as e:
                # validate reports the broken file; the seal still holds its numbers' marks
                log.warning("archive register %s not read for numbering: %s", path, e)
                continue
            marks = ev.high_marks(
                {k: settings.rule(k) for k in ("customer", "case", "contract", "invoice", "tax")},
                ref_year,
            )
            entry = {"stamp": stamp, "marks": {mark_key(k, s): v for (k, s), v in marks.items()}}
            cache[name] = entry
            changed = True
        for key, seq in entry.get("marks", {}).items():
            ks = parse_mark_key(key)
            if ks is not None and isinstance(seq, int):
                out[ks] = max(out.get(ks, 0), seq)
    if changed:
        with contextlib.suppress(OSError):  # only a cache
            write_atomic(cache_path, json.dumps(cache, ensure_ascii=False).encode(), sync=False)
    return out


def workspace_evidence(root: Path, settings: Settings, ref_year: int) -> Evidence:
    """Numbers the workspace shows outside the live register: folders, archive registers, seal."""
    root = Path(root)
    ev = Evidence()
    # folder_number has cleaned the names already
    ev.numbers.setdefault("customer", set()).update(
        numbered_folders(root / "customers", root / "archive")
    )
    for (kind, scope), seq in _cached_marks(
        root, archive_registers(root / "archive"), settings, ref_year
    ).items():
        ev.mark(kind, scope, seq)
    seal = read_seal(root)
    if seal is not None:
        for (kind, scope), seq in seal.mark_items().items():
            ev.mark(kind, scope, seq)
    return ev
