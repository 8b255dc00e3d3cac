"""Duplicates in a real browser: the steward works the review queue with the keyboard,
merges a group choosing what to keep, then undoes the merge; and the contact form stops a
likely duplicate before creating it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity.models import Candidate, Cluster, Merge

pytestmark = pytest.mark.browser

# given, family, email, phone, organisation, address, identifier, given/family rarity
VECTOR = [3, 3, 3, 0, -1, -1, -1, 2, 2]
CONFLICT_LOGGED = "Failed to load resource: the server responded with a status of 409 (Conflict)"


def _cluster(*records: Contact, value: float) -> Cluster:
    """A group as a scan leaves it: the cluster and its scored pair."""
    left, right = sorted(r.pk for r in records)
    cluster = Cluster.objects.create(
        kind="contact", record_ids=[left, right], size=2, score=0.93, value=value
    )
    Candidate.objects.create(
        kind="contact",
        left_id=left,
        right_id=right,
        probability=0.93,
        score=8.0,
        vector=VECTOR,
        cluster=cluster,
    )
    return cluster


def test_review_the_queue_merge_with_the_keyboard_then_undo(page, login, live_server, personas):
    globex = make_account(name="Globex Corporation", domains=["globex.com"], owner=personas["bob"])
    first = _cluster(
        make_contact(
            given_name="Ann", family_name="Lee", emails=["ann.lee@globex.com"], account=globex
        ),
        make_contact(
            given_name="Ann", family_name="Lee", emails=["ann.lee@globex.com"], job_title="Buyer"
        ),
        value=20,
    )
    acme = make_account(name="Acme Ltd", domains=["acme.com"], owner=personas["bob"])
    robert = make_contact(
        given_name="Robert",
        family_name="Smith",
        emails=["rsmith@acme.com"],
        job_title="CTO",
        account=acme,
    )
    bob = make_contact(
        given_name="Bob",
        family_name="Smith",
        emails=["rsmith@acme.com", "bob.smith@gmail.com"],
        phones=["+1 415 555 0134"],
        job_title="Head of Purchasing",
    )
    second = _cluster(robert, bob, value=10)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))

    login("stella")
    page.goto(live_server.url + "/duplicates/")
    rows = page.locator("[data-dup-row]")
    expect(rows).to_have_count(2)
    # j picks the first group, j again the second (the queue is in order of value).
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bdup-current\b"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bdup-current\b"))
    expect(rows.nth(0)).not_to_have_class(re.compile(r"\bdup-current\b"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/duplicates/clusters/{second.pk}/")

    # Bob's record is the more complete, so it is the suggested survivor; 1 keeps Robert's
    # (the first column).
    columns = page.locator("th.dup-record")
    expect(columns.nth(1)).to_have_class(re.compile(r"\bdup-survivor\b"))
    page.keyboard.press("1")
    expect(columns.nth(0)).to_have_class(re.compile(r"\bdup-survivor\b"))
    expect(page.locator(f'input[name="survivor"][value="{robert.pk}"]')).to_be_checked()
    # Robert is kept, but Bob's job title is the one that is right now.
    expect(page.locator(f'input[name="choice-job_title"][value="{robert.pk}"]')).to_be_checked()
    page.get_by_role("radio", name="Head of Purchasing").check()
    page.keyboard.press("m")

    # On to the next group, with a message about the merge.
    page.wait_for_url(f"{live_server.url}/duplicates/clusters/{first.pk}/")
    expect(page.locator(".flash-success")).to_contain_text("Merged 2 contacts into “Robert Smith”")
    assert not Contact.objects.filter(pk=bob.pk).exists()
    robert.refresh_from_db()
    assert (robert.given_name, robert.job_title) == ("Robert", "Head of Purchasing")
    assert sorted(robert.emails.values_list("email", flat=True)) == [
        "bob.smith@gmail.com",
        "rsmith@acme.com",
    ]
    merge = Merge.objects.get()
    assert merge.survivor_id == robert.pk and merge.merged_ids == [bob.pk]
    # Every differing row's radio is sent: the given name went with its pre-checked value.
    assert merge.choices == {"job_title": bob.pk}  # only what the steward changed by hand
    assert Cluster.objects.get(pk=second.pk).status == Cluster.Status.DONE

    # The merge's page, from the queue's list of merges; then undo it.
    page.get_by_role("link", name="« Queue").click()
    expect(rows).to_have_count(1)
    page.get_by_role("navigation", name="Duplicates").get_by_role("link", name="Merges").click()
    page.get_by_role("link", name=f"#{merge.pk}: 2 contacts").click()
    page.wait_for_url(f"{live_server.url}/duplicates/merges/{merge.pk}/")
    expect(page.locator(".changes")).to_contain_text("Head of Purchasing")
    page.get_by_role("link", name="Undo this merge").click()
    expect(page.get_by_role("heading", name=f"Undo merge #{merge.pk}?")).to_be_visible()
    expect(page.locator(".confirm")).to_contain_text("Bob Smith")
    page.get_by_role("button", name="Yes, undo the merge").click()
    page.wait_for_url(f"{live_server.url}/duplicates/merges/{merge.pk}/")
    expect(page.locator(".flash-success")).to_contain_text("Undone: every record is back")
    expect(page.get_by_role("link", name="Undo this merge")).to_have_count(0)

    back = Contact.objects.get(pk=bob.pk)
    assert (back.given_name, back.job_title) == ("Bob", "Head of Purchasing")
    robert.refresh_from_db()
    assert robert.job_title == "CTO"
    assert list(robert.emails.values_list("email", flat=True)) == ["rsmith@acme.com"]
    assert Merge.objects.get().undone_at is not None
    # Nothing on these pages asks for a confirmation in a dialog; the undo has its own page.
    assert dialogs == []
    assert page.problems == []


def test_the_contact_form_catches_a_likely_duplicate_then_creates_anyway(
    page, login, live_server, personas
):
    acme = make_account(name="Acme Ltd", domains=["acme.com"], owner=personas["bob"])
    robert = make_contact(
        full_name="Robert Smith",
        phones=["+44 20 7946 0958"],
        emails=["rsmith@acme.com"],
        account=acme,
    )

    login("stella")
    page.goto(live_server.url + "/contacts/new/")
    # A nickname, and the same phone number written the way it is dialled at home.
    page.fill("#f-full_name", "Bob Smith")
    page.fill("#f-phone", "020 7946 0958")
    page.get_by_role("button", name="Create contact").click()

    warning = page.locator("section.dup-warning.dup-blocking")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Nothing was created yet")
    expect(warning.locator(".dup-title")).to_contain_text(
        re.compile(r"This looks like Robert Smith at Acme Ltd, \d{1,3}%")
    )
    expect(warning.locator(".dup-evidence")).to_contain_text(re.compile("same phone number", re.I))
    expect(warning.get_by_role("link", name="Open it")).to_have_attribute(
        "href", f"/contacts/{robert.pk}/"
    )
    expect(
        warning.get_by_role("button", name="Create, then merge with Robert Smith")
    ).to_be_visible()
    # What was typed is still there.
    expect(page.locator("#f-full_name")).to_have_value("Bob Smith")
    expect(page.locator("#f-phone")).to_have_value("020 7946 0958")
    assert list(Contact.objects.values_list("full_name", flat=True)) == ["Robert Smith"]

    warning.get_by_role("button", name="Create anyway").click()
    expect(page.get_by_role("heading", name="Bob Smith", level=1)).to_be_visible()
    created = Contact.objects.get(full_name="Bob Smith")
    page.wait_for_url(f"{live_server.url}/contacts/{created.pk}/")
    assert created.phones.get().e164 == "+442079460958"
    assert Contact.objects.count() == 2
    # The form answers 409 when it stops a duplicate, and Chromium logs any 4xx response as
    # an error; anything else (a script error, a CSP refusal) fails the test.
    assert [p for p in page.problems if p != CONFLICT_LOGGED] == []


def test_the_merge_button_is_not_covered_by_the_field_names(page, login, live_server, personas):
    """The field names' column stays in view as the table scrolls, and the buttons stay at
    the bottom of the screen: the column must pass under the buttons, not over them."""
    long = {
        "job_title": "Head of Strategic Procurement and Supplier Relations",
        "department": "Procurement",
        "language": "fr",
        "time_zone": "Europe/Paris",
        "prefix": "Dr",
        "suffix": "PhD",
    }
    from rapport.customers.models import DataField

    for i in range(20):  # a long table: it runs on under the buttons
        DataField.objects.create(entity="contact", key=f"fact_{i}", label=f"Fact {i}", type="text")
    a = make_contact(
        given_name="Amélie",
        family_name="Durand",
        emails=["a.durand@acme.fr"],
        custom={f"fact_{i}": f"first {i}" for i in range(20)},
    )
    b = make_contact(
        custom={f"fact_{i}": f"second {i}" for i in range(20)},
        given_name="Amélie",
        middle_name="Claire",
        family_name="Durand",
        emails=["amelie.durand@gmail.com", "a.durand@acme.fr"],
        phones=["+33 1 42 68 53 00", "+33 6 12 34 56 78"],
        **long,
    )
    cluster = _cluster(a, b, value=5)
    login("stella")
    page.goto(f"{live_server.url}/duplicates/clusters/{cluster.pk}/")
    merge = page.get_by_role("button", name=re.compile(r"^Merge"))
    expect(merge).to_be_visible()
    # What a person's tap meets at the button's middle, with the table running on under
    # it: at the top of the page and scrolled halfway down the table.
    on_top = """() => {
        const b = [...document.querySelectorAll('#merge-form button')].find(
            (x) => x.textContent.trim().startsWith('Merge'));
        const r = b.getBoundingClientRect();
        const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return b.contains(hit) ? 'button' : `${hit.tagName}.${hit.className}`;
    }"""
    assert page.evaluate(on_top) == "button"
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(100)
    assert page.evaluate(on_top) == "button"
    # No force: Playwright refuses to click an element another one covers.
    merge.click(timeout=3000)
    expect(page.locator(".flash-success")).to_contain_text("Merged 2 contacts")
    assert Merge.objects.filter(survivor_id__in=[a.pk, b.pk]).count() == 1
