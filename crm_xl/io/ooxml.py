"""OOXML package paths: where a part's relationships live, where a relationship points, and
which part holds a named sheet.  One resolver for every reader that opens a workbook's zip
itself (the VBA injector, the form stamper, refresh's format check); ``io.guard`` keeps its
own byte-level scan, which must survive hostile files before any XML parser sees them.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKBOOK = "xl/workbook.xml"

#: Reads one part of the package: its bytes, or None when the package has no such part.
Reader = Callable[[str], bytes | None]


def rels_name(part: str) -> str:
    """``xl/workbook.xml`` → ``xl/_rels/workbook.xml.rels``."""
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def resolve(part: str, target: str) -> str:
    """The part a relationship of ``part`` targets (absolute or relative to its folder)."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))


def relationships(read: Reader, part: str) -> list[dict[str, str]]:
    """The attributes of every relationship of ``part`` ([] when it has none)."""
    data = read(rels_name(part))
    if data is None:
        return []
    return [dict(e.attrib) for e in ET.fromstring(data).iter(f"{{{PKG_REL_NS}}}Relationship")]


def sheet_part(read: Reader, sheet: str) -> str | None:
    """The part holding the sheet named ``sheet`` (``xl/worksheets/sheet2.xml``), or None."""
    workbook = read(WORKBOOK)
    if workbook is None:
        return None
    for element in ET.fromstring(workbook).iter(f"{{{MAIN_NS}}}sheet"):
        if element.get("name") == sheet:
            rid = element.get(f"{{{REL_NS}}}id")
            for rel in relationships(read, WORKBOOK):
                if rel.get("Id") == rid:
                    return resolve(WORKBOOK, rel["Target"])
    return None


def zip_reader(names: set[str], read: Callable[[str], bytes]) -> Reader:
    """A ``Reader`` over an open zip (``set(zf.namelist())``, ``zf.read``)."""
    return lambda name: read(name) if name in names else None


__all__ = [
    "MAIN_NS",
    "PKG_REL_NS",
    "REL_NS",
    "WORKBOOK",
    "Reader",
    "relationships",
    "rels_name",
    "resolve",
    "sheet_part",
    "zip_reader",
]
