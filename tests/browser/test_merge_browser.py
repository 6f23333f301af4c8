"""Merge a proposed duplicate pair in Chromium: from the Duplicates page to the merge
page, pick a value, land on the survivor with the united emails; the merged record's old
link leads there too, and Undo brings it back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _proposed_pair(alice):
    from rapport.contacts import services
    from rapport.dataio.models import DuplicateCluster, DuplicatePair, DuplicateScan

    keep = services.person_create(
        actor=alice,
        data={
            "first_name": "Oleksandr",
            "last_name": "Shevchenko",
            "emails": [{"address": "oleksandr@work.example"}],
            "phones": [{"number": "+380671234567"}],
        },
    )
    gone = services.person_create(
        actor=alice,
        data={
            "first_name": "Олександр",
            "last_name": "Шевченко",
            "emails": [{"address": "sasha@home.example"}],
            "phones": [{"number": "+380671234567"}],
        },
    )
    scan = DuplicateScan.objects.create(
        entity="person", status=DuplicateScan.Status.DONE, records=2, pairs=1, clusters=1
    )
    reasons = [{"code": "phone", "score": 1.0}]
    cluster = DuplicateCluster.objects.create(
        scan=scan, entity="person", score=0.96, member_ids=[keep.pk, gone.pk], reasons=reasons
    )
    DuplicatePair.objects.create(
        cluster=cluster,
        entity="person",
        left_id=keep.pk,
        right_id=gone.pk,
        score=0.96,
        reasons=reasons,
    )
    return keep, gone


def test_merge_a_proposed_duplicate_pair(page, login_as, alice):
    from rapport.contacts.models import Person

    keep, gone = _proposed_pair(alice)
    login_as(page, alice)

    page.goto("/data/duplicates/?entity=person")
    pair = page.locator(".duplicate-pair").first
    expect(pair).to_contain_text("Oleksandr Shevchenko")
    expect(pair).to_contain_text("Олександр Шевченко")
    pair.get_by_role("link", name=re.compile("Merge", re.I)).click()

    page.wait_for_url(re.compile(rf"/data/merges/person/{keep.pk}/{gone.pk}/$"))
    row = page.locator("tr[data-merge-field=last_name]")
    expect(row).to_contain_text("Шевченко")
    row.locator("input[value=merged]").check()
    expect(page.locator("main")).to_contain_text("sasha@home.example")  # shown as united
    page.locator("#merge-form").get_by_role("button", name=re.compile("^\\s*Merge", re.I)).click()

    page.wait_for_url(re.compile(rf"/people/{keep.pk}/$"))
    main = page.locator("main")
    expect(main.locator("h1")).to_have_text("Oleksandr Шевченко")
    expect(main).to_contain_text("oleksandr@work.example")
    expect(main).to_contain_text("sasha@home.example")
    assert Person.all_objects.get(pk=gone.pk).merged_into == keep.pk

    # The merged record's old link leads to the survivor.
    page.goto(f"/people/{gone.pk}/")
    expect(page).to_have_url(re.compile(rf"/people/{keep.pk}/$"))

    # Undo from the merge history brings the merged record back.
    page.goto("/data/merges/")
    page.locator("[data-merge-row]").first.get_by_role("button", name=re.compile("Undo")).click()
    page.wait_for_url(re.compile(rf"/people/{gone.pk}/$"))
    expect(page.locator("main h1")).to_have_text("Олександр Шевченко")
    assert Person.objects.get(pk=keep.pk).last_name == "Shevchenko"
