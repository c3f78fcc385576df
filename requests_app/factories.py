"""factory-boy factories for service requests."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from firelater.factories import UserFactory
from firelater.models import Priority
from requests_app.models import CatalogItem, Request

CATALOG = [
    ("Laptop", "Hardware", 72),
    ("Monitor", "Hardware", 48),
    ("VPN access", "Access", 8),
    ("Shared drive access", "Access", 24),
    ("Design software licence", "Software", 24),
    ("Mailing list", "Collaboration", 8),
    ("MFA device reset", "Access", 4),
]

REQUEST_TEMPLATES = [
    "New laptop for {who}",
    "Access to the finance share for {who}",
    "VPN token for {who}",
    "Install design software for {who}",
    "Mailing list for the {who} team",
    "Reset MFA device for {who}",
]


class CatalogItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogItem

    name = factory.Sequence(lambda n: f"{CATALOG[n % len(CATALOG)][0]} {n // len(CATALOG) + 1}")
    category = factory.Sequence(lambda n: CATALOG[n % len(CATALOG)][1])
    fulfilment_target_hours = factory.Sequence(lambda n: CATALOG[n % len(CATALOG)][2])


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
