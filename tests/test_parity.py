"""Acceptance 3 of issue 12: an Excel button and its CLI command do the same thing.

For each entry point of ``crm_xl.excel.buttons`` and the matching ``crm-xl`` command, one
workspace is copied twice: the button runs from an expert's panel (``crm-xl excel panel``, issue
15) on copy A through xlwings' remote engine (``xlwings_remote``: the panel's entry cells typed
into the file, the recorded actions played back onto it), the command runs on copy B. Then the
copies must agree on

* the outcome: both succeed, or both refuse with the same error (code, Persian and English);
* every register table, row by row and field by field (by schema key);
* every customer's F-31-08-01 (registration block and follow-up rows, by key);
* the folders and files under customers/, archive/ and after-sales/.

The clock is frozen for both (``now_tehran`` everywhere in the package), so timestamps match.
The CRM-done case with a sold product that has no after-sales form is expected to fail until
the button checks the products as the command does (review 2026-11-23 §B.1).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwings_remote as remote
from helpers_cli import Cli
from helpers_workspace import (
    EXPERTS,
    copy_workspace,
    form_path,
    form_snapshot,
    register_snapshot,
    rows_by_key,
    tree,
)

from crm_xl.domain import dates, decide
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import CrmError
from crm_xl.domain.ids import make_legal_id, make_national_code
from crm_xl.domain.schema import CASES, CUSTOMERS
from crm_xl.excel import buttons
from crm_xl.excel.panel import build_panel
from crm_xl.io import vba
from crm_xl.io.workspace import Workspace
from crm_xl.ops import products, store

pytestmark = pytest.mark.slow

#: The moment both entrances act at (frozen); set-ups happen days before.
NOW = datetime(2025, 3, 1, 10, 30, 15, tzinfo=TEHRAN)
BEFORE = NOW - timedelta(days=3)
EXPERT = EXPERTS[0]
LEGAL_ID = make_legal_id("1010203040")


# --- the workspaces before the press -----------------------------------------------------------


def _customer(ws: Workspace) -> None:
    inp = decide.NewCustomer(
        name="شرکت پمپ نوین",
        person_type="legal",
        channel="phone",
        expert=EXPERT,
        need="پمپ سانتریفیوژ",
        national_id=LEGAL_ID,
        mobile="09121234567",
        at=BEFORE,
    )
    store.add_customer(ws, inp, now=BEFORE)  # C-00001


def _case(ws: Workspace, *items: str) -> None:
    _customer(ws)
    store.open_case(ws, "C-00001", products=items, at=BEFORE, now=BEFORE)  # P-00001


def _invoiced(ws: Workspace, *items: str) -> None:
    _case(ws, *items)
    store.add_contract(ws, "P-00001", amount=900_000_000, at=BEFORE, now=BEFORE)
    store.issue_invoice(ws, "P-00001", amount=900_000_000, at=BEFORE, now=BEFORE)


def _pump_form(ws: Workspace) -> None:
    profile = products.build_profile(
        code="PMP-100",
        name="پمپ سانتریفیوژ",
        origin="imported",
        services=["installation:یک‌بار:0:نمایندگی رسمی"],
        commitment="GF-1403/118",
    )
    products.add_product(ws, profile)


def _sold_pump_with_form(ws: Workspace) -> None:
    _invoiced(ws, "PMP-100")
    _pump_form(ws)


def _crm_done(ws: Workspace) -> None:
    _invoiced(ws)
    store.crm_done(ws, "C-00001", at=BEFORE, now=BEFORE)


def _closed(ws: Workspace) -> None:
    _crm_done(ws)
    store.close_customer(ws, "C-00001", at=BEFORE, now=BEFORE)


SETUPS: dict[str, Callable[[Workspace], None]] = {
    "empty": lambda ws: None,
    "customer": _customer,
    "case": _case,
    "invoiced": _invoiced,
    "sold pump, no form": lambda ws: _invoiced(ws, "PMP-100"),
    "sold pump with form": _sold_pump_with_form,
    "crm done": _crm_done,
    "closed": _closed,
}


@pytest.fixture(scope="module")
def before(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The workspace of a named set-up, built once per module on first use."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            root = tmp_path_factory.mktemp("before") / "ws"
            SETUPS[name](copy_workspace(pristine, root))
            built[name] = root
        return built[name]

    return get


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """``now_tehran`` returns NOW wherever the package reads the clock."""
    import importlib

    import crm_xl.cli.main
    import crm_xl.excel.panel
    import crm_xl.ops.refresh

    lazy = {**crm_xl.cli.main.LAZY_COMMANDS, **crm_xl.cli.main.LAZY_INVOICE_COMMANDS}
    for target, _ in lazy.values():  # command modules load on first use: load them now
        importlib.import_module(target.partition(":")[0])
    real = dates.now_tehran
    for name, module in list(sys.modules.items()):
        if name.startswith("crm_xl") and getattr(module, "now_tehran", None) is real:
            monkeypatch.setattr(module, "now_tehran", lambda: NOW)


# --- pressing a button and running a command -------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    code: str | None = None
    fa: str = ""
    en: str = ""
    where: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # what the user saw (not compared)


def _panel_cells(path: Path) -> dict[str, tuple[str, str]]:
    """Defined name → (sheet, cell) of the panel's entry and status cells."""
    wb = openpyxl.load_workbook(path, keep_vba=True)
    out = {}
    for name, dn in wb.defined_names.items():
        dest = list(dn.destinations) if dn.attr_text.startswith("'") else []
        if len(dest) == 1:
            out[name] = (dest[0][0], dest[0][1].replace("$", ""))
    return out


def _type_into_panel(path: Path, entries: Mapping[str, object]) -> None:
    cells = _panel_cells(path)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    for name, value in entries.items():
        sheet, ref = cells[name]
        wb[sheet][ref].value = value
    wb.save(path)


def _where(e: CrmError) -> dict[str, Any]:
    """The error's location with the file named relative to its workspace (copies differ)."""
    loc = e.location.as_dict()
    if loc["file"]:
        loc["file"] = Path(loc["file"]).name
    return loc


class Entrances:
    """Copy A for the button, copy B for the command, both from one set-up."""

    def __init__(self, setup: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.a = copy_workspace(setup, tmp / "button" / "ws")
        self.b = copy_workspace(setup, tmp / "cli" / "ws")
        self.monkeypatch = monkeypatch
        self.raised: list[BaseException] = []
        shown = buttons._error_text

        def spy(e: BaseException) -> str:  # the button shows errors as text: keep the error
            self.raised.append(e)
            return shown(e)

        monkeypatch.setattr(buttons, "_error_text", spy)
        self.panel = build_panel(self.a, EXPERT, out=tmp / "panel" / "panel.xlsm")

    def press(
        self,
        func: str,
        entries: Mapping[str, object] | None = None,
        *,
        sheet: str | None = None,
        selection: str | None = None,
    ) -> Outcome:
        """Type ``entries`` into A's panel, press the button, let Excel apply what it wrote."""
        import xlwings as xw

        path = self.panel
        if entries:
            _type_into_panel(path, entries)
        book = xw.Book(json=remote.book_json_from_file(path, sheet, selection))
        self.raised.clear()
        text = str(getattr(buttons, func)(book))
        remote.apply_actions(path, book.json()["actions"])
        assert vba.check_xlsm(path) == [], "the button broke the panel"
        if text.startswith("✔"):
            return Outcome(True, text=text)
        if func == "validate" and not self.raised:
            return Outcome(False, text=text)  # a report with errors, not a failure of the button
        assert self.raised, f"the button reported a failure without an error: {text}"
        e = self.raised[-1]
        if not isinstance(e, CrmError):
            return Outcome(False, f"unexpected {type(e).__name__}", str(e), str(e), text=text)
        return Outcome(False, e.code, e.fa, e.en, _where(e), text)

    def run(self, cli: Cli, *args: str) -> Outcome:
        res = cli(self.b, *args, json=True)
        if res.exit_code == 0:
            return Outcome(True, text=res.output)
        error = (res.data or {}).get("error") if isinstance(res.data, dict) else None
        assert error, f"crm-xl {' '.join(args)} failed without a JSON error:\n{res.output}"
        loc = dict(error["location"])
        if loc.get("file"):
            loc["file"] = Path(loc["file"]).name
        return Outcome(False, error["code"], error["fa"], error["en"], loc, res.output)


@pytest.fixture
def entrances(
    before: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    remote_engine: Any,
    frozen_clock: None,
) -> Callable[[str], Entrances]:
    return lambda setup: Entrances(before(setup), tmp_path, monkeypatch)


# --- comparing the two copies ----------------------------------------------------------------


def _table_diff(a: list[dict[str, object]], b: list[dict[str, object]]) -> list[str]:
    out = [f"rows: button {len(a)}, cli {len(b)}"] if len(a) != len(b) else []
    for i, (ra, rb) in enumerate(zip(a, b, strict=False)):
        for key in ra.keys() | rb.keys():
            if ra.get(key) != rb.get(key):
                out.append(f"row {i + 1} {key}: button {ra.get(key)!r} / cli {rb.get(key)!r}")
    return out


def assert_same(e: Entrances, button: Outcome, command: Outcome) -> None:
    """Both entrances left the same outcome, register, forms and folders."""
    problems: list[str] = []
    if (button.ok, button.code, button.fa, button.en) != (
        command.ok,
        command.code,
        command.fa,
        command.en,
    ):
        problems.append(
            "outcome differs:\n"
            f"  button: {'ok' if button.ok else button.code} {button.en or button.text!r}\n"
            f"  cli:    {'ok' if command.ok else command.code} {command.en or command.text!r}"
        )
    elif not button.ok and button.where != command.where:
        problems.append(f"error location: button {button.where} / cli {command.where}")
    reg_a, reg_b = register_snapshot(e.a), register_snapshot(e.b)
    for table in reg_a:
        problems += [f"register {table} {d}" for d in _table_diff(reg_a[table], reg_b[table])]
    tree_a, tree_b = tree(e.a.root), tree(e.b.root)
    if tree_a != tree_b:
        only_a = sorted(set(tree_a) - set(tree_b))
        only_b = sorted(set(tree_b) - set(tree_a))
        problems.append(f"folders: only after the button {only_a}; only after the cli {only_b}")
    else:
        for no in rows_by_key(e.a, CUSTOMERS):
            fa, fb = form_snapshot(form_path(e.a, no)), form_snapshot(form_path(e.b, no))
            for part in fa:
                pa, pb = fa[part], fb[part]
                if isinstance(pa, dict) and isinstance(pb, dict):
                    problems += [f"form {no} {d}" for d in _table_diff([pa], [pb])]
                elif pa != pb:
                    problems.append(f"form {no} {part}: button {pa!r} / cli {pb!r}")
    assert not problems, "the button and the command differ:\n" + "\n".join(problems)


# --- the entry points --------------------------------------------------------------------------


def _register(e: Entrances, cli: Cli, panel: Mapping[str, object], args: list[str]) -> None:
    assert_same(e, e.press("register_customer", panel), e.run(cli, "customer", "add", *args))


def test_register_customer_legal(entrances: Callable[[str], Entrances], cli: Cli) -> None:
    e = entrances("empty")
    _register(
        e,
        cli,
        {
            "in_name": "شرکت پمپ نوین",
            "in_person_type": "حقوقی",
            "in_national_id": LEGAL_ID,
            "in_mobile": "09121234567",
            "in_channel": "تلفن",
            "in_expert": EXPERT,
            "in_need": "پمپ سانتریفیوژ",
            "in_category": "صنعتی › پتروشیمی",
        },
        [
            *("--name", "شرکت پمپ نوین", "--type", "حقوقی", "--national-id", LEGAL_ID),
            *("--mobile", "09121234567", "--channel", "تلفن", "--expert", EXPERT),
            *("--need", "پمپ سانتریفیوژ", "--category", "صنعتی › پتروشیمی"),
        ],
    )
    assert rows_by_key(e.a, CUSTOMERS)["C-00001"]["national_id"] == LEGAL_ID


def test_register_customer_natural_typed_loosely(
    entrances: Callable[[str], Entrances], cli: Cli
) -> None:
    """Arabic ي/ك and Persian digits, as typed: both entrances normalise alike."""
    code = make_national_code("001234567").translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    e = entrances("empty")
    _register(
        e,
        cli,
        {
            "in_name": "علي كريمي",
            "in_person_type": "حقیقی",
            "in_national_id": code,
            "in_mobile": "۰۹۱۲۱۲۳۴۵۶۷",
            "in_channel": "نمایشگاه",
            "in_expert": EXPERT,
            "in_need": "شیر صنعتی",
        },
        [
            *("--name", "علي كريمي", "--type", "حقیقی", "--national-code", code),
            *("--mobile", "۰۹۱۲۱۲۳۴۵۶۷", "--channel", "نمایشگاه", "--expert", EXPERT),
            *("--need", "شیر صنعتی"),
        ],
    )


@pytest.mark.parametrize(
    ("panel", "args"),
    [
        pytest.param({"in_name": "   "}, ["--name", "   "], id="blank name"),
        pytest.param({"in_national_id": "0012345678"}, ["--national-code", "0012345678"], id="bad national code"),
        pytest.param({"in_channel": "کبوتر"}, ["--channel", "کبوتر"], id="unknown channel"),
        pytest.param({"in_mobile": "09121234567", "in_name": "رضا کریمی"}, ["--mobile", "09121234567", "--name", "رضا کریمی"], id="duplicate mobile"),
    ],
)  # fmt: skip
def test_register_customer_refused(
    entrances: Callable[[str], Entrances],
    cli: Cli,
    panel: dict[str, object],
    args: list[str],
) -> None:
    e = entrances("customer")  # C-00001 has mobile 09121234567
    base = {
        "in_name": "زهرا موسوی",
        "in_person_type": "حقیقی",
        "in_channel": "تلفن",
        "in_expert": EXPERT,
        "in_need": "پمپ",
    }
    cli_base = {"--name": "زهرا موسوی", "--type": "حقیقی", "--channel": "تلفن"}
    cli_base |= {"--expert": EXPERT, "--need": "پمپ"}
    cli_base |= dict(zip(args[::2], args[1::2], strict=True))
    button = e.press("register_customer", {**base, **panel})
    command = e.run(cli, "customer", "add", *[x for kv in cli_base.items() for x in kv])
    assert not button.ok and not command.ok
    assert_same(e, button, command)


_FOLLOWUP = {
    "in_followup_type": "تماس تلفنی",
    "in_minutes": 15,
    "in_note": "قیمت خواست؛ کاتالوگ ارسال شد",
    "in_result": "مذاکره",
    "in_next_action": "ارسال پیش‌فاکتور",
    "in_next_due": "1403/12/14 10:00",
}
_FOLLOWUP_ARGS = [
    *("--type", "تماس تلفنی", "--minutes", "15", "--note", "قیمت خواست؛ کاتالوگ ارسال شد"),
    *("--result", "مذاکره", "--next-action", "ارسال پیش‌فاکتور", "--next-due", "1403/12/14 10:00"),
]


def test_log_followup(entrances: Callable[[str], Entrances], cli: Cli) -> None:
    e = entrances("customer")
    button = e.press("log_followup", {"in_customer": "C-00001", **_FOLLOWUP})
    assert_same(e, button, e.run(cli, "followup", "add", "C-00001", *_FOLLOWUP_ARGS))
    assert button.ok


@pytest.mark.parametrize("sheet", [vba.MY_CUSTOMERS_SHEET, vba.TASKS_SHEET])
def test_log_followup_for_the_selected_row(
    entrances: Callable[[str], Entrances], cli: Cli, sheet: str
) -> None:
    """No number typed: the button on a list sheet takes the customer of its selected row."""
    e = entrances("customer")
    listed = openpyxl.load_workbook(e.panel)[sheet]
    (row,) = [
        r
        for r in range(vba.LIST_FIRST_ROW, listed.max_row + 1)
        if listed.cell(r, 1).value == "C-00001"
    ]
    button = e.press("log_followup", _FOLLOWUP, sheet=sheet, selection=f"B{row}")
    assert_same(e, button, e.run(cli, "followup", "add", "C-00001", *_FOLLOWUP_ARGS))
    assert button.ok


def test_register_anyway(entrances: Callable[[str], Entrances], cli: Cli) -> None:
    """A duplicate-looking customer: the explicit button and ``--allow-duplicate`` agree."""
    e = entrances("customer")  # C-00001 has mobile 09121234567
    panel = {
        "in_name": "رضا کریمی", "in_person_type": "حقیقی", "in_mobile": "09121234567",
        "in_channel": "تلفن", "in_expert": EXPERT, "in_need": "پمپ",
    }  # fmt: skip
    args = [
        *("--name", "رضا کریمی", "--type", "حقیقی", "--mobile", "09121234567"),
        *("--channel", "تلفن", "--expert", EXPERT, "--need", "پمپ", "--allow-duplicate"),
    ]
    button = e.press("register_customer_anyway", panel)
    assert_same(e, button, e.run(cli, "customer", "add", *args))
    assert button.ok


@pytest.mark.parametrize("setup", ["case", "invoiced"])
def test_cancel_case(entrances: Callable[[str], Entrances], cli: Cli, setup: str) -> None:
    e = entrances(setup)
    button = e.press("cancel_case", {"in_case": "P-00001", "in_reason": "مشتری منصرف شد"})
    command = e.run(cli, "case", "cancel", "P-00001", "--reason", "مشتری منصرف شد")
    assert_same(e, button, command)


@pytest.mark.parametrize("number", ["P-00001", "C-00077"], ids=["case", "unknown"])
def test_void_number(entrances: Callable[[str], Entrances], cli: Cli, number: str) -> None:
    e = entrances("case")
    button = e.press("void_number", {"in_void_no": number, "in_reason": "اشتباه"})
    assert_same(e, button, e.run(cli, "void", number, "--reason", "اشتباه"))


@pytest.mark.parametrize(
    ("customer", "minutes"),
    [("C-99999", 15), ("C-00001", -5)],
    ids=["unknown customer", "negative minutes"],
)
def test_log_followup_questionable(
    entrances: Callable[[str], Entrances], cli: Cli, customer: str, minutes: int
) -> None:
    e = entrances("customer")
    panel = {**_FOLLOWUP, "in_customer": customer, "in_minutes": minutes}
    args = [a if a != "15" else str(minutes) for a in _FOLLOWUP_ARGS]
    assert_same(e, e.press("log_followup", panel), e.run(cli, "followup", "add", customer, *args))


def test_open_case_with_products(entrances: Callable[[str], Entrances], cli: Cli) -> None:
    e = entrances("customer")
    button = e.press("open_case", {"in_customer": "C-00001", "in_products": "PMP-100، VLV-7"})
    command = e.run(cli, "case", "open", "C-00001", "--product", "PMP-100", "--product", "VLV-7")
    assert_same(e, button, command)
    assert rows_by_key(e.b, CASES)["P-00001"]["products"] == "PMP-100, VLV-7"


def test_open_case_for_a_closed_customer(entrances: Callable[[str], Entrances], cli: Cli) -> None:
    e = entrances("closed")
    button = e.press("open_case", {"in_customer": "C-00001"})
    assert_same(e, button, e.run(cli, "case", "open", "C-00001"))
    assert not button.ok


@pytest.mark.parametrize(
    ("amount", "date"),
    [(1_500_000_000, "1403/12/10"), ("۱٬۵۰۰٬۰۰۰", None), (0, None), ("12.5", None)],
    ids=["amount and date", "Persian digits", "zero", "fractional"],
)
def test_issue_contract(
    entrances: Callable[[str], Entrances], cli: Cli, amount: object, date: str | None
) -> None:
    e = entrances("case")
    panel: dict[str, object] = {"in_case": "P-00001", "in_amount": amount}
    args = ["contract", "add", "P-00001", "--amount", str(amount)]
    if date:
        panel["in_contract_date"] = date
        args += ["--at", date]
    assert_same(e, e.press("issue_contract", panel), e.run(cli, *args))


def test_issue_contract_on_an_unknown_case(entrances: Callable[[str], Entrances], cli: Cli) -> None:
    e = entrances("case")
    button = e.press("issue_contract", {"in_case": "P-00077", "in_amount": 1000})
    assert_same(e, button, e.run(cli, "contract", "add", "P-00077", "--amount", "1000"))


@pytest.mark.parametrize("amount", [900_000_000, -5], ids=["amount", "negative"])
def test_issue_invoice(entrances: Callable[[str], Entrances], cli: Cli, amount: int) -> None:
    e = entrances("invoiced")
    button = e.press("issue_invoice", {"in_case": "P-00001", "in_amount": amount})
    command = e.run(cli, "invoice", "issue", "P-00001", "--amount", str(amount))
    assert_same(e, button, command)


def test_crm_done(entrances: Callable[[str], Entrances], cli: Cli) -> None:
    e = entrances("invoiced")
    button = e.press("mark_crm_done", {"in_customer": "C-00001"})
    assert_same(e, button, e.run(cli, "customer", "crm-done", "C-00001"))
    assert button.ok


def test_crm_done_with_the_sold_products_form(
    entrances: Callable[[str], Entrances], cli: Cli
) -> None:
    e = entrances("sold pump with form")
    button = e.press("mark_crm_done", {"in_customer": "C-00001"})
    assert_same(e, button, e.run(cli, "customer", "crm-done", "C-00001"))
    assert button.ok


def test_crm_done_refused_for_a_sold_product_without_its_form(
    entrances: Callable[[str], Entrances], cli: Cli
) -> None:
    """Review §B.1: the command refuses (aftersales-missing); the button must refuse alike."""
    e = entrances("sold pump, no form")
    command = e.run(cli, "customer", "crm-done", "C-00001")
    assert not command.ok and command.code == "aftersales-missing"
    assert_same(e, e.press("mark_crm_done", {"in_customer": "C-00001"}), command)


@pytest.mark.parametrize("setup", ["invoiced", "crm done"], ids=["before CRM", "after CRM"])
def test_close_and_archive(entrances: Callable[[str], Entrances], cli: Cli, setup: str) -> None:
    e = entrances(setup)
    button = e.press("close_and_archive", {"in_customer": "C-00001"})
    assert_same(e, button, e.run(cli, "customer", "close", "C-00001"))
    assert button.ok is (setup == "crm done")


@pytest.mark.parametrize("setup", ["customer", "invoiced"])
def test_refresh(entrances: Callable[[str], Entrances], cli: Cli, setup: str) -> None:
    e = entrances(setup)
    assert_same(e, e.press("refresh_overdue"), e.run(cli, "refresh"))


def test_validate(entrances: Callable[[str], Entrances], cli: Cli) -> None:
    """The button's summary counts what ``crm-xl validate`` reports; neither writes a record."""
    e = entrances("invoiced")
    button = e.press("validate")
    res = cli(e.b, "validate", json=True)
    counts = res.data["counts"]
    assert f"validation: {counts['error']} errors, {counts['warning']} warnings" in button.text
    assert button.ok is (res.exit_code == 0)
    assert_same(e, Outcome(button.ok), Outcome(res.exit_code == 0))


@pytest.mark.parametrize("setup", ["customer", "closed"], ids=["open", "archived"])
def test_open_folder_is_the_one_the_register_names(
    entrances: Callable[[str], Entrances],
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
) -> None:
    e = entrances(setup)
    opened: list[Path] = []
    monkeypatch.setattr(buttons, "OPENER", opened.append)
    button = e.press("open_customer_folder", {"in_customer": "C-00001"})
    shown = cli(e.b, "customer", "show", "C-00001", json=True)
    assert button.ok and shown.exit_code == 0, (button.text, shown.output)
    (folder,) = opened
    assert folder.relative_to(e.a.root).as_posix() == shown.data["customer"]["folder"]


def test_every_button_is_compared() -> None:
    tested = {
        "register_customer", "register_customer_anyway", "log_followup", "open_case",
        "issue_contract", "issue_invoice", "mark_crm_done", "close_and_archive",
        "refresh_overdue", "validate", "open_customer_folder", "cancel_case", "void_number",
    }  # fmt: skip
    assert {b.func for b in vba.BUTTONS} == tested == set(buttons.__all__) - {"refresh_lists"}
