"""Playwright fixtures: the machine's Chromium against pytest-django's live server."""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make to
# set up data are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import pytest  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def page(browser, viewport, live_server, transactional_db):
    phone = viewport == "phone"
    context = browser.new_context(viewport=VIEWPORTS[viewport], is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    # A CSP violation or a script error shows up here; the tests fail on any.
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    yield page
    context.close()
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


@pytest.fixture
def login(page, live_server, personas):
    def do(username: str = "alice") -> None:
        page.goto(live_server.url + "/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", f"{username}-password-1")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(live_server.url + "/contacts/")

    return do
