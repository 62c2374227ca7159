"""``crm-xl demo``: a workspace filled with realistic Persian sample data.

Every sample record goes through the same operations a salesperson's buttons and the CLI
use (``store``), with the clock set back to when it "happened", so the demo exercises the
real numbering, folders, forms and log, and some customers are left overdue on purpose.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crm_xl.domain import decide, ids
from crm_xl.domain.dates import TEHRAN, now_tehran, to_jalali_str
from crm_xl.domain.errors import CrmError
from crm_xl.io.workspace import Workspace, init_workspace
from crm_xl.ops import store

COMPANY = "شرکت بازرگانی آریا تجارت پارس"
EXPERTS = ["سارا احمدی", "محمد رضایی", "نگار کریمی", "علی موسوی"]
FIRST = [
    "علی",
    "مریم",
    "حسین",
    "زهرا",
    "رضا",
    "فاطمه",
    "مهدی",
    "نرگس",
    "امیر",
    "لیلا",
    "کاوه",
    "شیرین",
]
LAST = ["محمدی", "حسینی", "کاظمی", "جعفری", "رحیمی", "صادقی", "نوری", "قاسمی", "یزدانی", "تهرانی"]
COMPANIES = [
    "پتروشیمی خلیج فارس",
    "فولاد مبارکه سپاهان",
    "صنایع غذایی مهرگان",
    "داروسازی سینا طب",
    "ساختمانی نقش جهان",
    "کشت و صنعت دشت مغان",
    "نساجی یزد باف",
    "معدنی کاوش کویر",
    "پالایش نفت لاوان",
    "تجهیزات پزشکی آرمان",
]
CATEGORIES = [
    "صنعتی › پتروشیمی",
    "صنعتی › فولاد",
    "صنعتی › غذایی",
    "خدماتی › پیمانکاری",
    "بازرگانی › پخش",
    "کشاورزی",
]
NEEDS = [
    "پمپ سانتریفیوژ صنعتی",
    "تابلو برق و اینورتر",
    "کمپرسور هوای فشرده",
    "ابزار دقیق و ترانسمیتر فشار",
    "شیرآلات صنعتی",
    "دستگاه بسته‌بندی",
]
CHANNELS = [
    "phone",
    "in_person",
    "exhibition",
    "website",
    "telegram",
    "whatsapp",
    "eitaa",
    "bale",
    "referral",
    "email",
]
FOLLOW_TYPES = ["phone", "email", "messenger", "in_person", "visit"]
NOTES = [
    "ارسال کاتالوگ و مشخصات فنی",
    "پاسخ به سؤالات فنی مشتری",
    "ارسال پیش‌فاکتور",
    "هماهنگی بازدید از انبار",
    "مذاکره درباره شرایط پرداخت",
]
#: Target stage of each sample customer, cycling: a realistic spread of the funnel.
PLAN = [
    "first_contact",
    "overdue_first",
    "follow_up",
    "negotiation",
    "overdue_action",
    "proposal",
    "won",
    "invoiced",
    "crm_done",
    "closed",
    "lost",
    "stalled",
]


def build_demo(
    directory: str | Path,
    *,
    customers: int = 36,
    seed: int = 1405,
    now: datetime | None = None,
) -> tuple[Workspace, dict[str, Any]]:
    """Create the demo workspace at ``directory`` and return it with a summary."""
    rng = random.Random(seed)
    now = (now or now_tehran()).astimezone(TEHRAN).replace(second=0, microsecond=0)
    ws = init_workspace(directory, company=COMPANY, experts=EXPERTS, fiscal_memory_id="A1B2C3")
    counts: dict[str, int] = {}
    for i in range(customers):
        goal = PLAN[i % len(PLAN)]
        counts[goal] = counts.get(goal, 0) + 1
        _one_customer(ws, rng, i, goal, now)
    summary: dict[str, Any] = {"workspace": str(ws.root), "customers": customers, "plan": counts}
    summary["register"] = str(ws.register_path)
    try:
        from crm_xl.ops.refresh import refresh

        result = refresh(ws, now=now)
        summary["refresh"] = result.as_dict() if hasattr(result, "as_dict") else str(result)
    except ImportError:
        pass
    summary["now"] = now.isoformat()
    return ws, summary


def _party(rng: random.Random, i: int) -> dict[str, Any]:
    if i % 3 == 2:  # a third are companies
        name = f"شرکت {COMPANIES[i % len(COMPANIES)]}"
        if i >= len(COMPANIES):
            name += f" {i // len(COMPANIES) + 1}"
        legal = ids.make_legal_id(f"10{rng.randrange(10**8):08d}")
        return {"name": name, "person_type": "legal", "national_id": legal}
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if i >= 24:
        name += f" {rng.choice(['زاده', 'پور', 'نیا'])}"
    code = ids.make_national_code(f"{rng.randrange(1, 10**9):09d}")
    return {"name": name, "person_type": "natural", "national_code": code}


def _one_customer(ws: Workspace, rng: random.Random, i: int, goal: str, now: datetime) -> None:
    expert = EXPERTS[i % len(EXPERTS)]
    days_ago = {"first_contact": 0, "overdue_first": 3, "stalled": 25}.get(goal, rng.randint(6, 40))
    first = now - timedelta(days=days_ago, hours=rng.randint(1, 5))
    if goal == "first_contact":
        first = now - timedelta(hours=rng.randint(1, 6))
    mobile = f"09{rng.choice(['12', '35', '19', '01', '90'])}{rng.randrange(10**7):07d}"
    inp = decide.NewCustomer(
        channel=CHANNELS[i % len(CHANNELS)],
        expert=expert,
        need=rng.choice(NEEDS),
        mobile=mobile,
        category=rng.choice(CATEGORIES),
        referrer="نمایشگاه صنعت تهران" if i % 5 == 0 else "",
        at=first,
        allow_duplicate=True,
        **_party(rng, i),
    )
    no = store.add_customer(ws, inp, now=first).result["customer_no"]
    if goal in ("first_contact", "overdue_first"):
        return
    t = first + timedelta(hours=rng.randint(20, 26))
    # Spread the follow-ups over the customer's life so the latest ones are recent.
    last_gap = max(1, days_ago // 6)

    def follow(
        result: str = "", due_in: timedelta | None = timedelta(days=3), last: bool = False
    ) -> None:
        nonlocal t
        if last:  # the latest contact of a customer being worked on is recent
            t = max(t, now - timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 8)))
        at = min(t, now - timedelta(minutes=5))
        due = at + due_in if due_in is not None else None
        store.add_followup(
            ws,
            decide.NewFollowUp(
                customer_no=no,
                type=rng.choice(FOLLOW_TYPES),
                note=rng.choice(NOTES),
                at=at,
                minutes=rng.choice([5, 10, 15, 30, 45]),
                result=result,
                next_action="تماس برای پیگیری نتیجه" if due else "",
                next_due=due,
            ),
            now=at,
        )
        t = at + timedelta(days=last_gap)

    if goal == "stalled":
        follow(due_in=None)  # no planned action and no contact since: stalled
        return
    follow()
    if goal == "follow_up":
        follow(due_in=timedelta(days=rng.randint(6, 9)), last=True)
        return
    if goal == "overdue_action":
        follow(due_in=timedelta(days=1))  # due a day later, long past
        return
    follow("negotiation")
    if goal == "negotiation":
        follow("negotiation", due_in=timedelta(days=rng.randint(5, 7)), last=True)
        return
    follow("proposal", due_in=timedelta(days=rng.randint(5, 8)), last=True)
    if goal == "proposal":
        return
    if goal == "lost":
        store.close_customer(ws, no, lost=True, now=min(t, now))
        return
    at = min(t, now - timedelta(minutes=4))
    case_no = store.open_case(ws, no, at=at, now=at).result["case_no"]
    follow(due_in=timedelta(days=rng.randint(5, 8)), last=True)
    if goal == "won":
        return
    amount = rng.randrange(50, 900) * 10_000_000
    at = min(t, now - timedelta(minutes=3))
    store.add_contract(ws, case_no, amount=amount, at=at, now=at)
    store.issue_invoice(ws, case_no, amount=amount, at=at, now=at)
    if goal == "invoiced":
        return
    at = min(t + timedelta(days=2), now - timedelta(minutes=2))
    store.crm_done(ws, no, at=at, now=at)
    if goal == "closed":
        at = min(at + timedelta(days=1), now - timedelta(minutes=1))
        store.close_customer(ws, no, at=at, now=at)


def print_overview(ws: Workspace, summary: dict[str, Any]) -> None:
    """What a sales manager wants to see first: the funnel and today's overdue list."""
    from rich.console import Console

    console = Console()
    console.print(f"[bold]{COMPANY}[/bold] — پوشه کاری نمونه / demo workspace: {ws.root}")
    console.print(f"دفتر ثبت / register: {summary.get('register')}")
    try:
        from crm_xl.ops.tasks import overview, print_overdue

        now = datetime.fromisoformat(summary["now"]) if "now" in summary else None
        print_overdue(console, overview(ws, now=now))
    except ImportError:
        reg = store.load_register(ws)
        by_stage: dict[str, int] = {}
        for row in reg.customers.values():
            stage = decide.stage_of(row).fa
            by_stage[stage] = by_stage.get(stage, 0) + 1
        for stage, n in by_stage.items():
            console.print(f"{stage}: {n}")
    console.print(f"امروز / today: {to_jalali_str(now_tehran(), with_time=True)}")
    console.print(
        "بعدی / next: crm-xl -w <workspace> overdue --xlsx tasks.xlsx ; crm-xl validate <workspace>"
    )


__all__ = ["CrmError", "build_demo", "print_overview"]
