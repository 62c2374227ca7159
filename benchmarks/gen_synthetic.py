"""A realistic synthetic workspace, fast: live register, archive registers, customer folders.

    python benchmarks/gen_synthetic.py OUT --active N --archived M [--seed S]
                                           [--archive-folders K] [--force]

* ``settings.json`` with several experts;
* ``F-31-08-02.xlsx``: N open customers in every open stage (first contact, follow-up,
  negotiation, proposal, won, lost, CRM done) with their follow-up dates and states, the cases
  of those who bought, contracts, invoices (yearly invoice numbers) and counters that count
  every number ever given (archived ones too);
* ``archive/F-31-08-02 <Jalali year>.xlsx``: M closed customers, by the Jalali year they were
  closed, with their cases, contracts and invoices, in the same form and columns as the live
  register (SPEC §3);
* ``customers/<no> - <name>/F-31-08-01 <no>.xlsx``: one real form per open customer (the
  registration block and a follow-up log agreeing with the register row);
* ``archive/<no> - <name>/``: one folder per closed customer, the first K with their form.

Every workbook is laid out by the toolkit's own form writer (``layout.write_form``, as
``crm-xl templates build``); register rows go in as the table's rows, dates as Jalali text.
Customer forms are cloned from one prototype per person type by replacing placeholders in
its shared strings, so 5k forms take seconds.  ``write_register`` (a live register of N
customers) is kept for ``bench_validate.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import shutil
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from crm_xl.domain import schema
from crm_xl.domain.dates import to_jalali_str
from crm_xl.domain.enums import (
    CaseStatus,
    Channel,
    FollowUpState,
    FollowUpType,
    PersonType,
    RecordStatus,
    Stage,
)
from crm_xl.domain.ids import make_legal_id, make_national_code
from crm_xl.domain.settings import Settings
from crm_xl.io.layout import DEFAULT_COMPANY, new_workbook, write_form
from crm_xl.io.settings_file import save_settings

FIRST = ["علی", "محمد", "حسین", "رضا", "مهدی", "زهرا", "فاطمه", "مریم", "سارا", "نرگس", "امیر"]
LAST = ["احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی", "جعفری", "صادقی", "رحیمی", "نوری"]
COMPANY = ["پارس", "ایران", "نوین", "صنعت", "آریا", "سپهر", "البرز", "کاوه", "دماوند", "خلیج"]
NEEDS = ["خرید پمپ صنعتی", "تامین قطعات", "مشاوره فنی", "خرید تجهیزات", "شیر صنعتی"]
EXPERTS = ["علی رضایی", "مریم احمدی", "حسین کریمی", "سارا موسوی", "امیر جعفری"]
#: Open files: every stage but closed (closed files live in the archive registers).
OPEN_STAGES = [
    (Stage.FIRST_CONTACT, 15),
    (Stage.FOLLOW_UP, 25),
    (Stage.NEGOTIATION, 12),
    (Stage.PROPOSAL, 12),
    (Stage.WON, 20),
    (Stage.LOST, 8),
    (Stage.CRM_DONE, 8),
]
SOLD = {Stage.WON, Stage.CRM_DONE, Stage.CLOSED}
#: Open files began in the last year; closed ones over the six years before.
ACTIVE_FROM = dt.datetime(2025, 9, 1, 9, 0)
ARCHIVE_FROM = dt.datetime(2019, 3, 21, 9, 0)
ARCHIVE_SPAN = dt.timedelta(days=6 * 365)
ACTIVE_SPAN = dt.timedelta(days=300)


def _j(v: dt.date) -> str:
    """The register's spelling of a date: Jalali text (a datetime with its time)."""
    return to_jalali_str(v, with_time=isinstance(v, dt.datetime))


def _jy(v: dt.date) -> int:
    return int(_j(v)[:4])


@dataclasses.dataclass
class Rows:
    """Register rows of one workbook (values as the cells hold them)."""

    customers: list[dict[str, object]] = dataclasses.field(default_factory=list)
    cases: list[dict[str, object]] = dataclasses.field(default_factory=list)
    invoices: list[dict[str, object]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Numbers:
    """The serials handed out so far (the live register's counters)."""

    customer: int = 0
    case: int = 0
    contract: int = 0
    invoice: dict[int, int] = dataclasses.field(default_factory=lambda: defaultdict(int))

    def counters(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = [
            {"kind": "customer", "scope": "all", "last": self.customer},
            {"kind": "case", "scope": "all", "last": self.case},
            {"kind": "contract", "scope": "all", "last": self.contract},
        ]
        rows += [
            {"kind": "invoice", "scope": str(y), "last": n} for y, n in sorted(self.invoice.items())
        ]
        return [r for r in rows if r["last"]]


@dataclasses.dataclass
class Customer:
    row: dict[str, object]
    followups: list[dict[str, object]]
    legal: bool


def _customer(rng: random.Random, n: int, first: dt.datetime, stage: Stage) -> Customer:
    legal = rng.random() < 0.3
    if legal:
        name = f"شرکت {rng.choice(COMPANY)} {rng.choice(COMPANY)} {n}"
        natid = make_legal_id(f"1{n:09d}"[-10:])
    else:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
        natid = make_national_code(f"{1 + n % 9}{n:08d}"[-9:])
    expert = rng.choice(EXPERTS)
    at1 = first + dt.timedelta(hours=rng.randint(2, 20))
    at2 = at1 + dt.timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
    due = at2 + dt.timedelta(days=rng.randint(2, 10))
    followups: list[dict[str, object]] = [
        {"at": at1, "type": FollowUpType.PHONE.fa, "expert": expert,
         "description": "تماس اول و ارسال کاتالوگ", "next_action": "", "next_due": None},
        {"at": at2, "type": rng.choice(list(FollowUpType)).fa, "expert": expert,
         "description": "پیگیری پیش‌فاکتور", "next_action": "تماس برای نتیجه", "next_due": due},
    ]  # fmt: skip
    row: dict[str, object] = {
        "customer_no": f"C-{n:05d}",
        "name": name,
        "person_type": (PersonType.LEGAL if legal else PersonType.NATURAL).fa,
        "national_id": natid,
        "mobile": f"0912{n % 10_000_000:07d}",
        "channel": rng.choice(list(Channel)).fa,
        "expert": expert,
        "need": rng.choice(NEEDS),
        "first_contact": first,
        "stage": stage.fa,
        "last_followup": at2,
        "next_due": due,
        "next_action": "تماس برای نتیجه",
        "next_owner": expert,
        "followup_state": FollowUpState.ON_TIME.fa,
        "folder": f"customers/C-{n:05d} - {name}",
        "record_status": RecordStatus.ACTIVE.fa,
    }
    if stage in (Stage.CRM_DONE, Stage.CLOSED):
        row["crm_done"] = (at2 + dt.timedelta(days=20)).date()
    if stage is Stage.CLOSED:
        row["closed"] = (at2 + dt.timedelta(days=25)).date()
        row["folder"] = f"archive/C-{n:05d} - {name}"
    return Customer(row, followups, legal)


def _sale(rng: random.Random, c: Customer, nums: Numbers, into: Rows) -> None:
    """A case for a customer who bought, mostly with a contract and an invoice."""
    row = c.row
    nums.case += 1
    opened = row["last_followup"]
    assert isinstance(opened, dt.datetime)
    case: dict[str, object] = {
        "case_no": f"P-{nums.case:05d}",
        "customer_no": row["customer_no"],
        "customer_name": row["name"],
        "opened": opened,
        "expert": row["expert"],
        "status": CaseStatus.OPEN.fa,
        "record_status": RecordStatus.ACTIVE.fa,
    }
    if rng.random() < 0.75:
        nums.contract += 1
        signed = (opened + dt.timedelta(days=2)).date()
        amount = rng.randint(10, 900) * 1_000_000
        case.update(
            contract_no=f"Q-{_jy(signed)}-{nums.contract:04d}",
            contract_date=signed,
            status=CaseStatus.CONTRACTED.fa,
            amount=amount,
        )
        if rng.random() < 0.8:
            issued = opened + dt.timedelta(days=3)
            year = _jy(issued)
            nums.invoice[year] += 1
            number = f"{year}-{nums.invoice[year]:06d}"
            into.invoices.append(
                {
                    "invoice_no": number,
                    "case_no": case["case_no"],
                    "customer_no": row["customer_no"],
                    "issued": issued,
                    "amount": amount,
                    "record_status": RecordStatus.ACTIVE.fa,
                }
            )
            case.update(invoice_nos=number, status=CaseStatus.INVOICED.fa)
    into.cases.append(case)


def generate(
    active: int, archived: int, seed: int = 1403
) -> tuple[Rows, dict[int, Rows], Numbers, list[Customer], list[Customer]]:
    """Rows of the live register, of each year's archive register, the counters, and the
    customers (open, closed) for their folders. Closed files are the older numbers."""
    rng = random.Random(seed)
    nums = Numbers()
    live, archive = Rows(), defaultdict(Rows)
    opened: list[Customer] = []
    closed: list[Customer] = []
    for i in range(archived):
        nums.customer += 1
        first = ARCHIVE_FROM + ARCHIVE_SPAN * (i / max(archived, 1))
        c = _customer(rng, nums.customer, first, Stage.CLOSED)
        c.row["followup_state"] = None  # a closed file is not followed up
        c.row["next_due"] = c.row["next_action"] = c.row["next_owner"] = None
        closed_on = c.row["closed"]
        assert isinstance(closed_on, dt.date)
        book = archive[_jy(closed_on)]
        book.customers.append(c.row)
        if rng.random() < 0.7:
            _sale(rng, c, nums, book)
        closed.append(c)
    stages, weights = [s for s, _ in OPEN_STAGES], [w for _, w in OPEN_STAGES]
    for i in range(active):
        nums.customer += 1
        first = ACTIVE_FROM + ACTIVE_SPAN * (i / max(active, 1))
        stage = rng.choices(stages, weights)[0]
        c = _customer(rng, nums.customer, first, stage)
        live.customers.append(c.row)
        if stage in SOLD:
            _sale(rng, c, nums, live)
        opened.append(c)
    return live, dict(archive), nums, opened, closed


def _cells(table: schema.Table, rows: list[dict[str, object]]) -> tuple[dict[str, object], ...]:
    out = []
    for r in rows:
        cells: dict[str, object] = {}
        for f in table.fields:
            v = r.get(f.key)
            if isinstance(v, dt.date):
                v = _j(v)
            if v is not None and v != "":
                cells[f.key] = v
        out.append(cells)
    return tuple(out)


def write_book(path: Path, rows: Rows, counters: list[dict[str, object]]) -> None:
    """An F-31-08-02 holding ``rows`` as its tables' rows, written as the toolkit lays it out."""
    filled = {
        schema.CUSTOMERS.name: rows.customers,
        schema.CASES.name: rows.cases,
        schema.INVOICES.name: rows.invoices,
        schema.COUNTERS.name: counters,
    }
    parts = tuple(
        dataclasses.replace(p, prefill=_cells(p, filled[p.name]))
        if isinstance(p, schema.Table) and filled.get(p.name)
        else p
        for p in schema.F_31_08_02.parts
    )
    form = dataclasses.replace(schema.F_31_08_02, parts=parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = new_workbook(path)
    write_form(book, form, company=DEFAULT_COMPANY, experts=EXPERTS)
    book.close()


def write_register(path: Path, customers: int, seed: int = 1403) -> dict[str, int]:
    """A live register of ``customers`` open customers; returns counts of what was written."""
    live, _, nums, _, _ = generate(customers, 0, seed)
    write_book(path, live, nums.counters())
    return {
        "customers": len(live.customers),
        "cases": len(live.cases),
        "invoices": len(live.invoices),
    }


# --- customer forms, cloned from a prototype ----------------------------------------------------

_TOKEN = "\u27e6{}\u27e7"  # ⟦key⟧: never in real data
_FOLLOWUP_KEYS = ("at", "type", "expert", "description", "next_action", "next_owner", "next_due")


def _form_values(c: Customer) -> dict[str, str]:
    """Placeholder key -> text for one customer's F-31-08-01."""
    r = c.row
    first_name, _, last_name = str(r["name"]).partition(" ")
    v: dict[str, object] = {
        "customer_no": r["customer_no"],
        "person_type": r["person_type"],
        "mobile": r["mobile"],
        "need": r["need"],
        "channel": r["channel"],
        "first_contact": r["first_contact"],
        "expert": r["expert"],
        "stage": r["stage"],
    }
    if c.legal:
        v.update(company_name=r["name"], legal_id=r["national_id"])
    else:
        v.update(first_name=first_name, last_name=last_name, national_code=r["national_id"])
    for i, fu in enumerate(c.followups):
        for k in _FOLLOWUP_KEYS:
            v[f"f{i}_{k}"] = fu.get(k) or ""
    return {k: _j(x) if isinstance(x, dt.date) else str(x) for k, x in v.items()}


class FormCloner:
    """Writes F-31-08-01 files by copying a prototype made by the toolkit's form writer and
    putting each customer's values in place of its placeholders (shared strings)."""

    def __init__(self, workdir: Path, sample: Customer) -> None:
        self.parts: dict[bool, tuple[list[tuple[zipfile.ZipInfo, bytes]], str]] = {}
        for legal in (False, True):
            proto = Customer(dict(sample.row), sample.followups, legal)
            keys = _form_values(proto)
            path = workdir / f"proto-{int(legal)}.xlsx"
            self._prototype(path, keys, len(sample.followups))
            with zipfile.ZipFile(path) as z:
                members = [(i, z.read(i)) for i in z.infolist()]
            strings = next(d for i, d in members if i.filename == "xl/sharedStrings.xml")
            self.parts[legal] = (members, strings.decode("utf-8"))

    @staticmethod
    def _prototype(path: Path, keys: dict[str, str], followups: int) -> None:
        fu_rows = tuple(
            {"row_no": i + 1, **{k: _TOKEN.format(f"f{i}_{k}") for k in _FOLLOWUP_KEYS}}
            for i in range(followups)
        )
        parts = tuple(
            dataclasses.replace(p, prefill=fu_rows) if p.name == schema.FOLLOWUPS.name else p
            for p in schema.F_31_08_01.parts
        )
        book = new_workbook(path)
        write_form(
            book, dataclasses.replace(schema.F_31_08_01, parts=parts), company=DEFAULT_COMPANY
        )
        ws = book.get_worksheet_by_name(schema.REGISTRATION.sheet)
        for i, f in enumerate(schema.REGISTRATION.fields):
            if f.key in keys:
                r = schema.BLOCK_FIRST_ROW - 1 + i
                ws.write_string(r, schema.BLOCK_VALUE_COL - 1, _TOKEN.format(f.key))
        book.close()

    def write(self, path: Path, c: Customer) -> None:
        members, strings = self.parts[c.legal]
        for k, v in _form_values(c).items():
            strings = strings.replace(_TOKEN.format(k), escape(v))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for info, data in members:
                if info.filename == "xl/sharedStrings.xml":
                    data = strings.encode("utf-8")
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)


def _folders(root: Path, area: str, customers: list[Customer], cloner: FormCloner | None,
             with_form: int) -> Iterator[None]:  # fmt: skip
    from crm_xl.ops.store import customer_form_name

    for i, c in enumerate(customers):
        folder = root / area / str(c.row["folder"]).split("/", 1)[1]
        folder.mkdir(parents=True, exist_ok=True)
        if cloner is not None and i < with_form:
            cloner.write(folder / customer_form_name(str(c.row["customer_no"])), c)
        yield


def write_workspace(
    root: Path, active: int, archived: int = 0, *, seed: int = 1403, archive_forms: int = 200
) -> dict[str, object]:
    """The whole workspace at ``root`` (which must not hold one); returns what was written."""
    from crm_xl.io.workspace import init_workspace

    ws = init_workspace(root, company=DEFAULT_COMPANY, experts=EXPERTS)
    settings = Settings(company=DEFAULT_COMPANY, experts=EXPERTS)
    save_settings(ws.root, settings)
    live, archive, nums, opened, closed = generate(active, archived, seed)
    write_book(ws.register_path, live, nums.counters())
    for year, rows in sorted(archive.items()):
        write_book(ws.root / "archive" / f"{schema.F_31_08_02.code} {year}.xlsx", rows, [])
    sample = opened[0] if opened else closed[0] if closed else None
    if sample is not None:
        with tempfile.TemporaryDirectory() as tmp:
            cloner = FormCloner(Path(tmp), sample)
            for _ in _folders(ws.root, "customers", opened, cloner, len(opened)):
                pass
            for _ in _folders(ws.root, "archive", closed, cloner, archive_forms):
                pass
    return {
        "workspace": str(ws.root),
        "active": len(live.customers),
        "archived": len(closed),
        "archive_registers": sorted(archive),
        "cases": len(live.cases) + sum(len(r.cases) for r in archive.values()),
        "invoices": len(live.invoices) + sum(len(r.invoices) for r in archive.values()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", type=Path, help="the workspace folder to create")
    ap.add_argument("--active", type=int, default=1000, help="open customers (live register)")
    ap.add_argument("--archived", type=int, default=0, help="closed customers (archive registers)")
    ap.add_argument("--seed", type=int, default=1403)
    ap.add_argument(
        "--archive-forms", type=int, default=200, help="closed customers whose folder holds a form"
    )
    ap.add_argument("--force", action="store_true", help="replace OUT if it exists")
    a = ap.parse_args(argv)
    if a.out.exists():
        if not a.force:
            ap.error(f"{a.out} exists (use --force to replace it)")
        shutil.rmtree(a.out)
    start = time.perf_counter()
    info = write_workspace(a.out, a.active, a.archived, seed=a.seed, archive_forms=a.archive_forms)
    info["seconds"] = round(time.perf_counter() - start, 1)
    print(info, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
