"""Test mixins every entity of the kit inherits.

Subclass `EntityKitTests` in the entity's app with `entity_key` and `factory` set:
the entity then gets the platform's guarantees proven for it — login required,
not-visible is 404 and not-allowed is 403 in pages and API alike, scoped lists,
audited create/edit/delete/restore, and list query counts that do not grow.
"""

from __future__ import annotations

import json

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.accounts.services import token_create
from rapport.core.models import AuditEvent
from rapport.core.registry import registry


def api_client(user) -> Client:
    _, raw = token_create(user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def list_with_queries(entity, user, params: dict):
    """One page of `entity`'s list as `user` asks it with `params` (`listing.entity_list`,
    what the list view renders), and the SQL of the statements that read its table."""
    from django.http import QueryDict

    from rapport.core import listing

    query = QueryDict(mutable=True)
    query.update(params)
    with CaptureQueriesContext(connection) as captured:
        page = listing.entity_list(entity, user, query)
    table = entity.model._meta.db_table
    return [q["sql"] for q in captured.captured_queries if table in q["sql"]], page


class EntityKitTests:
    entity_key: str = ""
    factory: type | None = None

    # --- helpers ---------------------------------------------------------------------
    @property
    def entity(self):
        return registry.get(self.entity_key)

    def make(self, actor, **kwargs):
        return self.factory(actor=actor, **kwargs)

    def payload(self) -> dict:
        return self.factory.build()

    def ui(self, suffix: str = "") -> str:
        return f"/{self.entity.url_base}/{suffix}"

    def api(self, suffix: str = "") -> str:
        return f"/api/v1/{self.entity.url_base}{suffix}"

    # --- pages -----------------------------------------------------------------------
    def test_kit_anonymous_is_sent_to_login(self, client, alice):
        obj = self.make(alice)
        for url in (self.ui(), self.ui(f"{obj.pk}/"), self.ui("new/")):
            response = client.get(url)
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_kit_outsider_gets_404_everywhere(self, alice, carol):
        obj = self.make(alice)
        web = browser(carol)
        assert web.get(self.ui(f"{obj.pk}/")).status_code == 404
        assert web.get(self.ui(f"{obj.pk}/edit/")).status_code == 404
        assert web.post(self.ui(f"{obj.pk}/delete/")).status_code == 404
        api = api_client(carol)
        assert api.get(self.api(f"/{obj.pk}")).status_code == 404
        assert (
            api.patch(self.api(f"/{obj.pk}"), "{}", content_type="application/json").status_code
            == 404
        )
        assert api.delete(self.api(f"/{obj.pk}")).status_code == 404
        assert self.entity.model.objects.filter(pk=obj.pk).exists()

    def test_kit_nonexistent_and_invisible_answer_alike(self, alice, carol):
        obj = self.make(alice)
        api = api_client(carol)
        hidden = api.get(self.api(f"/{obj.pk}"))
        missing = api.get(self.api("/987654321"))
        assert hidden.status_code == missing.status_code == 404
        assert json.loads(hidden.content)["title"] == json.loads(missing.content)["title"]

    def test_kit_teammate_sees_but_gets_403_on_change(self, alice, bob):
        obj = self.make(alice)
        web = browser(bob)
        assert web.get(self.ui(f"{obj.pk}/")).status_code == 200
        assert web.get(self.ui(f"{obj.pk}/edit/")).status_code == 403
        assert web.post(self.ui(f"{obj.pk}/delete/")).status_code == 403
        api = api_client(bob)
        assert api.get(self.api(f"/{obj.pk}")).status_code == 200
        assert api.delete(self.api(f"/{obj.pk}")).status_code == 403
        assert self.entity.model.objects.filter(pk=obj.pk).exists()

    def test_kit_viewer_cannot_create(self, dave):
        before = self.entity.model.all_objects.count()
        assert browser(dave).get(self.ui("new/")).status_code == 403
        response = api_client(dave).post(
            self.api(), json.dumps(self.payload(), default=str), content_type="application/json"
        )
        assert response.status_code == 403
        assert self.entity.model.all_objects.count() == before

    def test_kit_lists_are_scoped(self, alice, carol):
        mine = self.make(alice)
        theirs = self.make(carol)
        page = browser(carol).get(self.ui())
        assert page.status_code == 200
        assert f"/{self.entity.url_base}/{theirs.pk}/" in page.content.decode()
        assert f"/{self.entity.url_base}/{mine.pk}/" not in page.content.decode()
        items = json.loads(api_client(carol).get(self.api()).content)["items"]
        assert [item["id"] for item in items] == [theirs.pk]

    def test_kit_api_create_update_delete_restore_are_audited(self, alice):
        api = api_client(alice)
        created = api.post(
            self.api(), json.dumps(self.payload(), default=str), content_type="application/json"
        )
        assert created.status_code == 201, created.content
        pk = json.loads(created.content)["id"]
        etag = created["ETag"]
        changed = api.patch(
            self.api(f"/{pk}"),
            json.dumps({"tags": ["kit"]}),
            content_type="application/json",
            headers={"If-Match": etag},
        )
        assert changed.status_code == 200, changed.content
        stale = api.patch(
            self.api(f"/{pk}"),
            json.dumps({"tags": ["stale"]}),
            content_type="application/json",
            headers={"If-Match": etag},
        )
        assert stale.status_code == 412
        assert api.delete(self.api(f"/{pk}")).status_code == 204
        assert api.get(self.api(f"/{pk}")).status_code == 404
        assert api.post(self.api(f"/{pk}/restore")).status_code == 200
        assert json.loads(api.get(self.api(f"/{pk}")).content)["tags"] == ["kit"]
        actions = list(
            AuditEvent.objects.filter(object_type=self.entity_key, object_id=pk)
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == ["create", "update", "delete", "restore"]

    def test_kit_delete_goes_to_trash_and_restores_from_pages(self, alice):
        obj = self.make(alice)
        web = browser(alice)
        assert web.post(self.ui(f"{obj.pk}/delete/")).status_code in (200, 302)
        assert not self.entity.model.objects.filter(pk=obj.pk).exists()
        assert str(obj.pk) in web.get("/trash/").content.decode()
        assert web.post(self.ui(f"{obj.pk}/restore/")).status_code in (200, 302)
        assert self.entity.model.objects.filter(pk=obj.pk).exists()

    def test_kit_list_query_count_does_not_grow(self, alice):
        for _ in range(3):
            self.make(alice, tags=["a", "b"])
        web = browser(alice)
        api = api_client(alice)
        web.get(self.ui())
        api.get(self.api())
        with CaptureQueriesContext(connection) as few_web:
            web.get(self.ui())
        with CaptureQueriesContext(connection) as few_api:
            api.get(self.api())
        for _ in range(12):
            self.make(alice, tags=["a", "c"])
        with CaptureQueriesContext(connection) as many_web:
            web.get(self.ui())
        with CaptureQueriesContext(connection) as many_api:
            api.get(self.api())
        assert len(many_web) == len(few_web)
        assert len(many_api) == len(few_api)

    def test_kit_detail_query_count_does_not_grow_with_history(self, alice):
        obj = self.make(alice)
        web = browser(alice)
        web.get(self.ui(f"{obj.pk}/"))
        with CaptureQueriesContext(connection) as before:
            web.get(self.ui(f"{obj.pk}/"))
        for i in range(5):
            current = self.entity.model.objects.get(pk=obj.pk)
            self.entity.update(actor=alice, obj=current, data={"tags": [f"t{i}"]})
        with CaptureQueriesContext(connection) as after:
            web.get(self.ui(f"{obj.pk}/"))
        assert len(after) == len(before)
