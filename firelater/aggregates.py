"""Summary tables kept by PostgreSQL triggers: counts the dashboard sums instead of recounting.

A `Summary` is a table of counts of a source table's rows grouped by a few columns, each an
SQL expression over a row (its status, the quarter hour of a timestamp). Statement-level
triggers with transition tables (so `QuerySet.update`, `bulk_create`, queryset deletes,
admin actions and raw SQL are all seen, in the writing transaction) append *delta rows*:
insert-only, so concurrent writers never wait on one hot row. Every FOLD_EVERY-th statement
folds the committed deltas into one compact row per group, under a non-waiting advisory
lock (`pg_try_advisory_xact_lock`: a busy fold is skipped, never waited for). A read sums
the rows of a group: compact plus the few deltas not folded yet, always exact.

The functions are created in each tenant's schema with that schema as their search_path,
so a trigger writes its own tenant's summaries whatever the session's path is. The
migrations that call `install_sql` freeze what they install: a change to a Summary needs a
new migration (drop and install again; the backfill recounts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# How many writing statements on a source table between two folds of its deltas.
FOLD_EVERY = 32
# The high half of the advisory lock keys of the folds (the low half: the source's oid).
FOLD_LOCK_CLASS = 13013
QUARTER_HOUR_SECONDS = 15 * 60


def quarter(column: str) -> str:
    """SQL: the UTC quarter hour a timestamp falls in (its bucket's start)."""
    return f"date_bin('15 minutes', {column}, timestamptz '2000-01-01 00:00:00+00')"


@dataclass(frozen=True)
class Column:
    """A summary column: its type, its value for a source row, and the model fields
    (attnames) that value depends on."""

    sql_type: str
    expression: str
    fields: frozenset[str] = field(default_factory=frozenset)


def column(sql_type: str, expression: str, fields: str = "") -> Column:
    return Column(sql_type, expression, frozenset(fields.split()))


@dataclass(frozen=True)
class Summary:
    """Counts of `source` rows for which `where` holds, per distinct value of `columns`."""

    table: str
    source: str
    columns: dict[str, Column]
    where: str = "true"
    where_fields: frozenset[str] = field(default_factory=frozenset)
    # The index reads use: equality columns first, then the one they take a range of.
    read_index: tuple[str, ...] = ()

    @property
    def names(self) -> str:
        return ", ".join(self.columns)

    @property
    def fields(self) -> frozenset[str]:
        """Every model field a count of this summary depends on."""
        return self.where_fields.union(*(c.fields for c in self.columns.values()))

    def projection(self, rows: str, sign: str) -> str:
        exprs = ", ".join(f"{c.expression} AS {name}" for name, c in self.columns.items())
        return f"SELECT {exprs}, {sign} AS n FROM {rows} WHERE {self.where}"

    def recount_sql(self) -> str:
        """SQL: the summary recounted from the source table (group columns, n)."""
        return (
            f"SELECT {self.names}, sum(n)::bigint AS n FROM ({self.projection(self.source, '1')}) "
            f"AS r GROUP BY {self.names}"
        )

    def summed_sql(self) -> str:
        """SQL: what the summary says now (group columns, n), zero groups left out."""
        return (
            f"SELECT {self.names}, sum(n)::bigint AS n FROM {self.table} "
            f"GROUP BY {self.names} HAVING sum(n) <> 0"
        )


def _delta_select(summary: Summary, operation: str) -> str:
    parts = {
        "INSERT": [summary.projection("new_rows", "1")],
        "DELETE": [summary.projection("old_rows", "-1")],
        "UPDATE": [summary.projection("new_rows", "1"), summary.projection("old_rows", "-1")],
    }[operation]
    union = " UNION ALL ".join(parts)
    return (
        f"SELECT {summary.names}, sum(n) FROM ({union}) AS d "
        f"GROUP BY {summary.names} HAVING sum(n) <> 0"
    )


def _delta_statement(summaries: Sequence[Summary], operation: str) -> str:
    """One statement appending every summary's delta rows (data-modifying CTEs)."""
    inserts = [
        f"INSERT INTO {s.table} ({s.names}, n) {_delta_select(s, operation)}" for s in summaries
    ]
    ctes = ", ".join(f"s{i} AS ({sql})" for i, sql in enumerate(inserts[:-1]))
    return (f"WITH {ctes} " if ctes else "") + inserts[-1] + ";"


def _fold_statement(summary: Summary) -> str:
    return f"""
        WITH moved AS (DELETE FROM {summary.table} WHERE NOT compact
                       RETURNING {summary.names}, n)
        INSERT INTO {summary.table} ({summary.names}, n, compact)
        SELECT {summary.names}, sum(n), true FROM moved GROUP BY {summary.names}
        ON CONFLICT ({summary.names}) WHERE compact
        DO UPDATE SET n = {summary.table}.n + EXCLUDED.n;"""


def _names(source: str) -> dict[str, str]:
    return {
        "function": f"{source}_summarise",
        "fold": f"{source}_fold_summaries",
        "sequence": f"{source}_fold_seq",
    }


def install_sql(summaries: Sequence[Summary]) -> str:
    """SQL creating the summaries of one source table, its triggers, and the backfill."""
    source = summaries[0].source
    assert all(s.source == source for s in summaries)
    names = _names(source)
    statements = []
    for s in summaries:
        columns = ", ".join(f"{name} {c.sql_type} NOT NULL" for name, c in s.columns.items())
        first = next(iter(s.columns))
        statements += [
            f"CREATE TABLE {s.table} ({columns}, n bigint NOT NULL, "
            "compact boolean NOT NULL DEFAULT false)",
            f"CREATE UNIQUE INDEX {s.table}_compact ON {s.table} ({s.names}) WHERE compact",
            f"CREATE INDEX {s.table}_deltas ON {s.table} ({first}) WHERE NOT compact",
            *(
                [f"CREATE INDEX {s.table}_read ON {s.table} ({', '.join(s.read_index)})"]
                if s.read_index
                else []
            ),
            f"INSERT INTO {s.table} ({s.names}, n, compact) "
            f"SELECT {s.names}, n, true FROM ({s.recount_sql()}) AS r",
            f"ANALYZE {s.table}",  # the planner's first reads see the backfilled sizes
        ]
    folds = "\n".join(_fold_statement(s) for s in summaries)
    lock = f"({FOLD_LOCK_CLASS}::bigint << 32) + '{source}'::regclass::oid::bigint"
    statements.append(f"CREATE SEQUENCE {names['sequence']}")
    statements.append(f"""
CREATE FUNCTION {names["fold"]}() RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- Only under READ COMMITTED: each statement then sees every committed delta, and a
    -- fold never conflicts with one committed meanwhile. Another fold running: skip.
    IF current_setting('transaction_isolation') <> 'read committed'
       OR NOT pg_try_advisory_xact_lock({lock}) THEN
        RETURN false;
    END IF;
    {folds}
    RETURN true;
END;
$$""")
    truncate = "; ".join(f"DELETE FROM {s.table}" for s in summaries)
    statements.append(f"""
CREATE FUNCTION {names["function"]}() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_delta_statement(summaries, "INSERT")}
    ELSIF TG_OP = 'UPDATE' THEN
        {_delta_statement(summaries, "UPDATE")}
    ELSIF TG_OP = 'DELETE' THEN
        {_delta_statement(summaries, "DELETE")}
    ELSE
        {truncate};
        RETURN NULL;
    END IF;
    IF nextval('{names["sequence"]}') % {FOLD_EVERY} = 0 THEN
        PERFORM {names["fold"]}();
    END IF;
    RETURN NULL;
END;
$$""")
    for operation, referencing in (
        ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
        ("UPDATE", "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows"),
        ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
        ("TRUNCATE", ""),
    ):
        statements.append(
            f"CREATE TRIGGER {source}_summarise_{operation.lower()} AFTER {operation} ON "
            f"{source} {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {names['function']}()"
        )
    return ";\n".join(statements) + ";"


def uninstall_sql(summaries: Sequence[Summary]) -> str:
    source = summaries[0].source
    names = _names(source)
    statements = [
        f"DROP TRIGGER IF EXISTS {source}_summarise_{op} ON {source}"
        for op in ("insert", "update", "delete", "truncate")
    ]
    statements += [
        f"DROP FUNCTION IF EXISTS {names['function']}()",
        f"DROP FUNCTION IF EXISTS {names['fold']}()",
        f"DROP SEQUENCE IF EXISTS {names['sequence']}",
    ]
    statements += [f"DROP TABLE IF EXISTS {s.table}" for s in summaries]
    return ";\n".join(statements) + ";"


# --- Repair and inspection (the rebuild command and the tests) ------------------------------


def _rows(cursor: Any, sql: str) -> dict[tuple[Any, ...], int]:
    cursor.execute(sql)
    return {tuple(row[:-1]): int(row[-1]) for row in cursor.fetchall() if row[-1] != 0}


def drift(cursor: Any, summary: Summary) -> dict[tuple[Any, ...], tuple[int, int]]:
    """Groups where the summary and a full recount disagree: group -> (summary, recount)."""
    kept = _rows(cursor, summary.summed_sql())
    recount = _rows(cursor, summary.recount_sql())
    return {
        key: (kept.get(key, 0), recount.get(key, 0))
        for key in kept.keys() | recount.keys()
        if kept.get(key, 0) != recount.get(key, 0)
    }


def fold(cursor: Any, source: str) -> bool:
    """Fold a source's deltas now (False if another fold holds the lock)."""
    cursor.execute(f"SELECT {_names(source)['fold']}()")
    return bool(cursor.fetchone()[0])


def rebuild(cursor: Any, summaries: Sequence[Summary]) -> dict[str, int]:
    """Recount every summary of one source from scratch, in the caller's transaction;
    the source is locked against writes meanwhile (SHARE). Returns groups that drifted."""
    source = summaries[0].source
    cursor.execute(f"LOCK TABLE {source} IN SHARE MODE")
    drifted = {}
    for s in summaries:
        drifted[s.table] = len(drift(cursor, s))
        cursor.execute(f"LOCK TABLE {s.table} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {s.table}")
        cursor.execute(
            f"INSERT INTO {s.table} ({s.names}, n, compact) "
            f"SELECT {s.names}, n, true FROM ({s.recount_sql()}) AS r"
        )
        cursor.execute(f"ANALYZE {s.table}")
    return drifted


# --- Summaries with several measures per group (SLA compliance, change success, by item) ----

# The high half of their folds' advisory lock keys (the low half: the summary table's oid).
MEASURED_FOLD_LOCK_CLASS = 13014


@dataclass(frozen=True)
class MeasuredSummary:
    """Sums of several measures of `source` rows per group of `keys`: the same insert-only
    design as `Summary` (delta rows appended by statement triggers in the writing
    transaction, folded every FOLD_EVERY-th statement under a non-waiting advisory lock,
    read by summing a group's rows), for summaries whose groups carry more than a count.

    `delta` is a SELECT of the keys and measures of `{rows}` (a transition table or the
    source itself), each measure multiplied by `{sign}`.
    """

    table: str
    source: str
    keys: dict[str, str]  # name -> SQL type
    measures: tuple[str, ...]  # bigint sums
    delta: str

    @property
    def key_names(self) -> str:
        return ", ".join(self.keys)

    def delta_sql(self, rows: str, sign: int, where: str = "") -> str:
        return self.delta.format(rows=rows, sign=sign, where=where)

    def insert_sql(self, delta: str, *, compact: bool = False) -> str:
        """SQL: append the grouped sums of `delta` (compact: as the groups' folded rows)."""
        sums = ", ".join(f"sum({m})" for m in self.measures)
        nonzero = " OR ".join(f"sum({m}) <> 0" for m in self.measures)
        columns = f"{self.key_names}, {', '.join(self.measures)}" + (", compact" if compact else "")
        return (
            f"INSERT INTO {self.table} ({columns}) SELECT {self.key_names}, {sums}"
            + (", true" if compact else "")
            + f" FROM ({delta}) AS d GROUP BY {self.key_names} HAVING {nonzero}"
        )

    @property
    def lock_sql(self) -> str:
        return f"({MEASURED_FOLD_LOCK_CLASS}::bigint << 32) + '{self.table}'::regclass::oid::bigint"

    def _fold_sql(self) -> str:
        measures = ", ".join(self.measures)
        sums = ", ".join(f"sum({m})" for m in self.measures)
        added = ", ".join(f"{m} = {self.table}.{m} + EXCLUDED.{m}" for m in self.measures)
        return f"""
            WITH moved AS (DELETE FROM {self.table} WHERE NOT compact
                           RETURNING {self.key_names}, {measures})
            INSERT INTO {self.table} ({self.key_names}, {measures}, compact)
            SELECT {self.key_names}, {sums}, true FROM moved GROUP BY {self.key_names}
            ON CONFLICT ({self.key_names}) WHERE compact DO UPDATE SET {added};"""

    def install_sql(self) -> str:
        """SQL creating the table, its triggers on the source and the backfill."""
        t = self.table
        keys = ", ".join(f"{name} {sql_type} NOT NULL" for name, sql_type in self.keys.items())
        measures = ", ".join(f"{m} bigint NOT NULL" for m in self.measures)
        new, old = self.delta_sql("new_rows", 1), self.delta_sql("old_rows", -1)
        statements = [
            f"CREATE TABLE {t} ({keys}, {measures}, compact boolean NOT NULL DEFAULT false)",
            f"CREATE UNIQUE INDEX {t}_compact ON {t} ({self.key_names}) WHERE compact",
            f"CREATE INDEX {t}_read ON {t} ({self.key_names})",
            f"CREATE SEQUENCE {t}_fold_seq",
            f"""
CREATE FUNCTION {t}_fold() RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed'
       OR NOT pg_try_advisory_xact_lock({self.lock_sql}) THEN
        RETURN false;
    END IF;
    {self._fold_sql()}
    RETURN true;
END;
$$""",
            f"""
CREATE FUNCTION {t}_apply() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {self.insert_sql(new)};
    ELSIF TG_OP = 'UPDATE' THEN
        {self.insert_sql(new + " UNION ALL " + old)};
    ELSIF TG_OP = 'DELETE' THEN
        {self.insert_sql(old)};
    ELSE
        DELETE FROM {t};
        RETURN NULL;
    END IF;
    IF nextval('{t}_fold_seq') % {FOLD_EVERY} = 0 THEN
        PERFORM {t}_fold();
    END IF;
    RETURN NULL;
END;
$$""",
        ]
        for operation, referencing in (
            ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
            ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
            ("TRUNCATE", ""),
        ):
            statements.append(
                f"CREATE TRIGGER {t}_{operation.lower()} AFTER {operation} ON {self.source} "
                f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION {t}_apply()"
            )
        statements += [
            self.insert_sql(self.delta_sql(self.source, 1), compact=True),
            f"ANALYZE {t}",
        ]
        return ";\n".join(statements) + ";"

    def summed_sql(self) -> str:
        """SQL: what the summary says now (keys, measures), all-zero groups left out."""
        sums = ", ".join(f"sum({m})::bigint" for m in self.measures)
        nonzero = " OR ".join(f"sum({m}) <> 0" for m in self.measures)
        return (
            f"SELECT {self.key_names}, {sums} FROM {self.table} "
            f"GROUP BY {self.key_names} HAVING {nonzero}"
        )

    def recount_sql(self) -> str:
        """SQL: the summary recounted from the source table (keys, measures)."""
        sums = ", ".join(f"sum({m})::bigint" for m in self.measures)
        nonzero = " OR ".join(f"sum({m}) <> 0" for m in self.measures)
        return (
            f"SELECT {self.key_names}, {sums} FROM ({self.delta_sql(self.source, 1)}) AS d "
            f"GROUP BY {self.key_names} HAVING {nonzero}"
        )

    def drift(self, cursor: Any) -> dict[tuple[Any, ...], tuple[Any, Any]]:
        """Groups where the summary and a full recount disagree: keys -> (kept, recount)."""
        width = len(self.keys)

        def rows(sql: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
            cursor.execute(sql)
            return {tuple(r[:width]): tuple(r[width:]) for r in cursor.fetchall()}

        kept, recount = rows(self.summed_sql()), rows(self.recount_sql())
        zero = (0,) * len(self.measures)
        return {
            key: (kept.get(key, zero), recount.get(key, zero))
            for key in kept.keys() | recount.keys()
            if kept.get(key, zero) != recount.get(key, zero)
        }

    def rebuild(self, cursor: Any) -> int:
        """Recount from scratch in the caller's transaction (the source locked against
        writes meanwhile); the number of groups that had drifted."""
        cursor.execute(f"LOCK TABLE {self.source} IN SHARE MODE")
        drifted = len(self.drift(cursor))
        cursor.execute(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {self.table}")
        cursor.execute(self.insert_sql(self.delta_sql(self.source, 1), compact=True))
        cursor.execute(f"ANALYZE {self.table}")
        return drifted

    def uninstall_sql(self) -> str:
        t = self.table
        statements = [
            f"DROP TRIGGER IF EXISTS {t}_{op} ON {self.source}"
            for op in ("insert", "update", "delete", "truncate")
        ]
        statements += [
            f"DROP FUNCTION IF EXISTS {t}_apply()",
            f"DROP FUNCTION IF EXISTS {t}_fold()",
            f"DROP SEQUENCE IF EXISTS {t}_fold_seq",
            f"DROP TABLE IF EXISTS {t}",
        ]
        return ";\n".join(statements) + ";"
