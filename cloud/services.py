"""Writes for cloud cost reports."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cloud.models import CloudCostReport
from firelater.services import save_changes


@transaction.atomic
def cost_report_create(**fields: Any) -> CloudCostReport:
    report = CloudCostReport(**fields)
    report.full_clean()
    report.save()
    return report


@transaction.atomic
def cost_report_update(*, report: CloudCostReport, data: dict[str, Any]) -> CloudCostReport:
    return save_changes(report, data)


@transaction.atomic
def cost_report_delete(*, report: CloudCostReport) -> None:
    report.delete()
