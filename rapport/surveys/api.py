"""Surveys endpoints of the REST API (mounted by rapport/api_urls.py)."""

from ninja import Router

router = Router(tags=["Surveys"])
