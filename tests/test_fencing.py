"""Fencing (SPEC §4, review §A4, issue 13 acceptance 2): a writer that stalled past the stale
limit and lost the workspace lock never writes over the colleague who took it over.

Real processes: the stalled writer stops itself (SIGSTOP) at a named commit point through the
test hook ``CRM_XL_TEST_HOOK``; the test resumes it with SIGCONT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_numbers_evidence import EXPERT, add, make_ws, rows

from crm_xl.domain import schema
from crm_xl.io import safety
from crm_xl.io.safety import LockLostError, workspace_lock
from crm_xl.io.workspace import Workspace
from crm_xl.validation import validate_paths

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP/SIGCONT are POSIX")

STALE = 2.0  # seconds: the workspace's lock_stale_after for these tests


def cli(ws: Workspace, *args: str, hook: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop(safety.TEST_HOOK_ENV, None)
    if hook:
        env[safety.TEST_HOOK_ENV] = hook
    return subprocess.Popen(
        [sys.executable, "-m", "crm_xl", "-w", str(ws.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def add_cmd(name: str, code: str) -> list[str]:
    return [
        "customer", "add", "--name", name, "--type", "natural", "--channel", "phone",
        "--expert", EXPERT, "--need", "پمپ", "--national-code", code,
    ]  # fmt: skip


def wait_stopped(proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Until the process has stopped itself at its commit point."""
    deadline = time.monotonic() + timeout
    stat = Path(f"/proc/{proc.pid}/stat")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"writer exited early: {proc.communicate()}")
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = ""
        if state == "T":
            return
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("writer never reached its commit point")


def assert_sound(ws: Workspace) -> None:
    """One row per number, one folder per number, nothing half-done, validate clean."""
    numbers = [str(r["customer_no"]) for r in rows(ws, schema.CUSTOMERS.name)]
    assert len(numbers) == len(set(numbers))
    folders = [p.name.split(" - ")[0] for p in ws.customers_dir.iterdir()]
    assert sorted(folders) == sorted(numbers)  # no duplicate, no staging folder left
    report = validate_paths([ws.root])
    assert [f for f in report.findings if f.severity == "error"] == []
    assert not any(f.code == "leftover-file" for f in report.findings)
    assert not list((ws.internal_dir / "journal").glob("*.json"))


@pytest.mark.parametrize("point", ["prepared", "before-replace"])
def test_stalled_writer_aborts_before_overwriting_a_colleague(tmp_path: Path, point: str) -> None:
    ws = make_ws(tmp_path, lock_stale_after=STALE)
    add(ws, "مشتری اول")
    a = cli(ws, *add_cmd("نویسنده کند", "0012345679"), hook=f"stop@{point}")
    try:
        wait_stopped(a)
        time.sleep(STALE + 1)  # asleep past the stale limit: no heartbeat
        b = cli(ws, *add_cmd("همکار", "0023456787"))
        out_b, err_b = b.communicate(timeout=120)
        assert b.returncode == 0, err_b
        assert out_b.strip().splitlines()[-1] == "C-00002"
    finally:
        os.kill(a.pid, signal.SIGCONT)
    out_a, err_a = a.communicate(timeout=120)
    assert a.returncode == LockLostError.exit_code, (out_a, err_a)
    assert "took over the workspace lock" in err_a and "nothing was saved" in err_a
    assert "قفل" in err_a  # and in Persian
    assert "Traceback" not in err_a
    names = {str(r["customer_no"]): str(r["name"]) for r in rows(ws, schema.CUSTOMERS.name)}
    assert names == {"C-00001": "مشتری اول", "C-00002": "همکار"}  # the colleague's row kept
    assert_sound(ws)


def test_writer_stalled_after_its_register_write_is_completed_by_the_next(
    tmp_path: Path,
) -> None:
    """Stalled after the register replace: its row is in; the colleague's command completes
    its folder; resumed, it touches nothing and reports its number."""
    ws = make_ws(tmp_path, lock_stale_after=STALE)
    a = cli(ws, *add_cmd("نویسنده کند", "0012345679"), hook="stop@register-replaced")
    try:
        wait_stopped(a)
        time.sleep(STALE + 1)
        b = cli(ws, *add_cmd("همکار", "0023456787"))
        out_b, err_b = b.communicate(timeout=120)
        assert b.returncode == 0, err_b
        assert out_b.strip().splitlines()[-1] == "C-00002"
        assert (ws.customers_dir / "C-00001 - نویسنده کند").is_dir()  # completed by b
    finally:
        os.kill(a.pid, signal.SIGCONT)
    out_a, err_a = a.communicate(timeout=120)
    assert a.returncode == 0, err_a
    assert out_a.strip().splitlines()[-1] == "C-00001"
    assert_sound(ws)


def test_lease_check_fails_once_the_lock_is_taken_over(tmp_path: Path) -> None:
    """In one process: the marker replaced by a successor's; the lease knows, and releasing
    the lock leaves the successor's marker alone."""
    ws = make_ws(tmp_path)
    marker = ws.internal_dir / "lock"
    with workspace_lock(ws.root, stale_after=STALE) as lease:
        lease.check()
        assert safety.held_lease(ws.root) is lease
        os.rename(marker, marker.with_name("lock.broken"))  # what a stale break does
        marker.write_text("999999\nother-host\n")  # the successor's marker
        with pytest.raises(LockLostError) as info:
            lease.check()
        assert info.value.code == "lock-lost" and info.value.fa and info.value.en
    assert marker.read_text() == "999999\nother-host\n"
    marker.unlink()


def test_each_holder_gets_a_new_token_and_generation(tmp_path: Path) -> None:
    ws = make_ws(tmp_path)
    with workspace_lock(ws.root) as first, workspace_lock(ws.root) as inner:
        assert inner is first  # reentrant: the same lease
    with workspace_lock(ws.root) as second:
        assert second.token != first.token
        assert second.generation == first.generation + 1
