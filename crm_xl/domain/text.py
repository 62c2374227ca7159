"""Persian text hygiene: one spelling for what users type in many ways (SPEC §5).

Excel cells arrive with Arabic ي/ك (Arabic keyboards, old systems), invisible bidi marks
(copy-paste from web pages and Word), non-breaking spaces and Persian or Arabic-Indic
digits.  ``normalize`` gives one canonical spelling so equal values compare equal;
``name_key`` goes further and is only for *comparing* names (duplicate detection).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ZWNJ = "\u200c"

# Arabic letters a Persian keyboard would have typed differently.
_ARABIC_TO_PERSIAN = {"ي": "ی", "ك": "ک", "ى": "ی"}
# Invisible characters that only change rendering: LRM/RLM, the embeddings and overrides
# (U+202A-E), the isolates (U+2066-9), zero-width space and the BOM.  ZWNJ is *not* here:
# it is part of Persian spelling (می‌خواهم).
_INVISIBLE = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\ufeff"
_TEXT_TABLE = str.maketrans({**_ARABIC_TO_PERSIAN, **dict.fromkeys(_INVISIBLE, "")})

_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_DIGIT_TABLE = str.maketrans(
    {
        **{c: str(i) for i, c in enumerate(_PERSIAN_DIGITS)},
        **{c: str(i) for i, c in enumerate(_ARABIC_DIGITS)},
    }
)
_TO_PERSIAN_TABLE = str.maketrans("0123456789", _PERSIAN_DIGITS)
#: Text ``normalize`` would change letters of (Arabic ي/ك/ى), and non-ASCII digits: the
#: searches validate's hygiene warnings run over whole columns.
ARABIC_LETTERS = re.compile(f"[{''.join(_ARABIC_TO_PERSIAN)}]")
NON_ASCII_DIGITS = re.compile(f"[{_PERSIAN_DIGITS}{_ARABIC_DIGITS}]")

# A run of whitespace and/or ZWNJ: becomes one space if it holds any whitespace, else one ZWNJ.
_GAP = re.compile(r"[\s\u200c]+")
# Separators people put inside numbers: spaces, dashes, commas (Latin, Arabic ، and Persian ٬).
_NUMERIC_SEPARATORS = re.compile(r"[\s\u200c\-\u2010-\u2015\u2212,،٬]+")


def _gap(m: re.Match[str]) -> str:
    return ZWNJ if m.group().strip(ZWNJ) == "" else " "


def normalize(s: object) -> str:
    """Canonical text: Persian ی/ک, no bidi marks, single spaces, tidy ZWNJ; ``None`` → "".

    Idempotent: ``normalize(normalize(s)) == normalize(s)``.  Non-strings are converted
    with ``str`` (an Excel cell may hold a number where text was expected).
    """
    if s is None:
        return ""
    text = (s if isinstance(s, str) else str(s)).translate(_TEXT_TABLE)
    text = _GAP.sub(_gap, text)
    return text.strip(" " + ZWNJ)


def to_persian_digits(s: object) -> str:
    """ASCII digits 0-9 as Persian digits (۰-۹); everything else unchanged."""
    return str(s).translate(_TO_PERSIAN_TABLE)


def to_ascii_digits(s: object) -> str:
    """Persian (۰-۹) and Arabic-Indic (٠-٩) digits to ASCII 0-9; everything else unchanged."""
    if s is None:
        return ""
    return (s if isinstance(s, str) else str(s)).translate(_DIGIT_TABLE)


def normalize_numeric(s: object) -> str:
    """Text of a numeric value: ASCII digits, no spaces/dashes/thousands separators.

    For identifiers and amounts typed as "۰۹۱۲-۳۴۵ ۶۷۸۹" or "1,250,000".  The Persian
    decimal separator ٫ becomes "."; anything else (letters, "+", "/") is kept so the
    caller can reject it with a precise reason.
    """
    text = to_ascii_digits(normalize(s)).replace("٫", ".")
    return _NUMERIC_SEPARATORS.sub("", text)


def name_key(s: object) -> str:
    """Key for comparing names: ``normalize``, fold diacritics and case, drop ZWNJ, spaces, punctuation.

    "شرکت  پارس‌ تجارت" and "شركت پارس تجارت." get the same key.  Hamza and madda are
    folded (آ → ا, ۀ → ه, أ → ا) because people type both; ة → ه for the same reason.
    Only for comparison: never store a key in place of the name.
    """
    text = unicodedata.normalize("NFKD", normalize(s).replace("ة", "ه"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = to_ascii_digits(normalize(text)).casefold()
    # Keep letters and digits only (tatweel ـ is a modifier letter, drop it too).
    return "".join(c for c in text if c.isalnum() and c != "ـ")


def has_arabic_letters(s: object) -> bool:
    """True if the text holds Arabic ي/ك/ى that ``normalize`` would replace (a hygiene warning)."""
    return ARABIC_LETTERS.search("" if s is None else str(s)) is not None


def has_mixed_digits(s: object) -> bool:
    """True if the text mixes digit scripts (ASCII, Persian, Arabic-Indic) — usually a typing slip."""
    text = "" if s is None else str(s)
    scripts = {
        "ascii" if "0" <= c <= "9" else "fa" if c in _PERSIAN_DIGITS else "ar"
        for c in text
        if c.isdigit() and ("0" <= c <= "9" or c in _PERSIAN_DIGITS or c in _ARABIC_DIGITS)
    }
    return len(scripts) > 1


def as_text(v: object) -> str:
    """A cell value as text; integral floats without '.0' (Excel turns 0912… into a number)."""
    if v.__class__ is float and v.is_integer():  # type: ignore[union-attr]
        return str(int(v))  # type: ignore[call-overload]
    return "" if v is None else str(v)


# --- a fast, exact name_key ------------------------------------------------------------------
# text.name_key costs ~20 µs (NFKD per call); for 100k names that is 2 s. name_key works
# character by character on the characters below, so a translation table built *from*
# name_key itself gives the same key; any other character falls back to name_key.

_DOMAIN = "".join(
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0x0600, 0x0700)]
    + ["\u200c", "\u00a0", "\u200e", "\u200f", "«", "»"]
)


@lru_cache(maxsize=1)
def _name_table() -> tuple[dict[int, str], re.Pattern[str]]:
    table = {ord(c): name_key(f"x{c}x")[1:-1] for c in _DOMAIN}
    outside = re.compile("[^\n" + re.escape(_DOMAIN) + "]")  # \n: the bulk separator
    return table, outside


def fast_name_key(s: object) -> str:
    text = as_text(s)
    table, outside = _name_table()
    if outside.search(text):
        return name_key(text)
    return text.translate(table).casefold()


def fast_name_keys(values: list[object]) -> list[str]:
    """``name_key`` of many names: one translate over the joined column when it can."""
    texts = [as_text(v).replace("\n", " ") for v in values]
    table, outside = _name_table()
    joined = "\n".join(texts)
    if outside.search(joined):
        return [fast_name_key(t) for t in texts]
    return joined.translate(table).casefold().split("\n")
