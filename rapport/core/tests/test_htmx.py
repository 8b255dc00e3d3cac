"""render_page: the one place that picks a whole page or an htmx fragment, and says so in
``Vary`` so a browser's cache never serves one for the other (Back after filtering)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from rapport.core.htmx import render_page
from rapport.customers.tests.factories import make_contact

HTMX = {"HTTP_HX_REQUEST": "true"}


def _vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


@pytest.fixture
def listed(client, personas):
    make_contact(full_name="Margaret Hamilton")
    client.force_login(personas["alice"])
    return client


def test_the_list_page_and_its_fragment_both_vary_on_hx_request(listed):
    page = listed.get("/contacts/?q=Hamilton&sort=-name")
    fragment = listed.get("/contacts/?q=Hamilton&sort=-name", **HTMX)

    assert "<html" in page.content.decode() and "Margaret Hamilton" in page.content.decode()
    assert (
        "<html" not in fragment.content.decode()
        and "Margaret Hamilton" in fragment.content.decode()
    )
    for response in (page, fragment):
        assert {"hx-request", "hx-boosted", "hx-history-restore-request"} <= _vary(response)
        assert "cookie" in _vary(response)  # the session's Vary is kept, not replaced


def test_the_account_list_varies_too(listed):
    response = listed.get("/accounts/?sort=newest", **HTMX)
    assert "<html" not in response.content.decode()
    assert "hx-request" in _vary(response)


def test_htmx_restoring_its_history_gets_the_whole_page(listed):
    # htmx 2 asks again with HX-Request when Back finds nothing in its history cache; it
    # swaps the answer in as the whole body, so a fragment would leave a bare page.
    response = listed.get("/contacts/?q=Hamilton", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in response.content.decode()
    assert "hx-history-restore-request" in _vary(response)


def test_a_boosted_request_gets_the_whole_page(listed):
    response = listed.get("/contacts/", HTTP_HX_BOOSTED="true", **HTMX)
    assert "<html" in response.content.decode()


def test_a_view_that_picks_its_partial_itself_still_varies(rf: RequestFactory, settings, tmp_path):
    # Some views choose a partial template for htmx and call render_page without
    # ``fragment``: the answer differs by HX-Request all the same.
    request = rf.get("/x/", HTTP_HX_REQUEST="true")
    request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    (tmp_path / "part.html").write_text("<p>part</p>")
    response = render_page(request, "part.html", {})
    assert response.content == b"<p>part</p>"
    assert "hx-request" in _vary(response)
