"""factory-boy factories for applications and health scores."""

from __future__ import annotations

import factory
from factory import fuzzy

from applications.models import Application, ApplicationHealthScore

APPLICATION_NAMES = [
    "Payments Gateway",
    "Customer Portal",
    "Billing Engine",
    "HR Self-Service",
    "Data Warehouse",
    "Identity Provider",
    "Email Relay",
    "Inventory Service",
    "Mobile Backend",
    "Search Cluster",
    "CRM",
    "Ticketing Bridge",
    "Logistics Tracker",
    "Reporting Suite",
    "VPN Concentrator",
]
TEAMS = ["Platform", "Payments", "Core Services", "Data", "Workplace IT", "Security", "Mobile"]


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    name = factory.Sequence(
        lambda n: (
            f"{APPLICATION_NAMES[n % len(APPLICATION_NAMES)]} {n // len(APPLICATION_NAMES) + 1}"
        )
    )
    tier = fuzzy.FuzzyChoice([1, 2, 2, 3, 3, 3, 4])
    owner = fuzzy.FuzzyChoice(TEAMS)
    description = factory.Faker("sentence", nb_words=10)


class ApplicationHealthScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApplicationHealthScore

    application = factory.SubFactory(ApplicationFactory)
    score = fuzzy.FuzzyInteger(0, 100)
