"""One duplicate rule (review §B6): what ``customer add`` calls a duplicate, ``validate`` reports
as ``duplicate-customer`` on the same field and naming the same customer; lead import and the
register agree too.  Keys, strongest first: national code/ID, mobile, name (spelling-blind);
void customers do not count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from helpers_workspace import EXPERTS, row_of

from crm_xl.domain import decide, ids
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import InputError
from crm_xl.domain.schema import CUSTOMERS
from crm_xl.io.workspace import Workspace
from crm_xl.ops import store
from crm_xl.validation import validate_paths

NOW = datetime(2025, 10, 8, 10, 0, tzinfo=TEHRAN)  # 1404/07/16


def _new(name: str, code: str, mobile: str, **kw: Any) -> decide.NewCustomer:
    return decide.NewCustomer(
        name=name,
        person_type="natural",
        channel="phone",
        expert=EXPERTS[0],
        need="پمپ",
        at="1404/07/10 09:00",
        national_code=ids.make_national_code(code),
        mobile=mobile,
        **kw,
    )


def _add(ws: Workspace, new: decide.NewCustomer) -> str:
    return str(store.add_customer(ws, new, now=NOW).result["customer_no"])


def _refused_then_forced(ws: Workspace, new: decide.NewCustomer) -> tuple[str, str, str]:
    """(field, message, number) of the refusal, and the customer registered anyway."""
    with pytest.raises(InputError) as err:
        _add(ws, new)
    assert err.value.code == "duplicate-customer"
    forced = _add(ws, decide.NewCustomer(**{**vars(new), "allow_duplicate": True}))
    return str(err.value.location.field), err.value.en, forced


def _duplicates(ws: Workspace) -> dict[int, tuple[str | None, str]]:
    """validate's duplicate-customer findings: Excel row → (field, English message)."""
    report = validate_paths([ws.root])
    return {
        int(f.row or 0): (f.field, f.message_en)
        for f in report.findings
        if f.code == "duplicate-customer"
    }


def test_writes_and_validate_name_the_same_duplicate_by_the_same_key(ws: Workspace) -> None:
    a = _add(ws, _new("علی محمدی", "001234567", "09121111111"))
    b_field, b_msg, b = _refused_then_forced(ws, _new("رضا کریمی", "002345678", "09121111111"))
    assert (b_field, a in b_msg) == ("mobile", True)
    # Arabic letters and extra spaces: the same name.
    c_field, c_msg, c = _refused_then_forced(ws, _new("علي  محمدي", "003456789", "09123333333"))
    assert (c_field, a in c_msg) == ("name", True)
    # Same mobile as the first customer, same national code as the second: the national code
    # is the stronger reason, whichever customer came first.
    d_field, d_msg, d = _refused_then_forced(ws, _new("نادر نوری", "002345678", "09121111111"))
    assert (d_field, b in d_msg) == ("national_id", True)

    found = _duplicates(ws)
    assert found == {
        row_of(ws, CUSTOMERS, b): ("mobile", f"same mobile as customer {a}"),
        row_of(ws, CUSTOMERS, c): ("name", f"same name as customer {a}"),
        row_of(ws, CUSTOMERS, d): ("national_id", f"same national_id as customer {b}"),
    }

    # A void customer is nobody's duplicate, for validate and for the write.
    store.void_number(ws, a, reason="تکراری", now=NOW)
    assert _duplicates(ws) == {
        row_of(ws, CUSTOMERS, d): ("national_id", f"same national_id as customer {b}"),
    }
    only_a = _add(ws, _new("سیما رادان", "001234567", "09128888888"))  # A's national code
    assert row_of(ws, CUSTOMERS, only_a) not in _duplicates(ws)
