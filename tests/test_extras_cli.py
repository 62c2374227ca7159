"""The extras' commands: thin click wrappers over the library (one run through each area)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers_cli import Cli

from crm_xl.io.workspace import Workspace


def test_cli_round_trip(ws: Workspace, cli: Cli, tmp_path: Path) -> None:
    def run(*args: str) -> Any:
        res = cli(ws, *args, json=True)
        assert res.exit_code == 0, res.output
        return res.data

    src = tmp_path / "leads.csv"
    src.write_text(
        "نام,موبایل,نیاز\nرضا کریمی,۰۹۱۲۱۱۱۲۲۳۳,پمپ\nزهرا موسوی,09351112233,شیر\nرضا کريمي,,پمپ\n",
        "utf-8",
    )
    pre = run("import", str(src), "--channel", "exhibition", "--expert", "علی رضایی")
    assert (pre["new"], pre["duplicate"], pre["committed"]) == (2, 1, False)
    done = run("import", str(src), "--channel", "exhibition", "--expert", "علی رضایی", "--commit")
    assert done["registered"] == 2

    cmp = run(
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
    run("complaint", "ack", no)
    run(
        "complaint", "action", no, "--action", "تماس", "--owner", "علی رضایی", "--due", "1404/02/01"
    )
    res = cli(ws, "complaint", "close", no)
    assert res.exit_code == 1 and "resolution" in res.output  # a clear error, no traceback
    run("complaint", "resolve", no, "--resolution", "حل شد")
    run("complaint", "close", no)
    rep = run("complaint", "report", "--xlsx", str(tmp_path / "c.xlsx"))
    assert rep["total"] == 1 and (tmp_path / "c.xlsx").exists()

    sv = run("survey", "add", "C-00002", "--score", "q1=5", "--score", "q2=4")
    assert sv["crm"]["done"] is False
    assert run("survey", "report")["count"] == 1
    run(
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
    assert run("plan", "report")["rows"][0]["actual"] == 0
    assert run("parties", "export", str(tmp_path / "p.xlsx"))["parties"] == 2
