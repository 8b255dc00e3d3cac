"""The interactive API reference, as an integrator first opens it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_api_docs_render_every_operation_without_errors(page, live_server, personas):
    page.goto(live_server.url + "/api/v1/docs")
    # Swagger UI draws one block per operation once it has fetched and parsed the schema,
    # which takes seconds on a busy machine (a 350 KB schema).
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    operations = page.locator(".opblock").count()
    assert operations > 100
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/contacts").first).to_be_visible()
    # A schema Swagger UI cannot parse or resolve shows its errors in the page, not a 500.
    assert page.locator(".errors-wrapper").count() == 0
    assert page.problems == []
