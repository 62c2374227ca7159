"""io/guard: what a workbook may be before any parser sees it, and what becomes of its links.

In-process and quick; the real-process corpus with time and memory budgets is
test_guard_corpus.py.  Files are the toolkit's own forms, edited at the XML level the way a
hostile or broken file would differ.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_xl.cli.main import main
from crm_xl.domain import decide, schema
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import CUSTOMERS
from crm_xl.io import guard
from crm_xl.io.guard import Limits
from crm_xl.io.layout import build_form
from crm_xl.io.workbook import FormBook, read_table_fast
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import leads, store
from crm_xl.validation import validate_paths

NOW = dt.datetime(2025, 5, 1, 10, 0, tzinfo=TEHRAN)
EXPERT = "علی رضایی"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A register with two customers, written by the toolkit (openpyxl path)."""
    ws = init_workspace(tmp_path_factory.mktemp("g") / "ws", company="شرکت", experts=[EXPERT])
    for name in ("علی", "مریم"):
        store.add_customer(
            ws,
            decide.NewCustomer(
                name=name, person_type="natural", channel="phone", expert=EXPERT, need="پمپ"
            ),
            now=NOW,
        )
    return ws.register_path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _customers_member(members: dict[str, bytes]) -> str:
    book = members["xl/workbook.xml"].decode()
    rid = re.search(rf'name="{CUSTOMERS.sheet}"[^>]*r:id="([^"]+)"', book)
    assert rid
    rels = members["xl/_rels/workbook.xml.rels"].decode()
    t = re.search(rf'Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels
    )
    assert t
    return t.group(1).lstrip("/") if t.group(1).startswith("/") else f"xl/{t.group(1)}"


def _edit_sheet(good: Path, out: Path, fn) -> Path:  # type: ignore[no-untyped-def]
    m = _members(good)
    name = _customers_member(m)
    m[name] = fn(m[name].decode("utf-8")).encode("utf-8")
    return _write(out, m)


def _refused(path: Path, code: str, limits: Limits = guard.LIMITS) -> CrmError:
    guard._CACHE.clear()
    with pytest.raises(CrmError) as e:
        guard.inspect(path, limits)
    assert e.value.code == code, (e.value.code, e.value.en)
    assert path.name in str(e.value)
    return e.value


# --- what passes ------------------------------------------------------------------------------


def test_the_toolkits_own_workbooks_pass(good: Path, tmp_path: Path) -> None:
    from crm_xl.excel.panel import build_panel

    pkg = guard.inspect(good)
    assert pkg.links == []
    assert pkg.used[CUSTOMERS.sheet] == (schema.FIRST_DATA_ROW + 1, len(CUSTOMERS.fields))
    for form in schema.FORMS.values():
        guard.inspect(build_form(tmp_path / form.filename, form))
    ws = init_workspace(tmp_path / "ws", company="شرکت", experts=[EXPERT])
    assert guard.inspect(ws.register_path).used[CUSTOMERS.sheet][1] == len(CUSTOMERS.fields)
    guard.inspect(build_panel(ws, EXPERT, out=tmp_path / "panel.xlsm"))


def test_cells_without_references_are_counted_where_readers_put_them(
    good: Path, tmp_path: Path
) -> None:
    """``r`` is optional in OOXML: rows and cells then follow one another, as calamine and
    openpyxl place them; a row of 400 such cells is past the column limit."""

    def positional(n: int):  # type: ignore[no-untyped-def]
        def fn(xml: str) -> str:
            cells = "<c><v>1</v></c>" * n
            return xml.replace(
                "</sheetData>", f"<row>{cells}</row><row/><row>{cells}</row></sheetData>"
            )

        return fn

    ok = _edit_sheet(good, tmp_path / "positional.xlsx", positional(30))
    rows, cols = guard.inspect(ok).used[CUSTOMERS.sheet]
    assert (rows, cols) == (schema.FIRST_DATA_ROW + 1 + 3, 30)
    from python_calamine import CalamineWorkbook

    grid = CalamineWorkbook.from_path(str(ok)).get_sheet_by_name(CUSTOMERS.sheet).to_python()
    assert (len(grid), len(grid[0])) == (rows, cols)  # the reader agrees
    wide = _edit_sheet(good, tmp_path / "wide.xlsx", positional(400))
    assert "reaches cell" in _refused(wide, "range-too-large").en


@pytest.mark.parametrize(
    ("kind", "edit", "fragment"),
    [
        ("dimension", lambda x: re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:XFD1048576"', x), "XFD1048576"),
        ("row", lambda x: x.replace("</sheetData>", '<row r="600000"/></sheetData>'), "A600000"),
        ("cell-in-low-row", lambda x: x.replace("</sheetData>", '<row r="7"><c r="B900000"><v>1</v></c></row></sheetData>'), "B900000"),
        ("column", lambda x: x.replace("</sheetData>", '<row r="8"><c r="AAA8"><v>1</v></c></row></sheetData>'), "AAA8"),
        ("leading-zeros", lambda x: x.replace("</sheetData>", '<row r="9"><c r="A0001048576"><v>1</v></c></row></sheetData>'), "A1048576"),
        ("merge", lambda x: x.replace("</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="A10:XFD1048576"/></mergeCells>'), "A10:XFD1048576"),
        ("merge-area", lambda x: x.replace("</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="A10:Z9000"/></mergeCells>'), "merged or hyperlinked"),
    ],
)  # fmt: skip
def test_used_range_beyond_the_limits(
    good: Path, tmp_path: Path, kind: str, edit, fragment: str
) -> None:  # type: ignore[no-untyped-def]
    p = _edit_sheet(good, tmp_path / f"{kind}.xlsx", edit)
    e = _refused(p, "range-too-large")
    assert fragment in e.en, e.en
    assert e.location.sheet == CUSTOMERS.sheet


def test_dense_area_is_bounded_though_each_side_is_fine(good: Path, tmp_path: Path) -> None:
    """300 columns and 40,000 rows are each allowed; together 12 million cells are not."""
    p = _edit_sheet(
        good,
        tmp_path / "area.xlsx",
        lambda x: x.replace(
            "</sheetData>",
            '<row r="9"><c r="KN9"><v>1</v></c></row><row r="40000"><c r="A40000"><v>1</v></c></row></sheetData>',
        ),
    )
    e = _refused(p, "range-too-large")
    assert "A1:KN40000" in e.en and "12,000,000" in e.en


def test_comments_and_shared_strings_are_bounded(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = "x"
    ws["B2"] = "y"
    ws["A1"].comment = openpyxl.comments.Comment("note", "me")
    wb.save(tmp_path / "c.xlsx")
    m = _members(tmp_path / "c.xlsx")
    name = next(n for n in m if n.startswith("xl/comments"))
    m[name] = m[name].replace(b'ref="A1"', b'ref="XFD1048576"')
    assert "XFD1048576" in _refused(_write(tmp_path / "comment.xlsx", m), "range-too-large").en
    import xlsxwriter

    book = xlsxwriter.Workbook(str(tmp_path / "s.xlsx"))
    book.add_worksheet().write_string(0, 0, "x")
    book.close()
    m = _members(tmp_path / "s.xlsx")
    m["xl/sharedStrings.xml"] = re.sub(
        rb'uniqueCount="\d+"', b'uniqueCount="4000000000"', m["xl/sharedStrings.xml"]
    )
    e = _refused(_write(tmp_path / "sst.xlsx", m), "range-too-large")
    assert "4,000,000,000" in e.en


def test_package_shape(good: Path, tmp_path: Path) -> None:
    m = _members(good)
    many = {**m, **{f"xl/media/p{i}.bin": b"x" for i in range(2100)}}
    assert "zip members" in _refused(_write(tmp_path / "many.xlsx", many), "zip-bomb").en
    with zipfile.ZipFile(tmp_path / "bz.xlsx", "w") as zf:
        for n, data in m.items():
            zf.writestr(n, data, compress_type=zipfile.ZIP_BZIP2)
    _refused(tmp_path / "bz.xlsx", "not-xlsx")
    with zipfile.ZipFile(tmp_path / "ratio.xlsx", "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in m.items():
            zf.writestr(n, data)
        zf.writestr("xl/media/pad.bin", b"\0" * (3 * 2**20))  # 3 MB at ~1000:1
    assert "1,0" in _refused(tmp_path / "ratio.xlsx", "zip-bomb").en
    data = bytearray(good.read_bytes())  # the encrypted flag on a member
    at = data.find(b"PK\x01\x02")
    data[at + 8] |= 1
    (tmp_path / "flag.xlsx").write_bytes(bytes(data))
    _refused(tmp_path / "flag.xlsx", "encrypted")


def test_small_limits_apply(good: Path) -> None:
    e = _refused(good, "range-too-large", Limits(rows=5))
    assert f"A{schema.FIRST_DATA_ROW}" in e.en or "reaches cell" in e.en
    _refused(good, "zip-bomb", Limits(unpacked=1000))


def test_a_changed_file_is_inspected_again(good: Path, tmp_path: Path) -> None:
    p = shutil.copyfile(good, tmp_path / "F-31-08-02.xlsx")
    guard.inspect(p)
    _edit_sheet(good, p, lambda x: x.replace("</sheetData>", '<row r="700000"/></sheetData>'))
    with pytest.raises(CrmError) as e:
        guard.inspect(p)
    assert e.value.code == "range-too-large"


def test_every_reader_refuses_before_parsing(good: Path, tmp_path: Path) -> None:
    """detect_form, FormBook.open, the calamine readers, validate: the same refusal, at once."""
    from crm_xl.io.workbook import detect_form, read_block_fast

    p = _edit_sheet(
        good,
        tmp_path / "F-31-08-02.xlsx",
        lambda x: x.replace(
            "</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        ),
    )
    t = time.perf_counter()
    for call in (
        lambda: detect_form(p),
        lambda: FormBook.open(p),
        lambda: read_table_fast(p, schema.F_31_08_02, CUSTOMERS.name),
        lambda: read_block_fast(p, schema.F_31_08_01, schema.REGISTRATION.name),
    ):
        guard._CACHE.clear()
        with pytest.raises(CrmError) as e:
            call()
        assert e.value.code == "range-too-large" and e.value.location.cell == "XFD1048576"
    assert time.perf_counter() - t < 5
    report = validate_paths([p])
    assert [(f.code, f.cell) for f in report.findings] == [("range-too-large", "XFD1048576")]


# --- links ----------------------------------------------------------------------------------------


def _with_hyperlink(good: Path, out: Path, target: str, ref: str = "B6") -> Path:
    """The register with an external hyperlink on a cell (as Excel writes one)."""
    m = _members(good)
    sheet = _customers_member(m)
    rels_name = sheet.replace("worksheets/", "worksheets/_rels/") + ".rels"
    rels = m.get(
        rels_name,
        b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>',
    ).decode()
    rels = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdH1" Type="{RELS}/hyperlink" Target="{target}" TargetMode="External"/></Relationships>',
    )
    m[rels_name] = rels.encode()
    xml = m[sheet].decode()
    links = f'<hyperlinks><hyperlink ref="{ref}" r:id="rIdH1"/></hyperlinks>'
    for after in (
        "</conditionalFormatting>",
        "</dataValidations>",
        "</mergeCells>",
        "</sheetData>",
    ):
        if after in xml:
            head, _, tail = xml.rpartition(after)
            xml = head + after + links + tail
            break
    if 'xmlns:r="' not in xml[:600]:
        xml = xml.replace("<worksheet ", f'<worksheet xmlns:r="{RELS}" ', 1)
    m[sheet] = xml.encode()
    return _write(out, m)


def test_a_web_link_is_reported_and_not_carried(good: Path, tmp_path: Path) -> None:
    p = _with_hyperlink(good, tmp_path / "F-31-08-02.xlsx", "https://example.com/a")
    assert openpyxl.load_workbook(p)[CUSTOMERS.sheet]["B6"].hyperlink is not None  # as written
    pkg = guard.inspect(p)
    assert [(x.kind, x.target, x.sheet, x.cell) for x in pkg.links] == [
        ("hyperlink", "https://example.com/a", CUSTOMERS.sheet, "B6")
    ]
    report = validate_paths([p])
    assert [(f.code, f.severity, f.cell) for f in report.findings] == [
        ("external-hyperlink", "warning", "B6")
    ]
    book = FormBook.open(p)
    book.save(tmp_path / "saved.xlsx")
    back = openpyxl.load_workbook(tmp_path / "saved.xlsx")[CUSTOMERS.sheet]["B6"]
    assert back.hyperlink is None and back.value == "علی"  # the link goes, the text stays
    assert guard.inspect(tmp_path / "saved.xlsx").links == []


@pytest.mark.parametrize(
    "target",
    ["file:///\\\\attacker\\share\\x.xlsx", "\\\\attacker\\share\\x.xlsx", "../secret.xlsx", "ms-word:ofe|u|http://x/a.docx"],
)  # fmt: skip
def test_a_link_to_a_file_is_refused_for_writing(good: Path, tmp_path: Path, target: str) -> None:
    ws = init_workspace(tmp_path / "ws", company="شرکت", experts=[EXPERT])
    reg = ws.register_path
    _with_hyperlink(good, reg, target)
    before = reg.read_bytes()
    with pytest.raises(CrmError) as e:
        store.add_customer(
            ws,
            decide.NewCustomer(
                name="رضا", person_type="natural", channel="phone", expert=EXPERT, need="پمپ"
            ),
            now=NOW,
        )
    assert e.value.code == "external-link" and e.value.location.cell == "B6"
    assert reg.read_bytes() == before
    found = [f for f in validate_paths([reg]).findings if f.code == "external-link"]
    assert [(f.severity, f.cell, f.value) for f in found] == [("error", "B6", target)]


def test_annotate_copy_leaves_links_out(good: Path, tmp_path: Path) -> None:
    p = _with_hyperlink(good, tmp_path / "F-31-08-02.xlsx", "file:///\\\\attacker\\share\\x.xlsx")
    out = tmp_path / "annotated.xlsx"
    res = CliRunner().invoke(main, ["validate", str(p), "--annotate", str(out)])
    assert res.exit_code == 1, res.output
    assert out.is_file() and guard.inspect(out).links == []
    assert openpyxl.load_workbook(out)[CUSTOMERS.sheet]["B6"].comment is not None


# --- lead import, the untrusted path ---------------------------------------------------------------


def test_lead_import_inspects_its_file(good: Path, tmp_path: Path) -> None:
    ws: Workspace = init_workspace(tmp_path / "ws", company="شرکت", experts=[EXPERT])
    stray = _edit_sheet(
        good,
        tmp_path / "leads.xlsx",
        lambda x: x.replace("</sheetData>", '<row r="1048576"/></sheetData>'),
    )
    for path, code in [
        (stray, "range-too-large"),
        (shutil.copyfile(stray, tmp_path / "leads.xls"), "not-xlsx"),
        (shutil.copyfile(stray, tmp_path / "leads.ods"), "not-xlsx"),
    ]:
        with pytest.raises(CrmError) as e:
            leads.import_leads(ws, path, channel="phone", expert=EXPERT)
        assert e.value.code == code, e.value.en
    csv = tmp_path / "big.csv"
    csv.write_text("نام\n" + "علی\n" * 10, encoding="utf-8")
    with pytest.raises(CrmError) as e:
        guard.check_text_file(csv, Limits(text=20))
    assert e.value.code == "file-too-large"


# --- the patterns --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2_000_000), st.integers(1, 20_000_000))
def test_rows_above(n: int, v: int) -> None:
    rx = re.compile(guard._int_above(n).encode())  # as in a reference: digits, then '"'
    assert bool(rx.match(str(v).encode() + b'"')) == (v > n)
    assert rx.match(b"0" + str(v).encode() + b'"')  # a leading zero is always looked at


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 20_000), st.integers(1, 20_000))
def test_columns_above(n: int, v: int) -> None:
    rx = re.compile(guard._letters_above(n) + r"\d")
    assert bool(rx.match(guard.col_letters(v) + "1")) == (v > n)


@pytest.mark.slow
def test_inspection_costs_less_than_reading(tmp_path: Path) -> None:
    """On a 20,000-customer register the inspection costs less than a calamine read of it."""
    from python_calamine import CalamineWorkbook

    fb = FormBook.new(schema.F_31_08_02)
    fb.append_rows(
        CUSTOMERS.name,
        [
            {"customer_no": f"C-{i:05d}", "name": f"مشتری {i}", "need": "پمپ " * 5}
            for i in range(20_000)
        ],
    )
    p = fb.save(tmp_path / "big.xlsx")

    def best(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(3):
            guard._CACHE.clear()
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return min(times)

    def read() -> None:
        book = CalamineWorkbook.from_path(str(p))
        for s in book.sheet_names:
            book.get_sheet_by_name(s).to_python()

    inspect, calamine = best(lambda: guard.inspect(p)), best(read)
    assert inspect < calamine + 0.05, (inspect, calamine)
