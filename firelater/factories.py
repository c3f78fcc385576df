"""factory-boy factories shared by tests and the demo seed: users."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from firelater.roles import user_roles_set


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pass-word-123")
    is_active = True

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        """`UserFactory(roles=[roles.AGENT])`: the user's roles (firelater.roles)."""
        if create and extracted is not None:
            user_roles_set(user=self, roles=extracted)
