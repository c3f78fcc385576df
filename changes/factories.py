"""factory-boy factories for changes."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from changes import workflow
from changes.models import Change

CHANGE_TEMPLATES = [
    "Upgrade {app} to the next minor release",
    "Rotate TLS certificates on {app}",
    "Scale {app} database to a larger instance",
    "Apply OS security patches to {app} hosts",
    "Enable feature flag on {app}",
    "Migrate {app} to the new load balancer",
]


class ChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Change

    title = factory.Faker("sentence", nb_words=6)
    description = ""
    status = Change.Status.DRAFT
    risk = Change.Risk.LOW
    type = Change.Type.NORMAL
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    scheduled_start = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=2))
    scheduled_end = factory.LazyAttribute(
        lambda o: o.scheduled_start + timedelta(hours=2) if o.scheduled_start else None
    )
    # An ended change records its status's default outcome, as change_create would.
    outcome = factory.LazyAttribute(lambda o: workflow.DEFAULT_OUTCOME.get(o.status))
    completed_at = factory.LazyAttribute(
        lambda o: (o.scheduled_end or o.created_at) if o.outcome is not None else None
    )
