"""Filtering a list, opening a record and going Back, as a person does, at both sizes."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from rapport.customers.tests.factories import make_account, make_contact

pytestmark = pytest.mark.browser


@pytest.fixture
def people(personas):
    globex = make_account(name="Globex Corporation", domains=["globex.example"])
    initech = make_account(name="Initech", domains=["initech.example"])
    for name, lifecycle, account in (
        ("Margaret Hamilton", "customer", globex),
        ("Grace Hamilton", "lead", globex),
        ("Hank Hamilton", "customer", initech),
        ("Ada Lovelace", "customer", initech),
    ):
        make_contact(full_name=name, lifecycle=lifecycle, account=account)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def _form_values(page) -> dict[str, str]:
    return page.evaluate(
        "() => Object.fromEntries(new FormData(document.querySelector('form.filters')))"
    )


def _expect_url_matches_filters(page, **wanted: str) -> None:
    """The address bar says what the filters show (the request that was made), not the change
    before it."""
    # The results and the address bar change together once the answer is swapped in.
    page.wait_for_function(
        "(wanted) => { const q = new URLSearchParams(location.search);"
        " return Object.entries(wanted).every(([k, v]) => q.get(k) === v); }",
        arg=wanted,
    )
    page.wait_for_load_state("networkidle")
    assert _query(page.url) == _form_values(page)
    for key, value in wanted.items():
        assert _query(page.url)[key] == value


def _expect_styled_full_page(page) -> None:
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    # The app's stylesheet is applied: a bare fragment would have the browser's 8px margin.
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
    assert (
        page.evaluate("getComputedStyle(document.querySelector('header.topbar')).display") == "flex"
    )


def test_filter_sort_open_a_record_and_go_back(page, login, people, live_server):
    login("alice")
    page.goto(live_server.url + "/contacts/")
    results = page.locator("#results")

    page.fill("#list-q", "Hamilton")
    expect(results).not_to_contain_text("Ada Lovelace")
    _expect_url_matches_filters(page, q="Hamilton")

    page.select_option("#list-sort", "-name")
    expect(results.locator("tbody tr").first).to_contain_text("Margaret Hamilton")
    _expect_url_matches_filters(page, q="Hamilton", sort="-name")

    page.select_option("#list-lifecycle", "customer")
    expect(results).not_to_contain_text("Grace Hamilton")
    _expect_url_matches_filters(page, q="Hamilton", sort="-name", lifecycle="customer")
    filtered = page.url

    results.get_by_role("link", name="Hank Hamilton").click()
    page.wait_for_url(re.compile(r"/contacts/\d+/$"))
    expect(page.get_by_role("heading", name="Hank Hamilton", level=1)).to_be_visible()

    page.go_back()
    page.wait_for_url(filtered)
    _expect_styled_full_page(page)
    expect(page.locator("#list-q")).to_have_value("Hamilton")
    expect(page.locator("#list-lifecycle")).to_have_value("customer")
    expect(results).to_contain_text("Hank Hamilton")
    expect(results).not_to_contain_text("Grace Hamilton")

    # Back again, inside the list's own history: the page before the last filter, whole.
    page.go_back()
    page.wait_for_url(
        lambda url: _query(url).get("lifecycle", "") == "" and _query(url).get("sort") == "-name"
    )
    _expect_styled_full_page(page)
    expect(results).to_contain_text("Grace Hamilton")
