"""Every README example runs as pasted, in order, in a fresh folder, on any day (review §E.8).

The ``sh`` blocks are read from README.md itself (``text`` blocks are usage summaries, not
examples): backslash continuations joined, comments dropped, each command run through the real
click entry point in the README's order, a ``> file`` redirect written like a shell would.  The
``python`` block runs in a fresh interpreter.  An example that stops working on a later day (a
due date in the past, a number of another year) fails here.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from crm_xl.cli.main import main

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README.read_text("utf-8"), re.M | re.S)


def commands(block: str) -> list[str]:
    """Logical lines of a shell block (continuations joined), comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.startswith("#")]


def test_readme_has_runnable_examples() -> None:
    cmds = [c for b in blocks("sh") for c in commands(b)]
    assert len(cmds) >= 25
    assert all(c.startswith("crm-xl ") for c in cmds), [c for c in cmds if "crm-xl" not in c]
    # no placeholder syntax in an example: those live in the ``text`` usage block
    assert not [c for c in cmds if re.search(r"\[--|\||…|<\w", c.split("#")[0])]


@pytest.mark.slow
def test_readme_shell_examples_run_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for cmd in (c for b in blocks("sh") for c in commands(b)):
        argv = shlex.split(cmd, comments=True)
        out_file = None
        if ">" in argv:
            i = argv.index(">")
            argv, out_file = argv[:i], argv[i + 1]
        assert argv[0] == "crm-xl"
        res = runner.invoke(main, argv[1:])
        assert res.exit_code == 0, f"{cmd}\n{res.output}"
        assert "Traceback" not in res.output
        if out_file:
            Path(out_file).write_text(res.output, "utf-8")
    # what the examples say they do, they did
    assert (tmp_path / "tasks.xlsx").exists() and (tmp_path / "parties.xlsx").exists()
    assert (tmp_path / "my-templates" / "F-31-08-02.xlsx").exists()
    assert (tmp_path / "W" / "archive").is_dir()


@pytest.mark.slow
def test_readme_python_example_runs(tmp_path: Path) -> None:
    (code,) = blocks("python")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "W" / "F-31-08-02.xlsx").exists()
