"""Which writes to a change are the change manager's: approving, rejecting, scheduling.

One rule for the API (changes.views) and the admin (changes.admin): moving a change into
approved, rejected or scheduled, or moving the window of a change that is approved or
scheduled, needs `changes.approve_change`; anything else an agent may do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from changes.models import Change, ChangeStatus

APPROVE_PERMISSION = "changes.approve_change"
# "rejected" is the contract's status (CONTRACT.md), whether or not the model has it yet.
APPROVAL_STATUSES = frozenset({ChangeStatus.APPROVED, "rejected", ChangeStatus.SCHEDULED})
WINDOW_FIELDS = ("scheduled_start", "scheduled_end")
_COMMITTED = frozenset({ChangeStatus.APPROVED, ChangeStatus.SCHEDULED})


def approval_reason(*, change: Change | None, data: Mapping[str, Any]) -> str | None:
    """Why writing `data` to `change` (None: creating one) needs the approve permission,
    or None when it does not."""
    current = change.status if change is not None else None
    status = data.get("status", current)
    if status in APPROVAL_STATUSES and status != current:
        return f"Setting a change's status to {status} is for change managers."
    moved = [
        name
        for name in WINDOW_FIELDS
        if name in data and (change is None or data[name] != getattr(change, name))
    ]
    if moved and status in _COMMITTED:
        return f"Rescheduling a change that is {status} is for change managers."
    return None


def may_write(*, user: Any, change: Change | None, data: Mapping[str, Any]) -> str | None:
    """None if `user` may write `data` to `change`, else the reason they may not."""
    reason = approval_reason(change=change, data=data)
    if reason is None or user.has_perm(APPROVE_PERMISSION):
        return None
    return reason
