"""Issue 13, acceptance 5 (review §A10, §A13): a hostile-file corpus, answered in seconds.

Each file is generated here and given, in real processes, to ``crm-xl validate FILE`` and as
the register of ``crm-xl customer add``.  Each answer comes within 10 s and 500 MB peak RSS
(``getrusage`` of the process, measured by a small wrapper) with a clear message naming the file, exit 1, and every file of
the workspace byte-identical afterwards.  On the old code a stray cell at XFD1048576 made
validate abort with a Rust allocation panic and customer add run 217 s and 5.2 GB, a 1 GiB
bomb was accepted as the register (1.1 GB), a corrupt member printed a thread traceback,
and the external link was carried into the rewritten register.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from crm_xl.domain.schema import CUSTOMERS, F_31_08_01
from crm_xl.io.workspace import Workspace

pytestmark = pytest.mark.slow

SECONDS = 10
RSS_BYTES = 500 * 2**20
EXPERT = "کارشناس یک"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# --- measuring a real process -------------------------------------------------------------------


@dataclass
class Ran:
    code: int
    out: str
    err: str
    seconds: float
    rss: int  # peak resident set size of the process, bytes


#: Runs the command and writes its peak RSS (KB) and wall time to argv[1].  A process forked
#: from this one would inherit the test's own high-water mark (Linux keeps it across exec);
#: the small wrapper's child starts from the wrapper's few megabytes.
_MEASURE = """
import resource, subprocess, sys, time
t = time.monotonic()
code = subprocess.run(sys.argv[2:]).returncode
with open(sys.argv[1], "w") as fh:
    fh.write(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {time.monotonic() - t}")
sys.exit(code)
"""


def crm_xl(*args: str, timeout: float = 60) -> Ran:
    """``crm-xl ARGS`` in its own process: exit code, output, wall time, peak RSS."""
    exe = Path(sys.executable).with_name("crm-xl")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "crm_xl.cli.main"]
    with tempfile.TemporaryDirectory() as d:
        stats = Path(d) / "stats"
        p = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(stats), *cmd, *args],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        rss_kb, seconds = stats.read_text().split()
    return Ran(
        p.returncode,
        p.stdout.decode("utf-8", "replace"),
        p.stderr.decode("utf-8", "replace"),
        float(seconds),
        int(rss_kb) * 1024,  # kilobytes on Linux
    )


# --- the corpus ---------------------------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _write(path: Path, members: dict[str, bytes], stored: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            kind = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=kind)
    return path


def _sheet_member(members: dict[str, bytes], sheet: str) -> str:
    book = members["xl/workbook.xml"].decode("utf-8")
    rels = members["xl/_rels/workbook.xml.rels"].decode("utf-8")
    rid = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', book)
    assert rid is not None
    target = re.search(rf'Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels
    )
    assert target is not None
    t = target.group(1)
    return t.lstrip("/") if t.startswith("/") else f"xl/{t}"


def _patch_sheet(good: Path, out: Path, sheet: str, before_end: bytes) -> Path:
    """The register with XML inserted at the end of a sheet's data (dimension left as it was)."""
    m = _members(good)
    name = _sheet_member(m, sheet)
    m[name] = m[name].replace(b"</sheetData>", before_end + b"</sheetData>", 1)
    return _write(out, m)


def _bomb(out: Path) -> Path:
    """1 MB that unpacks to 1 GiB: one member of repeated bytes, written in chunks."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            chunk = b"\0" * 2**24
            for _ in range(64):
                fh.write(chunk)
    assert out.stat().st_size < 2 * 2**20
    return out


def _wide_bomb(out: Path) -> Path:
    """600 members of 1 MiB each, none above the ratio floor: 600 MiB in total."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        block = b" " * 2**20
        for i in range(600):
            zf.writestr(f"xl/media/pad{i}.bin", block)
    return out


def _billion_laughs(good: Path, out: Path) -> Path:
    m = _members(good)
    lol = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    doctype = f'<!DOCTYPE workbook [<!ENTITY lol0 "lol">{lol}]>'
    book = m["xl/workbook.xml"].decode("utf-8")
    book = book.replace("<workbook", doctype + "<workbook", 1)
    book = book.replace("</workbook>", "<!-- &lol9; --></workbook>")
    m["xl/workbook.xml"] = book.encode("utf-8")
    return _write(out, m)


def _xxe(good: Path, out: Path) -> Path:
    m = _members(good)
    name = _sheet_member(m, CUSTOMERS.sheet)
    xml = m[name].decode("utf-8")
    xml = xml.replace(
        "<worksheet", '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet', 1
    )
    xml = xml.replace(
        "</sheetData>",
        '<row r="6"><c r="B6" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData>',
        1,
    )
    m[name] = xml.encode("utf-8")
    return _write(out, m)


def _million_rows(good: Path, out: Path) -> Path:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(6, 1_000_006))
    return _patch_sheet(good, out, CUSTOMERS.sheet, rows.encode("ascii"))


def _corrupt(good: Path, out: Path) -> Path:
    """A member whose bytes no longer match its CRC (stored, one byte changed)."""
    m = _members(good)
    name = _sheet_member(m, CUSTOMERS.sheet)
    _write(out, m, stored=(name,))
    data = bytearray(out.read_bytes())
    at = data.find(b"<sheetData")
    assert at > 0
    data[at + 1] = ord("S")  # <SheetData: the CRC no longer matches
    out.write_bytes(bytes(data))
    return out


def _external_link(good: Path, out: Path) -> Path:
    """A register linked to a workbook on an attacker's share (Excel fetches it on open)."""
    m = _members(good)
    ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    m["xl/externalLinks/externalLink1.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="' + ns.encode() + b'"><externalBook r:id="rId1"><sheetNames>'
        b'<sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>'
    )
    m["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="' + ns.encode() + b'/externalLinkPath" '
        b'Target="file:///\\\\attacker\\share\\x.xlsx" TargetMode="External"/></Relationships>'
    )
    rels = m["xl/_rels/workbook.xml.rels"].decode("utf-8")
    rels = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdX1" Type="{ns}/externalLink" '
        'Target="externalLinks/externalLink1.xml"/></Relationships>',
    )
    m["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
    book = m["xl/workbook.xml"].decode("utf-8")
    book = re.sub(
        r"</sheets>",
        '</sheets><externalReferences><externalReference r:id="rIdX1"/></externalReferences>',
        book,
        count=1,
    )
    m["xl/workbook.xml"] = book.encode("utf-8")
    types = (
        m["[Content_Types].xml"]
        .decode("utf-8")
        .replace(
            "</Types>",
            '<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>',
        )
    )
    m["[Content_Types].xml"] = types.encode("utf-8")
    return _write(out, m)


#: name -> (finding code of validate FILE, text of the refusal, suffix of the file)
EXPECT: dict[str, tuple[str, str, str]] = {
    "not-a-zip": ("broken-file", "is not an .xlsx workbook", ".xlsx"),
    "empty": ("broken-file", "is empty", ".xlsx"),
    "truncated": ("broken-file", "is not an .xlsx workbook", ".xlsx"),
    "encrypted": ("encrypted-file", "password-protected or an old .xls", ".xlsx"),
    "old-xls": ("encrypted-file", "password-protected or an old .xls", ".xls"),
    "zip-bomb": ("zip-bomb", "zip bomb", ".xlsx"),
    "zip-bomb-wide": ("zip-bomb", "zip bomb", ".xlsx"),
    "billion-laughs": ("unsafe-xml", "DOCTYPE/ENTITY", ".xlsx"),
    "xxe": ("unsafe-xml", "DOCTYPE/ENTITY", ".xlsx"),
    "stray-XFD1048576": ("range-too-large", "reaches cell XFD1048576", ".xlsx"),
    "stray-A1048576": ("range-too-large", "reaches cell A1048576", ".xlsx"),
    "million-rows": ("range-too-large", "beyond the limit of 500,000 rows", ".xlsx"),
    "corrupt-member": ("broken-file", "is corrupt", ".xlsx"),
    "external-link": ("external-link", "links to the outside file", ".xlsx"),
    "wrong-form": ("form-mismatch", "should be form F-31-08-02 but holds form F-31-08-01", ".xlsx"),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace with one customer: the register, a customer folder and form."""
    root = tmp_path_factory.mktemp("corpus") / "ws"
    ran = crm_xl("init", str(root), "--company", "شرکت آزمون", "--expert", EXPERT, "--no-macros")
    assert ran.code == 0, ran.err
    ran = crm_xl(*_add_args(root, "مشتری نخست"))
    assert ran.code == 0, ran.err
    return Workspace.open(root)


@pytest.fixture(scope="module")
def corpus(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each hostile file in a folder of its own, named as the register."""
    d = tmp_path_factory.mktemp("hostile")
    good = workspace.register_path
    form = next(workspace.customers_dir.glob(f"*/{F_31_08_01.code}*.xlsx"))
    files: dict[str, Path] = {}
    for name, (_, _, suffix) in EXPECT.items():
        (d / name).mkdir()
        files[name] = d / name / f"F-31-08-02{suffix}"
    files["not-a-zip"].write_text("this is not a workbook\n", encoding="utf-8")
    files["empty"].write_bytes(b"")
    files["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    files["encrypted"].write_bytes(OLE + b"\0" * 504 + "EncryptedPackage".encode("utf-16-le"))
    files["old-xls"].write_bytes(OLE + b"\0" * 504 + "Workbook".encode("utf-16-le"))
    _bomb(files["zip-bomb"])
    _wide_bomb(files["zip-bomb-wide"])
    _billion_laughs(good, files["billion-laughs"])
    _xxe(good, files["xxe"])
    cell = '<row r="1048576"><c r="{0}1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    _patch_sheet(good, files["stray-XFD1048576"], CUSTOMERS.sheet, cell.format("XFD").encode())
    _patch_sheet(good, files["stray-A1048576"], CUSTOMERS.sheet, cell.format("A").encode())
    _million_rows(good, files["million-rows"])
    _corrupt(good, files["corrupt-member"])
    _external_link(good, files["external-link"])
    shutil.copyfile(form, files["wrong-form"])
    return files


def _add_args(root: Path, name: str) -> list[str]:
    return ["-w", str(root), "customer", "add", "--name", name, "--type", "natural",
            "--channel", "phone", "--expert", EXPERT, "--need", "پمپ"]  # fmt: skip


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.parent.name == ".crm_xl" and p.name.startswith("lock"):
            continue  # the workspace lock's own bookkeeping changes with every command
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def _within_budget(ran: Ran, what: str) -> None:
    assert ran.seconds < SECONDS, f"{what}: {ran.seconds:.1f} s"
    assert ran.rss < RSS_BYTES, f"{what}: {ran.rss / 2**20:.0f} MB"
    assert "Traceback" not in ran.out + ran.err, (what, ran.err)
    assert "unexpected error" not in ran.out + ran.err, (what, ran.err)


@pytest.mark.parametrize("name", list(EXPECT))
def test_validate_file(corpus: dict[str, Path], name: str) -> None:
    code, text, _ = EXPECT[name]
    path = corpus[name]
    before = _snapshot(path.parent)
    ran = crm_xl("validate", str(path), "--format", "json")
    _within_budget(ran, f"validate {name}")
    assert ran.code == 1, (ran.out, ran.err)
    findings = json.loads(ran.out)["findings"]
    mine = [f for f in findings if f["code"] == code]
    assert mine, findings
    assert path.name in mine[0]["message_en"] or path.name in (mine[0]["file"] or "")
    assert text in mine[0]["message_en"], mine[0]["message_en"]
    assert mine[0]["message_fa"]
    assert _snapshot(path.parent) == before


@pytest.mark.parametrize("name", list(EXPECT))
def test_customer_add_on_a_hostile_register(
    workspace: Workspace, corpus: dict[str, Path], tmp_path: Path, name: str
) -> None:
    _, text, _ = EXPECT[name]
    root = tmp_path / "ws"
    shutil.copytree(workspace.root, root)
    for reg in root.glob("F-31-08-02.xls*"):
        reg.unlink()
    shutil.copyfile(corpus[name], root / "F-31-08-02.xlsx")
    before = _snapshot(root)
    ran = crm_xl(*_add_args(root, "مشتری تازه"))
    _within_budget(ran, f"customer add {name}")
    assert ran.code == 1, (ran.out, ran.err)
    assert "F-31-08-02.xlsx" in ran.err, ran.err
    assert text in ran.err, ran.err
    assert _snapshot(root) == before
