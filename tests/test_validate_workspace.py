"""validate on a real workspace made with the store, then broken on purpose."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from test_validate_fixtures import EXPECTED, R, break_workspace, clean_workspace

from crm_xl.cli.validate import validate_cmd
from crm_xl.domain import schema
from crm_xl.validation import CODES, validate_paths
from crm_xl.validation.findings import Report


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clean_workspace(tmp_path_factory.mktemp("clean") / "ws").root


@pytest.fixture(scope="module")
def broken_master(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from crm_xl.io.workspace import Workspace

    root = tmp_path_factory.mktemp("broken") / "ws"
    shutil.copytree(pristine, root)
    break_workspace(Workspace(root))
    return root


@pytest.fixture()
def broken(broken_master: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(broken_master, root)
    return root


def triples(report: Report) -> list[tuple[str | None, ...]]:
    return sorted(((f.code, f.sheet, f.cell) for f in report.findings), key=str)


def test_clean_workspace_has_no_findings(pristine: Path) -> None:
    report = validate_paths([pristine])
    assert report.findings == []
    assert report.exit_code == 0
    assert {Path(f.path).name for f in report.files} >= {"F-31-08-02.xlsx"}
    assert len(report.files) == 1 + 6 - 1 + 1  # register + 6 forms (C-00002's is gone later)


def test_broken_workspace_gives_exactly_the_expected_findings(broken: Path) -> None:
    report = validate_paths([broken])
    assert Counter(triples(report)) == Counter(EXPECTED)
    assert report.exit_code == 1
    assert all(f.code in CODES and f.severity == CODES[f.code][0] for f in report.findings)
    for f in report.findings:
        assert f.message_fa and f.message_en and f.file
    by_code = {f.code: f for f in report.findings}
    assert by_code["date-error"].value == "1404/12/30"
    assert str(by_code["missing-folder"].file).endswith("F-31-08-02.xlsx")
    assert "C-00006" in str(by_code["form-mismatch"].file)


def test_register_alone_skips_folder_rules(broken: Path) -> None:
    report = validate_paths([broken / "F-31-08-02.xlsx"])
    codes = {f.code for f in report.findings}
    assert "missing-folder" not in codes and "orphan-folder" not in codes
    assert "unique-error" in codes and "identifier-error" in codes


# --- JSON ---------------------------------------------------------------------------------

SEVERITY = {"enum": ["error", "warning", "info"]}
NULLABLE_STR = {"type": ["string", "null"]}
FINDING = {
    "type": "object",
    "required": [
        "code",
        "severity",
        "message_fa",
        "message_en",
        "file",
        "sheet",
        "cell",
        "row",
        "field",
        "value",
        "fixed",
    ],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string", "enum": sorted(CODES)},
        "severity": SEVERITY,
        "message_fa": {"type": "string"},
        "message_en": {"type": "string"},
        "file": NULLABLE_STR,
        "sheet": NULLABLE_STR,
        "cell": {"type": ["string", "null"], "pattern": r"^[A-Z]{1,3}[0-9]+$"},
        "row": {"type": ["integer", "null"]},
        "field": NULLABLE_STR,
        "value": NULLABLE_STR,
        "fixed": {"type": "boolean"},
    },
}
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "version",
        "valid",
        "exit_code",
        "counts",
        "by_code",
        "files",
        "findings",
        "fixes",
    ],
    "properties": {
        "version": {"type": "integer", "enum": [1]},
        "valid": {"type": "boolean"},
        "exit_code": {"type": "integer", "enum": [0, 1]},
        "counts": {
            "type": "object",
            "required": ["error", "warning", "info"],
            "additionalProperties": False,
            "properties": {k: {"type": "integer"} for k in ("error", "warning", "info")},
        },
        "by_code": {"type": "object", "additionalProperties": {"type": "integer"}},
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "form", "rows", "errors", "warnings"],
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string"},
                    "form": {"type": ["string", "null"], "enum": [*schema.FORMS, None]},
                    "rows": {"type": "integer"},
                    "errors": {"type": "integer"},
                    "warnings": {"type": "integer"},
                },
            },
        },
        "findings": {"type": "array", "items": FINDING},
        "fixes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["file", "sheet", "cell", "old", "new"],
                "additionalProperties": False,
                "properties": {
                    k: {"type": "string"} for k in ("file", "sheet", "cell", "old", "new")
                },
            },
        },
        "annotated": {"type": "array", "items": {"type": "string"}},
        "numbering": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "kind",
                    "scope",
                    "issued",
                    "highest",
                    "counter",
                    "voided",
                    "missing",
                    "without_row",
                ],
                "additionalProperties": False,
                "properties": {
                    "kind": {"enum": ["customer", "case", "contract", "invoice", "tax"]},
                    "scope": {"type": "string"},
                    "issued": {"type": "integer"},
                    "highest": {"type": "integer"},
                    "counter": {"type": ["integer", "null"]},
                    "voided": {"type": "array", "items": {"type": "string"}},
                    "missing": {"type": "string"},
                    "without_row": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "additionalProperties": False,
}

_TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
    "integer": int,
}  # fmt: skip


def conform(value: Any, sch: dict[str, Any], where: str = "$") -> list[str]:
    """The subset of JSON Schema the report schema uses (jsonschema is not a dependency)."""
    import re

    errs: list[str] = []
    if "type" in sch:
        types = sch["type"] if isinstance(sch["type"], list) else [sch["type"]]
        ok = any(
            isinstance(value, _TYPES[t]) and not (t == "integer" and isinstance(value, bool))
            for t in types
        )
        if not ok:
            return [f"{where}: {value!r} is not {types}"]
    if "enum" in sch and value not in sch["enum"]:
        errs.append(f"{where}: {value!r} not in enum")
    if "pattern" in sch and isinstance(value, str) and not re.search(sch["pattern"], value):
        errs.append(f"{where}: {value!r} does not match {sch['pattern']}")
    if isinstance(value, dict):
        for k in sch.get("required", []):
            if k not in value:
                errs.append(f"{where}: missing {k}")
        props = sch.get("properties", {})
        extra = sch.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errs += conform(v, props[k], f"{where}.{k}")
            elif extra is False:
                errs.append(f"{where}: unexpected {k}")
            elif isinstance(extra, dict):
                errs += conform(v, extra, f"{where}.{k}")
    if isinstance(value, list) and "items" in sch:
        for i, v in enumerate(value):
            errs += conform(v, sch["items"], f"{where}[{i}]")
    return errs


def test_json_output_follows_the_documented_schema(broken: Path, tmp_path: Path) -> None:
    out = tmp_path / "annotated"
    res = CliRunner().invoke(
        validate_cmd, [str(broken), "--format", "json", "--annotate", str(out)]
    )
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert conform(data, REPORT_SCHEMA) == []
    assert Report.model_validate({k: v for k, v in data.items() if k != "annotated"})
    assert data["counts"]["error"] == sum(1 for f in data["findings"] if f["severity"] == "error")
    # the documented schema lists every code
    doc = (Path(__file__).parents[1] / "docs" / "validate-json.md").read_text(encoding="utf-8")
    missing = [c for c in CODES if f"`{c}`" not in doc]
    assert missing == []
    # annotated copies of the files with findings, comments on the offending cells
    names = {Path(p).name for p in data["annotated"]}
    assert "F-31-08-02.xlsx" in names and "F-31-08-01 C-00006.xlsx" in names


def test_annotate_one_workbook(broken: Path, tmp_path: Path) -> None:
    out = tmp_path / "reg-annotated.xlsx"
    res = CliRunner().invoke(
        validate_cmd, [str(broken / "F-31-08-02.xlsx"), "--annotate", str(out)]
    )
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    wb = openpyxl.load_workbook(out)
    cu = wb[schema.CUSTOMERS.sheet]
    assert "identifier-error" in cu[f"D{R}"].comment.text
    assert cu[f"D{R}"].fill.fgColor.rgb.endswith("FFC7CE")  # error: red
    assert cu[f"B{R + 4}"].fill.fgColor.rgb.endswith("FFEB9C")  # warning: amber
    assert wb[schema.CASES.sheet][f"A{R + 1}"].comment is not None
    assert cu[f"A{R}"].comment is None
    # the original is untouched
    assert (
        openpyxl.load_workbook(broken / "F-31-08-02.xlsx")[schema.CUSTOMERS.sheet][f"D{R}"].comment
        is None
    )


@pytest.mark.libreoffice
def test_annotated_copy_opens_in_libreoffice(broken: Path, tmp_path: Path) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    import subprocess

    out = tmp_path / "annotated.xlsx"
    CliRunner().invoke(validate_cmd, [str(broken / "F-31-08-02.xlsx"), "--annotate", str(out)])
    pdf_dir = tmp_path / "pdf"
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
         "pdf", "--outdir", str(pdf_dir), str(out)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = pdf_dir / "annotated.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000


def test_fix_normalises_and_keeps_a_backup(broken: Path) -> None:
    res = CliRunner().invoke(validate_cmd, [str(broken), "--fix", "--format", "json"])
    data = json.loads(res.output)
    fixed = {(f["sheet"], f["cell"]): f["new"] for f in data["fixes"]}
    assert fixed[(schema.CUSTOMERS.sheet, f"B{R + 4}")] == "حسین رضایی"
    assert fixed[(schema.CUSTOMERS.sheet, f"K{R + 5}")] == "خرید 10 دستگاه 2"
    assert all(
        f["fixed"] for f in data["findings"] if f["code"] in ("arabic-letters", "mixed-digits")
    )
    assert list((broken / ".crm_xl" / "backups").glob("F-31-08-02.*.xlsx"))
    again = validate_paths([broken])
    assert {f.code for f in again.findings}.isdisjoint({"arabic-letters", "mixed-digits"})
    assert len(again.findings) == len(EXPECTED) - 2


def test_table_output_and_exit_codes(pristine: Path, broken: Path) -> None:
    ok = CliRunner().invoke(validate_cmd, [str(pristine)])
    assert ok.exit_code == 0 and "0 error" in ok.output
    bad = CliRunner().invoke(validate_cmd, [str(broken)])
    assert bad.exit_code == 1 and "unique-error" in bad.output
    missing = CliRunner().invoke(validate_cmd, [str(broken / "nope.xlsx")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
