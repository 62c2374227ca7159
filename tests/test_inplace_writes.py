"""Issue 14, acceptance 7: the register is written in place and reads as a full rewrite would.

Two copies of one workspace get the same operations at the same moments: one through the
in-place patch (``io.sheetpatch``, the default), one through the general openpyxl rewrite.
After every operation both registers read the same in openpyxl and calamine, and every zip
member of the patched register that the operation had no reason to touch is byte-identical.
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from helpers_workspace import EXPERTS, copy_workspace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_xl.domain import decide
from crm_xl.domain.changes import AppendRow, SetCounter, UpdateRow
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import (
    CASES,
    COUNTERS,
    CUSTOMERS,
    F_31_08_01,
    F_31_08_02,
    FOLLOWUPS,
    INVOICES,
    REGISTER_LOG,
    REGISTRATION,
)
from crm_xl.io import guard
from crm_xl.io.workbook import FormBook, read_block_fast, read_table_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store

TABLES = (CUSTOMERS, CASES, INVOICES, COUNTERS, REGISTER_LOG)
START = datetime(2026, 11, 20, 9, 0, tzinfo=TEHRAN)
NAMES = ["شرکت آلفا", '=HYPERLINK("http://x","y")', "+98 فروشگاه", "علی  كريمي", "@نام"]


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _tables(
    path: Path,
) -> tuple[dict[str, list[dict[str, object]]], dict[str, list[dict[str, object]]]]:
    book = FormBook.open(path)
    by_openpyxl = {t.name: [r for _, r in book.read_table(t.name)] for t in TABLES}
    by_calamine = {
        t.name: [r for _, r in read_table_fast(path, F_31_08_02, t.name)] for t in TABLES
    }
    return by_openpyxl, by_calamine


@contextlib.contextmanager
def _general_path() -> Iterator[None]:
    """Every workbook written the general way: openpyxl load, change, save."""
    with (
        mock.patch.object(store.PatchTarget, "open", return_value=None),
        mock.patch.object(store, "_patch_customer_form", side_effect=LookupError("off")),
    ):
        yield


def _forms(ws: Workspace) -> dict[str, object]:
    """Each customer form's follow-up log and registration block, read by openpyxl and by
    calamine (the two must agree)."""
    out: dict[str, object] = {}
    for form in sorted(ws.root.glob(f"*/*/{F_31_08_01.code} *.xlsx")):
        book = FormBook.open(form)
        log = [r for _, r in book.read_table(FOLLOWUPS.name)]
        block = book.read_block(REGISTRATION.name)
        assert log == [r for _, r in read_table_fast(form, F_31_08_01, FOLLOWUPS.name)]
        assert block == read_block_fast(form, F_31_08_01, REGISTRATION.name)
        out[form.name] = (log, block)
    return out


def _allowed(path: Path, plan_tables: set[str]) -> set[str]:
    """Members an operation on ``plan_tables`` may change: their sheets, tables and styles."""
    sheets = guard.inspect(path).sheets
    out = {"xl/styles.xml"}
    for t in TABLES:
        if t.name in plan_tables:
            part = sheets[t.sheet]
            out.add(part)
            rels = zipfile.ZipFile(path).read(
                part.rpartition("/")[0] + "/_rels/" + part.rpartition("/")[2] + ".rels"
            )
            out.update(f"xl/tables/{n}" for n in _table_targets(rels))
    return out


def _table_targets(rels: bytes) -> list[str]:
    import re

    return re.findall(r'Target="\.\./tables/([^"]+)"', rels.decode())


def _op(kind: int, pick: int, name: str, ws: Workspace, now: datetime) -> store.Plan | None:
    reg = store.load_register(ws)
    customers = sorted(reg.customers) if hasattr(reg, "customers") else []
    try:
        if kind == 0 or not customers:
            inp = decide.NewCustomer(
                name=f"{name} {pick}",
                person_type="حقیقی",
                channel="تلفن",
                expert=EXPERTS[pick % 2],
                need="خرید " + "کالا " * (pick % 9),
                mobile="09121234567",
                allow_duplicate=True,
            )
            return store.add_customer(ws, inp, now=now)
        no = customers[pick % len(customers)]
        if kind == 1:
            fu = decide.NewFollowUp(
                customer_no=no,
                type="تماس تلفنی",
                note=name + " یادداشت بلند " * (pick % 7),
                minutes=5,
                result="",
                next_action="ارسال پیش‌فاکتور",
                next_due=(now + timedelta(days=3)).strftime("%Y-%m-%d %H:%M"),
            )
            return store.add_followup(ws, fu, now=now)
        return store.open_case(ws, no, national_id="0013542419", now=now)
    except CrmError:
        return None


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    ops=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 50), st.sampled_from(NAMES)),
        min_size=2,
        max_size=6,
    )
)
def test_in_place_writes_read_as_a_full_rewrite(
    pristine: Path, ops: list[tuple[int, int, str]]
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="crm-inplace-"))
    try:
        fast = copy_workspace(pristine, tmp / "fast")
        slow = copy_workspace(pristine, tmp / "slow")
        now = START
        done = 0
        for kind, pick, name in ops:
            now += timedelta(minutes=17)
            before = _members(fast.register_path)
            plan = _op(kind, pick, name, fast, now)
            with _general_path():
                other = _op(kind, pick, name, slow, now)
            assert (plan is None) == (other is None)
            done += plan is not None
            assert _tables(fast.register_path) == _tables(slow.register_path)
            assert _forms(fast) == _forms(slow)
            openpyxl_view, calamine_view = _tables(fast.register_path)
            assert openpyxl_view == calamine_view
            after = _members(fast.register_path)
            assert set(after) >= set(before)
            touched = {
                ch.table
                for ch in (plan.register if plan else [])
                if isinstance(ch, AppendRow | UpdateRow)
            }
            if plan and any(isinstance(ch, SetCounter) for ch in plan.register):
                touched.add(COUNTERS.name)
            allowed = _allowed(fast.register_path, touched)
            changed = {n for n in before if before[n] != after[n]}
            assert changed <= allowed, changed - allowed
        assert done, "no operation of the sequence was accepted"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_text_that_reads_as_a_formula_stays_text(ws: Workspace) -> None:
    inp = decide.NewCustomer(
        name='=HYPERLINK("http://evil.example/x","click")',
        person_type="حقیقی",
        channel="تلفن",
        expert=EXPERTS[0],
        need="خرید",
        mobile="09121234567",
    )
    store.add_customer(ws, inp, now=START)
    book = FormBook.open(ws.register_path)
    row, _ = book.read_table(CUSTOMERS.name)[-1]
    cell = book.sheet(CUSTOMERS.name)[book.cell_ref(CUSTOMERS.name, row, "name")]
    assert cell.data_type == "s" and cell.quotePrefix
    assert cell.value == '=HYPERLINK("http://evil.example/x","click")'


def test_macros_and_added_parts_survive_a_write(ws: Workspace) -> None:
    """A member a person (or Excel) added to the register is carried over byte for byte."""
    reg = ws.register_path
    extra = b"<note>kept</note>"
    tmp = reg.with_name("x.xlsx")
    with zipfile.ZipFile(reg) as src, zipfile.ZipFile(tmp, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info.filename))
        out.writestr("customXml/item1.xml", extra)
    tmp.replace(reg)
    inp = decide.NewCustomer(
        name="شرکت بتا",
        person_type="حقیقی",
        channel="تلفن",
        expert=EXPERTS[0],
        need="خرید",
        mobile="09121234567",
    )
    store.add_customer(ws, inp, now=START)
    assert _members(reg)["customXml/item1.xml"] == extra
    assert [r["name"] for _, r in read_table_fast(reg, F_31_08_02, CUSTOMERS.name)] == ["شرکت بتا"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_opens_the_patched_register(ws: Workspace, tmp_path: Path) -> None:
    for i in range(3):
        inp = decide.NewCustomer(
            name=f"=شرکت {i}",
            person_type="حقیقی",
            channel="تلفن",
            expert=EXPERTS[0],
            need="خرید",
            mobile="09121234567",
            allow_duplicate=True,
        )
        store.add_customer(ws, inp, now=START + timedelta(hours=i))
    out = tmp_path / "csv"
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            str(ws.register_path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sheet = next(p for p in out.glob("*.csv") if CUSTOMERS.sheet in p.name)
    with sheet.open(encoding="utf-8") as f:
        lines = list(csv.reader(f))
    expected = [
        (str(r["customer_no"]), str(r["name"]))
        for _, r in read_table_fast(ws.register_path, F_31_08_02, CUSTOMERS.name)
    ]
    seen = [tuple(row[:2]) for row in lines[5:] if row and row[0]]
    assert seen == expected


def test_a_register_saved_by_openpyxl_is_patched_the_same(ws: Workspace, tmp_path: Path) -> None:
    """Registers of older versions were saved by openpyxl (shared strings, its own row XML)."""
    FormBook.open(ws.register_path).save(ws.register_path)
    slow = copy_workspace(ws.root, tmp_path / "slow")
    for i, name in enumerate(NAMES):
        now = START + timedelta(hours=i)
        assert _op(0, i, name, ws, now) is not None
        with _general_path():
            assert _op(0, i, name, slow, now) is not None
        assert _op(1, i, name, ws, now) is not None
        with _general_path():
            assert _op(1, i, name, slow, now) is not None
    assert _tables(ws.register_path) == _tables(slow.register_path)
    assert _forms(ws) == _forms(slow)


def test_a_row_past_the_formatted_area_gets_drop_downs_formats_and_the_table(
    ws: Workspace, tmp_path: Path
) -> None:
    """Drop-downs and conditional formats of the template reach a fixed row; a patched row
    past it is inside them, inside the Excel table and inside the sheet's dimension."""
    from openpyxl import load_workbook

    from crm_xl.io.sheetpatch import SheetPatch

    before = load_workbook(ws.register_path)[CUSTOMERS.sheet]
    end = max(r.max_row for dv in before.data_validations.dataValidation for r in dv.sqref.ranges)
    row = end + 3
    patch = SheetPatch(ws.register_path)
    patch.set(CUSTOMERS.sheet, row, 1, "C-09999", template_row=6)
    out = tmp_path / "out.xlsx"
    patch.save(out)
    sheet = load_workbook(out)[CUSTOMERS.sheet]
    assert sheet.cell(row, 1).value == "C-09999"
    assert sheet.cell(row, 1).style_id == sheet.cell(6, 1).style_id
    assert sheet.tables[CUSTOMERS.name].ref.endswith(f"{row}")
    assert sheet.max_row == row
    for dv in sheet.data_validations.dataValidation:
        assert max(r.max_row for r in dv.sqref.ranges) == row, dv.sqref
    for cf in sheet.conditional_formatting:
        assert max(r.max_row for r in cf.sqref.ranges) == row, cf.sqref


def test_a_web_link_in_the_register_is_not_carried_by_a_write(ws: Workspace) -> None:
    """The in-place patch would copy the sheet's hyperlink; the write goes the general way,
    which removes it (records carry no external link)."""
    from test_guard_files import _with_hyperlink

    reg = ws.register_path
    good = reg.with_name("good.xlsx")
    shutil.copy(reg, good)
    _with_hyperlink(good, reg, "https://example.com/a")
    assert guard.inspect(reg).links
    assert _op(0, 1, NAMES[0], ws, START) is not None
    assert guard.inspect(reg).links == []
    names = [r["name"] for _, r in read_table_fast(reg, F_31_08_02, CUSTOMERS.name)]
    assert names[-1] == f"{NAMES[0]} 1"
