"""Service request admin."""

from __future__ import annotations

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from firelater.admin import ModelAdmin, RecordAdmin, status_actions
from requests_app.models import CatalogItem, Request
from requests_app.services import request_bulk_set_status


@admin.register(CatalogItem)
class CatalogItemAdmin(ModelAdmin):
    list_display = ["name", "category", "active", "fulfilment_target_hours"]
    list_filter = ["active", "category"]
    search_fields = ["name", "category"]
    list_editable = ["active"]


@admin.register(Request)
class RequestAdmin(RecordAdmin):
    list_display = [
        "display_number",
        "title",
        "status",
        "priority",
        "requester",
        "created_at",
        "due_at",
        "catalog_item",
    ]
    list_filter = ["status", "priority", "catalog_item"]
    search_fields = ["title", "description", "=number"]
    date_hierarchy = "created_at"
    list_select_related = ["requester", "catalog_item"]
    autocomplete_fields = ["catalog_item"]
    raw_id_fields = ["requester"]
    readonly_fields = ["display_number", "created_at", "updated_at", "fulfilled_at"]
    list_per_page = 50
    show_full_result_count = False
    actions = status_actions(Request.Status, request_bulk_set_status)

    def save_model(self, request: HttpRequest, obj: Request, form: ModelForm, change: bool) -> None:
        # fulfilled_at is read-only in the form: keep it in step with the status chosen there.
        obj.sync_done_at()
        super().save_model(request, obj, form, change)
