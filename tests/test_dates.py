"""Dates as users type them (SPEC §5) and the 24-hour rule's working time (R2)."""

from datetime import date, datetime, time, timedelta, timezone

import jdatetime
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_xl.domain.dates import (
    COMPANY_DAY_FA,
    TEHRAN,
    WorkCalendar,
    add_hours,
    excel_serial,
    from_excel_serial,
    is_weekend,
    now_tehran,
    parse_closed_days,
    parse_date,
    parse_datetime,
    to_jalali_str,
    working_delta,
)
from crm_xl.domain.errors import InputError


def test_jalali_leap_years_per_jdatetime() -> None:
    assert jdatetime.date(1403, 1, 1).isleap()
    assert not jdatetime.date(1404, 1, 1).isleap()


@pytest.mark.parametrize(
    "raw",
    [
        "1403/07/15",
        "۱۴۰۳/۷/۱۵",
        "1403-7-15",
        "1403.07.15",
        "١٤٠٣/٧/١٥",
        " 1403 / 07 / 15 ",
        "14030715",
        14030715,
        "2024-10-06",
        "1403/07/15 14:30",
        date(2024, 10, 6),
        datetime(2024, 10, 6, 23, 0),
        45571,
        45571.75,
        jdatetime.date(1403, 7, 15),
    ],
)
def test_parse_date_forms(raw: object) -> None:
    assert parse_date(raw) == date(2024, 10, 6)


def test_aware_datetime_gives_tehran_day() -> None:
    # 22:00 UTC on 2024-10-05 is 01:30 on 2024-10-06 in Tehran.
    assert parse_date(datetime.fromisoformat("2024-10-05T22:00:00+00:00")) == date(2024, 10, 6)
    assert parse_date(datetime(2024, 10, 5, 22, 0, tzinfo=TEHRAN)) == date(2024, 10, 5)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1404/12/30", "not a Jalali leap year"),
        ("1403/13/01", "month 13"),
        ("1403/07/31", "has 30 days"),
        ("1403/01/32", "has 31 days"),
        ("2023-02-29", "no such Gregorian day"),
        ("03/07/15", "four digits"),
        ("06/10/2024", "year must come first"),
        ("1650/01/01", "Jalali 1200-1600"),
        ("hello", "unreadable"),
        ("", "empty"),
        (None, "empty"),
        (True, "yes/no"),
        (60, "1900-02-29"),
        (0, "out of range"),
        (float("nan"), "empty"),
    ],
)
def test_parse_date_rejects_with_reason(raw: object, reason: str) -> None:
    with pytest.raises(InputError) as e:
        parse_date(raw)
    assert reason in e.value.en
    assert e.value.fa  # always bilingual
    assert isinstance(e.value, ValueError)


def test_esfand_30_in_leap_year() -> None:
    assert parse_date("1403/12/30") == date(2025, 3, 20)
    assert to_jalali_str(date(2025, 3, 20)) == "1403/12/30"


@settings(max_examples=300, deadline=None)
@given(st.integers(1300, 1500), st.integers(1, 12), st.integers(1, 31))
def test_jalali_round_trip(y: int, m: int, d: int) -> None:
    text = f"{y}/{m:02d}/{d:02d}"
    valid = d <= (
        31 if m <= 6 else 30 if m <= 11 else 30 if jdatetime.date(y, 1, 1).isleap() else 29
    )
    if not valid:
        with pytest.raises(InputError):
            parse_date(text)
        return
    g = parse_date(text)
    assert to_jalali_str(g) == text
    assert parse_date(f"{y}-{m}-{d}") == g
    assert to_jalali_str(g, persian_digits=True) == text.translate(
        str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    )


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1921, 3, 21), max_value=date(2121, 3, 20)))
def test_gregorian_round_trip(g: date) -> None:
    assert parse_date(to_jalali_str(g)) == g
    assert parse_date(g.isoformat()) == g
    assert from_excel_serial(excel_serial(g)).date() == g


def test_excel_serials() -> None:
    assert from_excel_serial(1).date() == date(1900, 1, 1)
    assert from_excel_serial(59).date() == date(1900, 2, 28)
    assert from_excel_serial(61).date() == date(1900, 3, 1)
    assert excel_serial(date(2024, 10, 6)) == 45571
    assert from_excel_serial(45571.5) == datetime(2024, 10, 6, 12, 0)


def test_parse_datetime() -> None:
    want = datetime(2024, 10, 6, 14, 30, tzinfo=TEHRAN)
    assert parse_datetime("1403/07/15 14:30") == want
    assert parse_datetime("۱۴۰۳/۰۷/۱۵ ۱۴:۳۰") == want
    assert parse_datetime("۱۴:۳۰ ۱۴۰۳/۰۷/۱۵") == want
    assert parse_datetime("2024-10-06T14:30") == want
    assert parse_datetime("2024-10-06T11:00:00Z") == want
    assert parse_datetime(datetime(2024, 10, 6, 14, 30)) == want  # naive = Tehran
    assert parse_datetime(45571 + 14.5 / 24) == want
    assert parse_datetime("1403/07/15") == datetime(2024, 10, 6, tzinfo=TEHRAN)
    assert parse_datetime("1403/07/15", default_time=time(9)) == datetime(
        2024, 10, 6, 9, tzinfo=TEHRAN
    )
    assert parse_datetime(date(2024, 10, 6)).tzinfo is TEHRAN
    with pytest.raises(InputError, match="invalid time"):
        parse_datetime("1403/07/15 25:00")
    with pytest.raises(InputError):
        parse_datetime("1403/07/32 10:00")


def test_to_jalali_str_with_time() -> None:
    at = datetime(2024, 10, 6, 11, 0, tzinfo=TEHRAN).astimezone(TEHRAN)
    assert to_jalali_str(at, with_time=True) == "1403/07/15 11:00"
    utc = datetime.fromisoformat("2024-10-05T22:00:00+00:00")
    assert to_jalali_str(utc, with_time=True) == "1403/07/15 01:30"
    assert to_jalali_str(at, with_time=True, persian_digits=True) == "۱۴۰۳/۰۷/۱۵ ۱۱:۰۰"


def test_now_tehran_is_aware() -> None:
    assert now_tehran().tzinfo is TEHRAN


# --- working time ---------------------------------------------------------------------------

WED = datetime(2024, 10, 2, 10, 0, tzinfo=TEHRAN)  # 1403/07/11, a Wednesday
THU = WED + timedelta(days=1)
FRI = WED + timedelta(days=2)
SAT = WED + timedelta(days=3)


def test_weekend() -> None:
    assert WED.weekday() == 2
    assert is_weekend(FRI) and not is_weekend(THU)
    assert is_weekend(THU.date(), weekend=(3, 4))
    # 22:00 UTC Thursday is already Friday in Tehran.
    assert is_weekend(datetime.fromisoformat("2024-10-03T22:00:00+00:00"))


def test_add_hours_calendar() -> None:
    assert add_hours(WED, 24) == THU
    assert add_hours(THU, 24) == SAT  # due Friday 10:00 rolls to Saturday 10:00
    assert add_hours(THU, 24, weekend=(3, 4)) == SAT
    assert add_hours(WED, 24, weekend=(3, 4)) == SAT  # Thursday is weekend too here
    assert add_hours(FRI, 2) == SAT.replace(hour=12)
    assert add_hours(datetime(2024, 10, 2, 10, 0), 24) == THU  # naive = Tehran


def test_add_hours_working() -> None:
    assert add_hours(WED, 24, mode="working") == THU
    assert add_hours(THU, 24, mode="working") == SAT  # 14 h Thursday + 10 h Saturday
    assert add_hours(FRI.replace(hour=15), 24, mode="working") == SAT.replace(hour=0) + timedelta(
        days=1
    )
    assert add_hours(THU.replace(hour=0), 24, mode="working") == SAT.replace(
        hour=0
    )  # never Friday 00:00
    assert add_hours(WED, 0, mode="working") == WED
    assert add_hours(THU, 48, mode="working") == SAT + timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2030, 1, 1)),
    st.integers(0, 24 * 14),
    st.sampled_from(["calendar", "working"]),
)
def test_add_hours_never_due_on_weekend(start: datetime, hours: int, mode: str) -> None:
    due = add_hours(start, hours, mode=mode)  # type: ignore[arg-type]
    assert not is_weekend(due)
    assert due >= start.replace(tzinfo=TEHRAN) + (
        timedelta(hours=hours) if mode == "calendar" else timedelta()
    )


def test_add_hours_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        add_hours(WED, -1)
    with pytest.raises(ValueError):
        add_hours(WED, 1, mode="office")  # type: ignore[arg-type]


# --- working time with Iran's public holidays and the company's closing days ---------------------


def jt(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Tehran moment from a Jalali date."""
    return datetime.combine(jdatetime.date(y, m, d).togregorian(), time(hour, minute), TEHRAN)


IRAN = WorkCalendar()  # Friday weekend + public holidays
#: The last working afternoon before Nowruz 1405: Thursday 1404/12/28 (the 29th is a Friday and
#: Oil Nationalization Day; 1-4 Farvardin are Nowruz, 1-2 also Eid al-Fitr this year).
BEFORE_NOWRUZ = jt(1404, 12, 28, 15)


def test_nowruz_is_closed_with_persian_names() -> None:
    assert BEFORE_NOWRUZ.weekday() == 3 and not IRAN.is_closed(BEFORE_NOWRUZ.date())
    for day in range(1, 5):
        assert IRAN.is_closed(jt(1405, 1, day).date())
    assert "جشن نوروز" in IRAN.holidays(jt(1405, 1, 1).date())
    assert "عیدنوروز" in IRAN.holidays(jt(1405, 1, 4).date())
    assert "Nowruz" in IRAN.holidays(jt(1405, 1, 1).date(), "en")
    assert not IRAN.is_closed(jt(1405, 1, 5).date())  # Wednesday: back to work


def test_working_hours_skip_nowruz() -> None:
    # 9 h on Thursday, then Friday and the holidays skipped, 15 h on 1405/01/05.
    assert add_hours(BEFORE_NOWRUZ, 24, "working", IRAN) == jt(1405, 1, 5, 15)
    # Calendar hours land on Friday 1404/12/29 and roll past the holidays, same time of day.
    assert add_hours(BEFORE_NOWRUZ, 24, "calendar", IRAN) == jt(1405, 1, 5, 15)
    # A start on a closed day counts from the next working day's 00:00 (as on a Friday):
    # the whole first working day after the holidays is the 24 hours.
    assert add_hours(jt(1404, 12, 29, 15), 24, "working", IRAN) == jt(1405, 1, 6, 0)
    assert add_hours(jt(1404, 12, 29, 15), 24, "calendar", IRAN) == jt(1405, 1, 5, 15)
    # A bare weekday list is the weekend alone, as before: due Saturday 1 Farvardin.
    assert add_hours(BEFORE_NOWRUZ, 24, "working", [4]) == jt(1405, 1, 1, 15)


def test_working_delta_skips_holidays() -> None:
    due = jt(1404, 12, 28, 10)
    assert working_delta(due, jt(1405, 1, 5, 10), IRAN) == timedelta(hours=24)
    assert working_delta(due, jt(1405, 1, 5, 10), [4]) == timedelta(hours=24 + 4 * 24)
    assert working_delta(jt(1405, 1, 5, 10), due, IRAN) == timedelta(0)


def test_company_closing_days() -> None:
    days = parse_closed_days(["1405/01/05", "۱۴۰۵/۰۱/۰۶ انبارگردانی"])
    assert days == (
        (jt(1405, 1, 5).date(), COMPANY_DAY_FA),
        (jt(1405, 1, 6).date(), "انبارگردانی"),
    )
    cal = WorkCalendar(frozenset({4}), days)
    assert cal.holidays(jt(1405, 1, 6).date()) == ("انبارگردانی",)
    assert cal.holidays(jt(1405, 1, 5).date(), "en") == ("company closing day",)
    # 1405/01/05-06 closed too and 01/07 is a Friday: Saturday 01/08 is the first working day.
    assert add_hours(BEFORE_NOWRUZ, 24, "working", cal) == jt(1405, 1, 8, 15)
    assert cal.holidays_between(jt(1405, 1, 4).date(), jt(1405, 1, 8).date()) == [
        "عیدنوروز",
        COMPANY_DAY_FA,
        "انبارگردانی",
    ]
    with pytest.raises(InputError) as e:
        parse_closed_days(["1405/13/01"])
    assert "13" in e.value.en


def test_a_calendar_closed_every_day_is_refused() -> None:
    with pytest.raises(ValueError):
        WorkCalendar(frozenset(range(7)))
    everything = tuple((date(2026, 1, 1) + timedelta(days=i), "x") for i in range(500))
    with pytest.raises(ValueError):
        add_hours(
            datetime(2026, 1, 1, 10, tzinfo=TEHRAN),
            24,
            "working",
            WorkCalendar(company_days=everything),
        )


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2030, 1, 1)),
    st.integers(0, 24 * 14),
    st.sampled_from(["calendar", "working"]),
)
def test_add_hours_never_due_on_a_holiday(start: datetime, hours: int, mode: str) -> None:
    due = add_hours(start, hours, mode, IRAN)  # type: ignore[arg-type]
    assert not IRAN.is_closed(due.date())
    # Never sooner than the weekend-only count: holidays only ever add time.
    assert due >= add_hours(start, hours, mode, [4])  # type: ignore[arg-type]


# --- §A15: a UTC offset or Z and a meridiem after a Jalali date-time ------------------------


_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)),
    st.integers(-12 * 4, 14 * 4).map(lambda q: timedelta(minutes=15 * q)),
    st.sampled_from(["iso", "colon", "compact", "z"]),
    st.sampled_from([None, ("ق.ظ", "ب.ظ"), ("AM", "PM"), ("am", "pm")]),
    st.booleans(),
)
def test_a_jalali_date_time_with_offset_and_meridiem_is_the_moment_it_names(
    wall: datetime,
    offset: timedelta,
    style: str,
    meridiem: tuple[str, str] | None,
    persian: bool,
) -> None:
    """The text names a wall time in some UTC offset; the parser gives that instant in Tehran."""
    wall = wall.replace(microsecond=0)
    if style == "z":
        offset = timedelta(0)
    zone = timezone(offset)
    jd = jdatetime.date.fromgregorian(date=wall.date())
    sign = "-" if offset < timedelta(0) else "+"
    hh, mm = divmod(abs(int(offset.total_seconds())) // 60, 60)
    suffix = {
        "iso": f"{sign}{hh:02d}:{mm:02d}",
        "colon": f" {sign}{hh:02d}:{mm:02d}",
        "compact": f"{sign}{hh:02d}{mm:02d}",
        "z": "Z",
    }[style]
    if meridiem is None:
        clock = f"{wall:%H:%M:%S}"
    else:
        h12 = wall.hour % 12 or 12
        clock = f"{h12:02d}:{wall:%M:%S} {meridiem[wall.hour >= 12]}"
    text = f"{jd.year:04d}-{jd.month:02d}-{jd.day:02d} {clock}{suffix}"
    if persian:
        text = text.translate(_FA_DIGITS)
    got = parse_datetime(text)
    assert got == wall.replace(tzinfo=zone)
    assert got.utcoffset() == TEHRAN.utcoffset(got.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("text", "wall"),
    [
        ("1403/07/15 ۰۲:۳۰ ب.ظ", datetime(2024, 10, 6, 14, 30)),  # the review's reproducer
        ("1403/07/15 12:00 ب.ظ", datetime(2024, 10, 6, 12, 0)),  # noon
        ("1403/07/15 12:10 ق.ظ", datetime(2024, 10, 6, 0, 10)),  # just after midnight
        ("۱۴۰۳/۰۷/۱۵ ۰۹:۰۵ PM", datetime(2024, 10, 6, 21, 5)),
        ("1403/07/15 14:30 ب.ظ", datetime(2024, 10, 6, 14, 30)),  # says the same twice
        ("1403-11-04 00:05:23+00:00", datetime(2025, 1, 23, 3, 35, 23)),  # the review's
        ("1403-11-04 00:05:23Z", datetime(2025, 1, 23, 3, 35, 23)),
        ("1403/07/15 23:30Z", datetime(2024, 10, 7, 3, 0)),  # the next Tehran day
        ("1403/07/15 10:00", datetime(2024, 10, 6, 10, 0)),  # no suffix: Tehran time
    ],
)
def test_meridiem_and_offset_examples(text: str, wall: datetime) -> None:
    assert parse_datetime(text) == wall.replace(tzinfo=TEHRAN)


@pytest.mark.parametrize(
    "text", ["1403/07/15 13:00 ق.ظ", "1403/07/15 00:30 ب.ظ", "1403/07/15 10:00 +15:00"]
)
def test_a_contradicting_meridiem_or_impossible_offset_is_refused(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_datetime(text)
    assert e.value.fa and e.value.en
