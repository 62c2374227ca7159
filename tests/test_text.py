"""Text normalisation (SPEC §5): one spelling for what users type in many ways."""

from hypothesis import given, settings
from hypothesis import strategies as st

from crm_xl.domain.text import (
    has_arabic_letters,
    has_mixed_digits,
    name_key,
    normalize,
    normalize_numeric,
    to_ascii_digits,
)

# Characters that matter here: Persian/Arabic letters, digits of three scripts, every kind of
# space, ZWNJ and the bidi marks.
_ALPHABET = st.sampled_from(
    list("ابپتکیيكىة آأۀ ")
    + list("0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")
    + [
        "\u200c",
        "\u200e",
        "\u200f",
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202e",
        "\xa0",
        "\t",
        "\n",
        "-",
    ]
)
persianish = st.text(alphabet=_ALPHABET, max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.one_of(persianish, st.text(max_size=30)))
def test_normalize_is_idempotent(s: str) -> None:
    once = normalize(s)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(persianish)
def test_normalize_leaves_no_arabic_letters_marks_or_loose_zwnj(s: str) -> None:
    out = normalize(s)
    assert not has_arabic_letters(out)
    assert not any(c in out for c in "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\xa0\t\n")
    assert "  " not in out and "\u200c\u200c" not in out
    assert " \u200c" not in out and "\u200c " not in out
    assert out == out.strip(" \u200c")


def test_normalize_examples() -> None:
    assert normalize(None) == ""
    assert normalize("  علي\xa0 كريمي  ") == "علی کریمی"
    assert normalize("\u200fمی\u200c\u200cخواهم\u200e") == "می\u200cخواهم"  # ZWNJ kept, once
    assert normalize("پارس \u200c تجارت") == "پارس تجارت"  # ZWNJ beside a space is noise
    assert normalize("مصطفى") == "مصطفی"
    assert normalize(12) == "12"


def test_digits() -> None:
    assert to_ascii_digits("۱۴۰۳/۰۷/۱۵") == "1403/07/15"
    assert to_ascii_digits("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert to_ascii_digits(None) == ""
    assert normalize_numeric("۰۹۱۲-۳۴۵ ۶۷۸۹") == "09123456789"
    assert normalize_numeric("1,250,000") == "1250000"
    assert normalize_numeric("۱٬۲۵۰٬۰۰۰") == "1250000"
    assert normalize_numeric("۱۲٫۵") == "12.5"


def test_name_key_compares_spellings() -> None:
    assert name_key("شرکت  پارس‌ تجارت") == name_key("شركت پارس تجارت.")
    assert name_key("آرش") == name_key("ارش")
    assert name_key("Pars Co.") == name_key("pars co")
    assert name_key("علی") != name_key("عالی")


@settings(max_examples=200, deadline=None)
@given(persianish)
def test_name_key_ignores_normalisation(s: str) -> None:
    assert name_key(s) == name_key(normalize(s))


def test_hygiene_checks() -> None:
    assert has_arabic_letters("علي")
    assert not has_arabic_letters("علی")
    assert has_mixed_digits("۱۴۰۳/07/15")
    assert not has_mixed_digits("۱۴۰۳/۰۷/۱۵")
    assert not has_mixed_digits("1403/07/15")
    assert not has_mixed_digits(None)
