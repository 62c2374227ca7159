"""The customer lifecycle as data (R1-R3, R11): stages, allowed transitions, operation guards.

Pure functions of a small snapshot, so the CLI, the Excel buttons and the tests share one
rule book.  Decisions:

* Pre-sale stages (first contact → follow-up ↔ negotiation ↔ proposal) move freely; a
  follow-up's "resulting status" uses the ``set_stage`` operation to move between them.
* ``open_case`` is the only way to WON (a sale is a case, R6); it is also allowed on
  CRM_DONE (a repeat sale before the file is archived) and moves back to WON.
* ``mark_lost`` is for customers without a live sale: a WON customer can only be marked
  lost when every case of theirs is cancelled.  Cancel the case first (``cancel_case``,
  which needs its invoices voided first).
* ``crm_done`` needs WON with at least one live case; ``close`` needs CRM_DONE or LOST.
* ``reopen`` brings a LOST or CLOSED customer back to FOLLOW_UP (R11 archives only
  "temporarily"); existing cases stay.
* Follow-ups are not recorded on LOST or CLOSED customers (reopen first); they are allowed
  on WON and CRM_DONE (after-sales calls).  Contracts and invoices are refused on CLOSED
  customers (archived files are not written to).
* Open (:func:`is_open`) = not final; LOST and CLOSED are final.  CRM_DONE is open: it waits
  to be closed but needs no follow-up (:func:`needs_followup`).
* A void customer or case (its number voided, kept only as a record) takes no operation.
* A refusal that sends the user elsewhere names the command that does it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crm_xl.domain.enums import CaseStatus, Stage
from crm_xl.domain.errors import InputError

S = Stage
PRE_SALE: frozenset[Stage] = frozenset({S.FIRST_CONTACT, S.FOLLOW_UP, S.NEGOTIATION, S.PROPOSAL})
FINAL: frozenset[Stage] = frozenset({S.LOST, S.CLOSED})

#: Allowed stage changes (staying in the same stage is always allowed and not listed).
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    S.FIRST_CONTACT: frozenset({S.FOLLOW_UP, S.NEGOTIATION, S.PROPOSAL, S.WON, S.LOST}),
    S.FOLLOW_UP: frozenset({S.NEGOTIATION, S.PROPOSAL, S.WON, S.LOST}),
    S.NEGOTIATION: frozenset({S.FOLLOW_UP, S.PROPOSAL, S.WON, S.LOST}),
    S.PROPOSAL: frozenset({S.FOLLOW_UP, S.NEGOTIATION, S.WON, S.LOST}),
    S.WON: frozenset({S.CRM_DONE, S.LOST}),  # LOST only when every case is cancelled
    S.LOST: frozenset({S.CLOSED, S.FOLLOW_UP}),
    S.CRM_DONE: frozenset({S.CLOSED, S.WON}),
    S.CLOSED: frozenset({S.FOLLOW_UP}),
}

#: Stages at or after the stage a field is required from (``schema.Field.required_from``).
#: LOST is a side branch: a customer who never bought needs no buyer data.
LATER: dict[Stage, frozenset[Stage]] = {
    S.WON: frozenset({S.WON, S.CRM_DONE, S.CLOSED}),
    S.CRM_DONE: frozenset({S.CRM_DONE, S.CLOSED}),
    S.CLOSED: frozenset({S.CLOSED}),
}


def stage_of(row: Mapping[str, Any]) -> Stage:
    """The stage of a register row: blank is a first contact; an unreadable stage typed by
    hand is treated as open (follow-up), so the customer stays in the task lists."""
    try:
        return Stage.parse(row.get("stage") or Stage.FIRST_CONTACT)
    except ValueError:
        return Stage.FOLLOW_UP


def at_or_after(stage_key: str) -> frozenset[Stage]:
    """The stages in which a field ``required_from`` this stage key must be filled."""
    return LATER.get(Stage.parse(stage_key), frozenset({Stage.parse(stage_key)}))


#: Operations and their labels (fa, en).
OPERATIONS: dict[str, tuple[str, str]] = {
    "followup": ("ثبت پیگیری", "log a follow-up"),
    "set_stage": ("تغییر وضعیت", "change the stage"),
    "open_case": ("تشکیل پرونده فروش", "open a sales case"),
    "add_contract": ("ثبت قرارداد", "add a contract"),
    "issue_invoice": ("صدور فاکتور", "issue an invoice"),
    "cancel_case": ("لغو پرونده", "cancel a case"),
    "crm_done": ("ثبت انجام CRM", "mark CRM done"),
    "close": ("بستن و بایگانی", "close and archive"),
    "reopen": ("بازگشایی", "reopen"),
    "mark_lost": ("ثبت انصراف / ناموفق", "mark lost"),
}


@dataclass(frozen=True)
class CaseState:
    """What the guards need to know about one sales case."""

    status: CaseStatus = CaseStatus.OPEN
    has_contract: bool = False  # a contract that is not void
    invoice_count: int = 0  # active (not void) invoices
    void: bool = False


@dataclass(frozen=True)
class CustomerState:
    """What the guards need to know about one customer."""

    stage: Stage
    case_count: int = 0  # all cases, cancelled included (void ones not)
    live_case_count: int = 0  # cases neither cancelled nor void
    void: bool = False


def is_open(stage: Stage) -> bool:
    """Not final: everything except LOST and CLOSED (CRM_DONE still waits to be closed)."""
    return stage not in FINAL


def needs_followup(stage: Stage) -> bool:
    """Whether follow-up control (due / overdue / stalled) applies: pre-sale stages and WON."""
    return stage in PRE_SALE or stage is S.WON


def _refuse(operation: str, fa: str, en: str, stage: Stage) -> InputError:
    op_fa, op_en = OPERATIONS.get(operation, (operation, operation))
    return InputError(
        f"{op_fa} ممکن نیست: {fa} (وضعیت فعلی: {stage.fa})",
        f"cannot {op_en}: {en} (current stage: {stage.en})",
        code="lifecycle-guard",
        field="stage",
    )


def check(
    operation: str,
    state: CustomerState,
    case: CaseState | None = None,
    target: Stage | None = None,
) -> None:
    """Raise InputError (code "lifecycle-guard") if ``operation`` is not allowed in ``state``.

    ``case`` is the case the operation acts on (contract, invoice, cancel); ``target`` the
    stage a ``set_stage`` moves to.
    """
    st = state.stage
    if operation not in OPERATIONS:
        raise InputError(
            f"عملیات ناشناخته «{operation}»",
            f"unknown operation '{operation}'",
            code="lifecycle-guard",
        )
    if state.void or (case is not None and case.void):
        what_fa, what_en = ("مشتری", "customer") if state.void else ("پرونده", "case")
        op_fa, op_en = OPERATIONS[operation]
        raise InputError(
            f"{op_fa} ممکن نیست: شماره این {what_fa} باطل شده است و عملیاتی روی آن ثبت نمی‌شود",
            f"cannot {op_en}: this {what_en} number is void and takes no further operation",
            code="void-number",
            field="record_status",
        )
    if operation == "followup":
        if st in FINAL:
            raise _refuse(
                operation,
                "مشتری نهایی شده است؛ ابتدا بازگشایی کنید (crm-xl customer reopen)",
                "the customer is final; reopen first (crm-xl customer reopen)",
                st,
            )
    elif operation == "set_stage":
        if target is None or target not in PRE_SALE:
            raise _refuse(
                operation,
                "فقط وضعیت‌های پیش از فروش با پیگیری تغییر می‌کنند؛ برای فروش پرونده تشکیل دهید",
                "a follow-up only moves between pre-sale stages; a sale needs a case",
                st,
            )
        if st in PRE_SALE and target is not st and target not in TRANSITIONS[st]:
            raise _refuse(
                operation,
                f"بازگشت به «{target.fa}» ممکن نیست",
                f"cannot go back to '{target.en}'",
                st,
            )
        if st not in PRE_SALE:
            raise _refuse(
                operation,
                "مشتری دیگر در مرحله پیش از فروش نیست",
                "the customer is past the pre-sale stages",
                st,
            )
    elif operation == "open_case":
        if st in FINAL:
            raise _refuse(
                operation,
                "مشتری منصرف شده یا بسته است؛ ابتدا بازگشایی کنید (crm-xl customer reopen)",
                "the customer is lost or closed; reopen first (crm-xl customer reopen)",
                st,
            )
    elif operation in ("add_contract", "issue_invoice", "cancel_case"):
        if case is None:
            raise _refuse(operation, "پرونده فروش لازم است", "a sales case is needed", st)
        if st is S.CLOSED:
            raise _refuse(
                operation,
                "پرونده مشتری بسته و بایگانی شده است؛ ابتدا بازگشایی کنید (crm-xl customer reopen)",
                "the customer is closed and archived; reopen first (crm-xl customer reopen)",
                st,
            )
        if case.status is CaseStatus.CANCELLED:
            raise _refuse(operation, "پرونده لغو شده است", "the case is cancelled", st)
        if operation == "add_contract" and case.has_contract:
            raise _refuse(
                operation, "این پرونده قرارداد دارد", "the case already has a contract", st
            )
        if operation == "cancel_case" and case.invoice_count > 0:
            raise _refuse(
                operation,
                "ابتدا فاکتورهای پرونده را باطل کنید (crm-xl void)",
                "void the case's invoices first (crm-xl void)",
                st,
            )
    elif operation == "crm_done":
        if st is not S.WON or state.live_case_count < 1:
            raise _refuse(
                operation,
                "CRM پس از فروش (وضعیت «فروش انجام شد» با پرونده فعال) انجام می‌شود",
                "CRM comes after a sale (stage Won with a live case)",
                st,
            )
    elif operation == "close":
        if st not in (S.CRM_DONE, S.LOST):
            raise _refuse(
                operation,
                "بستن فقط پس از انجام CRM (crm-xl customer crm-done) یا انصراف مشتری (--lost)",
                "a customer is closed only after CRM is done (crm-xl customer crm-done) or as lost (--lost)",
                st,
            )
    elif operation == "reopen":
        if st not in FINAL:
            raise _refuse(operation, "مشتری باز است", "the customer is not lost or closed", st)
    elif operation == "mark_lost":
        if st in FINAL:
            raise _refuse(operation, "مشتری از قبل نهایی است", "the customer is already final", st)
        if st not in PRE_SALE and not (st is S.WON and state.live_case_count == 0):
            raise _refuse(
                operation,
                "مشتری فروش فعال دارد؛ ابتدا پرونده‌ها را لغو کنید (crm-xl case cancel)",
                "the customer has a live sale; cancel the cases first (crm-xl case cancel)",
                st,
            )


def next_stage(current: Stage, operation: str, target: Stage | None = None) -> Stage:
    """The stage after ``operation`` (call :func:`check` first; this does not guard)."""
    if operation == "followup":
        return S.FOLLOW_UP if current is S.FIRST_CONTACT else current
    if operation == "set_stage":
        if target is None:
            raise ValueError("set_stage needs a target stage")
        return target
    result = {
        "open_case": S.WON,
        "crm_done": S.CRM_DONE,
        "close": S.CLOSED,
        "reopen": S.FOLLOW_UP,
        "mark_lost": S.LOST,
    }.get(operation)
    if result is None and operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    return current if result is None else result


def apply(
    operation: str,
    state: CustomerState,
    case: CaseState | None = None,
    target: Stage | None = None,
) -> Stage:
    """:func:`check` then :func:`next_stage`: the new stage, or InputError."""
    check(operation, state, case, target)
    return next_stage(state.stage, operation, target)
