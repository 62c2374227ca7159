"""The committed templates/ equal what ``build_templates`` generates from the schema now.

Compared by content (sheets, cells, formats, validations, names, tables, print setup), not
bytes, so a harmless library upgrade does not fail the test but a schema change does.
Regenerate with ``python -c "from crm_xl.io.layout import build_templates; build_templates('templates')"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from crm_xl.domain import schema
from crm_xl.io.layout import build_templates

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def snapshot(path: Path) -> dict[str, Any]:
    """Everything a user or reader would notice in a workbook, as plain data."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, Any] = {
        "names": sorted((n, d.attr_text) for n, d in wb.defined_names.items()),
        "fonts": sorted({f.name for f in wb._fonts}),  # type: ignore[attr-defined]
    }
    for ws in wb.worksheets:
        out[ws.title] = {
            "state": ws.sheet_state,
            "rtl": ws.sheet_view.rightToLeft,
            "freeze": ws.freeze_panes,
            "print_titles": ws.print_title_rows,
            "page": (ws.page_setup.paperSize, ws.page_setup.orientation, ws.page_setup.fitToHeight),
            "footer": ws.oddFooter.center.text,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "cells": [
                (
                    c.coordinate,
                    c.value,
                    c.number_format,
                    c.font.b,
                    c.fill.fgColor.rgb,
                    c.border.left.style,
                )
                for row in ws.iter_rows()
                for c in row
                if c.value is not None or c.has_style
            ],
            "columns": sorted(
                (d.min, d.max, round(d.width or 0, 2), d.number_format, d.hidden)
                for d in ws.column_dimensions.values()
            ),
            "hidden_rows": sorted(r for r, d in ws.row_dimensions.items() if d.hidden),
            "validations": sorted(
                (str(dv.sqref), dv.type, dv.formula1, dv.prompt, dv.promptTitle)
                for dv in ws.data_validations.dataValidation
            ),
            "conditional": sorted(
                (str(rng.sqref), r.formula[0], r.dxf.fill.bgColor.rgb)
                for rng, rules in ws.conditional_formatting._cf_rules.items()
                for r in rules
            ),
            "tables": sorted(
                (t.name, t.ref, tuple(c.name for c in t.tableColumns)) for t in ws.tables.values()
            ),
        }
    return out


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fresh")
    build_templates(d)
    return d


@pytest.mark.parametrize("form", list(schema.FORMS.values()), ids=lambda f: f.code)
def test_committed_template_matches_schema(form: schema.Form, fresh: Path) -> None:
    committed = TEMPLATES / form.filename
    assert committed.exists(), f"{committed} missing: run build_templates('templates')"
    got, want = snapshot(committed), snapshot(fresh / form.filename)
    for key in want:
        assert got.get(key) == want[key], f"{form.filename}: {key} differs; regenerate templates/"
    assert set(got) == set(want)
