"""``--annotate``: a copy of the workbook with a comment and a fill on each offending cell;
``--fix``: the safe normalisations (Persian letters, spacing, digits) written back in place.

Both use openpyxl (styles and comments are needed here, unlike in validation itself).  The
original is never touched by ``--annotate``; ``--fix`` writes with ``safety.atomic_write``
(temporary file, verification, backup, replace) under the workspace lock when there is one.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from crm_xl.domain import schema
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import Field
from crm_xl.io.workspace import write_output
from crm_xl.validation.findings import FIXABLE, Finding, Fix, Report
from crm_xl.validation.rules import fixed_value

RED = "FFC7CE"
AMBER = "FFEB9C"
_AUTHOR = "crm-xl validate"


def _field_for(sheet: str | None, key: str | None) -> Field | None:
    for form in schema.FORMS.values():
        for part in form.parts:
            if part.sheet == sheet and key:
                with contextlib.suppress(KeyError):
                    return part.field(key)
    return None


def _by_file(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.file and f.sheet and f.cell:
            out[f.file].append(f)
    return out


def _load(path: Path, *, links: str):  # type: ignore[no-untyped-def]
    """The workbook through ``guard`` (``workbook.load_workbook``): a copy drops external
    links, an in-place fix refuses a file that has one (it is a record written back)."""
    from crm_xl.io.workbook import load_workbook

    return load_workbook(path, links=links)


def _jalali_dates(wb, src: Path) -> None:  # type: ignore[no-untyped-def]
    """The copy shows every real date as Jalali text, as the toolkit writes dates (SPEC §5):
    a person reads it (or its PDF), and serial numbers would hide the dates."""
    from crm_xl.io.workbook import FormBook, detect_form

    with contextlib.suppress(CrmError):
        FormBook(wb, detect_form(src), src).jalali_dates()


def annotate_file(src: Path, findings: list[Finding], out: Path) -> Path:
    """Write ``out``: ``src`` with one comment per offending cell, red for errors, amber else."""
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    wb = _load(src, links="drop")
    _jalali_dates(wb, src)
    cells: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if f.sheet in wb.sheetnames and f.cell:
            cells[(f.sheet, f.cell.split(":")[0])].append(f)  # type: ignore[index]
    for (sheet, ref), items in cells.items():
        ws = wb[sheet]
        cell = ws[ref]
        if type(cell).__name__ == "MergedCell":
            continue  # openpyxl cannot comment inside a merge; its top-left cell is reported
        text = "\n".join(f"[{f.severity}] {f.code}: {f.message_fa}\n{f.message_en}" for f in items)
        comment = Comment(text[:32000], _AUTHOR)
        comment.width, comment.height = 360, min(60 + 40 * len(items), 600)
        cell.comment = comment
        worst = "error" if any(f.severity == "error" for f in items) else "warning"
        color = RED if worst == "error" else AMBER
        cell.fill = PatternFill("solid", start_color=color, end_color=color)
    # Never over a record, atomically, not while open in Excel (SPEC §10).
    return write_output(out, wb.save)


def annotate(report: Report, out: Path) -> list[Path]:
    """Annotated copies: ``out`` itself for one workbook, else one file per workbook in ``out``."""
    return [annotate_file(src, items, target) for src, items, target in targets(report, out)]


def targets(report: Report, out: Path) -> list[tuple[Path, list[Finding], Path]]:
    """(source, its findings, annotated copy) for each workbook ``annotate`` writes."""
    groups = _by_file(report.findings)
    sources = [s.path for s in report.files if s.form is not None]
    if len(sources) <= 1 and out.suffix.lower() in (".xlsx", ".xlsm"):
        if not sources:
            return []
        return [(Path(sources[0]), groups.get(sources[0], []), out)]
    if out.suffix.lower() in (".xlsx", ".xlsm"):
        raise CrmError(
            "چند فایل بررسی شد؛ برای --annotate یک پوشه بدهید",
            "several workbooks were validated; give --annotate a folder",
            code="annotate-needs-folder",
            file=out,
        )
    found: list[tuple[Path, list[Finding], Path]] = []
    used: set[str] = set()
    for src in sources:
        if src not in groups:
            continue
        name = Path(src).name
        n = 2
        while name in used:
            name = f"{Path(src).stem} ({n}){Path(src).suffix}"
            n += 1
        used.add(name)
        found.append((Path(src), groups[src], out / name))
    return found


def _lock_for(path: Path) -> contextlib.AbstractContextManager[object]:
    from crm_xl.domain.settings import SETTINGS_FILE
    from crm_xl.io.safety import workspace_lock

    for d in list(path.parents)[:4]:
        if (d / SETTINGS_FILE).is_file():
            return workspace_lock(d)
    return contextlib.nullcontext()


def _backups_for(path: Path) -> Path:
    from crm_xl.domain.settings import SETTINGS_FILE

    for d in list(path.parents)[:4]:
        if (d / SETTINGS_FILE).is_file():
            return d / ".crm_xl" / "backups"
    return path.parent / ".crm_xl-backups"


def _fixable(findings: list[Finding]) -> Iterator[tuple[str, list[Finding]]]:
    groups = _by_file([f for f in findings if f.code in FIXABLE])
    yield from groups.items()


def apply_fixes(report: Report) -> list[Fix]:
    """Normalise the cells of fixable findings in place (atomic write + backup); mark them fixed."""
    from crm_xl.io.safety import atomic_write, verify_xlsx
    from crm_xl.io.workbook import write_cell

    fixes: list[Fix] = []
    for file, items in _fixable(report.findings):
        path = Path(file)
        with _lock_for(path):
            try:
                wb = _load(path, links="refuse")
            except CrmError:
                continue  # validate reported why (external-link, …); the file stays as it is
            changed: list[Fix] = []
            done: set[tuple[str, str]] = set()
            for f in items:
                key = (f.sheet or "", f.cell or "")
                fld = _field_for(f.sheet, f.field)
                if key in done or fld is None or f.sheet not in wb.sheetnames:
                    continue
                done.add(key)
                cell = wb[f.sheet][f.cell]  # type: ignore[index]
                old = cell.value
                if not isinstance(old, str):
                    continue
                new = fixed_value(fld, old)
                if new != old:
                    write_cell(cell, new)  # normalising may expose a leading "="
                    changed.append(Fix(file=file, sheet=key[0], cell=key[1], old=old, new=new))
            if changed:
                atomic_write(
                    path,
                    wb.save,
                    backups=_backups_for(path),
                    verify=verify_xlsx,
                )
                fixes.extend(changed)
                cells = {(c.sheet, c.cell) for c in changed}
                for f in items:
                    if (f.sheet, f.cell) in cells:
                        f.fixed = True
    report.fixes = fixes
    report.finish()
    return fixes
