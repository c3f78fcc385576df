"""OpenAPI descriptions of the dashboard responses (documentation only; never used to render).

Field names are snake_case here; the schema's post-processing hook camelizes them as the
renderer does, so the schema matches what clients receive.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers

from applications.models import HealthStatus
from changes.models import Change
from cloud.models import CloudProvider
from firelater.models import Priority
from firelater.openapi import ErrorSerializer
from issues.models import Issue
from requests_app.models import Request


def counts(name: str, names: str, **described: str) -> type[serializers.Serializer]:
    """A serializer class of integer counts: `names` space-separated, `described` with a
    help text (its class name becomes the schema component's name)."""
    fields = {field: serializers.IntegerField() for field in names.split()}
    fields.update({f: serializers.IntegerField(help_text=text) for f, text in described.items()})
    return type(name, (serializers.Serializer,), fields)


HEALTH_BUCKETS = "healthy warning critical unknown"
IssueCounts = counts(
    "IssueCounts",
    "total open resolved_today",
    critical="Open issues of critical priority.",
    overdue="Open issues past their SLA due time.",
)
ChangeCounts = counts("ChangeCounts", "total pending_approval scheduled_this_week failed")
RequestCounts = counts("RequestCounts", "total open pending_approval overdue")
HealthCounts = counts("HealthCounts", f"total {HEALTH_BUCKETS}")


# many=False: the viewset's `list` action returns this object, not a list of them.
@extend_schema_serializer(many=False)
class OverviewResponse(serializers.Serializer):
    issues = IssueCounts()
    changes = ChangeCounts()
    requests = RequestCounts()
    applications = HealthCounts()


class TrendDay(serializers.Serializer):
    date = serializers.DateField()
    created = serializers.IntegerField()
    resolved = serializers.IntegerField()


class TierHealth(counts("TierBuckets", HEALTH_BUCKETS)):  # type: ignore[misc]
    tier = serializers.IntegerField(min_value=1, max_value=4)


class ApplicationHealth(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    tier = serializers.IntegerField(min_value=1, max_value=4)
    score = serializers.IntegerField(allow_null=True, min_value=0, max_value=100)
    calculated_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=HealthStatus.choices)


HealthBuckets = counts("HealthBuckets", HEALTH_BUCKETS)


class HealthResponse(serializers.Serializer):
    total = serializers.IntegerField()
    buckets = HealthBuckets()
    by_tier = TierHealth(many=True)
    applications = ApplicationHealth(many=True)


class ActivityEvent(serializers.Serializer):
    type = serializers.ChoiceField(choices=["issue", "change", "request"])
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    action = serializers.ChoiceField(choices=["created", "updated", "resolved", "fulfilled"])
    at = serializers.DateTimeField()


class PriorityCount(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    count = serializers.IntegerField()


class IssueStatusCount(serializers.Serializer):
    status = serializers.ChoiceField(choices=Issue.Status.choices)
    count = serializers.IntegerField()


class RequestStatusCount(serializers.Serializer):
    status = serializers.ChoiceField(choices=Request.Status.choices)
    count = serializers.IntegerField()


class ApplicationRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UpcomingChange(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Change.Status.choices)
    risk = serializers.ChoiceField(choices=Change.Risk.choices)
    type = serializers.ChoiceField(choices=Change.Type.choices)
    scheduled_start = serializers.DateTimeField()
    scheduled_end = serializers.DateTimeField(allow_null=True)
    application = ApplicationRef(allow_null=True)


class UpcomingResponse(serializers.Serializer):
    days = serializers.IntegerField()
    total = serializers.IntegerField()
    shown = serializers.IntegerField()
    changes = UpcomingChange(many=True)


class MobileResponse(
    counts(  # type: ignore[misc]
        "MobileCounts",
        "open_issues critical_issues overdue_issues changes_pending_approval "
        "requests_pending_approval upcoming_changes critical_applications needs_attention",
    )
):
    generated_at = serializers.DateTimeField()


class SlaCompliance(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    total = serializers.IntegerField(help_text="Issues created in the period with an SLA.")
    within_sla = serializers.IntegerField()
    breached = serializers.IntegerField(
        help_text="Resolved after their SLA due time, or unresolved past it."
    )
    compliance_rate = serializers.FloatField(
        allow_null=True, help_text="Percent within SLA, one decimal; null when total is 0."
    )


class ChangeSuccessDay(serializers.Serializer):
    date = serializers.DateField()
    completed = serializers.IntegerField(help_text="Changes whose outcome was recorded that day.")
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    rolled_back = serializers.IntegerField()
    success_rate = serializers.FloatField(
        allow_null=True, help_text="Percent successful, one decimal; null when none ended."
    )


class CriticalApplication(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    tier = serializers.IntegerField(min_value=1, max_value=4)
    score = serializers.IntegerField(min_value=0, max_value=100)
    calculated_at = serializers.DateTimeField()
    trend = serializers.ChoiceField(
        choices=["improving", "stable", "declining"],
        allow_null=True,
        help_text="The latest score against the one before; null with a single score.",
    )


class CriticalApplications(serializers.Serializer):
    total = serializers.IntegerField(help_text="All applications below the threshold.")
    applications = CriticalApplication(many=True)


class CatalogItemRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CatalogItemRequests(serializers.Serializer):
    item = CatalogItemRef()
    count = serializers.IntegerField(help_text="Requests for it created in the period.")
    fulfilled = serializers.IntegerField()
    fulfilment_rate = serializers.FloatField(help_text="Percent fulfilled, one decimal.")
    within_target = serializers.IntegerField(
        help_text="Fulfilled within the item's fulfilment target."
    )


class ProviderCost(serializers.Serializer):
    provider = serializers.ChoiceField(choices=CloudProvider.choices)
    total_cost = serializers.DecimalField(max_digits=16, decimal_places=2)


class CloudCostMonth(serializers.Serializer):
    month = serializers.RegexField(r"^[0-9]{4}-[0-9]{2}$", help_text="YYYY-MM")
    currency = serializers.CharField(help_text="ISO 4217; one row per month and currency.")
    total_cost = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="A decimal string."
    )
    change_percent = serializers.FloatField(
        allow_null=True, help_text="On the month before, one decimal; null without a cost then."
    )
    providers = ProviderCost(many=True)


X_CACHE = OpenApiParameter(
    "X-Cache",
    str,
    OpenApiParameter.HEADER,
    response=True,
    enum=["HIT", "MISS", "BYPASS"],
    description="How the answer was obtained: from Redis, computed, or computed with Redis "
    "unusable.",
)
ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    404: OpenApiResponse(ErrorSerializer, description="Unknown host."),
}


def query_parameters(params: type[serializers.Serializer] | None) -> list[OpenApiParameter]:
    """The OpenAPI parameters of a params serializer: name, type, range and default."""
    if params is None:
        return []
    documented = []
    for name, field in params().fields.items():
        low, high = getattr(field, "min_value", None), getattr(field, "max_value", None)
        description = f"{field.help_text or name} ({low} to {high})."
        documented.append(
            OpenApiParameter(name, int, description=description, default=field.default)
        )
    return documented


def dashboard_schema(
    response: object, *, summary: str, params: type[serializers.Serializer] | None = None
) -> Any:
    """extend_schema for a cached dashboard endpoint (with its X-Cache header and errors)."""
    ok = response if response is not None else OpenApiResponse(description=summary)
    responses: dict[int, object] = {200: ok, **ERRORS}
    if params is not None:
        responses[400] = OpenApiResponse(description="Invalid query parameter (field errors).")
    return extend_schema(
        summary=summary,
        parameters=[*query_parameters(params), X_CACHE],
        responses=responses,
        tags=["dashboard"],
    )
