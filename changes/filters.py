"""Change list filters."""

from __future__ import annotations

from changes.models import Change
from firelater.filters import RecordFilter, choices_filter, moment_range


class ChangeFilter(RecordFilter):
    status = choices_filter(Change.Status)
    risk = choices_filter(Change.Risk)
    type = choices_filter(Change.Type)
    outcome = choices_filter(Change.Outcome)
    scheduled_after, scheduled_before = moment_range("scheduled_start")
    completed_after, completed_before = moment_range("completed_at")

    class Meta:
        model = Change
        fields = ["status", "risk", "type", "outcome", "application"]
