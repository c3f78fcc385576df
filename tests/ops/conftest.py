from tests.cache.conftest import clean_cache, private_redis  # noqa: F401  (shared fixtures)
