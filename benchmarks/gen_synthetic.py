"""Synthetic registers (10k/50k/100k customers) and workspaces with N customer folders.

Written fast with XlsxWriter in constant-memory mode on top of ``layout.write_form``, so the
file is a real F-31-08-02 (``crm_form`` defined name, hidden key row) that ``detect_form``
and the readers accept.  Data is realistic and valid: Persian names, national codes and
legal IDs with correct check digits, mobiles, Jalali-era dates, stages, cases, contracts and
invoices for the customers that bought, counters matching the numbers used.

    python benchmarks/gen_synthetic.py OUT_DIR [--customers 10000 50000 100000] [--folders 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import warnings
from pathlib import Path

from crm_xl.domain import schema
from crm_xl.domain.dates import to_jalali_str
from crm_xl.domain.enums import CaseStatus, Channel, FollowUpState, PersonType, RecordStatus, Stage
from crm_xl.domain.ids import make_legal_id, make_national_code
from crm_xl.domain.settings import Settings
from crm_xl.io.layout import DEFAULT_COMPANY, new_workbook, write_form
from crm_xl.io.settings_file import save_settings

FIRST = [
    "علی",
    "محمد",
    "حسین",
    "رضا",
    "مهدی",
    "زهرا",
    "فاطمه",
    "مریم",
    "سارا",
    "نرگس",
    "امیر",
    "حمید",
    "سعید",
    "مجید",
    "لیلا",
]
LAST = [
    "احمدی",
    "محمدی",
    "حسینی",
    "رضایی",
    "کریمی",
    "موسوی",
    "جعفری",
    "صادقی",
    "رحیمی",
    "نوری",
    "تهرانی",
    "اکبری",
]
COMPANY = ["پارس", "ایران", "نوین", "صنعت", "آریا", "سپهر", "البرز", "کاوه", "دماوند", "خلیج"]
EXPERTS = ["علی رضایی", "مریم احمدی", "حسین کریمی", "سارا موسوی"]
STAGES = [
    (Stage.FIRST_CONTACT, 15),
    (Stage.FOLLOW_UP, 20),
    (Stage.NEGOTIATION, 10),
    (Stage.PROPOSAL, 10),
    (Stage.WON, 20),
    (Stage.LOST, 10),
    (Stage.CRM_DONE, 10),
    (Stage.CLOSED, 5),
]
SOLD = {Stage.WON, Stage.CRM_DONE, Stage.CLOSED}
JYEAR = 1403
BASE = dt.datetime(2024, 3, 20, 9, 0)  # 1403/01/01


def _cols(t: schema.Table) -> dict[str, int]:
    return {f.key: i for i, f in enumerate(t.fields)}


def _customer(rng: random.Random, n: int) -> tuple[dict[str, object], bool]:
    stage = rng.choices([s for s, _ in STAGES], [w for _, w in STAGES])[0]
    legal = rng.random() < 0.3
    if legal:
        name = f"شرکت {rng.choice(COMPANY)} {rng.choice(COMPANY)} {n}"
        natid = make_legal_id(f"10{n:08d}")
    else:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
        natid = make_national_code(f"{1 + n % 9}{n:08d}"[-9:].rjust(9, "1"))
    first = BASE + dt.timedelta(minutes=n * 3)
    last = first + dt.timedelta(days=1, hours=rng.randint(0, 48))
    row: dict[str, object] = {
        "customer_no": f"C-{n:05d}",
        "name": name,
        "person_type": (PersonType.LEGAL if legal else PersonType.NATURAL).fa,
        "national_id": natid,
        "mobile": f"0912{n:07d}",
        "channel": rng.choice(list(Channel)).fa,
        "expert": rng.choice(EXPERTS),
        "need": rng.choice(["خرید پمپ صنعتی", "تامین قطعات", "مشاوره فنی", "خرید تجهیزات"]),
        "first_contact": first,
        "stage": stage.fa,
        "last_followup": last,
        "next_due": last + dt.timedelta(days=3),
        "followup_state": FollowUpState.ON_TIME.fa,
        "folder": f"customers/C-{n:05d} - {name}",
        "record_status": RecordStatus.ACTIVE.fa,
    }
    row["next_owner"] = row["expert"]
    if stage in (Stage.CRM_DONE, Stage.CLOSED):
        row["crm_done"] = (last + dt.timedelta(days=20)).date()
    if stage is Stage.CLOSED:
        row["closed"] = (last + dt.timedelta(days=25)).date()
        row["folder"] = f"archive/C-{n:05d} - {name}"
    return row, stage in SOLD


def write_register(path: Path, customers: int, seed: int = 1403) -> dict[str, int]:
    """Write a register with ``customers`` rows; returns counts of what was written."""
    rng = random.Random(seed)
    book = new_workbook(path, constant_memory=True)
    with warnings.catch_warnings():
        # Excel tables need the whole sheet in memory; the key row is what readers use.
        warnings.simplefilter("ignore", UserWarning)
        write_form(book, schema.F_31_08_02, company=DEFAULT_COMPANY)
    sheets = {ws.get_name(): ws for ws in book.worksheets()}
    for t in schema.F_31_08_02.tables.values():  # the Persian labels add_table would write
        for c, f in enumerate(t.fields):
            sheets[t.sheet].write_string(schema.LABEL_ROW - 1, c, f.fa)
    first_row = schema.FIRST_DATA_ROW - 1

    def put(ws, r: int, cols: dict[str, int], row: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
        for k, v in row.items():
            if v is None:
                continue
            c = cols[k]
            if isinstance(v, dt.date):  # dates are Jalali text, as the toolkit writes them
                ws.write_string(r, c, to_jalali_str(v, with_time=isinstance(v, dt.datetime)))
            elif isinstance(v, str):
                ws.write_string(r, c, v)
            else:
                ws.write_number(r, c, v)

    cust_ws, case_ws = sheets[schema.CUSTOMERS.sheet], sheets[schema.CASES.sheet]
    inv_ws, cnt_ws = sheets[schema.INVOICES.sheet], sheets[schema.COUNTERS.sheet]
    cc, kc, ic = _cols(schema.CUSTOMERS), _cols(schema.CASES), _cols(schema.INVOICES)
    cases = contracts = invoices = 0
    sold: list[dict[str, object]] = []
    for n in range(1, customers + 1):
        row, bought = _customer(rng, n)
        put(cust_ws, first_row + n - 1, cc, row)
        if bought:
            sold.append(row)
    for row in sold:
        cases += 1
        opened = row["last_followup"]
        assert isinstance(opened, dt.datetime)
        case: dict[str, object] = {
            "case_no": f"P-{cases:05d}",
            "customer_no": row["customer_no"],
            "customer_name": row["name"],
            "opened": opened,
            "expert": row["expert"],
            "status": CaseStatus.OPEN.fa,
            "record_status": RecordStatus.ACTIVE.fa,
        }
        if rng.random() < 0.7:
            contracts += 1
            case.update(
                contract_no=f"Q-{JYEAR}-{contracts:04d}",
                contract_date=(opened + dt.timedelta(days=2)).date(),
                status=CaseStatus.CONTRACTED.fa,
                amount=rng.randint(10, 900) * 1_000_000,
            )
            if rng.random() < 0.8:
                invoices += 1
                inv = {
                    "invoice_no": f"{JYEAR}-{invoices:06d}",
                    "case_no": case["case_no"],
                    "customer_no": row["customer_no"],
                    "issued": opened + dt.timedelta(days=3),
                    "amount": case["amount"],
                    "record_status": RecordStatus.ACTIVE.fa,
                }
                put(inv_ws, first_row + invoices - 1, ic, inv)
                case.update(invoice_nos=inv["invoice_no"], status=CaseStatus.INVOICED.fa)
        put(case_ws, first_row + cases - 1, kc, case)
    ctr = _cols(schema.COUNTERS)
    for i, (kind, scope, last) in enumerate(
        [
            ("customer", "all", customers),
            ("case", "all", cases),
            ("contract", "all", contracts),
            ("invoice", str(JYEAR), invoices),
        ]
    ):
        put(cnt_ws, first_row + i, ctr, {"kind": kind, "scope": scope, "last": last})
    book.close()
    return {"customers": customers, "cases": cases, "contracts": contracts, "invoices": invoices}


def write_customer_form(path: Path, row: dict[str, object]) -> None:
    """An F-31-08-01 for one register row (block values written over the laid-out form)."""
    book = new_workbook(path)
    write_form(book, schema.F_31_08_01, company=DEFAULT_COMPANY)
    ws = book.get_worksheet_by_name(schema.REGISTRATION.sheet)
    legal = row["person_type"] == PersonType.LEGAL.fa
    first, _, last = str(row["name"]).partition(" ")
    values: dict[str, object] = {
        "customer_no": row["customer_no"],
        "person_type": row["person_type"],
        "mobile": row["mobile"],
        "need": row["need"],
        "channel": row["channel"],
        "first_contact": row["first_contact"],
        "expert": row["expert"],
        "stage": row["stage"],
    }
    if legal:
        values.update(company_name=row["name"], legal_id=row["national_id"])
    else:
        values.update(first_name=first, last_name=last, national_code=row["national_id"])
    for i, f in enumerate(schema.REGISTRATION.fields):
        v = values.get(f.key)
        r = schema.BLOCK_FIRST_ROW - 1 + i
        if isinstance(v, dt.datetime):
            ws.write_string(r, schema.BLOCK_VALUE_COL - 1, to_jalali_str(v, with_time=True))
        elif v is not None:
            ws.write_string(r, schema.BLOCK_VALUE_COL - 1, str(v))
    book.close()


def write_workspace(root: Path, customers: int, seed: int = 1403) -> Path:
    """A workspace: settings, a register and one folder with its F-31-08-01 per customer."""
    from crm_xl.ops.store import customer_form_name

    root.mkdir(parents=True, exist_ok=True)
    for d in ("customers", "archive", "after-sales", ".crm_xl/backups"):
        (root / d).mkdir(parents=True, exist_ok=True)
    save_settings(root, Settings(experts=EXPERTS))
    write_register(root / "F-31-08-02.xlsx", customers, seed)
    rng = random.Random(seed)
    for n in range(1, customers + 1):
        row, _ = _customer(rng, n)
        folder = root / str(row["folder"])
        folder.mkdir(parents=True, exist_ok=True)
        write_customer_form(folder / customer_form_name(str(row["customer_no"])), row)
    return root


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--customers", type=int, nargs="*", default=[10_000, 50_000, 100_000])
    ap.add_argument("--folders", type=int, default=0, help="also a workspace with N folders")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    for n in a.customers:
        p = a.out / f"register-{n // 1000}k.xlsx"
        print(p, write_register(p, n), file=sys.stderr)
    if a.folders:
        print(write_workspace(a.out / f"workspace-{a.folders}", a.folders), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
