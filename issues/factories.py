"""factory-boy factories for issues."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from factory import fuzzy

from firelater.factories import UserFactory
from firelater.models import Priority
from issues.models import Issue

ISSUE_TEMPLATES = [
    "{app} returns 502 for some users",
    "Login to {app} takes over 30 seconds",
    "{app} nightly job failed",
    "Cannot export report from {app}",
    "{app} shows stale data after deploy",
    "Certificate about to expire on {app}",
    "Memory usage climbing on {app} nodes",
    "Users locked out of {app}",
    "{app} email notifications not sent",
    "Slow queries on {app} database",
]


class IssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Issue

    title = factory.LazyFunction(
        lambda: fuzzy.FuzzyChoice(ISSUE_TEMPLATES).fuzz().format(app="the service")
    )
    description = factory.Faker("paragraph", nb_sentences=2)
    status = Issue.Status.NEW
    priority = Priority.MEDIUM
    reporter = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    sla_due_at = factory.LazyAttribute(lambda o: Issue.sla_due(o.priority, o.created_at))
    resolved_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(hours=2) if o.status in Issue.DONE_STATUSES else None
    )
