"""The change-management workflow: which status may follow which, and the outcome each
end state records. The one place these rules live (API, admin and bulk actions read it).

A change is drafted, submitted, reviewed (optional for standard changes), approved or
rejected, scheduled, implemented, and ends completed, failed or rolled back; closing it
keeps the outcome it ended with. Creating a change may start it in any status (an import
of existing changes); every later status change must follow TRANSITIONS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

from changes.models import Change, ChangeOutcome, ChangeStatus

S = ChangeStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
    # Scheduling a submitted or reviewed change approves it too (a change manager's move).
    S.SUBMITTED: frozenset({S.DRAFT, S.REVIEW, S.APPROVED, S.SCHEDULED, S.REJECTED, S.CANCELLED}),
    S.REVIEW: frozenset({S.APPROVED, S.SCHEDULED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.IMPLEMENTING, S.CANCELLED}),
    S.REJECTED: frozenset({S.DRAFT, S.CLOSED}),
    S.SCHEDULED: frozenset({S.APPROVED, S.IMPLEMENTING, S.CANCELLED}),
    S.IMPLEMENTING: frozenset({S.COMPLETED, S.FAILED, S.ROLLED_BACK}),
    S.COMPLETED: frozenset({S.ROLLED_BACK, S.CLOSED}),
    S.FAILED: frozenset({S.ROLLED_BACK, S.CLOSED}),
    S.ROLLED_BACK: frozenset({S.CLOSED}),
    S.CANCELLED: frozenset({S.DRAFT, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# The outcome a status records when none is given, and the outcomes it allows.
DEFAULT_OUTCOME: dict[str, str] = {
    S.COMPLETED: ChangeOutcome.SUCCESSFUL,
    S.FAILED: ChangeOutcome.FAILED,
    S.ROLLED_BACK: ChangeOutcome.ROLLED_BACK,
}
ALLOWED_OUTCOMES: dict[str, frozenset[str]] = {
    S.COMPLETED: frozenset(ChangeOutcome.values),
    S.FAILED: frozenset({ChangeOutcome.FAILED, ChangeOutcome.ROLLED_BACK}),
    S.ROLLED_BACK: frozenset({ChangeOutcome.ROLLED_BACK}),
}


class TransitionError(ValidationError):
    """A status change the workflow does not allow (the API answers 409, the admin shows
    it on the status field)."""


def allowed_next(status: str) -> frozenset[str]:
    return TRANSITIONS.get(status, frozenset())


def statuses_that_may_become(status: str) -> list[str]:
    """The statuses from which `status` may be reached (bulk actions filter by these)."""
    return [source for source, targets in TRANSITIONS.items() if status in targets]


def check_transition(old: str, new: str) -> None:
    if old != new and new not in allowed_next(old):
        allowed = ", ".join(sorted(allowed_next(old))) or "none (it is final)"
        raise TransitionError(
            {
                "status": f"A change cannot go from {old!r} to {new!r}; "
                f"from {old!r} it may go to: {allowed}."
            }
        )


def outcome_for(status: str, old_outcome: str | None, given: str | None) -> str | None:
    """The outcome a change has in `status`: the given one (checked), else the status's
    default; closed keeps the old one; every other status has none.

    Raises ValidationError on `outcome` when `given` does not fit the status."""
    if status == S.CLOSED:
        if given is not None and given != old_outcome:
            raise _outcome_error("Closing a change keeps its outcome; it cannot be changed.")
        return old_outcome
    if status not in ALLOWED_OUTCOMES:
        if given is not None:
            raise _outcome_error(
                "Only a completed, failed or rolled-back change has an outcome "
                f"(this one is {status!r})."
            )
        return None
    if given is None:
        keep = old_outcome in ALLOWED_OUTCOMES[status]
        return old_outcome if keep else DEFAULT_OUTCOME[status]
    if given not in ALLOWED_OUTCOMES[status]:
        allowed = ", ".join(sorted(ALLOWED_OUTCOMES[status]))
        raise _outcome_error(f"A {status} change's outcome is one of: {allowed}.")
    return given


def _outcome_error(message: str) -> ValidationError:
    return ValidationError({"outcome": message})


def settle(
    change: Change,
    *,
    old_status: str | None,
    old_outcome: str | None,
    given_outcome: Any,
    now: datetime,
) -> set[str]:
    """Apply the workflow to a change whose status may just have been set: check the
    transition (not for a new change), set its outcome and completed_at to fit the
    status; return the fields this changed."""
    if old_status is not None:
        check_transition(old_status, change.status)
    outcome = outcome_for(change.status, old_outcome, given_outcome)
    changed = set()
    if outcome != old_outcome or (outcome is not None and change.completed_at is None):
        change.outcome = outcome
        change.completed_at = now if outcome is not None else None
        changed = {"outcome", "completed_at"}
    return changed


def bulk_status_update(status: str, now: datetime) -> dict[str, Any]:
    """QuerySet.update() arguments moving many changes to `status` (filter the rows with
    statuses_that_may_become first): the outcome its end state records, none otherwise;
    closing keeps each row's."""
    if status == S.CLOSED:
        return {"status": status, "updated_at": now}
    outcome = DEFAULT_OUTCOME.get(status)
    return {
        "status": status,
        "outcome": outcome,
        "completed_at": now if outcome is not None else None,
        "updated_at": now,
    }
