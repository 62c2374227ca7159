"""The "nothing is ever lost" layer, with real files and real processes."""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

import crm_xl
from crm_xl.domain.errors import CrmError, WorkbookBusyError
from crm_xl.io import safety
from crm_xl.io.safety import (
    atomic_write,
    backups_of,
    check_not_open,
    office_lock_holder,
    restore_backup,
    verify_xlsx,
    workspace_lock,
)

REPO = Path(crm_xl.__file__).resolve().parent.parent


# --------------------------------------------------------------------------- office lock files


def excel_owner_file(user: str) -> bytes:
    """An Excel owner file as Excel 2016 writes it (165 bytes)."""
    ansi = user.encode("cp1252", errors="replace")
    data = bytes([len(user)]) + ansi
    data += b" " * (55 - len(data))  # Excel pads the ANSI name with spaces up to offset 55
    data += bytes([len(user), 0]) + user.encode("utf-16-le")
    while len(data) < 165:
        data += b" \x00"
    return data[:165]


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
@pytest.mark.parametrize("owner_prefix", ["~$F-", "~$"])  # full name (Excel) and Word-style cut
def test_excel_owner_file_names_the_holder(tmp_path: Path, suffix: str, owner_prefix: str) -> None:
    book = tmp_path / f"F-31-08-02{suffix}"
    book.write_bytes(b"x")
    assert office_lock_holder(book) is None
    check_not_open(book)
    (tmp_path / f"{owner_prefix}31-08-02{suffix}").write_bytes(excel_owner_file("Sara Ahmadi"))
    assert office_lock_holder(book) == "Sara Ahmadi"
    with pytest.raises(WorkbookBusyError) as info:
        check_not_open(book)
    err = info.value
    assert err.code == "workbook-open"
    assert "Sara Ahmadi" in err.en and "Sara Ahmadi" in err.fa
    assert f"F-31-08-02{suffix}" in err.en and "Excel" in err.en
    assert "close it" in err.en


def test_excel_owner_file_variants(tmp_path: Path) -> None:
    book = tmp_path / "F-31-08-02.xlsx"
    owner = tmp_path / "~$F-31-08-02.xlsx"
    # Persian display name: the ANSI copy is question marks, the UTF-16 copy is right.
    owner.write_bytes(excel_owner_file("سارا احمدی"))
    assert office_lock_holder(book) == "سارا احمدی"
    # Only a length byte, the name and padding (no UTF-16 copy).
    owner.write_bytes(bytes([11]) + b"Sara Ahmadi" + b" " * 40)
    assert office_lock_holder(book) == "Sara Ahmadi"
    # Word layout: zero padding, UTF-16 copy at offset 54.
    word = bytes([4]) + b"Reza" + b"\x00" * 49 + bytes([4, 0]) + "Reza".encode("utf-16-le")
    owner.write_bytes(word + b"\x00" * (162 - len(word)))
    assert office_lock_holder(book) == "Reza"
    for junk in (b"", b"\x00" * 165, b"\xff" * 3, b"\x05ab"):
        owner.write_bytes(junk)
        assert office_lock_holder(book) == "unknown"
        with pytest.raises(WorkbookBusyError) as info:
            check_not_open(book)
        assert "~$F-31-08-02.xlsx" in info.value.en  # tells the user which lock file to delete


def test_short_names_are_not_cut(tmp_path: Path) -> None:
    # Word's cut applies only to stems of 7+ characters; "~$.xlsx" must not match "ab.xlsx".
    (tmp_path / "~$.xlsx").write_bytes(excel_owner_file("X"))
    assert office_lock_holder(tmp_path / "ab.xlsx") is None


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_libreoffice_lock_names_the_holder(tmp_path: Path, suffix: str) -> None:
    book = tmp_path / f"F-31-08-02{suffix}"
    lock = tmp_path / f".~lock.F-31-08-02{suffix}#"
    lock.write_text(
        ",Sara Ahmadi,WS-12,22.11.2026 10:15,file:///C:/Users/sara/AppData/Roaming/LibreOffice/4;",
        encoding="utf-8",
    )
    assert office_lock_holder(book) == "Sara Ahmadi"
    with pytest.raises(WorkbookBusyError) as info:
        check_not_open(book)
    assert info.value.code == "workbook-open"
    assert "Sara Ahmadi" in info.value.en and "LibreOffice" in info.value.en
    # The LibreOffice user name (first field) wins over the system account; escapes are undone.
    lock.write_text("Ahmadi\\, Sara,sara,WS-12,22.11.2026 10:15,file:///x;", encoding="utf-8")
    assert office_lock_holder(book) == "Ahmadi, Sara"
    lock.write_text("", encoding="utf-8")
    assert office_lock_holder(book) == "unknown"


# --------------------------------------------------------------------------- workspace lock

COUNTER_WORKER = """
    import sys
    from pathlib import Path
    from crm_xl.io.safety import workspace_lock
    root = Path(sys.argv[1]); counter = root / "counter.txt"; seen = []
    for _ in range(50):
        with workspace_lock(root, timeout=60):
            value = int(counter.read_text()) + 1
            counter.write_text(str(value))
            seen.append(value)
    (root / f"seen-{sys.argv[2]}.txt").write_text(" ".join(map(str, seen)))
"""


def test_eight_processes_never_lose_an_increment(tmp_path: Path) -> None:
    (tmp_path / "counter.txt").write_text("0")
    code = textwrap.dedent(COUNTER_WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path), str(i)], env=env)
        for i in range(8)
    ]
    for p in procs:
        assert p.wait(timeout=60) == 0
    values = [int(v) for i in range(8) for v in (tmp_path / f"seen-{i}.txt").read_text().split()]
    assert sorted(values) == list(range(1, 401))
    assert (tmp_path / "counter.txt").read_text() == "400"
    assert not (tmp_path / ".crm_xl" / "lock").exists()
    assert not (tmp_path / ".crm_xl" / "lock.holder.json").exists()


HOLDER = """
    import os, sys
    from pathlib import Path
    from crm_xl.io.safety import workspace_lock
    with workspace_lock(Path(sys.argv[1]), stale_after=float(sys.argv[2])):
        print("held", flush=True)
        if sys.argv[3] == "crash":
            os._exit(0)  # dies holding the lock, as a killed process would
        sys.stdin.read()  # hold until the test closes our stdin
"""


def _start_holder(
    root: Path, *, mode: str = "hold", stale_after: float = 600, user: str = "sara"
) -> subprocess.Popen[str]:
    code = textwrap.dedent(HOLDER)
    env = {**os.environ, "PYTHONPATH": str(REPO), "LOGNAME": user, "USER": user, "USERNAME": user}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(root), str(stale_after), mode],
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def test_live_holder_times_out_naming_it(tmp_path: Path) -> None:
    proc = _start_holder(tmp_path, user="sara")
    try:
        start = time.monotonic()
        with pytest.raises(WorkbookBusyError) as info, workspace_lock(tmp_path, timeout=0.3):
            pass
        assert time.monotonic() - start < 3
        err = info.value
        assert err.code == "workspace-locked"
        assert "sara" in err.en and f"pid {proc.pid}" in err.en
        assert "sara" in err.fa
    finally:
        _stop(proc)
    with workspace_lock(tmp_path, timeout=2):  # released: free again
        pass


def test_stale_lock_of_dead_process_on_this_host_is_broken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proc = _start_holder(tmp_path, mode="crash")
    assert proc.wait(timeout=10) == 0
    marker = tmp_path / ".crm_xl" / "lock"
    assert marker.exists() and (tmp_path / ".crm_xl" / "lock.holder.json").exists()
    with (
        caplog.at_level(logging.WARNING, logger="crm_xl.io.safety"),
        workspace_lock(tmp_path, timeout=2),
    ):
        assert marker.read_text().startswith(f"{os.getpid()}\n")
    assert any("broke stale workspace lock" in r.getMessage() for r in caplog.records)
    assert not marker.exists()


def _foreign_marker(root: Path, age: float) -> Path:
    lock_dir = root / ".crm_xl"
    lock_dir.mkdir(exist_ok=True)
    marker = lock_dir / "lock"
    marker.write_text("4242\nother-host\n")
    record = {
        "marker": "4242\nother-host\n",
        "token": "t",
        "user": "reza",
        "host": "WS-07",
        "pid": 4242,
        "since": "x",
    }
    (lock_dir / "lock.holder.json").write_text(json.dumps(record))
    old = time.time() - age
    for p in (marker, lock_dir / "lock.holder.json"):
        os.utime(p, (old, old))
    return marker


def test_lock_from_other_host_is_respected_until_stale(tmp_path: Path) -> None:
    _foreign_marker(tmp_path, age=60)
    with pytest.raises(WorkbookBusyError) as info, workspace_lock(tmp_path, timeout=0.2):
        pass
    assert "reza (pid 4242 on WS-07" in info.value.en
    # Without a heartbeat for longer than stale_after it is broken.
    _foreign_marker(tmp_path, age=11 * 60)
    with workspace_lock(tmp_path, timeout=1):
        pass


def test_heartbeat_keeps_a_long_job_alive(tmp_path: Path) -> None:
    proc = _start_holder(tmp_path, stale_after=1.0)
    try:
        time.sleep(1.6)  # longer than stale_after: only the heartbeat keeps the lock fresh
        with (
            pytest.raises(WorkbookBusyError),
            workspace_lock(tmp_path, timeout=0.3, stale_after=1.0),
        ):
            pass
    finally:
        _stop(proc)


def test_reentrant_in_one_thread(tmp_path: Path) -> None:
    with workspace_lock(tmp_path, timeout=1), workspace_lock(tmp_path, timeout=0):
        assert (tmp_path / ".crm_xl" / "lock").exists()
    assert not (tmp_path / ".crm_xl" / "lock").exists()


def test_other_thread_waits(tmp_path: Path) -> None:
    import threading

    errors: list[BaseException] = []

    def contender() -> None:
        try:
            with workspace_lock(tmp_path, timeout=0.2):
                pass
        except BaseException as exc:
            errors.append(exc)

    with workspace_lock(tmp_path):
        t = threading.Thread(target=contender)
        t.start()
        t.join()
    assert len(errors) == 1 and isinstance(errors[0], WorkbookBusyError)


WAITER = """
    import sys
    from pathlib import Path
    from crm_xl.io.safety import workspace_lock
    root = Path(sys.argv[1])
    with workspace_lock(root, timeout=60):
        with (root / "order.txt").open("a") as fh:
            fh.write(sys.argv[2] + "\\n")
"""


def _tickets(root: Path) -> list[str]:
    queue = root / ".crm_xl" / "queue"
    return sorted(os.listdir(queue)) if queue.is_dir() else []


def test_waiters_enter_first_come_first_served(tmp_path: Path) -> None:
    holder = _start_holder(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    waiters = []
    try:
        for i in range(6):
            waiters.append(
                subprocess.Popen(
                    [sys.executable, "-c", textwrap.dedent(WAITER), str(tmp_path), str(i)], env=env
                )
            )
            deadline = time.monotonic() + 20
            while len(_tickets(tmp_path)) < i + 1:  # queued before the next one arrives
                assert time.monotonic() < deadline
                time.sleep(0.02)
    finally:
        _stop(holder)
    for w in waiters:
        assert w.wait(timeout=60) == 0
    assert (tmp_path / "order.txt").read_text().split() == [str(i) for i in range(6)]
    assert _tickets(tmp_path) == []  # every waiter took its ticket away


HOLD_FOR = """
    import sys, time
    from pathlib import Path
    from crm_xl.io.safety import workspace_lock
    with workspace_lock(Path(sys.argv[1]), timeout=60):
        time.sleep(float(sys.argv[2]))
"""


def test_timeout_counts_from_the_last_hand_over(tmp_path: Path) -> None:
    """A waiter behind a queue that moves is not refused: each hand-over restarts its wait."""
    import threading

    holder = _start_holder(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    second = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD_FOR), str(tmp_path), "1.2"], env=env
    )
    deadline = time.monotonic() + 20
    while len(_tickets(tmp_path)) < 1:  # queued before us
        assert time.monotonic() < deadline
        time.sleep(0.02)
    threading.Timer(1.5, _stop, [holder]).start()
    start = time.monotonic()
    with workspace_lock(tmp_path, timeout=2.0):
        waited = time.monotonic() - start
    assert second.wait(timeout=30) == 0
    assert waited > 2.0  # longer than the timeout: two hand-overs happened meanwhile


def _ticket(root: Path, number: int, content: str, age: float = 0) -> Path:
    queue = root / ".crm_xl" / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    path = queue / f"{number:012d}"
    path.write_text(content)
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def test_ticket_of_a_dead_waiter_is_reaped(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ticket = _ticket(tmp_path, 1, f"{dead.pid}\n{safety._this_host()}\n")
    with workspace_lock(tmp_path, timeout=2):
        assert not ticket.exists()


def test_ticket_of_a_waiter_on_another_host_is_respected_until_abandoned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safety, "_TICKET_DEAD", 1.5)  # untouched that long: the waiter is gone
    # Its clock is far ahead of ours: judged by watching it, not by comparing clocks.
    ticket = _ticket(tmp_path, 1, "4242\nother-host\n", age=-3600)
    start = time.monotonic()
    with pytest.raises(WorkbookBusyError), workspace_lock(tmp_path, timeout=0.5):
        pass
    assert ticket.exists() and _tickets(tmp_path) == [ticket.name]  # ours was taken away
    with workspace_lock(tmp_path, timeout=10):
        assert not ticket.exists()
    assert time.monotonic() - start >= 1.5


def test_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(CrmError) as info, workspace_lock(tmp_path / "nope"):
        pass
    assert info.value.code == "workspace-missing"


# --------------------------------------------------------------------------- atomic write


def _xlsx_writer(marker: str):  # type: ignore[no-untyped-def]
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr("xl/workbook.xml", f"<workbook>{marker}</workbook>")

    return write


def test_atomic_write_failure_leaves_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, backups = tmp_path / "F-31-08-02.xlsx", tmp_path / "backups"
    atomic_write(book, _xlsx_writer("v1"), backups=backups, verify=verify_xlsx)
    original = book.read_bytes()
    seen: list[Path] = []

    def crash(tmp: Path) -> None:
        seen.append(tmp)
        assert tmp.parent == book.parent and tmp.suffix == ".xlsx" and tmp.exists()
        raise RuntimeError("power cut")

    monkeypatch.setattr(safety, "_before_replace", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        atomic_write(book, _xlsx_writer("v2"), backups=backups, verify=verify_xlsx)
    assert book.read_bytes() == original
    assert not seen[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["F-31-08-02.xlsx", "backups"]

    monkeypatch.setattr(safety, "_before_replace", None)
    atomic_write(book, _xlsx_writer("v3"), backups=backups, verify=verify_xlsx)
    with zipfile.ZipFile(book) as zf:
        assert zf.read("xl/workbook.xml") == b"<workbook>v3</workbook>"
    # The v1 file was backed up twice (once by the failed attempt), all byte-identical to it.
    assert [b.read_bytes() for b in backups_of(book, backups)] == [original, original]


def test_atomic_write_rejects_invalid_output(tmp_path: Path) -> None:
    book = tmp_path / "F-31-08-01.xlsm"
    atomic_write(book, _xlsx_writer("v1"), backups=None, verify=verify_xlsx)
    before = book.read_bytes()
    with pytest.raises(CrmError) as info:
        atomic_write(
            book, lambda tmp: tmp.write_bytes(b"not a zip"), backups=None, verify=verify_xlsx
        )
    assert info.value.code == "invalid-xlsx"
    with pytest.raises(CrmError):
        atomic_write(book, lambda tmp: None, backups=None)  # the writer wrote nothing
    assert book.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["F-31-08-01.xlsm"]


def test_atomic_write_refuses_open_workbook(tmp_path: Path) -> None:
    book = tmp_path / "F-31-08-02.xlsx"
    atomic_write(book, _xlsx_writer("v1"), backups=None)
    (tmp_path / "~$F-31-08-02.xlsx").write_bytes(excel_owner_file("Sara Ahmadi"))
    called: list[Path] = []
    with pytest.raises(WorkbookBusyError, match="Sara Ahmadi"):
        atomic_write(book, called.append, backups=None)
    assert called == []


def test_backups_are_pruned_and_restorable(tmp_path: Path) -> None:
    book, backups = tmp_path / "F-31-08-02.xlsx", tmp_path / ".crm_xl" / "backups"
    for i in range(8):
        atomic_write(
            book, functools.partial(Path.write_text, data=f"v{i}"), backups=backups, keep=3
        )
    kept = backups_of(book, backups)
    assert [p.read_text() for p in kept] == ["v6", "v5", "v4"]  # newest first
    assert all(p.name.startswith("F-31-08-02.") and p.suffix == ".xlsx" for p in kept)
    other = tmp_path / "F-31-08-01.xlsx"
    atomic_write(other, lambda tmp: tmp.write_text("x"), backups=backups, keep=3)
    atomic_write(other, lambda tmp: tmp.write_text("y"), backups=backups, keep=3)
    assert len(backups_of(book, backups)) == 3  # another workbook's backups are not counted
    restore_backup(kept[-1], book, backups=backups, keep=3)
    assert book.read_text() == "v4"
    assert backups_of(book, backups)[0].read_text() == "v7"  # the restore itself is undoable


# --------------------------------------------------------------------------- fencing and leftovers


def test_before_replace_runs_last_and_its_failure_keeps_the_old_file(tmp_path: Path) -> None:
    """The store records its intent and proves its lock there: after verify and backup."""
    book, backups = tmp_path / "F-31-08-02.xlsx", tmp_path / "backups"
    atomic_write(book, _xlsx_writer("v1"), backups=backups, verify=verify_xlsx)
    original = book.read_bytes()
    temp = tmp_path / ".F-31-08-02.tmp-chosen.xlsx"
    seen: list[tuple[Path, int]] = []

    def lost(tmp: Path) -> None:
        seen.append((tmp, len(backups_of(book, backups))))
        raise safety.LockLostError("fa", "en", code="lock-lost")

    with pytest.raises(safety.LockLostError):
        atomic_write(
            book, _xlsx_writer("v2"), backups=backups, verify=verify_xlsx,
            before_replace=lost, tmp=temp,
        )  # fmt: skip
    assert seen == [(temp, 1)]  # the named temp file, after the backup of v1
    assert book.read_bytes() == original and not temp.exists()


def test_commit_point_is_inert_without_the_test_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(safety.TEST_HOOK_ENV, raising=False)
    safety.commit_point("register-replaced")  # nothing happens
    monkeypatch.setenv(safety.TEST_HOOK_ENV, "kill@another-point")
    safety.commit_point("register-replaced")  # another point: nothing happens


def test_next_holder_removes_temporary_registers_and_half_written_files(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / ".crm_xl" / "backups").mkdir(parents=True)
    junk = [
        root / ".F-31-08-02.tmp4242-abcdef.xlsx",  # a crashed register write
        root / ".crm_xl" / ".seal.json.1a2b3c4d.tmp",
        root / ".crm_xl" / "backups" / ".F-31-08-02.20261123-101010-000001.xlsx.partial",
    ]
    for p in junk:
        p.write_bytes(b"x")
    keep = [root / "F-31-08-02.xlsx", root / ".crm_xl" / "backups" / "F-31-08-02.1.xlsx"]
    for p in keep:
        p.write_bytes(b"y")
    with workspace_lock(root):
        pass
    assert [p for p in junk if p.exists()] == []
    assert all(p.exists() for p in keep)
