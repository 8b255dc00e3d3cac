"""A small per-process cache for configuration read on every request (role policies,
the data dictionary), so a page does not pay a query for each.

Entries live ``PROCESS_CACHE_SECONDS`` (settings); a change made in this process clears
the cache at once, other processes pick it up within that time. Tests run with it off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")
_entries: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def cached(key: str, loader: Callable[[], T]) -> T:
    ttl = getattr(settings, "PROCESS_CACHE_SECONDS", 0)
    if ttl <= 0:
        return loader()
    now = time.monotonic()
    hit = _entries.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    value = loader()
    with _lock:
        _entries[key] = (now, value)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
