"""Writes for tenants: creating a ready tenant and the platform's public tenant."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from firelater import roles
from tenants.models import Domain, Tenant, normalize_domain, validate_tenant_slug


@dataclass(frozen=True)
class TenantSetup:
    tenant: Tenant
    domain: str  # as stored: normalised
    tenant_created: bool
    domain_created: bool
    user_created: bool


def tenant_setup(
    *,
    slug: str,
    name: str,
    domain: str,
    admin_username: str | None = None,
    admin_password: str | None = None,
) -> TenantSetup:
    """Create (or complete) a tenant with its schema, a primary domain and a staff user.

    Idempotent: running it again with the same arguments changes nothing; a domain that
    belongs to another tenant is an error, never a silent move.
    """
    validate_tenant_slug(slug)
    domain = normalize_domain(domain)
    if bool(admin_username) != bool(admin_password):
        raise ValidationError("Give both an admin user and an admin password, or neither.")

    with schema_context(get_public_schema_name()):
        owner = Domain.objects.select_related("tenant").filter(domain=domain).first()
        if owner is not None and owner.tenant.slug != slug:
            raise ValidationError(
                f"Domain {domain!r} already belongs to tenant {owner.tenant.slug!r}."
            )
        tenant = Tenant.objects.filter(slug=slug).first()
        tenant_created = tenant is None
        if tenant is None:
            # Saving creates and migrates the schema (django-tenants' auto_create_schema).
            tenant = Tenant(slug=slug, schema_name=slug, name=name)
            tenant.save()
        elif tenant.name != name:
            tenant.name = name
            tenant.save(update_fields=["name"])
        domain_created = owner is None
        if domain_created:
            Domain.objects.create(
                domain=domain, tenant=tenant, is_primary=not tenant.domains.exists()
            )

    with schema_context(tenant.schema_name):
        roles.roles_ensure()  # migrate did it for a new schema; an old one may predate them
    user_created = False
    if admin_username and admin_password:
        user_created = tenant_admin_ensure(
            tenant=tenant, username=admin_username, password=admin_password
        )
    return TenantSetup(tenant, domain, tenant_created, domain_created, user_created)


def tenant_admin_ensure(*, tenant: Tenant, username: str, password: str) -> bool:
    """Make sure the tenant has a tenant admin with this password; True if it was created."""
    user_model = get_user_model()
    with schema_context(tenant.schema_name), transaction.atomic():
        user, created = user_model.objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        current = roles.user_roles(user)
        if roles.TENANT_ADMIN not in current or not user.is_staff:
            roles.user_roles_set(user=user, roles={*current, roles.TENANT_ADMIN})
    return created


def public_tenant_ensure() -> Tenant:
    """The public schema's tenant row and its domains (the platform's own host names)."""
    with schema_context(get_public_schema_name()):
        tenant, _ = Tenant.objects.get_or_create(
            schema_name=get_public_schema_name(),
            defaults={"slug": get_public_schema_name(), "name": "FireLater platform"},
        )
        for domain in settings.PUBLIC_DOMAINS:
            Domain.objects.get_or_create(
                domain=normalize_domain(domain), defaults={"tenant": tenant, "is_primary": False}
            )
    return tenant
