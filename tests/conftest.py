"""Fixtures shared by the whole suite (after sqlite-utils' conftest: one place, small fixtures).

* ``pristine``: a workspace made once per session with ``init_workspace``
  (``helpers_workspace.COMPANY`` and ``EXPERTS``). Tests never write to it: ``ws`` hands each
  test its own copy.
* ``cli``: runs ``crm-xl`` in-process (``crm_xl.cli.main.main``) on a workspace and returns the
  exit code, the output and, when asked, the parsed JSON (``helpers_cli.Cli``).
* ``remote_engine``: xlwings' remote engine, with the non-commercial test licence set for the
  test only (never in the shipped workbook).
* Markers ``slow`` and ``libreoffice`` run by default and in CI; a ``libreoffice`` test is
  skipped only on a machine without LibreOffice, and fails instead when ``CI`` is set.

Reading registers and forms by schema key: ``helpers_workspace``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import Cli
from helpers_office import soffice
from helpers_workspace import COMPANY, EXPERTS, copy_workspace

from crm_xl.io.workspace import Workspace, init_workspace


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: takes seconds to minutes; runs by default and in CI (-m 'not slow')"
    )
    config.addinivalue_line(
        "markers",
        "libreoffice: needs headless LibreOffice (soffice) and poppler; runs by default, "
        "skipped only where LibreOffice is missing, and then fails in CI",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("libreoffice") is None or soffice() is not None:
        return
    if os.environ.get("CI"):
        pytest.fail("LibreOffice (soffice) is required in CI; .ci/run installs it")
    pytest.skip("LibreOffice (soffice) not installed")


# --- workspaces -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh workspace folder, made once; copy it (``ws``), never write to it."""
    root = tmp_path_factory.mktemp("pristine") / "ws"
    return init_workspace(root, company=COMPANY, experts=list(EXPERTS)).root


@pytest.fixture
def ws(pristine: Path, tmp_path: Path) -> Workspace:
    """This test's own copy of the pristine workspace, at ``tmp_path / "ws"``."""
    return copy_workspace(pristine, tmp_path / "ws")


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli() -> Cli:
    return Cli()


# --- Excel ----------------------------------------------------------------------------------


@pytest.fixture
def remote_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """xlwings with its remote engine registered (licence key for tests only); yields xlwings."""
    import xlwings as xw
    import xlwings_remote as remote

    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")  # tests only
    remote.ensure_remote_engine()
    yield xw
    if hasattr(xw.Book, "_mock_caller"):
        del xw.Book._mock_caller


# Issue 13 acceptance 4: every workbook the suite writes is scanned for formula cells.
pytest_plugins = ["helpers_formulas"]
