"""Lead import: mapping, normalisation, duplicates (register and within file), preview, commit."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
import time
from pathlib import Path

import pytest

from crm_xl.domain import decide, ids
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import InputError
from crm_xl.domain.schema import F_31_08_01, REGISTRATION
from crm_xl.io.formstamp import FormStamper
from crm_xl.io.workbook import FormBook, read_block_fast
from crm_xl.io.workspace import Workspace
from crm_xl.ops import leads, store

NOW = dt.datetime(2025, 5, 1, 10, 0, tzinfo=TEHRAN)
FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
FIRST = ["علی", "مریم", "رضا", "زهرا", "حسین", "فاطمه", "محمد", "سارا", "امیر", "نرگس"]
LAST = ["رضایی", "احمدی", "کریمی", "محمدی", "حسینی", "موسوی", "جعفری", "کاظمی", "صادقی", "رحیمی"]


def _add(ws: Workspace, name: str, mobile: str = "", code: str = "") -> str:
    inp = decide.NewCustomer(
        need="پمپ",
        name=name,
        person_type="natural",
        channel="phone",
        expert="علی رضایی",
        mobile=mobile,
        national_code=code,
    )
    return str(store.add_customer(ws, inp, now=NOW).result["customer_no"])


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_parse_map_and_auto_mapping() -> None:
    explicit = leads.parse_map("Full Name=name, Cell No=mobile,Notes=ignore")
    cols = leads.map_columns(
        ["Full Name", "Cell No", "کد ملی", "ایمیل", "Notes", "تلفن همراه"], explicit
    )
    assert cols == {0: "name", 1: "mobile", 2: "national_code", 3: "email"}
    # Arabic ي/ك, ZWNJ and spacing in headers do not matter.
    auto = leads.map_columns(["نام و نام خانوادگي", "شماره  موبايل", "كد ملی", "وب‌سایت"])
    assert auto == {0: "name", 1: "mobile", 2: "national_code", 3: "website"}
    with pytest.raises(InputError):
        leads.parse_map("نام=nickname")
    with pytest.raises(InputError):
        leads.map_columns(["نام"], {"missing": "mobile"})


def test_normalisation_and_invalid_rows(ws: Workspace, tmp_path: Path) -> None:
    code = ids.make_national_code("001234567")
    src = _csv(
        tmp_path / "a.csv",
        ["نام", "نام خانوادگی", "موبایل", "کد ملی", "ایمیل", "کانال", "نیاز"],
        [
            ["علي", "كريمي", "۰۹۱۲ ۳۴۵ ۶۷۸۹", code.translate(FA), "a@b.ir", "", "پمپ"],
            ["", "", "09120000000", "", "", "", "پمپ"],  # no name
            ["سارا", "محمدی", "12345", "", "", "", "پمپ"],  # bad mobile
            ["امیر", "جعفری", "+989351112233", "1234567890", "", "", "پمپ"],  # bad national code
            ["کاوه", "نوری", "09350001122", "", "", "", ""],  # no need (R1)
            ["نرگس", "رحیمی", "00989351112244", "", "not-an-email", "تلگرام", "شیر"],
        ],
    )
    out = leads.import_leads(ws, src, expert="علی رضایی", channel="exhibition")
    assert (out["new"], out["invalid"], out["duplicate"]) == (2, 4, 0)
    first, *_, last = out["leads"]
    assert first["name"] == "علی کریمی" and first["mobile"] == "09123456789"
    assert first["national_id"] == code
    assert last["mobile"] == "09351112244" and last["warnings"]  # email dropped with a warning
    bad = {x["line"]: " ".join(x["reasons"]) for x in out["leads"] if x["status"] == "invalid"}
    assert "name" in bad[3] and "mobile" in bad[4] and "national code" in bad[5]
    assert "Customer need" in bad[6]  # the rule customer add applies, told in the preview
    assert store.load_register(ws).customers == {}  # preview writes nothing

    done = leads.import_leads(
        ws, src, expert="علی رضایی", channel="exhibition", commit=True, now=NOW
    )
    assert done["registered"] == 2
    reg = store.load_register(ws)
    rows = {r["name"]: r for r in reg.customers.values()}
    assert rows["علی کریمی"]["channel"] == "نمایشگاه" and rows["نرگس رحیمی"]["channel"] == "تلگرام"
    assert rows["علی کریمی"]["national_id"] == code


def test_duplicates_against_register_and_within_file(ws: Workspace, tmp_path: Path) -> None:
    code = ids.make_national_code("002345678")
    c1 = _add(ws, "مریم احمدی", mobile="09121112233")
    c2 = _add(ws, "حسین موسوی", code=code)
    src = _csv(
        tmp_path / "b.csv",
        ["Name", "Mobile", "National code", "Need"],
        [
            ["Maryam", "۰۹۱۲۱۱۱۲۲۳۳", "", "پمپ"],  # same mobile as c1
            ["H. Mousavi", "", code, "پمپ"],  # same national code as c2
            ["مريم  احمدي", "", "", "پمپ"],  # same normalised name as c1
            ["زهرا کاظمی", "09350000001", "", "پمپ"],  # new
            ["Zahra K.", "+98 935 000 0001", "", "پمپ"],  # same mobile as row 5 of the file
        ],
    )
    out = leads.import_leads(ws, src, expert="علی رضایی")
    status = {x["line"]: (x["status"], x["duplicate_of"]) for x in out["leads"]}
    assert status == {
        2: ("duplicate", c1),
        3: ("duplicate", c2),
        4: ("duplicate", c1),
        5: ("new", None),
        6: ("duplicate", "row 5"),
    }


def test_stamped_form_reads_like_the_store_form(ws: Workspace, tmp_path: Path) -> None:
    """The fast form writer gives the same registration block as the openpyxl path."""
    inp = decide.NewCustomer(
        need="پمپ",
        name="شرکت آلفا",
        person_type="legal",
        channel="website",
        expert="علی رضایی",
        national_id=ids.make_legal_id("1010101010"),
        mobile="09121234567",
        extra={"email": "x@y.ir", "address": "تهران <خیابان> & کوچه", "staff_count": 12},
    )
    plan = decide.register_customer(
        store.read_register(FormBook.open(ws.register_path), ws.settings), inp, store.actor(NOW)
    )
    (ch,) = plan.folders
    stamped = tmp_path / "stamped.xlsx"
    FormStamper(ws.form_template(F_31_08_01)).write(stamped, ch.registration)  # type: ignore[union-attr]
    ref = FormBook.open(ws.form_template(F_31_08_01))
    ref.write_block(REGISTRATION.name, ch.registration)  # type: ignore[union-attr]
    ref.save(tmp_path / "ref.xlsx")
    a = FormBook.open(stamped).read_block(REGISTRATION.name)
    b = FormBook.open(tmp_path / "ref.xlsx").read_block(REGISTRATION.name)
    assert a == b
    assert read_block_fast(stamped, F_31_08_01, REGISTRATION.name) == b
    # the whole sheet, dates written as Jalali text included, is the same either way
    sa = FormBook.open(stamped).sheet(REGISTRATION.name)
    sb = FormBook.open(tmp_path / "ref.xlsx").sheet(REGISTRATION.name)
    assert [[c.value for c in r] for r in sa.iter_rows()] == [
        [c.value for c in r] for r in sb.iter_rows()
    ]
    heights = [(sa.row_dimensions[r].height, sb.row_dimensions[r].height) for r in range(1, 50)]
    assert all(x == y for x, y in heights), [
        (r, h) for r, h in enumerate(heights, 1) if h[0] != h[1]
    ]
    row = FormBook.open(stamped).block_rows(REGISTRATION.name)["first_contact"]
    assert re.fullmatch(r"1404/\d\d/\d\d \d\d:\d\d", str(sa.cell(row, 3).value))  # Jalali text
    assert a["address"] == "تهران <خیابان> & کوچه" and a["staff_count"] == 12


def _exhibition(
    path: Path, existing: list[tuple[str, str]], n: int, seed: int = 7
) -> tuple[Path, int]:
    """n rows: ~5% repeat registered customers, ~5% repeat earlier rows; returns (file, new count)."""
    rnd = random.Random(seed)
    rows: list[list[str]] = []
    fresh = 0
    for i in range(n):
        roll = rnd.random()
        if roll < 0.05 and existing:
            name, mobile = rnd.choice(existing)
            rows.append([name, ("+98" + mobile[1:]) if i % 2 else mobile.translate(FA), "", "لوله"])
        elif roll < 0.10 and rows:
            prev = rnd.choice(rows)
            rows.append([prev[0], prev[1], prev[2], prev[3]])
        else:
            name = f"{FIRST[i % 10]} {LAST[(i // 10) % 10]} {i:04d}".translate(FA)
            mobile = f"0935{i:07d}".translate(FA)
            code = ids.make_national_code(f"{213456789 + i * 37:09d}") if i % 3 == 0 else ""
            rows.append([name, mobile, code, "شیرآلات صنعتی"])
            fresh += 1
    return _csv(
        path, ["نام و نام خانوادگی", "شماره موبایل", "کد ملی", "محصول مورد نظر"], rows
    ), fresh


@pytest.mark.slow
def test_import_2000_rows_then_again(ws: Workspace, tmp_path: Path) -> None:
    existing = [(f"مشتری قدیمی {k}", f"091200000{k:02d}") for k in range(20)]
    for name, mobile in existing:
        _add(ws, name, mobile=mobile)
    src, fresh = _exhibition(tmp_path / "expo.csv", existing, 2000)

    preview = leads.import_leads(ws, src, channel="exhibition", expert="علی رضایی")
    assert (
        preview["new"] == fresh and preview["duplicate"] == 2000 - fresh and preview["invalid"] == 0
    )
    assert len(store.load_register(ws).customers) == 20

    t = time.perf_counter()
    out = leads.import_leads(
        ws, src, channel="exhibition", expert="علی رضایی", commit=True, now=NOW
    )
    elapsed = time.perf_counter() - t
    assert out["registered"] == fresh and out["duplicate"] == 2000 - fresh
    assert elapsed < 40, f"commit of {fresh} took {elapsed:.1f}s"
    reg = store.load_register(ws)
    assert len(reg.customers) == 20 + fresh
    numbers = sorted(reg.customers)
    assert numbers == [f"C-{k:05d}" for k in range(1, 21 + fresh)]  # serial, no gaps
    folders = [p for p in ws.customers_dir.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 20 + fresh
    sample = reg.customers[numbers[-1]]
    form = ws.root / sample["folder"] / store.customer_form_name(numbers[-1])
    block = FormBook.open(form).read_block(REGISTRATION.name)
    assert block["customer_no"] == numbers[-1] and block["channel"] == "نمایشگاه"
    assert block["need"] == "شیرآلات صنعتی"

    again = leads.import_leads(
        ws, src, channel="exhibition", expert="علی رضایی", commit=True, now=NOW
    )
    assert again["registered"] == 0 and again["duplicate"] == 2000
    assert len(store.load_register(ws).customers) == 20 + fresh
    # The next `customer add` continues the series.
    assert _add(ws, "مشتری تازه", mobile="09199999999") == f"C-{21 + fresh:05d}"


def test_xlsx_source_with_explicit_map(ws: Workspace, tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    sh = wb.active
    assert sh is not None
    sh.append([None])  # a blank first row: the header is the first non-empty row
    sh.append(["Visitor", "Tel.", "Firm", "Legal ID", "Interest"])
    sh.append(["مریم احمدی", 9121234567, "شرکت آلفا", ids.make_legal_id("1010101010"), "پمپ"])
    sh.append(["رضا کریمی", "09351234567", None, None, "شیر"])
    wb.save(tmp_path / "v.xlsx")
    out = leads.import_leads(
        ws,
        tmp_path / "v.xlsx",
        mapping="Visitor=name,Tel.=mobile,Firm=company,Legal ID=national_id,Interest=need",
        expert="علی رضایی",
        commit=True,
        now=NOW,
    )
    assert out["registered"] == 2
    reg = store.load_register(ws)
    rows = {r["name"]: r for r in reg.customers.values()}
    firm = rows["شرکت آلفا"]
    assert firm["person_type"] == "حقوقی" and firm["mobile"] == "09121234567"
    assert firm["national_id"] == ids.make_legal_id("1010101010")
    assert rows["رضا کریمی"]["person_type"] == "حقیقی"
    form = ws.root / firm["folder"] / store.customer_form_name(firm["customer_no"])
    assert FormBook.open(form).read_block(REGISTRATION.name)["contact_person"] == "مریم احمدی"
