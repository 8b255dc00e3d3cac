"""Importing a file in a real browser: upload, see the mapping and the preview, start, read
the results, undo. Background tasks run at once in tests, so the import finishes within
the Start request."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rapport.customers.models import Contact

pytestmark = pytest.mark.browser

CSV = (
    "Prénom;Nom;Courriel;Téléphone;Société;Pays\r\n"
    "Zoë;Müller;zoe@muller.example.de;030 901820;Bäckerei Süß;DE\r\n"
    "Ann;Lee;not-an-address;;Acme;GB\r\n"
).encode("cp1252")


def test_import_a_file_then_undo_it(page, login, live_server, tmp_path):
    path = tmp_path / "liste.csv"
    path.write_bytes(CSV)
    login("alice")
    page.goto(live_server.url + "/imports/new/")
    page.set_input_files("#f-file", str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    # Headers in French and a Windows-1252 file: mapped all the same.
    expect(page.locator("select", has=page.locator("option[selected]", has_text="E-mail")).first).to_be_visible()
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("zoe@muller.example.de")
    expect(preview.locator("tr.row-problem")).to_contain_text("not-an-address")
    page.get_by_role("button", name="Start import").click()
    counts = page.locator("dl.import-counts")
    expect(counts.locator("div", has=page.locator("dt", has_text=re.compile("^Created$"))).locator("dd")).to_have_text("1")
    expect(counts.locator("div", has=page.locator("dt", has_text="Rejected")).locator("dd")).to_have_text("1")
    expect(page.get_by_role("link", name=re.compile("Download rejected rows"))).to_be_visible()
    zoe = Contact.objects.get(family_name="Müller")
    assert zoe.phones.get().e164 == "+4930901820"
    page.get_by_role("link", name=re.compile("Undo this import")).click()
    page.get_by_role("button", name="Yes, undo the import").click()
    expect(page.locator(".badge.state-undone")).to_be_visible()
    assert not Contact.objects.filter(pk=zoe.pk).exists()
    assert page.problems == []
