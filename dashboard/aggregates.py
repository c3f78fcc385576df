"""Every summary the dashboard reads, by source table (the rebuild command and the tests)."""

from __future__ import annotations

from changes import aggregates as changes
from firelater.aggregates import MeasuredSummary, Summary
from issues import aggregates as issues
from requests_app import aggregates as requests

SUMMARIES_BY_SOURCE: dict[str, tuple[Summary, ...]] = {
    issues.SOURCE: issues.SUMMARIES,
    changes.SOURCE: changes.SUMMARIES,
    requests.SOURCE: requests.SUMMARIES,
}
ALL_SUMMARIES = tuple(s for group in SUMMARIES_BY_SOURCE.values() for s in group)
# Summaries with several measures per group (#14's entries), each on its own triggers.
MEASURED_SUMMARIES: tuple[MeasuredSummary, ...] = (
    issues.SLA_HOURLY,
    changes.ENDED_QUARTERLY,
    requests.BY_ITEM_DAILY,
)
