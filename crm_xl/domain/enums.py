"""Enumerations of the three forms: the English key code uses, the Persian label a cell shows.

Cells always hold the Persian label (that is what the drop-down offers a salesperson);
``parse`` accepts the key, the Persian label or the English label, after normalising
Arabic letters and spacing, so a typed value and a picked value mean the same thing.
"""

from __future__ import annotations

from enum import Enum
from typing import Self

from crm_xl.domain.errors import InputError
from crm_xl.domain.text import normalize


def _norm(s: str) -> str:
    # normalize's Persian spelling, plus ة as ه (people type either in a label) and case.
    return normalize(s).replace("ة", "ه").casefold()


class LabeledEnum(str, Enum):
    """A str enum whose members carry a Persian (``fa``) and English (``en``) label."""

    fa: str  # type: ignore[misc]  # set per member in __new__
    en: str  # type: ignore[misc]

    def __new__(cls, *labels: str) -> Self:
        # Members are declared as (key, Persian label, English label); a lookup is Stage("won").
        key, fa, en = labels
        obj = str.__new__(cls, key)
        obj._value_ = key
        obj.fa = fa  # type: ignore[misc]
        obj.en = en  # type: ignore[misc]
        return obj

    def __str__(self) -> str:
        return self.value

    @classmethod
    def labels(cls) -> list[str]:
        """Persian labels in declaration order (the drop-down list)."""
        return [m.fa for m in cls]

    @classmethod
    def parse(cls, value: object) -> Self:
        """Member for a key, Persian label or English label; ValueError naming the allowed values."""
        if isinstance(value, cls):
            return value
        text = _norm(str(value if value is not None else ""))
        for m in cls:
            if text in (_norm(m.value), _norm(m.fa), _norm(m.en)):
                return m
        allowed = "، ".join(cls.labels())
        # An InputError (a ValueError too): uncaught, it still reaches the user as a bilingual
        # input error (exit 1), e.g. ``--next-type nonsense`` or ``--stage nonsense``.
        raise InputError(
            f"مقدار «{value}» مجاز نیست؛ مقادیر مجاز: {allowed}",
            f"'{value}' is not allowed; allowed: {', '.join(m.value for m in cls)}",
            code="constraint-error",
        )


class PersonType(LabeledEnum):
    NATURAL = "natural", "حقیقی", "Natural person"
    LEGAL = "legal", "حقوقی", "Legal entity"


class Channel(LabeledEnum):
    IN_PERSON = "in_person", "حضوری", "In person"
    PHONE = "phone", "تلفن", "Phone"
    FAX = "fax", "فکس", "Fax"
    EMAIL = "email", "ایمیل", "Email"
    WEBSITE = "website", "وب‌سایت", "Website"
    EXHIBITION = "exhibition", "نمایشگاه", "Exhibition"
    TELEGRAM = "telegram", "تلگرام", "Telegram"
    WHATSAPP = "whatsapp", "واتس‌اپ", "WhatsApp"
    EITAA = "eitaa", "ایتا", "Eitaa"
    RUBIKA = "rubika", "روبیکا", "Rubika"
    BALE = "bale", "بله", "Bale"
    INSTAGRAM = "instagram", "اینستاگرام", "Instagram"
    REFERRAL = "referral", "معرفی", "Referral"
    OTHER = "other", "سایر", "Other"


class Stage(LabeledEnum):
    """Customer lifecycle (R1-R3, R11); transitions and guards live in ``lifecycle``."""

    FIRST_CONTACT = "first_contact", "تماس اول", "First contact"
    FOLLOW_UP = "follow_up", "در حال پیگیری", "Following up"
    NEGOTIATION = "negotiation", "مذاکره", "Negotiation"
    PROPOSAL = "proposal", "پیش‌فاکتور", "Proposal sent"
    WON = "won", "فروش انجام شد", "Won"
    LOST = "lost", "منصرف / ناموفق", "Lost"
    CRM_DONE = "crm_done", "CRM انجام شد", "CRM done"
    CLOSED = "closed", "بسته و بایگانی", "Closed and archived"


class FollowUpType(LabeledEnum):
    PHONE = "phone", "تماس تلفنی", "Phone call"
    FAX = "fax", "ارسال فکس", "Fax"
    EMAIL = "email", "ارسال ایمیل", "Email"
    MESSENGER = "messenger", "شبکه اجتماعی / پیام‌رسان", "Social network / messenger"
    SMS = "sms", "پیامک", "SMS"
    IN_PERSON = "in_person", "مراجعه حضوری", "In person"
    VISIT = "visit", "بازدید", "Visit"


class FollowUpState(LabeledEnum):
    ON_TIME = "on_time", "به‌موقع", "On time"
    DUE_TODAY = "due_today", "موعد امروز", "Due today"
    OVERDUE = "overdue", "معوق", "Overdue"
    STALLED = "stalled", "راکد", "Stalled"
    #: An open customer whose latest follow-up planned nothing (SPEC §6).
    NO_NEXT_ACTION = "no-next-action", "بدون اقدام بعدی", "No planned next action"
    FINAL = "final", "نهایی", "Final (no follow-up due)"


class Priority(LabeledEnum):
    LOW = "low", "کم", "Low"
    NORMAL = "normal", "عادی", "Normal"
    HIGH = "high", "زیاد", "High"
    URGENT = "urgent", "فوری", "Urgent"


class Importance(LabeledEnum):
    LOW = "low", "کم", "Low"
    MEDIUM = "medium", "متوسط", "Medium"
    HIGH = "high", "زیاد", "High"


class Gender(LabeledEnum):
    MALE = "male", "مرد", "Male"
    FEMALE = "female", "زن", "Female"


class MaritalStatus(LabeledEnum):
    SINGLE = "single", "مجرد", "Single"
    MARRIED = "married", "متأهل", "Married"


class CompanyType(LabeledEnum):
    PRIVATE_JS = "private_joint_stock", "سهامی خاص", "Private joint-stock"
    PUBLIC_JS = "public_joint_stock", "سهامی عام", "Public joint-stock"
    LIMITED = "limited", "با مسئولیت محدود", "Limited liability"
    COOPERATIVE = "cooperative", "تعاونی", "Cooperative"
    PARTNERSHIP = "partnership", "تضامنی", "General partnership"
    GOVERNMENT = "government", "دولتی", "Government"
    NONPROFIT = "nonprofit", "مؤسسه غیرتجاری", "Non-profit institute"
    OTHER = "other", "سایر", "Other"


class YesNo(LabeledEnum):
    YES = "yes", "بله", "Yes"
    NO = "no", "خیر", "No"


class RecordStatus(LabeledEnum):
    ACTIVE = "active", "فعال", "Active"
    VOID = "void", "باطل", "Void"


_VOID = RecordStatus.VOID


def is_void(flag: object) -> bool:
    """The one answer to "is this number void": its void flag says so.

    ``flag`` is a row's ``record_status`` (customer, case, invoice) or a case's
    ``contract_status`` (a contract is voided on its case row, which stays live), as a member,
    a label or a key; blank or anything else is live.  Readers never look at message text or
    at the number itself (``crm-xl upgrade`` turns the old «(باطل)» suffix into this flag).
    """
    if flag is _VOID:
        return True
    if flag is None or flag.__class__ is RecordStatus or flag == "":
        return False  # the usual cells first: validate asks this of every row, several times
    try:
        return RecordStatus.parse(flag) is RecordStatus.VOID
    except ValueError:
        return False


class CaseStatus(LabeledEnum):
    OPEN = "open", "باز", "Open"
    CONTRACTED = "contracted", "قرارداد بسته شد", "Contracted"
    INVOICED = "invoiced", "فاکتور شد", "Invoiced"
    DELIVERED = "delivered", "تحویل شد", "Delivered"
    CANCELLED = "cancelled", "لغو شد", "Cancelled"


class Origin(LabeledEnum):
    IMPORTED = "imported", "وارداتی", "Imported"
    DOMESTIC = "domestic", "تولید داخل", "Domestic"


class AfterSalesService(LabeledEnum):
    """The services seed 003 lists for goods that have after-sales service."""

    INSTALLATION = "installation", "نصب در محل مشتری", "Installation at customer's site"
    COMMISSIONING = "commissioning", "راه‌اندازی", "Commissioning"
    TRAINING = "training", "آموزش اپراتور", "Operator training"
    INSPECTION = "inspection", "بازدیدهای فنی دوره‌ای", "Periodic technical inspections"
    SERVICING = "servicing", "سرویس‌های دوره‌ای", "Periodic servicing"
    REPLACEMENT = "replacement", "تعویض‌های دوره‌ای و اتفاقی", "Periodic and incidental changes"
    CALIBRATION = (
        "calibration",
        "کالیبراسیون تجهیزات اندازه‌گیری",
        "Calibration of measuring equipment",
    )


class NoServiceReason(LabeledEnum):
    """Why a product has no after-sales service (seed 003)."""

    SANCTIONS = "sanctions", "تحریم", "Sanctions"
    SIMPLICITY = "simplicity", "سادگی کالا", "Simplicity of the goods"
    DISTANCE = "distance", "دوری از سازنده", "Distance from the manufacturer"
    NO_KNOWLEDGE = "no_knowledge", "عدم دانش فنی", "Lack of technical knowledge"
    OTHER = "other", "سایر", "Other"


#: Every enumeration a form field may use, by name; the schema refers to these names.
ENUMS: dict[str, type[LabeledEnum]] = {
    cls.__name__: cls
    for cls in (
        PersonType,
        Channel,
        Stage,
        FollowUpType,
        FollowUpState,
        Priority,
        Importance,
        Gender,
        MaritalStatus,
        CompanyType,
        YesNo,
        RecordStatus,
        CaseStatus,
        Origin,
        AfterSalesService,
        NoServiceReason,
    )
}
