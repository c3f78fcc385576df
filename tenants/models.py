"""Tenants (one PostgreSQL schema each) and the host names that route to them."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin

# A slug becomes the PostgreSQL schema name and part of every cache key, so it is kept to
# a small alphabet: lowercase letters, digits and underscore, starting with a letter.
SLUG_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"
RESERVED_SLUGS = frozenset({"public", "information_schema"})


def validate_tenant_slug(slug: str) -> None:
    if not re.fullmatch(SLUG_PATTERN, slug or ""):
        raise ValidationError(
            f"Invalid slug {slug!r}: use 1-48 lowercase letters, digits or underscores, "
            "starting with a letter."
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg_"):
        raise ValidationError(f"Invalid slug {slug!r}: it is reserved.")


class Tenant(TenantMixin):
    slug = models.CharField(max_length=48, unique=True, validators=[validate_tenant_slug])
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    auto_create_schema = True
    auto_drop_schema = False  # deleting a tenant row never silently destroys its data

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
