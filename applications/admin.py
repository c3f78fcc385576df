"""Application admin with its recent health scores inline."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from applications.models import Application, ApplicationHealthScore, health_status_for
from applications.selectors import application_list
from firelater.admin import ModelAdmin, TabularInline


class HealthScoreInline(TabularInline):
    model = ApplicationHealthScore
    extra = 1
    ordering = ["-calculated_at"]
    max_num = 50


@admin.register(Application)
class ApplicationAdmin(ModelAdmin):
    list_display = ["name", "tier", "owner", "latest_score", "health"]
    list_filter = ["tier"]
    search_fields = ["name", "owner", "description"]
    inlines = [HealthScoreInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Application]:
        return application_list()

    @admin.display(description="Latest score", ordering="latest_score")
    def latest_score(self, obj: Application) -> int | None:
        return getattr(obj, "latest_score", None)

    @admin.display(description="Health")
    def health(self, obj: Application) -> str:
        return health_status_for(getattr(obj, "latest_score", None)).label


@admin.register(ApplicationHealthScore)
class ApplicationHealthScoreAdmin(ModelAdmin):
    list_display = ["application", "score", "calculated_at"]
    list_filter = ["application__tier"]
    search_fields = ["application__name"]
    date_hierarchy = "calculated_at"
    list_select_related = ["application"]
    autocomplete_fields = ["application"]
