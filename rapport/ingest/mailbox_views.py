"""Web pages: mailboxs (filled in by the mailbox work; wired into rapport.ingest.urls)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
