"""Roll forward: an operation's intent, written down before it changes anything visible.

SPEC §10 "nothing is lost". A register-changing operation (``ops.store``) runs in steps:

1. the journal ``.crm_xl/journal/<id>.json`` is written, state ``prepared``, naming what the
   operation is about to create: the staging folder of a new customer (``customers/.new-…``),
   temporary customer forms (``.F-31-08-01 ….tmp<pid>.xlsx``), the temporary register;
2. those are written;
3. the journal is rewritten, state ``committing``, with the chain hash of the last change-log
   row the operation appends (``log_head``) and the new seal; then the register is replaced;
4. the folder steps are committed in order (staging folder renamed, form replaced, folder
   moved to ``archive/``), the seal is written and the journal removed.

Whoever takes the workspace lock next calls :func:`roll_forward` first. For every journal left
behind: the register holds its ``log_head`` → the operation happened and its remaining steps are
completed; otherwise it did not happen and what it staged is removed. What cannot be resolved
(a form changed by hand since it was staged, an archive name taken meanwhile) stays in the
journal as ``problems``; ``validate`` reports it. Temporary registers and the toolkit's own
half-written files are removed too.

The seal ``.crm_xl/seal.json`` records, after each operation, the change log's chain head and
the high-water mark of every number kind and period: evidence kept beside the register, so a
register whose last log rows (and counters) were removed still gives itself away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crm_xl.domain.errors import CrmError
from crm_xl.domain.numbering import mark_key, parse_mark_key
from crm_xl.domain.schema import F_31_08_02, REGISTER_LOG
from crm_xl.io.durable import write_atomic
from crm_xl.io.folders import move_folder
from crm_xl.io.workbook import read_table_fast

log = logging.getLogger(__name__)

__all__ = [
    "Journal",
    "Seal",
    "Step",
    "commit_step",
    "journals",
    "leftovers",
    "read_seal",
    "register_hashes",
    "roll_forward",
    "undo_step",
    "write_seal",
]

INTERNAL = ".crm_xl"
JOURNAL_DIR = "journal"
SEAL_FILE = "seal.json"
#: Temporary registers (``safety.atomic_write``'s names) and staging folders: the toolkit's own.
TEMP_REGISTER_PREFIX = f".{F_31_08_02.code}.tmp"
STAGING_PREFIX = ".new-"
MOVING_PREFIX = ".~moving-"


# --- the journal ---------------------------------------------------------------------------------


@dataclass
class Step:
    """One folder change, with paths relative to the workspace root (shares mount anywhere).

    ``create``: rename the staging folder ``src`` to ``dest``; ``replace``: replace the form
    ``dest`` by the staged ``src`` (``stat`` = size and mtime of ``dest`` when staged);
    ``archive``: move the folder ``src`` to ``dest`` in ``archive/``; ``restore``: back from
    ``archive/`` to ``customers/`` (a reopened customer).
    """

    do: str
    src: str
    dest: str
    stat: list[int] | None = None


@dataclass
class Journal:
    id: str
    operation: str
    lock: str  # the lock token of the writer
    register: str  # the register, relative to the root
    temp: str = ""  # the temporary register, relative ("" for a live workbook)
    state: str = "prepared"  # "prepared" → "committing"
    log_head: str = ""
    seal: dict[str, int] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    user: str = ""
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))

    def path(self, root: Path) -> Path:
        return Path(root) / INTERNAL / JOURNAL_DIR / f"{self.id}.json"

    def save(self, root: Path) -> None:
        p = self.path(root)
        p.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=1)
        write_atomic(p, data.encode("utf-8"))

    def remove(self, root: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(root).unlink()

    @classmethod
    def load(cls, path: Path) -> Journal:
        data = json.loads(path.read_text(encoding="utf-8"))
        steps = [Step(**s) for s in data.pop("steps", [])]
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(steps=steps, **{k: v for k, v in data.items() if k in known})

    def describe(self) -> str:
        return f"{self.operation} ({self.user or '?'}@{self.host}, pid {self.pid}, {self.started})"


def journals(root: Path) -> list[tuple[Path, Journal | None]]:
    """Every journal file left in the workspace, oldest first (None: unreadable)."""
    folder = Path(root) / INTERNAL / JOURNAL_DIR
    try:
        paths = sorted(
            (p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith(".")),
            key=lambda p: (p.stat().st_mtime_ns, p.name),
        )
    except (FileNotFoundError, NotADirectoryError):
        return []
    out: list[tuple[Path, Journal | None]] = []
    for p in paths:
        try:
            out.append((p, Journal.load(p)))
        except (OSError, ValueError, TypeError):
            out.append((p, None))
    return out


# --- steps ---------------------------------------------------------------------------------------


def _same_stat(path: Path, stat: list[int] | None) -> bool:
    if stat is None:
        return True
    try:
        st = path.stat()
    except FileNotFoundError:
        return True  # nothing there to lose
    return [st.st_size, st.st_mtime_ns] == list(stat)


def commit_step(root: Path, step: Step) -> str | None:
    """Put one staged change in place; idempotent. A problem, in English, or None when done."""
    root = Path(root)
    src, dest = root / step.src, root / step.dest
    if step.do == "create":
        if src.is_dir() and not dest.exists():
            src.rename(dest)
            return None
        if not src.exists() and dest.is_dir():
            return None  # committed before
        if src.exists():
            return f"staged folder {step.src} not renamed: {step.dest} exists"
        return f"staged folder {step.src} is gone and {step.dest} does not exist"
    if step.do == "replace":
        if not src.exists():
            if dest.parent.is_dir():
                return None  # committed before
            return f"the folder of {step.dest} was moved or renamed before it was updated"
        if not _same_stat(dest, step.stat):
            return f"{step.dest} changed since {step.src} was staged; the staged copy is kept"
        os.replace(src, dest)
        return None
    if step.do in ("archive", "restore"):  # restore: a reopened customer's folder comes back
        if not src.exists():
            return None if dest.exists() else f"folder {step.src} to move is gone"
        landed = move_folder(src, dest.parent)
        if landed.name != dest.name:
            rel = Path(os.path.relpath(landed, root.resolve())).as_posix()
            return f"folder {step.src} was archived as {rel}, the register says {step.dest}"
        return None
    return f"unknown step {step.do!r}"


def undo_step(root: Path, step: Step) -> None:
    """Remove what a step staged; nothing visible is touched (only staged names are removed)."""
    src = Path(root) / step.src
    if step.do == "create" and src.name.startswith(STAGING_PREFIX):
        shutil.rmtree(src, ignore_errors=True)
    elif step.do == "replace" and src.name.startswith("."):
        with contextlib.suppress(FileNotFoundError):
            src.unlink()


# --- the seal ------------------------------------------------------------------------------------


@dataclass
class Seal:
    log_head: str = ""
    marks: dict[str, int] = field(default_factory=dict)  # "kind/scope" -> highest sequence
    at: str = ""

    def mark_items(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for key, seq in self.marks.items():
            ks = parse_mark_key(key)
            if ks is not None and isinstance(seq, int):
                out[ks] = seq
        return out


def read_seal(root: Path) -> Seal | None:
    try:
        data = json.loads((Path(root) / INTERNAL / SEAL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    marks = data.get("marks")
    return Seal(
        str(data.get("log_head") or ""),
        {str(k): int(v) for k, v in marks.items() if isinstance(v, int)}
        if isinstance(marks, dict)
        else {},
        str(data.get("at") or ""),
    )


def seal_marks(marks: Mapping[tuple[str, str], int]) -> dict[str, int]:
    return {mark_key(k, s): v for (k, s), v in sorted(marks.items()) if v > 0}


def write_seal(root: Path, log_head: str, marks: Mapping[str, int]) -> None:
    """Record the chain head and raise the high-water marks (they never go down)."""
    old = read_seal(root)
    merged = dict(old.marks) if old else {}
    for key, seq in marks.items():
        merged[key] = max(merged.get(key, 0), seq)
    seal = Seal(log_head or (old.log_head if old else ""), merged, datetime.now().isoformat())
    path = Path(root) / INTERNAL / SEAL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(dataclasses.asdict(seal), ensure_ascii=False).encode("utf-8"))


# --- rolling forward -----------------------------------------------------------------------------


def register_hashes(register: Path) -> set[str] | None:
    """Every chain hash in the register's change log; None when the log cannot be read."""
    try:
        rows = read_table_fast(register, F_31_08_02, REGISTER_LOG.name)
    except (CrmError, OSError):
        return None
    return {str(r.get("hash") or "").strip().lower() for _, r in rows} - {""}


class _Later(Exception):
    """Cannot be done now (a file open, a share gone, the register unreadable): try again at
    the next lock, the journal stays as it is."""


def _complete(root: Path, journal: Journal, busy: Callable[[Path], bool]) -> list[str]:
    problems: list[str] = []
    # A form updated before its folder moved to archive/ (closing): once the move is done,
    # its folder is gone from customers/ because the step was committed, not lost.
    moved = {s.src: s.dest for s in journal.steps if s.do == "archive"}
    for step in journal.steps:
        folder = Path(step.dest).parent.as_posix()
        if (
            step.do == "replace"
            and folder in moved
            and not (root / folder).exists()
            and (root / moved[folder]).is_dir()
        ):
            continue
        if step.do == "replace" and busy(root / step.dest):
            raise _Later(f"{step.dest} is open in Excel or LibreOffice")
        try:
            problem = commit_step(root, step)
        except OSError as e:  # the steps keep their order: stop here
            raise _Later(f"{step.do} {step.src} → {step.dest}: {e}") from e
        if problem:
            problems.append(problem)
    try:
        write_seal(root, journal.log_head, journal.seal)
    except OSError as e:
        raise _Later(f"seal not written: {e}") from e
    return problems


def resolve(
    root: Path,
    journal: Journal,
    hashes: set[str] | None,
    busy: Callable[[Path], bool] = lambda _: False,
) -> list[str]:
    """Complete or undo one journal's operation; the problems that need a person (the journal
    is kept with them). ``hashes``: the register's chain hashes, None when it cannot be read
    (then nothing is decided: an operation that happened must never be undone)."""
    root = Path(root)
    if journal.state == "committing" and hashes is None:
        raise _Later(f"register {journal.register} cannot be read")
    committed = journal.state == "committing" and journal.log_head in (hashes or ())
    problems: list[str] = []
    if committed:
        problems = _complete(root, journal, busy)
    else:
        for step in reversed(journal.steps):
            undo_step(root, step)
        if journal.temp and Path(journal.temp).name.startswith(TEMP_REGISTER_PREFIX):
            with contextlib.suppress(FileNotFoundError):
                (root / journal.temp).unlink()
    if problems:
        journal.problems = problems
        journal.save(root)
        log.error(
            "operation %s could not be completed: %s", journal.describe(), "; ".join(problems)
        )
    else:
        journal.remove(root)
        log.info(
            "%s interrupted operation %s",
            "completed" if committed else "undid",
            journal.describe(),
        )
    return problems


def roll_forward(root: Path, busy: Callable[[Path], bool] = lambda _: False) -> list[str]:
    """Complete or undo every operation left half-done; remove the toolkit's temporary files.

    Called by whoever takes the workspace lock, before anything else. Never raises for what
    it finds: a problem that needs a person is kept for ``validate`` (and returned); what
    cannot be done now (``busy``: a file open in Excel; a share gone) is tried again next time.
    """
    root = Path(root)
    problems: list[str] = []
    left = journals(root)
    hashes: dict[str, set[str] | None] = {}
    for path, journal in left:
        if journal is None:
            problems.append(f"unreadable journal {path.name}")
            continue
        if journal.problems:
            problems.extend(journal.problems)  # known: kept for validate and the user
            continue
        if journal.state == "committing" and journal.register not in hashes:
            hashes[journal.register] = register_hashes(root / journal.register)
        try:
            problems.extend(resolve(root, journal, hashes.get(journal.register), busy))
        except (_Later, OSError) as e:
            log.warning("interrupted operation %s left for later: %s", journal.describe(), e)
            problems.append(f"{journal.describe()}: {e}")
    for p in leftovers(root, deep=False):
        with contextlib.suppress(OSError):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    return problems


def leftovers(root: Path, *, deep: bool = True) -> list[Path]:
    """The toolkit's own temporary files no journal accounts for.

    Always: temporary registers in the root, half-written journal/seal/backup/lock files in
    ``.crm_xl/``. ``deep`` (``validate``): also staging folders in ``customers/`` and half-made
    moves in ``archive/`` (a scan of those folders, too costly for every command).
    """
    root = Path(root)
    named: set[Path] = set()
    for _, j in journals(root):
        if j is not None:
            named |= {root / s.src for s in j.steps}
            if j.temp:
                named.add(root / j.temp)
    out: list[Path] = []

    def scan(folder: Path, keep: Any) -> None:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for e in entries:
            p = Path(e.path)
            if keep(e.name) and p not in named:
                out.append(p)

    scan(root, lambda n: n.startswith(TEMP_REGISTER_PREFIX))
    internal = root / INTERNAL
    scan(internal, lambda n: n.startswith(".") and n.endswith(".tmp"))
    scan(internal, lambda n: n.startswith("lock.holder.json.") and n.endswith(".tmp"))
    scan(internal / JOURNAL_DIR, lambda n: n.startswith(".") and n.endswith(".tmp"))
    scan(internal / "backups", lambda n: n.startswith(".") and n.endswith(".partial"))
    if deep:
        scan(root / "customers", lambda n: n.startswith(STAGING_PREFIX))
        scan(root / "archive", lambda n: n.startswith(MOVING_PREFIX))
        for area in ("customers", "archive"):
            try:
                folders = [e.path for e in os.scandir(root / area) if e.is_dir()]
            except (FileNotFoundError, NotADirectoryError):
                continue
            for f in folders:  # a temporary form left beside its form
                scan(Path(f), lambda n: n.startswith(".") and ".tmp" in n)
    return sorted(out)
