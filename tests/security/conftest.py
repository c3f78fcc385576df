import pytest


@pytest.fixture(autouse=True)
def _clean_cache(clean_cache: None) -> None:
    """The sweeps compare cached answers: each test starts with an empty cache."""
