"""Tenants (one PostgreSQL schema each) and the host names that route to them."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.encoding import punycode
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_public_schema_name, schema_context

from firelater.tracking import TracksLoadedValues
from tenants.schemas import reuse_refusal

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


_DOMAIN_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"


def normalize_domain(domain: str) -> str:
    """A host name in the one form the router looks up: trimmed, lower case, ASCII (IDNA:
    bücher.example is xn--bcher-kva.example), without a trailing dot.

    The router (tenants.middleware) lower-cases a request's host and drops a leading
    "www." before the lookup: a domain stored in another case, or with "www.", was never
    reached. A leading "www." is refused rather than dropped, so nobody is surprised by
    the name stored (and it cannot silently collide with another tenant's).
    """
    value = (domain or "").strip().removesuffix(".")
    try:
        value = punycode(value).lower()
    except UnicodeError:  # an empty or over-long label
        raise ValidationError(f"Invalid domain {domain!r}.") from None
    if len(value) > 253 or not re.fullmatch(rf"{_DOMAIN_LABEL}(\.{_DOMAIN_LABEL})*", value):
        raise ValidationError(
            f"Invalid domain {domain!r}: use a host name such as acme.example.com, "
            "without a scheme, port or path."
        )
    if value.startswith("www."):
        bare = value.removeprefix("www.")
        raise ValidationError(
            f"Invalid domain {domain!r}: requests are routed without a leading 'www.' "
            f"(www.{bare} reaches {bare}), so register {bare!r} instead."
        )
    return value


class TenantQuerySet(models.QuerySet["Tenant"]):
    """Bulk writes that (de)activate tenants go through each tenant's save(): what watches
    tenants (the cache purges a deactivated tenant's keys, the routing) sees every one.
    Writes of other fields stay one UPDATE. (Raw SQL is seen only by the routing: the
    revocation trigger; see README, Deleting or deactivating a tenant.)"""

    def update(self, **kwargs: Any) -> int:
        if "is_active" not in kwargs:
            return super().update(**kwargs)
        return self._save_each(kwargs, list(kwargs))

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        if "is_active" not in fields:
            return super().bulk_update(objs, fields, batch_size=batch_size)
        with transaction.atomic(using=self.db), schema_context(get_public_schema_name()):
            for tenant in objs:
                tenant.save(update_fields=list(fields))
        return len(objs)

    def _save_each(self, values: dict[str, Any], fields: list[str]) -> int:
        with transaction.atomic(using=self.db), schema_context(get_public_schema_name()):
            tenants = list(self.select_for_update())
            for tenant in tenants:
                for name, value in values.items():
                    setattr(tenant, name, value)
                tenant.save(update_fields=fields)
        return len(tenants)


class Tenant(TracksLoadedValues, TenantMixin):
    slug = models.CharField(max_length=48, unique=True, validators=[validate_tenant_slug])
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantQuerySet.as_manager()

    auto_create_schema = True
    # Deleting a tenant row never destroys its data: its schema is archived under another
    # name (tenants.schemas, tenants.signals), so nothing is left under the old one.
    auto_drop_schema = False

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # django-tenants silently adopts an existing schema: a new tenant would inherit a
        # deleted one's users, passwords and tokens. Refuse, whoever creates it.
        if self._state.adding and not self.is_public:
            refusal = reuse_refusal(self.schema_name)
            if refusal is not None:
                raise ValidationError(refusal, code="schema_taken")
        super().save(*args, **kwargs)

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        super().clean()
        try:
            self.domain = normalize_domain(self.domain)
        except ValidationError as error:
            raise ValidationError({"domain": error.messages}) from None

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Whatever the path (admin, services, shell), store the form the router looks up.
        self.domain = normalize_domain(self.domain)
        super().save(*args, **kwargs)
