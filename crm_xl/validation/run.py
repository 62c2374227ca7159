"""Collect the files, recognise each form by its content, run the rules, build the Report.

A broken input never stops the run: a file that is not a zip, is encrypted, would expand
into a zip bomb, is not a crm_xl form or lacks a sheet becomes a finding about that file.
Only what makes the whole run meaningless (a path that does not exist, an unreadable
settings file) raises ``ValidateError`` (exit code 2).
"""

from __future__ import annotations

import gc
import re
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from typing import Any
from xml.etree import ElementTree

from crm_xl.domain import aftersales, schema
from crm_xl.domain.dates import now_tehran
from crm_xl.domain.decide import issue_year
from crm_xl.domain.enums import Stage, is_void
from crm_xl.domain.errors import CrmError
from crm_xl.domain.schema import Block, Form, Table
from crm_xl.domain.settings import SETTINGS_FILE, Settings
from crm_xl.domain.text import as_text
from crm_xl.io import journal
from crm_xl.io.evidence import archive_registers
from crm_xl.io.settings_file import load_settings
from crm_xl.validation import numbering, rules
from crm_xl.validation import workspace as wsr
from crm_xl.validation.findings import FileSummary, Finding, Report
from crm_xl.validation.invoices import invoice_rules
from crm_xl.validation.rules import BlockData, Sink, TableData, is_blank

Progress = Callable[[int, int, str], None]

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


class ValidateError(CrmError):
    """validate cannot run at all (bad path, unreadable settings)."""

    exit_code = 2


@dataclass
class FileResult:
    path: Path
    sink: Sink
    form: Form | None = None
    rows: int = 0
    tables: dict[str, TableData] = field(default_factory=dict)
    blocks: dict[str, BlockData] = field(default_factory=dict)
    #: An F-31-07-01 judged by the after-sales rules (None: not one, or unreadable).
    judged: aftersales.JudgedForm | None = None
    #: What the file is (fa, en) when it is one of the toolkit's own non-form workbooks.
    output: tuple[str, str] | None = None

    def summary(self) -> FileSummary:
        return FileSummary(
            path=self.sink.file, form=self.form.code if self.form else None, rows=self.rows
        )


# --- the package -----------------------------------------------------------------------------


#: guard's refusal codes -> finding codes (the finding catalogue keeps its own names).
_GUARD_CODES = {
    "not-xlsx": "broken-file",
    "unreadable": "broken-file",
    "file-not-found": "broken-file",
    "corrupt-member": "broken-file",
    "encrypted": "encrypted-file",
    "zip-bomb": "zip-bomb",
    "unsafe-xml": "unsafe-xml",
    "range-too-large": "range-too-large",
}


def package_problem(path: Path) -> CrmError | None:
    """Why the file must not be parsed (``guard.inspect``: bombs, stray cells, …), or None."""
    from crm_xl.io import guard

    try:
        guard.inspect(path)
    except CrmError as e:
        return e
    return None


def link_findings(sink: Sink, path: Path) -> None:
    """External links: refused ones (linked workbooks, file:/UNC hyperlinks) are errors, web
    and e-mail hyperlinks warnings; the toolkit carries none of them into what it writes."""
    from crm_xl.io import guard

    pkg = guard.inspect(path)  # cached: check_file inspected it first
    for link in pkg.links:
        if link.local:
            continue  # a workbook beside this one (the catalog's links to product forms)
        where = {"sheet": link.sheet, "cell": (link.cell or "").split(":")[0] or None}
        if link.refused:
            e = guard.link_error(pkg.path, link)
            sink.add("external-link", e.fa, e.en, value=link.target, **where)
        else:
            sink.add(
                "external-hyperlink",
                "پیوند وب/ایمیل در خانه؛ ابزار هنگام نوشتن این فایل پیوند را برمی‌دارد (متن می‌ماند)",
                "web/e-mail hyperlink in a cell; crm_xl removes the link (keeps the text) when "
                "it writes this file",
                value=link.target,
                **where,
            )


def _formula_cells(zf: zipfile.ZipFile, member: str) -> list[str]:
    cells: list[str] = []
    with zf.open(member) as fh:
        for _, el in ElementTree.iterparse(fh):
            if el.tag == f"{_NS_MAIN}c":
                if el.find(f"{_NS_MAIN}f") is not None:
                    cells.append(el.get("r", ""))
                el.clear()
    return cells


def scan_sheets(sink: Sink, path: Path, form: Form) -> None:
    """Formulas where values belong and merged cells in data areas.

    calamine returns a formula's cached value, so formulas are found in the XML.  The pass
    of ``guard.inspect`` over each sheet already noted which sheets hold a formula and every
    merged range; only a sheet with a formula is parsed again, for the formulas' cells.
    """
    from crm_xl.io import guard

    try:
        pkg = guard.inspect(path)  # cached: check_file inspected it first
    except CrmError:
        return
    for part in form.parts:
        is_block = isinstance(part, Block)
        first = schema.BLOCK_FIRST_ROW if is_block else schema.FIRST_DATA_ROW
        for ref in dict.fromkeys(pkg.merges.get(part.sheet, [])):
            cm = _CELL_REF.match(ref)
            bottom = _CELL_REF.search(ref.split(":")[-1])
            if cm is None or bottom is None:
                continue
            if int(bottom.group(2)) >= first:
                sink.add(
                    "merged-cells",
                    f"سلول‌های ادغام‌شده {ref} در ناحیه داده؛ ادغام را بردارید",
                    f"merged cells {ref} in the data area; unmerge them",
                    sheet=part.sheet,
                    cell=cm.group(),
                    row=int(cm.group(2)),
                )
        member = pkg.sheets.get(part.sheet)
        if part.sheet not in pkg.formulas or member is None:
            continue
        try:
            with zipfile.ZipFile(path) as zf:
                refs = _formula_cells(zf, member)
        except (zipfile.BadZipFile, OSError, KeyError, ElementTree.ParseError):
            continue
        for ref in refs:
            cm = _CELL_REF.fullmatch(ref)
            if cm and int(cm.group(2)) >= first:
                sink.add(
                    "formula-in-data",
                    "فرمول در خانه داده؛ مقدار را بنویسید (ابزار مقدار ذخیره‌شده را می‌خواند)",
                    "formula in a data cell; type the value (its cached result was read)",
                    sheet=part.sheet,
                    cell=ref,
                    row=int(cm.group(2)),
                )


# --- one file ----------------------------------------------------------------------------------

_DETECT_CODES = {
    **_GUARD_CODES,
    "form-mismatch": "form-mismatch",
    "not-xlsx": "broken-file",
    "unreadable": "broken-file",
    "encrypted": "encrypted-file",
    "unknown-form": "unknown-form",
    "missing-sheet": "missing-sheet",
}


_CREATOR = re.compile(rb"<(?:\w+:)?creator>\s*crm_xl\s*<")


def _written_by_crm_xl(path: Path) -> bool:
    """The document's author is crm_xl (``io.layout.new_workbook`` sets it on every workbook)."""
    try:
        with zipfile.ZipFile(path) as zf, zf.open("docProps/core.xml") as fh:
            return bool(_CREATOR.search(fh.read(64 * 1024)))
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return False


def toolkit_output(path: Path) -> tuple[str, str] | None:
    """What a workbook is (fa, en) when it is one of crm_xl's own non-form workbooks, else None.

    Forms are recognised by their ``crm_form`` marker.  The after-sales catalog carries its own
    marker (``crm_catalog``), the complaint / survey / plan books and the parties export carry
    a ``crm_form`` of the toolkit's own (``CRM-…``), and reports and task lists have crm_xl as
    author and none of a form's sheets.  None of these is read as a form: the catalog's header
    names F-31-07-01, which the header fallback of ``detect_form`` would take for a form.
    """
    from crm_xl.io.workbook import _workbook_xml

    try:
        sheets, names = _workbook_xml(path)
    except CrmError:
        return None  # detect_form reports why
    marker = names.get(schema.FORM_MARKER, "").strip().lstrip("=").strip('"')
    if marker in schema.FORMS:
        return None
    if marker.startswith("CRM-"):
        return f"دفتر {marker}", f"the book {marker}"
    if aftersales.CATALOG_MARKER in names:
        return "فهرست کالاها و خدمات پس از فروش", "the after-sales catalog"
    has_form_sheets = any(
        all(p.sheet in sheets for p in form.parts) for form in schema.FORMS.values()
    )
    # A form that lost its marker keeps its sheets: only a sheet-less crm_xl book is a report.
    if not has_form_sheets and _written_by_crm_xl(path):
        return "گزارش یا کارتابل", "a report or task list"
    return None


def check_file(path: Path, settings: Settings, display: str | None = None) -> FileResult:
    """Every single-file rule of one workbook (the register's cross-table rules included)."""
    from crm_xl.io.workbook import detect_form

    res = FileResult(path, Sink(display or str(path)))
    sink = res.sink
    problem = package_problem(path)
    if problem:
        where = problem.location
        sink.add(_GUARD_CODES.get(problem.code, "broken-file"), problem.fa, problem.en,
                 sheet=where.sheet, cell=where.cell)  # fmt: skip
        return res
    link_findings(sink, path)
    try:
        res.form = form = detect_form(path)
    except CrmError as e:
        # Not a form: maybe one of the toolkit's own workbooks (asked only now, so a form
        # costs no second look at its package).
        res.output = toolkit_output(path)
        if res.output is not None:
            fa, en = res.output
            sink.add("not-a-form", f"«{path.name}» {fa} است که crm_xl می‌سازد، نه فرم؛ بررسی نشد",
                     f"{path.name} is {en} crm_xl writes, not a form: not checked")  # fmt: skip
            return res
        sink.add(_DETECT_CODES.get(e.code, "broken-file"), e.fa, e.en, sheet=e.location.sheet)
        return res
    # The XML scan (formulas, merges) runs beside calamine: zlib releases the GIL, so on
    # a big register it costs little wall time.  Its findings go to their own sink.
    scan_sink = Sink(sink.file)
    scanner = threading.Thread(target=scan_sheets, args=(scan_sink, path, form), daemon=True)
    scanner.start()
    # Millions of cell objects are allocated and none is cyclic: the cyclic GC would only
    # rescan them again and again (about 10% of the run on a 100k register).
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        _read_parts(res, path, form, settings)
        _form_rules(res, settings)
    finally:
        if gc_was_on:
            gc.enable()
        scanner.join()
    sink.findings.extend(scan_sink.findings)
    return res


def _read_parts(res: FileResult, path: Path, form: Form, settings: Settings) -> None:
    from python_calamine import CalamineWorkbook

    sink = res.sink
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as e:  # calamine raises its own error types for damaged packages
        sink.add("broken-file", "فایل اکسل خراب است و خوانده نشد", f"cannot read workbook: {e}")
        return
    # Pipeline: a thread parses the next sheet (calamine releases the GIL while parsing)
    # while this one validates the sheet before it.
    queue: Queue[tuple[Block | Table, list[list[Any]] | Exception]] = Queue(maxsize=1)

    def produce() -> None:
        for part in form.parts:
            try:
                queue.put(
                    (part, book.get_sheet_by_name(part.sheet).to_python(skip_empty_area=False))
                )
            except Exception as e:  # reported by the consumer, with its sheet
                queue.put((part, e))

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    for _ in form.parts:
        part, rows = queue.get()
        if isinstance(rows, Exception):
            sink.add("broken-file", f"برگه «{part.sheet}» خوانده نشد", f"cannot read sheet: {rows}",
                     sheet=part.sheet)  # fmt: skip
            continue
        if isinstance(part, Table):
            td = rules.read_table(sink, part, rows, settings, schema.KEY_ROW, schema.FIRST_DATA_ROW)
            res.tables[part.name] = td
            res.rows += len(td)
        else:
            res.blocks[part.name] = rules.read_block(sink, part, rows, settings)


def _form_rules(res: FileResult, settings: Settings) -> None:
    sink, t, b = res.sink, res.tables, res.blocks
    code = res.form.code if res.form else ""
    if code == schema.F_31_08_02.code and "Customers" in t:
        customers = t["Customers"]
        rules.national_ids(sink, customers)
        _, lost = wsr.logged_numbers(t.get("Log"))
        cases, invoices = t.get("Cases"), t.get("Invoices")
        with_case = {str(c) for c in cases.parsed["customer_no"] if c} if cases else set()
        rules.customer_rows(sink, customers, lost, with_case)
        names = dict(
            zip(customers.parsed["customer_no"], enumerate(customers.raw["name"]), strict=True)
        )  # built at C speed; the None key (invalid numbers) is never looked up
        inv_nos = {str(n) for n in invoices.parsed["invoice_no"] if n} if invoices else set()
        if cases is not None:
            rules.case_rows(sink, cases, names, inv_nos)
        if invoices is not None and cases is not None:
            case_map: dict[str, tuple[object, object]] = {}
            for i, n in enumerate(cases.parsed["case_no"]):
                if n is not None:  # the first row of a duplicated number counts
                    case_map.setdefault(
                        str(n), (cases.parsed["customer_no"][i], cases.parsed["opened"][i])
                    )
            rules.invoice_rows(sink, invoices, case_map)  # type: ignore[arg-type]
            rules.invoiced_over_contract(sink, cases, invoices)
        invoice_rules(sink, invoices, t.get(schema.INVOICE_LINES.name), settings)
        rules.void_references(sink, customers, cases, invoices)
        wsr.unique_rule(sink, t)
        numbering.register_rules(sink, t, settings)
        wsr.duplicate_customers(sink, customers)
    elif code == schema.F_31_08_01.code:
        reg = b.get("Registration")
        if reg is not None:
            rules.registration_rules(sink, reg)
        if "FollowUps" in t:
            first = wsr.first_contact_of(reg) if reg is not None else None
            rules.followup_rows(sink, t["FollowUps"], first)
    elif code == schema.F_31_07_01.code:
        product_form(res)


#: Codes about a cell's value: for F-31-07-01 the after-sales judge gives them, once.
_VALUE_CODES = frozenset(
    {"required-error", "type-error", "enum-error", "date-error", "constraint-error"}
)


def product_form(res: FileResult) -> None:
    """F-31-07-01: the after-sales rules of seed 003 (``aftersales.judge_form``).

    The same function judges the form for ``crm-xl product show``, on the same cell values
    (the reader convention of ``io.workbook.converter``), so both report the same codes at the
    same cells.  The schema reader's findings about values are replaced by the judge's; its
    findings about the sheet (missing keys, merged cells, formulas) and text hygiene stay.
    """
    from crm_xl.io.workbook import converter

    bd = res.blocks.get(schema.PRODUCT.name)
    td = res.tables.get(schema.SERVICES.name)
    if bd is None or td is None:
        return
    block = {f.key: converter(f)(bd.raw.get(f.key)) for f in schema.PRODUCT.fields}
    convs = [(f.key, converter(f)) for f in schema.SERVICES.fields]
    rows: list[tuple[int, dict[str, object]]] = []
    for i, row in enumerate(td.rownos):
        rec = {k: conv(td.raw[k][i]) for k, conv in convs}
        if any(v is not None for v in rec.values()):
            rows.append((row, rec))

    def service_cell(row: int, key: str) -> str | None:
        return f"{td.letters[key]}{row}" if key in td.letters else None

    judged = aftersales.judge_form(
        block, rows, block_cell=lambda key: bd.where(key)["cell"], service_cell=service_cell
    )
    res.judged = judged
    sink = res.sink
    sheets = (schema.PRODUCT.sheet, schema.SERVICES.sheet)
    sink.findings = [f for f in sink.findings if not (f.code in _VALUE_CODES and f.sheet in sheets)]
    for f in judged.findings:
        sink.add(
            f.code,
            f.message_fa,
            f.message_en,
            sheet=f.sheet,
            cell=f.cell,
            row=f.row,
            field=f.field,
            value=None if f.value is None else as_text(f.value),
        )


def _product_entry(res: FileResult) -> tuple[str, bool]:
    """(code key, complete) of one product form, as ``ops.products.product_index`` counts it:
    unreadable (the toolkit's reader refuses a form missing a key line or column) or with an
    error finding of the after-sales rules is incomplete."""
    judged = res.judged
    code = judged.profile.product_code if judged is not None else None
    key = aftersales.code_key(code or aftersales.code_from_filename(res.path.stem))
    unreadable = any(f.code == "missing-column" for f in res.sink.findings)
    return key, judged is not None and judged.complete and not unreadable


def sold_products(reg: FileResult, known: dict[str, bool]) -> None:
    """Register: the products of each live case against their forms (``aftersales.case_findings``,
    the check CRM done makes), reported at the case's «کالاها» cell."""
    from crm_xl.io.workbook import converter

    customers, cases = reg.tables.get("Customers"), reg.tables.get("Cases")
    if customers is None or cases is None:
        return
    # CRM done and not reopened by a repeat sale (open_case moves CRM_DONE back to WON).
    after = (Stage.CRM_DONE, Stage.CLOSED)
    P = customers.parsed
    done = {
        str(P["customer_no"][i])
        for i in range(len(customers))
        if P["customer_no"][i] is not None
        and P["stage"][i] in after
        and not is_blank(customers.raw["crm_done"][i])
        and not is_void(customers.parsed["record_status"][i])
    }
    keys = ("case_no", "customer_no", "products", "status", "record_status")
    convs = [(k, converter(schema.CASES.field(k))) for k in keys]
    listed = [i for i, v in enumerate(cases.raw["products"]) if not is_blank(v)]
    rows = [(i, {k: conv(cases.raw[k][i]) for k, conv in convs}) for i in listed]
    for i, f in aftersales.case_findings(rows, done, known):
        reg.sink.add(f.code, f.message_fa, f.message_en, **cases.where("products", i))


# --- collecting files -----------------------------------------------------------------------


def _is_workbook(p: Path) -> bool:
    return (
        p.suffix.lower() in (".xlsx", ".xlsm")
        and not p.name.startswith(("~$", ".~lock", "."))
        and p.is_file()
    )


def _workspace_root(p: Path) -> Path | None:
    for d in [p, *p.parents][:4]:
        if (d / SETTINGS_FILE).is_file():
            return d
    return None


def _settings_for(p: Path, cache: dict[Path, Settings]) -> Settings:
    root = _workspace_root(p if p.is_dir() else p.parent)
    if root is None:
        return Settings()
    if root not in cache:
        try:
            cache[root] = load_settings(root)
        except CrmError as e:
            raise ValidateError(e.fa, e.en, code=e.code, file=root / SETTINGS_FILE) from None
    return cache[root]


def _is_workspace(d: Path) -> bool:
    return (d / SETTINGS_FILE).is_file() or any(
        (d / f"F-31-08-02{s}").is_file() for s in (".xlsx", ".xlsm")
    )


def _walk(d: Path) -> list[Path]:
    out: list[Path] = []
    for p in sorted(d.rglob("*")):
        rel = p.relative_to(d).parts
        if any(part.startswith(".") for part in rel[:-1]):
            continue
        if _is_workbook(p):
            out.append(p)
    return out


class _Counter:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = 0, total, progress

    def step(self, name: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, self.total, name)


def validate_workspace(
    root: Path, settings: Settings, report: Report, progress: Progress | None = None
) -> list[FileResult]:
    """The register, every customer folder and form, the archive and the after-sales forms."""
    from crm_xl.io.workspace import Workspace

    ws = Workspace(root.resolve())
    results: list[FileResult] = []
    folders = [
        d
        for base in (ws.customers_dir, ws.archive_dir)
        if base.is_dir()
        for d in sorted(base.iterdir())
        if d.is_dir() and not d.name.startswith(".")
    ]
    product_files = (
        [p for p in sorted(ws.aftersales_dir.iterdir()) if _is_workbook(p)]
        if ws.aftersales_dir.is_dir()
        else []
    )
    forms = {d: wsr.customer_form_files(d) for d in folders}
    counter = _Counter(1 + sum(len(v) for v in forms.values()) + len(product_files), progress)

    sink = Sink(str(ws.root))
    reg: FileResult | None = None
    reg_td: TableData | None = None
    reg_sink = sink
    # Read before the register: a writer replaces the register, then the seal.
    seal = journal.read_seal(ws.root)
    live: numbering.RegisterNumbers | None = None
    if ws.has_register:
        reg = check_file(ws.register_path, settings)
        results.append(reg)
        counter.step(ws.register_path.name)
        reg_td = reg.tables.get("Customers")
        reg_sink = reg.sink  # register-cell findings belong to the register's file
        if reg.form is schema.F_31_08_02:
            live = numbering.RegisterNumbers.read(reg.sink, reg.tables, settings)
    else:
        sink.add("missing-form", "دفتر ثبت F-31-08-02 در پوشه کاری نیست",
                 "the register F-31-08-02 is missing from the workspace")  # fmt: skip
    index: dict[str, int] = {}
    if reg_td is not None:
        found = wsr.folder_rules(reg_sink, reg_td, ws.root, ws.customers_dir, ws.archive_dir)
        index = wsr.register_index(reg_td)
        by_folder = {d: no for no, d in found.items()}
    else:
        by_folder = {}
    for d in folders:
        files = forms[d]
        no = by_folder.get(d)
        if not files and no is not None:
            sink.add("missing-form", f"فرم {schema.F_31_08_01.code} در پوشه «{d.name}» نیست",
                     f"no {schema.F_31_08_01.code} form in folder '{d.name}'",
                     file=str(d))  # fmt: skip
        for p in files:
            res = check_file(p, settings)
            results.append(res)
            counter.step(p.name)
            if res.form is not None and res.form.code != schema.F_31_08_01.code:
                res.sink.add("form-mismatch",
                             f"نام فایل {schema.F_31_08_01.code} است ولی محتوا فرم {res.form.code} است",
                             f"named {schema.F_31_08_01.code} but the content is form {res.form.code}")  # fmt: skip
                continue
            bd = res.blocks.get("Registration")
            if bd is not None and reg_td is not None and no is not None and no in index:
                wsr.form_vs_register(res.sink, bd, reg_td, index[no], no)
    known: dict[str, bool] = {}
    named: set[str] = set()
    for p in product_files:
        res = check_file(p, settings)
        counter.step(p.name)
        if res.output is not None:
            continue  # the toolkit's catalog beside the forms: not a form, nothing to check
        results.append(res)
        if res.form is not None and res.form.code != schema.F_31_07_01.code:
            res.sink.add("form-mismatch",
                         f"در پوشه خدمات پس از فروش فقط فرم {schema.F_31_07_01.code} جا دارد",
                         f"only {schema.F_31_07_01.code} forms belong in after-sales/")  # fmt: skip
        name_key = aftersales.code_key(aftersales.code_from_filename(p.stem))
        if aftersales.is_form_filename(p.name) and name_key not in named:
            named.add(name_key)  # the first file of a code counts, as for the toolkit
            key, complete = _product_entry(res)
            known[key] = known.get(key, False) or complete
    if reg_td is not None and reg is not None:
        sold_products(reg, known)
    archived: list[numbering.RegisterNumbers] = []
    for p in archive_registers(ws.archive_dir):
        res = check_file(p, settings)
        results.append(res)
        if res.form is schema.F_31_08_02:
            archived.append(numbering.RegisterNumbers.read(res.sink, res.tables, settings))
    report.numbering.extend(
        numbering.audit(
            live, archived, settings, _this_year(), root=ws.root, root_sink=sink, seal=seal
        )
    )
    if settings.authority is not None:  # several offices: the company-wide numbers (SPEC §12)
        from crm_xl.validation.authority import check_authority

        check_authority(
            sink, reg.sink if reg else None, reg.tables if reg else {}, settings, ws.root
        )
    if sink.findings:
        results.append(FileResult(ws.root, sink))
    return results


def validate_paths(
    paths: Iterable[str | Path],
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Report:
    """Validate workbooks, folders of workbooks and whole workspaces; one Report for all.

    A workspace folder (settings.json or a register inside) gets the cross-file rules too.
    Raises ValidateError (exit code 2) for a path that does not exist or holds no workbook.
    """
    report = Report()
    cache: dict[Path, Settings] = {}
    results: list[FileResult] = []
    plain: list[Path] = []
    spaces: list[Path] = []
    given = [Path(p) for p in paths]
    for p in given:
        if not p.exists():
            raise ValidateError(
                f"مسیر «{p}» پیدا نشد", f"path not found: {p}", code="path-not-found", file=p
            )
        if p.is_dir():
            if _is_workspace(p):
                spaces.append(p)
            else:
                found = _walk(p)
                if not found:
                    raise ValidateError(
                        f"در «{p}» فایل اکسلی نیست",
                        f"no .xlsx/.xlsm workbook in {p}",
                        code="no-workbooks",
                        file=p,
                    )
                plain.extend(found)
        else:
            plain.append(p)
    for root in spaces:
        st = settings or _settings_for(root, cache)
        results.extend(validate_workspace(root, st, report, progress))
    counter = _Counter(len(plain), progress)
    for p in plain:
        st = settings or _settings_for(p, cache)
        res = check_file(p, st)
        results.append(res)
        counter.step(p.name)
        if res.form is schema.F_31_08_02:  # a register on its own: its own evidence only
            own = numbering.RegisterNumbers.read(res.sink, res.tables, st)
            report.numbering.extend(numbering.audit(own, [], st, _this_year()))
    findings: list[Finding] = []
    for r in results:
        if r.form is not None or r.sink.findings or r.path.is_file():
            if r.path.is_file():
                report.files.append(r.summary())
            findings.extend(r.sink.findings)
    report.findings = findings
    return report.finish()


def _this_year() -> int:
    """The Jalali year now: a ``{jy2}`` number belongs to the year with its digits nearest it."""
    return issue_year(now_tehran())


def results_findings(results: Iterable[FileResult]) -> list[Finding]:
    return [f for r in results for f in r.sink.findings]


def to_dict(report: Report) -> dict[str, Any]:
    return report.model_dump(mode="json")
