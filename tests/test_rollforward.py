"""Roll forward (review §A8, §A9, issue 13 acceptance 3): a crash at any commit point of an
operation, then any command that takes the workspace lock, leaves a workspace that
``validate`` passes with no error and nothing left over.

The crash is real: the CLI process kills itself (SIGKILL) at the named commit point through
the test hook ``CRM_XL_TEST_HOOK``. The command after it runs in this process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_numbers_evidence import EXPERT, NOW, add, make_ws, rows

from crm_xl.cli.main import main
from crm_xl.domain import schema
from crm_xl.io import safety
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.validation import validate_paths

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the crash hook uses SIGKILL")


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """C-00001 open; C-00002 with a case P-00001; C-00003 with a contract and an invoice
    (P-00002); C-00004 sold and CRM done, ready to close."""
    ws = make_ws(tmp_path_factory.mktemp("rollforward"))
    add(ws, "علی محمدی")
    for name in ("رضا کاظمی", "زهرا نوری", "حسین جعفری"):
        no = add(ws, name)
        case = str(store.open_case(ws, no, now=NOW).result["case_no"])
        if no != "C-00002":
            store.add_contract(ws, case, amount=2000, now=NOW)
            store.issue_invoice(ws, case, amount=1000, now=NOW)
    store.crm_done(ws, "C-00004", now=NOW)
    return ws.root


@pytest.fixture()
def ws(master: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(master, root)
    return Workspace.open(root)


def _form_notes(ws: Workspace, no: str) -> list[str]:
    form = next(ws.root.glob(f"*/{no} - */F-31-08-01 {no}.xlsx"))
    return [str(v["description"]) for _, v in FormBook.open(form).read_table(schema.FOLLOWUPS.name)]


def _stage(ws: Workspace, no: str) -> str:
    return next(str(r["stage"]) for r in rows(ws, schema.CUSTOMERS.name) if r["customer_no"] == no)


def _customer_added(ws: Workspace) -> None:
    assert [str(r["customer_no"]) for r in rows(ws, schema.CUSTOMERS.name)][-1] == "C-00005"
    form = ws.customers_dir / "C-00005 - مشتری تازه" / "F-31-08-01 C-00005.xlsx"
    assert form.is_file()


def _followup_logged(ws: Workspace) -> None:
    assert "تماس پس از خرابی" in _form_notes(ws, "C-00001")  # §A8: not lost in a .tmp form


def _case_opened(ws: Workspace) -> None:
    assert any(r["case_no"] == "P-00004" for r in rows(ws, schema.CASES.name))
    assert _stage(ws, "C-00001") == "فروش انجام شد"


def _crm_done(ws: Workspace) -> None:
    assert _stage(ws, "C-00003") != "فروش انجام شد"


def _closed(ws: Workspace) -> None:
    """§A8: a closed customer whose folder never moved."""
    assert not list(ws.customers_dir.glob("C-00004 *"))
    (folder,) = ws.archive_dir.glob("C-00004 *")
    row = next(r for r in rows(ws, schema.CUSTOMERS.name) if r["customer_no"] == "C-00004")
    assert row["folder"] == f"archive/{folder.name}"


def _contract_added(ws: Workspace) -> None:
    assert next(r for r in rows(ws, schema.CASES.name) if r["case_no"] == "P-00001")["contract_no"]


def _invoiced(ws: Workspace) -> None:
    assert len(rows(ws, schema.INVOICES.name)) == 3


def _voided(ws: Workspace) -> None:
    assert (
        next(r for r in rows(ws, schema.CUSTOMERS.name) if r["customer_no"] == "C-00001")[
            "record_status"
        ]
        == "باطل"
    )


#: operation -> (CLI arguments, its folder steps, what must hold once it is complete)
OPERATIONS: dict[str, tuple[list[str], int, Callable[[Workspace], None]]] = {
    "customer-add": (
        ["customer", "add", "--name", "مشتری تازه", "--type", "natural", "--channel", "phone",
         "--expert", "سارا احمدی", "--need", "پمپ", "--national-code", "0023456787"],
        1,
        _customer_added,
    ),
    "followup-add": (
        ["followup", "add", "C-00001", "--type", "phone", "--note", "تماس پس از خرابی"],
        1,
        _followup_logged,
    ),
    "case-open": (["case", "open", "C-00001"], 1, _case_opened),
    "crm-done": (["customer", "crm-done", "C-00003"], 1, _crm_done),
    "customer-close": (["customer", "close", "C-00004"], 2, _closed),
    "contract-add": (["contract", "add", "P-00001", "--amount", "5000"], 0, _contract_added),
    "invoice-issue": (["invoice", "issue", "P-00002", "--amount", "500"], 0, _invoiced),
    "void": (["void", "C-00001", "--reason", "آزمون"], 0, _voided),
}  # fmt: skip


def _after_replace(op: str) -> list[str]:
    steps = OPERATIONS[op][1]
    return ["register-replaced", *(f"folder-committed-{i}" for i in range(1, steps)), "sealed"]


CASES = [(op, point) for op in OPERATIONS for point in _after_replace(op)]
#: The command after the crash: any command that takes the workspace lock.
NEXT = [
    ["refresh"],
    [
        *("customer", "add", "--name", "مشتری بعدی", "--type", "natural"),
        *("--channel", "phone", "--expert", EXPERT, "--need", "آزمون"),
    ],
]


def crash_at(ws: Workspace, args: list[str], point: str) -> None:
    env = {**os.environ, safety.TEST_HOOK_ENV: f"kill@{point}"}
    proc = subprocess.run(
        [sys.executable, "-m", "crm_xl", "-w", str(ws.root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)


def leftovers(ws: Workspace) -> list[str]:
    """The toolkit's own half-done files anywhere in the workspace."""
    out = []
    for p in ws.root.rglob("*"):
        name = p.name
        if (
            name.startswith((".new-", ".~moving-", ".F-31-08-02.tmp"))
            or (name.startswith(".") and ".tmp" in name)
            or name.endswith(".partial")
            or (p.parent.name == "journal" and p.suffix == ".json")
        ):
            out.append(p.relative_to(ws.root).as_posix())
    return out


def assert_clean(ws: Workspace) -> None:
    report = validate_paths([ws.root])
    assert [(f.code, f.message_en) for f in report.findings if f.severity == "error"] == []
    assert not {"leftover-file", "unfinished-operation"} & {f.code for f in report.findings}
    assert leftovers(ws) == []


@pytest.mark.parametrize(("op", "point"), CASES, ids=[f"{o}@{p}" for o, p in CASES])
def test_crash_after_the_register_replace_is_rolled_forward(
    ws: Workspace, op: str, point: str
) -> None:
    args, _, done = OPERATIONS[op]
    crash_at(ws, args, point)
    # half-done: the operation's journal is there, validate says so
    assert list((ws.internal_dir / "journal").glob("*.json"))
    assert "unfinished-operation" in {f.code for f in validate_paths([ws.root]).findings}
    nxt = NEXT[len(op) % len(NEXT)]
    res = CliRunner().invoke(main, ["-w", str(ws.root), *nxt])
    assert res.exit_code == 0, res.output
    done(ws)  # the crashed operation is complete
    assert_clean(ws)


@pytest.mark.parametrize("point", ["prepared", "before-replace"])
@pytest.mark.parametrize("op", ["customer-add", "followup-add", "customer-close"])
def test_crash_before_the_register_replace_is_undone(ws: Workspace, op: str, point: str) -> None:
    before = {t: rows(ws, t) for t in (schema.CUSTOMERS.name, schema.CASES.name)}
    crash_at(ws, OPERATIONS[op][0], point)
    assert leftovers(ws)  # staged files are there
    res = CliRunner().invoke(main, ["-w", str(ws.root), "refresh"])
    assert res.exit_code == 0, res.output
    after = {t: rows(ws, t) for t in before}
    assert [r["customer_no"] for r in after[schema.CUSTOMERS.name]] == [
        r["customer_no"] for r in before[schema.CUSTOMERS.name]
    ]
    assert "تماس پس از خرابی" not in _form_notes(ws, "C-00001")
    assert list(ws.customers_dir.glob("C-00004 *"))  # not archived
    assert_clean(ws)


def test_archive_move_records_the_folder_it_really_used(ws: Workspace) -> None:
    """§A9: a namesake already in archive/: the folder lands at «… (2)» and the register
    says so."""
    (folder,) = ws.customers_dir.glob("C-00004 *")
    (ws.archive_dir / folder.name).mkdir()  # the name is taken
    plan = store.close_customer(ws, "C-00004", now=NOW)
    row = next(r for r in rows(ws, schema.CUSTOMERS.name) if r["customer_no"] == "C-00004")
    assert row["folder"] == f"archive/{folder.name} (2)" == plan.result["folder"]
    assert (ws.archive_dir / f"{folder.name} (2)" / "F-31-08-01 C-00004.xlsx").is_file()
    log = [v for _, v in FormBook.open(ws.register_path).read_table(schema.LOG.name)][-1]
    assert f"{folder.name} (2)" in str(log["details"])


def test_form_changed_after_staging_is_kept_and_reported(ws: Workspace) -> None:
    """A crash after the register replace, then someone saves the form by hand before the
    next command: the hand-made version is not overwritten; validate says what to look at."""
    crash_at(ws, OPERATIONS["followup-add"][0], "register-replaced")
    form = next(ws.customers_dir.glob("C-00001 */F-31-08-01 C-00001.xlsx"))
    book = FormBook.open(form)
    book.save(form)  # a person's save
    res = CliRunner().invoke(main, ["-w", str(ws.root), "refresh"])
    assert res.exit_code == 0, res.output
    assert "تماس پس از خرابی" not in _form_notes(ws, "C-00001")
    found = [f for f in validate_paths([ws.root]).findings if f.code == "unfinished-operation"]
    assert len(found) == 1 and "changed since" in found[0].message_en


def test_form_open_in_excel_is_completed_once_closed(ws: Workspace) -> None:
    """The form is open in Excel when the next command comes: the step waits (never written
    behind Excel's back) and is completed by a later command."""
    crash_at(ws, OPERATIONS["followup-add"][0], "register-replaced")
    form = next(ws.customers_dir.glob("C-00001 */F-31-08-01 C-00001.xlsx"))
    owner = form.with_name(f"~${form.name}")
    owner.write_bytes(b"\x04Sara" + b" " * 60)
    res = CliRunner().invoke(main, ["-w", str(ws.root), "refresh"])
    assert res.exit_code == 0, res.output
    assert "تماس پس از خرابی" not in _form_notes(ws, "C-00001")
    assert "unfinished-operation" in {f.code for f in validate_paths([ws.root]).findings}
    owner.unlink()
    res = CliRunner().invoke(main, ["-w", str(ws.root), "refresh"])
    assert res.exit_code == 0, res.output
    _followup_logged(ws)
    assert_clean(ws)


def test_folder_renamed_before_its_form_was_updated_is_reported(ws: Workspace) -> None:
    """The staged follow-up cannot be put in place: nothing is claimed done, validate says so."""
    crash_at(ws, OPERATIONS["followup-add"][0], "register-replaced")
    (folder,) = ws.customers_dir.glob("C-00001 *")
    folder.rename(folder.with_name("C-00001 - نام تازه"))
    res = CliRunner().invoke(main, ["-w", str(ws.root), "refresh"])
    assert res.exit_code == 0, res.output
    found = [f for f in validate_paths([ws.root]).findings if f.code == "unfinished-operation"]
    assert len(found) == 1 and "moved or renamed" in found[0].message_en
