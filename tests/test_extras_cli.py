"""The extras' commands: thin click wrappers over the library (one run through each area)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crm_xl.cli.main import main


def run(ws: Path, *args: str) -> dict:  # type: ignore[type-arg]
    res = CliRunner().invoke(main, ["-w", str(ws), "--json", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.output)  # type: ignore[no-any-return]


def test_cli_round_trip(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert (
        CliRunner().invoke(main, ["init", str(ws), "--no-macros", "--expert", "علی"]).exit_code == 0
    )
    src = tmp_path / "leads.csv"
    src.write_text(
        "نام,موبایل,نیاز\nرضا کریمی,۰۹۱۲۱۱۱۲۲۳۳,پمپ\nزهرا موسوی,09351112233,شیر\nرضا کريمي,,پمپ\n",
        "utf-8",
    )
    pre = run(ws, "import", str(src), "--channel", "exhibition", "--expert", "علی")
    assert (pre["new"], pre["duplicate"], pre["committed"]) == (2, 1, False)
    done = run(ws, "import", str(src), "--channel", "exhibition", "--expert", "علی", "--commit")
    assert done["registered"] == 2

    cmp = run(
        ws,
        "complaint",
        "add",
        "C-00001",
        "--subject",
        "تأخیر",
        "--channel",
        "phone",
        "--severity",
        "high",
    )
    no = cmp["complaint_no"]
    run(ws, "complaint", "ack", no)
    run(ws, "complaint", "action", no, "--action", "تماس", "--owner", "علی", "--due", "1404/02/01")
    res = CliRunner().invoke(main, ["-w", str(ws), "complaint", "close", no])
    assert res.exit_code == 1 and "resolution" in res.output  # a clear error, no traceback
    run(ws, "complaint", "resolve", no, "--resolution", "حل شد")
    run(ws, "complaint", "close", no)
    rep = run(ws, "complaint", "report", "--xlsx", str(tmp_path / "c.xlsx"))
    assert rep["total"] == 1 and (tmp_path / "c.xlsx").exists()

    sv = run(ws, "survey", "add", "C-00002", "--score", "q1=5", "--score", "q2=4")
    assert sv["crm"]["done"] is False
    assert run(ws, "survey", "report")["count"] == 1
    run(
        ws,
        "plan",
        "add",
        "--period",
        "1404",
        "--horizon",
        "long",
        "--market",
        "B2C",
        "--target",
        "1000",
    )
    assert run(ws, "plan", "report")["rows"][0]["actual"] == 0
    assert run(ws, "parties", "export", str(tmp_path / "p.xlsx"))["parties"] == 2
