"""Names of customer folders (R12, SPEC §7): valid on Windows, Linux and macOS, Persian kept.

Folder names come from what users type (Persian company names with «», slashes, dots at
the end), and the same folder is opened from Windows, Linux and macOS shares, so every
name is made valid on all of them.  Length budget: a component is at most ``max_len``
characters (default 80) *and* 255 UTF-8 bytes (Linux) *and* 255 UTF-16 units (NTFS).  With
``customers/<number> - <name>/F-31-08-01 ….xlsx`` that stays under Windows' 260-character
MAX_PATH as long as the workspace root itself is shorter than about 80 characters.
"""

from __future__ import annotations

import re
import unicodedata

from crm_xl.domain.text import normalize

__all__ = ["MAX_COMPONENT_BYTES", "ZWNJ", "customer_folder_name", "safe_name"]

ZWNJ = "\u200c"
MAX_COMPONENT_BYTES = 255
# Reserved on Windows for the bare name and with any extension (``CON.txt``), any case.
# The superscript digits are reserved too since Windows treats them as 1-3.
_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{p}{d}" for p in ("COM", "LPT") for d in "123456789¹²³"]
)
# Reserved characters get look-alike substitutes so the name still reads naturally.
_RESERVED = str.maketrans('/\\|:"<>?*', "----'()__")
_STRIP = " ." + ZWNJ  # Windows drops trailing dots/spaces; leading dots hide folders on Linux


def _truncate(text: str, max_len: int) -> str:
    text = text[:max_len]
    while (
        len(text.encode("utf-8")) > MAX_COMPONENT_BYTES
        or len(text.encode("utf-16-le")) > 2 * MAX_COMPONENT_BYTES
    ):
        text = text[:-1]
    return text.strip(_STRIP)


def _is_device_name(text: str) -> bool:
    return text.split(".", 1)[0].rstrip(" ").upper() in _DEVICE_NAMES


def _clean(text: str, max_len: int) -> str:
    """``safe_name`` without the fallback: may return ""."""
    text = unicodedata.normalize("NFC", str(text))
    # Surrogates cannot be encoded at all; control characters (NUL, newline, tab) are illegal.
    text = "".join(
        " " if unicodedata.category(c) == "Cc" else c
        for c in text
        if unicodedata.category(c) != "Cs"
    )
    text = normalize(text).translate(_RESERVED)
    text = re.sub(r"\s+", " ", text).strip(_STRIP)
    text = _truncate(text, max_len)
    if text and _is_device_name(text):
        base, dot, rest = text.partition(".")
        base = base.rstrip(" ")
        fixed = _truncate(f"{base}_{dot}{rest}", max_len)
        if not fixed.startswith(f"{base}_"):  # no room for the "_": shorten the base instead
            fixed = _truncate(base, max_len - 1) + "_"
        text = fixed
    return text


def safe_name(text: str, *, max_len: int = 80) -> str:
    """A single path component valid on Windows, Linux and macOS, keeping Persian text.

    Arabic ي/ك become ی/ک, whitespace (including newlines) collapses to one space, control
    characters go, ``<>:"/\\|?*`` become look-alikes (``/`` → ``-``), leading/trailing dots,
    spaces and ZWNJ go, device names get a ``_`` (``CON`` → ``CON_``, ``con.txt`` →
    ``con_.txt``), and the result is cut to ``max_len`` characters and 255 bytes.  Never
    empty, ``.`` or ``..`` (falls back to ``_``).  Idempotent.
    """
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    return _clean(text, max_len) or "_"


def customer_folder_name(number: str, name: str) -> str:
    """``"<number> - <name>"`` made safe; just ``"<number>"`` when the name is blank."""
    num = safe_name(number, max_len=40)
    rest = _clean(name, max(1, 80 - len(num) - 3))
    return f"{num} - {rest}" if rest else num
