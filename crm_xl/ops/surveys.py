"""Customer satisfaction surveys (ISO 10004): a fixed question set scored 1-5.

Registering a survey is the CRM step of the procedure (R11): when the customer is at stage
Won, the survey also marks CRM done in the register (``store.crm_done``); otherwise the
survey is kept and the result says why the stage did not move.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from crm_xl.domain import decide
from crm_xl.domain.changes import Plan
from crm_xl.domain.dates import to_jalali_str
from crm_xl.domain.enums import Stage
from crm_xl.domain.errors import CrmError, InputError
from crm_xl.domain.text import normalize, to_ascii_digits
from crm_xl.io.workbook import FormBook
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.ops.books import (
    QUESTIONS,
    SATISFACTION_FORM,
    SCORE_MAX,
    SCORE_MIN,
    SURVEYS,
    Report,
    issue_number,
    jalali_month_key,
    jalali_quarter_key,
    log_row,
    number_rule,
    read_rows,
    when,
    write_book,
)
from crm_xl.ops.plans import UNKNOWN_GROUP, case_group, product_groups

KIND = "survey"
DEFAULT_PATTERN = "SRV-{seq:5}"


def parse_scores(items: Iterable[str] | Mapping[str, Any]) -> dict[str, int]:
    """``["q1=5", "q2=۴"]`` or ``{"q1": 5}`` → {"q1": 5, ...}; each a whole number 1-5."""
    pairs: list[tuple[str, Any]]
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        pairs = []
        for item in items:
            key, sep, value = normalize(item).partition("=")
            if not sep:
                raise InputError(
                    f"امتیاز «{item}» باید به شکل q1=5 باشد",
                    f"score '{item}' must look like q1=5",
                    code="type-error",
                    field="score",
                )
            pairs.append((key, value))
    scores: dict[str, int] = {}
    for key, value in pairs:
        k = normalize(key).lower()
        if k not in QUESTIONS:
            raise InputError(
                f"پرسش «{key}» تعریف نشده؛ پرسش‌ها: {'، '.join(QUESTIONS)}",
                f"unknown question '{key}'; questions: {', '.join(QUESTIONS)}",
                code="constraint-error",
                field="score",
            )
        text = to_ascii_digits(normalize(str(value)))
        if not text.isdigit() or not SCORE_MIN <= int(text) <= SCORE_MAX:
            raise InputError(
                f"امتیاز {k} باید عدد صحیح ۱ تا ۵ باشد، نه «{value}»",
                f"score {k} must be a whole number 1-5, not '{value}'",
                code="constraint-error",
                field=k,
            )
        scores[k] = int(text)
    if not scores:
        raise InputError(
            "دست‌کم یک امتیاز لازم است (مثل --score q1=5)",
            "at least one score is needed (e.g. --score q1=5)",
            field="score",
        )
    return scores


def add_survey(
    ws: Workspace,
    customer_no: str,
    *,
    scores: Iterable[str] | Mapping[str, Any],
    case_no: str | None = None,
    comment: str = "",
    expert: str = "",
    group: str = "",
    at: Any = None,
    now: dt.datetime | None = None,
) -> Plan:
    """Record a survey, then mark the customer's CRM step done when they are at Won."""
    who = store.actor(now)
    parsed = parse_scores(scores)
    reg = store.load_register(ws)
    customer = reg.customer(customer_no)
    cno = str(customer["customer_no"])
    case: dict[str, Any] = {}
    if case_no:
        case = reg.case(case_no)
        if normalize(str(case.get("customer_no") or "")) != cno:
            raise InputError(
                f"پرونده {case_no} متعلق به مشتری {cno} نیست",
                f"case {case_no} does not belong to customer {cno}",
                code="constraint-error",
                field="case_no",
            )
    elif (cases := reg.cases_of(cno)) and len(cases) == 1:
        case = cases[0]  # the one sale this survey is about
    taken = when(at, who.now, "date")
    the_group = normalize(group) or (case_group(case, product_groups(ws)) if case else "")
    values = {
        "customer_no": cno,
        "customer_name": customer.get("name"),
        "case_no": case.get("case_no"),
        "date": taken.date(),
        "expert": normalize(expert)
        or normalize(str(case.get("expert") or customer.get("expert") or "")),
        "product_group": the_group if the_group and the_group != UNKNOWN_GROUP else None,
        **parsed,
        "average": round(sum(parsed.values()) / len(parsed), 2),
        "comment": normalize(comment) or None,
    }
    rule = number_rule(ws, KIND, DEFAULT_PATTERN)

    def change(book: FormBook) -> str:
        number = issue_number(book, KIND, rule, who.now, "survey_no")
        book.append_rows(SURVEYS.name, [{"survey_no": number, **values}])
        log_row(book, who, "survey-add", [number, cno], json.dumps(parsed))
        return number

    number = write_book(ws, SATISFACTION_FORM, change)
    crm = _crm_step(ws, reg, cno, taken, who.now)
    result = {
        "survey_no": number,
        "customer_no": cno,
        "case_no": values["case_no"],
        "average": values["average"],
        "crm": crm,
    }
    fa = f"نظرسنجی {number} برای مشتری {cno} ثبت شد (میانگین {values['average']})"
    en = f"survey {number} recorded for customer {cno} (average {values['average']})"
    if crm["done"]:
        fa += "؛ مرحله CRM انجام شد"
        en += "; CRM step done"
    return Plan("survey-add", result=result, message_fa=fa, message_en=en)


def _crm_step(
    ws: Workspace, reg: decide.Register, cno: str, taken: dt.datetime, now: dt.datetime
) -> dict[str, Any]:
    stage = decide.stage_of(reg.customer(cno))
    if stage is not Stage.WON:
        return {
            "done": False,
            "stage": stage.value,
            "reason": f"stage is {stage.en}, not Won: CRM step not applicable",
        }
    try:
        plan = store.crm_done(ws, cno, at=taken, now=now)
    except CrmError as e:  # a lifecycle guard (e.g. no live case): the survey stays recorded
        return {"done": False, "stage": stage.value, "reason": e.en, "code": e.code}
    return {"done": True, "stage": plan.result.get("stage"), "reason": ""}


# --- report ---------------------------------------------------------------------------------------


def _averages(rows: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    out = []
    for name in sorted(groups):
        members = groups[name]
        rec: dict[str, Any] = {"key": name, "count": len(members)}
        for q in QUESTIONS:
            vals = [int(r[q]) for r in members if isinstance(r.get(q), int | float)]
            rec[q] = round(sum(vals) / len(vals), 2) if vals else None
        avgs = [float(r["average"]) for r in members if _num(r.get("average"))]
        rec["average"] = round(sum(avgs) / len(avgs), 2) if avgs else None
        out.append(rec)
    return out


def _num(v: Any) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def survey_summary(ws: Workspace) -> dict[str, Any]:
    rows = [
        r for r in read_rows(ws, SATISFACTION_FORM, SURVEYS) if isinstance(r.get("date"), dt.date)
    ]
    return {
        "count": len(rows),
        "overall": _averages(rows, lambda r: "کل")[0] if rows else None,
        "by_expert": _averages(rows, lambda r: str(r.get("expert") or "نامشخص")),
        "by_group": _averages(rows, lambda r: str(r.get("product_group") or "نامشخص")),
        "by_month": _averages(rows, lambda r: jalali_month_key(r["date"])),
        "by_quarter": _averages(rows, lambda r: jalali_quarter_key(r["date"])),
    }


def survey_report(ws: Workspace, now: dt.datetime, out: Path | None = None) -> dict[str, Any]:
    """Averages per expert, product group, Jalali month and quarter; workbook with a trend chart."""
    data = survey_summary(ws)
    if out is None:
        return data
    rep = Report(
        out,
        company=ws.settings.company,
        title="گزارش رضایت مشتریان (ISO 10004)",
        meta=(
            f"بر پایه: {SATISFACTION_FORM.code}",
            f"تاریخ گزارش: {to_jalali_str(now, with_time=True)}",
        ),
    )
    stamp = "امتیاز ۱ تا ۵"
    qcols = [(label, 11.0) for label, _ in QUESTIONS.values()]
    sheets = (
        ("ماهانه", "ماه", data["by_month"]),
        ("فصلی", "فصل", data["by_quarter"]),
        ("کارشناس", "کارشناس فروش", data["by_expert"]),
        ("گروه کالا", "گروه کالا", data["by_group"]),
    )
    for name, first, recs in sheets:
        sh = rep.sheet(
            name,
            stamp,
            [(first, 16), ("تعداد", 8), *qcols, ("میانگین کل", 11)],
            [[r["key"], r["count"], *(r[q] for q in QUESTIONS), r["average"]] for r in recs],
            number_cols=[1],
            decimals=range(2, 3 + len(QUESTIONS)),
        )
        if not recs:
            continue
        n, last = len(recs), 2 + len(QUESTIONS)
        trend = name in ("ماهانه", "فصلی")
        ch = rep.chart("line" if trend else "column")
        ch.add_series(
            {
                "name": "میانگین کل",
                "categories": [name, 4, 0, 3 + n, 0],
                "values": [name, 4, last, 3 + n, last],
                "marker": {"type": "circle", "size": 6},
                "data_labels": {
                    "value": True,
                    "num_format": "0.00",
                    "font": {"name": "Tahoma", "size": 8},
                },
            }
        )
        title = "روند رضایت" if trend else f"میانگین رضایت بر اساس {first}"
        ch.set_title({"name": title, "name_font": {"name": "Tahoma", "size": 11}})
        ch.set_x_axis({"reverse": True, "num_font": {"name": "Tahoma", "size": 8}})
        ch.set_y_axis(
            {"min": 0, "max": 5, "major_unit": 1, "num_font": {"name": "Tahoma", "size": 8}}
        )
        ch.set_legend({"none": True})
        ch.set_size({"width": 620, "height": 300})
        sh.insert_chart(5 + n, 0, ch)
    rep.close()
    return {**data, "xlsx": str(out)}
