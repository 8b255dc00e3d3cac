"""REST endpoints: proposals (wired into rapport.api.router)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["proposals"])
