"""Security test fixtures: a clean cache (responses must not come from earlier tests)."""

from tests.cache.conftest import clean_cache  # noqa: F401  (shared autouse fixture)
