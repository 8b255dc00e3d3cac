"""Service in a real browser, at a phone and a desktop size: a case from the caller screen
in two clicks, a note on it, the queue. ``SERVICE_SHOTS=dir`` keeps screenshots."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from conftest import actor
from rapport.customers.tests.factories import make_account, make_contact
from rapport.service.models import Case
from rapport.service.tests.factories import ensure_builtin_kinds, make_case
from rapport.users.models import Team

pytestmark = pytest.mark.browser


def _shot(page, viewport: str, name: str) -> None:
    folder = os.environ.get("SERVICE_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}-{viewport}.png"), full_page=True)


@pytest.fixture
def caller(personas):
    ensure_builtin_kinds()
    personas["sam"].teams.add(Team.objects.create(name="Desk"))
    account = make_account(name="Globex Corporation", owner=personas["bob"])
    return make_contact(
        full_name="Margaret Hamilton",
        emails=["maggie@globex.example"],
        phones=["+44 20 7946 0958"],
        account=account,
        owner=personas["bob"],
    )


def test_a_case_from_the_caller_screen_in_two_clicks(
    page, login, caller, live_server, viewport, personas
):
    make_case(
        contact=caller,
        actor=actor(personas["sam"]),
        subject="Invoice charged twice",
        kind="complaint",
    )
    login("sam")
    page.goto(live_server.url + "/lookup/?q=020+7946+0958&region=GB")
    expect(page.get_by_role("heading", name="Margaret Hamilton")).to_be_visible()
    # The open case is listed first among what is still open.
    expect(page.locator(".tl-pop-open li").first).to_contain_text("Invoice charged twice")
    _shot(page, viewport, "caller-screen")
    page.get_by_role("link", name="New case").click()  # one
    expect(page.locator("#case-subject")).to_have_value("Call from Margaret Hamilton")
    _shot(page, viewport, "case-form")
    page.get_by_role("button", name="Create case").click()  # two
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.order_by("-id").first()
    assert case is not None and case.subject == "Call from Margaret Hamilton"
    expect(page.get_by_text(case.reference, exact=True)).to_be_visible()
    page.fill("#note-body", "Wants a credit note for the double charge.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".case-msg-internal")).to_contain_text("credit note")
    _shot(page, viewport, "case-detail")
    page.goto(live_server.url + "/cases/")
    expect(page.get_by_role("link", name="Call from Margaret Hamilton")).to_be_visible()
    _shot(page, viewport, "queue")
