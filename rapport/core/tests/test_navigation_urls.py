"""Menu URLs are reversed once per name, script prefix and URLconf."""

from __future__ import annotations

from django.urls import clear_script_prefix, reverse, set_script_prefix

from rapport.core.navigation import url_or_none


def test_kept_answers_follow_the_script_prefix():
    assert url_or_none("core:trash") == reverse("core:trash")
    assert url_or_none("no_such:page") is None
    set_script_prefix("/crm/")
    try:
        assert url_or_none("core:trash") == reverse("core:trash")
        assert url_or_none("core:trash").startswith("/crm/")
    finally:
        clear_script_prefix()
    assert not url_or_none("core:trash").startswith("/crm/")
