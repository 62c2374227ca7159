"""``crm-xl`` in-process for tests: exit code, output and parsed JSON (the ``cli`` fixture)."""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from crm_xl.io.workspace import Workspace


@dataclass
class CliResult:
    exit_code: int
    output: str  # stdout and stderr as a terminal shows them
    stdout: str
    stderr: str
    data: Any = None  # the parsed JSON of stdout, with json=True


class Cli:
    """``crm-xl [-w WS] [--json] ARGS…`` in-process; an uncaught exception fails the test."""

    def __call__(
        self, ws: Workspace | Path | None, *args: str, json: bool = False, **invoke: Any
    ) -> CliResult:
        """``invoke`` goes to ``CliRunner.invoke`` (``input=``, ``terminal_width=``, …)."""
        from crm_xl.cli.main import main

        argv: list[str] = []
        if ws is not None:
            argv += ["-w", str(ws.root if isinstance(ws, Workspace) else ws)]
        if json:
            argv.append("--json")
        res = CliRunner().invoke(main, [*argv, *args], **invoke)
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            raise res.exception  # the command let an exception escape: a traceback for the user
        data = None
        if json and res.stdout.strip():
            try:
                data = jsonlib.loads(res.stdout)
            except ValueError as e:
                raise AssertionError(f"crm-xl {' '.join(args)}: not JSON:\n{res.output}") from e
        return CliResult(res.exit_code, res.output, res.stdout, res.stderr, data)
