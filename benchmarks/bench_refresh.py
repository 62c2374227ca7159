"""Benchmark ``crm-xl refresh`` on synthetic workspaces (1,000 and 5,000 customers by default).

    python benchmarks/bench_refresh.py [SIZES ...] [--keep DIR]

For each size a workspace is generated fast — the register written once with
``FormBook.append_rows`` and a handful of filled F-31-08-01 files copied into one folder per
customer (some rows typed as Jalali text, as salespeople do) — then measured:

* baseline: just reading the same files with calamine (register customers + every form's
  follow-up log), nothing computed or written;
* refresh #1: re-read, compute, write every row's state (all rows change);
* refresh #2: the daily case — nothing changed, only the log entry is written;
* peak Python memory of a refresh (tracemalloc; calamine's Rust buffers are not traced, so
  the process's max RSS is printed too).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import Channel, FollowUpType, PersonType, RecordStatus, Stage
from crm_xl.domain.schema import CUSTOMERS, F_31_08_01, F_31_08_02, FOLLOWUPS, REGISTRATION
from crm_xl.io.folders import customer_folder_name
from crm_xl.io.workbook import FormBook, read_table_fast
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops.refresh import refresh
from crm_xl.ops.store import customer_form_name

EXPERTS = ["علی رضایی", "مریم احمدی", "حسین محمدی", "زهرا کریمی", "امیر جعفری"]
NOW = datetime(2024, 11, 20, 11, 0, tzinfo=TEHRAN)
FIRST = datetime(2024, 10, 1, 9, 0, tzinfo=TEHRAN)


def _variants(ws: Workspace, out: Path) -> list[tuple[Path, dict[str, Any]]]:
    """A few filled forms and the register values that go with each."""
    variants: list[tuple[Path, dict[str, Any]]] = []
    plans: list[list[dict[str, Any]]] = [
        [],  # never called back
        [  # real Excel dates, next action in the future
            {"at": FIRST + timedelta(days=1)},
            {"at": NOW - timedelta(days=2), "next_due": NOW + timedelta(days=2)},
        ],
        [  # typed as Jalali text with Persian digits; action overdue
            {"at": FIRST + timedelta(days=1)},
            {"at": "۱۴۰۳/۰۸/۲۰ ۱۰:۰۰", "next_due": "۱۴۰۳/۰۸/۲۵ ۱۰:۰۰"},
        ],
        [  # long conversation, nothing planned: stalled
            {"at": FIRST + timedelta(days=d)} for d in (1, 3, 6, 10)
        ],
        [  # one unreadable typed row among good ones
            {"at": NOW - timedelta(days=1), "next_due": NOW + timedelta(hours=3)},
            {"at": "۱۴۰۳/۱۳/۰۱"},
        ],
    ]
    template = ws.form_template(F_31_08_01)
    for i, plan in enumerate(plans):
        book = FormBook.open(template)
        book.write_block(
            REGISTRATION.name,
            {
                "customer_no": "C-00000",
                "person_type": PersonType.NATURAL,
                "first_name": "نمونه",
                "last_name": f"شماره {i}",
                "need": "نیاز نمونه",
                "channel": Channel.PHONE,
                "first_contact": FIRST,
                "expert": EXPERTS[0],
                "stage": Stage.FOLLOW_UP,
            },
        )
        rows = []
        for n, fu in enumerate(plan, 1):
            row = {
                "row_no": n,
                "type": FollowUpType.PHONE,
                "expert": EXPERTS[0],
                "description": "تماس و پیگیری",
                **fu,
            }
            if "next_due" in fu:
                row.update(next_action="ارسال پیش‌فاكتور", next_owner=EXPERTS[1])
            rows.append(row)
        if rows:
            book.append_rows(FOLLOWUPS.name, rows)
        path = out / f"variant{i}.xlsx"
        book.save(path)
        stage = Stage.FIRST_CONTACT if not plan else Stage.FOLLOW_UP
        variants.append((path, {"stage": stage}))
    return variants


def build(root: Path, size: int) -> Workspace:
    ws = init_workspace(root, company="شرکت بازرگانی نمونه", experts=EXPERTS)
    variants = _variants(ws, root / ".crm_xl")
    customers = []
    for i in range(1, size + 1):
        no = f"C-{i:05d}"
        name = f"مشتری نمونه {i}"
        folder = customer_folder_name(no, name)
        src, values = variants[i % len(variants)]
        target = ws.customers_dir / folder
        target.mkdir()
        shutil.copyfile(src, target / customer_form_name(no))
        customers.append(
            {
                "customer_no": no,
                "name": name,
                "person_type": PersonType.NATURAL,
                "channel": Channel.PHONE,
                "expert": EXPERTS[i % len(EXPERTS)],
                "first_contact": FIRST + timedelta(minutes=i),
                "folder": f"customers/{folder}",
                "record_status": RecordStatus.ACTIVE,
                **values,
            }
        )
    book = FormBook.open(ws.register_path)
    book.append_rows(CUSTOMERS.name, customers)
    book.save(ws.register_path)
    return ws


def baseline(ws: Workspace) -> int:
    """Read the register's customers and every form's follow-ups with calamine, nothing more."""
    n = len(read_table_fast(ws.register_path, F_31_08_02, CUSTOMERS.name))
    for form in ws.customers_dir.glob("*/*.xlsx"):
        n += len(read_table_fast(form, F_31_08_01, FOLLOWUPS.name))
    return n


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def run(size: int, keep: Path | None) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench{size}-"))
    try:
        t_build, ws = timed(lambda: build(tmp / "ws", size))
        t_base, _ = timed(lambda: baseline(ws))
        t_first, first = timed(lambda: refresh(ws, NOW))
        t_second, second = timed(lambda: refresh(ws, NOW))
        tracemalloc.start()
        refresh(ws, NOW)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        if keep is not None:
            shutil.copytree(ws.root, keep / f"ws{size}", dirs_exist_ok=True)
        return {
            "size": size,
            "build": t_build,
            "baseline": t_base,
            "refresh1": t_first,
            "refresh2": t_second,
            "changed1": len(first.changed),
            "changed2": len(second.changed),
            "problems": len(first.problems),
            "counts": first.counts,
            "peak_mb": peak / 2**20,
            "rss_mb": rss,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 5000])
    ap.add_argument("--keep", type=Path, default=None, help="copy the generated workspaces here")
    args = ap.parse_args(argv)
    print(
        f"{'customers':>9} {'build s':>8} {'read s':>7} {'refresh1 s':>10} {'x read':>7} "
        f"{'refresh2 s':>10} {'x read':>7} {'changed':>8} {'peak MB':>8} {'maxRSS MB':>9}"
    )
    for size in args.sizes:
        r = run(size, args.keep)
        print(
            f"{r['size']:>9} {r['build']:>8.1f} {r['baseline']:>7.2f} {r['refresh1']:>10.2f} "
            f"{r['refresh1'] / r['baseline']:>7.1f} {r['refresh2']:>10.2f} "
            f"{r['refresh2'] / r['baseline']:>7.1f} {r['changed1']:>4}/{r['changed2']:<3} "
            f"{r['peak_mb']:>8.0f} {r['rss_mb']:>9.0f}"
        )
        print(f"          states: {r['counts']}  problems reported: {r['problems']}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
