"""django-tenants' PostgreSQL backend, skipping `SET search_path` only when it is redundant.

With TENANT_LIMIT_SET_CALLS django-tenants sends `SET search_path` on the first cursor after
every set_tenant(), even when the connection already has that path. This backend records
the path PostgreSQL really has on the open connection (the last SET that succeeded), forgets
it whenever PostgreSQL may have dropped it, and lets set_tenant() skip the SET only when
the new tenant's path is that one. Nothing else may claim a SET is unneeded (issue #18.1).
"""

from __future__ import annotations

from typing import Any

from django_tenants.postgresql_backend import base


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    # The search_path of the open connection as PostgreSQL has it, or None when unknown (no
    # connection, a new one, or a rollback that may have undone a SET). A class attribute:
    # django-tenants' __init__ calls set_tenant() before ours could assign it.
    search_path_in_effect: list[str] | None = None

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        super().set_tenant(tenant, include_public)  # clears search_path_set_schemas
        in_effect = self.search_path_in_effect
        if in_effect is not None and in_effect == self._get_cursor_search_paths():
            self.search_path_set_schemas = in_effect  # the connection is already there

    def _handle_search_path(self, cursor: Any = None) -> None:
        if self._setting_search_path:  # re-entered while obtaining the SET's own cursor
            return
        super()._handle_search_path(cursor)
        # The paths of the SET that just succeeded, or None after a failed one; unchanged
        # (and still true) when the SET was skipped because the connection already had it.
        self.search_path_in_effect = self.search_path_set_schemas

    def connect(self) -> None:
        self.search_path_in_effect = None  # a new session starts on the server's default
        super().connect()

    def close(self) -> None:
        self.search_path_in_effect = None
        super().close()

    def rollback(self) -> None:
        self.search_path_in_effect = None  # a SET in the rolled-back transaction is undone
        super().rollback()

    def savepoint_rollback(self, sid: str) -> None:
        try:
            super().savepoint_rollback(sid)
        finally:
            self.search_path_in_effect = None  # as rollback, for a SET after the savepoint
