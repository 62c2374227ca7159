"""Nothing gets in (SPEC §10): values are written as text or numbers, workbooks are opened only
after a cheap look at the package.

**Values.** A spreadsheet turns text that begins with ``=`` into a formula (openpyxl on
assignment, XlsxWriter's ``write``, Excel when a person edits the cell), and Excel treats a
leading ``+``, ``-`` or ``@`` the same way on entry.  :func:`formula_like` says which texts are
at risk, also when the lead only appears after the invisible marks ``text.normalize`` strips
(tab, LRM/RLM, ZWNJ, BOM, NBSP).  Writers keep such text literal: openpyxl cells get the
string type and the *quote prefix* style (``workbook.write_cell``), XlsxWriter books never
convert strings (``layout.new_workbook``), the live-workbook store formats the cell as text
(``@``) before the value.  The value read back is the text the user typed (normalised).

**Files.** :func:`inspect` looks at a workbook before any parser does, in bounded memory and
one streaming pass over the package (decompressed in 1 MiB chunks, nothing kept; a file of
a few megabytes is read once and inflated from memory):

* it is a file, not empty, not OLE2/CFB (a password-protected workbook or an old ``.xls``),
  a zip whose members use stored/deflate, are not encrypted and are not named twice;
* member count, total unpacked size and each large member's compression ratio (zip bombs),
  every member's CRC (a corrupt member is refused here, not as a parser traceback);
* no XML part declares a DOCTYPE or ENTITY (billion laughs, XXE: no Excel file has one);
* each worksheet's used range: its ``<dimension ref>`` and the largest row and column any row
  or cell actually names (positions counted as readers count them when ``r`` is absent),
  ranges readers expand cell by cell (merged cells, hyperlinks, comments) and the shared
  strings count calamine reserves memory for;
* links to outside the file: linked workbooks (``externalLink`` parts), external objects,
  and hyperlinks with their cells.

Limits are in :data:`LIMITS` (one place; see :class:`Limits` for why each value).  A refusal
is a ``CrmError`` naming the file and, where it applies, the member, sheet and cell.  Results
are cached per file version (device, inode, size, mtime), so a command that reads the same
register several times inspects it once.  The fast readers of one table ask for that sheet
only (what calamine will read), which keeps ``refresh`` over thousands of forms cheap.  The
same pass notes what ``validate`` reports from the sheet XML (formulas, merged ranges).

Cost, measured on a 100k-customer register (110 MB of sheet XML): about 0.3-0.45x of a bare
calamine read of the same file; a customer form: about 0.3 ms.
"""

from __future__ import annotations

import html
import io
import os
import posixpath
import re
import struct
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from crm_xl.domain.errors import CrmError
from crm_xl.domain.text import normalize

__all__ = [
    "LIMITS",
    "Limits",
    "Link",
    "Package",
    "check_text_file",
    "formula_like",
    "inspect",
    "link_error",
    "refuse_links",
]

# --- values -----------------------------------------------------------------------------------

#: First characters that make Excel read an entry as a formula.
FORMULA_LEADS = frozenset("=+-@")


def formula_like(value: object) -> bool:
    """True for text a spreadsheet would take as a formula, now or once normalised or edited."""
    if not isinstance(value, str) or not value:
        return False
    if value[0] in FORMULA_LEADS:
        return True
    if value[0].isalnum():  # the common case, no normalisation needed
        return False
    lead = normalize(value)[:1]
    return lead in FORMULA_LEADS


# --- limits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What a workbook may be before any parser sees it."""

    #: Zip members. A form has about 15; comments, tables, pictures add a few each.
    members: int = 2_000
    #: Total unpacked bytes. A 100k-customer register (35k cases, 20k invoices) rewritten by
    #: openpyxl unpacks to 141 MB (measured with benchmarks/gen_synthetic.py); its change log
    #: grows by one row per operation, so this leaves room for 3.5x that.  The zip bombs
    #: people send (1 MB to 1 GiB and more) are far above it.
    unpacked: int = 512 * 2**20
    #: Compression ratio of any member larger than ``ratio_floor``: sheet XML compresses about
    #: 10:1 (measured on the register above), long runs of blank styled cells about 30:1; a
    #: bomb of repeated bytes 1000:1.
    ratio: int = 100
    ratio_floor: int = 2**20
    #: Parts parsed whole (workbook.xml, relationships): kilobytes in a real file.
    small_part: int = 16 * 2**20
    #: Rows and columns any cell of a sheet may name.  The widest workbook the toolkit writes
    #: has 33 columns (parties export); people add a few of their own.  Excel's 16,384 columns
    #: x 1,048,576 rows would let one stray cell make a dense reader (calamine) allocate 17
    #: billion cells.  500,000 rows is 5x the customers of the register above and leaves a
    #: change log room to grow; a sheet past it is refused, not read for minutes.
    rows: int = 500_000
    cols: int = 300
    #: Cells of a sheet's used range (rows x columns from A1), what calamine allocates and
    #: openpyxl iterates: the 100k register's Customers sheet is 2.3 million.
    cells: int = 10_000_000
    #: Cells openpyxl makes one object for each in a merged or hyperlinked range, per sheet.
    span_cells: int = 100_000
    #: A text (CSV) list of leads, read whole: 100,000 rows are about 20 MB.
    text: int = 64 * 2**20


LIMITS = Limits()

_CHUNK = 1 << 20
#: Files up to this size are read once and their members inflated from memory.
_SMALL_FILE = 2 << 20
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XMLISH = (".xml", ".rels", ".vml")
_DOCTYPE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
#: Schemes a hyperlink in a cell may have; any other target (file:, \\server\share, a
#: relative path, a program's scheme) is refused.
WEB_SCHEMES = ("http://", "https://", "mailto:")

_REL_TYPE_SHEET = "/worksheet"
_REL_TYPE_EXTERNAL_BOOK = "/externalLink"
_REL_TYPE_HYPERLINK = "/hyperlink"


# --- what inspect returns -------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A reference from the workbook to something outside it."""

    kind: str  # "workbook" (externalLink part) | "object" | "hyperlink"
    target: str
    part: str  # the zip member that holds the reference
    sheet: str | None = None
    cell: str | None = None  # the hyperlink's cell or range

    @property
    def local(self) -> bool:
        """A hyperlink to a workbook beside this one (the after-sales catalog links each
        product to its form): a bare file name, no scheme, folder or parent."""
        name = urllib.parse.unquote(self.target.strip())
        return (
            self.kind == "hyperlink"
            and re.fullmatch(r"[^/\\:]+\.xls[xm]", name, re.IGNORECASE) is not None
            and not name.startswith(".")
        )

    @property
    def refused(self) -> bool:
        """Linked workbooks and objects always; hyperlinks unless web, e-mail or local."""
        if self.kind != "hyperlink":
            return True
        return not (self.target.strip().lower().startswith(WEB_SCHEMES) or self.local)


@dataclass
class Package:
    """What :func:`inspect` found in a workbook that passed."""

    path: Path
    sheets: dict[str, str] = field(default_factory=dict)  # sheet name -> worksheet member
    used: dict[str, tuple[int, int]] = field(default_factory=dict)  # sheet -> (rows, cols)
    links: list[Link] = field(default_factory=list)
    #: What validate reports from the same pass: sheets holding a formula, merged ranges.
    formulas: set[str] = field(default_factory=set)
    merges: dict[str, list[str]] = field(default_factory=dict)

    @property
    def hyperlinks(self) -> list[Link]:
        """Cell hyperlinks allowed in (web, e-mail, a workbook beside this one); never
        written out again."""
        return [x for x in self.links if x.kind == "hyperlink" and not x.refused]


# --- errors -------------------------------------------------------------------------------------


def _refuse(code: str, fa: str, en: str, path: Path, **where: str | None) -> CrmError:
    return CrmError(fa, en, code=code, file=str(path), **where)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f}"


# --- A1 references ----------------------------------------------------------------------------


def col_letters(n: int) -> str:
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _same_length_above(s: str) -> str | None:
    """A regex for digit strings as long as ``s`` (zeros allowed) and greater: a digit trie,
    so the engine decides digit by digit instead of trying one branch per length."""
    d, rest = int(s[0]), len(s) - 1
    alts = []
    if d < 9:
        alts.append(f"[{d + 1}-9]" + (rf"\d{{{rest}}}" if rest else ""))
    inner = _same_length_above(s[1:]) if rest else None
    if inner:
        alts.append(f"{s[0]}(?:{inner})")
    return "|".join(alts) or None


def _int_above(n: int) -> str:
    """A regex for a reference's row digits when the row is greater than ``n`` >= 0, or has a
    leading zero (the caller parses those): longer, or as long and greater."""
    s = str(n)
    same = _same_length_above(s)
    alts = ["0", rf"\d{{{len(s) + 1}}}"] + ([rf'(?=\d{{{len(s)}}}")(?:{same})'] if same else [])
    return "(?:" + "|".join(alts) + ")"


def _letters_above(n: int) -> str:
    """A regex for column letters whose index is greater than ``n`` >= 0."""
    s = col_letters(n)
    alts = [f"[A-Z]{{{len(s) + 1},}}"]
    for i, ch in enumerate(s):
        if ch != "Z":
            rest = len(s) - i - 1
            alts.append(s[:i] + f"[{chr(ord(ch) + 1)}-Z]" + (f"[A-Z]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(alts) + ")"


@lru_cache(maxsize=16)
def _row_numbers(px: bytes) -> re.Pattern[bytes]:
    return re.compile(b"<" + re.escape(px) + rb'row r="0*(\d{1,12})"')


@lru_cache(maxsize=1024)
def _scan(px: bytes, max_row: int, max_col: int, formula: bool) -> re.Pattern[bytes]:
    """One pass over a chunk of sheet XML (tags prefixed ``px``), stopping only at:

    * ``wide``: a cell past row ``max_row`` or column ``max_col`` (or with a leading zero);
    * ``positional``: a row or cell that does not start with its ``r`` reference;
    * ``span``: a merged range or a hyperlink (with its attributes);
    * ``formula``: a formula element, while ``formula`` (none seen yet in the sheet).

    Literal-led, possessive and digit by digit, so it runs at C speed and looks at nothing
    else; the rows of the chunk are read before (``_row_numbers``), so only stray cells and
    the first cells of each new column stop it.
    """
    rows, cols = _int_above(max_row), _letters_above(max_col)
    return re.compile(
        b"<"
        + re.escape(px)
        + (
            "(?:"
            + (r"(?P<formula>f)[\s/>]|" if formula else "")  # first: the cheapest to reject
            + rf'c(?: r="(?P<wide>{cols}\d|[A-Z]{{0,4}}+{rows})|(?P<positional>(?! r=")[\s/>]))'
            + r'|row(?! r=")[\s/>](?P<positional_row>)'
            + r"|(?P<span>mergeCell|hyperlink)\b(?P<attrs>[^>]*)>)"
        ).encode("ascii")
    )


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\sref="([^"]*)"')
_SPAN = re.compile(rb"<(?:\w+:)?(mergeCell|hyperlink)\b([^>]*)>")
_TOKEN = re.compile(rb"<(?:\w+:)?(row|c)(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(r"\$?([A-Z]{1,4})\$?(\d{1,12})")
_REF_BYTES = re.compile(rb"([A-Z]{0,4})(\d{1,12})\"")
_PREFIX = re.compile(rb"<(\w+):worksheet\b")
_SI = re.compile(rb"<(?:\w+:)?si[\s/>]")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s/>]")


def _attrs(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(raw):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        text = value.decode("utf-8", "replace")
        out[m.group(1).decode("ascii", "replace")] = html.unescape(text) if "&" in text else text
    return out


def _local(attrs: dict[str, str], name: str) -> str | None:
    """An attribute by local name, whatever its namespace prefix (r:id, ns1:id, id)."""
    for k, v in attrs.items():
        if k == name or k.endswith(":" + name):
            return v
    return None


def _corners(ref: str) -> list[tuple[int, int]] | None:
    """(column, row) of each corner of an A1 range or cell; None when it is not one."""
    out = []
    for part in ref.split(":"):
        m = _REF.fullmatch(part.strip())
        if m is None:
            return None
        out.append((col_index(m.group(1)), int(m.group(2))))
    return out


# --- inspecting a package -------------------------------------------------------------------


@dataclass
class _Sheet:
    """What the scan of one worksheet has found so far."""

    name: str
    member: str
    rels: dict[str, tuple[str, str, bool]]
    px: bytes = b""  # namespace prefix of the tags, e.g. b"x:"
    max_row: int = 0
    max_col: int = 0
    spans: int = 0
    links: list[Link] = field(default_factory=list)
    formula: bool = False
    merges: list[str] = field(default_factory=list)


class _Inspector:
    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.name = path.name
        self.limits = limits
        self.raw: bytes | None = None  # the whole file, when small

    def err(self, code: str, fa: str, en: str, **where: str | None) -> CrmError:
        return _refuse(code, fa, en, self.path, **where)

    # -- the container
    def open(self) -> zipfile.ZipFile:
        path, name = self.path, self.name
        if not path.exists():
            raise self.err("file-not-found", "فایل پیدا نشد", "file not found")
        if path.is_dir():
            raise self.err(
                "not-xlsx", "این مسیر پوشه است نه فایل اکسل", "path is a folder, not a workbook"
            )
        try:
            with path.open("rb") as fh:
                head = fh.read(8)
        except OSError as e:
            raise self.err(
                "unreadable", "فایل خوانده نشد", f"cannot read file: {e.strerror}"
            ) from e
        if not head:
            raise self.err("not-xlsx", f"فایل «{name}» خالی است", f"{name} is empty (0 bytes)")
        if head == _OLE_MAGIC:
            raise self.err(
                "encrypted",
                f"فایل «{name}» رمزدار است یا قالب قدیمی xls دارد؛ "
                "رمز را بردارید و با قالب xlsx ذخیره کنید",
                f"{name} is password-protected or an old .xls workbook; "
                "remove the password and save it as .xlsx",
            )
        try:
            if path.stat().st_size <= _SMALL_FILE:
                self.raw = path.read_bytes()
                return zipfile.ZipFile(io.BytesIO(self.raw))
            return zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
            raise self.err(
                "not-xlsx",
                f"فایل «{name}» اکسل (xlsx) نیست یا ناقص است",
                f"{name} is not an .xlsx workbook (not a zip package, or truncated: {e})",
            ) from e

    def check_members(self, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
        lim, name = self.limits, self.name
        infos = zf.infolist()
        if len(infos) > lim.members:
            raise self.err(
                "zip-bomb",
                f"فایل «{name}» {len(infos):,} بخش دارد؛ بیش از حد مجاز {lim.members:,}",
                f"{name} has {len(infos):,} zip members, above the limit of {lim.members:,}",
            )
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise self.err(
                "not-xlsx",
                f"فایل «{name}» بخش‌های هم‌نام دارد",
                f"{name} names a zip member twice",
            )
        if "xl/workbook.xml" not in names:
            raise self.err(
                "not-xlsx",
                f"فایل «{name}» اکسل (xlsx) نیست",
                f"{name} is not an .xlsx workbook (no xl/workbook.xml)",
            )
        total = sum(i.file_size for i in infos)
        if total > lim.unpacked:
            raise self.err(
                "zip-bomb",
                f"فایل «{name}» پس از باز شدن {_mb(total)} مگابایت می‌شود؛ "
                f"بیش از حد مجاز {_mb(lim.unpacked)} مگابایت (بمب زیپ؟)",
                f"{name} unpacks to {_mb(total)} MB, above the {_mb(lim.unpacked)} MB limit "
                "(zip bomb?)",
            )
        for i in infos:
            member = i.filename
            if i.flag_bits & 0x1:
                raise self.err(
                    "encrypted",
                    f"بخش «{member}» از فایل «{name}» رمزدار است",
                    f"member {member} of {name} is encrypted",
                )
            if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.err(
                    "not-xlsx",
                    f"بخش «{member}» از فایل «{name}» با روشی فشرده شده که اکسل ندارد",
                    f"member {member} of {name} uses a compression Excel does not write",
                )
            if i.file_size > lim.ratio_floor and i.file_size > lim.ratio * max(i.compress_size, 1):
                ratio = i.file_size // max(i.compress_size, 1)
                raise self.err(
                    "zip-bomb",
                    f"بخش «{member}» از فایل «{name}» بیش از حد فشرده است "
                    f"({ratio:,} به ۱؛ بمب زیپ؟)",
                    f"member {member} of {name} is compressed {ratio:,}:1, above the "
                    f"{lim.ratio}:1 limit (zip bomb?)",
                )
        return infos

    def chunks(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's bytes in chunks, no more than its declared size, CRC checked."""
        try:
            if self.raw is not None:  # a small file, read once: inflate straight from it
                yield self.inflate(info)
                return
            with zf.open(info) as fh:  # zipfile stops at the declared size, checks the CRC
                while chunk := fh.read(_CHUNK):
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError) as e:
            raise self.err(
                "corrupt-member",
                f"بخش «{info.filename}» از فایل «{self.name}» خراب است؛ "
                "فایل را از پشتیبان بردارید یا در اکسل باز و دوباره ذخیره کنید",
                f"member {info.filename} of {self.name} is corrupt ({e}); restore it from a "
                "backup or open and re-save it in Excel",
            ) from e

    def inflate(self, info: zipfile.ZipInfo) -> bytes:
        """One member of ``self.raw``, as zipfile would give it (the forms of a workspace are
        small and read by the thousand: this skips zipfile's per-member file handling)."""
        raw = self.raw
        assert raw is not None
        off = info.header_offset
        if raw[off : off + 4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local header")
        name_len, extra_len = struct.unpack("<HH", raw[off + 26 : off + 30])
        start = off + 30 + name_len + extra_len
        data = raw[start : start + info.compress_size]
        if info.compress_type == zipfile.ZIP_STORED:
            out = data
        else:
            out = zlib.decompressobj(-15).decompress(data, info.file_size + 1)
        if len(out) != info.file_size:
            raise zipfile.BadZipFile("size differs from the declared size")
        if zlib.crc32(out) != info.CRC:
            raise zipfile.BadZipFile("bad CRC-32")
        return out

    def read_small(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        if info.file_size > self.limits.small_part:
            raise self.err(
                "zip-bomb",
                f"بخش «{info.filename}» از فایل «{self.name}» بیش از حد بزرگ است",
                f"member {info.filename} of {self.name} is {_mb(info.file_size)} MB; "
                "a workbook's is a few kilobytes",
            )
        data = b"".join(self.chunks(zf, info))
        self.no_doctype(info.filename, data)
        return data

    def no_doctype(self, member: str, head: bytes) -> None:
        if _DOCTYPE.search(head):
            raise self.err(
                "unsafe-xml",
                f"بخش «{member}» از فایل «{self.name}» تعریف DOCTYPE/ENTITY دارد که هیچ فایل "
                "اکسلی ندارد (حمله XML)؛ فایل باز نشد",
                f"member {member} of {self.name} declares a DOCTYPE/ENTITY, which no Excel "
                "file has (XML entity attack); refused",
            )

    # -- the parts
    def run(self, scope: frozenset[str] | None = None) -> Package:
        """Inspect the package; with ``scope``, only what calamine reads for those sheets
        (workbook, its relationships, shared strings, styles, the sheets) and no links."""
        pkg = Package(self.path)
        with self.open() as zf:
            infos = {i.filename: i for i in self.check_members(zf)}
            wanted = infos if scope is None else ("xl/_rels/workbook.xml.rels",)
            rels = {
                n: self.relationships(n, self.read_small(zf, infos[n]))
                for n in wanted
                if n.endswith(".rels") and n in infos
            }
            book = self.read_small(zf, infos["xl/workbook.xml"])
            book_rels = rels.get("xl/_rels/workbook.xml.rels", {})
            for m in re.finditer(rb"<(?:\w+:)?sheet\b([^>]*)>", book):
                a = _attrs(m.group(1))
                rel = book_rels.get(_local(a, "id") or "")
                if rel and rel[0].endswith(_REL_TYPE_SHEET) and rel[1] in infos:
                    pkg.sheets[a.get("name", "")] = rel[1]
            by_part = {part: sheet for sheet, part in pkg.sheets.items()}
            if scope is None:
                self.external(pkg, infos, rels, by_part)
            else:
                by_part = {p: s for p, s in by_part.items() if s in scope}
            for n, info in infos.items():
                base = posixpath.basename(n)
                if n in by_part:
                    st = self.worksheet(zf, info, by_part[n], rels.get(_rels_of(n), {}))
                    pkg.used[st.name] = (st.max_row, st.max_col)
                    pkg.links.extend(st.links)
                    pkg.merges[st.name] = st.merges
                    if st.formula:
                        pkg.formulas.add(st.name)
                elif n.endswith(".rels") or n == "xl/workbook.xml":
                    continue  # read whole above
                elif base == "sharedStrings.xml":
                    self.shared_strings(zf, info)
                elif scope is not None and base != "styles.xml":
                    continue  # not read by calamine for these sheets
                elif n.startswith("xl/comments") and n.endswith(".xml"):
                    self.comments(zf, info)
                else:
                    self.plain(zf, info)
        return pkg

    def relationships(self, member: str, data: bytes) -> dict[str, tuple[str, str, bool]]:
        """rId -> (type, target part or external target, external?) of one .rels part."""
        source_dir = posixpath.dirname(posixpath.dirname(member))  # "xl/_rels/x.rels" -> "xl"
        out: dict[str, tuple[str, str, bool]] = {}
        for m in re.finditer(rb"<(?:\w+:)?Relationship\b([^>]*)>", data):
            a = _attrs(m.group(1))
            target = a.get("Target", "")
            external = a.get("TargetMode", "") == "External"
            if not external:
                target = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join(source_dir, target))
                )
            out[a.get("Id", "")] = (a.get("Type", ""), target, external)
        return out

    def external(
        self,
        pkg: Package,
        infos: dict[str, zipfile.ZipInfo],
        rels: dict[str, dict[str, tuple[str, str, bool]]],
        by_part: dict[str, str],
    ) -> None:
        """Linked workbooks and external objects (hyperlinks are found with their cells)."""
        for member, items in rels.items():
            source = _source_of(member)
            for rtype, target, external in items.values():
                if rtype.endswith(_REL_TYPE_EXTERNAL_BOOK):
                    book_rels = rels.get(_rels_of(target), {})
                    outside = [t for _, t, ext in book_rels.values() if ext]
                    pkg.links.append(Link("workbook", outside[0] if outside else target, target))
                elif external and not rtype.endswith(_REL_TYPE_HYPERLINK):
                    if source.startswith("xl/externalLinks/"):
                        continue  # the linked workbook's own path: reported above
                    pkg.links.append(Link("object", target, source, by_part.get(source)))
                elif external and source not in by_part:  # a hyperlink on a shape or chart
                    pkg.links.append(Link("hyperlink", target, source))
        for n in infos:
            linked = n.startswith("xl/externalLinks/") and n.endswith(".xml")
            if linked and not any(x.part == n for x in pkg.links):
                pkg.links.append(Link("workbook", n, n))

    def plain(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        """Any other member: streamed for its CRC; XML parts checked for a DOCTYPE."""
        first = True
        for chunk in self.chunks(zf, info):
            if first and info.filename.endswith(_XMLISH):
                self.no_doctype(info.filename, chunk)
            first = False

    def shared_strings(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        """calamine reserves ``uniqueCount`` entries up front: it may not exceed the strings."""
        declared = None
        count = 0
        tail = b""
        for chunk in self.chunks(zf, info):
            if declared is None:
                self.no_doctype(info.filename, chunk)
                m = re.search(rb'<(?:\w+:)?sst\b[^>]*?\suniqueCount="(\d{1,12})"', chunk)
                declared = int(m.group(1)) if m else 0
            buf = tail + chunk
            cut = buf.rfind(b">") + 1  # a tag not closed yet is counted with the next chunk
            count += len(_SI.findall(buf, 0, cut))
            tail = buf[cut:]
        if declared and declared > count:
            raise self.err(
                "range-too-large",
                f"جدول متن‌های فایل «{self.name}» {declared:,} متن اعلام می‌کند ولی {count:,} "
                "دارد؛ فایل را در اکسل باز و دوباره ذخیره کنید",
                f"the shared strings of {self.name} declare {declared:,} strings but hold "
                f"{count:,}; open and re-save the file in Excel",
            )

    def comments(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        """openpyxl makes a cell for each comment: its reference must be inside the limits."""
        data = b"".join(self.chunks(zf, info))
        self.no_doctype(info.filename, data)
        for m in re.finditer(rb'<(?:\w+:)?comment\b[^>]*?\sref="([^"]*)"', data):
            ref = m.group(1).decode("ascii", "replace")
            for col, row in _corners(ref) or []:
                self.within(col, row, ref, None, info.filename)

    def within(self, col: int, row: int, ref: str, sheet: str | None, member: str) -> None:
        lim = self.limits
        if row > lim.rows or col > lim.cols:
            where = f"برگه «{sheet}»" if sheet else f"بخش «{member}»"
            where_en = f"sheet {sheet}" if sheet else f"member {member}"
            raise self.err(
                "range-too-large",
                f"{where} فایل «{self.name}» تا خانه {ref} می‌رسد؛ بیش از حد مجاز "
                f"({lim.rows:,} ردیف، {lim.cols} ستون). خانه‌های اضافه را پاک کنید "
                "(Ctrl+End آخرین خانه را نشان می‌دهد)",
                f"{where_en} of {self.name} reaches cell {ref}, beyond the limit of "
                f"{lim.rows:,} rows and {lim.cols} columns; delete the stray cells "
                "(Ctrl+End shows the last one)",
                sheet=sheet,
                cell=ref,
            )

    def worksheet(
        self,
        zf: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        sheet: str,
        rels: dict[str, tuple[str, str, bool]],
    ) -> _Sheet:
        """The used range from A1, the sheet's external hyperlinks, formulas and merges.

        Fast path: every row and cell carries its ``r`` reference (Excel, LibreOffice,
        openpyxl and XlsxWriter write it), so only references past the largest seen so far
        are looked at: the rows of each chunk, and the few cells that widen the sheet.  A
        row or cell without ``r`` sends the sheet to :meth:`worksheet_slow`.
        """
        st = _Sheet(sheet, info.filename, rels)
        for part in self.parts(self.chunks(zf, info), st):
            if not self.fast_part(part, st):
                return self.worksheet_slow(zf, info, sheet, rels)
        return self.finish(st)

    def parts(self, chunks: Iterator[bytes], st: _Sheet) -> Iterator[bytes]:
        """Chunks cut after their last ``>``, so no tag is split; the head checked first."""
        tail = b""
        first = True
        for chunk in chunks:
            if first:
                first = False
                self.no_doctype(st.member, chunk)
                pm = _PREFIX.search(chunk[:4096])
                st.px = pm.group(1) + b":" if pm else b""
                dim = _DIMENSION.search(chunk, 0, 1 << 16)  # it comes before the data
                if dim is not None:
                    ref = dim.group(1).decode("ascii", "replace")
                    for col, row in _corners(ref) or []:
                        self.within(col, row, col_letters(col) + str(row), st.name, st.member)
                        # The stated range counts as used: cells inside it need no look.
                        st.max_row, st.max_col = max(st.max_row, row), max(st.max_col, col)
            buf = tail + chunk
            cut = buf.rfind(b">") + 1
            if cut == 0 and len(buf) > 4 * _CHUNK:
                raise self.err(
                    "not-xlsx",
                    f"برگه «{st.name}» فایل «{self.name}» خراب است",
                    f"sheet {st.name} of {self.name} is not well-formed XML",
                    sheet=st.name,
                )
            tail = buf[cut:]
            yield buf[:cut]

    def fast_part(self, part: bytes, st: _Sheet) -> bool:
        """Scan one part on the fast path; False when a row or cell has no ``r``."""
        px = st.px
        rows = _row_numbers(px).findall(part)
        if rows:
            top = max(map(int, rows))
            if top > st.max_row:
                if top > self.limits.rows:  # name the row's first cell, as Ctrl+End would
                    lead = re.search(
                        b"<" + re.escape(px) + rb'row r="0*' + str(top).encode()
                        + rb'"[^>]*>\s*<' + re.escape(px) + rb'c r="([A-Z]{1,4})',
                        part,
                    )  # fmt: skip
                    letters = lead.group(1).decode("ascii") if lead else "A"
                    self.within(col_index(letters), top, f"{letters}{top}", st.name, st.member)
                st.max_row = top
        pos = 0
        while m := _scan(px, st.max_row, st.max_col, not st.formula).search(part, pos):
            pos = m.end()
            if m.lastgroup == "formula":
                st.formula = True
                continue
            if m.group("span"):
                st.spans += self.span_element(m.group("span"), m.group("attrs"), st)
                continue
            ref = _REF_BYTES.match(part, m.start("wide")) if m.group("wide") else None
            if ref is None:  # a row or cell without its reference
                return False
            letters = ref.group(1).decode("ascii")
            row, col = int(ref.group(2)), col_index(letters)
            self.within(col, row, f"{letters or 'A'}{row}", st.name, st.member)
            st.max_row, st.max_col = max(st.max_row, row), max(st.max_col, col)
        return True

    def worksheet_slow(
        self,
        zf: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        sheet: str,
        rels: dict[str, tuple[str, str, bool]],
    ) -> _Sheet:
        """Rows or cells without ``r``: count positions as the readers do (row after row,
        cell after cell), token by token."""
        st = _Sheet(sheet, info.filename, rels)
        row = col = 0
        for part in self.parts(self.chunks(zf, info), st):
            for m in _TOKEN.finditer(part):
                r = _attrs(m.group(2)).get("r")
                if m.group(1) == b"row":
                    row = int(r) if r and r.isdigit() else row + 1
                    col = 0
                else:
                    corner = _corners(r) if r else None
                    col, row = corner[0] if corner else (col + 1, row)
                    st.max_col = max(st.max_col, col)
                st.max_row = max(st.max_row, row)
                if row > self.limits.rows or col > self.limits.cols:
                    self.within(col, row, f"{col_letters(max(col, 1))}{row}", sheet, st.member)
            for m in _SPAN.finditer(part):
                st.spans += self.span_element(m.group(1), m.group(2), st)
            st.formula = st.formula or _FORMULA.search(part) is not None
        return self.finish(st)

    def finish(self, st: _Sheet) -> _Sheet:
        self.area(st.max_row, st.max_col, st.name)
        if st.spans > self.limits.span_cells:
            self.too_many_spans(st.spans, st.name)
        return st

    def span_element(self, tag: bytes, raw: bytes, st: _Sheet) -> int:
        """Cells a merged range or hyperlink covers (openpyxl makes one object for each);
        an external hyperlink is noted with its cell."""
        a = _attrs(raw)
        ref = a.get("ref", "")
        corners = _corners(ref)
        if corners is None:
            return 0
        for col, row in corners:
            self.within(col, row, ref, st.name, st.member)
        if tag == b"mergeCell":
            st.merges.append(ref)
        if tag == b"hyperlink":
            rel = st.rels.get(_local(a, "id") or "")
            if rel is not None and rel[2]:
                st.links.append(Link("hyperlink", rel[1], st.member, st.name, ref))
        (c1, r1), (c2, r2) = corners[0], corners[-1]
        return (abs(c2 - c1) + 1) * (abs(r2 - r1) + 1)

    def area(self, rows: int, cols: int, sheet: str) -> None:
        if rows * cols > self.limits.cells:
            ref = f"A1:{col_letters(cols)}{rows}"
            raise self.err(
                "range-too-large",
                f"محدوده استفاده‌شده برگه «{sheet}» فایل «{self.name}» ({ref}) "
                f"{rows * cols:,} خانه است؛ بیش از حد مجاز {self.limits.cells:,}. "
                "ستون‌ها و ردیف‌های اضافه را پاک کنید",
                f"the used range {ref} of sheet {sheet} of {self.name} spans "
                f"{rows * cols:,} cells, above the limit of {self.limits.cells:,}; delete the "
                "extra rows and columns",
                sheet=sheet,
                cell=ref,
            )

    def too_many_spans(self, cells: int, sheet: str) -> None:
        raise self.err(
            "range-too-large",
            f"خانه‌های ادغام‌شده یا پیونددار برگه «{sheet}» فایل «{self.name}» {cells:,} "
            f"خانه‌اند؛ بیش از حد مجاز {self.limits.span_cells:,}",
            f"merged or hyperlinked ranges of sheet {sheet} of {self.name} cover {cells:,} "
            f"cells, above the limit of {self.limits.span_cells:,}",
            sheet=sheet,
        )


def _rels_of(part: str) -> str:
    """The relationships member of a part: xl/worksheets/sheet1.xml -> xl/worksheets/_rels/sheet1.xml.rels."""
    d, n = posixpath.split(part)
    return posixpath.join(d, "_rels", n + ".rels")


def _source_of(rels_member: str) -> str:
    """The part a relationships member belongs to (the inverse of ``_rels_of``)."""
    d, n = posixpath.split(rels_member)
    return posixpath.join(posixpath.dirname(d), n[: -len(".rels")])


# --- the public calls ---------------------------------------------------------------------------

_CACHE: dict[
    tuple[tuple[str, int, int, int, int], Limits, frozenset[str] | None], Package | CrmError
] = {}
_CACHE_SIZE = 256


def inspect(
    path: str | Path, limits: Limits = LIMITS, *, sheets: Iterable[str] | None = None
) -> Package:
    """Look at a workbook before any parser does; raise ``CrmError`` when it must not be read.

    Codes: file-not-found, unreadable, not-xlsx, encrypted, zip-bomb, corrupt-member,
    unsafe-xml, range-too-large.  External links are *reported* (``Package.links``), not
    refused: reading is safe, writing them back is not (:func:`refuse_links`).

    ``sheets`` narrows the look to what calamine reads for those sheets (the fast readers
    of one table, run over every customer form by ``refresh``); a full inspection of the
    same file version serves it too.
    """
    path = Path(path)
    scope = None if sheets is None else frozenset(sheets)
    try:
        st = path.stat()
        version = (os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        version = None
    if version is not None:
        for key in ((version, limits, None), (version, limits, scope)):
            if key in _CACHE:
                found = _CACHE[key]
                if isinstance(found, CrmError):
                    raise found
                return found
    try:
        result: Package | CrmError = _Inspector(path, limits).run(scope)
    except CrmError as e:
        result = e
    transient = isinstance(result, CrmError) and result.code in ("unreadable", "file-not-found")
    if version is not None and not transient:  # a share that hiccuped is asked again
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[(version, limits, scope)] = result
    if isinstance(result, CrmError):
        raise result
    return result


def link_error(path: Path, link: Link) -> CrmError:
    """The refusal of one link, naming its cell or part and what to do."""
    name = path.name
    if link.kind == "hyperlink":
        where = f"خانه {link.cell} برگه «{link.sheet}»" if link.cell else f"بخش «{link.part}»"
        where_en = f"cell {link.cell} of sheet {link.sheet}" if link.cell else link.part
        return CrmError(
            f"{where} در فایل «{name}» پیوند به «{link.target}» دارد؛ فقط پیوند وب و ایمیل "
            "پذیرفته است. پیوند را بردارید (Remove Hyperlink)",
            f"{where_en} of {name} links to {link.target}; only web and e-mail links are "
            "accepted; remove the hyperlink",
            code="external-link",
            file=path,
            sheet=link.sheet,
            cell=link.cell,
        )
    return CrmError(
        f"فایل «{name}» به فایل بیرونی «{link.target}» پیوند دارد؛ در اکسل از "
        "Data › Edit Links › Break Link پیوند را بشکنید",
        f"{name} links to the outside file {link.target}; break the link in Excel "
        "(Data › Edit Links › Break Link) and try again",
        code="external-link",
        file=path,
        sheet=link.sheet,
    )


def refuse_links(pkg: Package) -> None:
    """Raise for the first link a record must not carry: a linked workbook, an external
    object, a hyperlink to anything but the web or e-mail (file:, \\\\server, a program)."""
    for link in pkg.links:
        if link.refused:
            raise link_error(pkg.path, link)


def check_text_file(path: Path, limits: Limits = LIMITS) -> None:
    """A text file read whole (a CSV list of leads): refused above ``limits.text``."""
    size = path.stat().st_size
    if size > limits.text:
        raise CrmError(
            f"فایل «{path.name}» {_mb(size)} مگابایت است؛ بیش از حد مجاز {_mb(limits.text)} "
            "مگابایت. فهرست را در چند فایل بدهید",
            f"{path.name} is {_mb(size)} MB, above the {_mb(limits.text)} MB limit; split the "
            "list into several files",
            code="file-too-large",
            file=path,
        )
