"""Nothing is ever lost (SPEC §10): open-workbook detection, the workspace lock, atomic writes.

Three guards, used together by every command that changes a workbook::

    with workspace_lock(root):                        # one writer per workspace, across machines
        atomic_write(path, save, backups=root / ".crm_xl" / "backups", verify=verify_xlsx)

* ``check_not_open`` refuses a workbook that Excel or LibreOffice has open, naming the user
  from their lock file, because our ``os.replace`` would either fail (Windows) or be silently
  overwritten by the user's next Ctrl+S.
* ``workspace_lock`` is an existence lock (``O_CREAT|O_EXCL`` via filelock's ``SoftFileLock``)
  because ``fcntl``/``LockFileEx`` locks are not reliable on SMB/NFS shares, which is where a
  sales unit keeps its workbooks.  No OS lock is nested inside it: one mechanism, one truth.
* ``atomic_write`` writes a temporary file beside the target, verifies it, keeps a backup of
  the old version and only then replaces it, so a crash at any point leaves a readable file.

Fencing (SPEC §4): a writer stalled past the stale limit (laptop asleep, share hung) may have
its lock broken by a colleague. ``workspace_lock`` yields a :class:`Lease` (token and
generation); before it replaces anything a writer calls ``lease.check()``, which raises
``LockLostError`` once the lock is no longer its own. The first thing a new holder does is
``journal.roll_forward``: it completes or undoes what an earlier writer left half-done, and
removes the temporary files of a writer that lost the lock, so that writer cannot put them in
place afterwards either.

Test hooks live here and nowhere else: :func:`commit_point` (``CRM_XL_TEST_HOOK``) and
``_before_replace``; both do nothing unless a test sets them.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from filelock import SoftFileLock, Timeout

from crm_xl.domain.errors import CrmError, WorkbookBusyError, WorkspaceError
from crm_xl.io import journal
from crm_xl.io.durable import fsync_dir as _fsync_dir
from crm_xl.io.durable import fsync_file as _fsync_file
from crm_xl.io.durable import write_atomic
from crm_xl.io.settings_file import load_settings

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_STALE_AFTER",
    "Lease",
    "LockLostError",
    "atomic_write",
    "backups_of",
    "check_not_open",
    "commit_point",
    "current_holder_token",
    "held_lease",
    "office_lock_holder",
    "restore_backup",
    "verify_xlsx",
    "workspace_lock",
]

UNKNOWN = "unknown"

# --------------------------------------------------------------------------- test hooks

#: ``CRM_XL_TEST_HOOK=<action>@<point>`` makes the process stop (``stop``, SIGSTOP) or die
#: (``kill``, SIGKILL) at the named commit point, so tests can stall or crash a real writer at
#: an exact place. Unset (production) it does nothing. Points, in order: ``prepared``,
#: ``before-replace``, ``register-replaced``, ``folder-committed-<n>``, ``sealed``.
TEST_HOOK_ENV = "CRM_XL_TEST_HOOK"


def commit_point(name: str) -> None:
    hook = os.environ.get(TEST_HOOK_ENV)
    if not hook:
        return
    action, _, point = hook.partition("@")
    if point != name:
        return
    if action == "kill":
        if sys.platform == "win32":  # pragma: no cover
            os._exit(137)
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "stop" and sys.platform != "win32":
        os.kill(os.getpid(), signal.SIGSTOP)


# --------------------------------------------------------------------------- open in Excel?


@dataclass(frozen=True)
class _OfficeLock:
    app: str  # "Excel" or "LibreOffice"
    lock_file: Path
    holder: str | None  # None when the lock file does not say who


def _excel_owner_names(name: str) -> list[str]:
    """Owner-file names Office may use for ``name``.

    Excel (and PowerPoint) use ``~$`` + the full name.  Word cuts the stem: 8+ characters
    lose the first two, exactly 7 lose the first one (rule as implemented by LibreOffice's
    msodocumentlockfile.cxx).  We check both forms for every extension, so a workbook
    opened by any Office flavour, or a stale file left by one, is seen.
    """
    names = [f"~${name}"]
    stem_len = len(Path(name).stem)
    if stem_len >= 8:
        names.append(f"~${name[2:]}")
    elif stem_len == 7:
        names.append(f"~${name[1:]}")
    return names


def _printable(text: str) -> str | None:
    text = text.strip().strip("\x00").strip()
    return text if text and text.isprintable() else None


def _parse_excel_owner(data: bytes) -> str | None:
    """The user name in an MS Office owner file, or None.

    Layout (reverse-engineered; see LibreOffice svl/source/misc/msodocumentlockfile.cxx):
    byte 0 = length n (≤ 52) of the name in the Windows ANSI code page, then the name, then
    padding (zeros for Word, spaces for Excel) up to offset 54 (Word) or 55 (Excel); there a
    2-byte length and the same name in UTF-16-LE.  The UTF-16 copy is preferred because the
    ANSI copy of a Persian name is often just question marks.
    """
    if not data or not 0 < data[0] <= 52:
        return None
    n = data[0]
    off = 54
    # Excel pads with spaces, so byte 54 is 0x20 and the length sits one byte later.
    if len(data) > 54 and data[54] == 0x20 and (data[53] != 0 or data[52] != 0):
        off = 55
    if len(data) >= off + 2:
        m = data[off] | (data[off + 1] << 8)
        if 0 < m <= 52 and len(data) >= off + 2 + 2 * m:
            with contextlib.suppress(UnicodeDecodeError):
                name = _printable(data[off + 2 : off + 2 + 2 * m].decode("utf-16-le"))
                if name and set(name) != {"?"}:
                    return name
    if len(data) < 1 + n:
        return None
    raw = data[1 : 1 + n]
    try:
        ansi = raw.decode("ascii")
    except UnicodeDecodeError:
        # Iranian Windows installs use code page 1256 (Arabic) as their ANSI code page.
        ansi = raw.decode("cp1256", errors="replace")
    name = _printable(ansi)
    return name if name and set(name) != {"?"} else None


def _libreoffice_fields(text: str) -> list[str]:
    """Fields of the first record: ``,`` separates, ``;`` ends, backslash escapes ``\\ , ;``."""
    fields: list[str] = []
    cur: list[str] = []
    it = iter(text)
    for ch in it:
        if ch == "\\":
            cur.append(next(it, ""))
        elif ch == ",":
            fields.append("".join(cur))
            cur = []
        elif ch == ";":
            break
        else:
            cur.append(ch)
    fields.append("".join(cur))
    return fields


def _parse_libreoffice_lock(data: bytes) -> str | None:
    """The user in a LibreOffice ``.~lock.<name>#`` file, or None.

    The file is one CSV-like record ending in ``;``: LibreOffice user name (Tools ›
    Options › User Data, often empty), system user name, host, time, user profile URL.
    """
    fields = _libreoffice_fields(data.decode("utf-8", errors="replace").strip("\r\n"))
    for candidate in fields[:2]:
        name = _printable(candidate)
        if name:
            return name
    return None


def _read_head(path: Path, size: int = 512) -> bytes:
    with contextlib.suppress(OSError), path.open("rb") as fh:
        return fh.read(size)
    return b""


def _find_office_lock(path: Path) -> _OfficeLock | None:
    folder, name = path.parent, path.name
    lo = folder / f".~lock.{name}#"
    if lo.exists():
        return _OfficeLock("LibreOffice", lo, _parse_libreoffice_lock(_read_head(lo)))
    for owner_name in _excel_owner_names(name):
        owner = folder / owner_name
        if owner.exists():
            return _OfficeLock("Excel", owner, _parse_excel_owner(_read_head(owner)))
    return None


def office_lock_holder(path: Path) -> str | None:
    """Who has ``path`` open in Excel or LibreOffice: their name, ``"unknown"``, or None if nobody."""
    found = _find_office_lock(Path(path))
    if found is None:
        return None
    return found.holder or UNKNOWN


def _busy_error(
    path: Path, app: str, holder: str | None, lock_file: Path | None, *, app_fa: str | None = None
) -> WorkbookBusyError:
    who_fa = f"توسط {holder} " if holder else ""
    who_en = f" by {holder}" if holder else ""
    hint_fa = hint_en = ""
    if lock_file is not None:
        hint_fa = f" اگر فایل باز نیست، فایل قفل «{lock_file.name}» را در همان پوشه پاک کنید."
        hint_en = f" If it is not open, delete the lock file {lock_file.name} in the same folder."
    return WorkbookBusyError(
        f"فایل «{path.name}» {who_fa}در {app_fa or app} باز است؛ آن را ببندید و دوباره تلاش کنید.{hint_fa}",
        f"{path.name} is open in {app}{who_en}; close it and try again.{hint_en}",
        code="workbook-open",
        file=path,
    )


def check_not_open(path: Path) -> None:
    """Raise ``WorkbookBusyError`` (code ``workbook-open``) if Excel or LibreOffice has ``path`` open."""
    path = Path(path)
    found = _find_office_lock(path)
    if found is not None:
        raise _busy_error(path, found.app, found.holder, found.lock_file)


# --------------------------------------------------------------------------- workspace lock

DEFAULT_STALE_AFTER = 600.0  # seconds without a heartbeat before anyone may break the lock
_MARKER_MAX = 1024

_held = threading.local()  # per thread: lock path -> nesting depth (reentrancy)


@functools.cache
def _this_host() -> str:
    # The spelling filelock writes into its marker, so "same host" compares like with like.
    try:
        from filelock._identity import host_name

        return str(host_name())
    except Exception:  # private API; fall back to the plain name
        return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)  # signal 0 only probes; never use this on Windows (it terminates)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return UNKNOWN


def _read_marker(marker: Path) -> tuple[str, os.stat_result] | None:
    """Content and lstat of the lock marker, or None if there is none."""
    try:
        st = marker.lstat()
        with marker.open("rb") as fh:
            data = fh.read(_MARKER_MAX)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace"), st


def _marker_owner(content: str) -> tuple[int, str] | None:
    lines = content.splitlines()
    if len(lines) >= 2 and lines[0].isascii() and lines[0].isdigit():
        return int(lines[0]), lines[1]
    return None


def _read_sidecar(sidecar: Path, content: str) -> dict[str, object] | None:
    """The holder record, only if it belongs to the marker currently in place."""
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(info, dict) and info.get("marker") == content:
        return info
    return None


def _describe_holder(marker: Path, sidecar: Path) -> str:
    got = _read_marker(marker)
    if got is None:
        return "another crm_xl process"
    content, _ = got
    info = _read_sidecar(sidecar, content)
    owner = _marker_owner(content)
    if info is not None:
        return f"{info.get('user')} (pid {info.get('pid')} on {info.get('host')}, since {info.get('since')})"
    if owner is not None:
        return f"pid {owner[0]} on {owner[1]}"
    return "another crm_xl process"


def _stale_reason(
    marker: Path, sidecar: Path, stale_after: float
) -> tuple[str, os.stat_result] | None:
    """Why the current marker may be broken, or None if it must be respected."""
    got = _read_marker(marker)
    if got is None:
        return None
    content, st = got
    owner = _marker_owner(content)
    if owner is not None and owner[1] == _this_host():
        pid = owner[0]
        if pid == os.getpid():
            return None  # another thread of this process: it is alive by definition
        if not _pid_alive(pid):
            return f"its holder, pid {pid} on this host, is no longer running", st
    # The holder refreshes the marker's and the sidecar's mtime every heartbeat.
    last = st.st_mtime
    info = _read_sidecar(sidecar, content)
    if info is not None:
        with contextlib.suppress(OSError):
            last = max(last, sidecar.stat().st_mtime)
    age = time.time() - last
    if age > stale_after:
        return f"no heartbeat for {age:.0f} s (stale after {stale_after:.0f} s)", st
    return None


def _break_stale(marker: Path, sidecar: Path, stale_after: float) -> None:
    """Remove a stale marker so that, of several contenders, only one takes it.

    The marker is renamed aside first (a rename of one directory entry succeeds once), then
    checked to be the very file judged stale; if a peer recreated the lock in between, the
    fresh marker is linked back.  Works on local disks, SMB and NFS alike.
    """
    judged = _stale_reason(marker, sidecar, stale_after)
    if judged is None:
        return
    reason, st = judged
    holder = _describe_holder(marker, sidecar)
    aside = marker.with_name(f"{marker.name}.stale.{os.getpid()}.{secrets.token_hex(6)}")
    try:
        now = marker.lstat()
        if (now.st_ino, now.st_mtime) != (st.st_ino, st.st_mtime):
            return  # changed since judged: look again next round
        os.rename(marker, aside)
    except OSError:
        return  # vanished, or (Windows) its live holder keeps it open
    try:
        took = aside.lstat()
        if (took.st_ino, took.st_mtime) != (st.st_ino, st.st_mtime):
            with contextlib.suppress(OSError):
                os.link(aside, marker)  # put the fresh marker back; link never replaces
            return
        log.warning("broke stale workspace lock %s held by %s: %s", marker, holder, reason)
    finally:
        with contextlib.suppress(OSError):
            aside.unlink()


class LockLostError(WorkbookBusyError):
    """This writer no longer holds the workspace lock: it stalled past the stale limit and a
    colleague took over. Nothing of its operation was put in place."""


@dataclass
class Lease:
    """Proof of holding the workspace lock: the marker this holder created, its token and
    generation (one more than the holder before it)."""

    root: Path
    marker: Path
    sidecar: Path
    token: str
    generation: int
    identity: tuple[int, int]  # (st_dev, st_ino) of our marker; our open descriptor pins it
    content: str  # what filelock wrote into our marker (pid, host, start token)
    stale_after: float
    lost: threading.Event = field(default_factory=threading.Event)

    def held(self) -> bool:
        """True while the marker in place is ours and the holder record names our token."""
        if self.lost.is_set():
            return False
        got = _read_marker(self.marker)
        if got is None:
            return False
        content, st = got
        if content != self.content or (st.st_ino and (st.st_dev, st.st_ino) != self.identity):
            return False
        try:
            info = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return True  # the marker is ours; its record is being rewritten or unreadable
        return not isinstance(info, dict) or info.get("token") in (None, self.token)

    def check(self) -> None:
        """Raise ``LockLostError`` unless this holder still holds the lock (fencing)."""
        if self.held():
            return
        self.lost.set()
        holder = _describe_holder(self.marker, self.sidecar)
        raise LockLostError(
            "این برنامه بیش از حد مجاز متوقف ماند (رایانه در خواب یا شبکه قطع بود) و قفل پوشهٔ کاری"
            f" را {holder} گرفت؛ برای جلوگیری از بازنویسی کار همکار، هیچ تغییری ذخیره نشد و"
            " فایل‌های موقت این برنامه پاک شد. دستور را دوباره اجرا کنید.",
            f"This program stalled longer than the lock's stale limit ({self.stale_after:.0f} s:"
            f" computer asleep or share hung) and {holder} took over the workspace lock; to"
            " avoid overwriting a colleague's work nothing was saved and this program's"
            " temporary files were discarded. Run the command again.",
            code="lock-lost",
            file=self.marker,
        )


_leases = threading.local()  # per thread: lock path -> the Lease held


def held_lease(root: Path) -> Lease | None:
    """The lease this thread holds on the workspace at ``root``, or None."""
    key = os.path.abspath(Path(root) / ".crm_xl" / "lock")
    leases: dict[str, Lease] = _leases.__dict__.setdefault("leases", {})
    return leases.get(key)


def current_holder_token(root: Path) -> str | None:
    """The token of a live holder of the workspace lock (from its record), or None: nobody
    holds it, or its holder is gone (a crash) or stale."""
    lock_dir = Path(root) / ".crm_xl"
    marker, sidecar = lock_dir / "lock", lock_dir / "lock.holder.json"
    got = _read_marker(marker)
    if got is None or _stale_reason(marker, sidecar, _stale_limit(root)) is not None:
        return None
    info = _read_sidecar(sidecar, got[0])
    token = info.get("token") if info else None
    return token if isinstance(token, str) else None


class _Heartbeat(threading.Thread):
    """Touches the marker and sidecar so waiters can tell a long job from a dead one."""

    def __init__(self, lease: Lease, interval: float) -> None:
        super().__init__(name="crm_xl-lock-heartbeat", daemon=True)
        self.lease, self.interval = lease, interval
        self.stop = threading.Event()

    def run(self) -> None:
        lease = self.lease
        while not self.stop.wait(self.interval):
            if not lease.held():
                # Someone judged us stale (clock skew, or we were suspended) and took over.
                lease.lost.set()  # the writer's next lease.check() says so to the user
                log.info(
                    "workspace lock %s was broken while held; stopping heartbeat", lease.marker
                )
                return
            for p in (lease.marker, lease.sidecar):
                with contextlib.suppress(OSError):
                    os.utime(p)


def _stale_limit(root: Path) -> float:
    """The workspace's ``lock_stale_after`` setting: every holder heartbeats by the same limit."""
    try:
        return float(load_settings(root).lock_stale_after)
    except (CrmError, OSError, ValueError):
        return DEFAULT_STALE_AFTER


def _next_generation(lock_dir: Path) -> int:
    path = lock_dir / "lock.generation"
    try:
        previous = int(path.read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        previous = 0
    generation = previous + 1
    with contextlib.suppress(OSError):
        write_atomic(path, str(generation).encode("ascii"), sync=False)
    return generation


def _holder_id(marker: Path) -> tuple[int, str] | None:
    """Which acquisition holds the lock now (its marker file and content), or None."""
    got = _read_marker(marker)
    return None if got is None else (got[1].st_ino, got[0])


def _busy(marker: Path, sidecar: Path, stale_after: float) -> WorkbookBusyError:
    holder = _describe_holder(marker, sidecar)
    return WorkbookBusyError(
        f"پوشهٔ کاری در حال ویرایش توسط {holder} است؛ کمی بعد دوباره تلاش کنید."
        f" اگر آن برنامه دیگر اجرا نمی‌شود، قفل پس از {stale_after / 60:.0f} دقیقه خودبه‌خود آزاد می‌شود.",
        f"The workspace is being changed by {holder}; try again in a moment."
        f" If that program is no longer running, the lock is released automatically"
        f" after {stale_after / 60:.0f} minutes.",
        code="workspace-locked",
        file=marker,
    )


#: How often a waiter behind others looks at the queue (the first one polls the marker).
_QUEUE_POLL = 0.05
#: How often a waiter touches its ticket, so waiters on other machines see it is alive, and
#: how long a ticket may stay untouched (as watched from here) before it counts as abandoned.
_TICKET_TOUCH = 5.0
_TICKET_DEAD = 4 * _TICKET_TOUCH


@dataclass
class _Ticket:
    """A waiter's place in the queue ``.crm_xl/queue/<number>`` (content: pid, host).

    Numbers are taken with ``O_CREAT|O_EXCL`` (one past the highest in the queue), which works
    on SMB and NFS like the marker itself.  A ticket whose waiter is gone is reaped: on this
    host when its pid is no longer running; from another host when its modification time has
    not moved for ``_TICKET_DEAD`` seconds of this machine's clock (watched, not compared with
    the other clock, so skew cannot keep a dead ticket or kill a live one).  The lease and
    fencing of the marker are unchanged; the queue only decides who contends for it.
    """

    path: Path
    number: int
    touched: float
    #: Tickets of other hosts: name -> (mtime seen, when this process first saw it).
    watched: dict[str, tuple[int, float]] = field(default_factory=dict)

    @classmethod
    def take(cls, queue: Path) -> _Ticket | None:
        content = f"{os.getpid()}\n{_this_host()}\n".encode()
        try:
            queue.mkdir(exist_ok=True)
            number = max(cls._numbers(queue), default=0) + 1
            for _ in range(1000):
                path = queue / f"{number:012d}"
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    number += 1
                    continue
                try:
                    os.write(fd, content)
                finally:
                    os.close(fd)
                return cls(path, number, time.monotonic())
        except OSError:
            pass  # a read-only or odd share: contend for the marker as before, unordered
        return None

    @staticmethod
    def _numbers(queue: Path) -> list[int]:
        return [int(n) for n in os.listdir(queue) if n.isascii() and n.isdigit()]

    def first(self) -> bool:
        """True when no live waiter holds a lower number; reaps dead waiters' tickets."""
        now = time.monotonic()
        if now - self.touched > _TICKET_TOUCH:
            with contextlib.suppress(OSError):
                os.utime(self.path)
            self.touched = now
        try:
            ahead = sorted(n for n in self._numbers(self.path.parent) if n < self.number)
        except OSError:
            return True
        return all(self._reap(self.path.with_name(f"{n:012d}"), now) for n in ahead)

    def _reap(self, path: Path, now: float) -> bool:
        """Remove ``path`` if its waiter is gone; True if it is gone (or was already)."""
        try:
            st = path.stat()
            owner = _marker_owner(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return True
        if owner is not None and owner[1] == _this_host():
            dead = owner[0] != os.getpid() and not _pid_alive(owner[0])
        else:  # another machine's waiter (or a ticket being written): is it still touched?
            seen = self.watched.get(path.name)
            if seen is None or seen[0] != st.st_mtime_ns:
                self.watched[path.name] = seen = (st.st_mtime_ns, now)
            dead = now - seen[1] > _TICKET_DEAD
        if dead:
            log.info("removed the queue ticket %s of a waiter that is gone", path.name)
            with contextlib.suppress(OSError):
                path.unlink()
        return dead

    def leave(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


@contextlib.contextmanager
def workspace_lock(
    root: Path,
    *,
    timeout: float = 30.0,
    stale_after: float | None = None,
    poll_interval: float = 0.02,
) -> Iterator[Lease]:
    """Hold the workspace's write lock ``<root>/.crm_xl/lock`` for the ``with`` block.

    Reentrant for the same thread.  Waiters are served first come, first served (a ticket
    queue, ``.crm_xl/queue``).  Waits up to ``timeout`` seconds after the lock last changed
    hands (so a queue that moves is waited out), then raises
    ``WorkbookBusyError`` (code ``workspace-locked``) naming the holder from the sidecar
    ``lock.holder.json`` (user, host, pid, start time, token, generation).  A lock is broken
    (and logged) when its holder ran on this host and is gone, or when neither the marker nor
    the sidecar was touched for ``stale_after`` seconds (default: the workspace's
    ``lock_stale_after`` setting, else 600); a live holder touches both every
    ``stale_after / 5`` seconds (at most 60 s).  Age uses file mtimes against this machine's
    clock, so machines sharing a folder must keep their clocks within a few minutes of each
    other.  Once held, the operations an earlier writer left half-done are rolled forward
    (``journal.roll_forward``).  Yields the :class:`Lease`; ``lease.check()`` before each
    replace is the fencing that stops a writer who lost the lock.
    """
    root = Path(root)
    lock_dir = root / ".crm_xl"
    marker, sidecar = lock_dir / "lock", lock_dir / "lock.holder.json"
    key = os.path.abspath(marker)
    depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
    leases: dict[str, Lease] = _leases.__dict__.setdefault("leases", {})
    if depth.get(key):
        depth[key] += 1
        try:
            yield leases[key]
        finally:
            depth[key] -= 1
        return

    if not root.is_dir():
        raise WorkspaceError(
            f"پوشهٔ کاری «{root}» وجود ندارد.",
            f"The workspace folder {root} does not exist.",
            code="workspace-missing",
            file=root,
        )
    if stale_after is None:
        stale_after = _stale_limit(root)
    lock_dir.mkdir(exist_ok=True)
    lock = SoftFileLock(marker, thread_local=True)
    deadline = time.monotonic() + max(timeout, 0.0)
    # First come, first served: only the oldest live waiter contends for the marker, so a
    # burst of writers is served in arrival order instead of by luck of the poll.
    ticket = _Ticket.take(lock_dir / "queue")
    holder = _holder_id(marker)
    try:
        while True:
            _break_stale(marker, sidecar, stale_after)
            if (now_holder := _holder_id(marker)) != holder:
                # The lock changed hands: the queue moves, so the wait is not stuck. The
                # timeout counts from the last hand-over (a burst of writers all get in).
                holder = now_holder
                deadline = max(deadline, time.monotonic() + max(timeout, 0.0))
            remaining = deadline - time.monotonic()
            if ticket is not None and not ticket.first():
                if remaining <= 0:
                    raise _busy(marker, sidecar, stale_after)
                time.sleep(min(_QUEUE_POLL, remaining))
                continue
            try:
                lock.acquire(timeout=max(0.0, min(0.5, remaining)), poll_interval=poll_interval)
                break
            except Timeout:
                if time.monotonic() >= deadline:
                    raise _busy(marker, sidecar, stale_after) from None
    finally:
        if ticket is not None:
            ticket.leave()  # held or given up: the next waiter is first now

    token = secrets.token_hex(8)
    heartbeat: _Heartbeat | None = None
    try:
        got = _read_marker(marker)
        content, st = got if got else ("", marker.lstat())
        generation = _next_generation(lock_dir)
        record = {
            "marker": content,
            "token": token,
            "generation": generation,
            "user": _user(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": datetime.now().isoformat(timespec="seconds"),
        }
        tmp = sidecar.with_name(f"{sidecar.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, sidecar)
        lease = Lease(
            root, marker, sidecar, token, generation, (st.st_dev, st.st_ino), content, stale_after
        )
        heartbeat = _Heartbeat(lease, min(60.0, stale_after / 5))
        heartbeat.start()
        depth[key] = 1
        leases[key] = lease
        try:
            journal.roll_forward(root, busy=lambda p: _find_office_lock(p) is not None)
        except Exception as e:  # never block every command: validate reports what is left
            log.error("could not complete interrupted operations in %s: %s", root, e)
        yield lease
    finally:
        depth.pop(key, None)
        leases.pop(key, None)
        if heartbeat is not None:
            heartbeat.stop.set()
            heartbeat.join()
        # Remove our sidecar before the marker, never a successor's.
        with contextlib.suppress(OSError, ValueError):
            if json.loads(sidecar.read_text(encoding="utf-8")).get("token") == token:
                sidecar.unlink()
        # filelock unlinks the marker only while it is still the file we created.
        lock.release()


# --------------------------------------------------------------------------- atomic write

#: Test hook: called with the verified temporary file just before it replaces the target.
_before_replace: Callable[[Path], None] | None = None

_STAMP = "%Y%m%d-%H%M%S-%f"


def verify_xlsx(path: Path) -> None:
    """Raise ``CrmError`` (code ``invalid-xlsx``) unless ``path`` is an intact xlsx/xlsm package."""
    path = Path(path)
    problem: str | None = None
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
                problem = "xl/workbook.xml or [Content_Types].xml is missing"
            elif (bad := zf.testzip()) is not None:
                problem = f"member {bad} is corrupt"
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        problem = str(exc) or type(exc).__name__
    if problem:
        raise CrmError(
            f"فایل «{path.name}» یک کارپوشهٔ Excel سالم نیست ({problem}).",
            f"{path.name} is not a valid Excel workbook ({problem}).",
            code="invalid-xlsx",
            file=path,
        )


def _backup_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(
        rf"^{re.escape(path.stem)}\.(\d{{8}}-\d{{6}}-\d{{6}})(?:-(\d+))?{re.escape(path.suffix)}$"
    )


def backups_of(path: Path, backups: Path) -> list[Path]:
    """Backups of ``path`` in ``backups``, newest first."""
    path, backups = Path(path), Path(backups)
    pattern = _backup_pattern(path)
    found: list[tuple[str, int, Path]] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in backups.iterdir():
            m = pattern.match(entry.name)
            if m and entry.is_file():
                found.append((m.group(1), int(m.group(2) or 0), entry))
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [p for _, _, p in found]


def _make_backup(path: Path, backups: Path) -> Path:
    backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime(_STAMP)
    target = backups / f"{path.stem}.{stamp}{path.suffix}"
    n = 1
    while target.exists():  # two writes within one microsecond
        target = backups / f"{path.stem}.{stamp}-{n}{path.suffix}"
        n += 1
    # Copy under a name backups_of ignores, then rename: a crash never leaves a truncated backup.
    partial = backups / f".{target.name}.partial"
    shutil.copy2(path, partial)
    _fsync_file(partial)
    os.replace(partial, target)
    return target


def _prune(path: Path, backups: Path, keep: int) -> None:
    for old in backups_of(path, backups)[max(keep, 1) :]:
        with contextlib.suppress(OSError):
            old.unlink()


def atomic_write(
    path: Path,
    write: Callable[[Path], object],
    *,
    backups: Path | None,
    keep: int = 20,
    verify: Callable[[Path], None] | None = None,
    before_replace: Callable[[Path], None] | None = None,
    tmp: Path | None = None,
) -> None:
    """Replace ``path`` with what ``write(tmp)`` produces, or leave it untouched.

    Order: refuse if open in Excel/LibreOffice; ``write`` a temp file in the same folder
    (``.<stem>.tmp<pid>-<rand><suffix>``, same suffix so xlsx writers accept it); fsync;
    ``verify``; back up the current file to ``backups/<stem>.<YYYYmmdd-HHMMSS-ffffff><suffix>``;
    ``os.replace``; prune backups to the newest ``keep`` (only after success, so a failed write
    never costs an old backup).  On any failure the temp file is removed and the error re-raised.
    ``before_replace(tmp)`` runs last before the replace (the store records its intent and
    proves it still holds the lock there); ``tmp`` names the temporary file (it must start with
    ``.<stem>.tmp``).  The caller holds ``workspace_lock``; this function does not lock.
    """
    path = Path(path)
    check_not_open(path)
    if tmp is None:
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")
    try:
        write(tmp)
        if not tmp.is_file():
            raise CrmError(
                f"فایل «{path.name}» نوشته نشد.",
                f"{path.name} was not written.",
                code="write-failed",
                file=path,
            )
        _fsync_file(tmp)
        if verify is not None:
            verify(tmp)
        if path.exists():
            with contextlib.suppress(OSError):
                shutil.copymode(path, tmp)
            if backups is not None:
                _make_backup(path, Path(backups))
        if _before_replace is not None:
            _before_replace(tmp)
        if before_replace is not None:
            before_replace(tmp)
        check_not_open(path)  # the user may have opened it while we were writing
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            # Windows refuses to replace a file another program holds open.
            raise _busy_error(path, "another program", None, None, app_fa="برنامهٔ دیگری") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    if backups is not None:
        _prune(path, Path(backups), keep)


def restore_backup(backup: Path, path: Path, *, backups: Path | None, keep: int = 20) -> None:
    """Put ``backup`` back as ``path``; the version it replaces becomes a backup itself (undoable)."""
    backup = Path(backup)
    atomic_write(path, lambda tmp: shutil.copyfile(backup, tmp), backups=backups, keep=keep)
