"""Writes for applications and their health scores."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from applications.models import Application, ApplicationHealthScore
from firelater.services import save_changes


@transaction.atomic
def application_create(*, name: str, **fields: Any) -> Application:
    application = Application(name=name, **fields)
    application.full_clean()
    application.save()
    return application


@transaction.atomic
def application_update(*, application: Application, data: dict[str, Any]) -> Application:
    return save_changes(application, data)


@transaction.atomic
def application_delete(*, application: Application) -> None:
    application.delete()


@transaction.atomic
def health_score_record(
    *, application: Application, score: int, calculated_at: Any = None
) -> ApplicationHealthScore:
    health_score = ApplicationHealthScore(
        application=application, score=score, calculated_at=calculated_at or timezone.now()
    )
    health_score.full_clean()
    health_score.save()
    return health_score
