"""FormBook (openpyxl) and the calamine fast readers: real files written and read back."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from crm_xl.domain import schema
from crm_xl.domain.enums import Channel, FollowUpState, PersonType, Stage, YesNo
from crm_xl.domain.errors import CrmError
from crm_xl.io.layout import build_templates
from crm_xl.io.workbook import FormBook, detect_form, read_block_fast, read_table_fast

R = schema.FIRST_DATA_ROW


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tpl")
    build_templates(d)
    return d


@pytest.fixture()
def register(templates: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(templates / "F-31-08-02.xlsx", tmp_path / "register.xlsx"))


def customer(i: int, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "customer_no": f"C-1403-{i:04d}",
        "name": f"مشتری {i}",
        "person_type": PersonType.LEGAL,
        "mobile": "09121234567",
        "channel": Channel.EXHIBITION,
        "expert": "رضایی",
        "first_contact": dt.datetime(2024, 10, 6, 9, 30),
        "stage": Stage.FIRST_CONTACT,
        "followup_state": FollowUpState.ON_TIME,
        "crm_done": dt.date(2024, 11, 1),
    }
    row.update(kw)
    return row


def test_detect_each_template(templates: Path) -> None:
    for form in schema.FORMS.values():
        assert detect_form(templates / form.filename) is form


def test_append_read_update_round_trip(register: Path, tmp_path: Path) -> None:
    fb = FormBook.open(register)
    assert fb.form is schema.F_31_08_02
    assert fb.read_table("Customers") == []
    rows = fb.append_rows("Customers", [customer(1), customer(2, name="  با فاصله  ")])
    assert rows == [R, R + 1]
    assert fb.cell_ref("Customers", R + 1, "customer_no") == f"A{R + 1}"
    fb.save(register)

    fb = FormBook.open(register)
    got = fb.read_table("Customers")
    assert [r for r, _ in got] == [R, R + 1]
    first = got[0][1]
    assert first["person_type"] == PersonType.LEGAL.fa
    assert first["channel"] == Channel.EXHIBITION.fa
    assert first["first_contact"] == dt.datetime(2024, 10, 6, 9, 30)
    assert first["crm_done"] == dt.date(2024, 11, 1)
    assert first["mobile"] == "09121234567"
    assert first["national_id"] is None
    assert got[1][1]["name"] == "با فاصله"
    assert set(first) == set(schema.CUSTOMERS.keys)
    ws = fb.sheet("Customers")
    col = fb.header_columns("Customers")
    # Dates are zero-padded Jalali text in text-formatted cells (SPEC §5), read back as dates.
    assert ws.cell(R, col["first_contact"]).value == "1403/07/15 09:30"
    assert ws.cell(R, col["crm_done"]).value == "1403/08/11"
    assert ws.cell(R, col["first_contact"]).number_format == schema.TEXT_FORMAT
    assert (
        ws.cell(R + 1, col["customer_no"]).border.left.style == "thin"
    )  # styled like the template row

    fb.update_row(
        "Customers",
        R + 1,
        {"stage": "won", "next_due": None, "followup_state": FollowUpState.OVERDUE},
    )
    fb.save(register)
    slow = FormBook.open(register).read_table("Customers")
    assert slow[1][1]["stage"] == Stage.WON.fa
    assert slow[1][1]["followup_state"] == FollowUpState.OVERDUE.fa
    assert read_table_fast(register, schema.F_31_08_02, "Customers") == slow


def test_table_ref_grows_with_append(register: Path) -> None:
    fb = FormBook.open(register)
    fb.append_rows("Customers", [customer(i) for i in range(1, 4)])
    fb.save(register)
    tab = openpyxl.load_workbook(register)[schema.CUSTOMERS.sheet].tables["Customers"]
    assert tab.ref == f"A{schema.LABEL_ROW}:W{R + 2}"
    assert tab.autoFilter.ref == tab.ref


def test_aware_datetimes_become_tehran_wall_time(register: Path) -> None:
    fb = FormBook.open(register)
    utc = dt.datetime(2024, 10, 6, 6, 0, tzinfo=dt.UTC)
    fb.append_rows(
        "Cases", [{"case_no": "K-1", "customer_no": "C-1", "opened": utc, "amount": 1_500_000.0}]
    )
    fb.save(register)
    ((_, row),) = read_table_fast(register, schema.F_31_08_02, "Cases")
    assert row["opened"] == dt.datetime(2024, 10, 6, 9, 30)  # +03:30
    assert row["amount"] == 1_500_000 and isinstance(row["amount"], int)
    assert FormBook.open(register).read_table("Cases") == [(R, row)]


def test_rows_typed_below_the_table_are_read(register: Path) -> None:
    fb = FormBook.open(register)
    fb.append_rows("Customers", [customer(1)])
    fb.save(register)
    # A salesperson types two rows further down, outside the Excel table, with a blank between.
    wb = openpyxl.load_workbook(register)
    ws = wb[schema.CUSTOMERS.sheet]
    ws.cell(R + 5, 1, "C-1403-0099")
    ws.cell(R + 5, 2, "تایپ‌شده")
    ws.cell(R + 8, 2, "  ")  # whitespace only: an empty row
    ws.cell(R + 9, 1, "C-1403-0100")
    wb.save(register)
    fb = FormBook.open(register)
    slow = fb.read_table("Customers")
    assert [r for r, _ in slow] == [R, R + 5, R + 9]
    assert slow[1][1]["name"] == "تایپ‌شده"
    assert read_table_fast(register, schema.F_31_08_02, "Customers") == slow
    # The next append goes after the last typed row and the table grows over it.
    assert fb.append_rows("Customers", [customer(101)]) == [R + 10]
    assert fb.sheet("Customers").tables["Customers"].ref.endswith(str(R + 10))


def test_columns_found_by_key_not_position(register: Path) -> None:
    fb = FormBook.open(register)
    fb.append_rows("Customers", [customer(7)])
    fb.save(register)
    wb = openpyxl.load_workbook(register)
    wb[schema.CUSTOMERS.sheet].insert_cols(1)  # the user adds a column of their own
    wb.save(register)
    fb = FormBook.open(register)
    assert fb.header_columns("Customers")["customer_no"] == 2
    ((_, row),) = fb.read_table("Customers")
    assert row["customer_no"] == "C-1403-0007"
    assert read_table_fast(register, schema.F_31_08_02, "Customers") == fb.read_table("Customers")


def test_prefilled_services_and_product_block(templates: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(templates / "F-31-07-01.xlsx", tmp_path / "p.xlsx"))
    fb = FormBook.open(path)
    services = fb.read_table("Services")
    assert [row["service"] for _, row in services] == schema.ENUMS["AfterSalesService"].labels()
    fb.update_row("Services", services[0][0], {"included": YesNo.YES, "cost": 2_000_000})
    fb.write_block(
        "Product",
        {"product_code": "P-1", "origin": "imported", "commitment_date": dt.date(2024, 5, 1)},
    )
    assert fb.block_cell("Product", "product_code") == f"C{schema.BLOCK_FIRST_ROW}"
    fb.save(path)
    fb = FormBook.open(path)
    block = fb.read_block("Product")
    assert block["origin"] == "وارداتی"
    assert block["commitment_date"] == dt.date(2024, 5, 1)
    assert block["notes"] is None
    assert read_block_fast(path, schema.F_31_07_01, "Product") == block
    assert fb.read_table("Services")[0][1]["included"] == "بله"
    assert read_table_fast(path, schema.F_31_07_01, "Services") == fb.read_table("Services")


def test_registration_block_datetime(templates: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(templates / "F-31-08-01.xlsx", tmp_path / "c.xlsx"))
    fb = FormBook.open(path)
    fb.company = "شرکت آزمون"
    fb.write_block(
        "Registration", {"first_contact": dt.datetime(2024, 1, 2, 10, 45), "staff_count": 12.0}
    )
    fb.append_rows(
        "FollowUps", [{"row_no": 1, "at": dt.datetime(2024, 1, 3, 8, 0), "type": "phone"}]
    )
    fb.save(path)
    fb = FormBook.open(path)
    assert fb.company == "شرکت آزمون"
    assert fb.header()["code"] == "F-31-08-01"
    reg = fb.read_block("Registration")
    assert reg["first_contact"] == dt.datetime(2024, 1, 2, 10, 45)
    assert reg["staff_count"] == 12
    assert read_block_fast(path, schema.F_31_08_01, "Registration") == reg
    assert fb.read_table("FollowUps")[0][1]["type"] == "تماس تلفنی"


def test_new_in_memory_form(tmp_path: Path) -> None:
    fb = FormBook.new(schema.F_31_08_02, company="شرکت")
    fb.append_rows("Customers", [customer(1)])
    out = fb.save(tmp_path / "n.xlsx")
    assert detect_form(out) is schema.F_31_08_02
    assert len(read_table_fast(out, schema.F_31_08_02, "Customers")) == 1


def test_detect_by_header_text_when_marker_lost(register: Path) -> None:
    wb = openpyxl.load_workbook(register)
    del wb.defined_names[schema.FORM_MARKER]
    wb.save(register)
    assert detect_form(register) is schema.F_31_08_02


def test_missing_key_column_is_a_crm_error(register: Path) -> None:
    wb = openpyxl.load_workbook(register)
    wb[schema.CUSTOMERS.sheet].cell(schema.KEY_ROW, 2).value = None
    wb.save(register)
    with pytest.raises(CrmError) as e:
        FormBook.open(register).read_table("Customers")
    assert e.value.code == "missing-column" and e.value.location.field == "name"
    with pytest.raises(CrmError):
        read_table_fast(register, schema.F_31_08_02, "Customers")


# --- broken files ------------------------------------------------------------------------


def _broken(kind: str, d: Path, templates: Path) -> Path:
    p = d / f"{kind}.xlsx"
    if kind == "text":
        p.write_text("this is not a workbook\n")
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "truncated":
        p.write_bytes((templates / "F-31-08-02.xlsx").read_bytes()[:3000])
    elif kind == "random":
        p.write_bytes(os.urandom(4096))
    elif kind == "ole":
        p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000)
    elif kind == "no-workbook-xml":
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/styles.xml", "<styleSheet/>")
    elif kind == "not-crm":
        wb = openpyxl.Workbook()
        wb.active["A1"] = "hello"
        wb.save(p)
    elif kind == "deleted-sheet":
        wb = openpyxl.load_workbook(templates / "F-31-08-02.xlsx")
        del wb[schema.CASES.sheet]
        wb.save(p)
    elif kind == "missing":
        pass
    elif kind in ("stray-cell", "entities", "bomb", "corrupt"):
        src = templates / "F-31-08-02.xlsx"
        with zipfile.ZipFile(src) as z:
            parts = {i.filename: z.read(i.filename) for i in z.infolist()}
        sheet = "xl/worksheets/sheet1.xml"
        if kind == "stray-cell":  # one cell far out, the dimension left as it was
            parts[sheet] = parts[sheet].replace(
                b"</sheetData>",
                b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>',
            )
        elif kind == "entities":
            parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
                b"<workbook", b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]><workbook', 1
            )
        elif kind == "bomb":
            parts["xl/media/pad.bin"] = b"\0" * (64 * 2**20)
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in parts.items():
                kind_ = (
                    zipfile.ZIP_STORED
                    if kind == "corrupt" and name == sheet
                    else zipfile.ZIP_DEFLATED
                )
                z.writestr(name, data, compress_type=kind_)
        if kind == "corrupt":  # one byte of a stored sheet changed: its CRC no longer matches
            data = bytearray(p.read_bytes())
            data[data.find(b"<sheetData") + 1] = ord("S")
            p.write_bytes(bytes(data))
    elif kind == "wrong-form":  # a customer form saved over the register
        p = d / "F-31-08-02.xlsx"
        shutil.copy(templates / "F-31-08-01.xlsx", p)
    return p


CORPUS = {
    "text": "not-xlsx",
    "empty": "not-xlsx",
    "truncated": "not-xlsx",
    "random": "not-xlsx",
    "ole": "encrypted",
    "no-workbook-xml": "not-xlsx",
    "not-crm": "unknown-form",
    "deleted-sheet": "missing-sheet",
    "missing": "file-not-found",
    # issue 13: refused before any parser runs, by every reader alike
    "stray-cell": "range-too-large",
    "entities": "unsafe-xml",
    "bomb": "zip-bomb",
    "corrupt": "corrupt-member",
    "wrong-form": "form-mismatch",
}


@pytest.mark.parametrize("kind", list(CORPUS))
def test_broken_files_give_crm_errors(kind: str, tmp_path: Path, templates: Path) -> None:
    p = _broken(kind, tmp_path, templates)
    # read_table_fast is told the form, so a foreign workbook simply lacks the sheet.
    fast_code = "missing-sheet" if kind == "not-crm" else CORPUS[kind]
    calls = [
        (lambda: detect_form(p), CORPUS[kind]),
        (lambda: FormBook.open(p), CORPUS[kind]),
        (lambda: read_table_fast(p, schema.F_31_08_02, "Cases"), fast_code),
    ]
    for call, code in calls:
        with pytest.raises(CrmError) as e:
            call()
        assert e.value.code == code, (kind, e.value.code)
        assert e.value.location.file and p.name in e.value.location.file
        assert p.name in str(e.value)
        if code == "missing-sheet":
            assert e.value.location.sheet


# --- speed -------------------------------------------------------------------------------


@pytest.mark.slow
def test_fast_reader_overhead_is_small(tmp_path: Path) -> None:
    """read_table_fast costs at most ~2.5x a bare calamine to_python (5k-row register)."""
    from python_calamine import CalamineWorkbook

    fb = FormBook.new(schema.F_31_08_02)
    fb.append_rows("Customers", [customer(i, need="نیاز " * 5) for i in range(5_000)])
    p = fb.save(tmp_path / "big.xlsx")
    t0 = time.perf_counter()
    CalamineWorkbook.from_path(str(p)).get_sheet_by_name(schema.CUSTOMERS.sheet).to_python(
        skip_empty_area=False
    )
    t1 = time.perf_counter()
    rows = read_table_fast(p, schema.F_31_08_02, "Customers")
    t2 = time.perf_counter()
    assert len(rows) == 5_000
    assert t2 - t1 < 2.5 * (t1 - t0) + 0.3


def test_openpyxl_save_keeps_the_form_machinery(register: Path) -> None:
    """After FormBook saves, drop-downs, colours, names, RTL and hidden sheets are still there."""
    fb = FormBook.open(register)
    fb.append_rows("Customers", [customer(1)])
    fb.save(register)
    wb = openpyxl.load_workbook(register)
    ws = wb[schema.CUSTOMERS.sheet]
    # the register is wide: its number and name columns stay in view
    assert ws.sheet_view.rightToLeft and ws.freeze_panes == f"C{R}"
    assert any(dv.formula1 == "list_Channel" for dv in ws.data_validations.dataValidation)
    assert any(dv.prompt and "۱۴۰۳" in dv.prompt for dv in ws.data_validations.dataValidation)
    assert len(ws.conditional_formatting._cf_rules) == 1
    assert ws.print_title_rows == f"$1:${schema.LABEL_ROW}"
    assert ws.print_title_cols == "$A:$B" and ws.print_area == "'مشتریان'!$A$1:$U$1048575"
    assert ws.protection.sheet
    assert wb.defined_names[schema.FORM_MARKER].attr_text == '"F-31-08-02"'
    assert wb[schema.LISTS_SHEET].sheet_state == "veryHidden"
    assert wb[schema.LOG.sheet].sheet_state == "hidden"
    assert detect_form(register) is schema.F_31_08_02
