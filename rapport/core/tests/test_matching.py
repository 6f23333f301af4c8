"""Match keys: one key across scripts, transliterations, nicknames and legal forms."""

from __future__ import annotations

import pytest

from rapport.core.matching import (
    canonical_given,
    company_match_key,
    company_name,
    person_match_key,
    person_name,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Олександр", "Шевченко"), ("Oleksandr", "Shevchenko")),
        (("Sasha", "Shevchenko"), ("Alexander", "Shevchenko")),
        (("Дмитрий", "Иванов"), ("Dmitry", "Ivanov")),
        (("Dmytro", "Ivanov"), ("Дмитро", "Іванов")),
        (("Łukasz", "Kowalski"), ("Lukasz", "Kovalsky")),
        (("Bill", "Gates"), ("William", "Gates")),
        (("Kate", "Middleton"), ("Katherine", "Middleton")),
        (("Kasia", "Nowak"), ("Katarzyna", "Novak")),
        (("Юлія", "Ткаченко"), ("Yuliya", "Tkachenko")),
        (("Евгений", "Бондаренко"), ("Yevhen", "Bondarenko")),
        (("Shevchenko", "Oleksandr"), ("Oleksandr", "Shevchenko")),  # swapped fields
    ],
)
def test_variants_of_one_name_share_the_match_key(a, b):
    assert person_match_key(*a) == person_match_key(*b) != ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Oleksandr", "Shevchenko"), ("Oleksandr", "Kovalenko")),
        (("Anna", "Nowak"), ("Maria", "Nowak")),
        (("Dmitry", "Ivanov"), ("Sergey", "Ivanov")),
    ],
)
def test_different_people_get_different_keys(a, b):
    assert person_match_key(*a) != person_match_key(*b)


def test_nicknames_resolve_to_one_canonical_name_in_every_script():
    names = ["Alex", "Sasha", "Саша", "Олександр", "Александр", "Aleksander", "Oleksandr"]
    assert {canonical_given(n) for n in names} == {"alexander"}
    assert canonical_given("Дима") == canonical_given("Dmitriy") == "dmitry"
    assert person_name("Олександр", "Шевченко") == person_name("Sasha", "Shevchenko")


def test_a_name_without_any_part_has_no_key():
    assert person_match_key("", "") == ""
    assert person_match_key("Anna", "") != ""


@pytest.mark.parametrize(
    "name",
    ["ТОВ «Ромашка»", "Romashka LLC", "ООО Ромашка", "Romashka Sp. z o.o.", "ROMASHKA GmbH"],
)
def test_company_keys_drop_legal_forms_and_scripts(name):
    assert company_name(name) == "romashka"
    assert company_match_key(name) == company_match_key("Romashka")


def test_a_company_named_only_by_its_legal_form_keeps_a_key():
    assert company_match_key("LLC") != ""
