"""Key building: tenant-scoped, hash-tagged, and safe against hostile parameter values."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from tenant_cache import CacheContextError, current_tenant, value_key
from tenant_cache.keys import params_suffix, tenant_prefix


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
    from tenant_cache.keys import check_tenant

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
    from tenant_cache.keys import _normalise

    key_a = value_key("acme", "e:x", {"q": a})
    key_b = value_key("acme", "e:x", {"q": b})
    assert (key_a == key_b) == (_normalise(a) == _normalise(b))


# --- Hostile names and cross-tenant separation (properties) ------------------------------

_tenants = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).filter(lambda t: t != "public")
_names = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
_hostile_text = st.one_of(
    st.text(),
    st.text(alphabet="*?[]{}:\\-_%é\u212b aZ0", max_size=12),
)
_params = st.dictionaries(_names, _values, max_size=3)


@given(name=_hostile_text)
def test_any_tenant_name_is_refused_or_a_plain_identifier(name):
    from tenant_cache.keys import check_tenant

    try:
        accepted = check_tenant(name)
    except CacheContextError:
        return
    assert accepted == name
    assert "a" <= name[0] <= "z"
    assert all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name)


@given(category=_hostile_text, subcategory=_hostile_text)
def test_any_entry_name_is_refused_or_cannot_leave_its_place_in_the_key(category, subcategory):
    from tenant_cache import CacheEntry

    try:
        entry = CacheEntry(category, subcategory, frozenset({"issues"}))
    except ValueError:
        return
    # Two plain identifiers: no separator, hash tag or glob character of their own, and
    # never the reserved '_meta' namespace (names start with a letter).
    assert entry.id.count(":") == 1
    assert all(c.isascii() and (c.islower() or c.isdigit() or c in "_:") for c in entry.id)
    assert value_key("acme", entry.id).startswith("cache:{acme}:" + category + ":")
    assert not value_key("acme", entry.id).startswith("cache:{acme}:_meta:")


@given(name=_hostile_text, value=_values)
def test_any_parameter_name_is_refused_or_a_plain_identifier(name, value):
    try:
        suffix = params_suffix({name: value})
    except ValueError:
        return
    assert suffix.startswith(f":{name}=")
    assert all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name)


@given(tenant=_tenants, entry=_names, params=_params)
def test_all_keys_of_a_tenant_share_its_cluster_slot(tenant, entry, params):
    from redis.crc import key_slot

    from tenant_cache.keys import meta_key

    slot = key_slot(f"{{{tenant}}}".encode())
    keys = [
        value_key(tenant, f"dashboard:{entry}", params),
        meta_key(tenant, "gen", f"dashboard:{entry}"),
        meta_key(tenant, "idx", f"dashboard:{entry}"),
        meta_key(tenant, "stats"),
    ]
    assert {key_slot(key.encode()) for key in keys} == {slot}


@given(a=_tenants, b=_tenants, entry=_names, params_a=_params, params_b=_params)
def test_no_key_of_one_tenant_is_reachable_from_another(a, b, entry, params_a, params_b):
    """Another tenant's invalidation reaches its own meta keys and the value keys listed in
    its own index sets, and a scan of its keys uses its prefix: none can name ours."""
    from tenant_cache.keys import meta_key

    if a == b:
        return
    ours = value_key(a, f"dashboard:{entry}", params_a)
    theirs = {
        value_key(b, f"dashboard:{entry}", params_b),
        meta_key(b, "gen", f"dashboard:{entry}"),
        meta_key(b, "idx", f"dashboard:{entry}"),
        meta_key(b, "entries"),
        meta_key(b, "stats"),
    }
    assert ours not in theirs
    assert not ours.startswith(tenant_prefix(b))  # 'cache:{b}:*' never lists it
    assert all(not key.startswith(tenant_prefix(a)) for key in theirs)
