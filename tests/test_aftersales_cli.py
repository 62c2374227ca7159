"""``crm-xl product …``: happy path and clear bilingual errors (exit code, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crm_xl.cli.main import main
from crm_xl.io.workspace import Workspace, init_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws", company="شرکت بازرگانی نمونه", experts=["علی رضایی"])


def run(ws: Workspace, *args: str) -> Result:
    return CliRunner().invoke(main, ["-w", str(ws.root), *args])


PUMP = [
    "product",
    "add",
    "--code",
    "PMP-100",
    "--name",
    "پمپ سانتریفیوژ",
    "--origin",
    "imported",
    "--service",
    "installation:یک‌بار:0:نمایندگی",
    "--service",
    "training:۲ روز:۱۲٬۵۰۰٬۰۰۰",
    "--commitment",
    "GF-118",
]


def test_add_list_show_clause(ws: Workspace) -> None:
    r = run(ws, *PUMP)
    assert r.exit_code == 0, r.output
    assert (ws.aftersales_dir / "F-31-07-01 PMP-100.xlsx").exists()
    assert (ws.aftersales_dir / "catalog.xlsx").exists()
    r = run(ws, "product", "add", "--code", "VLV-7", "--name", "شیر", "--origin", "تولید داخل")
    assert r.exit_code != 0  # neither --service nor --no-service
    r = run(
        ws,
        *("product", "add", "--code", "VLV-7", "--name", "شیر", "--origin", "تولید داخل"),
        *("--no-service", "--reason", "تحریم"),
    )
    assert r.exit_code == 0, r.output
    listed = json.loads(run(ws, "--json", "product", "list").output)
    assert [(p["code"], p["has_service"], p["complete"]) for p in listed] == [
        ("PMP-100", True, True),
        ("VLV-7", False, True),
    ]
    shown = json.loads(run(ws, "product", "show", "PMP-100", "--json").output)
    assert [s["cost_text"] for s in shown["services"]] == ["رایگان", "۱۲٬۵۰۰٬۰۰۰ ریال"]
    text = run(ws, "product", "clause", "PMP-100").output
    assert "۲- آموزش اپراتور" in text and "۱۲٬۵۰۰٬۰۰۰ ریال" in text and "GF-118" in text
    data = json.loads(run(ws, "product", "clause", "VLV-7", "--format", "json").output)
    assert data["has_service"] is False
    assert "فاقد خدمات پس از فروش" in data["clause"] and "علت: تحریم." in data["lines"]


def _error(r: Result, code: int = 1) -> str:
    out = r.output + (r.stderr if r.stderr_bytes is not None else "")
    assert r.exit_code == code, out
    assert "Traceback" not in out
    assert r.exception is None or isinstance(r.exception, SystemExit)
    return out


def test_json_error(ws: Workspace) -> None:
    r = run(ws, "--json", *PUMP[:-2])  # no --commitment
    err = json.loads(r.output)["error"]
    assert err["code"] == "aftersales-no-commitment"
    assert "تعهدنامه" in err["fa"] and "commitment" in err["en"]


@pytest.mark.parametrize(
    ("args", "fa", "en"),
    [
        (["--service", "massage"], "شناخته نشد", "unknown service 'massage'"),
        (["--service", "training::12.5"], "مبلغ ریالی معتبر نیست", "not a valid Rial amount"),
        (["--service", "training::-5"], "مبلغ ریالی معتبر نیست", "not a valid Rial amount"),
        (["--no-service"], "علت نداشتن خدمات", "(--reason)"),
        (["--no-service", "--reason", "bribes"], "مقدار مجاز نیست", "--reason"),
        (["--no-service", "--reason", "other"], "سایر", "--reason-note"),
        (["--service", "training"], "تعهدنامه کتبی سازنده", "(--commitment)"),
        (["--service", "training", "--no-service"], "--no-service", "both --service"),
        (
            ["--service", "installation:::شامل گارانتی", "--commitment", "X"],
            "",
            "",
        ),
    ],
)
def test_bad_input_clear_error(ws: Workspace, args: list[str], fa: str, en: str) -> None:
    base = ["product", "add", "--code", "A-1", "--name", "کالا", "--origin", "imported"]
    r = run(ws, *base, *args)
    if not fa:  # a provider mentioning guarantee is fine: only service text is judged
        assert r.exit_code == 0, r.output
        return
    out = _error(r)
    assert "خطا / error" in out and fa in out and en in out
    assert not list(ws.aftersales_dir.glob("F-31-07-01 *.xlsx"))  # nothing written


def test_service_text_naming_warranty_refused(ws: Workspace) -> None:
    base = ["product", "add", "--code", "A-1", "--name", "کالا", "--origin", "imported"]
    r = run(ws, *base, "--service", "servicing:warranty period", "--commitment", "X")
    out = _error(r)
    assert "گارانتی" in out and "separate from guarantee and warranty" in out


@pytest.mark.parametrize("code", ["../x", "CON", "a/b", "nul.txt"])
def test_hostile_codes(ws: Workspace, code: str) -> None:
    r = run(ws, "product", "add", "--code", code, "--name", "x", "--origin", "imported",
            "--no-service", "--reason", "simplicity")  # fmt: skip
    out = _error(r)
    assert "کد کالا" in out and "product code" in out
    assert not any(ws.root.parent.glob("*.xlsx")) and not any(ws.aftersales_dir.glob("F-*"))


def test_duplicate_then_replace(ws: Workspace) -> None:
    assert run(ws, *PUMP).exit_code == 0
    out = _error(run(ws, *PUMP))
    assert "--replace" in out and "از قبل" in out
    assert run(ws, *PUMP, "--replace").exit_code == 0


def test_unknown_product(ws: Workspace) -> None:
    out = _error(run(ws, "product", "show", "NOPE"))
    assert "NOPE" in out and "no after-sales form" in out
    out = _error(run(ws, "product", "clause", "NOPE"))
    assert "crm-xl product add" in out
