"""A desktop screenshot of a contact page from the demo data, with its year of timeline.

Written to the test's temporary folder; with RAPPORT_UPDATE_SCREENSHOT=1 it replaces the
README's docs/screenshot.png (a test run never dirties the work tree otherwise).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db.models import Count

from rapport.audit.models import AuditEntry
from rapport.customers.demo import DEFAULT_PASSWORD, demo_load
from rapport.customers.models import Contact
from rapport.timeline.models import EntryLink

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def demo_contact(transactional_db):
    """What ``rapport up`` shows a new user: the demo data. The contact shown is a customer
    at an account whose record was edited, with the busiest year of one-to-one touches (not
    newsletters; ties by id, so the same contact every run)."""
    demo_load(accounts=12, contacts=150, seed=42, progress=False)
    edited = AuditEntry.objects.filter(entity_kind="contact", action="update").values("entity_id")
    customers = Contact.objects.filter(
        lifecycle="customer", memberships__is_primary=True, pk__in=edited
    )
    busiest = (
        EntryLink.objects.filter(contact__in=customers)
        .exclude(entry__data__has_key="newsletter")
        .values("contact")
        .annotate(n=Count("id"))
        .order_by("-n", "contact")
        .first()
    )
    assert busiest is not None
    return Contact.objects.get(pk=busiest["contact"])


def test_contact_detail_screenshot(browser, live_server, demo_contact, tmp_path):
    # Tall enough for the record and the first months of its timeline; the picture is the
    # window, not the whole page, which a year of touches makes very long.
    context = browser.new_context(viewport={"width": 1280, "height": 2400}, device_scale_factor=1)
    page = context.new_page()
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/contacts/")
    page.goto(f"{live_server.url}/contacts/{demo_contact.pk}/")
    page.get_by_role("heading", name=demo_contact.full_name, level=1).wait_for()
    # The timeline loads after the page: wait for its entries before the picture.
    page.locator(".tl-entry").nth(4).wait_for()
    # Every section the README promises is on the page the screenshot shows.
    for heading in ("E-mail addresses", "Phone numbers", "Accounts", "Timeline", "History"):
        assert page.get_by_role("heading", name=heading).count() >= 1, heading
    assert page.get_by_text("Not built yet").count() == 0
    kinds = set(page.locator(".tl-entry .tl-kind").all_inner_texts())
    assert len(kinds) >= 2, kinds
    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot))
    context.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("RAPPORT_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS / "screenshot.png")
