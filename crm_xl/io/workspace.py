"""A workspace: the folder that holds the register, customer folders, archive and settings.

::

    W/
      F-31-08-02.xlsx (or .xlsm)   the register (R4, R9)
      customers/<no> - <name>/     one folder per customer with its F-31-08-01 (R12)
      archive/                     closed customers' folders (R11); nothing is deleted
      after-sales/                 one F-31-07-01 per product and the catalog
      settings.json                company, experts, numbering, follow-up rules
      .crm_xl/                     the toolkit's lock, backups and form templates
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from crm_xl.domain.errors import WorkspaceError
from crm_xl.domain.schema import F_31_07_01, F_31_08_01, F_31_08_02, Form
from crm_xl.domain.settings import SETTINGS_FILE, Settings
from crm_xl.io.settings_file import load_settings, save_settings
from crm_xl.io.layout import build_form

REGISTER_STEM = "F-31-08-02"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        """The workspace at ``root``; WorkspaceError (in both languages) if it is not one."""
        ws = cls(Path(root).resolve())
        if not (ws.root / SETTINGS_FILE).exists() or not ws.has_register:
            raise WorkspaceError(
                "اینجا پوشه کاری crm_xl نیست (تنظیمات یا دفتر ثبت پیدا نشد)؛ "
                "با «crm-xl init» بسازید یا با -w مسیر را بدهید",
                "not a crm_xl workspace (no settings or register); "
                "create one with 'crm-xl init' or point -w at it",
                code="not-a-workspace",
                file=ws.root,
            )
        return ws

    # -- paths
    @property
    def register_path(self) -> Path:
        """The register: the macro-enabled one when it exists, else the plain workbook."""
        xlsm = self.root / f"{REGISTER_STEM}.xlsm"
        return xlsm if xlsm.exists() else self.root / f"{REGISTER_STEM}.xlsx"

    @property
    def has_register(self) -> bool:
        return any((self.root / f"{REGISTER_STEM}{s}").exists() for s in (".xlsx", ".xlsm"))

    @property
    def customers_dir(self) -> Path:
        return self.root / "customers"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def aftersales_dir(self) -> Path:
        return self.root / "after-sales"

    @property
    def internal_dir(self) -> Path:
        return self.root / ".crm_xl"

    @property
    def backups_dir(self) -> Path:
        return self.internal_dir / "backups"

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.root)

    def form_template(self, form: Form) -> Path:
        """The workspace's blank copy of ``form`` with its company name (made when missing)."""
        path = self.internal_dir / "templates" / form.filename
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            build_form(path, form, company=self.settings.company)
        return path


def init_workspace(
    root: str | Path,
    *,
    company: str | None = None,
    experts: list[str] | None = None,
    fiscal_memory_id: str | None = None,
) -> Workspace:
    """Create a workspace; refuses to touch a folder that already holds one."""
    path = Path(root).resolve()
    if (path / SETTINGS_FILE).exists() or any(
        (path / f"{REGISTER_STEM}{s}").exists() for s in (".xlsx", ".xlsm")
    ):
        raise WorkspaceError(
            "این پوشه از قبل پوشه کاری است و بازنویسی نمی‌شود",
            "this folder already holds a workspace; it is not overwritten",
            code="workspace-exists",
            file=path,
        )
    settings = Settings(fiscal_memory_id=fiscal_memory_id)
    if company:
        settings.company = company
    if experts:
        settings.experts = list(experts)
    ws = Workspace(path)
    for d in (ws.customers_dir, ws.archive_dir, ws.aftersales_dir, ws.backups_dir):
        d.mkdir(parents=True, exist_ok=True)
    save_settings(path, settings)
    build_form(ws.root / f"{REGISTER_STEM}.xlsx", F_31_08_02, company=settings.company)
    for form in (F_31_08_01, F_31_07_01):
        ws.form_template(form)
    return ws
