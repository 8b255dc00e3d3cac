"""Web pages: proposals (filled in by the proposal work; wired into rapport.ingest.urls)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
