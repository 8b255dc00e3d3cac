"""Work after commit: the one helper every service uses for side effects.

A side effect (queueing a task, clearing a cache, deleting a stored file) must happen only
if the change it follows is committed: a task queued inside a transaction that then rolls
back would work on rows that never existed. Services call::

    after_commit(default_storage.delete, name)
    enqueue_after_commit(scan_run_task, scan.pk)

instead of ``transaction.on_commit(lambda: ...)``: the arguments are bound now (no late
binding of a loop variable), and outside a transaction the work runs at once, as Django's
``on_commit`` does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import transaction


def after_commit(
    fn: Callable[..., Any], /, *args: Any, using: str | None = None, **kwargs: Any
) -> None:
    """Run ``fn(*args, **kwargs)`` once the current transaction commits (now, outside one)."""
    transaction.on_commit(functools.partial(fn, *args, **kwargs), using=using)


def enqueue_after_commit(task: Any, /, *args: Any, **kwargs: Any) -> None:
    """Queue a django-tasks ``task`` with these arguments once the transaction commits."""
    after_commit(task.enqueue, *args, **kwargs)
