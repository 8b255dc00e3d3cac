"""Every app's API router is mounted on the one NinjaAPI (rapport/api_urls.py).

An app that writes ``router = Router()`` in a module (its ``api.py``, a webhook's module) and forgets to add it to
``rapport.api_urls`` would serve nothing and no other test would notice.
"""

import importlib
import pkgutil

from ninja import Router

import rapport
from rapport.api_urls import api


def _routers() -> dict[str, Router]:
    found = {}
    for info in pkgutil.walk_packages(rapport.__path__, "rapport."):
        name = info.name
        if any(part in name for part in (".tests", ".migrations", ".management")):
            continue
        router = getattr(importlib.import_module(name), "router", None)
        if isinstance(router, Router):
            found[name] = router
    return found


def test_every_apps_router_is_mounted():
    mounted = {id(router) for _, router in api._routers}
    routers = _routers()
    assert "rapport.ingest.mail.api" in routers and "rapport.customers.api.records" in routers
    assert sorted(name for name, router in routers.items() if id(router) not in mounted) == []
