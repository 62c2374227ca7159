"""Iranian identifiers (SPEC §5), including what the check digits can and cannot catch."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crm_xl.domain.errors import InputError
from crm_xl.domain.ids import (
    check_postal_code,
    is_economic_code,
    is_email,
    is_legal_id,
    is_national_code,
    make_legal_id,
    make_national_code,
    normalize_mobile,
    normalize_national_code,
    normalize_phone,
    normalize_website,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def _nc_r(code: str) -> int:
    return sum(int(d) * (10 - i) for i, d in enumerate(code[:9])) % 11


def _legal_r(code: str) -> int:
    k = int(code[9]) + 2
    w = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)
    return sum((int(d) + k) * x for d, x in zip(code[:10], w, strict=True)) % 11


nine = st.text(alphabet="0123456789", min_size=9, max_size=9).filter(
    lambda s: s[3:9] != "000000" and len(set(s)) > 1
)
ten = st.text(alphabet="0123456789", min_size=10, max_size=10)


# --- national code ----------------------------------------------------------------------


def test_national_code_known_values() -> None:
    assert is_national_code("0499370899")
    assert is_national_code("۰۴۹۹۳۷۰۸۹۹")
    assert is_national_code("049-937089-9")
    assert not is_national_code("0499370898")
    assert not is_national_code("049937089")  # 9 digits
    assert not is_national_code(None)


def test_national_code_placeholders_rejected() -> None:
    # All-same codes pass the checksum (s = 54·d ≡ −d mod 11) but are placeholders.
    for d in "123456789":
        code = d * 10
        assert int(code[9]) == (lambda r: r if r < 2 else 11 - r)(_nc_r(code))
        assert not is_national_code(code)
    # Digits 4-9 (zero-based 3..8) all zero are invalid even with a right check digit.
    code = "123000000" + str((lambda r: r if r < 2 else 11 - r)(_nc_r("1230000000")))
    assert not is_national_code(code)


def test_normalize_national_code_pads_excel_numbers() -> None:
    assert normalize_national_code(499370899) == "0499370899"
    with pytest.raises(InputError, match="10"):
        normalize_national_code("12345")
    with pytest.raises(InputError, match="check digit"):
        normalize_national_code("0499370898")


@settings(max_examples=300, deadline=None)
@given(nine)
def test_generated_national_codes_validate(first9: str) -> None:
    assert is_national_code(make_national_code(first9))


@settings(max_examples=300, deadline=None)
@given(nine, st.integers(0, 9), digits)
def test_national_code_single_digit_change(first9: str, pos: int, new: str) -> None:
    """Every single-digit change is caught EXCEPT one moving r between 1 and 10.

    r → check maps both r = 1 and r = 10 to 1, so the checksum cannot see that move.
    """
    code = make_national_code(first9)
    assume(code[pos] != new)
    changed = code[:pos] + new + code[pos + 1 :]
    assume(changed[3:9] != "000000" and len(set(changed)) > 1)
    blind_spot = pos < 9 and {_nc_r(code), _nc_r(changed)} == {1, 10}
    assert is_national_code(changed) is blind_spot


def test_national_code_blind_spot_exists() -> None:
    # 1000000011: s = 10 + 2·1 = 12, r = 1 → check 1.  First digit 1 → 3: s = 32, r = 10 → check 1.
    code = make_national_code("100000001")
    assert code == "1000000011"
    assert is_national_code("3000000011")


# --- legal ID ---------------------------------------------------------------------------


def test_legal_id_known_values() -> None:
    assert is_legal_id("10100302746")
    assert not is_legal_id("10100302745")
    assert not is_legal_id("1010030274")


@settings(max_examples=300, deadline=None)
@given(ten)
def test_generated_legal_ids_validate(first10: str) -> None:
    assert is_legal_id(make_legal_id(first10))


@settings(max_examples=300, deadline=None)
@given(ten, st.integers(0, 10), digits)
def test_legal_id_single_digit_change(first10: str, pos: int, new: str) -> None:
    """Caught EXCEPT when the change moves r between 0 and 10 (the rule "10 → 0" merges them).

    Changing d[9] also changes k, so s moves by Δ·(ΣW + W[9]) ≡ 5Δ (mod 11): still nonzero.
    """
    code = make_legal_id(first10)
    assume(code[pos] != new)
    changed = code[:pos] + new + code[pos + 1 :]
    blind_spot = pos < 10 and {_legal_r(code), _legal_r(changed)} == {0, 10}
    assert is_legal_id(changed) is blind_spot


def test_legal_id_blind_spot_exists() -> None:
    found = None
    for n in range(10**4):
        code = make_legal_id(f"{n:010d}")
        for pos in range(10):
            for d in "0123456789":
                changed = code[:pos] + d + code[pos + 1 :]
                if changed != code and is_legal_id(changed):
                    found = (code, changed)
                    break
            if found:
                break
        if found:
            break
    assert found is not None


def test_economic_code() -> None:
    assert is_economic_code("10100302746")
    assert is_economic_code("10100302746", "legal")
    assert not is_economic_code("10100302746", "natural")
    assert not is_economic_code("10100302745")
    assert is_economic_code("41111111111111", "natural")
    assert not is_economic_code("41111111111111", "legal")
    assert not is_economic_code("123")


# --- postal code, phones, email, website -------------------------------------------------


def test_postal_code_warnings() -> None:
    assert check_postal_code("1315763411") == []
    assert check_postal_code("۱۳۱۵۷-۶۳۴۱۱") == []
    assert any("10 digits" in w for w in check_postal_code("12345"))
    assert any("0 or 2" in w for w in check_postal_code("1025763411"))
    assert any("placeholder" in w for w in check_postal_code("1111111111"))


@pytest.mark.parametrize(
    "raw",
    [
        "09123456789",
        "+989123456789",
        "00989123456789",
        "989123456789",
        "9123456789",
        "۰۹۱۲ ۳۴۵ ۶۷۸۹",
        "0912-345-6789",
        "+98 (912) 345 6789",
        9123456789,
    ],
)
def test_mobile_forms(raw: object) -> None:
    assert normalize_mobile(raw) == "09123456789"


@pytest.mark.parametrize(
    "raw", ["0212345678", "02112345678", "0912345678", "abc", "", "+1 912 345 6789"]
)
def test_mobile_rejects(raw: str) -> None:
    with pytest.raises(InputError) as e:
        normalize_mobile(raw)
    assert "09" in e.value.en


def test_phone() -> None:
    assert normalize_phone("021-12345678") == "02112345678"
    assert normalize_phone("+98 21 1234 5678") == "02112345678"
    assert normalize_phone("00983112345678") == "03112345678"
    assert normalize_phone(2112345678) == "02112345678"
    with pytest.raises(InputError, match="area code"):
        normalize_phone("88776655")
    with pytest.raises(InputError, match="mobile"):
        normalize_phone("09123456789")
    assert normalize_phone("09123456789", allow_mobile=True) == "09123456789"
    with pytest.raises(InputError):
        normalize_phone("0012345678")


def test_email_and_website() -> None:
    assert is_email("a.b@example.co.ir")
    assert not is_email("a@b")
    assert not is_email("a b@example.ir")
    assert not is_email("a..b@example.ir")
    assert normalize_website("WWW.Example.IR/") == "www.example.ir"
    assert normalize_website("HTTPS://Example.ir/Path/") == "https://example.ir/Path"
    with pytest.raises(InputError):
        normalize_website("not a site")
