"""Dates as users type them (SPEC §5, §6): Jalali text, real Excel dates, ISO; all in Tehran time.

Decisions:

* **Jalali or Gregorian is decided by the year**: 1200-1600 is Jalali, 1700-2299 is
  Gregorian, anything else is rejected (near year 9999 the date arithmetic of follow-ups
  and the Jalali calendar overflow; no business date lies there).  The year must come first (Y/M/D): "06/10/2024" is
  rejected because day-first and month-first are both common and cannot be told apart.
* **Two-digit years are rejected** ("03/07/15"): "03" could be 1403 or 2003, and the year
  first/last order is ambiguous too; the reason tells the user to write four digits.
* Compact 8-digit text "14030715" / "20241006" is accepted (a common way to type fast).
* Excel serial numbers use the 1900 date system (serial 1 = 1900-01-01, with Excel's fake
  1900-02-29 at serial 60, which is rejected).  The 1904 system is not supported.
* Naive datetimes are Tehran wall time; aware ones are converted to Tehran.  Text is Tehran
  time too unless a UTC offset or ``Z`` follows the time ("1403-11-04 00:05:23+00:00" is
  03:35:23 in Tehran); ``ق.ظ``/``ب.ظ``/AM/PM after the time are read (12 ق.ظ = 00:00,
  12 ب.ظ = 12:00); an hour that contradicts them (14:30 ق.ظ) is refused.
* Working time (R2 "call again 24 hours after first contact"): see :func:`add_hours`; the
  closed days are the weekend, Iran's public holidays and the company's own (:class:`WorkCalendar`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

import jdatetime

from crm_xl.domain.errors import InputError
from crm_xl.domain.text import normalize, to_ascii_digits, to_persian_digits

TEHRAN = ZoneInfo("Asia/Tehran")
#: Python weekday numbers (Monday = 0): Friday is the Iranian weekend by default.
DEFAULT_WEEKEND: tuple[int, ...] = (4,)

_EXCEL_EPOCH = date(1899, 12, 30)  # serial 0 in Excel's 1900 system after the leap-bug offset
MAX_GREGORIAN_YEAR = 2299
_MAX_SERIAL = (date(MAX_GREGORIAN_YEAR, 12, 31) - _EXCEL_EPOCH).days

_DATE_RE = re.compile(r"(?<!\d)(\d{1,4})\s*([/\-.])\s*(\d{1,2})\s*\2\s*(\d{1,4})(?!\d)")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME_RE = re.compile(r"(?<![\d/\-.])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d])")


def _bad(value: object, fa: str, en: str) -> InputError:
    return InputError(f"تاریخ «{value}»: {fa}", f"date '{value}': {en}", code="type-error")


# --- Excel serials ------------------------------------------------------------------------


def from_excel_serial(x: float, value: object = None) -> datetime:
    """Naive datetime for an Excel serial (1900 system; the fraction is the time of day)."""
    shown = x if value is None else value
    if not math.isfinite(x) or x < 1 or x >= _MAX_SERIAL + 1:
        raise _bad(shown, "عدد تاریخ اکسل خارج از بازه است", "Excel date number out of range")
    days = math.floor(x)
    if days == 60:
        raise _bad(shown, "۲۹ فوریه ۱۹۰۰ وجود ندارد", "1900-02-29 does not exist")
    if days < 60:
        days += 1  # before Excel's fake leap day the offset is one day less
    seconds = round((x - math.floor(x)) * 86400)
    return datetime.combine(_EXCEL_EPOCH, time()) + timedelta(days=days, seconds=seconds)


def excel_serial(d: date | datetime) -> float:
    """Excel 1900-system serial for a date or (Tehran wall-clock) datetime."""
    if isinstance(d, datetime):
        if d.tzinfo is not None:
            d = d.astimezone(TEHRAN).replace(tzinfo=None)
        delta = d - datetime.combine(_EXCEL_EPOCH, time())
        serial: float = delta.days + delta.seconds / 86400
    else:
        serial = (d - _EXCEL_EPOCH).days
    if serial < 61:
        serial -= 1
    return serial


# --- parsing --------------------------------------------------------------------------------


def _make_date(y: int, m: int, d: int, value: object) -> date:
    if 1200 <= y <= 1600:
        if not 1 <= m <= 12:
            raise _bad(value, f"ماه {m} وجود ندارد (۱ تا ۱۲)", f"month {m} does not exist (1-12)")
        try:
            return jdatetime.date(y, m, d).togregorian()
        except ValueError:
            if m == 12 and d == 30:
                raise _bad(
                    value,
                    f"سال {y} کبیسه نیست و اسفند آن ۲۹ روز دارد",
                    f"{y} is not a Jalali leap year; Esfand has 29 days",
                ) from None
            days = 31 if m <= 6 else 30
            raise _bad(
                value, f"ماه {m} در تقویم شمسی {days} روز دارد", f"Jalali month {m} has {days} days"
            ) from None
    if 1700 <= y <= MAX_GREGORIAN_YEAR:
        try:
            return date(y, m, d)
        except ValueError:
            raise _bad(value, "چنین روزی در تقویم میلادی نیست", "no such Gregorian day") from None
    raise _bad(
        value,
        f"سال {y} پذیرفته نیست: ۱۲۰۰ تا ۱۶۰۰ شمسی یا ۱۷۰۰ تا {MAX_GREGORIAN_YEAR} میلادی",
        f"year {y} is not accepted: Jalali 1200-1600 or Gregorian 1700-{MAX_GREGORIAN_YEAR}",
    )


def _parse_text_date(text: str, value: object) -> date:
    compact = _COMPACT_RE.match(text)
    if compact:
        y, mo, d = (int(g) for g in compact.groups())
        return _make_date(y, mo, d, value)
    m = _DATE_RE.search(text)
    if not m:
        raise _bad(
            value,
            "خوانده نشد؛ به شکل ۱۴۰۳/۰۷/۱۵ بنویسید",
            "unreadable; write it as 1403/07/15",
        )
    a, _, b, c = m.groups()
    if len(a) != 4:
        if len(c) == 4:
            raise _bad(
                value,
                "سال باید اول بیاید (سال/ماه/روز)",
                "the year must come first (year/month/day)",
            )
        raise _bad(
            value,
            "سال را چهار رقمی بنویسید (مثل ۱۴۰۳)",
            "write the year with four digits (e.g. 1403)",
        )
    if len(c) > 2:
        raise _bad(value, "روز حداکثر دو رقم دارد", "the day has at most two digits")
    return _make_date(int(a), int(b), int(c), value)


_CANONICAL_RE = re.compile(r"^(1[2-5][0-9][0-9])/([0-9][0-9])/([0-9][0-9])$")


@functools.lru_cache(maxsize=65536)
def _gregorian_day(y: int, m: int, d: int) -> date:
    return _make_date(y, m, d, f"{y:04d}/{m:02d}/{d:02d}")


def _canonical(text: str) -> tuple[date, time | None] | None:
    """The text the toolkit writes ("1404/07/16", "1404/07/16 10:30") read without the general
    parser (a register holds tens of thousands); None for anything else or anything wrong,
    which the general parser then reads or explains."""
    n = len(text)
    if n != 10 and not (n == 16 and text[10] == " " and text[13] == ":"):
        return None
    day = _CANONICAL_DAYS.get(text[:10])
    if day is None:
        m = _CANONICAL_RE.match(text[:10])
        if m is None:
            return None
        try:
            day = _gregorian_day(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except InputError:
            return None
        if len(_CANONICAL_DAYS) < 100_000:
            _CANONICAL_DAYS[text[:10]] = day
    if n == 10:
        return day, None
    hh, mm = text[11:13], text[14:16]
    if not (hh.isdigit() and mm.isdigit() and hh.isascii() and mm.isascii()):
        return None
    h, mi = int(hh), int(mm)
    return (day, time(h, mi)) if h <= 23 and mi <= 59 else None


_CANONICAL_DAYS: dict[str, date] = {}


def _clean(value: object) -> str:
    return to_ascii_digits(normalize(value))


def parse_date(value: object) -> date:
    """A ``date`` from a date, datetime, Excel serial or Jalali/ISO text; InputError otherwise.

    Any time part in text is ignored.  Aware datetimes give their Tehran calendar day.
    """
    if isinstance(value, datetime):
        return value.astimezone(TEHRAN).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, jdatetime.datetime):
        return value.togregorian().date()
    if isinstance(value, jdatetime.date):
        return value.togregorian()
    if isinstance(value, str) and (fast := _canonical(value)) is not None:
        return fast[0]
    if isinstance(value, bool):
        raise _bad(value, "مقدار بله/خیر تاریخ نیست", "a yes/no value is not a date")
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):  # pandas' empty cell
            raise _bad(value, "خالی است", "empty")
        if float(value).is_integer() and 10_000_000 <= value <= 99_991_231:
            return _parse_text_date(str(int(value)), value)  # 14030715 typed as a number
        return from_excel_serial(float(value), value).date()
    text = _clean(value)
    if not text:
        raise _bad(value, "خالی است", "empty")
    return _parse_text_date(text, value)


#: What may follow a time of day: a meridiem (ق.ظ / ب.ظ, AM / PM), then a UTC offset or Z.
_LATIN_END = r"(?=$|[\s+\-]|z(?:$|[\s+\-])|utc|gmt)"  # "am" is not the start of "amazing"
_MERIDIEM_RE = re.compile(
    r"\s*(?:(?P<am>ق\.?\s*ظ|قبل\s*(?:\u200c|\s)?از\s*(?:\u200c|\s)?ظهر|a\.?\s?m\.?"
    + _LATIN_END
    + ")"
    r"|(?P<pm>ب\.?\s*ظ|بعد\s*(?:\u200c|\s)?از\s*(?:\u200c|\s)?ظهر|p\.?\s?m\.?" + _LATIN_END + "))",
    re.IGNORECASE,
)
_OFFSET_RE = re.compile(
    r"\s*(?:(?P<z>z|utc|gmt)(?![a-z])|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})?(?!\d))",
    re.IGNORECASE,
)
_MAX_OFFSET = timedelta(hours=14)


def _parse_time(text: str, value: object) -> tuple[time, tzinfo | None] | None:
    """The time of day in ``text`` and, when one follows it, the UTC offset it was written in.

    A meridiem after the time is read as a clock does (12 ق.ظ is 00:00, 12 ب.ظ is 12:00); an
    offset or ``Z`` after it says the time is not Tehran's (a tax-system or server export).
    """
    m = _TIME_RE.search(text)
    if not m:
        return None
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    rest = m.end()
    mer = _MERIDIEM_RE.match(text, rest)
    if mer:
        pm = bool(mer.group("pm"))
        # 00:30 ق.ظ and 14:30 ب.ظ only repeat what the clock says; 14:30 ق.ظ contradicts it.
        if h > 23 or (h > 12 and not pm) or (h == 0 and pm):
            raise _bad(
                value,
                "ساعت با ق.ظ/ب.ظ نمی‌خواند (۱ تا ۱۲ ق.ظ یا ب.ظ)",
                "the hour does not agree with AM/PM (1-12 AM or PM)",
            )
        if h <= 12:
            h = h % 12 + (12 if pm else 0)
        rest = mer.end()
    if h > 23 or mi > 59 or s > 59:
        raise _bad(value, "ساعت نامعتبر است (۰۰:۰۰ تا ۲۳:۵۹)", "invalid time (00:00-23:59)")
    off = _OFFSET_RE.match(text, rest)
    zone: tzinfo | None = None
    if off and off.group("z"):
        zone = UTC
    elif off:
        delta = timedelta(hours=int(off.group("oh")), minutes=int(off.group("om") or 0))
        if delta > _MAX_OFFSET or int(off.group("om") or 0) > 59:
            raise _bad(value, "اختلاف ساعت با UTC نامعتبر است", "invalid UTC offset")
        zone = timezone(-delta if off.group("sign") == "-" else delta)
    return time(h, mi, s), zone


def _iso_datetime(text: str) -> datetime | None:
    m = re.match(r"^(\d{4})-\d{2}-\d{2}[T ]\d{2}:\d{2}", text)
    # "1403-07-15 10:00" is Jalali, not ISO; a year out of range gets _make_date's message.
    if not m or not 1700 <= int(m.group(1)) <= MAX_GREGORIAN_YEAR:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_datetime(value: object, default_time: time = time(0, 0)) -> datetime:
    """An aware Tehran datetime from anything :func:`parse_date` reads, plus a time of day.

    Text may carry "HH:MM" or "HH:MM:SS" before or after the date ("1403/07/15 14:30",
    "۱۴:۳۰ ۱۴۰۳/۰۷/۱۵"), then ق.ظ/ب.ظ/AM/PM and a UTC offset or Z.  Without a time,
    ``default_time`` is used.  Naive datetimes are Tehran wall time.
    """
    if isinstance(value, datetime):
        return value.astimezone(TEHRAN) if value.tzinfo else value.replace(tzinfo=TEHRAN)
    if isinstance(value, jdatetime.datetime):
        return parse_datetime(value.togregorian(), default_time)
    if isinstance(value, float) and not math.isnan(value) and not value.is_integer():
        return from_excel_serial(value, value).replace(tzinfo=TEHRAN)
    if isinstance(value, str):
        fast = _canonical(value)
        if fast is not None:
            return datetime.combine(fast[0], fast[1] or default_time, tzinfo=TEHRAN)
        text = _clean(value)
        iso = _iso_datetime(text)
        if iso is not None:
            return parse_datetime(iso)
        day = parse_date(value)
        found = _parse_time(_DATE_RE.sub(" ", text), value)
        if found is None:
            return datetime.combine(day, default_time, tzinfo=TEHRAN)
        t, zone = found
        return datetime.combine(day, t, tzinfo=zone or TEHRAN).astimezone(TEHRAN)
    return datetime.combine(parse_date(value), default_time, tzinfo=TEHRAN)


# --- formatting --------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _jalali_day(day: date) -> str:
    return str(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))


def to_jalali_str(d: date | datetime, with_time: bool = False, persian_digits: bool = False) -> str:
    """ "1403/07/15" (or "1403/07/15 14:30" with ``with_time``); aware datetimes shown in Tehran.

    The one way a date is written for a person (SPEC §5): zero-padded Jalali text, the time to
    the minute.  Records, reports and the CLI all call this.
    """
    if isinstance(d, datetime) and d.tzinfo is not None:
        d = d.astimezone(TEHRAN)
    day = d.date() if isinstance(d, datetime) else d
    text = _jalali_day(day)
    if with_time:
        t = d.time() if isinstance(d, datetime) else time()
        text += f" {t.hour:02d}:{t.minute:02d}"
    if persian_digits:
        text = to_persian_digits(text)
    return text


def to_iso(d: date | datetime) -> str:
    """ISO 8601 for scripts: a date as ``2025-10-08``, a moment with its Tehran offset
    (``2025-10-08T10:30:00+03:30``; naive datetimes are Tehran wall time), to the second."""
    if isinstance(d, datetime):
        aware = d.astimezone(TEHRAN) if d.tzinfo else d.replace(tzinfo=TEHRAN)
        return aware.replace(microsecond=0).isoformat()
    return d.isoformat()


def read_date_text(text: str, with_time: bool) -> date | datetime | None:
    """A date cell's text as a naive Tehran ``datetime`` (``with_time``) or ``date``; None if
    it is not a readable date (the caller keeps the text, and validation reports it)."""
    try:
        if with_time:
            return parse_datetime(text).replace(tzinfo=None)
        return parse_date(text)
    except InputError:
        return None


def now_tehran() -> datetime:
    """The current moment as an aware Tehran datetime."""
    return datetime.now(TEHRAN)


# --- working time ---------------------------------------------------------------------------

#: Persian and English names of a day the company itself closes (a bare date in the settings).
COMPANY_DAY_FA = "تعطیلی شرکت"
COMPANY_DAY_EN = "company closing day"
#: The ``holidays`` package's name for Persian (it silently falls back to English on "fa").
_HOLIDAY_LANG = {"fa": "fa_IR", "en": "en_US"}
_PUBLIC: dict[tuple[int, str], dict[date, tuple[str, ...]]] = {}

HolidayTable = dict[date, tuple[str, ...]]
#: Keeps computed tables between runs: ``(year, lang, compute) -> table``. The ``holidays``
#: package costs 0.14-0.33 s to import, more than a whole command should; io installs a
#: file cache (:mod:`crm_xl.io.holiday_cache`), the domain only asks it.
HolidayCache = Callable[[int, str, Callable[[], HolidayTable]], HolidayTable]
_cache: list[HolidayCache] = []


def use_holiday_cache(cache: HolidayCache | None) -> None:
    """Keep Iran's holiday tables with ``cache`` (None: compute them in every process)."""
    _cache[:] = [cache] if cache is not None else []
    _PUBLIC.clear()


def package_holidays(year: int, lang: str = "fa") -> HolidayTable:
    """Iran's holidays in Gregorian ``year`` straight from the ``holidays`` package."""
    import holidays

    table = holidays.country_holidays("IR", years=year, language=_HOLIDAY_LANG[lang])
    return {d: tuple(table.get_list(d)) for d in sorted(table)}


def iran_public_holidays(year: int, lang: str = "fa") -> dict[date, tuple[str, ...]]:
    """Iran's official holidays in Gregorian ``year``: day → names (``lang`` "fa" or "en").

    From the ``holidays`` package (country IR: Nowruz 1-4 Farvardin, 29 Esfand and 30 Esfand
    of leap years, 12-13 Farvardin, 14-15 Khordad, 22 Bahman and the Islamic holidays, whose
    future dates carry the package's "(تخمینی)" mark until confirmed; special closures decreed
    by the government as the package records them).  Computed once per year and language,
    and kept by the installed :func:`use_holiday_cache`; the package is imported only when a
    table must be computed.
    """
    key = (year, lang)
    if key not in _PUBLIC:
        if lang not in _HOLIDAY_LANG:
            raise KeyError(lang)
        compute = functools.partial(package_holidays, year, lang)
        _PUBLIC[key] = _cache[0](year, lang, compute) if _cache else compute()
    return _PUBLIC[key]


def parse_closed_days(values: Iterable[str]) -> tuple[tuple[date, str], ...]:
    """Company closing days from the settings: "1405/01/05" or "1405/01/05 انبارگردانی".

    The text beside the date (if any) names the day; InputError names an unreadable entry.
    """
    out: list[tuple[date, str]] = []
    for raw in values:
        text = _clean(raw)
        day = parse_date(raw)
        name = _DATE_RE.sub(" ", text, count=1) if _DATE_RE.search(text) else ""
        out.append((day, re.sub(r"\s+", " ", name).strip(" -–:،,") or COMPANY_DAY_FA))
    return tuple(out)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days nobody works: the weekend, Iran's public holidays, the company's own days.

    ``public_holidays=False`` leaves only the weekend and the company's days (the behaviour of
    a bare weekday list passed to :func:`add_hours`).
    """

    weekend: frozenset[int] = frozenset(DEFAULT_WEEKEND)
    company_days: tuple[tuple[date, str], ...] = ()
    public_holidays: bool = True
    #: Days already looked up (a refresh asks about the same few weeks for every customer).
    _closed: dict[date, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _between: dict[tuple[date, date, str], list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if len(set(self.weekend)) >= 7:
            raise ValueError("every day of the week is a weekend day")

    @classmethod
    def from_settings(cls, weekend: Iterable[int], closed_days: Iterable[str]) -> WorkCalendar:
        """The calendar of the follow-up settings; the same settings give the same object, so
        its lookups are shared by every customer of a refresh."""
        return _settings_calendar(tuple(weekend), tuple(closed_days))

    def weekend_only(self) -> WorkCalendar:
        """The same weekend without holidays: what the deadline would be if no holiday fell."""
        return _settings_calendar(tuple(sorted(self.weekend)), (), public=False)

    @classmethod
    def of(cls, weekend: Iterable[int] | WorkCalendar) -> WorkCalendar:
        """A calendar as given, or the weekend alone from a list of weekday numbers."""
        if isinstance(weekend, WorkCalendar):
            return weekend
        return cls(frozenset(weekend), public_holidays=False)

    def holidays(self, d: date, lang: str = "fa") -> tuple[str, ...]:
        """Names of the holidays on ``d`` (public, then the company's); () on an ordinary day."""
        names: tuple[str, ...] = ()
        if self.public_holidays:
            names = iran_public_holidays(d.year, lang).get(d, ())
        own = COMPANY_DAY_FA if lang == "fa" else COMPANY_DAY_EN
        for day, name in self.company_days:
            if day == d:
                names += (name if lang == "fa" or name != COMPANY_DAY_FA else own,)
        return names

    def is_closed(self, d: date) -> bool:
        closed = self._closed.get(d)
        if closed is None:
            closed = self._closed[d] = d.weekday() in self.weekend or bool(self.holidays(d))
        return closed

    def next_open_day(self, d: date) -> date:
        """``d`` itself if it is a working day, else the first working day after it."""
        for _ in range(400):  # a year of closed days in a row is a broken setting, not a calendar
            if not self.is_closed(d):
                return d
            d += timedelta(days=1)
        raise ValueError("no working day within a year")

    def holidays_between(self, first: date, last: date, lang: str = "fa") -> list[str]:
        """Names of the holidays from ``first`` to ``last`` inclusive, each name once, in order."""
        key = (first, last, lang)
        if key in self._between:
            return list(self._between[key])
        seen: list[str] = []
        d = first
        while d <= last:
            for name in self.holidays(d, lang):
                if name not in seen:
                    seen.append(name)
            d += timedelta(days=1)
        self._between[key] = seen
        return list(seen)


@functools.lru_cache(maxsize=16)
def _settings_calendar(
    weekend: tuple[int, ...], closed_days: tuple[str, ...], public: bool = True
) -> WorkCalendar:
    return WorkCalendar(frozenset(weekend), parse_closed_days(closed_days), public)


def _tehran(dt: datetime) -> datetime:
    return dt.astimezone(TEHRAN) if dt.tzinfo else dt.replace(tzinfo=TEHRAN)


def is_weekend(d: date | datetime, weekend: Iterable[int] = DEFAULT_WEEKEND) -> bool:
    """True if the (Tehran) calendar day is a weekend day (Python weekday numbers, Friday = 4)."""
    if isinstance(d, datetime):
        d = _tehran(d)
    return d.weekday() in set(weekend)


def next_working_day(d: date, weekend: Iterable[int] | WorkCalendar = DEFAULT_WEEKEND) -> date:
    """``d`` itself if it is a working day, else the first working day after it."""
    return WorkCalendar.of(weekend).next_open_day(d)


def add_hours(
    start: datetime,
    hours: float,
    mode: Literal["calendar", "working"] = "calendar",
    weekend: Iterable[int] | WorkCalendar = DEFAULT_WEEKEND,
) -> datetime:
    """The moment ``hours`` after ``start`` (aware, Tehran); how R2's "24 hours" is counted.

    ``weekend`` is a :class:`WorkCalendar` (weekend, public holidays, company days) or just
    the weekend's weekday numbers; "closed day" below means a day that calendar closes.

    * ``calendar`` (default): plain wall-clock hours, then, if the due moment lands on a
      closed day, it rolls to the next working day **at the same time of day** — nobody
      calls customers on Friday.  Wednesday 10:00 + 24 h → Thursday 10:00;
      Thursday 10:00 + 24 h → Friday 10:00 → Saturday 10:00.
    * ``working``: only the hours of working days count (whole days, not office hours);
      a start on a closed day counts from the next working day's 00:00.
      Thursday 10:00 + 24 h → 14 h on Thursday + 10 h on Saturday = Saturday 10:00;
      Wednesday 10:00 + 24 h → Thursday 10:00; the Thursday afternoon before Nowruz at 15:00
      + 24 h → the first working day after the holidays at 15:00.

    Wall-clock arithmetic: Iran has had no daylight saving time since 2022.
    """
    if hours < 0:
        raise ValueError("hours must not be negative")
    cal = WorkCalendar.of(weekend)
    cur = _tehran(start)
    if mode == "calendar":
        due = cur + timedelta(hours=hours)
        return datetime.combine(cal.next_open_day(due.date()), due.timetz())
    if mode != "working":
        raise ValueError(f"unknown mode {mode!r}")
    if cal.is_closed(cur.date()):
        cur = datetime.combine(cal.next_open_day(cur.date()), time(), tzinfo=TEHRAN)
    left = timedelta(hours=hours)
    while True:
        midnight = datetime.combine(cur.date() + timedelta(days=1), time(), tzinfo=TEHRAN)
        if cur + left < midnight:  # "<": a due moment never lands on a closed day's 00:00
            return cur + left
        left -= midnight - cur
        cur = datetime.combine(cal.next_open_day(midnight.date()), time(), tzinfo=TEHRAN)


def working_delta(
    start: datetime, end: datetime, weekend: Iterable[int] | WorkCalendar
) -> timedelta:
    """Time between two moments counting only working days' hours (0 if ``end <= start``)."""
    cal = WorkCalendar.of(weekend)
    start, end = _tehran(start), _tehran(end)
    total = timedelta(0)
    cur = start
    while cur < end:
        midnight = datetime.combine(cur.date() + timedelta(days=1), time(), tzinfo=TEHRAN)
        stop = min(midnight, end)
        if not cal.is_closed(cur.date()):
            total += stop - cur
        cur = stop
    return total
