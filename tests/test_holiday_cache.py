"""Iran's holiday table is computed once per year and kept in the workspace (issue 14:
the ``holidays`` import cost every command 0.14-0.33 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crm_xl.domain.dates import package_holidays
from crm_xl.io.workspace import init_workspace

# A real process: opens the workspace, asks for 2026's holidays, says whether the package
# had to be imported, and prints the table it got.
PROBE = """
import json, sys
from crm_xl.domain.dates import iran_public_holidays
from crm_xl.io.workspace import Workspace
Workspace.open(sys.argv[1])
table = iran_public_holidays(2026)
print(json.dumps({"imported": "holidays" in sys.modules,
                  "days": {d.isoformat(): list(v) for d, v in table.items()}}, ensure_ascii=False))
"""


def _probe(root: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def _expected() -> dict[str, list[str]]:
    return {d.isoformat(): list(v) for d, v in package_holidays(2026).items()}


def test_second_process_reads_the_kept_table_without_the_package(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", experts=["سارا احمدی"])
    first = _probe(ws.root)
    assert first["imported"] is True and first["days"] == _expected()
    kept = ws.root / ".crm_xl" / "holidays-2026-fa.json"
    assert kept.is_file()
    second = _probe(ws.root)
    assert second == {"imported": False, "days": _expected()}


def test_table_of_another_package_version_or_damaged_is_computed_again(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", experts=["سارا احمدی"])
    _probe(ws.root)
    kept = ws.root / ".crm_xl" / "holidays-2026-fa.json"
    record = json.loads(kept.read_text(encoding="utf-8"))
    record["holidays_version"] = "0.1"  # computed by an older package: dates may have moved
    record["days"] = {"2026-01-01": ["روز ساختگی"]}
    kept.write_text(json.dumps(record), encoding="utf-8")
    assert _probe(ws.root) == {"imported": True, "days": _expected()}
    assert json.loads(kept.read_text(encoding="utf-8"))["holidays_version"] != "0.1"
    kept.write_text("{not json", encoding="utf-8")
    assert _probe(ws.root) == {"imported": True, "days": _expected()}
    assert _probe(ws.root)["imported"] is False  # rewritten whole again
