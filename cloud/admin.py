"""Cloud cost report admin."""

from __future__ import annotations

from django.contrib import admin

from cloud.models import CloudCostReport
from firelater.admin import ModelAdmin


@admin.register(CloudCostReport)
class CloudCostReportAdmin(ModelAdmin):
    list_display = [
        "period_start",
        "period_type",
        "provider",
        "account",
        "total_cost",
        "currency",
        "change_percent",
    ]
    list_filter = ["provider", "period_type", "currency"]
    search_fields = ["account"]
    date_hierarchy = "period_start"
    list_per_page = 50
