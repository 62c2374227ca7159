"""Cross-table and cross-file rules: numbering, duplicate customers, register ↔ folders ↔ forms."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from crm_xl.domain.decide import PARTY_REASON_FA, PartyIndex
from crm_xl.domain.enums import PersonType, Stage, is_void
from crm_xl.domain.schema import F_31_08_01, REGISTRATION
from crm_xl.domain.text import fast_name_key, fast_name_keys, normalize, to_ascii_digits
from crm_xl.validation.rules import (
    BlockData,
    Sink,
    TableData,
    as_text,
    is_blank,
)

# --- numbering (the audit over all the evidence: validation/numbering.py) ----------------------

_UNIQUE = [
    ("Customers", "customer_no"),
    ("Cases", "case_no"),
    ("Cases", "contract_no"),
    ("Invoices", "invoice_no"),
    ("Invoices", "tax_id"),
]


def unique_rule(sink: Sink, tables: dict[str, TableData]) -> None:
    for tname, key in _UNIQUE:
        td = tables.get(tname)
        if td is None or key not in td.letters:
            continue
        col = td.parsed[key]
        if key == "tax_id":
            col = [None if p is None else to_ascii_digits(as_text(r)).upper().strip()
                   for p, r in zip(col, td.raw[key], strict=True)]  # fmt: skip
        if len(set(col)) + col.count(None) - (None in col) == len(col):
            continue  # all distinct: the usual case, checked at C speed
        first: dict[object, int] = {}
        for i, v in enumerate(col):
            if v is None:
                continue
            j = first.setdefault(v, i)
            if j != i:
                sink.add("unique-error", f"«{v}» تکراری است؛ اولین بار در {td.cell(key, j)}",
                         f"'{v}' is a duplicate of {td.cell(key, j)}",
                         **td.where(key, i))  # fmt: skip


def duplicate_customers(sink: Sink, td: TableData) -> None:
    """Same party registered twice (``decide.PartyIndex``, the rules ``customer add`` applies):
    same national code/ID, else same mobile, else same name; void rows do not count."""
    P = td.parsed
    live = [i for i, r in enumerate(P["record_status"]) if not is_void(r)]
    ids = [as_text(P["national_id"][i]) for i in live]
    mobiles = [as_text(P["mobile"][i]) for i in live]
    names = fast_name_keys([td.raw["name"][i] for i in live])
    if all(len(set(c)) - ("" in c) == len(c) - c.count("") for c in (ids, mobiles, names)):
        return  # no repeated key at all (the usual case): decided at C speed
    index = PartyIndex()
    for n, i in enumerate(live):
        keys = (ids[n], mobiles[n], names[n])
        hits = index.find_keys(keys)
        if hits:
            other_i, key = PartyIndex.strongest(hits)
            j = int(other_i)
            other = as_text(P["customer_no"][j] or td.cell(key, j))
            sink.add("duplicate-customer", f"همان {PARTY_REASON_FA[key]} مشتری {other}",
                     f"same {key} as customer {other}", **td.where(key, i))  # fmt: skip
        index.add_keys(str(i), keys)


def logged_numbers(log: TableData | None) -> tuple[set[str], set[str]]:
    """Numbers the change log says were issued, and customers closed as lost."""
    numbers: set[str] = set()
    lost: set[str] = set()
    if log is None:
        return numbers, lost
    cols = zip(log.raw["numbers"], log.raw["operation"], log.raw["details"], strict=True)
    for raw, op, det in cols:
        nums = [n.strip() for n in as_text(raw).split(",")]
        nums = [n if n.isascii() else to_ascii_digits(normalize(n)) for n in nums]
        numbers.update(n for n in nums if n)
        if op == "customer-close":
            try:
                details = json.loads(as_text(det) or "{}")
            except ValueError:
                continue
            if isinstance(details, dict) and details.get("lost") and nums:
                lost.add(nums[0])
    return numbers, lost


# --- folders and customer forms ------------------------------------------------------------------


def _folders(root: Path) -> dict[str, Path]:
    """Customer folders under ``root`` by the number their name starts with."""
    out: dict[str, Path] = {}
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir(), key=lambda p: p.name):
        if d.is_dir() and not d.name.startswith("."):
            no = to_ascii_digits(normalize(d.name.split(" - ", 1)[0]))
            out.setdefault(no, d)
    return out


def customer_form_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.name.startswith(F_31_08_01.code)
        and p.suffix.lower() in (".xlsx", ".xlsm")
        and not p.name.startswith(("~$", ".~lock"))
    )


def folder_rules(
    sink: Sink, td: TableData, root: Path, customers_dir: Path, archive_dir: Path
) -> dict[str, Path]:
    """Register ↔ folders (R12): every customer has its folder, every folder its customer."""
    live = _folders(customers_dir)
    archived = _folders(archive_dir)
    P = td.parsed
    found: dict[str, Path] = {}
    numbers: set[str] = set()
    for i in range(len(td)):
        no = P["customer_no"][i]
        if no is None:
            continue
        no = str(no)
        numbers.add(no)
        text = normalize(as_text(td.raw["folder"][i])).replace("\\", "/")
        path = root / text if text else None
        if path is not None and path.is_dir() and path.resolve().is_relative_to(root.resolve()):
            found[no] = path
            continue
        alt = live.get(no) or archived.get(no)
        if alt is None:
            if is_void(P["record_status"][i]):
                continue
            sink.add("missing-folder", f"پوشه مشتری {no} پیدا نشد ({text or 'خالی'})",
                     f"folder of customer {no} not found ({text or 'empty'})",
                     **td.where("folder", i))  # fmt: skip
        else:
            found[no] = alt
            rel = alt.relative_to(root).as_posix()
            sink.add("folder-mismatch", f"پوشه در دفتر ثبت «{text}» است ولی «{rel}» وجود دارد",
                     f"register says '{text}' but the folder is '{rel}'",
                     **td.where("folder", i))  # fmt: skip
        if P["stage"][i] is Stage.CLOSED and no in live and no not in archived:
            sink.add("folder-mismatch", "مشتری بسته شده ولی پوشه‌اش بایگانی نشده",
                     "customer is closed but the folder is not in the archive",
                     **td.where("folder", i))  # fmt: skip
    for no, d in [*live.items(), *archived.items()]:
        if no not in numbers:
            sink.add("orphan-folder", f"پوشه «{d.name}» مشتری‌ای در دفتر ثبت ندارد",
                     f"folder '{d.name}' has no customer in the register",
                     file=str(d))  # fmt: skip
    return found


def form_vs_register(sink: Sink, bd: BlockData, td: TableData, i: int, folder_no: str) -> None:
    """A customer's F-31-08-01 says the same as its register row (R9)."""
    P = td.parsed
    no = bd.parsed.get("customer_no")
    if no is not None and no != folder_no:
        sink.add("form-mismatch", f"شماره مشتری فرم «{no}» با پوشه/دفتر ثبت ({folder_no}) یکی نیست",
                 f"customer number '{no}' differs from the register ({folder_no})",
                 **bd.where("customer_no"))  # fmt: skip
    ptype = bd.parsed.get("person_type")
    if ptype is not None and P["person_type"][i] is not None and ptype != P["person_type"][i]:
        sink.add("form-mismatch", "نوع شخص فرم با دفتر ثبت یکی نیست",
                 "person type differs from the register", **bd.where("person_type"))  # fmt: skip
    if ptype is PersonType.LEGAL:
        key, name = "company_name", as_text(bd.raw.get("company_name"))
    else:
        key = "first_name"
        name = f"{as_text(bd.raw.get('first_name'))} {as_text(bd.raw.get('last_name'))}"
    reg_name = td.raw["name"][i]
    if name.strip() and not is_blank(reg_name) and fast_name_key(name) != fast_name_key(reg_name):
        sink.add("form-mismatch", f"نام فرم «{name.strip()}» با نام دفتر ثبت «{reg_name}» یکی نیست",
                 f"name '{name.strip()}' differs from the register ('{reg_name}')",
                 **bd.where(key))  # fmt: skip
    st = bd.parsed.get("stage")
    if st is not None and P["stage"][i] is not None and st != P["stage"][i]:
        sink.add("form-mismatch", f"مرحله فرم «{st.fa}» با دفتر ثبت «{P['stage'][i].fa}» یکی نیست",  # type: ignore[attr-defined]
                 "stage differs from the register", **bd.where("stage"))  # fmt: skip


def first_contact_of(bd: BlockData) -> dt.datetime | None:
    v = bd.parsed.get("first_contact")
    return v if isinstance(v, dt.datetime) else None


def registration_block_name() -> str:
    return REGISTRATION.name


def register_index(td: TableData) -> dict[str, int]:
    return {str(no): i for i, no in enumerate(td.parsed["customer_no"]) if no is not None}


def iter_nonvoid(td: TableData) -> Iterable[int]:
    rec = td.parsed["record_status"]
    return (i for i in range(len(td)) if not is_void(rec[i]))
