"""Persian text hygiene: one spelling for what users type in many ways (SPEC §5).

Excel cells arrive with Arabic ي/ك (Arabic keyboards, old systems), invisible bidi marks
(copy-paste from web pages and Word), non-breaking spaces and Persian or Arabic-Indic
digits.  ``normalize`` gives one canonical spelling so equal values compare equal;
``name_key`` goes further and is only for *comparing* names (duplicate detection).
"""

from __future__ import annotations

import re
import unicodedata

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
    return any(c in _ARABIC_TO_PERSIAN for c in ("" if s is None else str(s)))


def has_mixed_digits(s: object) -> bool:
    """True if the text mixes digit scripts (ASCII, Persian, Arabic-Indic) — usually a typing slip."""
    text = "" if s is None else str(s)
    scripts = {
        "ascii" if "0" <= c <= "9" else "fa" if c in _PERSIAN_DIGITS else "ar"
        for c in text
        if c.isdigit() and ("0" <= c <= "9" or c in _PERSIAN_DIGITS or c in _ARABIC_DIGITS)
    }
    return len(scripts) > 1
