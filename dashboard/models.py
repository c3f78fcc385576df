"""The dashboard's permissions. The dashboard has no table: the model only carries them."""

from __future__ import annotations

from django.db import models


class Dashboard(models.Model):
    """Holds `dashboard.view_dashboard` (agents and above read the dashboard, API and page)
    and `dashboard.administer_cache` (tenant admins: the cache API and the admin's Cache
    page). Unmanaged and without Django's default add/change/delete/view permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can read the dashboard"),
            ("administer_cache", "Can see and invalidate the tenant's cache"),
        ]

    def __str__(self) -> str:
        return "Dashboard"
