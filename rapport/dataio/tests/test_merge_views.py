"""Merge pages: side by side with choices, submit → survivor with an Undo button, tombstone
redirects (308) on old links, history list, "Merge with…", bulk merge for admins only."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from rapport.contacts import services
from rapport.contacts.models import Company, Person
from rapport.dataio.merging import record_merge
from rapport.dataio.models import DuplicateCluster, DuplicateDismissal, DuplicateScan, Merge
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _people(alice):
    keep = services.person_create(
        actor=alice,
        data={
            "first_name": "Ivan",
            "last_name": "Petrenko",
            "emails": [{"address": "i@a.example"}],
        },
    )
    gone = services.person_create(
        actor=alice,
        data={
            "first_name": "Ivan",
            "last_name": "Petrenko-Sr",
            "emails": [{"address": "ivan@b.example"}],
            "tags": ["lead"],
        },
    )
    return keep, gone


def test_merge_page_shows_choices_united_values_and_what_moves(alice):
    keep, gone = _people(alice)
    response = _client(alice).get(reverse("dataio:merge", args=["person", keep.pk, gone.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="choice:last_name"' in html and "Petrenko-Sr" in html
    assert "i@a.example" in html and "ivan@b.example" in html  # united emails
    assert reverse("dataio:merge", args=["person", gone.pk, keep.pk]) in html  # swap
    assert 'name="choice:first_name"' not in html  # same value: nothing to choose


def test_submit_merges_and_redirects_to_the_survivor_with_undo(alice):
    keep, gone = _people(alice)
    client = _client(alice)
    url = reverse("dataio:merge", args=["person", keep.pk, gone.pk])
    response = client.post(
        url,
        {"choice:last_name": "merged", "survivor_version": "1", "merged_version": "1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("people:detail", args=[keep.pk])
    html = response.content.decode()
    merge = Merge.objects.get()
    assert reverse("dataio:merge_undo", args=[merge.pk]) in html
    assert "ivan@b.example" in html
    assert Person.objects.get(pk=keep.pk).last_name == "Petrenko-Sr"

    # The old link answers 308 to the survivor (the edit page too).
    old = client.get(reverse("people:detail", args=[gone.pk]) + "?tab=1")
    assert old.status_code == 308
    assert old["Location"] == reverse("people:detail", args=[keep.pk]) + "?tab=1"
    assert client.get(reverse("people:edit", args=[gone.pk]))["Location"] == reverse(
        "people:edit", args=[keep.pk]
    )
    assert client.post(reverse("people:delete", args=[gone.pk])).status_code == 404

    undone = client.post(reverse("dataio:merge_undo", args=[merge.pk]))
    assert undone["Location"] == reverse("people:detail", args=[gone.pk])
    assert client.get(undone["Location"]).status_code == 200


def test_stale_versions_show_an_error_and_change_nothing(alice):
    keep, gone = _people(alice)
    url = reverse("dataio:merge", args=["person", keep.pk, gone.pk])
    response = _client(alice).post(url, {"survivor_version": "1", "merged_version": "5"})
    assert response.status_code == 409
    assert "changed while you were choosing" in response.content.decode()
    assert not Merge.objects.exists()


def test_outsider_gets_404_and_teammate_403(alice, bob, carol):
    keep, gone = _people(alice)
    url = reverse("dataio:merge", args=["person", keep.pk, gone.pk])
    assert _client(carol).get(url).status_code == 404
    assert _client(carol).post(url, {}).status_code == 404
    page = _client(bob).get(url)
    assert (
        page.status_code == 200 and "may view these records but not merge" in page.content.decode()
    )
    assert _client(bob).post(url, {}).status_code == 403
    assert Person.objects.filter(pk=gone.pk).exists()


def test_tombstone_of_an_invisible_survivor_stays_404(alice, carol):
    keep, gone = _people(alice)
    record_merge(actor=alice, entity="person", survivor=keep, merged=gone)
    assert _client(carol).get(reverse("people:detail", args=[gone.pk])).status_code == 404


def test_merge_action_on_record_page_and_merge_with_by_id_and_by_search(alice, dave):
    keep, gone = _people(alice)
    client = _client(alice)
    page = client.get(reverse("people:detail", args=[keep.pk])).content.decode()
    start = reverse("dataio:merge_start", args=["person", keep.pk])
    assert start in page
    assert start not in _client(dave).get(reverse("people:detail", args=[keep.pk])).content.decode()
    by_id = client.get(start, {"other": str(gone.pk)})
    assert by_id["Location"] == reverse("dataio:merge", args=["person", keep.pk, gone.pk])
    unknown = client.get(start, {"other": "nobody-like-this"})
    assert unknown.status_code == 200 and "No other matching record" in unknown.content.decode()


def test_history_lists_merges_with_undo(alice, carol):
    keep, gone = _people(alice)
    merge = record_merge(actor=alice, entity="person", survivor=keep, merged=gone)
    html = _client(alice).get(reverse("dataio:merge_list")).content.decode()
    assert f'data-merge-row="{merge.pk}"' in html
    assert "Ivan Petrenko-Sr" in html and "Ivan Petrenko " in html  # both records named
    assert reverse("dataio:merge_undo", args=[merge.pk]) in html
    assert (
        f'data-merge-row="{merge.pk}"'
        not in _client(carol).get(reverse("dataio:merge_list")).content.decode()
    )
    assert _client(carol).post(reverse("dataio:merge_undo", args=[merge.pk])).status_code == 404


def _cluster(entity, members, score=0.97):
    scan = DuplicateScan.objects.filter(entity=entity).first()
    if scan is None:
        scan = DuplicateScan.objects.create(entity=entity, status=DuplicateScan.Status.DONE)
    return DuplicateCluster.objects.create(
        scan=scan, entity=entity, score=score, member_ids=[m.pk for m in members]
    )


def test_bulk_merge_is_for_administrators_only(alice, admin):
    a = CompanyFactory(actor=alice, name="Acme", industry="Rockets")
    b = CompanyFactory(actor=alice, name="Acme Inc")
    c, d = CompanyFactory(actor=alice, name="Beta"), CompanyFactory(actor=alice, name="Beta Co")
    e, f = CompanyFactory(actor=alice, name="Low"), CompanyFactory(actor=alice, name="Low Co")
    _cluster("company", [a, b])
    _cluster("company", [c, d])
    _cluster("company", [e, f], score=0.6)
    DuplicateDismissal.objects.create(entity="company", left_id=c.pk, right_id=d.pk)
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    for user, shown in ((alice, False), (admin, True)):
        request = RequestFactory().get("/")
        request.user = user
        html = render_to_string(
            "dataio/_bulk_merge_form.html", {"request": request, "entity": "company"}
        )
        assert (reverse("dataio:merge_bulk") in html) is shown

    body = {"entity": "company", "threshold": "0.9"}
    assert _client(alice).post(reverse("dataio:merge_bulk"), body).status_code == 404
    assert Company.objects.count() == 6

    response = _client(admin).post(reverse("dataio:merge_bulk"), body)
    assert response.status_code == 302
    live = set(Company.objects.values_list("name", flat=True))
    assert live == {"Acme", "Beta", "Beta Co", "Low", "Low Co"}  # the most complete kept
    assert Company.all_objects.get(pk=b.pk).merged_into == a.pk


def test_bulk_merge_message_and_bad_threshold(admin):
    client = _client(admin)
    response = client.post(
        reverse("dataio:merge_bulk"), {"entity": "person", "threshold": "abc"}, follow=True
    )
    assert re.search(r"enter a score from 50 to 100", response.content.decode())


def test_merge_with_by_name_goes_to_the_single_match(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        keep, gone = _people(alice)
    start = reverse("dataio:merge_start", args=["person", keep.pk])
    response = _client(alice).get(start, {"other": "ivan@b.example"})
    assert response["Location"] == reverse("dataio:merge", args=["person", keep.pk, gone.pk])


def test_old_link_follows_a_chain_of_merges(alice):
    a, b, c = (PersonFactory(actor=alice) for _ in range(3))
    record_merge(actor=alice, entity="person", survivor=b, merged=a)
    record_merge(actor=alice, entity="person", survivor=c, merged=b)
    response = _client(alice).get(reverse("people:detail", args=[a.pk]))
    assert response.status_code == 308
    assert response["Location"] == reverse("people:detail", args=[c.pk])


def test_merge_page_refuses_a_record_with_itself(alice):
    keep, _gone = _people(alice)
    url = reverse("dataio:merge", args=["person", keep.pk, keep.pk])
    for response in (_client(alice).get(url), _client(alice).post(url, {})):
        assert response.status_code == 422
        assert "cannot be merged with itself" in response.content.decode()
    assert not Merge.objects.exists()
