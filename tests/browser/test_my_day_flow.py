"""My day in a real browser, at a phone and a desktop size: the three-tap log, a log
written offline and sent once when the connection is back, the service worker and the
manifest. ``MYDAY_SHOTS=dir`` keeps screenshots."""

from __future__ import annotations

import datetime as dt
import io
import json
import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rapport.customers.tests.factories import make_account, make_contact
from rapport.followups import selectors
from rapport.followups.models import Task
from rapport.followups.tests.factories import make_task
from rapport.timeline.models import Entry

pytestmark = pytest.mark.browser


def _shot(page, viewport: str, name: str) -> None:
    folder = os.environ.get("MYDAY_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}-{viewport}.png"), full_page=True)


@pytest.fixture
def day(personas):
    bob = personas["bob"]
    start, _ = selectors.day_bounds(timezone.localdate())
    account = make_account(name="Globex Corporation", owner=bob)
    dana = make_contact(
        full_name="Dana Scully", phones=["+44 20 7946 0958"], account=account, owner=bob
    )
    fox = make_contact(full_name="Fox Mulder", phones=["+44 20 7946 0123"], owner=bob)
    make_task(assignee=bob, contact=dana, kind="meeting", title="Quarterly review",
              starts_at=start + dt.timedelta(hours=10), ends_at=start + dt.timedelta(hours=11))  # fmt: skip
    call = make_task(assignee=bob, contact=fox, kind="call", title="Call back about the renewal",
                     due_at=start + dt.timedelta(hours=16))  # fmt: skip
    make_task(assignee=bob, contact=dana, kind="quote", title="Send the quote",
              due_at=start - dt.timedelta(days=2))  # fmt: skip
    return {"call": call, "fox": fox}


def _until(page, condition: str) -> None:
    # wait_for_function evaluates a string, which the app's CSP (no unsafe-eval) refuses.
    for _ in range(100):
        if page.evaluate(condition):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"still not true: {condition}")


def _log(page, title: str, outcome: str, note: str) -> None:
    item = page.locator(".dayitem", has_text=title)
    item.locator("summary", has_text="Log").click()  # one
    item.locator(".chip", has_text=outcome).click()  # two
    item.locator("textarea[name=note]").fill(note)  # (the note)
    item.get_by_role("button", name="Save").click()  # three


def test_my_day_and_the_three_tap_log(page, login, day, live_server, viewport):
    login("bob")
    page.goto(live_server.url + "/my-day/")
    expect(page.get_by_role("heading", name="Meetings today")).to_be_visible()
    expect(page.get_by_role("heading", name="Due today")).to_be_visible()
    expect(page.get_by_role("heading", name="Overdue")).to_be_visible()
    call_link = page.locator(".dayitem", has_text="Call back about the renewal").locator(
        "a.btn-call"
    )
    expect(call_link).to_have_attribute("href", "tel:+442079460123")
    _shot(page, viewport, "my-day")
    _log(page, "Call back about the renewal", "Reached", "They renew for two years.")
    item = page.locator(".dayitem", has_text="Call back about the renewal")
    expect(item.locator("summary")).to_have_text("Logged ✓")
    _shot(page, viewport, "my-day-logged")
    entry = Entry.objects.get(kind="call")
    assert entry.summary == "Call: Reached (Call back about the renewal)"
    assert entry.body == "They renew for two years." and entry.external_id.startswith("dev-")
    assert Task.objects.get(pk=day["call"].pk).status == "done"


def test_a_log_written_offline_is_sent_once_when_back_online(
    page, login, day, live_server, viewport
):
    login("bob")
    page.goto(live_server.url + "/my-day/")
    page.context.set_offline(True)
    _log(page, "Call back about the renewal", "Left a message", "Voicemail, try Friday.")
    item = page.locator(".dayitem", has_text="Call back about the renewal")
    expect(item.locator(".quicklog-status")).to_contain_text("on this device")
    expect(page.locator("[data-offline-banner]")).to_be_visible()
    _shot(page, viewport, "my-day-offline")
    outbox = json.loads(page.evaluate("localStorage.getItem('rapport.outbox.v1')"))
    assert len(outbox) == 1 and not Entry.objects.filter(kind="call").exists()
    # A second tap on Save while offline queues nothing new.
    item.get_by_role("button", name="Save").click()
    assert len(json.loads(page.evaluate("localStorage.getItem('rapport.outbox.v1')"))) == 1

    page.context.set_offline(False)
    # The device sends on the browser's "online" event; on a loaded machine the live
    # server's answer can take longer than expect()'s default 5 s.
    expect(item.locator("summary")).to_have_text("Logged ✓", timeout=20_000)
    assert page.evaluate("localStorage.getItem('rapport.outbox.v1')") == "[]"
    assert Entry.objects.filter(kind="call").count() == 1
    # The answer was lost on the way (the device sends it again): still one entry.
    page.evaluate(
        "items => localStorage.setItem('rapport.outbox.v1', JSON.stringify(items))", outbox
    )
    page.reload()
    _until(page, "localStorage.getItem('rapport.outbox.v1') === '[]'")
    assert Entry.objects.filter(kind="call").count() == 1
    assert Task.objects.get(pk=day["call"].pk).status == "done"


def test_the_service_worker_registers_and_the_manifest_is_valid(
    page, login, day, live_server, viewport
):
    from PIL import Image

    login("bob")
    page.goto(live_server.url + "/my-day/")
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == live_server.url + "/"
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.request.get(live_server.url + href)
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert data["name"] == "Rapport" and data["display"] == "standalone"
    assert data["start_url"] == "/my-day/" and data["scope"] == "/"
    sizes = set()
    for icon in data["icons"]:
        got = page.request.get(live_server.url + icon["src"])
        assert got.status == 200 and got.headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            image = Image.open(io.BytesIO(got.body()))
            assert f"{image.width}x{image.height}" == icon["sizes"]
            sizes.add(image.width)
    assert {192, 512} <= sizes  # what browsers need to offer the install
    # Offline, a page with data is not in the cache: the offline page answers instead.
    _until(page, "navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    page.goto(live_server.url + "/tasks/")
    expect(page.get_by_role("heading", name="You are offline")).to_be_visible()
    _shot(page, viewport, "offline")
    page.context.set_offline(False)


def test_a_task_from_the_form_to_the_list_and_its_page(page, login, day, live_server, viewport):
    login("bob")
    page.goto(live_server.url + "/tasks/new/?contact=" + str(day["fox"].pk))
    expect(page.get_by_text("Fox Mulder")).to_be_visible()
    page.select_option("#id_kind", "quote")
    page.fill("#id_title", "Send the two-year quote")
    page.fill("#id_due_at", "2030-03-04T10:00")
    _shot(page, viewport, "task-form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Send the two-year quote")).to_be_visible()
    _shot(page, viewport, "task-detail")
    page.get_by_role("link", name="‹ Tasks").click()
    expect(page.locator(".records")).to_contain_text("Send the two-year quote")
    _shot(page, viewport, "task-list")
    page.select_option("#tasks-due", "overdue")
    expect(page.locator(".records")).not_to_contain_text("Send the two-year quote")
    expect(page.locator(".records")).to_contain_text("Send the quote")
