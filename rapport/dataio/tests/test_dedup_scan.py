"""The background scan, the Duplicates page and dismissals, with scoping."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.contacts.models import Person
from rapport.core.exceptions import PermissionDenied
from rapport.dataio.dedup import scan as dedup_scan
from rapport.dataio.dedup.services import duplicate_dismiss, duplicate_scan_start
from rapport.dataio.models import DuplicateCluster, DuplicateDismissal, DuplicateScan
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def person(actor, first, last, email=None, phone=None):
    return PersonFactory(
        actor=actor,
        first_name=first,
        last_name=last,
        emails=[{"address": email}] if email else [],
        phones=[{"number": phone}] if phone else [],
    )


def run(entity="person", actor=None) -> DuplicateScan:
    scan = DuplicateScan.objects.create(entity=entity, requested_by=actor)
    dedup_scan.scan_duplicates.call(entity, scan.pk)
    scan.refresh_from_db()
    return scan


@pytest.fixture
def planted(alice, carol):
    """Team A: a cross-script pair, a nickname trio at one phone, a namesake;
    team B: carol's copy of team A's person (a cross-team cluster)."""
    return {
        "ua": person(alice, "Олександр", "Шевченко", phone="+380501112233"),
        "en": person(alice, "Oleksandr", "Shevchenko", phone="050 111 22 33"),
        "dmitry": person(alice, "Дмитрий", "Иванов", email="dima@example.com"),
        "dima": person(alice, "Dmitry", "Ivanov", email="DIMA@example.com"),
        "lukasz": person(alice, "Łukasz", "Kowalski", email="lk@example.com"),
        "lukasz2": person(alice, "Lukasz", "Kovalsky", email="lk@example.com"),
        "smith1": person(alice, "John", "Smith", email="john@one.example"),
        "smith2": person(alice, "John", "Smith", email="js@two.example"),
        "carol_copy": person(carol, "Kate", "Middleton", email="kate@example.com"),
        "alice_kate": person(alice, "Katherine", "Middleton", email="kate@example.com"),
    }


def clusters(entity="person") -> list[set[int]]:
    return [set(c.member_ids) for c in DuplicateCluster.objects.filter(entity=entity)]


def test_scan_finds_cross_script_transliterated_and_nickname_pairs(admin, planted):
    scan = run(actor=admin)
    assert scan.status == "done" and scan.records == 10
    found = clusters()
    p = planted
    assert {p["ua"].pk, p["en"].pk} in found
    assert {p["dmitry"].pk, p["dima"].pk} in found
    assert {p["lukasz"].pk, p["lukasz2"].pk} in found
    assert {p["carol_copy"].pk, p["alice_kate"].pk} in found
    assert not any(p["smith1"].pk in c for c in found)  # namesakes with nothing else shared
    assert scan.clusters == len(found) == 4


def test_a_new_scan_replaces_the_previous_clusters(admin, planted):
    run(actor=admin)
    Person.objects.filter(pk=planted["en"].pk).update(deleted_at="2026-01-01T00:00:00Z")
    run(actor=admin)
    assert not any(planted["ua"].pk in c for c in clusters())
    assert DuplicateCluster.objects.count() == 3


def test_giant_blocks_are_skipped_and_counted(admin, alice, monkeypatch):
    monkeypatch.setattr(dedup_scan, "BLOCK_CAP", 3)
    for first, last in [
        ("Anna", "Lis"),
        ("Piotr", "Nowak"),
        ("Ivan", "Franko"),
        ("Maria", "Curie"),
    ]:
        person(alice, first, last, email="info@shared.example")
    result = dedup_scan.run_scan("person", DuplicateScan.objects.create(entity="person"))
    assert result.skipped_blocks == 1 and result.skipped_records == 4
    assert result.pairs == 0


def test_dismissed_pairs_are_never_proposed_again(admin, planted):
    run(actor=admin)
    p = planted
    duplicate_dismiss(actor=admin, entity="person", left_id=p["en"].pk, right_id=p["ua"].pk)
    assert {p["ua"].pk, p["en"].pk} not in clusters()  # removed from the current clusters
    run(actor=admin)
    assert {p["ua"].pk, p["en"].pk} not in clusters()
    assert DuplicateDismissal.objects.get().left_id == min(p["ua"].pk, p["en"].pk)


def test_dismissing_one_pair_splits_what_it_held_together(admin, alice):
    a = person(alice, "Anna", "Lis", email="a@example.com")
    b = person(alice, "Anna", "Lis", email="a@example.com", phone="+48221234567")
    c = person(alice, "Anna", "Lis", phone="+48221234567")
    run(actor=admin)
    assert clusters() == [{a.pk, b.pk, c.pk}]
    duplicate_dismiss(actor=admin, entity="person", left_id=a.pk, right_id=b.pk)
    duplicate_dismiss(actor=admin, entity="person", left_id=a.pk, right_id=c.pk)
    assert clusters() == [{b.pk, c.pk}]


def test_companies_are_scanned_by_domain_and_name(admin, alice):
    one = CompanyFactory(actor=alice, name="ТОВ «Ромашка»", domains=["romashka.example"])
    two = CompanyFactory(actor=alice, name="Romashka LLC", domains=["romashka.example"])
    CompanyFactory(actor=alice, name="Acme", domains=["acme.example"])
    run("company", actor=admin)
    assert clusters("company") == [{one.pk, two.pk}]
    reasons = DuplicateCluster.objects.get().reasons
    assert {"code": "domain"} in reasons


def test_page_lists_clusters_with_reasons_and_actions(admin, planted):
    run(actor=admin)
    response = browser(admin).get("/data/duplicates/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "same phone" in html and "Not duplicates" in html and "Scan now" in html
    assert len(response.context["clusters"]) == 4


def test_outsider_never_sees_team_a_records_in_clusters(carol, planted, admin):
    run(actor=admin)
    response = browser(carol).get("/data/duplicates/")
    assert response.status_code == 200
    assert response.context["clusters"] == []  # carol sees only one member of her cluster
    assert "Middleton" not in response.content.decode()


def test_scan_now_needs_manager_or_admin(alice, erin, django_capture_on_commit_callbacks):
    with pytest.raises(PermissionDenied):
        duplicate_scan_start(actor=alice, entity="person")
    assert browser(alice).post("/data/duplicates/scan/", {"entity": "person"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(erin).post("/data/duplicates/scan/", {"entity": "person"})
    assert response.status_code == 302
    assert DuplicateScan.objects.get().status == "done"


def test_page_dismiss_of_a_whole_cluster(admin, planted):
    run(actor=admin)
    [cluster] = [c for c in DuplicateCluster.objects.all() if planted["dima"].pk in c.member_ids]
    response = browser(admin).post(
        "/data/duplicates/dismiss/", {"entity": "person", "cluster": cluster.pk}
    )
    assert response.status_code == 302
    assert not DuplicateCluster.objects.filter(pk=cluster.pk).exists()
    assert DuplicateDismissal.objects.count() == 1


def test_dismiss_needs_change_on_both_records(dave, planted):
    p = planted
    response = browser(dave).post(
        "/data/duplicates/dismiss/",
        {"entity": "person", "left_id": p["ua"].pk, "right_id": p["en"].pk},
    )
    assert response.status_code == 403
    assert not DuplicateDismissal.objects.exists()


def test_dismiss_of_an_invisible_record_is_404(carol, planted):
    p = planted
    response = browser(carol).post(
        "/data/duplicates/dismiss/",
        {"entity": "person", "left_id": p["ua"].pk, "right_id": p["carol_copy"].pk},
    )
    assert response.status_code == 404


def test_unknown_entity_is_404(admin):
    assert browser(admin).get("/data/duplicates/?entity=deal").status_code == 404


def test_company_page_links_records_and_merge(admin, alice):
    one = CompanyFactory(actor=alice, name="Acme GmbH", domains=["acme.example"])
    two = CompanyFactory(actor=alice, name="ACME LLC", domains=["acme.example"])
    run("company", actor=admin)
    response = browser(admin).get("/data/duplicates/?entity=company")
    html = response.content.decode()
    assert f"/companies/{one.pk}/" in html and f"/companies/{two.pk}/" in html
    assert f"/data/merges/company/{one.pk}/{two.pk}/" in html
    assert "same domain" in html


def test_nicknames_at_the_same_employer_are_found_without_shared_channels(admin, alice):
    acme = CompanyFactory(actor=alice, name="Acme")
    bill = person(alice, "Bill", "Gates", email="bill@one.example")
    william = person(alice, "William", "Gates", email="wg@two.example")
    elsewhere = person(alice, "William", "Gates", email="w@three.example")
    Person.objects.filter(pk__in=[bill.pk, william.pk]).update(company=acme)
    scan = run(actor=admin)
    assert clusters() == [{bill.pk, william.pk}]
    assert elsewhere.pk not in clusters()[0]
    reasons = DuplicateCluster.objects.get().reasons
    assert reasons == [{"code": "company"}, {"code": "name", "score": 100}]
    assert scan.pairs == 1
