"""Moadian-ready invoices end to end: the CLI on a real workspace, the register read back, the
JSON and Excel exports read back, and ``validate`` on what the commands wrote (SPEC §11)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main
from crm_xl.domain import decide, ids, moadian
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.moadian import Payment
from crm_xl.domain.schema import CUSTOMERS, INVOICE_LINES, INVOICES
from crm_xl.io.moadian_xlsx import HEADER_SHEET, LINES_SHEET, write_tax_excel
from crm_xl.io.settings_file import load_settings, save_settings
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store
from crm_xl.validation import validate_paths

NOW = datetime(2025, 10, 8, 10, 0, tzinfo=TEHRAN)  # 1404/07/16: customers and cases
SELLER = ids.make_legal_id("1410000000")
LEGAL_BUYER = ids.make_legal_id("1020304050")
NATURAL_BUYER = ids.make_national_code("001234567")
THREE_LINES = [
    "--line",
    "2330001234567|پمپ سانتریفیوژ|2|دستگاه|150,000,000",
    "--line",
    "2330001234574|کابل برق|12.5|متر|850000|10%",  # the discounted line
    "--line",
    "2330001234581|نصب و راه‌اندازی|3|ساعت|4000000|0|10",
]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace with a fiscal memory id and the seller's economic code; one legal customer
    (C-00001, case P-00001) and one natural customer (C-00002, case P-00002)."""
    w = init_workspace(
        tmp_path / "ws", company="شرکت آزمون", experts=["سارا احمدی"], fiscal_memory_id="A1B2C3"
    )
    settings = load_settings(w.root)
    settings.economic_code = SELLER
    save_settings(w.root, settings)
    w = Workspace.open(w.root)
    for name, kind, natid in (
        ("شرکت پتروشیمی نمونه", "legal", LEGAL_BUYER),
        ("مریم کاظمی", "natural", NATURAL_BUYER),
    ):
        inp = decide.NewCustomer(
            name=name,
            person_type=kind,
            channel="phone",
            expert="سارا احمدی",
            need="پمپ",
            national_id=natid if kind == "legal" else "",
            national_code=natid if kind == "natural" else "",
        )
        no = store.add_customer(w, inp, now=NOW).result["customer_no"]
        store.open_case(w, no, now=NOW)
    return w


def cli(ws: Workspace, *args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, ["-w", str(ws.root), *args])
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and "unexpected error" not in res.output
    return res.output


def issue(ws: Workspace, case: str, *args: str, at: str = "1404/08/10 10:00") -> dict[str, object]:
    out: dict[str, object] = json.loads(
        cli(ws, "--json", "invoice", "issue", case, *args, "--at", at)
    )
    return out


def rows(ws: Workspace, table: str) -> list[dict[str, object]]:
    return [r for _, r in FormBook.open(ws.register_path).read_table(table)]


def invoice_row(ws: Workspace, number: str) -> dict[str, object]:
    (row,) = [r for r in rows(ws, INVOICES.name) if r["invoice_no"] == number]
    return row


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def workspace_state(ws: Workspace) -> dict[str, str]:
    """Every file of the workspace (register with its counters and log, forms, backups); the
    workspace lock's own bookkeeping (``.crm_xl/lock*``) changes with every command."""
    return {
        str(p.relative_to(ws.root)): digest(p)
        for p in ws.root.rglob("*")
        if p.is_file() and not (p.parent.name == ".crm_xl" and p.name.startswith("lock"))
    }


def findings(ws: Workspace) -> list[tuple[str, str | None, str | None]]:
    report = validate_paths([ws.root])
    return [(f.code, f.sheet, f.cell) for f in report.findings]


# --- acceptance 1: three lines, one discounted, VAT 10% -----------------------------------------------


def test_three_line_invoice_json_and_excel_agree(ws: Workspace, tmp_path: Path) -> None:
    res = issue(ws, "P-00001", *THREE_LINES)
    assert res["invoice_no"] == "1404-000001" and res["tbill"] == 353_718_750
    out = tmp_path / "out"
    cli(ws, "invoice", "export", "1404-000001", "--json", str(out), "--xlsx", str(out / "m.xlsx"))
    data = json.loads((out / "1404-000001.json").read_text(encoding="utf-8"))
    h, body = data["header"], data["body"]
    assert len(body) == 3 and data["payments"] == []
    for key, line_key in (
        ("tprdis", "prdis"),
        ("tdis", "dis"),
        ("tadis", "adis"),
        ("tvam", "vam"),
        ("tbill", "tsstam"),
    ):
        assert h[key] == sum(ln[line_key] for ln in body), key
    assert h["tadis"] == h["tprdis"] - h["tdis"] == 321_562_500
    assert h["tvam"] == 32_156_250 and h["tdis"] == 1_062_500  # 10% VAT; 10% off line 2
    assert [ln["mu"] for ln in body] == ["1631", "165", "16103"]  # دستگاه، متر، ساعت
    assert h["taxid"] == res["tax_id"] and h["inno"] == ids.parse_tax_id(h["taxid"]).inno
    assert (h["ins"], h["inty"], h["inp"], h["tob"], h["tinb"], h["tins"]) == (
        1,
        1,
        1,
        2,
        LEGAL_BUYER,
        SELLER,
    )
    assert (h["setm"], h["cap"], h["insp"]) == (1, h["tbill"], 0)

    wb = openpyxl.load_workbook(out / "m.xlsx")
    head, lines = wb[HEADER_SHEET], wb[LINES_SHEET]
    assert head.sheet_view.rightToLeft and lines.sheet_view.rightToLeft

    def table(sheet: object) -> list[dict[str, object]]:
        grid = list(sheet.iter_rows(values_only=True))  # type: ignore[attr-defined]
        return [dict(zip(grid[0], r, strict=True)) for r in grid[2:]]

    (xh,) = table(head)
    assert xh["invoice_no"] == "1404-000001"
    assert {k: v for k, v in xh.items() if k != "invoice_no"} == h
    xl = table(lines)
    assert [r["invoice_no"] for r in xl] == ["1404-000001"] * 3
    assert [{k: v for k, v in r.items() if k not in ("invoice_no", "line_no")} for r in xl] == body
    # the register holds the same invoice: header columns and one row per line
    row = invoice_row(ws, "1404-000001")
    assert row["amount"] == row["tbill"] == h["tbill"] and row["tax_id"] == h["taxid"]
    assert [r["mu"] for r in rows(ws, INVOICE_LINES.name)] == ["دستگاه", "متر", "ساعت"]
    assert findings(ws) == []


def test_natural_buyer_defaults_to_their_national_code(ws: Workspace, tmp_path: Path) -> None:
    issue(
        ws, "P-00002", "--line", "2330001234567|پمپ|1|عدد|1000000", "--buyer-postal", "1969833111"
    )
    cli(ws, "invoice", "export", "1404-000001", "--json", str(tmp_path))
    h = json.loads((tmp_path / "1404-000001.json").read_text(encoding="utf-8"))["header"]
    assert (h["tob"], h["bid"], h["tinb"], h["bpc"]) == (1, NATURAL_BUYER, None, "1969833111")


def test_lines_from_a_file_and_a_mixed_settlement(ws: Workspace, tmp_path: Path) -> None:
    book = tmp_path / "lines.xlsx"
    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["شناسه کالا", "شرح", "تعداد", "واحد", "مبلغ واحد", "تخفیف"])  # type: ignore[union-attr]
    sh.append(["2330001234567", "گریس صنعتی", 4, "کیلوگرم", 250000, 100000])  # type: ignore[union-attr]
    wb.save(book)
    res = issue(ws, "P-00001", "--lines", str(book), "--settlement", "mixed", "--cash", "500000")
    assert res["tbill"] == 990_000  # (4 × 250,000 − 100,000) × 1.1
    row = invoice_row(ws, str(res["invoice_no"]))
    assert (row["cap"], row["insp"]) == (500_000, 490_000)
    (line,) = [r for r in rows(ws, INVOICE_LINES.name) if r["invoice_no"] == res["invoice_no"]]
    assert (line["am"], line["mu"], line["dis"], line["vam"]) == (4, "کیلوگرم", 100_000, 90_000)


def test_excel_export_writes_text_never_formulas(tmp_path: Path) -> None:
    line = moadian.compute_line(
        sstid="2330001234567", sstt='=HYPERLINK("http://evil.example")', am=1, mu="1627", fee=10
    )
    inv = moadian.Invoice(header=moadian.Header(tins="0012"), body=[line])
    path = write_tax_excel(tmp_path / "m.xlsx", [("1404-000001", inv)])
    wb = openpyxl.load_workbook(path)
    cells = [c for sh in wb.worksheets for r in sh.iter_rows() for c in r if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert wb[HEADER_SHEET]["J3"].value == "0012"  # tins as text: the leading zeros kept
    assert wb[LINES_SHEET]["D3"].value == '=HYPERLINK("http://evil.example")'


# --- acceptance 2: refused before anything is issued -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field", "fa", "en"),
    [
        (
            ["--line", "2330001234567|پمپ|1|عدد|1000", "--line", "2330001234574|کابل|2|999|500"],
            "lines[2].mu",
            "ردیف 2",
            "line 2",
        ),
        (
            [
                "--line",
                "2330001234567|پمپ|1|عدد|1000",
                "--buyer-type",
                "natural",
                "--buyer-id",
                "0012345678",
            ],
            "bid",
            "کد ملی",
            "national code",
        ),
        (["--line", "2330001234567|پمپ|1|عدد|1000", "--total", "1000"], "tbill", "مجموع", "total"),
        (["--line", "233000123456|پمپ|1|عدد|1000"], "lines[1].sstid", "13 رقم", "13 digits"),
        (
            ["--line", "2330001234567|پمپ|1|عدد|1000", "--settlement", "mixed"],
            "cap",
            "نقدی",
            "cash",
        ),
        (["--line", "2330001234567|پمپ|1|عدد|1000", "--cash", "500"], "cap", "نقدی", "mixed"),
    ],
)
def test_refused_before_anything_is_issued(
    ws: Workspace, args: list[str], field: str, fa: str, en: str
) -> None:
    issue(ws, "P-00001", "--line", "2330001234567|پمپ|1|عدد|1000")  # counters and log exist
    before = workspace_state(ws)
    out = json.loads(
        cli(ws, "--json", "invoice", "issue", "P-00001", *args, "--at", "1404/08/11", code=1)
    )
    err = out["error"]
    assert err["location"]["field"] == field
    assert fa in err["fa"] and en in err["en"]
    assert workspace_state(ws) == before  # register (counters, log), folders, backups untouched
    assert issue(ws, "P-00001", "--line", "2330001234567|پمپ|1|عدد|1000")["invoice_no"] == (
        "1404-000002"
    )


def test_lines_file_whose_totals_do_not_add_up_is_refused(ws: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "lines.csv"
    csv.write_text(
        "sstid,sstt,am,mu,fee,dis,vra,prdis,adis,vam,tsstam\n"
        "2330001234567,پمپ,2,1627,1000,0,10,2000,2000,200,2200\n"
        "2330001234574,کابل,3,165,500,0,10,1500,1500,160,1660\n",  # vam should be 150
        encoding="utf-8",
    )
    before = workspace_state(ws)
    out = json.loads(cli(ws, "--json", "invoice", "issue", "P-00001", "--lines", str(csv), code=1))
    assert out["error"]["code"] == "total-error"
    assert out["error"]["location"]["field"] == "lines[2].vam"
    assert (
        out["error"]["location"]["file"] is None or "lines.csv" in out["error"]["location"]["file"]
    )
    assert workspace_state(ws) == before


# --- acceptance 3: corrective, void, return -----------------------------------------------------------


def test_corrective_void_and_return_refer_to_the_original(ws: Workspace, tmp_path: Path) -> None:
    first = issue(ws, "P-00001", *THREE_LINES)
    corr = json.loads(
        cli(
            ws,
            "--json",
            "invoice",
            "correct",
            "1404-000001",
            "--at",
            "1404/08/12 09:00",
            "--line",
            "2330001234567|پمپ سانتریفیوژ|2|دستگاه|140000000",
        )
    )
    assert corr["irtaxid"] == first["tax_id"] and corr["ins"] == 2
    orig = invoice_row(ws, "1404-000001")
    assert orig["superseded_by"] == corr["invoice_no"] and orig["record_status"] == "باطل"
    cli(ws, "invoice", "correct", "1404-000001", "--line", "2330001234567|x|1|عدد|5", code=1)

    ret = json.loads(
        cli(
            ws,
            "--json",
            "invoice",
            "return",
            str(corr["invoice_no"]),
            "--returned",
            "1|1",
            "--at",
            "1404/08/13 09:00",
        )
    )
    assert ret["irtaxid"] == corr["tax_id"] and ret["ins"] == 4 and ret["tbill"] == 154_000_000
    assert invoice_row(ws, str(corr["invoice_no"]))["superseded_by"] == ret["invoice_no"]
    cli(ws, "invoice", "return", str(ret["invoice_no"]), "--returned", "1|2", code=1)  # only 1 left

    void = json.loads(
        cli(ws, "--json", "invoice", "cancel", str(ret["invoice_no"]), "--at", "1404/08/14")
    )
    assert void["irtaxid"] == ret["tax_id"] and void["ins"] == 3
    assert invoice_row(ws, str(void["invoice_no"]))["record_status"] == "باطل"
    assert invoice_row(ws, str(ret["invoice_no"]))["superseded_by"] == void["invoice_no"]
    cli(ws, "invoice", "cancel", str(ret["invoice_no"]), code=1)  # cancelled already
    cli(
        ws,
        "invoice",
        "correct",
        str(void["invoice_no"]),
        "--line",
        "2330001234567|x|1|عدد|5",
        code=1,
    )

    taxes = [str(r["tax_id"]) for r in rows(ws, INVOICES.name)]
    serials = [ids.parse_tax_id(t).serial for t in taxes]
    assert serials == [1, 2, 3, 4]  # every invoice its own serial, never reused
    (case,) = [c for c in rows(ws, "Cases") if c["case_no"] == "P-00001"]
    assert case["invoice_nos"] in (None, "")  # nothing live: the sale was cancelled
    log = [r["operation"] for r in rows(ws, "Log")]
    assert log[-4:] == ["invoice-issue", "invoice-correct", "invoice-return", "invoice-cancel"]

    out = tmp_path / "json"
    cli(ws, "invoice", "export", "--period", "1404/08", "--json", str(out))
    exported = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
    assert [exported[n]["header"]["ins"] for n in sorted(exported)] == [1, 2, 4, 3]
    v = exported[str(void["invoice_no"])]
    assert v["body"] == exported[str(ret["invoice_no"])]["body"]  # a void repeats its lines
    assert findings(ws) == []


def test_return_of_everything_is_refused_as_a_cancel(ws: Workspace) -> None:
    issue(ws, "P-00001", "--line", "2330001234567|پمپ|2|عدد|1000")
    before = workspace_state(ws)
    out = json.loads(
        cli(ws, "--json", "invoice", "return", "1404-000001", "--returned", "1|2", code=1)
    )
    assert "cancel" in out["error"]["en"]
    assert workspace_state(ws) == before


def test_amount_only_invoices_keep_working_but_are_not_exported(
    ws: Workspace, tmp_path: Path
) -> None:
    res = json.loads(
        cli(
            ws, "--json", "invoice", "issue", "P-00001", "--amount", "5000000", "--at", "1404/08/10"
        )
    )
    assert ids.is_tax_id(res["tax_id"])
    out = json.loads(
        cli(ws, "--json", "invoice", "export", "1404-000001", "--json", str(tmp_path), code=1)
    )
    assert out["error"]["location"]["field"] == "lines"
    cli(ws, "invoice", "correct", "1404-000001", "--line", "2330001234567|x|1|عدد|5", code=1)
    cli(ws, "invoice", "issue", "P-00001", "--buyer-type", "legal", code=1)  # needs lines
    assert findings(ws) == []


# --- acceptance 4: the JSON's names and types ----------------------------------------------------------

#: The published specification's fields (INTA; the JSON types of the Jooyeshgar/moadian SDK):
#: "s" text, "i" integer, "n" number.
SPEC_HEADER = dict.fromkeys(
    [
        "taxid",
        "inno",
        "irtaxid",
        "tins",
        "bid",
        "tinb",
        "sbc",
        "bpc",
        "bbc",
        "bpn",
        "scln",
        "scc",
        "crn",
        "billid",
    ],
    "s",
)
SPEC_HEADER |= dict.fromkeys(
    ["indatim", "indati2m", "inty", "inp", "ins", "tob", "ft", "setm"], "i"
)
SPEC_HEADER |= dict.fromkeys(
    ["tprdis", "tdis", "tadis", "tvam", "todam", "tbill", "cap", "insp", "tvop", "tax17"], "n"
)
SPEC_BODY = dict.fromkeys(["sstid", "sstt", "mu", "cut", "odt", "olt", "bsrn"], "s")
SPEC_BODY |= dict.fromkeys(
    [
        "am",
        "fee",
        "cfee",
        "exr",
        "prdis",
        "dis",
        "adis",
        "vra",
        "vam",
        "odr",
        "odam",
        "olr",
        "olam",
        "consfee",
        "spro",
        "bros",
        "tcpbs",
        "cop",
        "vop",
        "tsstam",
    ],
    "n",
)
SPEC_PAYMENT = dict.fromkeys(["iinn", "acn", "trmn", "trn", "pcn", "pid"], "s") | {"pdt": "i"}


def _typed(value: object, kind: str) -> bool:
    if value is None:
        return True
    if kind == "s":
        return isinstance(value, str)
    if kind == "i":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_json_matches_the_specifications_names_and_types(ws: Workspace, tmp_path: Path) -> None:
    issue(ws, "P-00001", *THREE_LINES)
    cli(ws, "invoice", "export", "1404-000001", "--json", str(tmp_path))
    data = json.loads((tmp_path / "1404-000001.json").read_text(encoding="utf-8"))
    assert set(data) == {"header", "body", "payments"}
    assert set(data["header"]) == set(SPEC_HEADER)
    assert all(_typed(data["header"][k], t) for k, t in SPEC_HEADER.items())
    for line in data["body"]:
        assert set(line) == set(SPEC_BODY)
        assert all(_typed(line[k], t) for k, t in SPEC_BODY.items())
    assert data["payments"] == []
    assert set(Payment().model_dump(mode="json")) == set(SPEC_PAYMENT)
    # indatim: milliseconds since 1970-01-01 UTC of the issue time (1404/08/10 10:00 Tehran)
    when = datetime(2025, 11, 1, 6, 30, tzinfo=UTC)
    assert data["header"]["indatim"] == int(when.timestamp() * 1000)
    assert ids.parse_tax_id(data["header"]["taxid"]).day == when.date()


# --- export guards and validate ---------------------------------------------------------------------


def test_export_never_overwrites_records_or_files_without_force(
    ws: Workspace, tmp_path: Path
) -> None:
    issue(ws, "P-00001", *THREE_LINES)
    register = digest(ws.register_path)
    cli(ws, "invoice", "export", "1404-000001", "--xlsx", str(ws.register_path), code=1)
    cli(ws, "invoice", "export", "1404-000001", "--json", str(ws.customers_dir), code=1)
    assert digest(ws.register_path) == register
    target = tmp_path / "m.xlsx"
    target.write_text("mine")
    cli(ws, "invoice", "export", "1404-000001", "--xlsx", str(target), code=1)
    assert target.read_text() == "mine"
    cli(ws, "invoice", "export", "1404-000001", "--xlsx", str(target), "--force")
    assert openpyxl.load_workbook(target).sheetnames == [HEADER_SHEET, LINES_SHEET]
    cli(ws, "invoice", "export", "1404-000009", "--xlsx", str(tmp_path / "n.xlsx"), code=1)


def test_validate_finds_what_the_commands_would_refuse(ws: Workspace) -> None:
    issue(ws, "P-00001", *THREE_LINES)
    assert findings(ws) == []
    wb = openpyxl.load_workbook(ws.register_path)
    lines, invoices = wb[INVOICE_LINES.sheet], wb[INVOICES.sheet]
    keys = {c.value: c.column_letter for c in lines[4]}
    ikeys = {c.value: c.column_letter for c in invoices[4]}
    lines[f"{keys['vam']}7"] = 999  # line 2 of the invoice (data from row 6)
    lines[f"{keys['mu']}8"] = "قابلمه"  # not a unit
    invoices[f"{ikeys['tinb']}6"] = "10203040509"  # bad legal ID check digit
    wb.save(ws.register_path)
    found = findings(ws)
    sheet_l, sheet_i = INVOICE_LINES.sheet, INVOICES.sheet
    assert ("total-error", sheet_l, f"{keys['vam']}7") in found
    assert ("enum-error", sheet_l, f"{keys['mu']}8") in found
    assert ("identifier-error", sheet_i, f"{ikeys['tinb']}6") in found
    assert ("total-error", sheet_i, f"{ikeys['tvam']}6") in found  # Σ vam no longer matches
    # the command refuses the same invoice for export
    cli(ws, "invoice", "export", "1404-000001", "--json", str(ws.root.parent / "j"), code=1)


def test_customer_with_a_bad_national_code_is_refused(ws: Workspace) -> None:
    """The register's national code (typed over by hand) is the buyer's id: checked, not trusted."""
    wb = openpyxl.load_workbook(ws.register_path)
    sheet = wb[CUSTOMERS.sheet]
    col = next(c.column_letter for c in sheet[4] if c.value == "national_id")
    sheet[f"{col}7"] = "0012345678"  # C-00002 (data from row 6): wrong check digit
    wb.save(ws.register_path)
    before = workspace_state(ws)
    out = json.loads(
        cli(
            ws,
            "--json",
            "invoice",
            "issue",
            "P-00002",
            "--line",
            "2330001234567|پمپ|1|عدد|1000",
            code=1,
        )
    )
    assert out["error"]["code"] == "identifier-error"
    assert out["error"]["location"]["field"] == "bid"
    assert "کد ملی" in out["error"]["fa"] and "national code" in out["error"]["en"]
    assert workspace_state(ws) == before
