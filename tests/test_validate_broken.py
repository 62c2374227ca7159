"""A corpus of broken inputs: each gives a finding (or exit code 2), never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from crm_xl.cli.validate import validate_cmd
from crm_xl.domain import schema
from crm_xl.io.layout import build_form
from crm_xl.validation import validate_paths

R = schema.FIRST_DATA_ROW


def _register(path: Path) -> Path:
    return build_form(path, schema.F_31_08_02)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("corpus")
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> Path:
        p = d / name
        p.write_bytes(data)
        files[name] = p
        return p

    put("text.xlsx", b"this is not a workbook")
    put("empty.xlsx", b"")
    put("encrypted.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with zipfile.ZipFile(d / "nozip-workbook.xlsx", "w") as zf:
        zf.writestr("hello.txt", "hi")
    files["nozip-workbook.xlsx"] = d / "nozip-workbook.xlsx"
    with zipfile.ZipFile(d / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    files["bomb.xlsx"] = d / "bomb.xlsx"
    good = _register(d / "good.xlsx")
    put("truncated.xlsx", good.read_bytes()[: good.stat().st_size // 2])
    wb = openpyxl.Workbook()
    wb.worksheets[0]["A1"] = "just a sheet"
    wb.save(d / "unknown.xlsx")
    files["unknown.xlsx"] = d / "unknown.xlsx"

    def edit(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        p = shutil.copy(good, d / name)
        book = openpyxl.load_workbook(p)
        fn(book)
        book.save(p)
        files[name] = Path(p)

    edit("missing-sheet.xlsx", lambda b: b.remove(b[schema.CASES.sheet]))

    def formula(b: openpyxl.Workbook) -> None:
        ws = b[schema.CUSTOMERS.sheet]
        for c, v in zip(
            "ABCGILM",
            ["C-00001", "علی", "حقیقی", "تلفن", "x", "1403/01/05", "تماس اول"],
            strict=True,
        ):
            ws[f"{c}{R}"] = v
        ws[f"K{R}"] = '=CONCAT("a","b")'

    edit("formula.xlsx", formula)

    def merged(b: openpyxl.Workbook) -> None:
        ws = b[schema.CUSTOMERS.sheet]
        ws[f"A{R}"], ws[f"B{R}"] = "C-00001", "علی"
        ws.merge_cells(f"B{R}:C{R}")

    edit("merged.xlsx", merged)

    def repack(name: str, change, stored: str = "") -> None:  # type: ignore[no-untyped-def]
        with zipfile.ZipFile(good) as z:
            parts = {i.filename: z.read(i.filename) for i in z.infolist()}
        change(parts)
        with zipfile.ZipFile(d / name, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in parts.items():
                z.writestr(n, data, compress_type=zipfile.ZIP_STORED if n == stored else None)
        files[name] = d / name

    sheet1 = "xl/worksheets/sheet1.xml"

    def stray(parts: dict[str, bytes]) -> None:
        parts[sheet1] = parts[sheet1].replace(
            b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        )

    def entities(parts: dict[str, bytes]) -> None:
        lol = b"".join(b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10) for i in range(1, 9))
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
            b"<workbook", b'<!DOCTYPE w [<!ENTITY l0 "lol">' + lol + b"]><workbook", 1
        )

    repack("stray.xlsx", stray)
    repack("entities.xlsx", entities)
    repack("corrupt.xlsx", lambda parts: None, stored=sheet1)
    data = bytearray(files["corrupt.xlsx"].read_bytes())
    data[data.find(b"<sheetData") + 1] = ord("S")  # the stored sheet no longer matches its CRC
    files["corrupt.xlsx"].write_bytes(bytes(data))
    edit("no-key.xlsx", lambda b: b[schema.CUSTOMERS.sheet].cell(schema.KEY_ROW, 2, "junk"))
    return files


EXPECT = {
    "text.xlsx": "broken-file",
    "empty.xlsx": "broken-file",
    "encrypted.xlsx": "encrypted-file",
    "nozip-workbook.xlsx": "broken-file",
    "bomb.xlsx": "zip-bomb",
    "truncated.xlsx": "broken-file",
    "unknown.xlsx": "unknown-form",
    "missing-sheet.xlsx": "missing-sheet",
    "formula.xlsx": "formula-in-data",
    "merged.xlsx": "merged-cells",
    "no-key.xlsx": "missing-column",
    "stray.xlsx": "range-too-large",
    "entities.xlsx": "unsafe-xml",
    "corrupt.xlsx": "broken-file",
}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_each_broken_file_gives_its_finding(corpus: dict[str, Path], name: str) -> None:
    res = CliRunner().invoke(validate_cmd, [str(corpus[name]), "--format", "json"])
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code in (1, 2)
    codes = [f["code"] for f in json.loads(res.output)["findings"]]
    assert EXPECT[name] in codes


def test_formula_and_merge_locations(corpus: dict[str, Path]) -> None:
    f = validate_paths([corpus["formula.xlsx"]]).findings
    assert [(x.sheet, x.cell) for x in f if x.code == "formula-in-data"] == [
        (schema.CUSTOMERS.sheet, f"K{R}")
    ]
    m = validate_paths([corpus["merged.xlsx"]]).findings
    assert [(x.sheet, x.cell) for x in m if x.code == "merged-cells"] == [
        (schema.CUSTOMERS.sheet, f"B{R}")
    ]


def test_the_whole_corpus_in_one_run(corpus: dict[str, Path]) -> None:
    folder = next(iter(corpus.values())).parent
    report = validate_paths([folder])
    assert report.exit_code == 1
    assert {f.code for f in report.findings} >= set(EXPECT.values())


def test_cannot_run_exit_2(tmp_path: Path) -> None:
    r = CliRunner().invoke(validate_cmd, [str(tmp_path / "missing")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(validate_cmd, [str(tmp_path / "empty")])
    assert r.exit_code == 2
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "settings.json").write_text("{broken", encoding="utf-8")
    _register(ws / "F-31-08-02.xlsx")
    r = CliRunner().invoke(validate_cmd, [str(ws), "--format", "json"])
    assert r.exit_code == 2 and json.loads(r.output)["error"]["code"] == "bad-settings"


@pytest.mark.parametrize(
    "name", ["encrypted.xlsx", "truncated.xlsx", "bomb.xlsx", "stray.xlsx", "corrupt.xlsx"]
)
def test_subprocess_no_traceback(corpus: dict[str, Path], name: str) -> None:
    cmd = [sys.executable, "-m", "crm_xl.cli.validate", str(corpus[name])]
    exe = shutil.which("crm-xl")
    if exe and name == "encrypted.xlsx":
        probe = subprocess.run([exe, "validate", "--help"], capture_output=True, text=True)
        if probe.returncode == 0:
            cmd = [exe, "validate", str(corpus[name])]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stdout + p.stderr
