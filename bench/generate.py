"""Fast bulk data for the scale tenants, in SQL (INSERT ... SELECT generate_series).

The factory seed (seed_demo) builds rows in Python: right for 100,000 issues, too slow
for 1,000,000. These statements give the same shapes (recent days busier, older issues
mostly done, SLA by priority, changes scheduled 1-21 days after creation, five per cent
of applications never scored) at a few seconds per million rows. They run in the
current tenant's schema (django-tenants' search_path), with the table names unqualified.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

APPLICATIONS_SQL = """
INSERT INTO applications_application (name, description, tier, owner, created_at)
SELECT 'Generated app ' || g, '', 1 + g %% 4, 'team ' || g %% 6, now() - interval '120 days'
FROM generate_series(1, %(applications)s) g
"""

# 30 days x 3 scores a day per application; every 20th application has none ("unknown").
HEALTH_SQL = """
INSERT INTO applications_applicationhealthscore (application_id, score, calculated_at)
SELECT a.id,
       greatest(0, least(100, (ARRAY[95, 90, 85, 75, 60, 40])[1 + a.id %% 6]
                              + floor(random() * 13)::int - 6)),
       now() - s * interval '8 hours'
FROM applications_application a CROSS JOIN generate_series(1, 90) s
WHERE a.id %% 20 <> 0
"""

ISSUES_SQL = """
INSERT INTO issues_issue (title, description, status, priority, application_id, reporter_id,
                          assignee_id, created_at, updated_at, resolved_at, sla_due_at)
SELECT 'Generated issue ' || g, '', status, priority,
       CASE WHEN random() < 0.9 THEN %(app_min)s + floor(random() * %(app_count)s)::bigint END,
       %(user_id)s, CASE WHEN status <> 'new' THEN %(user_id)s END,
       created,
       coalesce(resolved, least(now(), created + random() * interval '6 hours')),
       resolved,
       created + CASE priority WHEN 'critical' THEN interval '4 hours'
                               WHEN 'high' THEN interval '8 hours'
                               WHEN 'medium' THEN interval '24 hours'
                               ELSE interval '72 hours' END
FROM (
    SELECT g, created, priority,
           CASE WHEN done THEN CASE WHEN random() < 0.55 THEN 'closed' ELSE 'resolved' END
                ELSE (ARRAY['new', 'assigned', 'in_progress', 'pending'])
                     [1 + floor(random() * 4)::int]
           END AS status,
           CASE WHEN done THEN least(now(), created - interval '20 hours' * ln(1 - random())) END
               AS resolved
    FROM (
        SELECT g, created,
               CASE WHEN rp < 0.05 THEN 'critical' WHEN rp < 0.25 THEN 'high'
                    WHEN rp < 0.70 THEN 'medium' ELSE 'low' END AS priority,
               random() < least(0.95, 0.25 + extract(epoch FROM now() - created) / 86400 / 12)
                   AS done
        FROM (
            SELECT g, random() AS rp,
                   now() - interval '90 days' * (1 - sqrt(random()))
                         - interval '1 minute' * floor(random() * 60) AS created
            FROM generate_series(1, %(issues)s) g
        ) raw
    ) shaped
) final
"""

# Ended changes record their outcome at their scheduled end (closed ones keep it).
CHANGES_SQL = """
INSERT INTO changes_change (title, description, status, risk, type, application_id,
                            created_at, updated_at, scheduled_start, scheduled_end,
                            outcome, completed_at)
SELECT g_title, '', status, risk, type, application_id, created, updated, s_start, s_end,
       CASE status WHEN 'completed' THEN 'successful' WHEN 'closed' THEN 'successful'
                   WHEN 'failed' THEN 'failed' WHEN 'rolled_back' THEN 'rolled_back' END,
       CASE WHEN status IN ('completed', 'closed', 'failed', 'rolled_back') THEN s_end END
FROM (
SELECT 'Generated change ' || g AS g_title,
       CASE WHEN s_end < now() THEN CASE WHEN r < 0.70 THEN 'completed'
                                         WHEN r < 0.85 THEN 'closed'
                                         WHEN r < 0.89 THEN 'failed'
                                         WHEN r < 0.92 THEN 'rolled_back'
                                         WHEN r < 0.96 THEN 'cancelled' ELSE 'rejected' END
            WHEN s_start <= now() THEN 'implementing'
            ELSE (ARRAY['draft', 'submitted', 'review', 'approved', 'scheduled', 'scheduled'])
                 [1 + floor(random() * 6)::int] END AS status,
       (ARRAY['low', 'low', 'low', 'low', 'low', 'medium', 'medium', 'medium', 'high',
              'critical'])[1 + floor(random() * 10)::int] AS risk,
       (ARRAY['standard', 'standard', 'standard', 'standard', 'normal', 'normal', 'normal',
              'normal', 'normal', 'emergency'])[1 + floor(random() * 10)::int] AS type,
       %(app_min)s + floor(random() * %(app_count)s)::bigint AS application_id,
       created, CASE WHEN s_end < now() THEN s_end ELSE created END AS updated, s_start, s_end
FROM (
    SELECT g, created, s_start, r,
           s_start + interval '1 hour' * (ARRAY[1, 2, 4, 8])[1 + floor(random() * 4)::int] AS s_end
    FROM (
        SELECT g, created, random() AS r,
               created + interval '1 day' * (1 + random() * 20)
                       + interval '1 hour' * floor(random() * 24) AS s_start
        FROM (
            SELECT g, now() - interval '90 days' * (1 - sqrt(random())) AS created
            FROM generate_series(1, %(changes)s) g
        ) raw
    ) started
) final
) shaped
"""

CATALOG_SQL = """
INSERT INTO requests_app_catalogitem (name, category, active, fulfilment_target_hours,
                                      created_at)
SELECT 'Generated item ' || g,
       (ARRAY['Hardware', 'Access', 'Software', 'Collaboration'])[1 + g %% 4],
       g %% 10 <> 0,
       (ARRAY[4, 8, 24, 48, 72])[1 + g %% 5],
       now() - interval '200 days'
FROM generate_series(1, %(catalog_items)s) g
"""

# Four accounts' monthly bills for the last 13 months.
CLOUD_SQL = """
INSERT INTO cloud_cloudcostreport (provider, account, period_start, period_type, total_cost,
                                   currency, change_percent, created_at)
SELECT provider, account, (date_trunc('month', now()) - m * interval '1 month')::date,
       'monthly', round((base * (1 + random() * 0.3))::numeric, 2), 'USD', NULL, now()
FROM (VALUES ('aws', 'production', 42000), ('aws', 'staging', 6500),
             ('azure', 'corporate-it', 18000), ('gcp', 'data-platform', 11000))
     AS accounts(provider, account, base)
CROSS JOIN generate_series(0, 12) m
"""

REQUESTS_SQL = """
INSERT INTO requests_app_request (title, description, status, priority, requester_id,
                                  created_at, updated_at, due_at, fulfilled_at, catalog_item_id)
SELECT 'Generated request ' || g, '', status, priority, %(user_id)s,
       created, coalesce(fulfilled, created),
       created + interval '1 day' * (ARRAY[2, 3, 5, 10])[1 + floor(random() * 4)::int],
       fulfilled,
       CASE WHEN random() < 0.85
            THEN %(item_min)s + floor(random() * %(item_count)s)::bigint END
FROM (
    SELECT g, created, status, priority,
           CASE WHEN status = 'fulfilled'
                THEN least(now(), created - interval '30 hours' * ln(1 - random())) END
               AS fulfilled
    FROM (
        SELECT g, created,
               CASE WHEN random()
                         < least(0.9, 0.2 + extract(epoch FROM now() - created) / 86400 / 10)
                    THEN (ARRAY['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled',
                                'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'cancelled'])
                         [1 + floor(random() * 10)::int]
                    ELSE (ARRAY['submitted', 'pending_approval', 'approved', 'in_progress'])
                         [1 + floor(random() * 4)::int] END AS status,
               (ARRAY['critical', 'high', 'high', 'high', 'high', 'medium', 'medium', 'medium',
                      'medium', 'medium', 'medium', 'medium', 'medium', 'medium', 'low', 'low',
                      'low', 'low', 'low', 'low'])[1 + floor(random() * 20)::int] AS priority
        FROM (
            SELECT g, now() - interval '90 days' * (1 - sqrt(random())) AS created
            FROM generate_series(1, %(requests)s) g
        ) raw
    ) shaped
) final
"""

# Referring tables before the tables they refer to (copies are created in reverse).
DATA_TABLES = (
    "issues_issue",
    "issues_sla_hourly",  # kept by triggers on issues_issue (copied as it is)
    "changes_change",
    "changes_ended_quarterly",  # kept by triggers on changes_change
    "requests_app_request",
    "requests_by_item_daily",  # kept by triggers on requests_app_request
    "requests_app_catalogitem",
    "cloud_cloudcostreport",
    "applications_applicationhealthscore",
    "applications_application",
)


@dataclass(frozen=True)
class Volume:
    issues: int
    changes: int
    requests: int
    applications: int
    catalog_items: int = 25

    @classmethod
    def for_issues(cls, issues: int, applications: int = 200) -> Volume:
        """The seed's proportions: changes and requests are a fifth of the issues each."""
        return cls(issues, issues // 5, issues // 5, applications)


def fill_current_schema(volume: Volume, user_id: int) -> float:
    """Replace the dashboard tables' rows of the current tenant schema; seconds taken.

    Writes go through a plain cursor: nothing is cached for this tenant yet, and the
    bench invalidates the tenant's entries itself before it measures.
    """
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY")
        cursor.execute(APPLICATIONS_SQL, {"applications": volume.applications})
        cursor.execute("SELECT min(id), count(*) FROM applications_application")
        app_min, app_count = cursor.fetchone()
        params = {
            **volume.__dict__,
            "app_min": app_min,
            "app_count": app_count,
            "user_id": user_id,
        }
        cursor.execute(HEALTH_SQL, params)
        cursor.execute(ISSUES_SQL, params)
        cursor.execute(CHANGES_SQL, params)
        cursor.execute(CATALOG_SQL, params)
        cursor.execute("SELECT min(id), count(*) FROM requests_app_catalogitem")
        params["item_min"], params["item_count"] = cursor.fetchone()
        cursor.execute(REQUESTS_SQL, params)
        cursor.execute(CLOUD_SQL, params)
    with connection.cursor() as cursor:
        for table in DATA_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started
