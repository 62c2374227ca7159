"""Iranian identifiers and contact numbers (SPEC §5) and the INTA "Moadian" tax id (SPEC §4).

Validators return ``bool`` (``is_*``) or warnings (``check_*``); normalisers return the
canonical text or raise :class:`~crm_xl.errors.InputError` with a Persian and English reason.
All of them accept Persian/Arabic digits, spaces and dashes.

Check-digit coverage (proved in tests/test_ids.py, not assumed):

* National code: the map r → check digit sends both r = 1 and r = 10 to 1, so a single
  changed digit among the first nine goes unnoticed exactly when it moves r between 1 and
  10.  Every other single-digit change is caught.
* Legal ID: "r = 10 → 0" collides with r = 0 the same way; a single change is missed exactly
  when it moves r between 0 and 10.
* Tax id: Verhoeff catches every single *decimal* digit change of the control string, but a
  changed hex character can alter several decimal digits, so a few single-character changes
  slip through (see tests/test_taxid.py for the measured rate and a counterexample).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import mul

from crm_xl.domain.dates import TEHRAN
from crm_xl.domain.enums import PersonType
from crm_xl.domain.errors import InputError
from crm_xl.domain.text import normalize, normalize_numeric


def digits_only(s: object) -> str:
    """ASCII digits of ``s`` without separators ('' if anything else remains)."""
    if isinstance(s, bool):
        return ""
    text = normalize_numeric(s)
    return text if text.isascii() and text.isdigit() else ""


def _err(fa: str, en: str, value: object, code: str = "constraint-error") -> InputError:
    return InputError(f"«{value}»: {fa}", f"'{value}': {en}", code=code)


# --- national code (کد ملی) ---------------------------------------------------------------


#: Weights of the national code's first nine digits (SPEC §5); validate's bulk check uses them.
NATIONAL_CODE_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def _national_check(first9: str) -> int:
    r = sum(map(mul, map(int, first9), NATIONAL_CODE_WEIGHTS)) % 11
    return r if r < 2 else 11 - r


def national_code_digits_ok(d: str) -> bool:
    """The national-code rule on exactly 10 ASCII digits (the caller has cleaned them)."""
    if len(d) != 10 or d[3:9] == "000000" or d.count(d[0]) == 10:
        return False
    return _national_check(d[:9]) == ord(d[9]) - 48


def is_national_code(s: object) -> bool:
    """10 digits, SPEC §5 checksum; digits 4-9 (zero-based 3..8) all zero and all-same codes rejected.

    All-same codes (1111111111 … 9999999999) *pass* the checksum (s = 54·d ≡ −d mod 11),
    but they are the placeholders people type to get past a form, so they are rejected.
    """
    return national_code_digits_ok(digits_only(s))


def normalize_national_code(s: object) -> str:
    """Canonical 10-digit national code; 8 or 9 digits are left-padded (Excel drops leading zeros)."""
    d = digits_only(s)
    if len(d) in (8, 9):
        d = d.zfill(10)
    if len(d) != 10:
        raise _err("کد ملی باید ۱۰ رقم باشد", "a national code has 10 digits", s)
    if not is_national_code(d):
        raise _err("کد ملی نامعتبر است (رقم کنترل)", "invalid national code (check digit)", s)
    return d


def make_national_code(first9: str) -> str:
    """The valid national code starting with these 9 digits (for tests and demo data)."""
    d = digits_only(first9)
    if len(d) != 9:
        raise _err("۹ رقم لازم است", "9 digits needed", first9)
    code = d + str(_national_check(d))
    if not is_national_code(code):
        raise _err(
            "این ارقام کد ملی معتبر نمی‌سازند", "these digits cannot make a valid code", first9
        )
    return code


# --- legal national ID (شناسه ملی) ---------------------------------------------------------

#: Weights of the legal ID's first ten digits (SPEC §5); validate's bulk check uses them.
LEGAL_ID_WEIGHTS = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)


def _legal_check(first10: str) -> int:
    k = int(first10[9]) + 2
    r = sum((int(d) + k) * w for d, w in zip(first10, LEGAL_ID_WEIGHTS, strict=True)) % 11
    return 0 if r == 10 else r


def is_legal_id(s: object) -> bool:
    """11 digits with the SPEC §5 check digit (no other rule: the spec gives none)."""
    d = digits_only(s)
    return len(d) == 11 and _legal_check(d[:10]) == int(d[10])


def make_legal_id(first10: str) -> str:
    """The valid legal ID starting with these 10 digits (for tests and demo data)."""
    d = digits_only(first10)
    if len(d) != 10:
        raise _err("۱۰ رقم لازم است", "10 digits needed", first10)
    return d + str(_legal_check(d))


def is_economic_code(s: object, person_type: PersonType | str | None = None) -> bool:
    """11 digits (legal: a valid legal ID) or 14 digits (natural person, no checksum known)."""
    d = digits_only(s)
    kind = PersonType.parse(person_type) if person_type is not None else None
    if len(d) == 11:
        return kind is not PersonType.NATURAL and is_legal_id(d)
    if len(d) == 14:
        return kind is not PersonType.LEGAL
    return False


# --- postal code ------------------------------------------------------------------------


def check_postal_code(s: object) -> list[str]:
    """Warnings ("fa / en") for a postal code; empty list when it looks right.

    No checksum exists.  Heuristics (documented practice of the Iran Post numbering): the
    first five digits never contain 0 or 2, and a code of one repeated digit is a placeholder.
    A wrong length is reported here too; ``models`` turns that one into an error.
    """
    d = digits_only(s)
    if len(d) != 10:
        return [f"کد پستی «{s}» باید ۱۰ رقم باشد / postal code '{s}' must have 10 digits"]
    warnings = []
    if "0" in d[:5] or "2" in d[:5]:
        warnings.append(
            f"کد پستی «{d}»: پنج رقم اول صفر یا ۲ ندارد / postal code '{d}': "
            "the first five digits never contain 0 or 2"
        )
    if len(set(d)) == 1:
        warnings.append(
            f"کد پستی «{d}» ساختگی به نظر می‌رسد / postal code '{d}' looks like a placeholder"
        )
    return warnings


# --- phones -----------------------------------------------------------------------------


def _phone_digits(s: object) -> str:
    text = normalize_numeric(s).replace("(", "").replace(")", "")
    if text.startswith("+"):
        text = "00" + text[1:]
    return text if text.isascii() and text.isdigit() else ""


def normalize_mobile(s: object) -> str:
    """09XXXXXXXXX from +98 / 0098 / 98 / 0 / bare 9XXXXXXXXX (Excel drops the leading 0)."""
    d = _phone_digits(s)
    for prefix in ("0098", "98", "0"):
        if d.startswith(prefix) and len(d) == len(prefix) + 10:
            d = d[len(prefix) :]
            break
    if len(d) == 10 and d.startswith("9"):
        return "0" + d
    raise _err(
        "شماره همراه باید به شکل ۰۹xxxxxxxxx باشد",
        "a mobile number looks like 09xxxxxxxxx",
        s,
        code="type-error",
    )


def normalize_phone(s: object, *, allow_mobile: bool = False) -> str:
    """Landline with area code: 0 + 2-digit area code + 8 digits, e.g. 02112345678.

    Accepts +98 / 0098 / 98 prefixes and the 10-digit form Excel leaves after dropping the
    leading 0.  A number without area code is rejected (it cannot be dialled from another
    province).  A mobile number is rejected unless ``allow_mobile`` (then normalised as mobile).
    """
    d = _phone_digits(s)
    for prefix in ("0098", "98", "0"):
        if d.startswith(prefix) and len(d) == len(prefix) + 10:
            d = d[len(prefix) :]
            break
    if len(d) == 10 and d[0] == "9":
        if allow_mobile:
            return "0" + d
        raise _err(
            "این شماره همراه است؛ در ستون همراه بنویسید",
            "this is a mobile number; put it in the mobile field",
            s,
        )
    if len(d) == 10 and d[0] in "12345678":
        return "0" + d
    if len(d) == 8:
        raise _err("پیش‌شماره شهر لازم است (مثل ۰۲۱)", "the area code is missing (e.g. 021)", s)
    raise _err(
        "تلفن ثابت باید به شکل ۰۲۱xxxxxxxx باشد",
        "a landline looks like 021xxxxxxxx",
        s,
        code="type-error",
    )


# --- email and website ------------------------------------------------------------------

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_HOST = re.compile(r"^([a-z0-9-]+\.)+[a-z]{2,}(:\d+)?$")


def is_email(s: object) -> bool:
    """A plain address (local@domain.tld); no display names, no spaces."""
    text = normalize(s)
    return bool(_EMAIL.match(text)) and ".." not in text


def normalize_website(s: object) -> str:
    """Website as typed, with the host lower-cased and a trailing "/" dropped; no scheme added.

    Raises InputError when there is no dotted host name.
    """
    text = normalize(s).replace(" ", "")
    m = re.match(r"^(?P<scheme>https?://)?(?P<host>[^/?#]+)(?P<rest>.*)$", text, re.IGNORECASE)
    host = m.group("host").lower() if m else ""
    if not m or not _HOST.match(host):
        raise _err("نشانی وب‌سایت نامعتبر است", "not a website address", s, code="type-error")
    scheme = (m.group("scheme") or "").lower()
    rest = m.group("rest")
    return f"{scheme}{host}{rest.rstrip('/')}"


# --- Verhoeff ---------------------------------------------------------------------------

_VD = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VP = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VINV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def _verhoeff_c(digits: str, offset: int) -> int:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VD[c][_VP[(i + offset) % 8][int(ch)]]
    return c


def verhoeff_digit(digits: str) -> str:
    """Verhoeff check digit for a decimal string ("236" → "3")."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"Verhoeff needs decimal digits, got {digits!r}")
    return str(_VINV[_verhoeff_c(digits, 1)])


def verhoeff_ok(digits: str) -> bool:
    """True if the last digit is the Verhoeff check digit of the rest ("2363" → True)."""
    return digits.isascii() and digits.isdigit() and _verhoeff_c(digits, 0) == 0


# --- tax id (شماره منحصر به فرد مالیاتی) -------------------------------------------------

TAX_ID_LENGTH = 22
MAX_SERIAL = 16**10 - 1
_EPOCH = date(1970, 1, 1)
_MEMORY_ID = re.compile(r"^[A-Z0-9]{6}$")


@dataclass(frozen=True)
class TaxIdParts:
    """A parsed tax id: memory id, UTC issue day, internal serial (``inno`` is its hex form)."""

    memory_id: str
    day: date
    day_number: int
    serial: int

    @property
    def inno(self) -> str:
        return tax_inno(self.serial)


def _check_memory_id(memory_id: str) -> str:
    if not _MEMORY_ID.match(memory_id):
        raise _err(
            "شناسه حافظه مالیاتی باید ۶ نویسه از A-Z و 0-9 (حروف بزرگ) باشد",
            "the fiscal memory id is 6 characters A-Z, 0-9 (upper case)",
            memory_id,
        )
    return memory_id


def _check_serial(serial: int) -> int:
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= MAX_SERIAL:
        raise _err(
            f"سریال داخلی باید عدد صحیح ۱ تا {MAX_SERIAL} باشد",
            f"the internal serial must be an integer 1..{MAX_SERIAL}",
            serial,
        )
    return serial


def tax_inno(serial: int) -> str:
    """The internal serial as the tax id's 10 upper-case hex characters."""
    return f"{_check_serial(serial):010X}"


def _control_string(memory_id: str, day_number: int, serial: int) -> str:
    # Letters become their ASCII codes ("A" → "65"), digits stay; then day and serial in decimal.
    mem = "".join(str(ord(c)) if c.isalpha() else c for c in memory_id)
    return f"{mem}{day_number:06d}{serial:012d}"


def tax_day_number(issued_at: datetime) -> int:
    """Days since 1970-01-01 UTC of the issue instant (naive datetimes are Tehran time)."""
    if issued_at.tzinfo is None:
        issued_at = issued_at.replace(tzinfo=TEHRAN)
    return (issued_at.astimezone(UTC).date() - _EPOCH).days


def make_tax_id(memory_id: str, issued_at: datetime, serial: int) -> str:
    """22-character tax id: memory id + hex day (5) + hex serial (10) + Verhoeff digit."""
    mem = _check_memory_id(memory_id)
    _check_serial(serial)
    day = tax_day_number(issued_at)
    if not 0 <= day < 16**5:
        raise _err("تاریخ صدور خارج از بازه است", "issue date out of range", issued_at)
    check = verhoeff_digit(_control_string(mem, day, serial))
    return f"{mem}{day:05X}{serial:010X}{check}"


def parse_tax_id(s: object) -> TaxIdParts:
    """Split and verify a tax id; InputError naming the reason (length, characters, check digit)."""
    text = normalize_numeric(s).upper()
    if len(text) != TAX_ID_LENGTH:
        raise _err(
            f"شماره مالیاتی باید {TAX_ID_LENGTH} نویسه باشد (اکنون {len(text)})",
            f"a tax id has {TAX_ID_LENGTH} characters (got {len(text)})",
            s,
        )
    mem = _check_memory_id(text[:6])
    day_hex, serial_hex, check = text[6:11], text[11:21], text[21]
    if not re.fullmatch(r"[0-9A-F]{15}", day_hex + serial_hex):
        raise _err(
            "نویسه‌های ۷ تا ۲۱ باید هگزادسیمال (0-9، A-F) باشند",
            "characters 7-21 must be hexadecimal (0-9, A-F)",
            s,
        )
    if not check.isdigit():
        raise _err("رقم کنترل آخر باید عدد باشد", "the last character is a check digit 0-9", s)
    day_number, serial = int(day_hex, 16), int(serial_hex, 16)
    if serial == 0:
        raise _err("سریال داخلی صفر مجاز نیست", "the internal serial cannot be 0", s)
    if verhoeff_digit(_control_string(mem, day_number, serial)) != check:
        raise _err("رقم کنترل شماره مالیاتی نادرست است", "the tax id check digit is wrong", s)
    return TaxIdParts(mem, _EPOCH + timedelta(days=day_number), day_number, serial)


def is_tax_id(s: object) -> bool:
    """True if ``s`` is a well-formed tax id with a correct Verhoeff check digit."""
    try:
        parse_tax_id(s)
    except InputError:
        return False
    return True


__all__ = [
    "MAX_SERIAL",
    "TaxIdParts",
    "check_postal_code",
    "is_economic_code",
    "is_email",
    "is_legal_id",
    "is_national_code",
    "is_tax_id",
    "make_legal_id",
    "make_national_code",
    "make_tax_id",
    "normalize_mobile",
    "normalize_national_code",
    "normalize_phone",
    "normalize_website",
    "parse_tax_id",
    "tax_day_number",
    "tax_inno",
    "verhoeff_digit",
    "verhoeff_ok",
]
