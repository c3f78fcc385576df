import pytest


@pytest.fixture(autouse=True)
def _clean_cache(clean_cache: None) -> None:
    """Commands and endpoints read the cache: each test starts with an empty one."""
