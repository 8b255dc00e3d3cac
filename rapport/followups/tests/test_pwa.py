"""The installable app's shell: public, the same for everyone, no data (which is why the
permission harness exempts these three URLs)."""

from __future__ import annotations

import json
import re

from django.test import Client
from django.urls import reverse


def test_the_manifest_names_the_app_and_its_icons():
    response = Client().get(reverse("followups:manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["start_url"] == reverse("followups:my-day") and data["display"] == "standalone"
    assert {i["sizes"] for i in data["icons"] if i["type"] == "image/png"} >= {"192x192", "512x512"}
    assert any(i.get("purpose") == "maskable" for i in data["icons"])


def test_the_worker_caches_the_shell_and_no_page_with_data():
    response = Client().get(reverse("followups:service-worker"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", body).group(1))
    assert reverse("followups:offline") in shell
    assert all(p.startswith("/static/") for p in shell if p != reverse("followups:offline"))
    assert "/static/css/app.css" in shell and "/static/js/pwa.js" in shell


def test_the_offline_page_holds_nothing_about_the_user(personas):
    client = Client()
    client.force_login(personas["bob"])
    body = client.get(reverse("followups:offline")).content.decode()
    assert "You are offline" in body
    assert "bob" not in body and "csrf" not in body.lower()  # it is cached for everyone


def test_every_page_links_the_manifest_and_the_script(personas):
    client = Client()
    client.force_login(personas["bob"])
    body = client.get(reverse("followups:my-day")).content.decode()
    assert f'rel="manifest" href="{reverse("followups:manifest")}"' in body
    assert "/static/js/pwa.js" in body and "<script>" not in body  # no inline script (CSP)
