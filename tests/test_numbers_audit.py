"""The numbering audit of ``validate``: the change log's hash chain, counters of every kind,
one number with two folders, the per-period summary (SPEC §4, issue 13 acceptance 6)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_numbers_evidence import (
    NOW,
    add,
    delete_rows,
    edit_register,
    make_ws,
    rows,
    sale,
    set_counter,
)

from crm_xl.cli.validate import validate_cmd
from crm_xl.domain import schema
from crm_xl.domain.changes import LOG_HASH_FIELD
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.validation import validate_paths
from crm_xl.validation.findings import Report

LOG = schema.LOG.name


def codes(report: Report) -> list[str]:
    return sorted(f.code for f in report.findings)


def errors(report: Report) -> list[tuple[str, str]]:
    return [(f.code, f.message_en) for f in report.findings if f.severity == "error"]


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sales, a void, a follow-up, a closed customer: a clean workspace with every kind."""
    ws = make_ws(tmp_path_factory.mktemp("audit"))
    sale(ws, "علی محمدی")
    sale(ws, "رضا کاظمی")
    add(ws, "زهرا نوری")
    store.void_number(ws, "C-00003", reason="ثبت اشتباه", now=NOW)
    store.crm_done(ws, "C-00001", now=NOW)
    store.close_customer(ws, "C-00001", now=NOW)
    return ws.root


@pytest.fixture()
def ws(busy: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(busy, root)
    return Workspace.open(root)


def test_clean_workspace_passes_with_a_summary_per_kind_and_period(ws: Workspace) -> None:
    report = validate_paths([ws.root])
    assert errors(report) == []
    assert "log-tampered" not in codes(report)
    summary = {(n.kind, n.scope): n for n in report.numbering}
    assert set(summary) == {
        ("customer", "all"),
        ("case", "all"),
        ("contract", "all"),
        ("invoice", "1404"),
        ("tax", "all"),
    }
    c = summary[("customer", "all")]
    assert (c.issued, c.highest, c.counter, c.voided, c.missing) == (3, 3, 3, ["C-00003"], "")
    assert (summary[("tax", "all")].issued, summary[("tax", "all")].counter) == (2, 2)
    assert summary[("invoice", "1404")].highest == 2


def _log_rows(ws: Workspace) -> list[tuple[int, dict[str, object]]]:
    return FormBook.open(ws.register_path).read_table(LOG)


def test_edited_log_row_is_log_tampered(ws: Workspace) -> None:
    r, _ = _log_rows(ws)[3]

    def edit(book: FormBook) -> None:
        col = book.header_columns(LOG)["details"]
        book.sheet(LOG).cell(r, col).value = '{"amount": 1}'

    edit_register(ws, edit)
    report = validate_paths([ws.root])
    found = [f for f in report.findings if f.code == "log-tampered"]
    assert len(found) == 1 and found[0].row == r and found[0].sheet == schema.LOG.sheet
    assert found[0].severity == "error" and report.exit_code == 1


def test_deleted_log_row_is_log_tampered(ws: Workspace) -> None:
    r, _ = _log_rows(ws)[2]
    edit_register(ws, lambda b: b.sheet(LOG).delete_rows(r))
    found = [f for f in validate_paths([ws.root]).findings if f.code == "log-tampered"]
    assert [f.row for f in found] == [r]  # the row that followed it no longer chains


def test_deleted_last_log_rows_are_log_tampered(ws: Workspace) -> None:
    """A chain cannot show its own end cut off: the seal beside the register does."""
    last = [r for r, _ in _log_rows(ws)][-2:]
    edit_register(ws, lambda b: b.sheet(LOG).delete_rows(last[0], 2))
    found = [f for f in validate_paths([ws.root]).findings if f.code == "log-tampered"]
    assert len(found) == 1 and "last rows" in found[0].message_en


def test_inserted_log_row_is_log_tampered(ws: Workspace) -> None:
    def insert(book: FormBook) -> None:
        book.append_rows(LOG, [{"at": NOW, "user": "x", "operation": "customer-add"}])

    edit_register(ws, insert)
    assert "log-tampered" in codes(validate_paths([ws.root]))


def test_writes_after_tampering_keep_reporting_it(ws: Workspace) -> None:
    r, _ = _log_rows(ws)[1]
    edit_register(ws, lambda b: b.sheet(LOG).delete_rows(r))
    add(ws, "نفر تازه")  # the toolkit goes on writing: the break stays visible, once
    found = [f for f in validate_paths([ws.root]).findings if f.code == "log-tampered"]
    assert len(found) == 1


def test_validate_fix_does_not_break_the_chain(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log is written normalised: --fix finds nothing to change in it, the chain holds."""
    monkeypatch.setenv("CRM_XL_USER", "  علي   كريمي ۱۲ ")  # Arabic letters, spaces, digits
    add(ws, "نفر تازه")
    user = [v["user"] for _, v in _log_rows(ws)][-1]
    assert user == "علی کریمی 12"
    res = CliRunner().invoke(validate_cmd, [str(ws.root), "--fix", "--format", "json"])
    fixes = json.loads(res.output)["fixes"]
    assert not [f for f in fixes if f["sheet"] == schema.LOG.sheet]
    assert "log-tampered" not in codes(validate_paths([ws.root]))
    # edited by hand, even into what looks the same after normalising: tampered
    r, _ = _log_rows(ws)[-1]

    def edit(book: FormBook) -> None:
        book.sheet(LOG).cell(r, book.header_columns(LOG)["user"]).value = "علي كريمي 12"

    edit_register(ws, edit)
    assert "log-tampered" in codes(validate_paths([ws.root]))


@pytest.mark.parametrize("kind", ["customer", "case", "contract", "invoice", "tax"])
def test_lowered_counter_is_counter_behind_for_every_kind(ws: Workspace, kind: str) -> None:
    edit_register(ws, lambda b: set_counter(b, kind, 1))
    found = [f for f in validate_paths([ws.root]).findings if f.code == "counter-behind"]
    assert len(found) == 1
    assert f"counter {kind}/" in found[0].message_en and found[0].sheet == "_counters"


def test_counter_behind_the_seal_alone(ws: Workspace) -> None:
    """Full cover-up of the last customer: row, counter, log rows. The seal remembers."""

    def cover_up(book: FormBook) -> None:
        delete_rows(book, schema.CUSTOMERS.name, lambda v: v["customer_no"] == "C-00003")
        set_counter(book, "customer", 2)
        delete_rows(book, LOG, lambda v: "C-00003" in str(v["numbers"]))

    edit_register(ws, cover_up)
    shutil.rmtree(next(ws.customers_dir.glob("C-00003 *")))
    report = validate_paths([ws.root])
    assert {"counter-behind", "log-tampered"} <= set(codes(report))
    summary = {(n.kind, n.scope): n for n in report.numbering}
    assert summary[("customer", "all")].highest == 3


def test_deleted_row_is_an_issued_number_without_a_row(ws: Workspace) -> None:
    edit_register(
        ws, lambda b: delete_rows(b, schema.CASES.name, lambda v: v["case_no"] == "P-00002")
    )
    report = validate_paths([ws.root])
    found = sorted(f.message_en for f in report.findings if f.code == "number-no-row")
    assert len(found) == 2  # the case and the contract on its row
    assert "case" in found[0] and "P-00002" in found[0] and "Q-1404-0002" in found[1]
    summary = {(n.kind, n.scope): n for n in report.numbering}
    assert summary[("case", "all")].without_row == ["P-00002"]


def test_one_number_two_folders(ws: Workspace) -> None:
    (ws.customers_dir / "C-00002 - نام دیگر").mkdir()
    report = validate_paths([ws.root])
    found = [f for f in report.findings if f.code == "number-two-folders"]
    assert len(found) == 1 and found[0].severity == "error"
    assert "C-00002" in found[0].message_en and "C-00002 - نام دیگر" in found[0].message_en


def test_register_alone_audits_its_own_evidence(ws: Workspace) -> None:
    edit_register(ws, lambda b: set_counter(b, "tax", 0))
    report = validate_paths([ws.register_path])
    assert "counter-behind" in codes(report)
    assert "number-two-folders" not in codes(report)
    assert report.numbering


def test_register_without_hash_column_starts_its_chain_later(ws: Workspace) -> None:
    """A register from before the chain: no error; the next write adds the column."""

    def drop_hash(book: FormBook) -> None:
        col = book.header_columns(LOG)[LOG_HASH_FIELD]
        book.sheet(LOG).delete_cols(col)

    edit_register(ws, drop_hash)
    (ws.internal_dir / "seal.json").unlink()  # an old workspace has no seal either
    assert errors(validate_paths([ws.root])) == []
    add(ws, "نفر تازه")
    log = [v for _, v in _log_rows(ws)]
    assert [bool(v[LOG_HASH_FIELD]) for v in log][-2:] == [False, True]
    assert errors(validate_paths([ws.root])) == []
    # old rows are not covered (documented); rows written since are
    r, _ = _log_rows(ws)[-1]

    def edit(book: FormBook) -> None:
        book.sheet(LOG).cell(r, book.header_columns(LOG)["user"]).value = "someone"

    edit_register(ws, edit)
    assert "log-tampered" in codes(validate_paths([ws.root]))


def test_json_report_carries_the_numbering_summary(ws: Workspace) -> None:
    res = CliRunner().invoke(validate_cmd, [str(ws.root), "--format", "json"])
    data = json.loads(res.output)
    kinds = {(n["kind"], n["scope"]) for n in data["numbering"]}
    assert ("tax", "all") in kinds and ("invoice", "1404") in kinds


@pytest.mark.libreoffice
def test_chain_survives_a_libreoffice_save(ws: Workspace, tmp_path: Path) -> None:
    """Opened and saved by LibreOffice (times as day fractions, strings re-shared)."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice not installed")
    out = tmp_path / "lo"
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(ws.register_path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    shutil.copy(out / ws.register_path.name, ws.register_path)
    assert "log-tampered" not in codes(validate_paths([ws.root]))
    assert rows(ws, schema.CUSTOMERS.name)
