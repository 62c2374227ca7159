"""The company-wide number authority on PostgreSQL (SPEC §12, issue 19).

A throwaway cluster (``initdb``/``pg_ctl`` in a temporary folder, 127.0.0.1 on a free port, the
unix socket in that folder) serves the whole module; each test gets its own database. The
password comes from ``PGPASSWORD`` as it would in an office, never from settings.json.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crm_xl.cli.main import main
from crm_xl.domain import decide, ids
from crm_xl.domain.errors import InputError
from crm_xl.domain.schema import CUSTOMERS, LOG
from crm_xl.domain.settings import AuthoritySettings
from crm_xl.io.settings_file import load_settings, save_settings
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store

EXPERT = "سارا احمدی"
PASSWORD = "s3cret-authority-pw"


def _pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries: Debian keeps them off PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class Cluster:
    bin: Path
    data: Path
    folder: Path
    port: int
    user: str | None  # the account the server runs as when the tests run as root

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c max_connections=60"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
            "-t", "60", "-o", opts, "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop", check=False)

    def dsn(self, db: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=crm dbname={db}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    pg = _pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    user = None
    # Directly under /tmp: the server's account must reach it (pytest's folders are 0700 to
    # their owner), and a unix socket path must stay short.
    folder = Path(tempfile.mkdtemp(prefix="crm-xl-pg-"))
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' account to run the server")
        user = "postgres"
        os.chown(folder, account.pw_uid, account.pw_gid)
    (folder / "pw").write_text(PASSWORD + "\n")
    os.chmod(folder / "pw", 0o644)
    c = Cluster(pg, folder / "data", folder, _free_port(), user)
    try:
        c._run(
            "initdb", "-D", str(c.data), "-U", "crm", f"--pwfile={folder / 'pw'}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C",
            "--no-sync",
        )  # fmt: skip
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def dsn(cluster: Cluster, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A fresh database for one test; the password only in the environment."""
    import psycopg

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:50].lower()
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return cluster.dsn(name)


def _office(tmp_path: Path, dsn: str, office: str, *, init: bool = True, **kw: object) -> Workspace:
    ws = init_workspace(tmp_path / office, company="شرکت آزمون", experts=[EXPERT], **kw)  # type: ignore[arg-type]
    settings = load_settings(ws.root)
    settings.authority = AuthoritySettings(dsn=dsn, office=office)
    settings.lock_timeout = 900  # racers may wait their turn long on a loaded machine
    save_settings(ws.root, settings)
    ws = Workspace.open(ws.root)
    if init:
        result = _cli(ws, "authority", "init")
        assert result.exit_code == 0, result.output
    return ws


def _cli(ws: Workspace, *args: str) -> Result:
    return CliRunner().invoke(main, ["-w", str(ws.root), *args], catch_exceptions=False)


def _run(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``crm-xl`` command in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "crm_xl", "-w", str(ws.root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


_CODES = itertools.count(1)


def _add(ws: Workspace, name: str) -> str:
    code = ids.make_national_code(f"{next(_CODES):09d}")  # a case needs the buyer's code
    inp = decide.NewCustomer(
        name=name, person_type="natural", channel="phone", expert=EXPERT, need="پمپ",
        national_code=code,
    )  # fmt: skip
    return str(store.add_customer(ws, inp).result["customer_no"])


def _rows(ws: Workspace, table: str) -> list[dict[str, object]]:
    return [r for _, r in FormBook.open(ws.register_path).read_table(table)]


def _issues(dsn: str) -> list[tuple[str, str, str, str]]:
    """(kind, number, office, status) of every issue, in issue order."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return [
            tuple(r)  # type: ignore[misc]
            for r in conn.execute(
                "SELECT kind, number, office, status FROM crm_xl.issues ORDER BY kind, scope, seq"
            )
        ]


def _company_log(dsn: str) -> list[tuple[str, str, str]]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return [
            tuple(r)  # type: ignore[misc]
            for r in conn.execute("SELECT office, operation, numbers FROM crm_xl.log ORDER BY id")
        ]


# --- settings and imports (no server needed) ------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "host=db.example user=crm password=secret dbname=crm",
        "postgresql://crm:secret@db.example/crm",
        "postgresql://crm@db.example/crm?password=secret",
    ],
)
def test_a_password_in_the_dsn_is_refused_naming_the_setting(tmp_path: Path, bad: str) -> None:
    ws = init_workspace(tmp_path / "ws")
    data = json.loads((ws.root / "settings.json").read_text(encoding="utf-8"))
    data["authority"] = {"kind": "postgresql", "dsn": bad, "office": "Tehran"}
    (ws.root / "settings.json").write_text(json.dumps(data), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "crm_xl", "-w", str(ws.root), "customer", "add", "--name", "x",
         "--type", "natural", "--channel", "phone", "--expert", EXPERT, "--need", "پمپ"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "authority.dsn" in result.stderr
    assert "PGPASSWORD" in result.stderr and "رمز" in result.stderr
    assert "secret" not in result.stderr  # the password is not echoed back
    assert _rows(Workspace(ws.root), CUSTOMERS.name) == []


def test_the_password_may_come_from_pgpassword_or_pgpass(tmp_path: Path) -> None:
    cfg = AuthoritySettings(dsn="postgresql://crm@db.example:5432/crm?sslmode=require", office="A")
    assert cfg.office == "A"
    assert AuthoritySettings(dsn="host=db user=crm passfile=/x/.pgpass", office="B").dsn


IMPORTS = textwrap.dedent(
    """
    import sys
    from crm_xl.cli.main import main
    try:
        main(sys.argv[1:], standalone_mode=False)
    except SystemExit:
        pass
    print("PSYCOPG" if any(m.split(".")[0] == "psycopg" for m in sys.modules) else "CLEAN")
    """
)


def test_without_an_authority_nothing_of_psycopg_is_imported(tmp_path: Path) -> None:
    """Acceptance 4: `crm-xl --help`, and a numbering command in a workspace without one."""
    timing = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crm_xl", "--help"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert timing.returncode == 0
    assert "\n  authority " in timing.stdout  # the command group is listed …
    assert "psycopg" not in timing.stderr  # … and its driver is not loaded
    ws = init_workspace(tmp_path / "ws", experts=[EXPERT])
    add = ["-w", str(ws.root), "customer", "add", "--name", "مشتری", "--type", "natural",
           "--channel", "phone", "--expert", EXPERT, "--need", "پمپ"]  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", IMPORTS, *add], capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-2:] == ["C-00001", "CLEAN"]


# --- init and status ---------------------------------------------------------------------------


def test_init_creates_then_finds_the_schema_and_status_shows_counters_and_offices(
    tmp_path: Path, dsn: str
) -> None:
    ws = _office(tmp_path, dsn, "Tehran", init=False)
    first = _run(ws, "--json", "authority", "init")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["migrated_from"] == 0
    again = _run(ws, "--json", "authority", "init")
    assert json.loads(again.stdout)["migrated_from"] == 1  # already there: nothing to do
    assert _add(ws, "علی رضایی") == "C-00001"
    assert _add(ws, "مریم کاظمی") == "C-00002"
    status = json.loads(_run(ws, "authority", "status", "--json").stdout)
    assert [(c["kind"], c["scope"], c["last"]) for c in status["counters"]] == [
        ("customer", "all", 2)
    ]
    (office,) = status["offices"]
    assert (office["office"], office["used"], office["pending"], office["void"]) == (
        "Tehran",
        2,
        0,
        0,
    )
    assert office["workspace"] == str(ws.root)
    text = _run(ws, "authority", "status")
    assert "customer" in text.stdout and "Tehran" in text.stdout and "last 2" in text.stdout


# --- acceptance 1: two offices, four processes each ---------------------------------------------

RACER = textwrap.dedent(
    """
    import sys
    from crm_xl.domain import decide, ids
    from crm_xl.io.workspace import Workspace
    from crm_xl.ops import store
    ws = Workspace.open(sys.argv[1])
    worker, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        inp = decide.NewCustomer(name=f"مشتری {worker} {i}", person_type="حقیقی", need="پمپ",
                                 channel="تلفن", expert="سارا احمدی")
        print(store.add_customer(ws, inp).result["customer_no"], flush=True)
    """
)
ADDS = 50  # per process: 2 offices x 4 processes x 50 = 400 numbers


@pytest.mark.slow
def test_two_offices_racing_get_unique_consecutive_numbers_company_wide(
    tmp_path: Path, dsn: str
) -> None:
    offices = {name: _office(tmp_path, dsn, name) for name in ("Tehran", "Isfahan")}
    started = time.monotonic()
    procs = {
        (name, w): subprocess.Popen(
            [sys.executable, "-c", RACER, str(ws.root), f"{name}-{w}", str(ADDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, ws in offices.items()
        for w in range(4)
    }
    printed: dict[str, list[str]] = {name: [] for name in offices}
    for (name, _), p in procs.items():
        out, err = p.communicate(timeout=1500)
        assert p.returncode == 0, err
        printed[name] += out.split()
    elapsed = time.monotonic() - started
    total = 2 * 4 * ADDS
    print(f"\n{total} customer adds in 2 offices x 4 processes: {elapsed:.1f} s")
    everything = printed["Tehran"] + printed["Isfahan"]
    expected = [f"C-{i:05d}" for i in range(1, total + 1)]
    assert sorted(everything) == expected  # unique and consecutive company-wide
    issues = _issues(dsn)
    assert sorted(n for _, n, _, _ in issues) == expected  # each recorded once in the authority
    for name, ws in offices.items():
        mine = sorted(printed[name])
        assert len(mine) == 4 * ADDS
        assert sorted(str(r["customer_no"]) for r in _rows(ws, CUSTOMERS.name)) == mine
        assert sorted(n for _, n, o, s in issues if o == name and s == "used") == mine
        folders = sorted(p.name.split(" - ")[0] for p in ws.customers_dir.iterdir() if p.is_dir())
        assert folders == mine  # and once in its office's register and folders
    # The company log holds both offices' change logs, each row once.
    log = _company_log(dsn)
    for name, ws in offices.items():
        assert sorted(n for o, op, n in log if o == name and op == "customer-add") == sorted(
            str(r["numbers"]) for r in _rows(ws, LOG.name) if r["operation"] == "customer-add"
        )


# --- acceptance 2: a writer killed between the issue and the register write --------------------

KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from crm_xl.io import authority
    decide = authority.AuthoritySession.decide
    def decide_then_die(self, *args, **kwargs):
        plan = decide(self, *args, **kwargs)  # the authority has committed the issue
        print(plan.result["customer_no"], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # before the register or a folder is written
    authority.AuthoritySession.decide = decide_then_die
    from crm_xl.cli.main import main
    main(sys.argv[1:])
    """
)


def test_a_number_issued_to_a_killed_writer_is_void_never_reissued_and_validate_shows_it(
    tmp_path: Path, dsn: str
) -> None:
    ws = _office(tmp_path, dsn, "Tehran")
    assert _add(ws, "علی رضایی") == "C-00001"
    register = ws.register_path.read_bytes()
    add = ["customer", "add", "--name", "مریم کاظمی", "--type", "natural", "--channel",
           "phone", "--expert", EXPERT, "--need", "پمپ"]  # fmt: skip
    # run() reaps the killed process: a dead pid, so the lock it left is seen as stale.
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, "-w", str(ws.root), *add],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout.split() == ["C-00002"]
    assert ws.register_path.read_bytes() == register  # nothing reached the workspace
    assert _issues(dsn)[-1] == ("customer", "C-00002", "Tehran", "pending")

    # The office's next command records it as issued-not-used and goes on above it.
    assert _add(ws, "رضا موسوی") == "C-00003"
    assert _issues(dsn) == [
        ("customer", "C-00001", "Tehran", "used"),
        ("customer", "C-00002", "Tehran", "void"),
        ("customer", "C-00003", "Tehran", "used"),
    ]
    assert _add(ws, "مینا صالحی") == "C-00004"  # never issued again
    assert ("Tehran", "authority-void", "C-00002") in _company_log(dsn)
    assert [str(r["customer_no"]) for r in _rows(ws, CUSTOMERS.name)] == [
        "C-00001", "C-00003", "C-00004"
    ]  # fmt: skip

    report = _validate(ws)
    void = [f for f in report["findings"] if f["code"] == "authority-void"]
    assert [f["value"] for f in void] == ["C-00002"]
    assert void[0]["severity"] == "info"
    codes = {f["code"] for f in report["findings"]}
    assert "number-gap" not in codes  # the gap is accounted for by the authority
    assert report["counts"]["error"] == 0, report["findings"]
    status = json.loads(_run(ws, "--json", "authority", "status").stdout)
    assert [v["number"] for v in status["voids"]] == ["C-00002"]


def _validate(ws: Workspace) -> dict[str, Any]:
    result = _cli(ws, "validate", "--format", "json")
    return dict(json.loads(result.output))


# --- acceptance 3: the server stopped ----------------------------------------------------------


def _digests(ws: Workspace) -> dict[str, bytes]:
    return {
        str(p.relative_to(ws.root)): p.read_bytes()
        for p in sorted(ws.root.rglob("*"))
        if p.is_file() and ".crm_xl" not in p.parts
    }


def test_with_the_server_stopped_numbering_is_refused_then_continues_after_a_restart(
    tmp_path: Path, dsn: str, cluster: Cluster
) -> None:
    ws = _office(tmp_path, dsn, "Tehran")
    customer = _add(ws, "علی رضایی")
    case = str(store.open_case(ws, customer).result["case_no"])
    other = _add(ws, "مریم کاظمی")
    before = _digests(ws)
    refused = [
        ("customer", "add", "--name", "رضا موسوی", "--type", "natural", "--channel", "phone",
         "--expert", EXPERT, "--need", "پمپ"),
        ("case", "open", other),
        ("contract", "add", case),
        ("invoice", "issue", case, "--amount", "1000000"),
    ]  # fmt: skip
    cluster.stop()
    try:
        for args in refused:
            result = _run(ws, *args)
            assert result.returncode == 2, (args, result.stdout, result.stderr)
            assert "سرور شماره‌دهی شرکت" in result.stderr  # Persian …
            assert "number authority (PostgreSQL) cannot be reached" in result.stderr  # … English
            assert "nothing was issued or written" in result.stderr
            assert "Traceback" not in result.stderr
        assert _digests(ws) == before  # nothing written
        # A follow-up needs no number: it is kept, and reaches the company log later.
        followup = _run(ws, "followup", "add", customer, "--type", "phone", "--note", "تماس")
        assert followup.returncode == 0, followup.stderr
    finally:
        cluster.start()
    assert _add(ws, "رضا موسوی") == "C-00003"  # the next number, no gap
    assert str(store.open_case(ws, other).result["case_no"]) == "P-00002"
    issued = _issues(dsn)
    assert all(s == "used" for _, _, _, s in issued)
    assert sorted(n for k, n, _, _ in issued if k == "customer") == [
        "C-00001",
        "C-00002",
        "C-00003",
    ]
    ops = [op for _, op, _ in _company_log(dsn)]
    assert ops == [str(r["operation"]) for r in _rows(ws, LOG.name)]  # the follow-up included
    assert "followup-add" in ops


# --- the no-gap property and the refusals ------------------------------------------------------


def test_a_decision_that_fails_after_asking_numbers_issues_none(tmp_path: Path, dsn: str) -> None:
    ws = _office(tmp_path, dsn, "Tehran")
    assert _add(ws, "علی رضایی") == "C-00001"
    who = store.actor()

    def two_then_fail(reg: decide.Register) -> object:
        for name in ("مریم کاظمی", "رضا موسوی"):
            inp = decide.NewCustomer(
                name=name, person_type="natural", channel="phone", expert=EXPERT, need="پمپ"
            )
            decide.register_customer(reg, inp, who)
        raise InputError("ردیف سوم نادرست است", "the third row is wrong", field="name")

    before = ws.register_path.read_bytes()
    with pytest.raises(InputError):
        store.run(ws, two_then_fail)  # type: ignore[arg-type]
    assert ws.register_path.read_bytes() == before
    assert [n for _, n, _, _ in _issues(dsn)] == ["C-00001"]  # rolled back: no gap, no void
    assert _add(ws, "مریم کاظمی") == "C-00002"


def test_a_second_workspace_claiming_an_office_is_refused(tmp_path: Path, dsn: str) -> None:
    first = _office(tmp_path, dsn, "Tehran")
    assert _add(first, "علی رضایی") == "C-00001"
    copy = _office(tmp_path / "elsewhere", dsn, "Tehran", init=False)
    before = copy.register_path.read_bytes()
    result = _cli(copy, "--json", "customer", "add", "--name", "مریم کاظمی", "--type",
                  "natural", "--channel", "phone", "--expert", EXPERT, "--need", "پمپ")  # fmt: skip
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert error["code"] == "authority-office"
    assert "Tehran" in error["en"] and "Tehran" in error["fa"]
    assert copy.register_path.read_bytes() == before
    assert [n for _, n, _, _ in _issues(dsn)] == ["C-00001"]


def test_an_office_numbering_with_another_pattern_is_refused(tmp_path: Path, dsn: str) -> None:
    tehran = _office(tmp_path, dsn, "Tehran")
    assert _add(tehran, "علی رضایی") == "C-00001"
    isfahan = _office(tmp_path, dsn, "Isfahan")
    data = json.loads((isfahan.root / "settings.json").read_text(encoding="utf-8"))
    data["numbering"]["customer"]["pattern"] = "I-{seq:5}"
    (isfahan.root / "settings.json").write_text(json.dumps(data), encoding="utf-8")
    result = _cli(Workspace.open(isfahan.root), "--json", "customer", "add", "--name", "مریم",
                  "--type", "natural", "--channel", "phone", "--expert", EXPERT, "--need", "پمپ")  # fmt: skip
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert error["code"] == "authority-pattern"
    assert error["location"]["field"] == "numbering.customer"
    assert "C-{seq:5}" in error["en"] and "I-{seq:5}" in error["en"]


def test_an_authority_without_its_schema_says_to_run_init(tmp_path: Path, dsn: str) -> None:
    ws = _office(tmp_path, dsn, "Tehran", init=False)
    result = _run(ws, "customer", "add", "--name", "علی", "--type", "natural", "--channel",
                  "phone", "--expert", EXPERT, "--need", "پمپ")  # fmt: skip
    assert result.returncode == 2
    assert "crm-xl authority init" in result.stderr
    assert _rows(ws, CUSTOMERS.name) == []


# --- numbers made before the authority; tax serials; validate ----------------------------------


def test_numbers_from_before_the_authority_are_never_issued_again(tmp_path: Path, dsn: str) -> None:
    tehran = _office(tmp_path, dsn, "Tehran")
    assert _add(tehran, "علی رضایی") == "C-00001"
    # Isfahan numbered on its own before joining: C-00001 … C-00003 of its own.
    isfahan = init_workspace(tmp_path / "Isfahan", company="شرکت آزمون", experts=[EXPERT])
    for name in ("مریم کاظمی", "رضا موسوی", "مینا صالحی"):
        _add(isfahan, name)
    settings = load_settings(isfahan.root)
    settings.authority = AuthoritySettings(dsn=dsn, office="Isfahan")
    save_settings(isfahan.root, settings)
    isfahan = Workspace.open(isfahan.root)
    assert _add(isfahan, "سینا کریمی") == "C-00004"  # above its own evidence, not C-00002
    assert _add(tehran, "نرگس امینی") == "C-00005"
    assert ("Isfahan", "authority-counter-raised", "") in _company_log(dsn)
    report = _validate(isfahan)
    by_code: dict[str, list[str]] = {}
    for f in report["findings"]:
        by_code.setdefault(f["code"], []).append(f["value"])
    assert by_code["authority-other-office"] == ["C-00001"]  # Tehran's: a duplicate company-wide
    assert by_code["authority-unknown"] == ["C-00002", "C-00003"]
    assert "number-gap" not in by_code


def test_tax_serials_are_unique_company_wide(tmp_path: Path, dsn: str) -> None:
    ids = []
    for office in ("Tehran", "Isfahan"):
        ws = _office(tmp_path, dsn, office, fiscal_memory_id="A1B2C3")
        case = str(store.open_case(ws, _add(ws, f"مشتری {office}")).result["case_no"])
        ids.append(str(store.issue_invoice(ws, case, amount=1000).result["tax_id"]))
    assert ids[0] != ids[1]
    serials = [n for k, n, _, _ in _issues(dsn) if k == "tax"]
    assert serials == ["0000000001", "0000000002"]
    assert [int(t[11:21], 16) for t in ids] == [1, 2]  # the serial inside each tax id


def test_validate_finds_an_issued_number_the_register_lost(tmp_path: Path, dsn: str) -> None:
    ws = _office(tmp_path, dsn, "Tehran")
    _add(ws, "علی رضایی")
    old = ws.register_path.read_bytes()
    _add(ws, "مریم کاظمی")
    assert _validate(ws)["counts"]["error"] == 0
    ws.register_path.write_bytes(old)  # an old copy put back by hand: C-00002 is gone
    report = _validate(ws)
    missing = [f for f in report["findings"] if f["code"] == "authority-missing"]
    assert [f["value"] for f in missing] == ["C-00002"]
    assert missing[0]["severity"] == "error"


def test_validate_reports_an_unreachable_authority(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", experts=[EXPERT])
    settings = load_settings(ws.root)
    settings.authority = AuthoritySettings(
        dsn=f"host=127.0.0.1 port={_free_port()} user=crm dbname=crm connect_timeout=2",
        office="Tehran",
    )
    save_settings(ws.root, settings)
    report = _validate(Workspace.open(ws.root))
    (f,) = [f for f in report["findings"] if f["code"].startswith("authority")]
    assert f["code"] == "authority-unreachable" and f["severity"] == "error"


def test_a_refused_login_names_where_the_password_comes_from(
    tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _office(tmp_path, dsn, "Tehran")
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    result = _cli(ws, "--json", "customer", "add", "--name", "علی", "--type", "natural",
                  "--channel", "phone", "--expert", EXPERT, "--need", "پمپ")  # fmt: skip
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert error["code"] == "authority-refused"
    assert "PGPASSWORD" in error["en"] and "PGPASSWORD" in error["fa"]
    assert _rows(ws, CUSTOMERS.name) == []


def test_a_schema_newer_than_this_crm_xl_is_refused(tmp_path: Path, dsn: str) -> None:
    import psycopg

    ws = _office(tmp_path, dsn, "Tehran")
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO crm_xl.schema_version (version) VALUES (99)")
    for args in (("authority", "init"), ("customer", "add", "--name", "علی", "--type",
                 "natural", "--channel", "phone", "--expert", EXPERT, "--need", "پمپ")):  # fmt: skip
        result = _cli(ws, "--json", *args)
        assert result.exit_code == 2, result.output
        error = json.loads(result.output)["error"]
        assert error["code"] == "authority-schema" and "upgrade crm_xl" in error["en"]
    assert _rows(ws, CUSTOMERS.name) == []


def test_validate_names_an_office_the_authority_knows_as_another_workspace(
    tmp_path: Path, dsn: str
) -> None:
    first = _office(tmp_path, dsn, "Tehran")
    assert _add(first, "علی رضایی") == "C-00001"
    other = _office(tmp_path / "elsewhere", dsn, "Tehran", init=False)
    (f,) = [f for f in _validate(other)["findings"] if f["code"] == "authority-office"]
    assert f["severity"] == "error" and str(first.root) in f["message_en"]
    assert not [f for f in _validate(first)["findings"] if f["code"] == "authority-office"]
