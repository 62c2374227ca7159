"""An expert's panel workbook: a VBA project built without Excel, sheets with buttons.

The route (measured, see ``docs/xlwings-route.md``):

1. :func:`build_vba_project` lets pyOpenVBA give a scratch ``.xlsm`` a VBA project the way
   Excel makes one (``ThisWorkbook`` plus one document module per sheet), adds the installed
   xlwings' own ``xlwings.bas`` and ``addin/Dictionary.cls`` and the generated ``CrmButtons``
   module, and keeps the project's ``xl/vbaProject.bin``.
   The ``_VBA_PROJECT`` stream is then written as MS-OVBA requires (version 0xFFFF).
2. :func:`add_panel` has XlsxWriter embed that bin, lay out the right-to-left panel sheet
   (entry cells, each a defined name; a message cell; form-control buttons whose macro is
   ``CrmButtons.<Sub>``), the list sheets with their own buttons, the ``xlwings.conf`` sheet
   that pins the expert's Python and every other key, and the hidden link sheet.
3. :func:`check_xlsm` finds what a saved panel lacks (VBA part, content types, a button); a
   damaged panel is rebuilt with ``crm-xl excel panel`` (nothing the expert typed is lost).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from xml.etree import ElementTree as ET

from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import (
    CASES,
    CUSTOMERS,
    FOLLOWUPS,
    FONT_NAME,
    FONT_SIZE,
    JALALI_HINT,
    RIAL_FORMAT,
    Field,
    FieldType,
    Table,
)

#: The VBA module holding one Sub per button, and the Python module the Subs call.
BUTTON_MODULE = "CrmButtons"
PYTHON_MODULE = "crm_xl.excel.buttons"
#: Modules every built project holds besides the document modules.
XLWINGS_MODULES = ("xlwings", "Dictionary")

PANEL_SHEET = "پنل فروش"
TASKS_SHEET = "کارتابل من"
MY_CUSTOMERS_SHEET = "مشتریان من"
CONF_SHEET = "xlwings.conf"  # the name xlwings.bas looks for (GetConfigFromSheet)
LINK_SHEET = "crm_xl"  # hidden: the workspace path and the expert the panel belongs to
STATUS_NAME = "status_cell"
#: Each sheet with buttons has its own message cell, so a press answers where it was made.
STATUS_NAMES = {
    PANEL_SHEET: STATUS_NAME,
    TASKS_SHEET: "status_tasks",
    MY_CUSTOMERS_SHEET: "status_customers",
}
WORKSPACE_NAME = "crm_workspace"
EXPERT_NAME = "crm_expert"
#: «در حال اجرا…» / running…: written by VBA before RunPython starts Python.
RUNNING_TEXT = "در حال اجرا… / running…"
#: First data row (1-based) of the list sheets; column A holds the customer number.
LIST_FIRST_ROW = 6
LIST_HEADER_ROW = 5


class Button(NamedTuple):
    macro: str  # Sub in CrmButtons (ASCII, unique in the project)
    func: str  # function in crm_xl.excel.buttons
    fa: str
    en: str
    sheet: str = PANEL_SHEET  # the sheet the button sits on (and whose message cell it uses)


BUTTONS: tuple[Button, ...] = (
    Button("RegisterCustomer", "register_customer", "ثبت مشتری جدید", "Register customer"),
    Button(
        "RegisterAnyway",
        "register_customer_anyway",
        "ثبت با وجود مشتری مشابه",
        "Register anyway (duplicate-looking)",
    ),
    Button("LogFollowUp", "log_followup", "ثبت پیگیری و اقدام بعدی", "Log follow-up"),
    Button("OpenCase", "open_case", "تشکیل پرونده فروش", "Open sales case"),
    Button("IssueContract", "issue_contract", "ثبت قرارداد", "Contract"),
    Button("IssueInvoice", "issue_invoice", "صدور فاکتور", "Invoice"),
    Button("MarkCrmDone", "mark_crm_done", "ثبت انجام CRM", "CRM done"),
    Button("CloseAndArchive", "close_and_archive", "بستن و بایگانی", "Close and archive"),
    Button("VoidNumber", "void_number", "ابطال شماره", "Void a number"),
    Button("CancelCase", "cancel_case", "لغو پرونده", "Cancel case"),
    Button("ValidateWorkspace", "validate", "اعتبارسنجی", "Validate"),
    Button(
        "OpenCustomerFolder", "open_customer_folder", "باز کردن پوشه مشتری", "Open customer folder"
    ),
    Button("RefreshPanel", "refresh_overdue", "به‌روزرسانی", "Refresh"),
    # The list sheets: each acts on the selected row of its own sheet.
    Button("TaskFollowUp", "log_followup", "ثبت پیگیری ردیف انتخابی", "Follow-up", TASKS_SHEET),
    Button("TaskOpenFolder", "open_customer_folder", "باز کردن پوشه", "Open folder", TASKS_SHEET),
    Button("TaskRefresh", "refresh_overdue", "به‌روزرسانی", "Refresh", TASKS_SHEET),
    Button(
        "CustFollowUp", "log_followup", "ثبت پیگیری ردیف انتخابی", "Follow-up", MY_CUSTOMERS_SHEET
    ),
    Button("CustOpenCase", "open_case", "تشکیل پرونده", "Open case", MY_CUSTOMERS_SHEET),
    Button("CustCrmDone", "mark_crm_done", "ثبت انجام CRM", "CRM done", MY_CUSTOMERS_SHEET),
    Button(
        "CustClose", "close_and_archive", "بستن و بایگانی", "Close and archive", MY_CUSTOMERS_SHEET
    ),
    Button(
        "CustOpenFolder", "open_customer_folder", "باز کردن پوشه", "Open folder", MY_CUSTOMERS_SHEET
    ),
    Button("CustRefresh", "refresh_overdue", "به‌روزرسانی", "Refresh", MY_CUSTOMERS_SHEET),
)


def run_python_command(button: Button) -> str:
    """The Python statement the button's Sub hands to ``RunPython``."""
    return f"import {PYTHON_MODULE} as b; b.{button.func}()"


def macro_ref(button: Button) -> str:
    """The macro a form-control button is assigned (module-qualified, so no name clash)."""
    return f"{BUTTON_MODULE}.{button.macro}"


def _vba_string(text: str) -> str:
    """A VBA expression for ``text``: the module is ANSI, so non-ASCII goes through ChrW."""
    parts: list[str] = []
    run = ""
    for ch in text:
        if ch.isascii() and ch != '"':
            run += ch
            continue
        if run:
            parts.append(f'"{run}"')
            run = ""
        parts.append(f"ChrW({ord(ch)})")
    if run:
        parts.append(f'"{run}"')
    return " & ".join(parts) or '""'


def button_module_source() -> str:
    """The generated standard module: one Sub per button, each calling xlwings' RunPython.

    ASCII only, because a VBA module is stored in the project's ANSI code page; CRLF, as
    the VBE writes. RunPython puts the command inside ``python -c "..."`` on Windows, so it
    must not contain a double quote. Before Python starts (about a second), the Sub writes
    «در حال اجرا…» into its sheet's message cell and lets Excel repaint it.
    """
    lines = [
        f'Attribute VB_Name = "{BUTTON_MODULE}"',
        "' Generated by crm_xl.io.vba from BUTTONS: do not edit, rebuild the panel.",
        "' Each button runs one function of crm_xl.excel.buttons on this workbook (xlwings RunPython).",
        "Option Explicit",
        "",
        "Private Sub ShowRunning(ByVal cellName As String)",
        "    On Error Resume Next",
        f"    ThisWorkbook.Names(cellName).RefersToRange.Value = {_vba_string(RUNNING_TEXT)}",
        "    DoEvents",
        "End Sub",
        "",
    ]
    for button in BUTTONS:
        command = run_python_command(button)
        if '"' in command or not command.isascii():
            raise ValueError(f"unusable RunPython command: {command!r}")
        lines += [
            f"Public Sub {button.macro}()",
            f"    ' {button.en}",
            f'    ShowRunning "{STATUS_NAMES[button.sheet]}"',
            f'    RunPython "{command}"',
            "End Sub",
            "",
        ]
    return "\r\n".join(lines)


# --- the VBA project ----------------------------------------------------------------------


def xlwings_vba_sources() -> dict[str, str]:
    """``xlwings.bas`` and ``Dictionary.cls`` of the installed xlwings, CRLF, checked for version.

    ``xlwings.bas`` declares the xlwings DLL of its own version, so it must come from the
    very xlwings the user's Python runs (pinned in pyproject).
    """
    # Read as package data: the VBA files need no import of xlwings (slow, and Excel-only).
    spec = importlib.util.find_spec("xlwings")
    if spec is None or spec.origin is None:
        raise CrmError("xlwings نصب نیست", "xlwings is not installed", code="xlwings-version")
    root = Path(spec.origin).parent
    installed = importlib.metadata.version("xlwings")
    sources = {
        "xlwings": _read_vba(root / "xlwings.bas"),
        "Dictionary": _read_vba(root / "addin" / "Dictionary.cls"),
    }
    found = re.search(r"^'Version: (\S+)", sources["xlwings"], re.MULTILINE)
    if not found or found.group(1) != installed:
        raise CrmError(
            f"نسخه xlwings.bas ({found.group(1) if found else '?'}) با xlwings نصب‌شده "
            f"({installed}) یکی نیست",
            f"xlwings.bas version ({found.group(1) if found else '?'}) does not match the "
            f"installed xlwings ({installed})",
            code="xlwings-version",
            file=root / "xlwings.bas",
        )
    return sources


def _read_vba(path: Path) -> str:
    text = path.read_bytes().decode("cp1252")  # VBA source files are ANSI
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def build_vba_project(out_bin: Path, *, sheet_count: int = 1) -> Path:
    """Write ``vbaProject.bin`` holding xlwings, Dictionary and CrmButtons; return its path.

    ``sheet_count`` document modules (``Sheet1``...) are made besides ``ThisWorkbook``, named
    as XlsxWriter names the sheets' code names once a project is added; Excel adds any that
    are missing when it opens the book, so the default of one is also fine.
    """
    import xlsxwriter
    from pyopenvba import ExcelFile, VBAModuleKind

    sources = xlwings_vba_sources()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "scratch.xlsm"
        book = xlsxwriter.Workbook(str(scratch))
        for _ in range(max(1, sheet_count)):
            book.add_worksheet()
        book.close()
        # pyOpenVBA's add_vba_project makes the project Excel makes for a first macro.
        with ExcelFile(scratch) as xl:
            project = xl.add_vba_project()
            project.add_module("xlwings", sources["xlwings"])
            project.add_module("Dictionary", sources["Dictionary"], kind=VBAModuleKind.other)
            project.add_module(BUTTON_MODULE, button_module_source())
            xl.save()
        with ExcelFile(scratch) as xl:
            problems = xl.validate()
            names = xl.module_names()
            data = xl.vba_project_bytes()
    missing = [m for m in (*XLWINGS_MODULES, BUTTON_MODULE) if m not in names]
    if problems or missing:
        raise RuntimeError(f"VBA project build failed: {problems or missing}")
    out_bin = Path(out_bin)
    out_bin.parent.mkdir(parents=True, exist_ok=True)
    out_bin.write_bytes(with_vba_project_version(data))
    return out_bin


#: MS-OVBA §2.3.4.1 on write: Reserved1 0x61CC, Version 0xFFFF, Reserved2 0x00, Reserved3
#: 0x0003 and no performance cache; with any other version Office may trust a cached
#: compiled state instead of compiling the source (xlwings' own template has these bytes).
VBA_PROJECT_STREAM = b"\xcc\x61\xff\xff\x00\x03\x00"


def vba_project_version(bin_data: bytes) -> int:
    """The Version field of the ``VBA/_VBA_PROJECT`` stream of a ``vbaProject.bin``."""
    from pyopenvba.cfb import CFB

    stream = CFB.from_bytes(bin_data).get_stream_in_storage("VBA", "_VBA_PROJECT")
    return int.from_bytes(stream[2:4], "little")


def with_vba_project_version(bin_data: bytes) -> bytes:
    """``bin_data`` with the ``_VBA_PROJECT`` stream as MS-OVBA requires on write."""
    from pyopenvba.cfb import CFB

    cfb = CFB.from_bytes(bin_data)
    cfb.write_stream_in_storage("VBA", "_VBA_PROJECT", VBA_PROJECT_STREAM)
    return cfb.to_bytes()


# --- the panel sheet ----------------------------------------------------------------------


@dataclass(frozen=True)
class PanelField:
    """One labelled entry cell of the panel, found by Python through its defined name."""

    name: str  # defined name of the value cell, e.g. ``in_name``
    part: str  # schema table the value belongs to
    field: Field
    hint: str = ""

    @property
    def label(self) -> str:
        return self.field.fa


def _pf(name: str, table: Table, key: str, hint: str = "") -> PanelField:
    field = table.field(key)
    return PanelField(name, table.name, field, hint or field.hint)


_CUSTOMER_NO_HINT = "برای پیگیری، پرونده، CRM، بایگانی و پوشه"

#: Sections of the entry area: (Persian title, English title, fields).
PANEL_SECTIONS: tuple[tuple[str, str, tuple[PanelField, ...]], ...] = (
    (
        "مشتری جدید",
        "New customer",
        (
            _pf("in_name", CUSTOMERS, "name"),
            _pf("in_person_type", CUSTOMERS, "person_type"),
            _pf("in_national_id", CUSTOMERS, "national_id", "۱۰ رقم (حقیقی) یا ۱۱ رقم (حقوقی)"),
            _pf("in_mobile", CUSTOMERS, "mobile", "۰۹۱۲۱۲۳۴۵۶۷"),
            _pf("in_phone", CUSTOMERS, "phone", "با کد شهر"),
            _pf("in_channel", CUSTOMERS, "channel"),
            _pf("in_referrer", CUSTOMERS, "referrer"),
            _pf("in_expert", CUSTOMERS, "expert"),
            _pf("in_category", CUSTOMERS, "category", "مثال: صنعتی › پتروشیمی"),
            _pf("in_need", CUSTOMERS, "need"),
        ),
    ),
    (
        "پیگیری و اقدام بعدی",
        "Follow-up and next action",
        (
            _pf("in_customer", CUSTOMERS, "customer_no", _CUSTOMER_NO_HINT),
            _pf("in_followup_type", FOLLOWUPS, "type"),
            _pf("in_minutes", FOLLOWUPS, "minutes"),
            _pf("in_note", FOLLOWUPS, "description"),
            _pf("in_result", FOLLOWUPS, "result"),
            _pf("in_next_type", FOLLOWUPS, "next_type"),
            _pf("in_next_action", FOLLOWUPS, "next_action"),
            _pf("in_next_owner", FOLLOWUPS, "next_owner"),
            _pf("in_next_due", FOLLOWUPS, "next_due", "مثال: ۱۴۰۳/۰۷/۱۵ ۱۰:۳۰"),
        ),
    ),
    (
        "پرونده، قرارداد و فاکتور",
        "Case, contract and invoice",
        (
            _pf("in_case", CASES, "case_no", "برای قرارداد و فاکتور"),
            _pf("in_products", CASES, "products"),
            _pf("in_contract_date", CASES, "contract_date", JALALI_HINT),
            _pf("in_amount", CASES, "amount", "ریال"),
        ),
    ),
    (
        "ابطال شماره و لغو پرونده",
        "Void a number, cancel a case",
        (
            PanelField(
                "in_void_no",
                CASES.name,
                Field("number", "شماره برای ابطال", "Number to void"),
                "شماره فاکتور، قرارداد یا پرونده؛ برای لغو پرونده، «شماره پرونده» بالا",
            ),
            PanelField(
                "in_reason",
                CASES.name,
                Field("reason", "علت", "Reason", FieldType.LONGTEXT),
                "برای ابطال و لغو الزامی است",
            ),
        ),
    ),
)

PANEL_FIELDS: tuple[PanelField, ...] = tuple(f for _, _, fs in PANEL_SECTIONS for f in fs)

# Columns (0-based) of the panel; the sheet is right-to-left, so A is the rightmost.
_LABEL_COL, _VALUE_COL, _HINT_COL, _BUTTON_COL = 1, 2, 3, 5
_LIST_COL = 40  # hidden columns holding the drop-down lists
_FIRST_ROW = 4  # first section title (0-based), below title, subtitle and status
_BUTTON_ROWS = 2  # rows per button
_BUTTON_SIZE = {"width": 200, "height": 32, "x_offset": 6, "y_offset": 4}


def _value_format(field: Field) -> dict[str, Any]:
    if field.type == FieldType.RIAL:
        return {"num_format": RIAL_FORMAT}
    if field.type == FieldType.INTEGER:
        return {"num_format": "0"}
    # Text, so numbers keep their leading zeros (mobile 09..., national codes 00...) and a
    # Jalali date stays the text typed (SPEC §5), never an Excel serial.
    return {"num_format": "@", "text_wrap": field.type == FieldType.LONGTEXT}


def _layout_panel(book: Any, ws: Any, expert: str = "") -> None:
    """Everything on the panel sheet; also used alone to regenerate the buttons' VML."""
    import xlsxwriter.utility

    base = {"font_name": FONT_NAME, "font_size": FONT_SIZE, "valign": "vcenter", "reading_order": 2}

    def fmt(**kw: Any) -> Any:
        return book.add_format({**base, **kw})

    ws.right_to_left()
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 2)
    ws.set_column(_LABEL_COL, _LABEL_COL, 30)
    ws.set_column(_VALUE_COL, _VALUE_COL, 40)
    ws.set_column(_HINT_COL, _HINT_COL, 36)
    ws.set_column(4, 4, 3)
    ws.set_column(_BUTTON_COL, _BUTTON_COL, 31)

    ws.merge_range(
        0, 1, 0, _BUTTON_COL, "پنل عملیات فروش — F-31-08-02", fmt(bold=True, font_size=14)
    )
    ws.merge_range(
        1,
        1,
        1,
        _BUTTON_COL,
        "خانه‌های زرد را پر کنید و دکمه عملیات را بزنید؛ نتیجه در خانه پیام نوشته می‌شود. "
        "/ Fill in the yellow cells, press a button; the result appears in the message cell.",
        fmt(font_color="#555555", text_wrap=True),
    )
    ws.set_row(1, 30)
    ws.write(2, _LABEL_COL, "پیام / Message", fmt(bold=True))
    ws.merge_range(
        2,
        _VALUE_COL,
        2,
        _BUTTON_COL,
        "",
        fmt(bold=True, text_wrap=True, font_color="#1F3864", bg_color="#E2EFDA", border=1),
    )
    ws.set_row(2, 40)
    book.define_name(STATUS_NAME, f"={_ref(ws.name, 2, _VALUE_COL)}")

    lists: dict[str, str] = {}  # enum name -> absolute range of its labels
    label_fmt = fmt(bold=True, border=1, bg_color="#F2F2F2")
    hint_fmt = fmt(font_color="#7F7F7F", font_size=FONT_SIZE - 1, text_wrap=True)
    section_fmt = fmt(bold=True, font_color="#FFFFFF", bg_color="#2F5597")
    row = _FIRST_ROW
    for title_fa, title_en, fields in PANEL_SECTIONS:
        ws.merge_range(row, _LABEL_COL, row, _HINT_COL, f"{title_fa} / {title_en}", section_fmt)
        row += 1
        for pf in fields:
            field = pf.field
            ws.write(row, _LABEL_COL, pf.label, label_fmt)
            value_fmt = fmt(bg_color="#FFF2CC", border=1, locked=False, **_value_format(field))
            if pf.name == "in_expert" and expert:
                ws.write_string(row, _VALUE_COL, expert, value_fmt)  # this panel's expert
            else:
                ws.write_blank(row, _VALUE_COL, None, value_fmt)
            hint = f"{field.en}" + (f" — {pf.hint}" if pf.hint else "")
            ws.write(row, _HINT_COL, hint, hint_fmt)
            if field.type == FieldType.LONGTEXT:
                ws.set_row(row, 36)
            book.define_name(pf.name, f"={_ref(ws.name, row, _VALUE_COL)}")
            choices = field.choices
            if choices is not None and field.enum is not None:
                if field.enum not in lists:
                    col = _LIST_COL + len(lists)
                    labels = choices.labels()
                    ws.write_column(0, col, labels)
                    letter = xlsxwriter.utility.xl_col_to_name(col)
                    lists[field.enum] = f"=${letter}$1:${letter}${len(labels)}"
                ws.data_validation(
                    row,
                    _VALUE_COL,
                    row,
                    _VALUE_COL,
                    {
                        "validate": "list",
                        "source": lists[field.enum],
                        "error_type": "warning",  # the library also reads keys and English labels
                        "input_message": (pf.hint or field.en)[:255],
                    },
                )
            elif pf.hint:
                ws.data_validation(
                    row,
                    _VALUE_COL,
                    row,
                    _VALUE_COL,
                    {"validate": "any", "input_message": pf.hint[:255]},
                )
            row += 1
        row += 1
    if lists:
        ws.set_column(_LIST_COL, _LIST_COL + len(lists) - 1, None, None, {"hidden": True})

    ws.write(_FIRST_ROW, _BUTTON_COL, "عملیات / Actions", section_fmt)
    for i, button in enumerate(b for b in BUTTONS if b.sheet == PANEL_SHEET):
        ws.insert_button(
            _FIRST_ROW + 1 + i * _BUTTON_ROWS,
            _BUTTON_COL,
            {
                "macro": macro_ref(button),
                "caption": button.fa,
                "description": button.en,
                **_BUTTON_SIZE,
            },
        )
    ws.freeze_panes(3, 0)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    # The hidden drop-down lists beyond the buttons never print.
    ws.print_area(0, 0, max(row, _FIRST_ROW + 1 + _BUTTON_ROWS * len(BUTTONS)), _BUTTON_COL)


def _ref(sheet: str, row: int, col: int) -> str:
    import xlsxwriter.utility

    quoted = "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!{xlsxwriter.utility.xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)}"


def conf_rows(interpreter: str | Path) -> list[tuple[str, object]]:
    """Rows of the ``xlwings.conf`` sheet: key in A, value in B, from A1, no gaps.

    xlwings.bas reads the keys upper-cased from A1 down to the first empty cell, and a key
    present here wins over the user's and the directory's ``xlwings.conf`` (review §D5): every
    key such a file could set is pinned, an empty value meaning "none" (no conda, no extra
    path), so nothing left from an earlier install leaks in.
    """
    python = str(interpreter)
    return [
        ("Interpreter_Win", python),
        ("Interpreter_Mac", python),
        ("Interpreter", ""),
        ("PYTHONPATH", ""),
        ("Conda Path", ""),
        ("Conda Env", ""),
        ("UDF Modules", ""),
        ("Use UDF Server", "False"),
        ("Debug UDFs", "False"),
        # crm_xl is imported from the interpreter's site-packages; the panel's folder holds
        # no code and must not shadow modules.
        ("ADD_WORKBOOK_TO_PYTHONPATH", "False"),
        ("Show Console", "False"),
    ]


#: The keys the conf sheet must pin (as xlwings.bas upper-cases them).
PINNED_KEYS = (
    "INTERPRETER_WIN",
    "INTERPRETER_MAC",
    "PYTHONPATH",
    "CONDA PATH",
    "CONDA ENV",
    "USE UDF SERVER",
)


#: Columns of the list sheets: (header fa, header en, width). Column A is the customer number.
TASK_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("شماره مشتری", "Customer no.", 16),
    ("نام مشتری", "Customer", 30),
    ("وضعیت پیگیری", "State", 18),
    ("اقدام", "Action", 36),
    ("موعد", "Due", 18),
    ("تأخیر", "Late", 14),
    ("تماس", "Contact", 16),
    ("مرحله", "Stage", 16),
)
CUSTOMER_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("شماره مشتری", "Customer no.", 16),
    ("نام مشتری", "Customer", 30),
    ("مرحله", "Stage", 16),
    ("وضعیت پیگیری", "State", 18),
    ("اقدام بعدی", "Next action", 30),
    ("موعد", "Due", 18),
    ("تلفن همراه", "Mobile", 16),
)
LIST_COLUMNS = {TASKS_SHEET: TASK_COLUMNS, MY_CUSTOMERS_SHEET: CUSTOMER_COLUMNS}


def _layout_list(book: Any, ws: Any, columns: tuple[tuple[str, str, float], ...]) -> None:
    """A list sheet: title, hint, message cell, header, buttons beside the rows."""
    base = {"font_name": FONT_NAME, "font_size": FONT_SIZE, "valign": "vcenter", "reading_order": 2}

    def fmt(**kw: Any) -> Any:
        return book.add_format({**base, **kw})

    last = len(columns) - 1
    button_col = last + 2
    ws.right_to_left()
    for i, (_fa, _en, width) in enumerate(columns):
        ws.set_column(i, i, width, fmt(num_format="@"))
    ws.set_column(last + 1, last + 1, 3)
    ws.set_column(button_col, button_col, 28)
    ws.merge_range(0, 0, 0, last, ws.name, fmt(bold=True, font_size=14))
    ws.merge_range(
        1,
        0,
        1,
        last,
        "یک ردیف را انتخاب کنید و دکمه کنار فهرست را بزنید؛ پیگیری از خانه‌های زرد «پنل فروش» "
        "خوانده می‌شود. / Select a row and press a button beside the list.",
        fmt(font_color="#555555", text_wrap=True),
    )
    ws.set_row(1, 30)
    ws.merge_range(2, 0, 2, last, "", fmt(text_wrap=True, border=1, bg_color="#EDEDED"))
    ws.set_row(2, 48)
    book.define_name(STATUS_NAMES[ws.name], f"={_ref(ws.name, 2, 0)}")
    header = fmt(bold=True, border=1, bg_color="#D9E1F2", text_wrap=True)
    for i, (fa, en, _w) in enumerate(columns):
        ws.write(LIST_HEADER_ROW - 1, i, f"{fa}\n{en}", header)
    ws.set_row(LIST_HEADER_ROW - 1, 32)
    for i, button in enumerate(b for b in BUTTONS if b.sheet == ws.name):
        ws.insert_button(
            LIST_FIRST_ROW - 1 + i * _BUTTON_ROWS,
            button_col,
            {"macro": macro_ref(button), "caption": button.fa, "description": button.en}
            | _BUTTON_SIZE
            | {"width": 180},
        )
    ws.freeze_panes(LIST_HEADER_ROW, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(LIST_HEADER_ROW - 1)
    ws.print_area(0, 0, 99_999, last)  # the buttons' column does not print


def add_panel(
    book: Any, *, bin_path: Path, interpreter: str | Path, workspace: str = "", expert: str = ""
) -> None:
    """Make ``book`` (an ``xlsxwriter.Workbook`` saved as ``.xlsm``) an expert's panel.

    Embeds ``bin_path`` (from :func:`build_vba_project`; XlsxWriter reads it on close), adds
    the panel sheet (first tab, active), «کارتابل من», «مشتریان من», the hidden
    ``xlwings.conf`` sheet and the hidden link sheet holding the workspace path and expert.
    """
    bin_path = Path(bin_path)
    if not bin_path.is_file():
        raise FileNotFoundError(bin_path)
    book.add_vba_project(str(bin_path))
    book.set_vba_name("ThisWorkbook")  # the document module the project holds
    panel = book.add_worksheet(PANEL_SHEET)
    _layout_panel(book, panel, expert)
    panel.activate()
    for sheet, columns in LIST_COLUMNS.items():
        _layout_list(book, book.add_worksheet(sheet), columns)
    conf = book.add_worksheet(CONF_SHEET)
    for row, (key, value) in enumerate(conf_rows(interpreter)):
        conf.write_string(row, 0, key)
        conf.write_string(row, 1, str(value))
    conf.set_column(0, 0, 28)
    conf.set_column(1, 1, 60)
    conf.hide()
    link = book.add_worksheet(LINK_SHEET)
    link.write_string(0, 0, "workspace")
    link.write_string(0, 1, str(workspace))  # as given: a UNC path stays a UNC path
    link.write_string(1, 0, "expert")
    link.write_string(1, 1, expert)
    book.define_name(WORKSPACE_NAME, f"={_ref(LINK_SHEET, 0, 1)}")
    book.define_name(EXPERT_NAME, f"={_ref(LINK_SHEET, 1, 1)}")
    link.hide()


# --- checking a saved .xlsm --------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
REL_VML = f"{_R}/vmlDrawing"
REL_COMMENTS = f"{_R}/comments"
CT_MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_VBA = "application/vnd.ms-office.vbaProject"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
VBA_PART = "xl/vbaProject.bin"
_VML_NS = 'xmlns:x="urn:schemas-microsoft-com:office:excel"'


def _rels_name(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def _resolve(part: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))


def _relationships(read: Callable[[str], bytes | None], part: str) -> list[dict[str, str]]:
    data = read(_rels_name(part))
    if data is None:
        return []
    return [dict(e.attrib) for e in ET.fromstring(data).iter(f"{{{_PKG_REL}}}Relationship")]


def _sheet_part(read: Callable[[str], bytes | None], sheet: str) -> str | None:
    workbook = read("xl/workbook.xml")
    if workbook is None:
        return None
    for element in ET.fromstring(workbook).iter(f"{{{_MAIN}}}sheet"):
        if element.get("name") == sheet:
            rid = element.get(f"{{{_R}}}id")
            for rel in _relationships(read, "xl/workbook.xml"):
                if rel.get("Id") == rid:
                    return _resolve("xl/workbook.xml", rel["Target"])
    return None


def _legacy_vml(read: Callable[[str], bytes | None], sheet_part: str) -> str | None:
    data = read(sheet_part)
    if data is None:
        return None
    legacy = ET.fromstring(data).find(f"{{{_MAIN}}}legacyDrawing")
    if legacy is None:
        return None
    rid = legacy.get(f"{{{_R}}}id")
    for rel in _relationships(read, sheet_part):
        if rel.get("Id") == rid and rel.get("Type") == REL_VML:
            return _resolve(sheet_part, rel["Target"])
    return None


def _content_types(data: bytes) -> tuple[dict[str, str], dict[str, str]]:
    root = ET.fromstring(data)
    defaults = {
        e.get("Extension", "").lower(): e.get("ContentType", "")
        for e in root.iter(f"{{{_CT}}}Default")
    }
    overrides = {
        e.get("PartName", ""): e.get("ContentType", "") for e in root.iter(f"{{{_CT}}}Override")
    }
    return defaults, overrides


def _part_type(types: tuple[dict[str, str], dict[str, str]], part: str) -> str:
    defaults, overrides = types
    return overrides.get("/" + part) or defaults.get(part.rpartition(".")[2].lower(), "")


def _problems(read: Callable[[str], bytes | None], panel_sheet: str) -> list[str]:
    problems: list[str] = []
    types = _content_types(read("[Content_Types].xml") or b"<Types/>")
    if _part_type(types, "xl/workbook.xml") != CT_MACRO_MAIN:
        problems.append("content-type: workbook is not macro-enabled")
    if read(VBA_PART) is None:
        problems.append("vba: xl/vbaProject.bin is missing")
    else:
        if _part_type(types, VBA_PART) != CT_VBA:
            problems.append("content-type: vbaProject.bin has no VBA content type")
        if not any(r.get("Type") == REL_VBA for r in _relationships(read, "xl/workbook.xml")):
            problems.append("vba: workbook has no relationship to vbaProject.bin")
    sheets = [panel_sheet, *(s for s in STATUS_NAMES if s != panel_sheet)]
    for sheet in sheets:
        problems += _sheet_problems(read, types, sheet, [b for b in BUTTONS if b.sheet == sheet])
    return problems


def _sheet_problems(
    read: Callable[[str], bytes | None],
    types: tuple[dict[str, str], dict[str, str]],
    sheet: str,
    buttons: list[Button],
) -> list[str]:
    """What the buttons of ``sheet`` lack in the saved package."""
    problems: list[str] = []
    sheet_part = _sheet_part(read, sheet)
    if sheet_part is None:
        return [f"panel: no sheet named {sheet!r}"]
    vml_part = _legacy_vml(read, sheet_part)
    vml = read(vml_part) if vml_part else None
    if vml is None:
        return [f"panel: the buttons' VML drawing of {sheet!r} is missing"]
    if _part_type(types, vml_part or "") != CT_VML:
        problems.append("content-type: VML drawing has no VML content type")
    text = vml.decode("utf-8", "replace")
    if _VML_NS not in text:
        # openpyxl re-serialises the drawing (ns0:/ns1:/ns2:) when it adds comment shapes;
        # Office's VML reader expects the o:/v:/x: prefixes it writes itself.
        problems.append("panel: VML rewritten with non-standard namespace prefixes")
    for button in buttons:
        macro = re.escape(f"[0]!{macro_ref(button)}")
        if not re.search(rf"<(\w+):FmlaMacro>{macro}</\1:FmlaMacro>", text):
            problems.append(f"panel: button {button.macro} is missing")
    ids = re.findall(r'\bid="(_x0000_s\d+)"', text)
    if len(ids) != len(set(ids)):
        problems.append("panel: duplicate shape ids in the VML drawing")
    return problems


def check_xlsm(path: Path, *, panel_sheet: str = PANEL_SHEET) -> list[str]:
    """What a saved macro register lacks: VBA part, content types, the panel's buttons. [] if fine."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())

        def read(part: str) -> bytes | None:
            return z.read(part) if part in names else None

        return _problems(read, panel_sheet)
