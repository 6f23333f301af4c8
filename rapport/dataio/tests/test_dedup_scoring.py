"""Pair scoring: what counts as a likely duplicate, and the reasons given."""

from __future__ import annotations

from django.utils import translation

from rapport.dataio.dedup import scoring
from rapport.dataio.dedup.scan import clusters_of


def person(pk, first, last, **kwargs):
    return scoring.person_profile(pk, first_name=first, last_name=last, **kwargs)


def test_same_name_across_scripts_with_same_phone_is_a_duplicate():
    a = person(1, "Олександр", "Шевченко", phones=["+380501234567"])
    b = person(2, "Oleksandr", "Shevchenko", phones=["+380501234567"])
    value, reasons = scoring.score(a, b)
    assert value >= 0.9
    assert {"code": "phone"} in reasons and {"code": "name", "score": 100} in reasons


def test_typo_in_name_with_same_email_names_the_similarity():
    a = person(1, "Katarzyna", "Nowakowska", emails=["k.nowak@example.com"])
    b = person(2, "Katarzyna", "Nowakowksa", emails=["K.Nowak@example.com"])
    value, reasons = scoring.score(a, b)
    assert value >= scoring.THRESHOLD
    name = next(r for r in reasons if r["code"] == "name")
    assert 85 <= name["score"] < 100
    assert reasons[0] == {"code": "email"}


def test_a_shared_name_alone_is_not_enough():
    a = person(1, "John", "Smith", emails=["john@one.example"])
    b = person(2, "John", "Smith", emails=["js@two.example"])
    assert scoring.score(a, b)[0] < scoring.THRESHOLD


def test_similar_name_at_the_same_company_is_enough():
    a = person(1, "Bill", "Gates", company_id=7)
    b = person(2, "William", "Gates", company_id=7)
    value, reasons = scoring.score(a, b)
    assert value >= scoring.THRESHOLD
    assert [r["code"] for r in reasons] == ["company", "name"]


def test_family_sharing_a_phone_is_not_proposed():
    a = person(1, "Anna", "Kowalska", phones=["+48221234567"])
    b = person(2, "Piotr", "Kowalski", phones=["+48221234567"])
    assert scoring.score(a, b)[0] < scoring.THRESHOLD


def test_companies_with_other_legal_forms_and_scripts_match_by_name():
    a = scoring.company_profile(1, name="ТОВ «Ромашка»")
    b = scoring.company_profile(2, name="Romashka LLC")
    value, reasons = scoring.score(a, b, entity="company")
    assert value >= scoring.THRESHOLD and reasons == [{"code": "name", "score": 100}]


def test_reasons_are_rendered_in_the_readers_language():
    reasons = [{"code": "phone"}, {"code": "name", "score": 94}]
    with translation.override("en"):
        assert scoring.reasons_text(reasons) == ["same phone", "name 94% similar"]


def test_cluster_reasons_keep_each_code_once_with_the_best_score():
    merged = scoring.merge_reasons(
        [[{"code": "name", "score": 80}], [{"code": "email"}, {"code": "name", "score": 95}]]
    )
    assert merged == [{"code": "email"}, {"code": "name", "score": 95}]


def test_clusters_are_connected_components():
    assert sorted(clusters_of([(1, 2), (2, 3), (7, 9)])) == [[1, 2, 3], [7, 9]]
