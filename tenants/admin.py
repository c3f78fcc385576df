"""The platform admin (public host only): tenants and their domains.

Tenants are registered on a separate AdminSite served only by the public URL conf, so a
tenant's staff never see the tenant list through their own admin.
"""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, URLResolver
from django_tenants.admin import TenantAdminMixin

from firelater.admin import LoginAttemptAdmin, UserAdmin
from tenants.models import Domain, Tenant, normalize_domain
from tenants.schemas import reuse_refusal
from tenants.services import tenant_admin_ensure


class PlatformAdminSite(admin.AdminSite):
    site_header = "FireLater platform"
    site_title = "FireLater platform"
    index_title = "Tenants and platform users"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        # No "view on site" (r/<content type>/<id>/): it accepts any content type, and the
        # tables of tenant apps do not exist in the public schema (a 500); no platform model
        # has a page on a site anyway. The admin's catch-all answers 404 instead.
        return [url for url in super().get_urls() if getattr(url, "name", "") != "view_on_site"]


platform_admin_site = PlatformAdminSite(name="platform_admin")


class TenantForm(forms.ModelForm):
    """The tenant fields, plus an optional first staff user (what add_tenant does)."""

    admin_username = forms.CharField(
        required=False, help_text="Optional: create (or reset) this staff user in the tenant."
    )
    admin_password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), strip=False
    )

    class Meta:
        model = Tenant
        fields = ["slug", "name", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("admin_username")) != bool(data.get("admin_password")):
            raise forms.ValidationError("Give both a staff username and a password, or neither.")
        if self.instance._state.adding and data.get("slug"):
            refusal = reuse_refusal(data["slug"])  # also enforced by Tenant.save
            if refusal is not None:
                self.add_error("slug", refusal)
        return data


class DomainForm(forms.ModelForm):
    """The domain normalised as the form is cleaned, so the uniqueness checks (of the
    formset too: "A.example" and "a.example" in one form) compare what will be stored."""

    def clean_domain(self) -> str:
        return normalize_domain(self.cleaned_data["domain"])


class DomainInline(admin.TabularInline):
    model = Domain
    form = DomainForm
    extra = 1


@admin.register(Tenant, site=platform_admin_site)
class TenantAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["slug", "name", "is_active", "primary_domain", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name", "domains__domain"]
    readonly_fields = ["schema_name", "created_at"]
    form = TenantForm
    fields = [
        "slug",
        "name",
        "is_active",
        "schema_name",
        "created_at",
        "admin_username",
        "admin_password",
    ]
    inlines = [DomainInline]
    actions = ["activate", "deactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return (
            super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains")
        )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refused:  # by save(): e.g. a former tenant's cache keys
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        # The slug is the schema name: fixed once the schema exists.
        return [*self.readonly_fields, "slug"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Tenant, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        if not change:
            obj.schema_name = obj.slug
        super().save_model(request, obj, form, change)  # creates and migrates the schema
        username = form.cleaned_data.get("admin_username")
        if username:
            tenant_admin_ensure(
                tenant=obj, username=username, password=form.cleaned_data["admin_password"]
            )

    @admin.display(description="Primary domain")
    def primary_domain(self, obj: Tenant) -> str:
        domains = list(obj.domains.all())
        primary = next((d for d in domains if d.is_primary), domains[0] if domains else None)
        return primary.domain if primary else "-"

    @admin.action(description="Activate selected tenants")
    def activate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:  # save() so signals flush the host lookup cache
            tenant.is_active = True
            tenant.save(update_fields=["is_active"])

    @admin.action(description="Deactivate selected tenants (their hosts answer 404)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            tenant.is_active = False
            tenant.save(update_fields=["is_active"])


@admin.register(Domain, site=platform_admin_site)
class DomainAdmin(admin.ModelAdmin):
    form = DomainForm
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain", "tenant__slug"]
    list_select_related = ["tenant"]


platform_admin_site.register(User, UserAdmin)
platform_admin_site.register(Group, GroupAdmin)
platform_admin_site.register(AccessAttempt, LoginAttemptAdmin)  # the platform's failed logins
