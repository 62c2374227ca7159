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
from crm_xl.domain.enums import ENUMS, FollowUpState, RecordStatus
from crm_xl.domain.schema import Block, FieldType, Form, Table
from crm_xl.io.layout import (
    CREATED,
    LAST_VALIDATION_ROW,
    LOGO_TEXT,
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


def header_texts(ws: Worksheet) -> list[str]:
    return [
        str(c.value) for row in ws.iter_rows(max_row=schema.HEADER_ROWS) for c in row if c.value
    ]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_iso_header_block_and_marker(form: Form, books: dict[str, Workbook]) -> None:
    """Logo cell, company, title, sheet title, form code, revision, revision date, bordered;
    a table printed over several pages has the whole header over each page's columns."""
    wb = books[form.code]
    assert wb.defined_names[schema.FORM_MARKER].attr_text == f'"{form.code}"'
    assert wb.defined_names["crm_revision"].attr_text == f'"{form.revision}"'
    assert wb.properties.created == CREATED
    company = wb.defined_names["crm_company"]
    ((sheet, ref),) = list(company.destinations)
    assert wb[sheet][ref.replace("$", "")].value == "نام شرکت"
    for p in form.parts:
        ws = wb[p.sheet]
        texts = header_texts(ws)
        pages = max(1, texts.count("نام شرکت"))
        assert texts.count(LOGO_TEXT) == 1
        for want in (
            form.title_fa,
            f"کد فرم: {form.code}",
            f"ویرایش: {form.revision}",
            f"تاریخ ویرایش: {form.revision_date}",
        ):
            assert texts.count(want) == pages, (p.sheet, want)
        assert any(t.startswith(p.title_fa) or p.title_fa in t for t in texts)
        for row in ws.iter_rows(max_row=schema.HEADER_ROWS):
            for c in row:
                if c.value:
                    assert c.border.left.style == "thin" and c.border.top.style == "thin"


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
        # Excel needs a data row: an empty table is header + one blank row; the follow-up log
        # is printed blank to be filled by hand, with 15 ruled rows.
        ruled = 15 if t.name == "FollowUps" else 1
        assert r2 == schema.LABEL_ROW + max(ruled, len(t.prefill))
        if t.name == "FollowUps":
            for r in range(schema.FIRST_DATA_ROW, schema.FIRST_DATA_ROW + 15):
                assert ws.cell(r, 1).border.bottom.style == "thin"
        assert tab.autoFilter is not None and tab.autoFilter.ref == tab.ref
        assert [c.name for c in tab.tableColumns] == [f.fa for f in t.fields]
        keys = ws.print_title_cols
        frozen = "A" if keys is None else get_column_letter(int(range_boundaries(keys)[2]) + 1)
        assert ws.freeze_panes == f"{frozen}{schema.FIRST_DATA_ROW}"
        k = schema.KEY_ROW
        assert wb.defined_names[f"{t.name}_keys"].attr_text.endswith(
            f"!$A${k}:${get_column_letter(n)}${k}"
        )
        for c, f in enumerate(t.fields, 1):
            d = column_dim(ws, c)
            assert d.width >= f.width
            assert d.number_format == (number_format(f) or "General"), f.key
            if f.is_date:  # Jalali text, never a serial with a locale format (SPEC §5)
                assert d.number_format == "@"
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
                # Excel's English alert is replaced by a Persian one
                dv = lists[0]
                assert dv.showErrorMessage and dv.errorStyle in (None, "stop")
                assert dv.errorTitle == "مقدار نامعتبر" and f.fa in (dv.error or "")
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
            rules[r.formula[0]] = r
    for state in (FollowUpState.OVERDUE, FollowUpState.DUE_TODAY, FollowUpState.STALLED):
        assert f'${col}{schema.FIRST_DATA_ROW}="{state.fa}"' in rules
    overdue = rules[f'${col}{schema.FIRST_DATA_ROW}="{FollowUpState.OVERDUE.fa}"']
    assert overdue.dxf.fill.bgColor.rgb.endswith("F8CBAD")
    # a void row is grey and struck through, before any state colour
    void = rules[f'$W{schema.FIRST_DATA_ROW}="{RecordStatus.VOID.fa}"']
    assert void.dxf.font.strike and void.stopIfTrue
    assert void.priority < overdue.priority


@pytest.mark.parametrize("table", ["Customers", "Cases", "Invoices"])
def test_void_rows_grey_and_struck_in_every_register_table(
    table: str, books: dict[str, Workbook]
) -> None:
    t = schema.F_31_08_02.tables[table]
    ws = books["F-31-08-02"][t.sheet]
    col = get_column_letter(t.keys.index("record_status") + 1)
    formulas = [r.formula[0] for rs in ws.conditional_formatting._cf_rules.values() for r in rs]
    assert f'${col}{schema.FIRST_DATA_ROW}="{RecordStatus.VOID.fa}"' in formulas


def test_amount_columns_totalled_without_void_rows(books: dict[str, Workbook]) -> None:
    for name in ("Cases", "Invoices"):
        t = schema.F_31_08_02.tables[name]
        ws = books["F-31-08-02"][t.sheet]
        formulas = [c.value for row in ws.iter_rows(max_row=3) for c in row]
        amount = get_column_letter(t.keys.index("amount") + 1)
        status = get_column_letter(t.keys.index("record_status") + 1)
        want = f'SUMIFS({amount}6:{amount}1048576,{status}6:{status}1048576,"<>باطل")'
        assert any(isinstance(v, str) and want in v for v in formulas), name


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_print_setup(form: Form, books: dict[str, Workbook]) -> None:
    """A4; tables at a fixed scale of 60 % or more (wide ones over several pages with their key
    columns repeated), blocks upright fit to the width; «صفحه &P از &N» and the signatures."""
    wb = books[form.code]
    for p in form.parts:
        ws = wb[p.sheet]
        assert int(ws.page_setup.paperSize) == 9
        assert not ws.print_options.gridLines
        footer = ws.oddFooter
        assert "صفحه &P از &N" in footer.center.text
        last = schema.LABEL_ROW if isinstance(p, Table) else schema.HEADER_ROWS
        assert ws.print_title_rows == f"$1:${last}"
        if isinstance(p, Block):
            assert ws.page_setup.orientation == "portrait"
            assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
            continue
        assert not ws.sheet_properties.pageSetUpPr.fitToPage
        assert int(ws.page_setup.scale or 100) >= 60  # 100 is not written
        if not p.hidden:  # the ISO forms' tables carry the three signatures in the footer
            assert "تهیه‌کننده" in footer.right.text and "تصویب‌کننده" in footer.left.text
            assert "تأییدکننده" in footer.right.text
        if p.hidden:  # machine sheets never print (LibreOffice prints a hidden print area)
            assert not ws.print_area
            continue
        # helper columns (folder, record status) stay off paper
        area = ws.print_area.split("!")[1]
        last_col = range_boundaries(area.replace("$", ""))[2]
        printed = [f.key for f in p.fields[:last_col]]
        assert "folder" not in printed and "record_status" not in printed
        assert last_col >= len([f for f in p.fields if f.key not in ("folder", "record_status")])


def test_register_prints_a4_landscape_with_key_columns_on_every_page(
    books: dict[str, Workbook],
) -> None:
    ws = books["F-31-08-02"][schema.CUSTOMERS.sheet]
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.scale) >= 60
    assert ws.print_title_cols == "$A:$B"  # customer number and name on every page
    assert ws.col_breaks.count >= 1 and ws.page_setup.pageOrder == "overThenDown"
    assert ws.freeze_panes == f"C{schema.FIRST_DATA_ROW}"  # and on screen


def test_blank_forms_carry_a_signature_row(books: dict[str, Workbook]) -> None:
    for code in ("F-31-08-01", "F-31-07-01"):
        block = next(iter(schema.FORMS[code].blocks.values()))
        ws = books[code][block.sheet]
        after = schema.BLOCK_FIRST_ROW + len(block.fields) + 1  # a blank line above
        row = [ws.cell(after, c).value for c in range(2, 5)]
        assert row == ["تهیه‌کننده", "تأییدکننده", "تصویب‌کننده"]
        assert ws.row_dimensions[after + 1].height >= 40  # room to sign


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.code)
def test_sheets_protected_only_input_cells_unlocked(form: Form, books: dict[str, Workbook]) -> None:
    wb = books[form.code]
    for p in form.parts:
        ws = wb[p.sheet]
        assert ws.protection.sheet and not ws.protection.password
        assert ws.protection.autoFilter is False and ws.protection.sort is False  # allowed
        if isinstance(p, Block):
            for i, f in enumerate(p.fields):
                cell = ws.cell(schema.BLOCK_FIRST_ROW + i, schema.BLOCK_VALUE_COL)
                assert cell.protection.locked is (f.key == "customer_no"), f.key
                assert ws.cell(schema.BLOCK_FIRST_ROW + i, schema.BLOCK_KEY_COL).protection.locked
            continue
        for c, f in enumerate(p.fields, 1):
            assert ws.cell(schema.KEY_ROW, c).protection.locked  # the hidden key row
            assert ws.cell(schema.LABEL_ROW, c).protection.locked
            unlocked = column_dim(ws, c).protection.locked is False
            if p.hidden or f.key in ("customer_no", "case_no", "invoice_no", "tax_id"):
                assert not unlocked or p.name == "FollowUps", (p.name, f.key)
    register = books["F-31-08-02"][schema.CUSTOMERS.sheet]
    cols = schema.CUSTOMERS.keys
    assert column_dim(register, cols.index("followup_state") + 1).protection.locked is not False
    assert column_dim(register, cols.index("mobile") + 1).protection.locked is False


def test_experts_dropdown_from_the_settings(tmp_path: Path) -> None:
    path = build_form(tmp_path / "f.xlsx", schema.F_31_08_01, experts=["سارا احمدی", "محمد رضایی"])
    wb = openpyxl.load_workbook(path)
    assert list_labels(wb, "list_Experts") == ["سارا احمدی", "محمد رضایی"]
    ws = wb[schema.FOLLOWUPS.sheet]
    for key in ("expert", "next_owner"):
        col = get_column_letter(schema.FOLLOWUPS.keys.index(key) + 1)
        (dv,) = [d for d in validations_at(ws, f"{col}{schema.FIRST_DATA_ROW}") if d.type == "list"]
        assert dv.formula1 == "list_Experts" and dv.errorStyle == "warning" and dv.errorTitle
    block = wb[schema.REGISTRATION.sheet]
    row = schema.BLOCK_FIRST_ROW + schema.REGISTRATION.keys.index("expert")
    assert any(
        d.formula1 == "list_Experts" for d in validations_at(block, f"C{row}") if d.type == "list"
    )
    # without settings (the committed templates) there is no empty list
    assert (
        "list_Experts"
        not in openpyxl.load_workbook(
            build_form(tmp_path / "g.xlsx", schema.F_31_08_01)
        ).defined_names
    )


def test_page_plans() -> None:
    from crm_xl.io.layout import plan_pages

    narrow = plan_pages([10, 20, 30])
    assert not narrow.landscape and narrow.scale == 100 and not narrow.spread
    follow = plan_pages([f.width for f in schema.FOLLOWUPS.fields], keys=2)
    assert follow.landscape and follow.scale >= 60
    wide = plan_pages([f.width for f in schema.CUSTOMERS.fields], keys=2, last=20)
    assert wide.spread and wide.scale >= 70 and wide.keys == 2 and wide.last == 20
    covered = [c for a, b in wide.groups for c in range(a, b + 1)]
    assert covered == list(range(2, 21))  # every printed column on exactly one page


def test_row_heights_grow_with_wrapped_text() -> None:
    from crm_xl.io.layout import LINE_PT, row_height, text_lines

    assert row_height([("کوتاه", 20)]) is None
    assert text_lines("الف " * 100, 20) >= 15
    assert text_lines("یک\nدو\nسه", 40) == 3
    assert row_height([("الف " * 100, 20), ("x", 5)]) >= 15 * LINE_PT


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
    for p in schema.F_31_07_01.parts:
        assert header_texts(wb[p.sheet])[1] == "شرکت نمونه"  # after the logo cell
