"""A workspace: the folder that holds the register, customer folders, archive and settings.

::

    W/
      F-31-08-02.xlsx (or .xlsm)   the register (R4, R9)
      customers/<no> - <name>/     one folder per customer with its F-31-08-01 (R12)
      archive/                     closed customers' folders (R11); nothing is deleted
      after-sales/                 one F-31-07-01 per product and the catalog
      complaints.xlsx, satisfaction.xlsx, sales-plan.xlsx   the extras' books
      settings.json                company, experts, numbering, follow-up rules
      .crm_xl/                     the toolkit's lock, backups and form templates

Everything listed is a *record*: only the operation that owns it writes it.  Outputs a
person asks for (task lists, reports, exports, annotated copies, blank templates) go through
``check_output_path``/``write_output``, which refuse every record of any workspace the path
lies in (SPEC §10 "The toolkit never destroys its own records").
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from crm_xl.domain.errors import InputError, WorkspaceError
from crm_xl.domain.schema import F_31_07_01, F_31_08_01, F_31_08_02, Form
from crm_xl.domain.settings import SETTINGS_FILE, Settings
from crm_xl.io.layout import build_form, is_current
from crm_xl.io.safety import atomic_write, verify_xlsx
from crm_xl.io.settings_file import load_settings, save_settings

REGISTER_STEM = "F-31-08-02"
REGISTER_NAMES = (f"{REGISTER_STEM}.xlsx", f"{REGISTER_STEM}.xlsm")
#: The extras' books at the root; ``ops.books`` declares their forms with these file names.
COMPLAINTS_BOOK = "complaints.xlsx"
SATISFACTION_BOOK = "satisfaction.xlsx"
PLANS_BOOK = "sales-plan.xlsx"
INTERNAL_DIR = ".crm_xl"

#: Record files at the workspace root: name → (Persian, English) description.
_RECORD_FILES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(REGISTER_NAMES, ("دفتر ثبت مشتریان", "the customer register")),
    SETTINGS_FILE: ("فایل تنظیمات", "the settings file"),
    COMPLAINTS_BOOK: ("دفتر شکایات", "the complaints book"),
    SATISFACTION_BOOK: ("دفتر نظرسنجی", "the satisfaction book"),
    PLANS_BOOK: ("دفتر برنامه فروش", "the sales-plan book"),
}
#: Folders whose whole content is records: customer folders and forms, the archive (archived
#: folders and registers), after-sales forms and catalog, the toolkit's own files.
_RECORD_DIRS: dict[str, tuple[str, str]] = {
    "customers": ("پوشه‌ها و فرم‌های مشتریان", "the customer folders and forms"),
    "archive": ("بایگانی", "the archive"),
    "after-sales": ("فرم‌های خدمات پس از فروش", "the after-sales forms"),
    INTERNAL_DIR: ("فایل‌های داخلی crm_xl", "crm_xl's own files"),
}


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
        from crm_xl.io import holiday_cache

        holiday_cache.install(ws.root / ".crm_xl")  # its due dates need no holidays import
        return ws

    # -- paths
    @property
    def register_path(self) -> Path:
        """The register: the macro-enabled one when it exists, else the plain workbook."""
        xlsm = self.root / REGISTER_NAMES[1]
        return xlsm if xlsm.exists() else self.root / REGISTER_NAMES[0]

    @property
    def has_register(self) -> bool:
        return any((self.root / n).exists() for n in REGISTER_NAMES)

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
        return self.root / INTERNAL_DIR

    @property
    def backups_dir(self) -> Path:
        return self.internal_dir / "backups"

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.root)

    def form_template(self, form: Form) -> Path:
        """The workspace's blank copy of ``form`` with its company name (made when missing)."""
        path = self.internal_dir / "templates" / form.filename
        company, experts = self.settings.company, self.settings.experts
        if not is_current(path, company=company, experts=experts):  # new layout or settings
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx")
            build_form(tmp, form, company=company, experts=experts)
            os.replace(tmp, path)
        return path


def init_workspace(
    root: str | Path,
    *,
    company: str | None = None,
    experts: list[str] | None = None,
    fiscal_memory_id: str | None = None,
) -> Workspace:
    """Create a workspace; refuses to touch a folder that already holds one.

    A folder it may not create or write (no permission, read-only share, a file in the way)
    gets a clear WorkspaceError; whatever it had created by then is removed again, so the
    same command can simply be repeated once the cause is fixed.
    """
    path = Path(root).resolve()
    if (path / SETTINGS_FILE).exists() or any((path / n).exists() for n in REGISTER_NAMES):
        raise WorkspaceError(
            "این پوشه از قبل پوشه کاری است و بازنویسی نمی‌شود",
            "this folder already holds a workspace; it is not overwritten",
            code="workspace-exists",
            file=path,
        )
    _check_folder_path(path)
    settings = Settings(fiscal_memory_id=fiscal_memory_id)
    if company:
        settings.company = company
    if experts:
        settings.experts = list(experts)
    ws = Workspace(path)
    # What this call creates, so a failure removes exactly that and nothing a person put there.
    new_dirs = [
        d for d in (ws.customers_dir, ws.archive_dir, ws.aftersales_dir, ws.internal_dir)
        if not d.exists()
    ]  # fmt: skip
    new_parents = [p for p in (path, *path.parents) if not p.exists()]
    try:
        for d in (ws.customers_dir, ws.archive_dir, ws.aftersales_dir, ws.backups_dir):
            d.mkdir(parents=True, exist_ok=True)
        save_settings(path, settings)
        build_form(
            ws.root / REGISTER_NAMES[0],
            F_31_08_02,
            company=settings.company,
            experts=settings.experts,
        )
        for form in (F_31_08_01, F_31_07_01):
            ws.form_template(form)
    except BaseException as e:
        _undo_init(ws, new_dirs, new_parents)
        if isinstance(e, OSError):
            raise environment_error(e) from None
        raise
    return ws


def _check_folder_path(path: Path) -> None:
    """Refuse a path where a file sits in the place of the folder or one of its parents."""
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise WorkspaceError(
                    f"«{p}» یک فایل است نه پوشه؛ پوشه کاری را جای دیگری بسازید",
                    f"{p} is a file, not a folder; create the workspace somewhere else",
                    code="not-a-folder",
                    file=p,
                )
            return


def _undo_init(ws: Workspace, new_dirs: list[Path], new_parents: list[Path]) -> None:
    """Remove what a failed ``init_workspace`` made, so the same command can be run again."""
    for name in (SETTINGS_FILE, REGISTER_NAMES[0]):  # neither existed: init refuses otherwise
        with contextlib.suppress(OSError):
            (ws.root / name).unlink(missing_ok=True)
    for d in new_dirs:
        shutil.rmtree(d, ignore_errors=True)
    for d in new_parents:  # deepest first; only while empty
        with contextlib.suppress(OSError):
            d.rmdir()


# --- the operating system's refusals -----------------------------------------------------------

_ERRNO_CODES: dict[int, str] = {
    **dict.fromkeys(
        [getattr(errno, n) for n in ("ENOSPC", "EDQUOT") if hasattr(errno, n)], "disk-full"
    ),
    errno.EROFS: "read-only",
    errno.EACCES: "permission-denied",
    errno.EPERM: "permission-denied",
    errno.ENOTDIR: "not-a-folder",
    errno.ENOENT: "not-found",
    errno.ENAMETOOLONG: "path-too-long",
    errno.EIO: "io-error",
}


def environment_error(e: OSError, near: Path | None = None) -> WorkspaceError:
    """A clear two-language message (exit 2) for an OSError: what happened and what to do.

    ``near`` names the place when the error does not (``fsync`` and ``write`` carry no name).
    """
    name = e.filename if e.filename is not None else near
    where = str(name) if name is not None else ""
    shown = f"«{where}»" if where else "پوشه کاری"
    shown_en = where or "the workspace folder"
    code = _ERRNO_CODES.get(e.errno or 0, "os-error")
    fa, en = {
        "disk-full": (
            f"فضای دیسک یا سهمیهٔ محل {shown} پر است؛ فضا آزاد کنید و فرمان را دوباره اجرا کنید",
            f"no space left on the disk (or quota) that holds {shown_en}; "
            "free some space and run the command again",
        ),
        "read-only": (
            f"محل {shown} فقط‌خواندنی است (دیسک یا پوشه اشتراکی)؛ دسترسی نوشتن بگیرید "
            "یا پوشه کاری را به جای قابل نوشتن ببرید",
            f"{shown_en} is on a read-only disk or share; get write access "
            "or move the workspace to a writable folder",
        ),
        "permission-denied": (
            f"اجازه نوشتن در {shown} نیست؛ از مدیر شبکه دسترسی نوشتن بگیرید، "
            "یا فقط‌خواندنی نبودن فایل و باز نبودن آن در برنامهٔ دیگر را بررسی کنید",
            f"permission denied for {shown_en}; ask for write access to the folder, or check "
            "that the file is not read-only or open in another program",
        ),
        "not-a-folder": (
            f"بخشی از مسیر {shown} فایل است نه پوشه؛ مسیر دیگری بدهید",
            f"part of the path {shown_en} is a file, not a folder; give another path",
        ),
        "not-found": (
            f"{shown} پیدا نشد؛ مسیر را بررسی کنید",
            f"{shown_en} was not found; check the path",
        ),
        "path-too-long": (
            f"مسیر {shown} بیش از حد طولانی است؛ پوشه کاری را در مسیر کوتاه‌تری بگذارید",
            f"the path {shown_en} is too long; keep the workspace in a shorter path",
        ),
        "io-error": (
            f"دیسک یا پوشه اشتراکی در خواندن/نوشتن {shown} خطا داد؛ اتصال را بررسی و دوباره تلاش کنید",
            f"the disk or share failed reading/writing {shown_en}; check the connection "
            "and try again",
        ),
    }.get(
        code,
        (
            f"خطای سیستم در {shown}: {e.strerror or e}",
            f"system error on {shown_en}: {e.strerror or e}",
        ),
    )
    return WorkspaceError(fa, en, code=code, file=where or None)


# --- outputs never replace records -------------------------------------------------------------


def _name_key(name: str) -> str:
    """A file name as Windows and macOS compare it: any case, no trailing dots or spaces, no
    NTFS stream suffix (``settings.json:x`` and ``settings.json.`` are settings.json there)."""
    name = unicodedata.normalize("NFC", name.split(":", 1)[0]).rstrip(". ")
    return name.casefold()


_FILE_KEYS = {_name_key(n): d for n, d in _RECORD_FILES.items()}
_DIR_KEYS = {_name_key(n): d for n, d in _RECORD_DIRS.items()}


def looks_like_workspace(folder: Path) -> bool:
    """``folder`` holds a workspace: its settings and its register or the toolkit's folder."""
    return (folder / SETTINGS_FILE).is_file() and (
        (folder / INTERNAL_DIR).is_dir() or any((folder / n).is_file() for n in REGISTER_NAMES)
    )


def _resolve(path: str | Path) -> Path:
    try:
        return Path(path).expanduser().resolve()  # symlinks followed: the file really written
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise InputError(
            f"مسیر «{path}» قابل پیمایش نیست (پیوند نمادین حلقوی؟)",
            f"the path {path} cannot be resolved (a symbolic-link loop?): {e}",
            code="bad-path",
            file=str(path),
        ) from None


def record_kind(
    path: str | Path, ws: Workspace | Path | None = None
) -> tuple[Path, str, str] | None:
    """(workspace root, Persian, English: what it is) when ``path`` is a record of ``ws`` or
    of any workspace it lies in, else None.  Symlinks are resolved; names compare as on
    Windows and macOS (any case), so ``f-31-08-02.XLSX`` is the register too."""
    target = _resolve(path)
    roots = [p for p in target.parents if looks_like_workspace(p)]
    if ws is not None:
        roots.insert(0, _resolve(ws.root if isinstance(ws, Workspace) else ws))
    for root in roots:
        try:
            parts = target.relative_to(root).parts
        except ValueError:
            continue
        if not parts:
            continue
        first = _name_key(parts[0])
        if first in _DIR_KEYS:
            fa, en = _DIR_KEYS[first]
            return root, f"درون {fa}", f"lies in {en}"
        if first in _FILE_KEYS:  # the file, or a path through it (``settings.json/x.xlsx``)
            fa, en = _FILE_KEYS[first]
            return root, f"همان {fa}", f"is {en}"
    return None


def is_record(ws: Workspace | Path | None, path: str | Path) -> bool:
    """``path`` is a workspace record: no output may be written there."""
    return record_kind(path, ws) is not None


def check_output_path(
    path: str | Path, *, force: bool, ws: Workspace | Path | None = None, folder: bool = False
) -> Path:
    """The resolved path an output may be written to, or InputError (exit 1).

    Refused: any record of ``ws`` or of a workspace the path lies in, even with ``force``;
    a folder; an existing file unless ``force``.  With ``folder`` the path is a folder that
    outputs go into (each of them checked again by name): only records and files refused.
    """
    target = _resolve(path)
    kind = record_kind(target, ws)
    if kind is not None:
        root, fa, en = kind
        raise InputError(
            f"«{Path(path)}» {fa} پوشه کاری «{root}» است؛ خروجی هرگز روی سوابق نوشته "
            "نمی‌شود. نام فایل یا پوشه دیگری بدهید.",
            f"{Path(path)} {en} of the workspace {root}; outputs never replace records. "
            "Give another file name or folder.",
            code="output-is-record",
            file=str(target),
        )
    if folder:
        if target.exists() and not target.is_dir():
            raise InputError(
                f"«{Path(path)}» یک فایل است؛ برای چند خروجی نام یک پوشه را بدهید",
                f"{Path(path)} is a file; give a folder for several outputs",
                code="output-not-folder",
                file=str(target),
            )
        return target
    if target.is_dir():
        raise InputError(
            f"«{Path(path)}» یک پوشه است؛ نام فایل خروجی را بدهید",
            f"{Path(path)} is a folder; give the output file's name",
            code="output-is-folder",
            file=str(target),
        )
    if target.exists() and not force:
        raise InputError(
            f"فایل «{Path(path)}» از قبل هست؛ برای جایگزینی --force بدهید یا نام دیگری انتخاب کنید",
            f"{Path(path)} already exists; add --force to replace it or choose another name",
            code="output-exists",
            file=str(target),
        )
    return target


def write_output(
    path: str | Path,
    write: Callable[[Path], object],
    *,
    verify: Callable[[Path], None] | None = verify_xlsx,
) -> Path:
    """Write an output file through ``write(tmp)``: never a record, atomically (temporary
    file, verified, then replaced), refused while Excel or LibreOffice has it open.

    Whether an existing file may be replaced is the caller's question (``check_output_path``
    with ``force``); a record is refused here whatever the caller decided.
    """
    target = check_output_path(path, force=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise environment_error(e) from None
    atomic_write(target, write, backups=None, verify=verify)
    return target
