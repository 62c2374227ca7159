"""Workspace settings: company, experts, numbering patterns, follow-up rules, fiscal memory id.

Stored as ``settings.json`` at the workspace root so a manager can read and edit it; the
file is read and written by ``crm_xl.io.settings_file``.  Everything a hand edit can get
wrong is refused here, on load, naming the setting: an unknown key (with the nearest known
one), a weekday outside 0–6, a numbering pattern with an unknown token, no or two
``{seq:N}``, or a character that cannot be part of a folder name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_xl.domain.dates import WorkCalendar, parse_closed_days
from crm_xl.domain.errors import InputError
from crm_xl.domain.ids import is_economic_code
from crm_xl.domain.text import normalize, normalize_numeric

SETTINGS_FILE = "settings.json"

#: Every ``{…}`` in a pattern; only ``{jy}``, ``{jy2}`` and ``{seq:N}`` are tokens.
_BRACED = re.compile(r"\{([^{}]*)\}")
#: The token grammar the numbering module formats and parses with.
TOKEN = re.compile(r"\{(jy2|jy|seq)(?::(\d+))?\}")
_SEQ = re.compile(r"seq:([1-9]|1[0-9])")  # 1-19 digits: wide enough for the 10-digit tax serial
#: Characters a number cannot hold: numbers name customer folders (``C-00001 - …``) and are
#: typed back by people, so path separators, Windows-reserved characters, spaces, control and
#: invisible characters are refused (also ``{``/``}`` left over from a mistyped token).
_UNSAFE = set('/\\:*?"<>|{}')


def _pattern_problem(pattern: str) -> tuple[str, str] | None:
    """(fa, en) of what is wrong with a numbering pattern, or None."""
    seqs = 0
    for m in _BRACED.finditer(pattern):
        token = m.group(1)
        if _SEQ.fullmatch(token):
            seqs += 1
        elif token not in ("jy", "jy2"):
            return (
                f"نشانه «{{{token}}}» شناخته نیست؛ فقط {{jy}}، {{jy2}} و {{seq:N}} (مثل {{seq:5}})",
                f"unknown token {{{token}}}; only {{jy}}, {{jy2}} and {{seq:N}} (e.g. {{seq:5}})",
            )
    if seqs != 1:
        return (
            f"الگو باید دقیقاً یک {{seq:N}} داشته باشد (این الگو {seqs} دارد)",
            f"the pattern needs exactly one {{seq:N}} token (it has {seqs})",
        )
    literal = _BRACED.sub("", pattern)
    for ch in literal:
        if ch in _UNSAFE or ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            shown = ch if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"
            return (
                f"نویسه «{shown}» در شماره‌ها مجاز نیست (شماره نام پوشه مشتری می‌شود)",
                f"character {shown!r} is not allowed in numbers (numbers name customer folders)",
            )
    if pattern.startswith(".") or pattern.endswith("."):
        return (
            "شماره نباید با نقطه شروع یا تمام شود (پوشه پنهان یا نام نامعتبر در ویندوز)",
            "a number cannot start or end with a dot (hidden folder, invalid on Windows)",
        )
    return None


class _Strict(BaseModel):
    # A misspelt key (``stalled_day``) must not be silently ignored: it is refused on load.
    model_config = ConfigDict(extra="forbid")


class NumberRule(_Strict):
    """How one kind of number looks. Tokens: ``{jy}`` Jalali year, ``{jy2}`` its last two
    digits, ``{seq:N}`` the sequence zero-padded to N digits."""

    pattern: str
    yearly_reset: bool = False

    @field_validator("pattern")
    @classmethod
    def _grammar(cls, v: str) -> str:
        problem = _pattern_problem(v)
        if problem:
            raise InputError(*problem, code="bad-pattern", field="pattern")
        return v

    @model_validator(mode="after")
    def _year_for_reset(self) -> NumberRule:
        # Without a year in it, C-0001 of next year would be the same text as this year's.
        if self.yearly_reset and not re.search(r"\{jy2?\}", self.pattern):
            raise InputError(
                "شماره‌ای که هر سال از نو شروع می‌شود باید سال ({jy} یا {jy2}) را داشته باشد",
                "a number that restarts every year needs the year ({jy} or {jy2}) in its pattern",
                code="bad-pattern",
                field="yearly_reset",
            )
        return self


DEFAULT_NUMBERING: dict[str, NumberRule] = {
    "customer": NumberRule(pattern="C-{seq:5}"),
    "case": NumberRule(pattern="P-{seq:5}"),
    "contract": NumberRule(pattern="Q-{jy}-{seq:4}"),
    # Invoices restart each fiscal (Jalali) year, as the tax authority's books do.
    "invoice": NumberRule(pattern="{jy}-{seq:6}", yearly_reset=True),
    # The Moadian internal serial (inno) of tax ids: never resets, never repeats.
    "tax": NumberRule(pattern="{seq:10}"),
}
#: Every kind a workspace numbers: the register's, and the extras' books (ops.complaints,
#: ops.surveys keep their default patterns beside their code).
NUMBER_KINDS: tuple[str, ...] = (*DEFAULT_NUMBERING, "complaint", "survey")

Weekday = Annotated[int, Field(ge=0, le=6)]


class FollowUpRules(_Strict):
    first_followup_hours: int = Field(24, ge=1, le=24 * 14)
    #: "calendar": plain hours, due day rolled past the weekend; "working": weekend hours skipped.
    hours_mode: Literal["calendar", "working"] = "calendar"
    #: An open customer with no contact for this many days is stalled (R10).
    stalled_days: int = Field(7, ge=1, le=365)
    #: Python weekday numbers of the weekend (Monday=0 … Friday=4, Sunday=6).
    weekend: list[Weekday] = Field(default_factory=lambda: [4])

    @field_validator("weekend")
    @classmethod
    def _some_working_day(cls, v: list[int]) -> list[int]:
        if len(set(v)) >= 7:  # the next working day would never come
            raise InputError(
                "همه روزهای هفته تعطیل شده‌اند؛ دست‌کم یک روز کاری لازم است",
                "every weekday is a weekend day; at least one working day is needed",
                code="bad-settings",
                field="weekend",
            )
        return sorted(set(v))

    #: The company's own closing days beside Iran's public holidays: Jalali dates, optionally
    #: named ("1405/01/05" or "1405/01/05 انبارگردانی").
    closed_days: list[str] = Field(default_factory=list)

    @field_validator("closed_days")
    @classmethod
    def _closed_days(cls, v: list[str]) -> list[str]:
        for text in v:
            try:
                parse_closed_days([text])
            except ValueError as e:
                raise ValueError(f"{getattr(e, 'fa', e)} / {getattr(e, 'en', e)}") from None
        return v

    def work_calendar(self) -> WorkCalendar:
        """The closed days of the follow-up clock: weekend, public holidays, company days."""
        return WorkCalendar.from_settings(self.weekend, self.closed_days)


class CalendarFeeds(_Strict):
    """Each expert's planned actions as an .ics feed (``crm-xl calendar``)."""

    #: Folder of the feeds, relative to the workspace (one ``<expert>.ics`` each).
    dir: str = "calendar"
    #: Regenerate the feeds at every ``refresh``.
    on_refresh: bool = False
    #: The reminder (VALARM) this many minutes before each action.
    alarm_minutes: int = Field(15, ge=0, le=24 * 60)
    #: Length of an action without an estimated duration.
    default_minutes: int = Field(30, ge=5, le=24 * 60)


def dsn_has_password(dsn: str) -> bool:
    """Whether a libpq connection string (URI or ``key=value`` form) carries a password."""
    from urllib.parse import parse_qs, urlsplit

    text = dsn.strip()
    if text.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        return parts.password is not None or "password" in parse_qs(parts.query)
    return re.search(r"(?:^|\s)password\s*=", text) is not None


class AuthoritySettings(_Strict):
    """The company-wide number authority (SPEC §12): which server, and which office this is."""

    kind: Literal["postgresql"] = "postgresql"
    #: libpq connection string without a password (PGPASSWORD or .pgpass supplies it).
    dsn: str = Field(min_length=1)
    #: This office's name; one office = one workspace.
    office: str = Field(min_length=1, max_length=100)

    @field_validator("dsn")
    @classmethod
    def _no_password(cls, v: str) -> str:
        if dsn_has_password(v):
            raise ValueError(
                "رمز عبور در authority.dsn نوشته نشود؛ از PGPASSWORD یا فایل ‎.pgpass استفاده کنید / "
                "authority.dsn must not hold a password; use PGPASSWORD or a .pgpass file"
            )
        return v

    @field_validator("office")
    @classmethod
    def _office(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("نام دفتر خالی است / the office name is empty")
        return v


class DateWindow(_Strict):
    """How far from today a typed date may lie (review §A14): a follow-up dated 1410 would
    keep a customer "on time" for years. Farther dates need ``--force`` on the command."""

    years_back: int = Field(5, ge=0, le=100)
    years_ahead: int = Field(1, ge=0, le=100)


class Settings(_Strict):
    company: str = "شرکت بازرگانی نمونه"
    experts: list[str] = Field(default_factory=list)
    numbering: dict[str, NumberRule] = Field(default_factory=lambda: dict(DEFAULT_NUMBERING))
    followup: FollowUpRules = Field(default_factory=lambda: FollowUpRules())
    #: Calendar feeds per expert; None: written only when ``crm-xl calendar`` is run.
    calendar: CalendarFeeds | None = None
    #: The company's fiscal memory id (شناسه یکتای حافظه مالیاتی); tax ids are made when set.
    fiscal_memory_id: str | None = None
    #: The company's economic code (کد اقتصادی), the seller (``tins``) of Moadian invoices.
    economic_code: str | None = None
    backups_keep: int = Field(20, ge=1, le=1000)
    lock_timeout: float = Field(60.0, gt=0)
    #: Seconds without a heartbeat after which a colleague may break the workspace lock; a
    #: writer stalled longer (laptop asleep, share hung) notices it lost the lock and aborts.
    lock_stale_after: float = Field(600.0, ge=1, le=86400)
    #: Several offices: numbers from a PostgreSQL authority instead of the workspace counters.
    authority: AuthoritySettings | None = None
    #: Typed dates farther than this from today are refused unless confirmed (``--force``).
    date_window: DateWindow = Field(default_factory=lambda: DateWindow())

    @field_validator("fiscal_memory_id")
    @classmethod
    def _memory_id(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        v = v.strip().upper()
        if len(v) != 6 or not v.isascii() or not v.isalnum():
            raise ValueError(
                "شناسه حافظه مالیاتی باید ۶ نویسه A-Z0-9 باشد / "
                "fiscal memory id must be 6 characters A-Z0-9"
            )
        return v

    @field_validator("numbering")
    @classmethod
    def _known_kinds(cls, v: dict[str, NumberRule]) -> dict[str, NumberRule]:
        for kind in v:
            if kind not in NUMBER_KINDS:
                hint_fa, hint_en = did_you_mean(kind, NUMBER_KINDS)
                raise InputError(
                    f"نوع شماره «{kind}» شناخته نیست{hint_fa} (مجاز: {', '.join(NUMBER_KINDS)})",
                    f"unknown kind of number '{kind}'{hint_en} (known: {', '.join(NUMBER_KINDS)})",
                    code="unknown-setting",
                    field=f"numbering.{kind}",
                )
        return v

    @field_validator("economic_code")
    @classmethod
    def _economic_code(cls, v: str | None) -> str | None:
        if v is None or v.strip() == "":
            return None
        v = normalize_numeric(v)
        if not is_economic_code(v):
            raise ValueError(
                "کد اقتصادی باید ۱۱ رقم (شناسه ملی) یا ۱۴ رقم باشد / "
                "the economic code has 11 digits (a valid legal ID) or 14 digits"
            )
        return v

    def rule(self, kind: str) -> NumberRule:
        return self.numbering.get(kind) or DEFAULT_NUMBERING[kind]

    def expert(self, name: object, field: str = "expert") -> str:
        """The configured spelling of expert ``name``; InputError when it is not in ``experts``.

        Task lists are per expert, so a typo («سارا احمد») would start a list nobody reads:
        names are compared normalised (ي/ی, spaces) and must be one of the configured experts.
        """
        typed = normalize(name)
        known = {normalize(e): normalize(e) for e in self.experts if normalize(e)}
        if typed in known:
            return known[typed]
        near = nearest(typed, list(known))
        hint_fa = f" منظور «{near}» بود؟" if near else ""
        hint_en = f" Did you mean '{near}'?" if near else ""
        listed_fa = "، ".join(known) or "هیچ کارشناسی تعریف نشده است"
        listed_en = ", ".join(known) or "no experts are configured"
        raise InputError(
            f"کارشناس «{typed}» در فهرست کارشناسان نیست ({listed_fa}).{hint_fa} "
            f'برای افزودن، نام را به فهرست "experts" در فایل {SETTINGS_FILE} پوشه کاری اضافه کنید.',
            f"expert '{typed}' is not one of the configured experts ({listed_en}).{hint_en} "
            f'To add one, put the name in the "experts" list of the workspace\'s {SETTINGS_FILE}.',
            code="unknown-expert",
            field=field,
        )


def nearest(word: str, choices: Any) -> str | None:
    """The known word closest to a mistyped one (difflib), or None when nothing is close."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, choices: Any) -> tuple[str, str]:
    """(fa, en) suffix proposing the nearest known word for a mistyped one; ("", "") if none."""
    near = nearest(word, choices)
    if near is None:
        return "", ""
    return f"؛ منظور «{near}» بود؟", f"; did you mean '{near}'?"
