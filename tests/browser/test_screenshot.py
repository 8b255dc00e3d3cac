"""A desktop screenshot of a contact with demo-like data.

Written to the test's temporary folder; with RAPPORT_UPDATE_SCREENSHOT=1 it replaces the
README's docs/screenshot.png (a test run never dirties the work tree otherwise).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rapport.audit.services import Actor
from rapport.customers import services
from rapport.customers.services import ContactParts
from rapport.customers.tests.factories import make_account

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def demo_contact(personas):
    alice, mo, bob = Actor(personas["alice"]), Actor(personas["mo"]), Actor(personas["bob"])
    services.datafield_create(actor=alice, data={"entity": "contact", "label": "Customer tier", "type": "choice", "choices": ["Gold", "Silver", "Bronze"]})
    services.datafield_create(actor=alice, data={"entity": "contact", "label": "Newsletter", "type": "boolean"})
    services.datafield_create(actor=alice, data={"entity": "contact", "label": "LinkedIn", "type": "url"})
    group = make_account(name="Orbital Dynamics Group", domains=["orbital.example"], owner=personas["bob"], industry="Aerospace", country="US")
    uk = make_account(name="Orbital Dynamics UK", parent=group.pk, domains=["orbital.example.co.uk"], owner=personas["bob"], industry="Aerospace", country="GB")
    partner = make_account(name="Lunar Logistics", owner=personas["bob"], industry="Freight")
    contact = services.contact_create(
        actor=bob,
        data={
            "full_name": "Dr Margaret Hamilton",
            "job_title": "Director of Flight Software",
            "department": "Engineering",
            "preferred_channel": "email",
            "language": "en-GB",
            "time_zone": "Europe/London",
            "lifecycle": "prospect",
            "source": "Web Summit 2025",
            "tags": "vip, decision-maker",
            "custom": {"customer_tier": "Gold", "newsletter": True, "linkedin": "https://www.linkedin.com/in/example"},
        },
        parts=ContactParts(
            emails=[{"email": "m.hamilton@orbital.example"}, {"email": "margaret@home.example", "kind": "home"}],
            phones=[{"number": "+44 20 7946 0958"}, {"number": "07911 123456", "kind": "mobile"}],
            addresses=[{"street": "1 Mission Control Way", "city": "London", "postal_code": "EC1A 1BB", "country": "GB"}],
            memberships=[{"account": uk.pk, "is_primary": True, "buying_role": "decision_maker", "rank": 1, "job_title": "Director of Flight Software"}, {"account": partner.pk, "buying_role": "influencer", "rank": 3}],
            external_ids=[{"source": "erp", "external_id": "C-100482"}],
        ),
    )
    contact = services.contact_update(actor=mo, contact=contact, data={"lifecycle": "customer"})
    services.contact_update(actor=bob, contact=contact, data={"department": "Flight Software"})
    return contact


def test_contact_detail_screenshot(browser, live_server, transactional_db, demo_contact, personas, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    page = context.new_page()
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "mo")
    page.fill("#id_password", "mo-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/contacts/")
    page.goto(f"{live_server.url}/contacts/{demo_contact.pk}/")
    page.get_by_role("heading", name="Dr Margaret Hamilton").wait_for()
    # Every section the README promises is on the page the screenshot shows.
    for heading in ("E-mail addresses", "Phone numbers", "Accounts", "History"):
        assert page.get_by_role("heading", name=heading).count() >= 1
    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("RAPPORT_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS / "screenshot.png")
