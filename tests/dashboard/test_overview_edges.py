"""Edges of the overview's counts that the main dataset does not reach."""

from __future__ import annotations

import pytest
from django.utils import timezone

from changes.factories import ChangeFactory
from changes.models import Change

NOT_SCHEDULED = {Change.Status.DRAFT, *Change.INACTIVE_STATUSES}


@pytest.mark.parametrize("status", Change.Status.values)
def test_scheduled_this_week_counts_a_change_unless_it_is_a_draft_or_cancelled(
    acme_api, in_acme, status
):
    ChangeFactory(status=status, scheduled_start=timezone.now(), scheduled_end=None)
    changes = acme_api.get("/api/v1/dashboard/overview/").json()["changes"]
    assert changes["scheduledThisWeek"] == (0 if status in NOT_SCHEDULED else 1)
