"""dashboard.E001: the day figures sum UTC quarter hours, so local midnights must be ones."""

from __future__ import annotations

import zoneinfo

import pytest
from django.core import checks

from dashboard.checks import odd_offsets, time_zone_errors


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"]
)
def test_zones_on_quarter_hours_pass(zone: str) -> None:
    assert time_zone_errors(zone, range(2024, 2031)) == []


def test_a_zone_whose_midnight_is_not_a_quarter_hour_is_an_error() -> None:
    # Liberia kept UTC-0:44:30 until 1972.
    assert odd_offsets(zoneinfo.ZoneInfo("Africa/Monrovia"), range(1960, 1972))
    errors = time_zone_errors("Africa/Monrovia", range(1960, 1972))
    assert [e.id for e in errors] == ["dashboard.E001"]
    assert "Africa/Monrovia" in errors[0].msg


def test_the_check_is_registered_and_passes_for_the_configured_zone() -> None:
    assert [m for m in checks.run_checks() if m.id == "dashboard.E001"] == []
