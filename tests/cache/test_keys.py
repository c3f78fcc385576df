"""Key building: tenant-scoped, hash-tagged, and safe against hostile parameter values."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from firelater.cache import CacheContextError, current_tenant, value_key
from firelater.cache.keys import params_suffix, tenant_prefix


def test_a_key_names_tenant_category_subcategory_and_parameters():
    assert value_key("acme", "dashboard:overview") == "cache:{acme}:dashboard:overview"
    assert (
        value_key("acme", "dashboard:trends", {"days": 30})
        == "cache:{acme}:dashboard:trends:days=30"
    )


def test_parameters_are_sorted_so_the_same_query_has_one_key():
    assert value_key("acme", "e:x", {"b": 1, "a": 2}) == value_key("acme", "e:x", {"a": 2, "b": 1})


def test_the_tenant_comes_from_the_database_connection(acme):
    connection.set_tenant(acme)
    try:
        assert current_tenant() == "acme"
    finally:
        connection.set_schema_to_public()


def test_building_a_key_outside_a_tenant_is_an_error(db):
    connection.set_schema_to_public()
    with pytest.raises(CacheContextError):
        current_tenant()


@pytest.mark.parametrize("tenant", ["public", "", "Acme", "a}b", "a:b", "a*"])
def test_a_key_for_an_invalid_tenant_is_refused(tenant):
    from firelater.cache.keys import check_tenant

    with pytest.raises(CacheContextError):
        check_tenant(tenant)


@pytest.mark.parametrize(
    "hostile",
    ["*", "?", "[a-z]", ":", "}:cache:{globex}", "{globex}", "a&b=c", "%2A", "é", "\u212b", " "],
)
def test_hostile_parameter_values_are_escaped(hostile):
    suffix = params_suffix({"q": hostile})
    value = suffix.split("=", 1)[1]
    assert all(c.isalnum() or c in "%-._~" for c in value), suffix
    assert value_key("acme", "e:x", {"q": hostile}).startswith("cache:{acme}:e:x:q=")


def test_percent_signs_are_escaped_too_so_escapes_cannot_collide():
    assert params_suffix({"q": "*"}) != params_suffix({"q": "%2A"})


_values = st.one_of(st.text(), st.integers(), st.booleans())


@given(tenant=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True), value=_values)
def test_no_parameter_value_yields_a_key_outside_its_tenant(tenant, value):
    if tenant == "public":
        return
    key = value_key(tenant, "dashboard:trends", {"days": value})
    assert key.startswith(tenant_prefix(tenant) + "dashboard:trends:days=")
    # Exactly one hash tag, the tenant's: a cluster slot and a tenant boundary.
    assert key.count("{") == 1
    assert key.count("}") == 1


@given(a=_values, b=_values)
def test_distinct_parameter_values_never_share_a_key(a, b):
    from firelater.cache.keys import _normalise

    key_a = value_key("acme", "e:x", {"q": a})
    key_b = value_key("acme", "e:x", {"q": b})
    assert (key_a == key_b) == (_normalise(a) == _normalise(b))
