"""Lifecycle guards (R1-R3, R11): every operation's rule, and the data staying consistent."""

import pytest

from crm_xl.domain.enums import CaseStatus, Stage
from crm_xl.domain.errors import InputError
from crm_xl.domain.lifecycle import (
    FINAL,
    OPERATIONS,
    PRE_SALE,
    TRANSITIONS,
    CaseState,
    CustomerState,
    apply,
    at_or_after,
    check,
    is_open,
    needs_followup,
    next_stage,
)

S = Stage
ALL = list(Stage)


def _allowed(
    op: str, state: CustomerState, case: CaseState | None = None, target: Stage | None = None
) -> bool:
    try:
        check(op, state, case, target)
    except InputError as e:
        assert e.code == "lifecycle-guard"
        assert e.fa and e.en
        return False
    return True


def test_transitions_cover_every_stage() -> None:
    assert set(TRANSITIONS) == set(Stage)
    assert all(s not in t for s, t in TRANSITIONS.items())


@pytest.mark.parametrize("stage", ALL)
@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_every_allowed_operation_follows_a_transition(op: str, stage: Stage) -> None:
    """Whatever the guards allow lands on the same stage or an allowed transition."""
    state = CustomerState(stage, case_count=1, live_case_count=1 if stage is not S.LOST else 0)
    for target in [None, *PRE_SALE]:
        if _allowed(op, state, CaseState(), target):
            new = next_stage(stage, op, target)
            assert new == stage or new in TRANSITIONS[stage], (op, stage, new)


@pytest.mark.parametrize("stage", ALL)
def test_followup(stage: Stage) -> None:
    assert _allowed("followup", CustomerState(stage)) is (stage not in FINAL)
    if stage not in FINAL:
        expected = S.FOLLOW_UP if stage is S.FIRST_CONTACT else stage
        assert apply("followup", CustomerState(stage)) is expected


def test_set_stage() -> None:
    assert apply("set_stage", CustomerState(S.FOLLOW_UP), target=S.PROPOSAL) is S.PROPOSAL
    assert not _allowed("set_stage", CustomerState(S.FOLLOW_UP), target=S.WON)  # needs a case
    assert not _allowed("set_stage", CustomerState(S.FOLLOW_UP), target=S.LOST)  # mark_lost
    assert not _allowed("set_stage", CustomerState(S.FOLLOW_UP))
    assert not _allowed("set_stage", CustomerState(S.PROPOSAL), target=S.FIRST_CONTACT)
    assert apply("set_stage", CustomerState(S.PROPOSAL), target=S.PROPOSAL) is S.PROPOSAL
    assert not _allowed("set_stage", CustomerState(S.WON, 1, 1), target=S.NEGOTIATION)
    with pytest.raises(ValueError):
        next_stage(S.FOLLOW_UP, "set_stage")


@pytest.mark.parametrize("stage", ALL)
def test_open_case(stage: Stage) -> None:
    ok = _allowed("open_case", CustomerState(stage))
    assert ok is (stage not in (S.LOST, S.CLOSED))
    if ok:
        assert next_stage(stage, "open_case") is S.WON


def test_add_contract() -> None:
    won = CustomerState(S.WON, 1, 1)
    assert apply("add_contract", won, CaseState()) is S.WON
    assert not _allowed("add_contract", won)  # no case
    assert not _allowed("add_contract", won, CaseState(CaseStatus.CANCELLED))
    assert not _allowed("add_contract", won, CaseState(has_contract=True))
    assert not _allowed("add_contract", CustomerState(S.CLOSED, 1, 1), CaseState())


def test_issue_invoice() -> None:
    won = CustomerState(S.WON, 1, 1)
    assert apply("issue_invoice", won, CaseState()) is S.WON  # a contract is not required
    assert apply("issue_invoice", won, CaseState(CaseStatus.CONTRACTED, True, 2)) is S.WON
    assert not _allowed("issue_invoice", won)
    assert not _allowed("issue_invoice", won, CaseState(CaseStatus.CANCELLED))
    assert not _allowed("issue_invoice", CustomerState(S.CLOSED, 1, 1), CaseState())


def test_cancel_case() -> None:
    won = CustomerState(S.WON, 1, 1)
    assert apply("cancel_case", won, CaseState()) is S.WON
    assert not _allowed("cancel_case", won, CaseState(invoice_count=1))  # void invoices first
    assert not _allowed("cancel_case", won, CaseState(CaseStatus.CANCELLED))
    assert not _allowed("cancel_case", won)


@pytest.mark.parametrize("stage", ALL)
def test_crm_done(stage: Stage) -> None:
    assert _allowed("crm_done", CustomerState(stage, 1, 1)) is (stage is S.WON)
    assert not _allowed("crm_done", CustomerState(S.WON, 1, 0))  # only cancelled cases
    assert apply("crm_done", CustomerState(S.WON, 1, 1)) is S.CRM_DONE


@pytest.mark.parametrize("stage", ALL)
def test_close(stage: Stage) -> None:
    assert _allowed("close", CustomerState(stage, 1, 1)) is (stage in (S.CRM_DONE, S.LOST))
    if stage in (S.CRM_DONE, S.LOST):
        assert next_stage(stage, "close") is S.CLOSED


@pytest.mark.parametrize("stage", ALL)
def test_reopen(stage: Stage) -> None:
    assert _allowed("reopen", CustomerState(stage)) is (stage in FINAL)
    if stage in FINAL:
        assert next_stage(stage, "reopen") is S.FOLLOW_UP


@pytest.mark.parametrize("stage", ALL)
def test_mark_lost(stage: Stage) -> None:
    assert _allowed("mark_lost", CustomerState(stage, 1, 1)) is (stage in PRE_SALE)
    # A won customer whose every case was cancelled may be marked lost.
    assert _allowed("mark_lost", CustomerState(S.WON, 2, 0))
    assert apply("mark_lost", CustomerState(S.NEGOTIATION)) is S.LOST


def test_unknown_operation() -> None:
    with pytest.raises(InputError) as e:
        check("teleport", CustomerState(S.WON))
    assert e.value.code == "lifecycle-guard"
    with pytest.raises(ValueError):
        next_stage(S.WON, "teleport")


def test_guard_message_is_bilingual_and_names_stage() -> None:
    with pytest.raises(InputError) as e:
        check("close", CustomerState(S.WON, 1, 1))
    assert "فروش انجام شد" in e.value.fa and "Won" in e.value.en
    assert e.value.location.field == "stage"


def test_open_and_followup_predicates() -> None:
    assert [s for s in Stage if not is_open(s)] == [S.LOST, S.CLOSED]
    assert is_open(S.CRM_DONE) and not needs_followup(S.CRM_DONE)
    assert needs_followup(S.WON) and needs_followup(S.FIRST_CONTACT)
    assert not needs_followup(S.LOST) and not needs_followup(S.CLOSED)


def test_full_happy_path() -> None:
    stage = S.FIRST_CONTACT
    stage = apply("followup", CustomerState(stage))
    stage = apply("set_stage", CustomerState(stage), target=S.PROPOSAL)
    stage = apply("open_case", CustomerState(stage))
    stage = apply("add_contract", CustomerState(stage, 1, 1), CaseState())
    stage = apply(
        "issue_invoice", CustomerState(stage, 1, 1), CaseState(CaseStatus.CONTRACTED, True)
    )
    stage = apply("crm_done", CustomerState(stage, 1, 1))
    stage = apply("close", CustomerState(stage, 1, 1))
    assert stage is S.CLOSED
    assert apply("reopen", CustomerState(stage, 1, 1)) is S.FOLLOW_UP


def test_a_void_customer_or_case_takes_no_operation() -> None:
    void = CustomerState(S.WON, 1, 1, void=True)
    for op in OPERATIONS:
        with pytest.raises(InputError) as e:
            check(op, void, CaseState(), S.PROPOSAL)
        assert e.value.code == "void-number" and "باطل" in e.value.fa and "void" in e.value.en
    with pytest.raises(InputError) as e:
        check("issue_invoice", CustomerState(S.WON, 1, 1), CaseState(void=True))
    assert e.value.code == "void-number" and "case" in e.value.en


@pytest.mark.parametrize(
    ("op", "state", "case", "command"),
    [
        ("mark_lost", CustomerState(S.WON, 1, 1), None, "crm-xl case cancel"),
        ("followup", CustomerState(S.LOST), None, "crm-xl customer reopen"),
        ("open_case", CustomerState(S.CLOSED), None, "crm-xl customer reopen"),
        ("issue_invoice", CustomerState(S.CLOSED, 1, 1), CaseState(), "crm-xl customer reopen"),
        ("cancel_case", CustomerState(S.WON, 1, 1), CaseState(invoice_count=1), "crm-xl void"),
        ("close", CustomerState(S.WON, 1, 1), None, "crm-xl customer crm-done"),
    ],
)
def test_a_refusal_names_the_command_that_helps(
    op: str, state: CustomerState, case: CaseState | None, command: str
) -> None:
    with pytest.raises(InputError) as e:
        check(op, state, case)
    assert command in e.value.fa and command in e.value.en


def test_mark_lost_on_a_final_customer_says_so() -> None:
    with pytest.raises(InputError) as e:
        check("mark_lost", CustomerState(S.CLOSED, 1, 0))
    assert "already final" in e.value.en and "cancel" not in e.value.en


def test_stages_a_field_is_required_from() -> None:
    assert at_or_after("won") == {S.WON, S.CRM_DONE, S.CLOSED}  # LOST: never bought
    assert at_or_after("crm_done") == {S.CRM_DONE, S.CLOSED}
    assert at_or_after("proposal") == {S.PROPOSAL}
