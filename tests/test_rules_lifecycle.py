"""The lifecycle commands the guards promise (review §B4): case cancel, customer reopen.

Real workspaces through the CLI and the Python API: the change log records each with its
reason, refusals are bilingual and change nothing, and every refusal that names a command
names one that exists.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain import decide, ids
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.schema import LOG, REGISTRATION
from crm_xl.io.folders import find_customer_folder
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store
from crm_xl.validation import validate_paths

NOW = datetime(2025, 10, 8, 10, 0, tzinfo=TEHRAN)  # 1404/07/16
EXPERT = "سارا احمدی"
PACKAGE = Path(__file__).resolve().parents[1] / "crm_xl"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws", company="شرکت آزمون", experts=[EXPERT])


def add(ws: Workspace, name: str = "علی محمدی") -> str:
    inp = decide.NewCustomer(
        name=name,
        person_type="natural",
        channel="phone",
        expert=EXPERT,
        need="پمپ",
        national_code=ids.make_national_code("001234567"),
        at="1404/07/10 09:00",
        allow_duplicate=True,
    )
    return str(store.add_customer(ws, inp, now=NOW).result["customer_no"])


def cli(ws: Workspace, *args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, ["-w", str(ws.root), *args])
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and "unexpected" not in res.output
    return res.output


def log(ws: Workspace) -> list[dict[str, Any]]:
    return [r for _, r in FormBook.open(ws.register_path).read_table(LOG.name)]


def files(ws: Workspace) -> dict[str, str]:
    return {
        str(p.relative_to(ws.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(ws.root.rglob("*"))
        if p.is_file() and "locks" not in p.parts and not p.name.startswith("lock")
    }


def errors(ws: Workspace) -> list[str]:
    report = validate_paths([ws.root])
    return [f"{f.code} {f.field} {f.message_en}" for f in report.findings if f.severity == "error"]


def refused(ws: Workspace, write: Any, code: str) -> CrmError:
    before = files(ws)
    with pytest.raises(CrmError) as err:
        write()
    assert err.value.code == code, err.value.as_dict()
    assert err.value.fa and err.value.en and err.value.fa != err.value.en
    assert files(ws) == before  # a refused step leaves every file byte-identical
    return err.value


# --- review §B4 ---------------------------------------------------------------------------------


def test_lost_customer_with_an_open_case_cancel_close_reopen_through_the_cli(
    ws: Workspace,
) -> None:
    no = add(ws)
    case = cli(ws, "case", "open", no).strip().splitlines()[-1]
    out = cli(ws, "customer", "close", no, "--lost", code=1)
    assert "crm-xl case cancel" in out  # the refusal names the command that helps ...
    cli(ws, "case", "cancel", case, "--reason", "مشتری منصرف شد")  # ... and it exists
    row = store.load_register(ws).case(case)
    assert row["status"] == "لغو شد"
    entry = log(ws)[-1]
    assert entry["operation"] == "case-cancel" and entry["numbers"] == f"{case},{no}"
    assert json.loads(str(entry["details"]))["reason"] == "مشتری منصرف شد"

    cli(ws, "customer", "close", no, "--lost")
    assert find_customer_folder(ws.archive_dir, no) is not None
    out = cli(ws, "followup", "add", no, "--type", "phone", "--note", "x", code=1)
    assert "crm-xl customer reopen" in out

    out = cli(ws, "--json", "customer", "reopen", no, "--reason", "دوباره تماس گرفت")
    assert json.loads(out)["stage"] == "follow_up"
    folder = find_customer_folder(ws.customers_dir, no)
    assert folder is not None and find_customer_folder(ws.archive_dir, no) is None
    customer = store.load_register(ws).customer(no)
    assert customer["stage"] == "در حال پیگیری" and str(customer["folder"]) == (
        f"customers/{folder.name}"
    )
    assert customer["closed"] is None and customer["next_due"] is not None
    form = FormBook.open(folder / store.customer_form_name(no)).read_block(REGISTRATION.name)
    assert form["stage"] == "در حال پیگیری"
    entry = log(ws)[-1]
    assert entry["operation"] == "customer-reopen" and entry["numbers"] == no
    details = json.loads(str(entry["details"]))
    assert details["reason"] == "دوباره تماس گرفت" and details["from"] == "closed"
    assert errors(ws) == []
    cli(ws, "followup", "add", no, "--type", "phone", "--note", "تماس پس از بازگشایی")
    assert errors(ws) == []


def test_every_command_the_package_names_exists() -> None:
    """Messages, hints and docs say ``crm-xl …``: each such command resolves in the CLI."""
    mention = re.compile(
        r"crm-xl(?:\s+(?:-w|--workspace)\s+(?:\"[^\"]*\"|\S+))?((?:[ \t]+[a-z][a-z0-9-]*)+)"
    )
    ctx = click.Context(main)
    seen: set[str] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for m in mention.finditer(path.read_text(encoding="utf-8")):
            cmd: click.Command = main
            words: list[str] = []
            for word in m.group(1).split():
                if not isinstance(cmd, click.Group):
                    break  # a command, then prose
                sub = cmd.get_command(ctx, word)
                assert sub is not None, f"{path.name}: 'crm-xl {' '.join([*words, word])}'"
                cmd = sub
                words.append(word)
            seen.add(" ".join(words))
    # The refusals of this review's findings are among them.
    assert {"case cancel", "customer reopen", "void", "product add"} <= seen


# --- case cancel ---------------------------------------------------------------------------------


def test_cancel_needs_the_invoices_voided_and_a_reason(ws: Workspace) -> None:
    no = add(ws)
    case = str(store.open_case(ws, no, now=NOW).result["case_no"])
    inv = str(store.issue_invoice(ws, case, amount=100, now=NOW).result["invoice_no"])
    err = refused(ws, lambda: store.cancel_case(ws, case, reason="x", now=NOW), "lifecycle-guard")
    assert "crm-xl void" in err.en and "باطل" in err.fa
    store.void_number(ws, inv, now=NOW)
    refused(ws, lambda: store.cancel_case(ws, case, reason="  ", now=NOW), "required-error")
    refused(ws, lambda: store.cancel_case(ws, "P-09999", reason="x", now=NOW), "not-found")
    cancel = lambda at: store.cancel_case(ws, case, reason="x", at=at, now=NOW)  # noqa: E731
    refused(ws, lambda: cancel("1404/01/01"), "cross-field-error")  # before the case was opened
    plan = store.cancel_case(ws, case, reason="انصراف", at="1404/07/17 12:00", now=NOW)
    assert plan.result == {"case_no": case, "customer_no": no, "status": "cancelled"}
    details = json.loads(str(log(ws)[-1]["details"]))
    assert details["reason"] == "انصراف" and details["at"].startswith("2025-10-09 12:00")
    err = refused(ws, lambda: store.cancel_case(ws, case, reason="x", now=NOW), "lifecycle-guard")
    assert "cancelled" in err.en
    # With no live case left, the sale is over: CRM done is refused, closing as lost is not.
    refused(ws, lambda: store.crm_done(ws, no, now=NOW), "lifecycle-guard")
    store.close_customer(ws, no, lost=True, now=NOW)
    assert errors(ws) == []


def test_cancel_is_refused_on_a_closed_customer(ws: Workspace) -> None:
    no = add(ws)
    case = str(store.open_case(ws, no, now=NOW).result["case_no"])
    store.crm_done(ws, no, now=NOW)
    store.close_customer(ws, no, now=NOW)
    err = refused(ws, lambda: store.cancel_case(ws, case, reason="x", now=NOW), "lifecycle-guard")
    assert "crm-xl customer reopen" in err.en
    out = cli(ws, "case", "cancel", case, "--reason", "x", code=1)
    assert "closed and archived" in out and "بسته و بایگانی" in out


# --- customer reopen ------------------------------------------------------------------------------


def test_reopen_refusals(ws: Workspace) -> None:
    no = add(ws, "مریم احمدی")
    err = refused(ws, lambda: store.reopen_customer(ws, no, reason="x", now=NOW), "lifecycle-guard")
    assert "not lost or closed" in err.en and "باز است" in err.fa
    store.close_customer(ws, no, lost=True, now=NOW)
    refused(ws, lambda: store.reopen_customer(ws, no, reason="", now=NOW), "required-error")
    # Its planned follow-up would fall before the last contact (first contact 1404/07/10).
    early = lambda: store.reopen_customer(ws, no, reason="x", at="1404/07/01", now=NOW)  # noqa: E731
    assert "last contact" in refused(ws, early, "cross-field-error").en
    # A folder of the same name in customers/ is never merged with the archived one.
    archived = find_customer_folder(ws.archive_dir, no)
    assert archived is not None
    (ws.customers_dir / archived.name).mkdir()
    refused(ws, lambda: store.reopen_customer(ws, no, reason="x", now=NOW), "folder-exists")
    (ws.customers_dir / archived.name).rmdir()
    store.reopen_customer(ws, no, reason="x", now=NOW)
    assert find_customer_folder(ws.customers_dir, no) is not None
    with pytest.raises(InputError, match="not lost or closed"):
        store.reopen_customer(ws, no, reason="x", now=NOW)


def test_a_customer_reopened_after_a_finished_sale_sells_again(ws: Workspace) -> None:
    no = add(ws)
    first = str(store.open_case(ws, no, now=NOW).result["case_no"])
    store.crm_done(ws, no, at="1404/07/16", now=NOW)
    store.close_customer(ws, no, at="1404/07/16", now=NOW)
    plan = store.reopen_customer(ws, no, reason="سفارش تازه", at="1404/07/20 10:00", now=NOW)
    assert plan.result["folder"].startswith("customers/")
    row = store.load_register(ws).customer(no)
    assert row["crm_done"] is None and row["closed"] is None  # the finished cycle's dates
    assert errors(ws) == []
    second = str(store.open_case(ws, no, now=NOW).result["case_no"])
    assert second != first
    store.crm_done(ws, no, at="1404/07/21", now=NOW)
    store.close_customer(ws, no, at="1404/07/21", now=NOW)
    assert [r["operation"] for r in log(ws)] == [
        "customer-add",
        "case-open",
        "crm-done",
        "customer-close",
        "customer-reopen",
        "case-open",
        "crm-done",
        "customer-close",
    ]
    assert errors(ws) == []
