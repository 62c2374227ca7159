"""Issue 13, acceptance 4: no workbook the suite writes holds a formula made of user data.

A pytest plugin (``pytest_plugins = ["helpers_formulas"]`` in tests/conftest.py). After every
test it scans each ``.xlsx``/``.xlsm`` under the session's temporary directory that is new or
changed since it was last scanned — what the toolkit wrote in-process or in a subprocess,
module fixtures included — and fails the test at teardown when a sheet holds a formula cell.
The toolkit's only cell formulas are the totals under amount columns (``layout.Formula``:
a SUM/SUMIFS over the column, optionally inside the table's title text); every other formula
cell is user data turned into a live formula, unless its text is listed below.  A last sweep at the end of the session
catches files written after the last test's teardown.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

#: Formulas the toolkit itself writes into cells: none but totals.
TOOLKIT_FORMULAS: frozenset[str] = frozenset()
#: A total: SUM or SUMIFS (void rows left out) over one column, bare or inside the title.
TOOLKIT_TOTAL = re.compile(
    r'^(?:"[^"=]*"&" — [^"=]*: "&TEXT\()?'
    r'SUM(?:IFS)?\([A-Z]+\d+:[A-Z]+\d+(?:,[A-Z]+\d+:[A-Z]+\d+,"<>[^"=]*")?\)'
    r'(?:,"#,##0"\))?$'
)
#: Formulas tests put into hostile input files on purpose (never written by the toolkit);
#: an annotated copy of such a file keeps them, as the file it copies has them.
TEST_INPUT_FORMULAS: frozenset[str] = frozenset({'CONCAT("a","b")'})
#: How LibreOffice writes a boolean cell when a test has it re-save a workbook.
LIBREOFFICE_FORMULAS: frozenset[str] = frozenset({"FALSE()", "TRUE()"})
ALLOWED = TOOLKIT_FORMULAS | TEST_INPUT_FORMULAS | LIBREOFFICE_FORMULAS

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_HAS_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_SUFFIXES = (".xlsx", ".xlsm")


def formula_cells(path: Path) -> list[tuple[str, str, str]]:
    """(worksheet member, cell, formula text) of every formula cell of a workbook.

    Files the toolkit's guard refuses (bombs, hostile corpora, not a workbook) are inputs
    tests made, not outputs: they are not opened.
    """
    from crm_xl.domain.errors import CrmError
    from crm_xl.io import guard

    try:
        guard.inspect(path)
    except CrmError:
        return []
    out: list[tuple[str, str, str]] = []
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    continue
                data = zf.read(name)
                if not _HAS_FORMULA.search(data):
                    continue
                for _, el in ElementTree.iterparse(io.BytesIO(data)):
                    if el.tag == f"{_MAIN}c":
                        f = el.find(f"{_MAIN}f")
                        if f is not None:
                            out.append((name, el.get("r", "?"), f.text or f"<{f.get('t')}>"))
                        el.clear()
    except (zipfile.BadZipFile, OSError, ElementTree.ParseError):
        return []
    return out


def user_formulas(path: Path) -> list[str]:
    """Formula cells that are not on the allowed list, as readable lines."""
    return [
        f"{path}: {member} {cell} ={text}"
        for member, cell, text in formula_cells(path)
        if text not in ALLOWED and not TOOLKIT_TOTAL.match(text)
    ]


def _workbooks(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(_SUFFIXES) and not name.startswith("~$"):
                yield Path(dirpath) / name


class _Scanner:
    """Remembers each file version it scanned, so a test pays only for what changed."""

    def __init__(self) -> None:
        self.seen: dict[Path, tuple[int, int]] = {}

    def problems(self, root: Path) -> list[str]:
        found: list[str] = []
        for p in _workbooks(root):
            try:
                st = p.stat()
            except OSError:
                continue
            version = (st.st_mtime_ns, st.st_size)
            if self.seen.get(p) == version:
                continue
            self.seen[p] = version
            found += user_formulas(p)
        return found


_SCANNER = _Scanner()


@pytest.fixture(autouse=True)
def no_formula_from_user_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fails a test whose run left a workbook with a formula cell of user data."""
    yield
    problems = _SCANNER.problems(tmp_path_factory.getbasetemp())
    if problems:
        pytest.fail(
            "formula cells in workbooks written by this test (user data must stay text):\n"
            + "\n".join(problems[:20]),
            pytrace=False,
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    try:
        root = factory.getbasetemp()
    except Exception:  # no test asked for a temporary directory
        return
    problems = _SCANNER.problems(root)
    if problems:
        session.config.get_terminal_writer().line(
            "formula cells in workbooks written during the session:\n" + "\n".join(problems[:20]),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
