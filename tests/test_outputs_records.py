"""No command writes over a record (review §A1, §A2; SPEC §10).

Every output a person asks for — ``overdue --xlsx``, ``parties export``, ``complaint|survey|
plan report --xlsx``, ``validate --annotate``, ``templates build`` — is pointed at the
register, a customer form and settings.json of a real workspace: each is refused with a
clear message and the record keeps its bytes; the next ``customer add`` still gets the next
number.  An existing non-record file needs ``--force``; an output open in Excel is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

from crm_xl.cli.main import main
from crm_xl.domain import decide
from crm_xl.domain.dates import now_tehran
from crm_xl.domain.errors import InputError
from crm_xl.io.workspace import Workspace, check_output_path, is_record
from crm_xl.ops import parties, store, tasks

EXPERT = "سارا احمدی"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --no-macros workspace (the review's setting for §A2) with one customer."""
    root = tmp_path_factory.mktemp("base") / "W"
    res = CliRunner().invoke(main, ["init", str(root), "--no-macros", "--expert", EXPERT])
    assert res.exit_code == 0, res.output
    inp = decide.NewCustomer(
        need="پمپ", name="علی رضایی", person_type="natural", channel="phone", expert=EXPERT
    )
    store.add_customer(Workspace.open(root), inp)
    return root


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Path:
    root = tmp_path / "W"
    shutil.copytree(base, root)
    return root


def cli(ws: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-w", str(ws), "--json", *args])


def customer_form(ws: Path) -> Path:
    (form,) = ws.glob("customers/C-00001 - */F-31-08-01*.xlsx")
    return form


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def error_code(res: Result) -> str:
    return str(json.loads(res.output)["error"]["code"])


#: Each output command, given where its output should go.
OUTPUTS: dict[str, Callable[[Path, Path], list[str]]] = {
    "overdue": lambda ws, out: ["overdue", "--xlsx", str(out)],
    "parties export": lambda ws, out: ["parties", "export", str(out)],
    "complaint report": lambda ws, out: ["complaint", "report", "--xlsx", str(out)],
    "survey report": lambda ws, out: ["survey", "report", "--xlsx", str(out)],
    "plan report": lambda ws, out: ["plan", "report", "--xlsx", str(out)],
    # One workbook (a file name for --annotate): the customer form, which lacks its «need».
    "validate --annotate": lambda ws, out: [
        "validate",
        str(customer_form(ws)),
        "--annotate",
        str(out),
    ],
}
RECORDS: dict[str, Callable[[Path], Path]] = {
    "register": lambda ws: ws / "F-31-08-02.xlsx",
    "customer form": customer_form,
    "settings": lambda ws: ws / "settings.json",
    "register, other case": lambda ws: ws / "f-31-08-02.XLSX",  # the same file on Windows/macOS
}
# validate: refusing its output means it cannot run (2), not "errors found" (1).
EXIT = {"validate --annotate": 2}


@pytest.mark.parametrize("record", list(RECORDS))
@pytest.mark.parametrize("command", list(OUTPUTS))
@pytest.mark.parametrize("force", [False, True])
def test_output_commands_refuse_every_record(
    ws: Path, command: str, record: str, force: bool
) -> None:
    target = RECORDS[record](ws)
    before = {
        p: digest(p) for p in (ws / "F-31-08-02.xlsx", customer_form(ws), ws / "settings.json")
    }

    res = cli(ws, *OUTPUTS[command](ws, target), *(["--force"] if force else []))

    assert res.exit_code == EXIT.get(command, 1), res.output
    assert error_code(res) == "output-is-record"
    msg = json.loads(res.output)["error"]
    assert "outputs never replace records" in msg["en"] and "سوابق" in msg["fa"]
    assert {p: digest(p) for p in before} == before
    assert not (ws / "f-31-08-02.XLSX").exists()


def test_the_register_keeps_numbering_after_a_refused_report(ws: Path) -> None:
    """§A1's next step: the register is still the register and numbers go on."""
    assert cli(ws, "overdue", "--xlsx", str(ws / "F-31-08-02.xlsx")).exit_code == 1
    res = cli(ws, "customer", "add", "--name", "مریم کاظمی", "--type", "natural",
              "--channel", "phone", "--expert", EXPERT, "--need", "پمپ")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["customer_no"] == "C-00002"


def test_a_symlink_to_the_register_is_refused_even_with_force(ws: Path, tmp_path: Path) -> None:
    link = tmp_path / "report.xlsx"
    link.symlink_to(ws / "F-31-08-02.xlsx")
    before = digest(ws / "F-31-08-02.xlsx")
    res = cli(ws, "parties", "export", str(link), "--force")
    assert res.exit_code == 1 and error_code(res) == "output-is-record"
    assert digest(ws / "F-31-08-02.xlsx") == before and link.is_symlink()


def test_a_record_of_another_workspace_is_refused(ws: Path, base: Path, tmp_path: Path) -> None:
    """-w names one workspace; the output lies in another: its records are protected too."""
    other = tmp_path / "other"
    shutil.copytree(base, other)
    before = digest(other / "settings.json")
    res = cli(ws, "plan", "report", "--xlsx", str(other / "settings.json"), "--force")
    assert res.exit_code == 1 and error_code(res) == "output-is-record"
    assert digest(other / "settings.json") == before


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_existing_file_needs_force(ws: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / "mine.xlsx"
    out.write_bytes(b"my own notes, not a workbook")

    res = cli(ws, *OUTPUTS[command](ws, out))
    assert res.exit_code == EXIT.get(command, 1), res.output
    assert error_code(res) == "output-exists"
    assert out.read_bytes() == b"my own notes, not a workbook"

    res = cli(ws, *OUTPUTS[command](ws, out), "--force")
    assert res.exit_code in (0, 1), res.output  # validate: 1 = errors found, as asked
    assert openpyxl.load_workbook(out).sheetnames  # replaced by a real workbook
    assert not [p.name for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_a_new_output_file_is_written(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "tasks.xlsx"  # the folder is made
    res = cli(ws, "overdue", "--xlsx", str(out))
    assert res.exit_code == 0, res.output
    assert openpyxl.load_workbook(out).sheetnames[0] == "خلاصه مدیر"


def test_output_open_in_excel_is_refused(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "tasks.xlsx"
    out.write_bytes(b"old")
    (tmp_path / "~$tasks.xlsx").write_bytes(b"\x04sara" + b" " * 60)  # Excel's owner file
    res = cli(ws, "overdue", "--xlsx", str(out), "--force")
    assert res.exit_code == 3 and error_code(res) == "workbook-open"
    assert out.read_bytes() == b"old"


def test_library_writers_refuse_records_too(ws: Path) -> None:
    """The same guard holds for Python callers (Excel buttons, scripts), not only the CLI."""
    w = Workspace.open(ws)
    before = digest(w.register_path)
    with pytest.raises(InputError) as e:
        parties.export_parties(w, w.register_path)
    assert e.value.code == "output-is-record"
    with pytest.raises(InputError):
        tasks.write_tasks_workbook(customer_form(ws), {}, {"company": "x"}, now_tehran())
    assert digest(w.register_path) == before


@pytest.mark.parametrize(
    ("rel", "record"),
    [
        ("F-31-08-02.xlsm", True),
        ("Settings.JSON", True),
        ("settings.json.", True),  # Windows drops the trailing dot
        ("complaints.xlsx", True),
        ("satisfaction.xlsx", True),
        ("sales-plan.xlsx", True),
        ("archive/C-00009 - x/F-31-08-01 C-00009.xlsx", True),
        ("archive/F-31-08-02-1403.xlsx", True),
        ("after-sales/catalog.xlsx", True),
        ("Customers/new.xlsx", True),
        (".crm_xl/templates/F-31-08-01.xlsx", True),
        ("report.xlsx", False),
        ("reports/F-31-08-02.xlsx", False),  # a copy in a folder of the user's own
    ],
)
def test_is_record(ws: Path, rel: str, record: bool) -> None:
    assert is_record(Workspace.open(ws), ws / rel) is record
    assert is_record(None, ws / rel) is record  # found from the path alone


def test_check_output_path_resolves_symlinked_folders(ws: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(ws, target_is_directory=True)
    with pytest.raises(InputError):
        check_output_path(alias / "F-31-08-02.xlsx", force=True)
    assert check_output_path(alias / "new.xlsx", force=False) == ws.resolve() / "new.xlsx"


# --- §A2: templates build ------------------------------------------------------------------


def test_templates_build_on_a_workspace_leaves_the_register_alone(ws: Path) -> None:
    register = ws / "F-31-08-02.xlsx"
    before = digest(register)
    for extra in ([], ["--force"]):
        res = CliRunner().invoke(main, ["--json", "templates", "build", str(ws), *extra])
        assert res.exit_code == 1 and error_code(res) == "output-is-record", res.output
    assert digest(register) == before
    assert not (ws / "F-31-08-01.xlsx").exists()  # none written when one is refused

    res = cli(ws, "customer", "add", "--name", "مریم کاظمی", "--type", "natural",
              "--channel", "phone", "--expert", EXPERT, "--need", "پمپ")  # fmt: skip
    assert json.loads(res.output)["customer_no"] == "C-00002"
    assert len(list((ws / "customers").glob("C-00001*"))) == 1


@pytest.mark.parametrize(
    "where",
    [lambda ws: customer_form(ws).parent, lambda ws: ws / ".crm_xl" / "templates"],
    ids=["customer folder", "workspace templates"],
)
def test_templates_build_refuses_record_folders(ws: Path, where: Callable[[Path], Path]) -> None:
    folder = where(ws)
    before = {p: digest(p) for p in folder.iterdir()}
    res = CliRunner().invoke(main, ["--json", "templates", "build", str(folder), "--force"])
    assert res.exit_code == 1 and error_code(res) == "output-is-record"
    assert {p: digest(p) for p in folder.iterdir()} == before


def test_templates_build_elsewhere_and_again_with_force(tmp_path: Path) -> None:
    out = tmp_path / "templates"
    assert CliRunner().invoke(main, ["templates", "build", str(out)]).exit_code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["F-31-07-01.xlsx", "F-31-08-01.xlsx", "F-31-08-02.xlsx"]
    again = CliRunner().invoke(main, ["--json", "templates", "build", str(out)])
    assert again.exit_code == 1 and error_code(again) == "output-exists"
    forced = CliRunner().invoke(main, ["templates", "build", str(out), "--force"])
    assert forced.exit_code == 0 and sorted(p.name for p in out.iterdir()) == names


# --- atomic: a failed write leaves the old output ------------------------------------------


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_a_failed_output_write_leaves_the_old_file(ws: Path, tmp_path: Path) -> None:
    """Disk full while the report is written (strace makes fsync fail with ENOSPC in a real
    process): the old file is intact, no temporary file is left, the message says what to do."""
    out = tmp_path / "tasks.xlsx"
    out.write_bytes(b"yesterday's task list")
    crm = [sys.executable, "-c", "from crm_xl.cli.main import main; main()"]
    proc = subprocess.run(
        ["strace", "-f", "-o", os.devnull, "-e", "trace=fsync", "-e", "inject=fsync:error=ENOSPC",
         *crm, "-w", str(ws), "--json", "overdue", "--xlsx", str(out), "--force"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if "ptrace" in proc.stderr:
        pytest.skip("ptrace not permitted here")
    assert proc.returncode == 2, proc.stderr
    assert json.loads(proc.stdout)["error"]["code"] == "disk-full"
    assert out.read_bytes() == b"yesterday's task list"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["W", "tasks.xlsx"]
