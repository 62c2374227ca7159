"""Register operations end to end: real workspaces, real workbooks, real processes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain import decide, ids
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import Stage
from crm_xl.domain.errors import CrmError, InputError, WorkbookBusyError
from crm_xl.domain.schema import CASES, CUSTOMERS, FOLLOWUPS, INVOICES, LOG, REGISTRATION
from crm_xl.io import safety
from crm_xl.io.settings_file import load_settings
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store

NOW = datetime(2025, 10, 8, 10, 0, tzinfo=TEHRAN)  # a Wednesday, 1404/07/16


def _ws(tmp_path: Path, **kw: object) -> Workspace:
    return init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=["سارا احمدی"], **kw)  # type: ignore[arg-type]


def _add(ws: Workspace, name: str, **kw: object) -> str:
    inp = decide.NewCustomer(
        name=name,
        person_type=str(kw.pop("person_type", "natural")),
        channel=str(kw.pop("channel", "phone")),
        expert="سارا احمدی",
        need="پمپ",
        **kw,  # type: ignore[arg-type]
    )
    return str(store.add_customer(ws, inp, now=NOW).result["customer_no"])


def _rows(ws: Workspace, table: str) -> list[dict[str, object]]:
    return [r for _, r in FormBook.open(ws.register_path).read_table(table)]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- acceptance 1: processes racing for numbers ---------------------------------------------

RACER = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from crm_xl.domain import decide
    from crm_xl.ops import store
    from crm_xl.io.workspace import Workspace
    ws = Workspace.open(sys.argv[1])
    worker, count = int(sys.argv[2]), int(sys.argv[3])
    for i in range(count):
        inp = decide.NewCustomer(name=f"مشتری {worker}-{i}", person_type="حقیقی",
                               channel="تلفن", expert="سارا احمدی", need="آزمون")
        print(store.add_customer(ws, inp).result["customer_no"], flush=True)
    """
)


@pytest.mark.slow
def test_eight_processes_get_distinct_consecutive_numbers(tmp_path: Path) -> None:
    # The default lock timeout (acceptance 6): waiters are served first come, first served,
    # so no racer waits longer than the seven writes queued before it.
    ws = _ws(tmp_path)
    assert load_settings(ws.root).lock_timeout == 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(ws.root), str(w), "50"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    printed: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        printed += out.split()
    expected = [f"C-{i:05d}" for i in range(1, 401)]
    assert sorted(printed) == expected  # every process got distinct numbers, none lost
    rows = _rows(ws, CUSTOMERS.name)
    assert sorted(str(r["customer_no"]) for r in rows) == expected
    folders = sorted(p.name.split(" - ")[0] for p in ws.customers_dir.iterdir() if p.is_dir())
    assert folders == expected
    log = [r for r in _rows(ws, LOG.name) if r["operation"] == "customer-add"]
    assert sorted(str(r["numbers"]) for r in log) == expected
    assert not list(ws.customers_dir.glob(".new-*"))  # no half-made folder left behind


def test_cli_processes_race_for_numbers(tmp_path: Path) -> None:
    """The real `crm-xl` command, several at once."""
    ws = _ws(tmp_path)
    exe = [sys.executable, "-m", "crm_xl"]
    procs = [
        subprocess.Popen(
            [
                *exe,
                "-w",
                str(ws.root),
                "customer",
                "add",
                "--name",
                f"مشتری {i}",
                "--type",
                "natural",
                "--channel",
                "telegram",
                "--expert",
                "سارا احمدی",
                "--need",
                "پمپ",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    numbers = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        numbers.append(out.strip().splitlines()[-1])
    assert sorted(numbers) == ["C-00001", "C-00002", "C-00003", "C-00004"]


# --- acceptance 2: a crash between writing and replacing --------------------------------------


def test_failure_before_replace_keeps_old_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _ws(tmp_path)
    first = _add(ws, "مریم حسینی")
    before = _digest(ws.register_path)

    def crash(_: Path) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(safety, "_before_replace", crash)
    with pytest.raises(OSError, match="power cut"):
        _add(ws, "رضا کاظمی")
    assert _digest(ws.register_path) == before  # untouched, byte for byte
    assert [r["customer_no"] for r in _rows(ws, CUSTOMERS.name)] == [first]  # and readable
    assert [p.name for p in ws.customers_dir.iterdir()] == [f"{first} - مریم حسینی"]
    assert not list(ws.root.glob(".F-31-08-02*"))  # no temp file left
    monkeypatch.setattr(safety, "_before_replace", None)
    assert _add(ws, "رضا کاظمی") == "C-00002"


# --- acceptance 3: numbers are never reused ---------------------------------------------------


def _delete_last_customer_row(ws: Workspace, *, lower_counter: bool = False) -> None:
    wb = openpyxl.load_workbook(ws.register_path)
    sheet = wb[CUSTOMERS.sheet]
    sheet.delete_rows(sheet.max_row)
    if lower_counter:
        counters = wb["_counters"]
        for row in counters.iter_rows():
            for cell in row:
                if cell.value == 2:
                    cell.value = 1
    wb.save(ws.register_path)


def test_deleted_last_row_number_is_not_reissued(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    _add(ws, "علی محمدی")
    assert _add(ws, "زهرا نوری") == "C-00002"
    _delete_last_customer_row(ws)
    assert [r["customer_no"] for r in _rows(ws, CUSTOMERS.name)] == ["C-00001"]
    assert _add(ws, "حسین جعفری") == "C-00003"


def test_tampered_counter_and_deleted_row_still_do_not_reuse(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    _add(ws, "علی محمدی")
    _add(ws, "زهرا نوری")
    _delete_last_customer_row(ws, lower_counter=True)
    assert _add(ws, "حسین جعفری") == "C-00003"  # the change log still remembers C-00002


def test_voided_number_stays_and_is_not_reissued(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    no = _add(ws, "علی محمدی")
    runner = CliRunner()
    res = runner.invoke(main, ["-w", str(ws.root), "void", no, "--reason", "ثبت اشتباه"])
    assert res.exit_code == 0, res.output
    row = _rows(ws, CUSTOMERS.name)[0]
    assert row["customer_no"] == no and row["record_status"] == "باطل"
    assert _add(ws, "علی محمدی") == "C-00002"  # a void record is not a duplicate either
    res = runner.invoke(main, ["-w", str(ws.root), "void", no])
    assert res.exit_code == 1 and "already void" in res.output


# --- acceptance 4: the register open in Excel or LibreOffice -----------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_writes_refused_while_open_in_excel(tmp_path: Path, suffix: str) -> None:
    ws = _ws(tmp_path)
    _add(ws, "علی محمدی")
    if suffix == ".xlsm":  # the macro-enabled register takes the plain one's place
        ws.register_path.rename(ws.root / "F-31-08-02.xlsm")
        wb = openpyxl.load_workbook(ws.root / "F-31-08-02.xlsm")
        wb.save(ws.root / "F-31-08-02.xlsm")
    register = ws.register_path
    assert register.suffix == suffix
    name = "Sara Ahmadi"
    owner = bytes([len(name)]) + name.encode("ascii") + b"\x20" * (53 - len(name))
    (ws.root / f"~${register.name}").write_bytes(owner + b"\x00" * 110)
    before = _digest(register)
    folders_before = sorted(ws.customers_dir.iterdir())
    with pytest.raises(WorkbookBusyError) as err:
        _add(ws, "زهرا نوری")
    assert "Sara Ahmadi" in str(err.value) and register.name in str(err.value)
    assert _digest(register) == before
    assert sorted(ws.customers_dir.iterdir()) == folders_before
    res = CliRunner().invoke(
        main,
        [
            "-w",
            str(ws.root),
            "customer",
            "add",
            "--name",
            "زهرا نوری",
            "--type",
            "natural",
            "--channel",
            "phone",
            "--expert",
            "سارا احمدی",
        ],
    )
    assert res.exit_code == 3 and "Sara Ahmadi" in res.output and "Traceback" not in res.output


def test_writes_refused_while_open_in_libreoffice(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    lock = ws.root / ".~lock.F-31-08-02.xlsx#"
    lock.write_text(
        ",Negar Karimi,WS-07,22.11.2026 10:15,file:///home/negar/.config/libreoffice/4;"
    )
    with pytest.raises(WorkbookBusyError, match="Negar Karimi"):
        _add(ws, "علی محمدی")


# --- acceptance 5: hostile names give safe folders ----------------------------------------------


@pytest.mark.parametrize("name", ["../../x", "CON", "a:b*c?", "شرکت «نمونه» / تهران."])
def test_hostile_names_give_safe_folders_inside_customers(tmp_path: Path, name: str) -> None:
    ws = _ws(tmp_path)
    no = _add(ws, name, person_type="legal")
    (folder,) = [p for p in ws.customers_dir.iterdir() if p.is_dir()]
    assert folder.resolve().parent == ws.customers_dir.resolve()
    assert folder.name.startswith(f"{no} - ")
    assert not any(c in folder.name for c in '<>:"/\\|?*')
    assert not folder.name.endswith((".", " "))
    assert (folder / f"F-31-08-01 {no}.xlsx").exists()
    assert not (tmp_path / "x").exists()
    assert _rows(ws, CUSTOMERS.name)[0]["name"] == name.strip()  # the register keeps the real name


# --- the whole lifecycle through the CLI ----------------------------------------------------------


def test_lifecycle_through_cli_with_tax_ids(tmp_path: Path) -> None:
    ws = _ws(tmp_path, fiscal_memory_id="A1B2C3")
    w = ["-w", str(ws.root)]
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        res = runner.invoke(main, [*w, *args])
        assert res.exit_code == code, res.output
        assert "Traceback" not in res.output
        return res.output

    legal = ids.make_legal_id("1010123456")
    out = run(
        "customer",
        "add",
        "--name",
        "شركت پتروشيمي نمونه",
        "--type",
        "legal",
        "--national-id",
        legal,
        "--mobile",
        "+98 912 123 4567",
        "--channel",
        "Eitaa",
        "--expert",
        "سارا احمدی",
        "--need",
        "کمپرسور",
        "--at",
        "۱۴۰۴/۰۷/۱۶ ۰۹:۳۰",
    )
    assert out.strip().splitlines()[-1] == "C-00001"
    run(
        "followup",
        "add",
        "C-00001",
        "--type",
        "phone",
        "--note",
        "ارسال کاتالوگ",
        "--at",
        "1404/07/17 10:00",
        "--next-action",
        "ارسال پیش‌فاکتور",
        "--next-due",
        "1404/07/19 12:00",
    )
    run("customer", "close", "C-00001", code=1)  # not before CRM done
    run("customer", "crm-done", "C-00001", code=1)  # not before a sale
    run("contract", "add", "P-00001", code=1)  # no such case
    run("invoice", "issue", "P-00001", code=1)  # no such case yet
    opened = run("case", "open", "C-00001", "--at", "1404/07/18 09:00")
    assert opened.strip().splitlines()[-1] == "P-00001"
    assert (
        run("contract", "add", "P-00001", "--amount", "۱٬۲۰۰٬۰۰۰٬۰۰۰")
        .strip()
        .splitlines()[-1]
        .startswith("Q-")
    )
    run("contract", "add", "P-00001", code=1)  # one contract per case
    out = run(
        "--json", "invoice", "issue", "P-00001", "--amount", "500000000", "--at", "1404/07/20 11:00"
    )
    import json

    inv = json.loads(out)
    assert inv["invoice_no"] == "1404-000001"
    assert ids.is_tax_id(inv["tax_id"]) and inv["tax_id"].startswith("A1B2C3")
    assert ids.parse_tax_id(inv["tax_id"]).serial == 1
    inv2 = json.loads(
        run("invoice", "issue", "P-00001", "--amount", "1000", "--at", "1404/07/21", "--json")
    )
    assert ids.parse_tax_id(inv2["tax_id"]).serial == 2  # the internal serial only increases
    run("customer", "crm-done", "C-00001")
    out = run("customer", "close", "C-00001")
    assert not ws.customers_dir.joinpath("C-00001 - شرکت پتروشیمی نمونه").exists()
    archived = ws.archive_dir / "C-00001 - شرکت پتروشیمی نمونه"
    form = FormBook.open(archived / "F-31-08-01 C-00001.xlsx")
    block = form.read_block(REGISTRATION.name)
    assert block["company_name"] == "شرکت پتروشیمی نمونه"  # Arabic letters normalised
    assert block["legal_id"] == legal and block["mobile"] == "09121234567"
    assert Stage.parse(block["stage"]) is Stage.CLOSED
    # the first contact is written as Jalali text, readable in every Excel, LibreOffice and print
    row = form.block_rows(REGISTRATION.name)["first_contact"]
    assert form.sheet(REGISTRATION.name).cell(row, 3).value == "1404/07/16 09:30"
    (fu,) = [r for _, r in form.read_table(FOLLOWUPS.name)]
    assert fu["description"] == "ارسال کاتالوگ" and fu["next_action"] == "ارسال پیش‌فاکتور"
    customer = _rows(ws, CUSTOMERS.name)[0]
    assert Stage.parse(customer["stage"]) is Stage.CLOSED
    assert str(customer["folder"]).startswith("archive/")
    (case,) = _rows(ws, CASES.name)
    assert case["invoice_nos"] == "1404-000001, 1404-000002"
    assert case["amount"] == 1_200_000_000 and case["invoiced"] == 500_001_000  # kept apart
    assert len(_rows(ws, INVOICES.name)) == 2
    ops = [r["operation"] for r in _rows(ws, LOG.name)]
    assert ops == [
        "customer-add",
        "followup-add",
        "case-open",
        "contract-add",
        "invoice-issue",
        "invoice-issue",
        "crm-done",
        "customer-close",
    ]


def test_lost_customer_closes_without_crm(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    no = _add(ws, "کاوه یزدانی")
    plan = store.close_customer(ws, no, lost=True, now=NOW)
    assert plan.result["stage"] == "closed"
    assert (ws.archive_dir / f"{no} - کاوه یزدانی").is_dir()


def test_bad_input_names_the_field_in_both_languages(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    cases = [
        (dict(national_code="1234567890"), "national"),
        (dict(mobile="12345"), "mobile"),
        (dict(channel="pigeon"), "allowed"),
        (dict(at="1404/12/30"), "1404/12/30"),  # Esfand 30 of a common year
    ]
    for kw, needle in cases:
        with pytest.raises(InputError) as err:
            _add(ws, "علی محمدی", **kw)
        text = str(err.value)
        assert needle in text.lower() or needle in text
        assert " / " in text  # Persian / English
    assert _rows(ws, CUSTOMERS.name) == []  # nothing written by any of them


def test_followup_validation(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    no = _add(ws, "علی محمدی", at="1404/07/16 09:00")
    bad = [
        dict(at="1404/07/10 10:00"),  # before the first contact
        dict(next_action="تماس", next_due="1404/07/16 08:00"),  # due before the follow-up
        dict(next_action="تماس"),  # a next action without a due date
        dict(type="carrier pigeon"),
    ]
    for kw in bad:
        args = {"customer_no": no, "type": "phone", "note": "تماس", "at": "1404/07/17 10:00", **kw}
        with pytest.raises(CrmError):
            store.add_followup(ws, decide.NewFollowUp(**args), now=NOW)  # type: ignore[arg-type]
    assert _rows(ws, LOG.name)[-1]["operation"] == "customer-add"


def test_duplicate_customer_refused_unless_allowed(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    code = ids.make_national_code("001234567")
    _add(ws, "علی محمدی", national_code=code)
    with pytest.raises(InputError, match="C-00001"):
        _add(ws, "علي محمدي")  # same name written with Arabic letters
    assert _add(ws, "علی محمدی", allow_duplicate=True) == "C-00002"


def test_not_a_workspace_is_a_clear_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["-w", str(tmp_path), "case", "open", "C-00001"])
    assert res.exit_code == 2 and "not a crm_xl workspace" in res.output
    init_workspace(tmp_path / "ws")
    res = CliRunner().invoke(main, ["init", str(tmp_path / "ws")])
    assert res.exit_code == 2 and "already holds a workspace" in res.output


def test_crm_done_needs_the_after_sales_form_of_each_product_sold(tmp_path: Path) -> None:
    from crm_xl.ops.products import add_product, build_profile

    ws = _ws(tmp_path)
    no = _add(ws, "علی محمدی", national_code=ids.make_national_code("001234567"))
    case = store.open_case(ws, no, products=["PUMP-01"], now=NOW).result["case_no"]
    store.issue_invoice(ws, case, amount=1000, now=NOW)
    with pytest.raises(InputError, match="PUMP-01") as err:
        store.crm_done(ws, no, now=NOW)
    assert err.value.code == "aftersales-missing"
    add_product(
        ws,
        build_profile(
            code="PUMP-01",
            name="پمپ سانتریفیوژ",
            origin="imported",
            no_service=True,
            reason="sanctions",
        ),
    )
    assert store.crm_done(ws, no, now=NOW).result["stage"] == "crm_done"


def test_duplicate_rules_report_each_customer_once_by_its_strongest_key() -> None:
    from crm_xl.domain.settings import Settings

    reg = decide.Register.from_rows(
        Settings(experts=["سارا احمدی"]),
        customers=[
            {"customer_no": "C-00001", "name": "علی محمدی", "mobile": "09121111111"},
            {"customer_no": "C-00002", "name": "علی محمدی", "national_id": "0012345679"},
            {
                "customer_no": "C-00003",
                "name": "رضا کاظمی",
                "record_status": "باطل",
                "mobile": "09121111111",
            },
        ],
    )
    hits = decide.find_duplicates(
        reg, {"name": "علي محمدي", "national_id": "0012345679", "mobile": "09121111111"}
    )
    assert hits == [("C-00001", "mobile"), ("C-00002", "national_id")]  # void C-00003 left out
    who = decide.Actor("u", "h", NOW)
    decide.register_customer(
        reg,
        decide.NewCustomer(
            name="کاوه نوری",
            person_type="natural",
            channel="phone",
            expert="سارا احمدی",
            need="پمپ",
            mobile="09122222222",
        ),
        who,
    )
    assert decide.find_duplicates(reg, {"name": "", "mobile": "09122222222"}) == [
        ("C-00004", "mobile")
    ]
