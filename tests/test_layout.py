"""The generated templates, read back with openpyxl, say exactly what the schema says."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from crm_xl.domain import schema
from crm_xl.domain.enums import ENUMS, FollowUpState
from crm_xl.domain.schema import Block, FieldType, Form, Table
from crm_xl.io.layout import (
    CREATED,
    LAST_VALIDATION_ROW,
    build_form,
    build_templates,
    enum_names,
    number_format,
)

FORMS = list(schema.FORMS.values())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("templates")
    paths = build_templates(d)
    return {p.stem: p for p in paths}


@pytest.fixture(scope="module")
def books(built: dict[str, Path]) -> dict[str, Workbook]:
    return {code: openpyxl.load_workbook(p) for code, p in built.items()}


def column_dim(ws: Worksheet, col: int):  # type: ignore[no-untyped-def]
    for d in ws.column_dimensions.values():
        if d.min is not None and d.max is not None and d.min <= col <= d.max:
            return d
    raise AssertionError(f"no column dimension for {get_column_letter(col)}")


def list_labels(wb: Workbook, formula: str) -> list[str]:
    """Resolve a data-validation list formula (a defined name) to its cell values."""
    dn = wb.defined_names[formula.lstrip("=")]
    ((sheet, ref),) = list(dn.destinations)
    cells = wb[sheet][ref.replace("$", "")]
    return [row[0].value for row in cells]


def validations_at(ws: Worksheet, cell: str) -> list:  # type: ignore[type-arg]
    return [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]


def test_build_templates_writes_three_files(built: dict[str, Path]) -> None:
    assert sorted(built) == sorted(f.code for f in FORMS)
    for f in FORMS:
        assert built[f.code].name == f.filename


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_sheets_in_schema_order_and_states(form: Form, books: dict[str, Workbook]) -> None:
    wb = books[form.code]
    assert wb.sheetnames == [p.sheet for p in form.parts] + [schema.LISTS_SHEET]
    for p in form.parts:
        want = "hidden" if isinstance(p, Table) and p.hidden else "visible"
        assert wb[p.sheet].sheet_state == want
    assert wb[schema.LISTS_SHEET].sheet_state == "veryHidden"
    for ws in wb.worksheets:
        if ws.sheet_state == "visible":
            assert ws.sheet_view.rightToLeft


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_header_block_and_marker(form: Form, books: dict[str, Workbook]) -> None:
    wb = books[form.code]
    assert wb.defined_names[schema.FORM_MARKER].attr_text == f'"{form.code}"'
    assert wb.defined_names["crm_revision"].attr_text == f'"{form.revision}"'
    assert wb.properties.created == CREATED
    for p in form.parts:
        ws = wb[p.sheet]
        assert ws["A1"].value == "نام شرکت"
        assert ws["A1"].font.b and ws["A1"].font.sz >= 14
        assert ws["A2"].value == form.title_fa
        assert ws["A3"].value == f"کد فرم: {form.code} | ویرایش: {form.revision} | {p.title_fa}"
        merged = {str(r) for r in ws.merged_cells.ranges}
        assert any(m.startswith("A1:") for m in merged)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_tables_match_schema(form: Form, books: dict[str, Workbook]) -> None:
    wb = books[form.code]
    for t in form.tables.values():
        ws = wb[t.sheet]
        n = len(t.fields)
        keys = [ws.cell(schema.KEY_ROW, c).value for c in range(1, n + 1)]
        labels = [ws.cell(schema.LABEL_ROW, c).value for c in range(1, n + 1)]
        assert keys == t.keys
        assert labels == [f.fa for f in t.fields]
        assert ws.row_dimensions[schema.KEY_ROW].hidden
        assert ws.cell(schema.LABEL_ROW, 1).alignment.wrap_text
        assert (ws.row_dimensions[schema.LABEL_ROW].height or 0) >= 30
        tab = ws.tables[t.name]
        c1, r1, c2, r2 = range_boundaries(tab.ref)
        assert (c1, r1, c2) == (1, schema.LABEL_ROW, n)
        # Excel needs a data row: an empty table is header + one blank row.
        assert r2 == schema.LABEL_ROW + max(1, len(t.prefill))
        assert tab.autoFilter is not None and tab.autoFilter.ref == tab.ref
        assert [c.name for c in tab.tableColumns] == [f.fa for f in t.fields]
        assert ws.freeze_panes == f"A{schema.FIRST_DATA_ROW}"
        k = schema.KEY_ROW
        assert wb.defined_names[f"{t.name}_keys"].attr_text.endswith(
            f"!$A${k}:${get_column_letter(n)}${k}"
        )
        for c, f in enumerate(t.fields, 1):
            d = column_dim(ws, c)
            assert d.width >= f.width
            assert d.number_format == (number_format(f) or "General"), f.key
            if f.type == FieldType.DATE:
                assert d.number_format == schema.DATE_FORMAT
            if f.type == FieldType.DATETIME:
                assert d.number_format == schema.DATETIME_FORMAT
            if f.type == FieldType.RIAL:
                assert d.number_format == schema.RIAL_FORMAT
        for i, row in enumerate(t.prefill):
            for c, f in enumerate(t.fields, 1):
                assert ws.cell(schema.FIRST_DATA_ROW + i, c).value == row.get(f.key)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_blocks_match_schema(form: Form, books: dict[str, Workbook]) -> None:
    wb = books[form.code]
    for b in form.blocks.values():
        ws = wb[b.sheet]
        assert column_dim(ws, schema.BLOCK_KEY_COL).hidden
        for i, f in enumerate(b.fields):
            r = schema.BLOCK_FIRST_ROW + i
            assert ws.cell(r, schema.BLOCK_KEY_COL).value == f.key
            label = ws.cell(r, schema.BLOCK_LABEL_COL)
            assert label.value == f.fa and label.font.b
            assert ws.cell(r, schema.BLOCK_HINT_COL).value == (f.hint or None)
            value = ws.cell(r, schema.BLOCK_VALUE_COL)
            assert value.number_format == (number_format(f) or "General")
            assert value.border.left.style == "thin"
            dn = wb.defined_names[f"{b.name}_{f.key}"]
            assert dn.attr_text.endswith(f"!${get_column_letter(schema.BLOCK_VALUE_COL)}${r}")
        assert column_dim(ws, schema.BLOCK_LABEL_COL).width >= max(len(f.fa) for f in b.fields)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_every_enum_field_has_its_dropdown(form: Form, books: dict[str, Workbook]) -> None:
    wb = books[form.code]
    assert set(enum_names(form)) == {n[5:] for n in wb.defined_names if n.startswith("list_")}
    for p in form.parts:
        ws = wb[p.sheet]
        for i, f in enumerate(p.fields):
            if isinstance(p, Table):
                col = get_column_letter(i + 1)
                cells = [f"{col}{schema.FIRST_DATA_ROW}", f"{col}{LAST_VALIDATION_ROW}"]
            else:
                cells = [f"{get_column_letter(schema.BLOCK_VALUE_COL)}{schema.BLOCK_FIRST_ROW + i}"]
            for cell in cells:
                lists = [dv for dv in validations_at(ws, cell) if dv.type == "list"]
                if f.type != FieldType.ENUM:
                    assert not lists, (f.key, cell)
                    continue
                assert len(lists) == 1, (f.key, cell)
                assert f.enum is not None
                assert list_labels(wb, lists[0].formula1) == ENUMS[f.enum].labels()
            if isinstance(p, Table) and f.is_date:
                (dv,) = validations_at(ws, cells[0])
                assert dv.showInputMessage and "۱۴۰۳/۰۷/۱۵" in (dv.prompt or "")


def test_register_overdue_rows_are_coloured(books: dict[str, Workbook]) -> None:
    ws = books["F-31-08-02"][schema.CUSTOMERS.sheet]
    col = get_column_letter(schema.CUSTOMERS.keys.index("followup_state") + 1)
    rules = {}
    for rng, rs in ws.conditional_formatting._cf_rules.items():
        assert str(rng.sqref) == f"A{schema.FIRST_DATA_ROW}:W{LAST_VALIDATION_ROW}"
        for r in rs:
            rules[r.formula[0]] = r.dxf.fill.bgColor.rgb
    for state in (FollowUpState.OVERDUE, FollowUpState.DUE_TODAY, FollowUpState.STALLED):
        assert f'${col}{schema.FIRST_DATA_ROW}="{state.fa}"' in rules
    assert rules[f'${col}{schema.FIRST_DATA_ROW}="{FollowUpState.OVERDUE.fa}"'].endswith("F8CBAD")


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_print_setup(form: Form, books: dict[str, Workbook]) -> None:
    wb = books[form.code]
    for p in form.parts:
        ws = wb[p.sheet]
        assert int(ws.page_setup.paperSize) == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth or 1) == 1
        assert not ws.print_options.gridLines
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
        last = schema.LABEL_ROW if isinstance(p, Table) else schema.HEADER_ROWS
        assert ws.print_title_rows == f"$1:${last}"
        if isinstance(p, Block):
            assert ws.page_setup.orientation == "portrait"


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_font_is_tahoma_never_calibri(
    form: Form, built: dict[str, Path], books: dict[str, Workbook]
) -> None:
    with zipfile.ZipFile(built[form.code]) as z:
        styles = z.read("xl/styles.xml").decode()
    assert "Calibri" not in styles
    assert schema.FONT_NAME in styles
    fonts = books[form.code]._fonts  # type: ignore[attr-defined]
    assert fonts and all(f.name == schema.FONT_NAME for f in fonts)


def test_company_and_determinism(tmp_path: Path) -> None:
    a = build_form(tmp_path / "a.xlsx", schema.F_31_07_01, company="شرکت نمونه")
    b = build_form(tmp_path / "b.xlsx", schema.F_31_07_01, company="شرکت نمونه")
    assert a.read_bytes() == b.read_bytes()
    wb = openpyxl.load_workbook(a)
    assert all(wb[p.sheet]["A1"].value == "شرکت نمونه" for p in schema.F_31_07_01.parts)
