"""Language codes and ability names as every wildcard builds them: a code or name that no rule
could build, or that would clash with the general corpora, is refused."""

import pytest

from maec.workflow.naming import is_ability_name, is_language_code

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize("code", ["en", "zh", "es419", "yue", "zhhant"])
def test_language_codes_that_every_wildcard_builds(code):
    assert is_language_code(code)


@pytest.mark.parametrize("code", ["pt-BR", "en_US", "../x", "es+", "e", "EN", "9ab", "abcdefghi"])
def test_language_codes_that_no_wildcard_could_build_are_refused(code):
    assert not is_language_code(code)


@pytest.mark.parametrize("name", ["general", "Math", "math_2", "2math", "math-x", ""])
def test_ability_names_that_would_clash_or_not_build_are_refused(name):
    assert not is_ability_name(name)
