"""Starting a duplicate scan: the one write that queues the scan task.

Apart from ``services`` so that the task's work (``scanjob``, whose automatic merges call
``services``) never leads back to the module that queues it: scans -> tasks -> scanjob ->
services, no loop.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.audit.services import Actor
from rapport.core.errors import Conflict, ValidationFailed
from rapport.core.transactions import enqueue_after_commit
from rapport.identity import tasks
from rapport.identity.models import Scan
from rapport.identity.services import model_of, require_steward


def scan_start(*, actor: Actor, kind: str, mode: str = "full", enqueue: bool = True) -> Any:
    """Queue a duplicate scan of every record of ``kind`` ("full") or of those changed since
    the last scan ("incremental"). A scan already queued or running is returned instead,
    but a full scan is never answered with an incremental one (issue 13): an incremental
    scan still queued (an import's, say) becomes full, since a full scan covers what it
    would have compared; one already running cannot change, so the request is refused
    (Conflict) rather than silently answered by it. A full scan asked for while one is
    busy is that scan; an incremental one asked for while a full one is busy is too."""
    require_steward(actor.user)
    model_of(kind)
    if mode not in Scan.Mode.values:
        raise ValidationFailed(
            "Unknown scan mode.", errors={"mode": [f"Choose one of {', '.join(Scan.Mode.values)}."]}
        )
    with transaction.atomic():
        stale = timezone.now() - dt.timedelta(minutes=10)
        Scan.objects.filter(kind=kind, state=Scan.State.RUNNING, heartbeat__lt=stale).update(
            state=Scan.State.FAILED,
            error="The worker running this scan stopped answering.",
            finished_at=timezone.now(),
        )
        busy = (
            Scan.objects.select_for_update()
            .filter(kind=kind, state__in=[Scan.State.QUEUED, Scan.State.RUNNING])
            .first()
        )
        if busy is not None:
            if mode == Scan.Mode.FULL and busy.mode == Scan.Mode.INCREMENTAL:
                if busy.state == Scan.State.RUNNING:
                    raise Conflict(
                        f"Scan {busy.pk}, of the {kind}s changed since the last scan, is "
                        "running; start the full scan when it has finished."
                    )
                # Under the row lock: a worker claiming it now waits, then reads "full".
                busy.mode = Scan.Mode.FULL
                busy.save(update_fields=["mode"])
            return busy
        scan = Scan.objects.create(
            kind=kind,
            mode=mode,
            requested_by=actor.user if getattr(actor.user, "pk", None) else None,
        )
        if enqueue:  # else the caller runs it in its own process (the command line)
            enqueue_after_commit(tasks.scan_run_task, scan.pk)
    return scan
