"""`make mutate` stays runnable: each named mutant still matches the code it breaks.

The mutants replace exact source text; a refactor that changes that text would turn a
mutant into a BROKEN row of `make mutate`, noticed only when someone runs it. This test
(no database, no Redis) notices at once.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mutants():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("firelater_mutate", ROOT / "scripts/mutate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module.MUTANTS


MUTANTS = _mutants()


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_the_mutant_matches_its_source_exactly_once_and_names_existing_tests(mutant) -> None:
    source = (ROOT / mutant.path).read_text()
    assert source.count(mutant.old) == 1, f"update scripts/mutate.py: {mutant.name}"
    assert mutant.new != mutant.old
    assert mutant.tests
    for test in mutant.tests:  # a file, or one test in it (path::name)
        path, _, name = test.partition("::")
        assert (ROOT / path).is_file(), test
        assert not name or f"def {name}(" in (ROOT / path).read_text(), test


def test_the_mutants_have_distinct_names() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))
