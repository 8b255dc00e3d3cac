"""Web pages: captures (filled in by the capture work; wired into rapport.ingest.urls)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
