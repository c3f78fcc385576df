"""factory-boy factories for service requests."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from firelater.factories import UserFactory
from firelater.models import Priority
from requests_app.models import Request

REQUEST_TEMPLATES = [
    "New laptop for {who}",
    "Access to the finance share for {who}",
    "VPN token for {who}",
    "Install design software for {who}",
    "Mailing list for the {who} team",
    "Reset MFA device for {who}",
]


class RequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Request

    title = factory.Faker("sentence", nb_words=5)
    description = ""
    status = Request.Status.SUBMITTED
    priority = Priority.MEDIUM
    requester = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    due_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=5))
    fulfilled_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(days=1) if o.status == Request.Status.FULFILLED else None
    )
