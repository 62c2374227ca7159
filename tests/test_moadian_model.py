"""The Moadian invoice model: arithmetic in whole Rials, the offline checks, the JSON shape.

Pure functions only; the workspace path (CLI, register, exports) is tests/test_moadian_cli.py.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_xl.domain import ids
from crm_xl.domain import moadian as m
from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.errors import InputError
from crm_xl.domain.invoicing import lines_from_table, parse_line

SSTID = "2330001234567"
SELLER = ids.make_legal_id("1410000000")
BUYER_LEGAL = ids.make_legal_id("1020304050")
BUYER_NATURAL = ids.make_national_code("001234567")
ISSUED = datetime(2025, 11, 1, 10, 0, tzinfo=TEHRAN)  # 1404/08/10 10:00


def _line(**kw: object) -> m.Line:
    args: dict[str, object] = {"sstid": SSTID, "sstt": "پمپ", "am": 2, "mu": "1627", "fee": 1000}
    args.update(kw)
    return m.compute_line(**args)  # type: ignore[arg-type]


def _invoice(lines: list[m.Line], **header: object) -> m.Invoice:
    """An issued invoice (tax id, serial, issue time) to a legal buyer, paid cash."""
    tax_id = ids.make_tax_id("A1B2C3", ISSUED, 7)
    t = m.totals(lines)
    h: dict[str, object] = {
        "taxid": tax_id,
        "inno": ids.parse_tax_id(tax_id).inno,
        "indatim": m.epoch_ms(ISSUED),
        "indati2m": m.epoch_ms(ISSUED),
        "inty": 1,
        "inp": 1,
        "ins": 1,
        "tins": SELLER,
        "tob": 2,
        "tinb": BUYER_LEGAL,
        **t.as_dict(),
        "setm": 1,
        "cap": t.tbill,
        "insp": 0,
    }
    h.update(header)
    return m.Invoice(header=m.Header(**h), body=lines)  # type: ignore[arg-type]


def _fields(problems: list[m.Problem]) -> list[str]:
    return [p.field for p in problems]


# --- arithmetic ------------------------------------------------------------------------------------


def test_three_lines_one_discounted_vat_10_percent_by_hand() -> None:
    lines = [
        _line(am=2, mu="1631", fee=150_000_000),
        _line(am=Decimal("12.5"), mu="165", fee=850_000, dis=1_062_500),
        _line(am=3, mu="16103", fee=4_000_000),
    ]
    assert [(ln.prdis, ln.adis, ln.vam, ln.tsstam) for ln in lines] == [
        (300_000_000, 300_000_000, 30_000_000, 330_000_000),
        (10_625_000, 9_562_500, 956_250, 10_518_750),
        (12_000_000, 12_000_000, 1_200_000, 13_200_000),
    ]
    t = m.totals(lines)
    assert (t.tprdis, t.tdis, t.tadis, t.tvam, t.todam, t.tbill) == (
        322_625_000,
        1_062_500,
        321_562_500,
        32_156_250,
        0,
        353_718_750,
    )
    assert m.invoice_problems(_invoice(lines)) == []


def test_half_rials_round_up_and_either_rounding_is_accepted() -> None:
    ln = _line(am=Decimal("0.5"), fee=3, vra=10)  # prdis 1.5 → 2; vam 0.2 → 0
    assert (ln.prdis, ln.vam, ln.tsstam) == (2, 0, 2)
    # Another program may round down: 1 is 1.5 rounded too, so only the sums must follow.
    floor = ln.model_copy(update={"prdis": 1, "adis": 1, "tsstam": 1})
    assert m.line_problems(1, floor) == []
    off = ln.model_copy(update={"prdis": 3, "adis": 3, "tsstam": 3})
    assert _fields(m.line_problems(1, off)) == ["lines[1].prdis"]


amounts = st.integers(min_value=0, max_value=10**12)
quantities = st.decimals(
    min_value=Decimal("0.001"), max_value=Decimal(100_000), places=3, allow_nan=False
)
rates = st.sampled_from([Decimal(0), Decimal(9), Decimal(10), Decimal("7.5")])


@st.composite
def lines_st(draw: st.DrawFn) -> m.Line:
    am, fee, vra = draw(quantities), draw(amounts), draw(rates)
    prdis = m.rial(am * fee)
    dis = draw(st.integers(min_value=0, max_value=prdis))
    return _line(am=am, fee=fee, dis=dis, vra=vra, mu=draw(st.sampled_from(["1627", "164"])))


@settings(max_examples=300, deadline=None)
@given(st.lists(lines_st(), min_size=1, max_size=8))
def test_computed_invoices_pass_every_check_and_totals_are_sums(lines: list[m.Line]) -> None:
    inv = _invoice(lines)
    assert m.invoice_problems(inv) == []
    h = inv.header
    assert h.tadis == h.tprdis - h.tdis  # type: ignore[operator]
    assert h.tbill == h.tadis + h.tvam + h.todam  # type: ignore[operator]
    assert h.tbill == sum(ln.tsstam for ln in lines)  # type: ignore[misc]
    for ln in lines:
        assert ln.adis == ln.prdis - ln.dis  # type: ignore[operator]
        exact_vat = ln.adis * ln.vra / 100  # type: ignore[operator]
        assert abs(ln.vam - exact_vat) <= Decimal("0.5")  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(lines_st(), min_size=1, max_size=5),
    st.data(),
    st.sampled_from(["prdis", "adis", "vam", "tsstam"]),
    st.integers(min_value=2, max_value=10**6),
)
def test_a_line_amount_off_by_more_than_rounding_is_named(
    lines: list[m.Line], data: st.DataObject, key: str, delta: int
) -> None:
    n = data.draw(st.integers(min_value=1, max_value=len(lines)))
    bad = lines[n - 1].model_copy(update={key: getattr(lines[n - 1], key) + delta})
    body = [*lines[: n - 1], bad, *lines[n:]]
    problems = m.invoice_problems(_invoice(body, **m.totals(lines).as_dict()))
    assert f"lines[{n}].{key}" in _fields(problems)
    assert all(p.code in ("total-error", "constraint-error") for p in problems)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(lines_st(), min_size=1, max_size=5),
    st.sampled_from(["tprdis", "tdis", "tadis", "tvam", "todam", "tbill"]),
    st.integers(min_value=1, max_value=10**6),
)
def test_header_totals_that_are_not_the_sums_are_named(
    lines: list[m.Line], key: str, delta: int
) -> None:
    t = m.totals(lines).as_dict()
    inv = _invoice(lines, **{key: t[key] + delta})
    assert key in _fields(m.invoice_problems(inv))


@settings(max_examples=200, deadline=None)
@given(st.lists(lines_st(), min_size=1, max_size=5), st.data())
def test_a_return_never_holds_more_than_the_original(
    lines: list[m.Line], data: st.DataObject
) -> None:
    original = _invoice(lines)
    back = {
        n: data.draw(st.decimals(min_value=Decimal("0.001"), max_value=ln.am, places=3))
        for n, ln in enumerate(lines, 1)
        if data.draw(st.booleans())
    }
    rest = m.returned_lines(lines, back) if back else lines
    ret = _invoice(rest, ins=4, irtaxid=original.header.taxid)
    if not back:
        assert _fields(m.correction_problems(original, ret)) == ["am"]  # nothing returned
        return
    if not rest:  # everything came back: that is a void, and the operation says so
        assert all(back.get(n) == ln.am for n, ln in enumerate(lines, 1))
        return
    assert m.invoice_problems(ret) == []
    assert m.correction_problems(original, ret) == []
    assert sum(ln.am for ln in rest) < sum(ln.am for ln in lines)  # type: ignore[misc]


# --- refusals name the line and the field, in both languages ----------------------------------------


def test_wrong_unit_code_names_line_and_field() -> None:
    inv = _invoice([_line(), _line(mu="999")])
    (p,) = m.invoice_problems(inv)
    assert (p.code, p.field) == ("enum-error", "lines[2].mu")
    with pytest.raises(InputError) as e:
        m.check(inv)
    assert "ردیف 2" in e.value.fa and "واحد اندازه‌گیری" in e.value.fa
    assert "line 2" in e.value.en and "(mu)" in e.value.en
    assert e.value.location.field == "lines[2].mu"


def test_units_are_the_tax_systems_codes() -> None:
    assert m.unit_code("عدد") == "1627"
    assert m.unit_code("كيلوگرم") == "164"  # Arabic letters as a Windows keyboard types them
    assert m.unit_code("۱۶۳۷") == "1637"  # لیتر, typed with Persian digits
    assert m.unit_code("Device") == "1631"
    assert m.unit_code("ساعت") == "16103"
    assert m.unit_code("بسته") == "1628" and m.unit_code("متر") == "165"
    with pytest.raises(InputError) as e:
        m.unit_code("قابلمه", 3)
    assert e.value.location.field == "lines[3].mu"
    assert "intamedia" in m.UNITS_SOURCE


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ({"tob": 1, "tinb": None, "bid": "0012345678"}, "bid"),  # bad check digit
        ({"tob": 1, "tinb": None, "bid": None}, "bid"),  # type 1 needs the buyer's code
        ({"tob": 2, "tinb": "10203040509"}, "tinb"),  # bad legal ID
        ({"tob": 2, "tinb": None}, "tinb"),
        ({"tob": 3, "tinb": "123"}, "tinb"),  # civil partnership: 14 digits
        ({"tob": 4, "tinb": None}, "bid"),  # foreign: id or passport
        ({"tob": 5}, "tob"),  # a final consumer only on a type 2 invoice
        ({"tob": None}, "tob"),
        ({"tob": 7}, "tob"),
        ({"bpc": "12345"}, "bpc"),
        ({"inty": 3}, "inty"),
        ({"inp": 2}, "inp"),
        ({"ins": 2}, "irtaxid"),  # a corrective needs the reference
        ({"irtaxid": "A1B2C304FA900000000015"}, "irtaxid"),  # an original has none
        ({"tins": "123"}, "tins"),
        ({"tins": None}, "tins"),
        ({"inno": "0000000008"}, "inno"),
        ({"indatim": m.epoch_ms(datetime(2025, 12, 1, tzinfo=TEHRAN))}, "indatim"),
    ],
)
def test_header_refusals_name_the_field(header: dict[str, object], field: str) -> None:
    assert field in _fields(m.invoice_problems(_invoice([_line()], **header)))


def test_buyer_types_accepted_with_their_ids() -> None:
    assert m.invoice_problems(_invoice([_line()], tob=1, tinb=None, bid=BUYER_NATURAL)) == []
    assert m.invoice_problems(_invoice([_line()], tob=3, tinb="12345678901234")) == []
    assert m.invoice_problems(_invoice([_line()], tob=4, tinb=None, bpn="X1234567")) == []
    # type 2 may leave the buyer out, but what it gives is still checked
    assert m.invoice_problems(_invoice([_line()], inty=2, tob=None, tinb=None)) == []
    assert m.invoice_problems(_invoice([_line()], inty=2, tob=5, tinb=None)) == []
    bad = _invoice([_line()], inty=2, tob=1, tinb=None, bid="1111111111")
    assert _fields(m.invoice_problems(bad)) == ["bid"]


@pytest.mark.parametrize(
    ("settlement", "field"),
    [
        ({"setm": 1, "cap": 1000, "insp": 0}, "cap"),
        ({"setm": 2, "cap": 0, "insp": 5}, "insp"),
        ({"setm": 3, "cap": 2200, "insp": 0}, "insp"),
        ({"setm": 3, "cap": 1000, "insp": 1000}, "insp"),
        ({"setm": 4}, "setm"),
        ({"setm": None}, "setm"),
    ],
)
def test_settlement_parts_add_up_to_the_total(settlement: dict[str, object], field: str) -> None:
    inv = _invoice([_line()], **settlement)  # tbill 2200
    assert field in _fields(m.invoice_problems(inv))


def test_mixed_settlement_accepted() -> None:
    assert m.invoice_problems(_invoice([_line()], setm=3, cap=1200, insp=1000)) == []
    assert m.settle(m.Settlement.MIXED, 2200, 200) == (200, 2000)
    with pytest.raises(InputError) as e:
        m.settle(m.Settlement.MIXED, 2200)
    assert e.value.location.field == "cap"


def test_line_ranges() -> None:
    body = [
        _line(sstid="23300012345"),  # 11 digits
        _line(sstt=" "),
        _line().model_copy(update={"am": Decimal(0), "prdis": 0, "adis": 0, "vam": 0, "tsstam": 0}),
        _line(fee=100, dis=500),  # discount above the amount
        _line(vra=120),
    ]
    fields = _fields(m.invoice_problems(_invoice(body)))
    for f in ("lines[1].sstid", "lines[2].sstt", "lines[3].am", "lines[4].dis", "lines[5].vra"):
        assert f in fields
    assert "sstid" in _fields(m.invoice_problems(_invoice([])))  # no lines at all


# --- corrections -------------------------------------------------------------------------------------


def test_corrective_keeps_type_pattern_and_buyer() -> None:
    original = _invoice([_line()])
    ref = original.header.taxid
    ok = _invoice([_line(fee=900)], ins=2, irtaxid=ref)
    assert m.correction_problems(original, ok) == []
    for change, field in (
        ({"tinb": ids.make_legal_id("1020304060")}, "tinb"),
        ({"tob": 1, "bid": BUYER_NATURAL, "tinb": None}, "tob"),
        ({"inty": 2}, "inty"),
        ({"irtaxid": ids.make_tax_id("A1B2C3", ISSUED, 8)}, "irtaxid"),
    ):
        bad = _invoice([_line(fee=900)], ins=2, **{"irtaxid": ref, **change})
        assert field in _fields(m.correction_problems(original, bad)), change


def test_void_repeats_the_lines_and_a_void_is_final() -> None:
    lines = [_line(), _line(am=5)]
    original = _invoice(lines)
    ref = original.header.taxid
    assert m.correction_problems(original, _invoice(lines, ins=3, irtaxid=ref)) == []
    changed = _invoice([lines[0], _line(am=4)], ins=3, irtaxid=ref)
    assert _fields(m.correction_problems(original, changed)) == ["lines[2].am"]
    void = _invoice(lines, ins=3, irtaxid=ref)
    again = _invoice(lines, ins=2, irtaxid=void.header.taxid)
    assert "irtaxid" in _fields(m.correction_problems(void, again))


def test_return_refusals() -> None:
    lines = [_line(am=2), _line(am=5, sstid="2330001234574")]
    original = _invoice(lines)
    ref = original.header.taxid
    more = _invoice([_line(am=3), lines[1]], ins=4, irtaxid=ref)
    assert _fields(m.correction_problems(original, more)) == ["lines[1].am"]
    dearer = _invoice([_line(am=1, fee=2000)], ins=4, irtaxid=ref)
    assert _fields(m.correction_problems(original, dearer)) == ["lines[1].sstid"]
    with pytest.raises(InputError) as e:
        m.returned_lines(lines, {2: Decimal(6)})
    assert e.value.location.field == "lines[2].am"
    with pytest.raises(InputError):
        m.returned_lines(lines, {3: Decimal(1)})
    rest = m.returned_lines([_line(am=4, dis=400)], {1: Decimal(1)})
    assert (rest[0].am, rest[0].dis, rest[0].prdis) == (3, 300, 3000)  # discount shrinks in step


# --- what people type ----------------------------------------------------------------------------------


def test_line_text_and_lines_table() -> None:
    li = parse_line("۲۳۳۰۰۰۱۲۳۴۵۶۷|کابل|۱۲٫۵|متر|۸۵۰٬۰۰۰|10%|9", 1)
    assert (li.sstid, li.am, li.mu, li.fee, li.dis_percent, li.vra) == (
        SSTID,
        Decimal("12.5"),
        "165",
        850_000,
        Decimal(10),
        Decimal(9),
    )
    with pytest.raises(InputError) as e:
        parse_line("2330001234567|کابل|2|متر", 4)
    assert e.value.location.field == "lines[4]"
    with pytest.raises(InputError) as e:
        parse_line("2330001234567|کابل|2|متر|1000.5", 2)
    assert e.value.location.field == "lines[2].fee"  # a fraction of a Rial is refused, not cut
    rows = [["2330001234567", "پمپ", "2", "عدد", "1000", "", "10", "2200"], ["", "", "", ""]]
    (one,) = lines_from_table(
        ["sstid", "شرح", "تعداد", "واحد", "fee", "تخفیف", "vat", "tsstam"], rows
    )
    assert one.given == {"tsstam": 2200} and one.mu == "1627"


# --- the JSON shape -----------------------------------------------------------------------------------


def test_json_numbers_are_numbers_and_every_field_is_there() -> None:
    inv = _invoice([_line(am=Decimal("2.5"), fee=1000)])
    data = inv.to_json()
    assert set(data) == {"header", "body", "payments"}
    line = data["body"][0]
    assert line["am"] == 2.5 and isinstance(line["am"], float)
    assert line["vra"] == 10 and isinstance(line["vra"], int)
    assert isinstance(line["fee"], int) and line["mu"] == "1627"
    assert data["header"]["indatim"] == 1_761_978_600_000  # 1404/08/10 10:00 Tehran = 06:30 UTC
    assert set(data["header"]) == {f.key for f in m.HEADER_FIELDS}
    assert "intamedia" in m.SPEC_SOURCE
