"""Reads for applications: the list annotated with each application's latest score."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from applications.models import Application, ApplicationHealthScore


def application_list() -> QuerySet[Application]:
    latest = ApplicationHealthScore.objects.filter(application=OuterRef("pk")).order_by(
        "-calculated_at"
    )
    return Application.objects.annotate(
        latest_score=Subquery(latest.values("score")[:1]),
        latest_score_at=Subquery(latest.values("calculated_at")[:1]),
    )


def health_score_list(*, application: Application) -> QuerySet[ApplicationHealthScore]:
    return ApplicationHealthScore.objects.filter(application=application).order_by("-calculated_at")
