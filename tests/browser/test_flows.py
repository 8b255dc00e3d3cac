"""What a person does, in a real browser, at a phone and a desktop size."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_account, make_contact

pytestmark = pytest.mark.browser


@pytest.fixture
def hamilton(personas):
    account = make_account(name="Globex Corporation", domains=["globex.example"], owner=personas["bob"])
    return make_contact(
        full_name="Margaret Hamilton",
        emails=["maggie@globex.example"],
        phones=["+44 20 7946 0958"],
        account=account,
        owner=personas["bob"],
        job_title="Director of Software",
    )


def test_log_in_and_out(page, login, live_server):
    login("alice")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    page.locator("details.navmore > summary").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login/"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto(live_server.url + "/contacts/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/contacts/"))


def test_wrong_password_shows_a_message(page, live_server, personas):
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", "not-it")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")


def test_global_search_with_a_typo_and_a_phone_in_another_format(page, login, hamilton, live_server):
    login("alice")
    box = page.locator("#global-q")
    box.fill("Margret Hamiltn")
    hit = page.locator("#search-dropdown").get_by_role("link", name=re.compile("Margaret Hamilton"))
    expect(hit).to_be_visible()
    expect(hit).to_contain_text("matched name")
    box.fill("020 7946 0958")
    expect(page.locator("#search-dropdown")).to_contain_text("matched phone")
    page.locator("#search-dropdown").get_by_role("link", name=re.compile("Margaret Hamilton")).click()
    page.wait_for_url(f"{live_server.url}/contacts/{hamilton.pk}/")
    expect(page.get_by_role("heading", name="Margaret Hamilton", level=1)).to_be_visible()


def test_search_page_without_the_dropdown(page, login, hamilton, live_server):
    login("alice")
    page.goto(live_server.url + "/search/?q=globex.example")
    expect(page.locator("#search-page-results")).to_contain_text("Globex Corporation")
    expect(page.locator("#search-page-results")).to_contain_text("Margaret Hamilton")


def test_create_a_contact_after_fixing_an_invalid_email(page, login, live_server):
    login("alice")
    page.goto(live_server.url + "/contacts/new/")
    page.fill("#f-full_name", "Ada Lovelace")
    page.fill("#f-email", "ada-at-nowhere")
    page.fill("#f-job_title", "Analyst")
    page.get_by_role("button", name="Create contact").click()
    expect(page.locator("#f-email-error")).to_be_visible()
    expect(page.locator("#f-full_name")).to_have_value("Ada Lovelace")
    expect(page.locator("#f-job_title")).to_have_value("Analyst")
    page.fill("#f-email", "ada@example.org")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    expect(page.locator("#contact-parts")).to_contain_text("ada@example.org")
    assert Contact.objects.get().job_title == "Analyst"


def test_edit_a_contact_and_add_a_phone_inline(page, login, hamilton, live_server):
    login("alice")
    page.goto(f"{live_server.url}/contacts/{hamilton.pk}/")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.fill("#f-job_title", "Head of Onboard Flight Software")
    page.select_option("#f-lifecycle", "customer")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"{live_server.url}/contacts/{hamilton.pk}/")
    expect(page.locator(".record-title")).to_contain_text("Head of Onboard Flight Software")
    # Add a phone number without leaving the page (htmx swaps the parts in place).
    page.get_by_text("+ Add phone").click()
    page.fill("#new-phone", "07911 123456")
    page.get_by_role("button", name="Add phone").click()
    expect(page.locator("#contact-parts")).to_contain_text("+44 7911 123456")
    # The swapped-in forms carry the new version, so a second change works too.
    page.get_by_text("+ Add e-mail").click()
    page.fill("#new-email", "margaret@nasa.example")
    page.get_by_role("button", name="Add e-mail").click()
    expect(page.locator("#contact-parts")).to_contain_text("margaret@nasa.example")
    hamilton.refresh_from_db()
    assert hamilton.lifecycle == "customer" and hamilton.phones.count() == 2


def test_link_a_contact_to_an_account_with_the_type_ahead(page, login, hamilton, live_server, personas):
    from rapport.customers.tests.factories import make_account

    target = make_account(name="Initech Systems", owner=personas["bob"])
    make_account(name="Initrode", owner=personas["bob"])
    login("alice")
    page.goto(f"{live_server.url}/contacts/{hamilton.pk}/")
    # The add forms are not in the page until asked for.
    expect(page.locator("#new-m-account-q")).to_have_count(0)
    page.get_by_text("+ Link to an account").click()
    page.locator("#new-m-account-q").press_sequentially("initech", delay=30)
    option = page.locator("#new-m-account-options").get_by_label("Initech Systems")
    expect(option).to_be_visible()
    option.check()
    page.fill("#new-m-title", "Consultant")
    page.get_by_role("button", name="Link account").click()
    expect(page.locator("#contact-parts")).to_contain_text("Initech Systems")
    expect(page.locator("#contact-parts")).to_contain_text("Consultant")
    assert hamilton.memberships.filter(account=target).exists()
