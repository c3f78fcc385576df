"""Each entry's field lists, walked field by field and compared with the SQL it runs.

Derived from dashboard.entries (ENTRIES, WATCHED), so a new entry or field is covered
without editing this file:
- the columns each entry's queries read (PostgreSQL's EXPLAIN (VERBOSE) output, per
  table) are exactly the fields it declares, per data category;
- for every declared field, a write that changes only that field invalidates the entry;
- for every other field of the watched models, such a write leaves it cached.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.db.models.fields.related import ForeignKey
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from changes.factories import ChangeFactory
from cloud.factories import CloudCostReportFactory
from dashboard.aggregates import ALL_SUMMARIES
from dashboard.entries import ENTRIES, WATCHED, DashboardEntry
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from requests_app.factories import CatalogItemFactory, RequestFactory
from tenant_cache import HIT, MISS, read

MODELS_BY_CATEGORY: dict[str, list[type[models.Model]]] = {}
for _model, _category in WATCHED.items():
    MODELS_BY_CATEGORY.setdefault(_category, []).append(_model)

# (entry, data category) pairs that declare a field list: only those are field-aware.
FIELD_AWARE = [(entry, category) for entry in ENTRIES for category in sorted(entry.cache.fields)]


def _columns(model: type[models.Model]) -> dict[str, str]:
    """column -> attname of a model's concrete fields (the primary key left out)."""
    return {f.column: f.attname for f in model._meta.concrete_fields if not f.primary_key}


def _walk_cases() -> list[Any]:
    cases = []
    for entry, category in FIELD_AWARE:
        declared = entry.cache.fields[category]
        for model in MODELS_BY_CATEGORY[category]:
            for attname in sorted(_columns(model).values()):
                expect = MISS if attname in declared else HIT
                cases.append(
                    pytest.param(
                        entry, model, attname, expect, id=f"{entry.name}-{model.__name__}.{attname}"
                    )
                )
    return cases


DAY = dt.timedelta(days=1)


@pytest.fixture
def world(in_acme, django_capture_on_commit_callbacks) -> dict[type[models.Model], models.Model]:
    """One row of each watched model (and a spare application and user to point at); the
    creations' invalidations run, as their commit would (so they are not pending)."""
    with django_capture_on_commit_callbacks(execute=True):
        return _build_world()


def _build_world() -> dict[type[models.Model], models.Model]:
    now = timezone.now()
    app = ApplicationFactory(name="Payments", tier=1)
    ApplicationFactory(name="Spare", tier=2)
    UserFactory(username="spare-user")
    item = CatalogItemFactory(name="Laptop")
    CatalogItemFactory(name="Spare item")
    rows: dict[type[models.Model], models.Model] = {
        type(app): app,
        type(item): item,
    }
    for row in (
        ApplicationHealthScoreFactory(application=app, score=30, calculated_at=now),
        IssueFactory(application=app, status="new", priority="high"),
        RequestFactory(status="fulfilled", catalog_item=item),
        # Ended, so that its outcome and completed_at can change within the constraints.
        ChangeFactory(
            application=app, status="completed", scheduled_start=now + dt.timedelta(days=1)
        ),
        CloudCostReportFactory(provider="aws", account="prod"),
    ):
        rows[type(row)] = row
    return rows


class _Probed(Exception):
    """Rolls back a probe's savepoint after the write succeeded."""


def _fits(model: type[models.Model], instance: models.Model, attname: str, value: Any) -> bool:
    """Whether writing `value` keeps every database constraint (probed, then rolled back:
    its invalidation is discarded with the savepoint)."""
    try:
        with transaction.atomic():
            model._default_manager.filter(pk=instance.pk).update(**{attname: value})
            raise _Probed
    except IntegrityError:
        return False
    except _Probed:
        return True


def _changed_value(model: type[models.Model], instance: models.Model, attname: str) -> Any:
    """A different, valid value for one field of `instance` (constraints kept: a change's
    outcome, say, must fit its status)."""
    for value in _candidates(model, instance, attname):
        if _fits(model, instance, attname, value):
            return value
    raise AssertionError(f"no valid new value for {model.__name__}.{attname}")


def _candidates(model: type[models.Model], instance: models.Model, attname: str) -> list[Any]:
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    old = getattr(instance, attname)
    if isinstance(field, ForeignKey):
        others = field.related_model._default_manager.exclude(pk=old).order_by("pk")
        return [*others.values_list("pk", flat=True)[:3], *([None] if field.null else [])]
    if field.choices:
        return [value for value, _label in field.choices if value != old]
    if isinstance(field, models.DecimalField):
        return [(old or 0) + 1]
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        return [(old.replace(day=1) - dt.timedelta(days=1)).replace(day=1)]  # a month before
    return [_other_value(field, old, attname)]


def _other_value(field: models.Field[Any, Any], old: Any, attname: str) -> Any:
    if isinstance(field, models.DateTimeField):
        base = old or timezone.now()
        # Earlier for the fields others may not precede (created_at, scheduled_start).
        if attname in ("created_at", "scheduled_start"):
            return base - dt.timedelta(hours=1)
        return base + dt.timedelta(hours=1)
    if isinstance(field, models.BooleanField):
        return not old
    if isinstance(field, models.IntegerField):
        return old + 1_000_000 if attname == "number" else (old + 1 if old < 90 else old - 1)
    if attname == "currency":
        return "EUR" if old != "EUR" else "USD"
    return f"{old or ''} changed"


@pytest.mark.parametrize(("entry", "model", "attname", "expect"), _walk_cases())
def test_a_write_of_one_field_invalidates_exactly_the_entries_that_read_it(
    world, entry: DashboardEntry, model, attname, expect, django_capture_on_commit_callbacks
):
    assert read(entry.cache).status == MISS
    assert read(entry.cache).status == HIT
    instance = world[model]
    value = _changed_value(model, instance, attname)
    with django_capture_on_commit_callbacks(execute=True):
        assert model._default_manager.filter(pk=instance.pk).update(**{attname: value}) == 1
    assert read(entry.cache).status == expect


def _table_columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} LIMIT 0")
        return {column.name for column in cursor.description}


def _explain_columns(sql: str) -> dict[str, set[str]]:
    """table -> columns a query reads, from EXPLAIN (VERBOSE, FORMAT JSON).

    A scan that feeds an aggregate may emit the whole row (PostgreSQL's "physical tlist"),
    which says nothing about what the query uses: such an Output is left out, and the
    columns come from the expressions above it (aggregates, filters, sort and join keys).
    """
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    aliases: dict[str, str] = {}
    expressions: list[str] = []

    def references(texts: list[str], alias: str) -> set[str]:
        return set(re.findall(rf"\b{re.escape(alias)}\.\"?(\w+)\"?", "\n".join(texts)))

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        relation = node.get("Relation Name")
        if relation:
            aliases[node.get("Alias", relation)] = relation
        for key, value in node.items():
            if key == "Output" and relation:
                alias = node.get("Alias", relation)
                if references(value, alias) == _table_columns(relation):
                    continue  # the whole row, not what is used
            if isinstance(value, str) and key not in ("Relation Name", "Alias", "Schema"):
                expressions.append(value)
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                expressions.extend(value)
            else:
                walk(value)

    walk(plan)
    read: dict[str, set[str]] = {}
    for alias, table in aliases.items():
        read.setdefault(table, set()).update(references(expressions, alias))
    return read


# Summary tables kept by triggers (issues and changes migrations): reading one reads the
# columns of its source table that its triggers aggregate.
SUMMARIES = {
    "issues_sla_hourly": ("issues_issue", {"created_at", "priority", "sla_due_at", "resolved_at"}),
    "changes_ended_quarterly": ("changes_change", {"completed_at", "outcome"}),
    "requests_by_item_daily": (
        "requests_app_request",
        {"catalog_item_id", "created_at", "fulfilled_at"},
    ),
}


def _columns_read(entry: DashboardEntry) -> dict[str, set[str]]:
    with CaptureQueriesContext(connection) as queries:
        entry.cache.fetch(**entry.cache.default_params)  # type: ignore[misc]
    read: dict[str, set[str]] = {}
    for query in queries.captured_queries:
        if query["sql"].lstrip().upper().startswith(("SELECT", "WITH", "(")):
            for table, columns in _explain_columns(query["sql"]).items():
                source, derived_from = SUMMARIES.get(table, (table, columns))
                read.setdefault(source, set()).update(derived_from)
    return read


def _fields_through_summaries(read_by_table: dict[str, set[str]], source: str) -> set[str]:
    """The model fields behind the summary columns a query read: each summary column maps
    to the fields its value is computed from, and a summary's rows exist only where its
    condition holds (so reading it at all depends on the condition's fields)."""
    fields: set[str] = set()
    for summary in ALL_SUMMARIES:
        if summary.source != source or summary.table not in read_by_table:
            continue
        fields |= summary.where_fields
        for name in read_by_table[summary.table] & set(summary.columns):
            fields |= summary.columns[name].fields
    return fields


@pytest.mark.parametrize(
    ("entry", "category"), FIELD_AWARE, ids=[f"{e.name}-{c}" for e, c in FIELD_AWARE]
)
def test_each_field_list_is_exactly_the_columns_its_queries_read(world, entry, category):
    read_by_table = _columns_read(entry)
    read: set[str] = set()
    for model in MODELS_BY_CATEGORY[category]:
        columns = _columns(model)
        table = model._meta.db_table
        read |= {columns[c] for c in read_by_table.get(table, ()) if c in columns}
        read |= _fields_through_summaries(read_by_table, table)
    assert read == set(entry.cache.fields[category])


def test_each_summary_column_names_exactly_the_model_fields_its_value_reads():
    """A summary column computed from a field it does not declare would let a write of that
    field leave the dashboard stale; the declaration is checked against the SQL itself."""
    for summary in ALL_SUMMARIES:
        model = next(m for m in WATCHED if m._meta.db_table == summary.source)
        attnames = set(_columns(model).values())
        for name, column in summary.columns.items():
            words = set(re.findall(r"\b(\w+)\b", column.expression))
            assert words & attnames == column.fields, (summary.table, name)
        assert set(re.findall(r"\b(\w+)\b", summary.where)) & attnames == summary.where_fields


@pytest.mark.parametrize(
    ("entry", "category"), FIELD_AWARE, ids=[f"{e.name}-{c}" for e, c in FIELD_AWARE]
)
def test_a_write_to_any_column_an_entry_reads_invalidates_it(
    world, entry, category, django_capture_on_commit_callbacks
):
    """The same walk, driven by the SQL rather than the declaration: a field list that
    forgets a column its query reads (sla_due_at, say) leaves the entry stale here."""
    read_by_table = _columns_read(entry)
    stale = []
    for model in MODELS_BY_CATEGORY[category]:
        columns = _columns(model)
        for column in sorted(read_by_table.get(model._meta.db_table, ())):
            if column not in columns:
                continue
            read(entry.cache)
            assert read(entry.cache).status == HIT
            instance = model._default_manager.get(pk=world[model].pk)
            value = _changed_value(model, instance, columns[column])
            with django_capture_on_commit_callbacks(execute=True):
                model._default_manager.filter(pk=instance.pk).update(**{columns[column]: value})
            if read(entry.cache).status != MISS:
                stale.append(f"{model.__name__}.{columns[column]}")
    assert stale == []
