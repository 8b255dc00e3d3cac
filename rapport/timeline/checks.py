"""System check: every kind of timeline entry an app declares is registered.

Each app (or sub-package of one) that puts entries on the timeline keeps an ``events.py``
with a ``TIMELINE_KINDS`` tuple and a ``register()`` its app's ``ready()`` calls. An app that
declares a kind but never registers it would fail at the first entry (``record`` refuses
an unknown kind); this check fails ``manage.py check``, and so CI and the test run, first.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core import checks


def events_modules() -> list[Any]:
    """The ``events`` modules of the project's installed apps and of their sub-packages."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("rapport."):
            continue
        root = Path(config.path)
        candidates = [("", root / "events.py")] + [
            (f".{info.name}", root / info.name / "events.py")
            for info in pkgutil.iter_modules([str(root)])
            if info.ispkg
        ]
        for package, path in candidates:
            if path.exists():
                found.append(importlib.import_module(f"{config.name}{package}.events"))
    return found


def check_timeline_kinds(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from rapport.timeline.events import KINDS

    errors: list[checks.CheckMessage] = []
    for module in events_modules():
        for kind in getattr(module, "TIMELINE_KINDS", ()):
            if KINDS.get(kind.name) != kind:
                errors.append(
                    checks.Error(
                        f"{module.__name__} declares the timeline kind {kind.name!r} but it is not registered.",
                        hint="Call its register() from the app's AppConfig.ready().",
                        obj=module.__name__,
                        id="timeline.E001",
                    )
                )
    return errors
